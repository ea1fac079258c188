package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrQueueFull is returned by Append when the batch would take the
	// queue past its MaxBytes budget; nothing of the batch is stored.
	ErrQueueFull = errors.New("queue full")
	// ErrRecordTooBig is returned by Append for a record larger than
	// MaxRecordBytes.
	ErrRecordTooBig = errors.New("record too big")
)

// MaxRecordBytes caps one queued record. It bounds what a decoder
// allocates for a length read from disk, and keeps every record inside
// one Badger value log file.
const MaxRecordBytes = 8 << 20

// Record is one queued item.
type Record struct {
	Seq  uint64    // strictly increasing per queue, never reused
	Time time.Time // when it was appended
	Data []byte
}

// QueueStats describes what a queue holds. Bytes counts the Data of the
// records not yet acknowledged, which is what a MaxBytes budget limits.
type QueueStats struct {
	Depth  int
	Bytes  int64
	Oldest time.Time // zero when empty
}

// Queue is a durable FIFO with acknowledgement: the spine of
// store-and-forward. A consumer Peeks, delivers, then Acks what the next
// hop acknowledged, so a crash at any point repeats deliveries but never
// loses one.
type Queue interface {
	// Append stores data as consecutive records and returns the last
	// Seq. It is durable (fsynced) when it returns; one call is one
	// sync.
	Append(data ...[]byte) (lastSeq uint64, err error)
	// Peek returns up to max of the oldest records, oldest first,
	// without removing them.
	Peek(max int) ([]Record, error)
	// Ack removes every record with Seq <= upTo.
	Ack(upTo uint64) error
	Stats() QueueStats
}

// QueueOptions configures a queue. The zero value has no budget.
type QueueOptions struct {
	// MaxBytes caps QueueStats.Bytes; 0 means no cap. A relay cut off
	// for days must refuse new records (and let the agents spool them)
	// rather than fill its disk.
	MaxBytes int64
}

func (o QueueOptions) validate() error {
	if o.MaxBytes < 0 {
		return fmt.Errorf("QueueOptions.MaxBytes %d: must be 0 (no budget) or positive", o.MaxBytes)
	}
	return nil
}

// queueTimeLen is the unix-nano time that leads each queued payload.
const queueTimeLen = 8

func checkAppend(what string, data [][]byte, bytes, maxBytes int64) (total int64, err error) {
	for i, d := range data {
		if len(d) > MaxRecordBytes {
			return 0, fmt.Errorf("%s: append record %d of %d bytes: %w (max %d)", what, i, len(d), ErrRecordTooBig, MaxRecordBytes)
		}
		total += int64(len(d))
	}
	if maxBytes > 0 && bytes+total > maxBytes {
		return 0, fmt.Errorf("%s: append %d bytes to %d queued: %w (budget %d bytes)", what, total, bytes, ErrQueueFull, maxBytes)
	}
	return total, nil
}

func appendSeq(dst []byte, seq uint64) []byte { return binary.BigEndian.AppendUint64(dst, seq) }
