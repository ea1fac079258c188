package wire

import (
	"encoding/binary"
	"fmt"
	"time"
)

// The helpers below are the whole encoding vocabulary of payloads: uvarints, signed
// varints, length-prefixed bytes and strings. Fields are written in a fixed order per
// message, and a decoder that reaches the end of a payload early leaves the remaining fields
// at their zero values: that is how a field appended by a later protocol version stays
// readable by this one, and how this one's messages stay readable by the next.

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendTime writes Unix nanoseconds; the zero time is written as 0 so that it survives the
// round trip as the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// decoder reads a payload field by field. The first error sticks and every later read
// returns zero values, so message decoders read all fields and check err once.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, what)
	}
}

// more reports whether fields remain: fields added by later versions are read only if the
// peer sent them.
func (d *decoder) more() bool { return d.err == nil && len(d.b) > 0 }

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil || len(d.b) == 0 {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil || len(d.b) == 0 {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte(what string) byte {
	if d.err != nil || len(d.b) == 0 {
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bool(what string) bool {
	switch d.byte(what) {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail(what + ": not a boolean")
		return false
	}
}

// bytes returns a sub-slice of the payload, not a copy: callers that keep it past the
// payload's life copy it.
func (d *decoder) bytes(what string, max uint64) []byte {
	if d.err != nil || len(d.b) == 0 {
		return nil
	}
	n := d.uvarint(what)
	if d.err != nil {
		return nil
	}
	if n > max {
		d.fail(fmt.Sprintf("%s: %d bytes, limit %d", what, n, max))
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(fmt.Sprintf("%s: %d bytes announced, %d left", what, n, len(d.b)))
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) string(what string, max uint64) string {
	return string(d.bytes(what, max))
}

func (d *decoder) time(what string) time.Time {
	ns := d.varint(what)
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func (d *decoder) duration(what string) time.Duration {
	v := d.varint(what)
	if v < 0 {
		d.fail(what + ": negative duration")
		return 0
	}
	return time.Duration(v)
}

// count reads a list length and refuses one that could not fit in what is left, so a
// forged count cannot make the decoder allocate a huge slice.
func (d *decoder) count(what string, minElemSize int) int {
	n := d.uvarint(what)
	if d.err != nil {
		return 0
	}
	if minElemSize < 1 {
		minElemSize = 1
	}
	if n > uint64(len(d.b)/minElemSize) {
		d.fail(fmt.Sprintf("%s: %d elements cannot fit in %d bytes", what, n, len(d.b)))
		return 0
	}
	return int(n)
}

// Limits on variable fields, checked before anything is kept.
const (
	maxIDLen     = 128
	maxNameLen   = 1024
	maxReasonLen = 4096
	maxKeyLen    = 64
	maxSigLen    = 128
)
