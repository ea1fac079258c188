package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/root/api"
)

// TestProgressRendering draws a bar on a fake terminal: one redraw per percent that
// changed, a full bar at the end, a newline; and nothing at all on a writer that is not a
// terminal.
func TestProgressRendering(t *testing.T) {
	var term fakeTerminal
	p := NewProgress(&term, "files", 200)
	for range 200 {
		p.Add(1)
	}
	p.Done()
	p.Done()
	out := term.String()
	frames := strings.Split(strings.TrimSuffix(out, "\n"), "\r")[1:]
	if len(frames) != 102 {
		t.Errorf("got %d frames, want 102 (one per percent from 0 to 100, and the final one):\n%q", len(frames), out)
	}
	if want := "files [" + strings.Repeat("=", 15) + ">" + strings.Repeat(" ", 14) + "]  50% 100/200\x1b[K"; frames[50] != want {
		t.Errorf("frame at 50 %%: got %q, want %q", frames[50], want)
	}
	if want := "files [" + strings.Repeat("=", 30) + "] 100% 200/200\x1b[K"; frames[len(frames)-1] != want {
		t.Errorf("last frame: got %q, want %q", frames[len(frames)-1], want)
	}
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("want one newline, at the end: %q", out)
	}

	var pipe bytes.Buffer
	p = NewByteProgress(&pipe, "uploading", 1<<20)
	if _, err := p.Reader(strings.NewReader(strings.Repeat("x", 1<<20))).Read(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	p.Done()
	if pipe.Len() != 0 {
		t.Errorf("drew on a pipe: %q", pipe.String())
	}

	// An unknown total shows the count, redrawn at most every RedrawEvery.
	term.Reset()
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	p = NewByteProgress(&term, "exporting", 0)
	p.Now = func() time.Time { return now }
	p.Add(512)
	p.Add(512) // within RedrawEvery: not drawn
	now = now.Add(time.Second)
	p.Add(1024)
	p.Done()
	if want := "\rexporting 512 B\x1b[K\rexporting 2.0 KiB\x1b[K\rexporting 2.0 KiB\x1b[K\n"; term.String() != want {
		t.Errorf("unknown total: got %q, want %q", term.String(), want)
	}
}

// TestApplyProgress: bosun apply of a directory on a terminal shows the files read and the
// upload on stderr, and stdout keeps only the result.
func TestApplyProgress(t *testing.T) {
	dir := t.TempDir()
	for i := range 120 {
		doc := fmt.Sprintf("kind: parameter\nname: p%d\nvalue: %q\n", i, strings.Repeat("x", 1000))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%03d.yml", i)), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env, _, out := fakeRoot(t, map[string]any{"/api/v1/apply": api.ChangeResult{}})
	var term fakeTerminal
	env.Stderr = &term
	if err := Main(context.Background(), Commands(), []string{"apply", "-f", dir}, env); err != nil {
		t.Fatal(err)
	}
	if s := term.String(); !strings.Contains(s, "reading files [==============================] 100% 120/120") ||
		!strings.Contains(s, "sending to the root [==============================] 100%") {
		t.Errorf("stderr on a terminal:\n%q", s)
	}
	if out.String() != "nothing to change\n" {
		t.Errorf("stdout: %q", out.String())
	}
}
