package inventory

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ErrMalformed is wrapped by every error about a FusionInventory document that cannot be
// read: bad XML, truncation, a refused DOCTYPE, excessive depth, a structure Rudder refuses.
// An HTTP handler answers 412.
var ErrMalformed = errors.New("malformed inventory document")

// Limits bound what ParseFusion accepts. Zero fields take the defaults of DefaultLimits.
type Limits struct {
	// MaxInputBytes caps the bytes read from the reader (compressed or not).
	MaxInputBytes int64
	// MaxDecompressedBytes caps the XML after gunzip.
	MaxDecompressedBytes int64
	// MaxDepth caps element nesting; real inventories nest 4 deep.
	MaxDepth int
	// RequireAgent refuses, with ErrMissingField, a document that names no usable Rudder
	// agent, instead of importing it as an inventory-only node. Set it where only managed
	// nodes may send (a Rudder agent's upload endpoint).
	RequireAgent bool
}

// DefaultLimits: 64 MiB in, 64 MiB decompressed, depth 32.
func DefaultLimits() Limits {
	return Limits{MaxInputBytes: 64 << 20, MaxDecompressedBytes: 64 << 20, MaxDepth: 32}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxInputBytes <= 0 {
		l.MaxInputBytes = d.MaxInputBytes
	}
	if l.MaxDecompressedBytes <= 0 {
		l.MaxDecompressedBytes = d.MaxDecompressedBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	return l
}

// xnode is one element of the document: its text and children. Only the sections the
// mapping reads are kept (keep), the others are checked and dropped.
type xnode struct {
	name string
	text strings.Builder
	kids []*xnode
}

func (n *xnode) child(name string) *xnode {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func (n *xnode) all(name string) []*xnode {
	if n == nil {
		return nil
	}
	var out []*xnode
	for _, k := range n.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// str returns the trimmed text of the named child, "" if absent.
func (n *xnode) str(name string) string {
	if c := n.child(name); c != nil {
		return strings.TrimSpace(c.text.String())
	}
	return ""
}

// keepSections are the CONTENT children mapped into the model.
var keepSections = map[string]bool{
	"ACCESSLOG": true, "ACCOUNTINFO": true, "BIOS": true, "CPUS": true, "DRIVES": true,
	"HARDWARE": true, "LOCAL_GROUPS": true, "LOCAL_USERS": true, "MEMORIES": true,
	"NETWORKS": true, "OPERATINGSYSTEM": true, "RUDDER": true, "SOFTWARES": true,
	"SOFTWAREUPDATES": true, "STORAGES": true, "USERSLIST": true, "VERSIONCLIENT": true,
	"VIRTUALMACHINES": true, "VMS": true,
}

// readFusionXML reads the whole input under the limits, gunzips it if it starts with the
// gzip magic, and parses it into a tree of the kept sections.
func readFusionXML(r io.Reader, l Limits) (*xnode, error) {
	br := bufio.NewReader(io.LimitReader(r, l.MaxInputBytes+1))
	counted := &countReader{r: br}
	var in io.Reader = counted
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(counted)
		if err != nil {
			return nil, fmt.Errorf("gzip header: %v: %w", err, ErrMalformed)
		}
		defer gz.Close()
		in = gz
	}
	lim := &limitReader{r: in, n: l.MaxDecompressedBytes}
	d := xml.NewDecoder(lim)
	d.Strict = true
	d.CharsetReader = charsetReader
	var (
		root  *xnode
		stack []*xnode // nil entries: inside a dropped section
		depth int
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			switch {
			case counted.n > l.MaxInputBytes:
				return nil, fmt.Errorf("input over %d bytes: %w", l.MaxInputBytes, ErrTooLarge)
			case lim.over:
				return nil, fmt.Errorf("document over %d bytes once decompressed: %w", l.MaxDecompressedBytes, ErrTooLarge)
			}
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("line %d, byte %d: %s: %w", se.Line, d.InputOffset(), se.Msg, ErrMalformed)
			}
			return nil, fmt.Errorf("byte %d: %v: %w", d.InputOffset(), err, ErrMalformed)
		}
		switch t := tok.(type) {
		case xml.Directive:
			if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) && bytes.Contains(t, []byte("<!ENTITY")) {
				line, _ := d.InputPos()
				return nil, fmt.Errorf("line %d: DOCTYPE with entity declarations refused: %w", line, ErrMalformed)
			}
		case xml.StartElement:
			depth++
			if depth > l.MaxDepth {
				line, _ := d.InputPos()
				return nil, fmt.Errorf("line %d: element <%s> nested deeper than %d: %w", line, t.Name.Local, l.MaxDepth, ErrMalformed)
			}
			var parent *xnode
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			var n *xnode
			switch {
			case depth == 1:
				if root != nil {
					return nil, fmt.Errorf("second root element <%s>: %w", t.Name.Local, ErrMalformed)
				}
				n = &xnode{name: t.Name.Local}
				root = n
			case parent == nil:
				// inside a dropped section
			case depth == 3 && parent.name == "CONTENT" && !keepSections[t.Name.Local]:
				// a section the model does not map
			default:
				n = &xnode{name: t.Name.Local}
				parent.kids = append(parent.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			// Token has matched the end tag with its start tag.
			if len(stack) == 0 {
				line, _ := d.InputPos()
				return nil, fmt.Errorf("line %d: unexpected </%s>: %w", line, t.Name.Local, ErrMalformed)
			}
			stack = stack[:len(stack)-1]
			depth--
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1] != nil {
				if !utf8.Valid(t) {
					line, _ := d.InputPos()
					return nil, fmt.Errorf("line %d: invalid UTF-8: %w", line, ErrMalformed)
				}
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if lim.over {
		return nil, fmt.Errorf("document over %d bytes once decompressed: %w", l.MaxDecompressedBytes, ErrTooLarge)
	}
	if counted.n > l.MaxInputBytes {
		return nil, fmt.Errorf("input over %d bytes: %w", l.MaxInputBytes, ErrTooLarge)
	}
	if root == nil {
		return nil, fmt.Errorf("no root element: %w", ErrMalformed)
	}
	if len(stack) > 0 {
		line, _ := d.InputPos()
		return nil, fmt.Errorf("line %d, byte %d: truncated document, <%s> not closed: %w", line, d.InputOffset(), root.name, ErrMalformed)
	}
	return root, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// limitReader fails once more than n bytes were read, remembering why.
type limitReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		l.over = true
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		l.over = true
		return n, ErrTooLarge
	}
	return n, err
}

// charsetReader accepts the encodings FusionInventory agents declare besides UTF-8: Latin-1
// (older Windows agents) is mapped byte for rune.
func charsetReader(charset string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1", "windows-1252", "cp1252":
		return &latin1Reader{r: bufio.NewReader(in)}, nil
	}
	return nil, fmt.Errorf("encoding %q not supported", charset)
}

type latin1Reader struct {
	r   *bufio.Reader
	buf []byte
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	for len(l.buf) == 0 {
		b, err := l.r.ReadByte()
		if err != nil {
			return 0, err
		}
		l.buf = utf8.AppendRune(l.buf[:0], rune(b))
	}
	n := copy(p, l.buf)
	l.buf = l.buf[n:]
	return n, nil
}
