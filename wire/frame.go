package wire

import (
	"bufio"
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
		return 0, nil, fmt.Errorf("%w: frame type: %v", ErrMalformed, unexpectedEOF(err))
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: frame length: %v", ErrMalformed, unexpectedEOF(err))
	}
	if n > maxLen {
		return 0, nil, fmt.Errorf("%w: %v frame of %d bytes, limit %d", ErrFrameTooLarge, Type(t), n, maxLen)
	}
	payload := make([]byte, n)
	if rr, ok := r.(io.Reader); ok {
		if _, err := io.ReadFull(rr, payload); err != nil {
			return 0, nil, fmt.Errorf("%w: %v payload: %v", ErrMalformed, Type(t), unexpectedEOF(err))
		}
	} else {
		for i := range payload {
			if payload[i], err = r.ReadByte(); err != nil {
				return 0, nil, fmt.Errorf("%w: %v payload: %v", ErrMalformed, Type(t), unexpectedEOF(err))
			}
		}
	}
	return Type(t), payload, nil
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
