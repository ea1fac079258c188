package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrFrameTooLarge is returned when a frame announces a payload longer than the reader
	// allows; nothing is allocated for it.
	ErrFrameTooLarge = errors.New("wire: frame too large")
	// ErrMalformed is returned for a payload or frame header that does not decode.
	ErrMalformed = errors.New("wire: malformed message")
	// ErrUnknownType is returned by Decode for a type this build does not know.
	ErrUnknownType = errors.New("wire: unknown message type")
)

// MaxFrameSize is the largest payload any reader accepts unless told otherwise. The
// largest messages are full inventories of machines with many packages, a few MiB at most.
const MaxFrameSize = 32 << 20

// AppendFrame appends m as one frame to b.
func AppendFrame(b []byte, m Message) ([]byte, error) {
	payload, err := m.AppendBinary(nil)
	if err != nil {
		return b, fmt.Errorf("encode %v: %w", m.Type(), err)
	}
	b = binary.AppendUvarint(b, uint64(m.Type()))
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...), nil
}

// FrameType returns the type of the frame b starts with, without reading its payload: what
// a relay needs to count the items it carries. false: b does not start with a type.
func FrameType(b []byte) (Type, bool) {
	t, n := binary.Uvarint(b)
	return Type(t), n > 0
}

// WriteMessage writes m as one frame.
func WriteMessage(w io.Writer, m Message) error {
	b, err := AppendFrame(nil, m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// ReadFrame reads one frame and returns its type and payload, whatever the type. A payload
// longer than maxLen is refused before anything is allocated for it. io.EOF is returned only
// when r ends cleanly before a frame starts.
func ReadFrame(r io.ByteReader, maxLen uint64) (Type, []byte, error) {
	t, err := binary.ReadUvarint(r)
	if err != nil {
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("%w: frame type: %w", ErrMalformed, unexpectedEOF(err))
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: frame length: %w", ErrMalformed, unexpectedEOF(err))
	}
	if n > maxLen {
		return 0, nil, fmt.Errorf("%w: %v frame of %d bytes, limit %d", ErrFrameTooLarge, Type(t), n, maxLen)
	}
	payload, err := readPayload(r, n)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v payload: %w", ErrMalformed, Type(t), unexpectedEOF(err))
	}
	return Type(t), payload, nil
}

// eagerPayload is the payload size up to which the buffer is allocated at once; larger
// payloads grow as their bytes arrive, so a peer announcing 32 MiB and sending nothing makes
// the reader hold no more than what it actually sent.
const eagerPayload = 64 << 10

func readPayload(r io.ByteReader, n uint64) ([]byte, error) {
	rr, isReader := r.(io.Reader)
	if !isReader {
		rr = byteReaderAdapter{r}
	}
	if n <= eagerPayload {
		payload := make([]byte, n)
		_, err := io.ReadFull(rr, payload)
		return payload, err
	}
	var buf bytes.Buffer
	buf.Grow(eagerPayload)
	got, err := buf.ReadFrom(io.LimitReader(rr, int64(n)))
	if err == nil && uint64(got) < n {
		err = io.ErrUnexpectedEOF
	}
	return buf.Bytes(), err
}

type byteReaderAdapter struct{ r io.ByteReader }

func (a byteReaderAdapter) Read(p []byte) (int, error) {
	for i := range p {
		c, err := a.r.ReadByte()
		if err != nil {
			return i, err
		}
		p[i] = c
	}
	return len(p), nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadMessage reads frames until one of a known type arrives and returns it decoded.
// Frames of unknown types are skipped so that newer peers can add messages.
func ReadMessage(r io.Reader, maxLen uint64) (Message, error) {
	br, ok := r.(interface {
		io.Reader
		io.ByteReader
	})
	if !ok {
		br = bufio.NewReaderSize(r, 4096)
	}
	for {
		t, payload, err := ReadFrame(br, maxLen)
		if err != nil {
			return nil, err
		}
		if !Known(t) {
			continue
		}
		return Decode(t, payload)
	}
}

// DecodeFrame decodes one whole frame held in b, for frames kept in queues and bundles.
// It returns the message and the bytes after the frame.
func DecodeFrame(b []byte, maxLen uint64) (Message, []byte, error) {
	r := &sliceReader{b: b}
	t, payload, err := ReadFrame(r, maxLen)
	if err != nil {
		if err == io.EOF {
			return nil, b, fmt.Errorf("%w: empty frame", ErrMalformed)
		}
		return nil, b, err
	}
	m, err := Decode(t, payload)
	if err != nil {
		return nil, b, err
	}
	return m, b[r.off:], nil
}

type sliceReader struct {
	b   []byte
	off int
}

func (r *sliceReader) ReadByte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *sliceReader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}
