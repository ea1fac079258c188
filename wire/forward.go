package wire

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"time"
)

// Forwarded is one message a relay carries upstream on behalf of a node. Frame holds the
// message's frame exactly as the node sent it, signature included.
type Forwarded struct {
	// Seq is the sequence number of the item in the sending relay's queue; the receiver's
	// Ack.Seq acknowledges every item up to it.
	Seq uint64
	// Path lists the relays the item went through, nearest the node first. The first one is
	// the node's policy server.
	Path     []string
	Received time.Time // when the first relay took it from the node
	Frame    []byte
}

// Forward is a batch of items a relay hands to its upstream, in queue order.
type Forward struct {
	Items []Forwarded
}

// Limits that keep one forward within a frame and a relay's memory.
const (
	MaxForwardItems = 4096
	maxPathLen      = 16
)

func init() { register(TypeForward, func() Message { return new(Forward) }) }

func (*Forward) Type() Type { return TypeForward }

func (f *Forward) AppendBinary(b []byte) ([]byte, error) {
	if len(f.Items) > MaxForwardItems {
		return b, fmt.Errorf("forward of %d items, limit %d", len(f.Items), MaxForwardItems)
	}
	items := appendUvarint(nil, uint64(len(f.Items)))
	for i := range f.Items {
		var err error
		if items, err = f.Items[i].appendBinary(items); err != nil {
			return b, err
		}
	}
	// Uplinks are the costly links: batches of reports from one zone repeat node ids,
	// config ids and paths, and deflate takes most of that away. Small batches go as they
	// are, where the deflate header would cost more than it saves.
	if len(items) < compressAbove {
		return append(append(b, forwardPlain), items...), nil
	}
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	if _, err := zw.Write(items); err != nil {
		return b, err
	}
	if err := zw.Close(); err != nil {
		return b, err
	}
	if buf.Len() >= len(items) {
		return append(append(b, forwardPlain), items...), nil
	}
	return append(append(b, forwardDeflate), buf.Bytes()...), nil
}

// Encodings of a Forward's items.
const (
	forwardPlain   = 0
	forwardDeflate = 1
	compressAbove  = 512
)

func (f *Forward) UnmarshalBinary(p []byte) error {
	if len(p) == 0 {
		return fmt.Errorf("%w: empty forward", ErrMalformed)
	}
	switch p[0] {
	case forwardPlain:
		p = p[1:]
	case forwardDeflate:
		// Cap what inflating may produce before it is allocated: a small frame must not
		// unfold into gigabytes.
		raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(p[1:])), MaxFrameSize+1))
		if err != nil {
			return fmt.Errorf("%w: forward: inflate: %v", ErrMalformed, err)
		}
		if len(raw) > MaxFrameSize {
			return fmt.Errorf("%w: forward inflates past %d bytes", ErrMalformed, MaxFrameSize)
		}
		p = raw
	default:
		return fmt.Errorf("%w: forward encoding %d", ErrMalformed, p[0])
	}
	d := decoder{b: p}
	n := d.count("items", 4)
	if n > MaxForwardItems {
		return fmt.Errorf("%w: forward of %d items, limit %d", ErrMalformed, n, MaxForwardItems)
	}
	f.Items = make([]Forwarded, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		var it Forwarded
		it.decode(&d)
		f.Items = append(f.Items, it)
	}
	return d.err
}

func (it *Forwarded) appendBinary(b []byte) ([]byte, error) {
	if len(it.Path) > maxPathLen {
		return b, fmt.Errorf("forward path of %d relays, limit %d", len(it.Path), maxPathLen)
	}
	b = appendUvarint(b, it.Seq)
	b = appendUvarint(b, uint64(len(it.Path)))
	for _, hop := range it.Path {
		b = appendString(b, hop)
	}
	b = appendTime(b, it.Received)
	return appendBytes(b, it.Frame), nil
}

func (it *Forwarded) decode(d *decoder) {
	it.Seq = d.uvarint("seq")
	hops := d.count("path", 1)
	if hops > maxPathLen {
		d.fail(fmt.Sprintf("path of %d relays, limit %d", hops, maxPathLen))
		return
	}
	for j := 0; j < hops; j++ {
		it.Path = append(it.Path, d.string("hop", maxIDLen))
	}
	it.Received = d.time("received")
	it.Frame = cloneBytes(d.bytes("frame", MaxFrameSize))
}

// MarshalBinary encodes one item alone, as a relay keeps it in its queue.
func (it *Forwarded) MarshalBinary() ([]byte, error) { return it.appendBinary(nil) }

// UnmarshalBinary decodes what MarshalBinary encoded.
func (it *Forwarded) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	*it = Forwarded{}
	it.decode(&d)
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d bytes after the item", len(d.b)))
	}
	return d.err
}

// Inner decodes the node's message carried by the item.
func (it *Forwarded) Inner() (Message, error) {
	m, rest, err := DecodeFrame(it.Frame, MaxFrameSize)
	if err != nil {
		return nil, fmt.Errorf("forwarded item %d: %w", it.Seq, err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: forwarded item %d has %d bytes after its frame", ErrMalformed, it.Seq, len(rest))
	}
	return m, nil
}
