package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// A spool segment is a header, then frames back to back:
//
//	header: "bosunsp" [format version byte]
//	frame:  [uvarint n][xxhash64][seq uint64][unix nanos int64][n bytes of data]
//
// Integers are big-endian. The checksum covers seq, nanos and data, so a
// damaged length shows up as a checksum mismatch too. History of the
// version byte:
//
//	1 (2026-11): the layout above.
const (
	spoolMagic      = "bosunsp"
	spoolVersion    = 1
	spoolHeaderLen  = len(spoolMagic) + 1
	frameFixedLen   = 8 + 8 + 8 // checksum, seq, nanos
	maxFrameLenSize = binary.MaxVarintLen64
)

// errTruncated means the bytes end before the frame does: the tail of a
// write that a crash cut short.
var errTruncated = errors.New("truncated frame")

func spoolHeader() []byte { return append([]byte(spoolMagic), spoolVersion) }

// frameLen is the encoded size of a frame holding n bytes of data.
func frameLen(n int) int { return uvarintLen(uint64(n)) + frameFixedLen + n }

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func appendFrame(dst []byte, seq uint64, nanos int64, data []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(data)))
	sumAt := len(dst)
	dst = append(dst, make([]byte, 8)...)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = binary.BigEndian.AppendUint64(dst, uint64(nanos))
	dst = append(dst, data...)
	binary.BigEndian.PutUint64(dst[sumAt:], xxhash.Sum64(dst[sumAt+8:]))
	return dst
}

// decodeFrame decodes the frame at the start of b and returns its size.
// data aliases b. A frame that runs past the end of b is errTruncated;
// an impossible length or a checksum mismatch is ErrCorrupt.
func decodeFrame(b []byte) (seq uint64, nanos int64, data []byte, size int, err error) {
	n, k := binary.Uvarint(b)
	switch {
	case k == 0:
		return 0, 0, nil, 0, errTruncated
	case k < 0:
		return 0, 0, nil, 0, fmt.Errorf("%w: length overflows", ErrCorrupt)
	case k != uvarintLen(n):
		return 0, 0, nil, 0, fmt.Errorf("%w: length not minimally encoded", ErrCorrupt)
	case n > MaxRecordBytes:
		return 0, 0, nil, 0, fmt.Errorf("%w: length %d exceeds %d", ErrCorrupt, n, MaxRecordBytes)
	}
	size = k + frameFixedLen + int(n)
	if len(b) < size {
		return 0, 0, nil, 0, errTruncated
	}
	body := b[k+8 : size]
	if got, want := xxhash.Sum64(body), binary.BigEndian.Uint64(b[k:]); got != want {
		return 0, 0, nil, 0, fmt.Errorf("%w: checksum %016x, frame says %016x", ErrCorrupt, got, want)
	}
	seq = binary.BigEndian.Uint64(body)
	nanos = int64(binary.BigEndian.Uint64(body[8:]))
	return seq, nanos, body[16:], size, nil
}

// frameAhead reports whether a valid frame with a Seq in (after,
// after+limit] starts anywhere in b. It tells damage in the middle of a
// segment (good records follow) from a torn tail (nothing good follows).
// The Seq window is checked before the checksum, so garbage costs little.
func frameAhead(b []byte, after uint64, limit uint64) bool {
	for off := range b {
		rest := b[off:]
		n, k := binary.Uvarint(rest)
		if k <= 0 || n > MaxRecordBytes || len(rest) < k+frameFixedLen+int(n) {
			continue
		}
		seq := binary.BigEndian.Uint64(rest[k+8:])
		if seq <= after || seq-after > limit {
			continue
		}
		if _, _, _, _, err := decodeFrame(rest); err == nil {
			return true
		}
	}
	return false
}
