package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cespare/xxhash/v2"
)

// ErrCorrupt reports a stored record whose checksum or framing does not
// match. It is always wrapped with where the record is (bucket and key,
// queue and seq, or file and offset).
var ErrCorrupt = errors.New("corrupt record")

// recordVersion is the format version byte at the head of every value
// stored in Badger. History:
//
//	1 (2026-11): [version][xxhash64 of payload, big-endian][payload]
const recordVersion = 1

const recordHeaderLen = 1 + 8

// appendRecord appends the framed payload to dst.
func appendRecord(dst, payload []byte) []byte {
	dst = append(dst, recordVersion)
	dst = binary.BigEndian.AppendUint64(dst, xxhash.Sum64(payload))
	return append(dst, payload...)
}

// openRecord checks the header of v and returns its payload, which
// aliases v. The error wraps ErrCorrupt; the caller adds where.
func openRecord(v []byte) ([]byte, error) {
	if len(v) < recordHeaderLen {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrCorrupt, len(v), recordHeaderLen)
	}
	if v[0] != recordVersion {
		return nil, fmt.Errorf("%w: record format version %d, want %d", ErrCorrupt, v[0], recordVersion)
	}
	payload := v[recordHeaderLen:]
	if got, want := xxhash.Sum64(payload), binary.BigEndian.Uint64(v[1:]); got != want {
		return nil, fmt.Errorf("%w: checksum %016x, header says %016x", ErrCorrupt, got, want)
	}
	return payload, nil
}
