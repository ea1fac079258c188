package inventory

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// apt on Debian 12 and later stores its lists LZ4-compressed (Acquire::GzipIndexes with lz4
// first), and the standard library has no LZ4, so this is a minimal frame decoder: enough for
// what liblz4 writes. Checksums are skipped, not verified: the lists are local files apt has
// already verified against their signed Release.

var errLZ4 = errors.New("lz4: corrupt data")

const (
	lz4Magic          = 0x184D2204
	lz4SkippableMask  = 0xFFFFFFF0
	lz4SkippableMagic = 0x184D2A50
	lz4Window         = 64 << 10
)

type lz4Reader struct {
	r          *bufio.Reader
	buf        []byte // history (≤ 64 KiB) followed by the bytes not yet read
	pos        int    // next byte of buf to hand out
	block      []byte
	inFrame    bool
	blockSum   bool
	contentSum bool
	maxBlock   int
	err        error
}

func newLZ4Reader(r io.Reader) *lz4Reader {
	return &lz4Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

func (z *lz4Reader) Read(p []byte) (int, error) {
	for z.pos == len(z.buf) {
		if z.err != nil {
			return 0, z.err
		}
		z.err = z.next()
	}
	n := copy(p, z.buf[z.pos:])
	z.pos += n
	return n, nil
}

func (z *lz4Reader) u32() (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(z.r, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

// next decodes the next block into buf, reading frame headers as needed.
func (z *lz4Reader) next() error {
	if !z.inFrame {
		magic, err := z.u32()
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return fmt.Errorf("lz4 frame header: %w", errLZ4)
		}
		if magic&lz4SkippableMask == lz4SkippableMagic {
			n, err := z.u32()
			if err != nil {
				return errLZ4
			}
			if _, err := z.r.Discard(int(n)); err != nil {
				return errLZ4
			}
			return nil
		}
		if magic != lz4Magic {
			return fmt.Errorf("lz4: bad magic %#x: %w", magic, errLZ4)
		}
		var hdr [2]byte
		if _, err := io.ReadFull(z.r, hdr[:]); err != nil {
			return errLZ4
		}
		flg, bd := hdr[0], hdr[1]
		if flg>>6 != 1 {
			return fmt.Errorf("lz4: version %d: %w", flg>>6, errLZ4)
		}
		z.blockSum = flg&0x10 != 0
		z.contentSum = flg&0x04 != 0
		skip := 1 // header checksum
		if flg&0x08 != 0 {
			skip += 8
		}
		if flg&0x01 != 0 {
			skip += 4
		}
		if _, err := z.r.Discard(skip); err != nil {
			return errLZ4
		}
		sz := (bd >> 4) & 7
		if sz < 4 {
			return fmt.Errorf("lz4: block size code %d: %w", sz, errLZ4)
		}
		z.maxBlock = 1 << (8 + 2*int(sz))
		z.inFrame = true
		z.buf = z.buf[:0]
		z.pos = 0
	}
	size, err := z.u32()
	if err != nil {
		return fmt.Errorf("lz4 block size: %w", errLZ4)
	}
	if size == 0 {
		z.inFrame = false
		if z.contentSum {
			if _, err := z.r.Discard(4); err != nil {
				return errLZ4
			}
		}
		return nil
	}
	raw := size&0x80000000 != 0
	size &= 0x7FFFFFFF
	if int(size) > z.maxBlock {
		return fmt.Errorf("lz4: block of %d bytes over %d: %w", size, z.maxBlock, errLZ4)
	}
	if cap(z.block) < int(size) {
		z.block = make([]byte, size)
	}
	blk := z.block[:size]
	if _, err := io.ReadFull(z.r, blk); err != nil {
		return fmt.Errorf("lz4 block: %w", errLZ4)
	}
	if z.blockSum {
		if _, err := z.r.Discard(4); err != nil {
			return errLZ4
		}
	}
	// Keep the last 64 KiB as history for linked blocks.
	if len(z.buf) > lz4Window {
		n := copy(z.buf, z.buf[len(z.buf)-lz4Window:])
		z.buf = z.buf[:n]
	}
	z.pos = len(z.buf)
	if need := len(z.buf) + z.maxBlock; cap(z.buf) < need {
		grown := make([]byte, len(z.buf), need)
		copy(grown, z.buf)
		z.buf = grown
	}
	if raw {
		z.buf = append(z.buf, blk...)
		return nil
	}
	out, err := lz4Block(z.buf, blk, z.maxBlock)
	z.buf = out
	return err
}

// lz4Block appends the decoding of src to dst; matches may reach back into dst.
func lz4Block(dst, src []byte, max int) ([]byte, error) {
	start := len(dst)
	i := 0
	for i < len(src) {
		token := src[i]
		i++
		lit := int(token >> 4)
		if lit == 15 {
			for {
				if i >= len(src) {
					return dst, errLZ4
				}
				b := src[i]
				i++
				lit += int(b)
				if b != 255 {
					break
				}
			}
		}
		if lit > len(src)-i || len(dst)-start+lit > max {
			return dst, errLZ4
		}
		dst = append(dst, src[i:i+lit]...)
		i += lit
		if i == len(src) {
			return dst, nil // the last sequence has no match
		}
		if i+2 > len(src) {
			return dst, errLZ4
		}
		off := int(src[i]) | int(src[i+1])<<8
		i += 2
		ml := int(token & 15)
		if ml == 15 {
			for {
				if i >= len(src) {
					return dst, errLZ4
				}
				b := src[i]
				i++
				ml += int(b)
				if b != 255 {
					break
				}
			}
		}
		ml += 4
		if off == 0 || off > len(dst) || len(dst)-start+ml > max {
			return dst, errLZ4
		}
		from := len(dst) - off
		if off >= ml {
			dst = append(dst, dst[from:from+ml]...)
			continue
		}
		// Overlapping match: a repeated pattern, copied in runs of at most off bytes so
		// that every run reads bytes already written.
		for done := 0; done < ml; {
			n := min(off, ml-done)
			dst = append(dst, dst[from+done:from+done+n]...)
			done += n
		}
	}
	return dst, errLZ4
}
