package cli

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Progress draws a progress bar on a terminal, for operations long enough that an
// operator wonders whether they hang: an apply of a large directory, air-gap bundles, a
// fleet benchmark. On anything but a terminal (a pipe, a log file, a test's buffer) it
// draws nothing, so scripts and logs see only the result lines.
//
// It redraws one line with a carriage return, when the shown percentage changes or, for an
// unknown total, at most every RedrawEvery. Progress is safe for concurrent Add.
type Progress struct {
	w     io.Writer
	label string
	total int64
	bytes bool
	on    bool

	// RedrawEvery is how often an unknown total's count is redrawn; zero means 200 ms.
	RedrawEvery time.Duration
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time

	mu       sync.Mutex
	done     int64
	lastPct  int
	lastDraw time.Time
	drawn    bool
	finished bool
}

// NewProgress returns a bar counting items towards total (0: unknown) that draws on w
// when w is a terminal; label says what is counted ("files", "items").
func NewProgress(w io.Writer, label string, total int64) *Progress {
	return &Progress{w: w, label: label, total: total, on: IsTerminal(w), lastPct: -1}
}

// NewByteProgress is NewProgress for a count of bytes, shown with binary units.
func NewByteProgress(w io.Writer, label string, total int64) *Progress {
	p := NewProgress(w, label, total)
	p.bytes = true
	return p
}

// Add counts n more and redraws if the bar moved.
func (p *Progress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.draw(false)
}

// Set sets the count to n.
func (p *Progress) Set(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = n
	p.draw(false)
}

// SetTotal changes the total, for operations that learn it on the way.
func (p *Progress) SetTotal(total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = total
	p.draw(false)
}

// Done draws the final state and ends the line; a bar that never drew stays silent.
// Calling it again does nothing.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	if p.on && p.drawn {
		p.draw(true)
		fmt.Fprint(p.w, "\n")
	}
}

// Reader counts what is read through r.
func (p *Progress) Reader(r io.Reader) io.Reader { return &progressReader{r: r, p: p} }

type progressReader struct {
	r io.Reader
	p *Progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.Add(int64(n))
	return n, err
}

const barWidth = 30

func (p *Progress) draw(force bool) {
	if !p.on || p.finished && !force {
		return
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	pct := -1
	if p.total > 0 {
		pct = int(min(p.done, p.total) * 100 / p.total)
	}
	if !force {
		every := p.RedrawEvery
		if every == 0 {
			every = 200 * time.Millisecond
		}
		switch {
		case pct >= 0 && pct == p.lastPct:
			return
		case pct < 0 && p.drawn && now().Sub(p.lastDraw) < every:
			return
		}
	}
	p.lastPct, p.lastDraw, p.drawn = pct, now(), true
	fmt.Fprint(p.w, "\r"+p.line(pct)+"\x1b[K")
}

// line is the bar as drawn: "files [=========>          ] 45% 450/1000".
func (p *Progress) line(pct int) string {
	count := p.count(p.done)
	if pct < 0 {
		return fmt.Sprintf("%s %s", p.label, count)
	}
	fill := pct * barWidth / 100
	bar := strings.Repeat("=", fill)
	if fill < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-fill-1)
	}
	return fmt.Sprintf("%s [%s] %3d%% %s/%s", p.label, bar, pct, count, p.count(p.total))
}

func (p *Progress) count(n int64) string {
	if p.bytes {
		return iec(float64(n))
	}
	return fmt.Sprint(n)
}

// progressTransport counts the bytes of request bodies sent to the root, for verbs whose
// long part is an upload (bosun apply of a large directory).
type progressTransport struct {
	base  http.RoundTripper
	label string
	w     io.Writer
}

func (t *progressTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.ContentLength < 64<<10 {
		return t.base.RoundTrip(req)
	}
	p := NewByteProgress(t.w, t.label, req.ContentLength)
	r := req.Clone(req.Context())
	r.Body = struct {
		io.Reader
		io.Closer
	}{p.Reader(req.Body), req.Body}
	resp, err := t.base.RoundTrip(r)
	p.Done()
	return resp, err
}

// withUploadProgress makes c's requests show their upload on w when it is a terminal.
func withUploadProgress(hc *http.Client, w io.Writer, label string) {
	if !IsTerminal(w) {
		return
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &progressTransport{base: base, label: label, w: w}
}
