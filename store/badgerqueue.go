package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

var _ Queue = (*BadgerQueue)(nil)

// ackChunk bounds the deletes of one Ack transaction, well under the
// transaction limit of the smallest profile (15% of a 2 MiB memtable).
const ackChunk = 1000

// BadgerQueue is a Queue kept in a DB. Records live under
// "q/<name>/<seq:8><len:4>", big-endian so iteration is in Seq order and
// the length lets Open recount bytes from keys alone; each value is a
// record (version, checksum) of [unix nanos:8][data]. The highest
// acknowledged Seq is kept under "m/<name>/acked" so sequence numbers
// are never reused after the queue drains and the process restarts.
type BadgerQueue struct {
	db     *DB
	name   string
	prefix []byte
	ackKey []byte
	opts   QueueOptions

	mu     sync.Mutex // serialises Append and Ack; guards the fields below
	first  uint64     // lowest Seq present when depth > 0
	last   uint64     // highest Seq ever committed
	depth  int
	bytes  int64
	oldest time.Time
}

// Queue returns the queue called name, recovering its state from disk the
// first time. Every call with one name returns the same *BadgerQueue.
func (db *DB) Queue(name string) (*BadgerQueue, error) {
	return db.QueueWithOptions(name, QueueOptions{})
}

// QueueWithOptions is Queue with a budget.
func (db *DB) QueueWithOptions(name string, opts QueueOptions) (*BadgerQueue, error) {
	if err := checkName("queue", name); err != nil {
		return nil, err
	}
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("queue %s: %w", name, err)
	}
	if err := db.gate.enter(); err != nil {
		return nil, fmt.Errorf("queue %s: %w", name, err)
	}
	defer db.gate.leave()
	db.mu.Lock()
	defer db.mu.Unlock()
	if q, ok := db.queues[name]; ok {
		if q.opts != opts {
			return nil, fmt.Errorf("queue %s: already open with %+v, asked for %+v", name, q.opts, opts)
		}
		return q, nil
	}
	q := &BadgerQueue{
		db:     db,
		name:   name,
		prefix: []byte(queueSpace + name + "/"),
		ackKey: []byte(queueMetaNS + name + "/acked"),
		opts:   opts,
	}
	if err := q.recover(); err != nil {
		return nil, err
	}
	db.queues[name] = q
	return q, nil
}

func (q *BadgerQueue) recordKey(seq uint64, n int) []byte {
	k := make([]byte, 0, len(q.prefix)+12)
	k = append(k, q.prefix...)
	k = appendSeq(k, seq)
	return binary.BigEndian.AppendUint32(k, uint32(n))
}

// parseKey splits a record key into Seq and data length.
func (q *BadgerQueue) parseKey(k []byte) (seq uint64, n int, err error) {
	if len(k) != len(q.prefix)+12 {
		return 0, 0, fmt.Errorf("queue %s: key %x: %w: %d bytes, want %d", q.name, k, ErrCorrupt, len(k), len(q.prefix)+12)
	}
	k = k[len(q.prefix):]
	return binary.BigEndian.Uint64(k), int(binary.BigEndian.Uint32(k[8:])), nil
}

// recover counts what the queue holds by scanning its keys (values stay
// on disk) and reads the acknowledged mark.
func (q *BadgerQueue) recover() error {
	err := q.db.bdb.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = q.prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			seq, n, err := q.parseKey(it.Item().Key())
			if err != nil {
				return err
			}
			if q.depth > 0 && seq <= q.last {
				return fmt.Errorf("queue %s: record %d after %d: %w: out of order", q.name, seq, q.last, ErrCorrupt)
			}
			if q.depth == 0 {
				q.first = seq
			}
			q.last = seq
			q.depth++
			q.bytes += int64(n)
		}
		item, err := txn.Get(q.ackKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("queue %s: read acknowledged mark: %w", q.name, err)
		}
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("queue %s: read acknowledged mark: %w", q.name, err)
		}
		v, err := openRecord(raw)
		if err == nil && len(v) != 8 {
			err = fmt.Errorf("%w: %d bytes, want 8", ErrCorrupt, len(v))
		}
		if err != nil {
			return fmt.Errorf("queue %s: acknowledged mark: %w", q.name, err)
		}
		q.last = max(q.last, binary.BigEndian.Uint64(v))
		return nil
	})
	if err != nil {
		return err
	}
	if q.depth > 0 {
		recs, err := q.peek(1, q.first, q.last)
		if err != nil {
			return err
		}
		q.oldest = recs[0].Time
	}
	return nil
}

// Append implements Queue. A batch too big for one Badger transaction is
// committed in several; if a later one fails, the earlier ones are
// deleted again, and a crash between them leaves the first records of
// the batch queued, which at-least-once delivery tolerates.
func (q *BadgerQueue) Append(data ...[]byte) (uint64, error) {
	if err := q.db.gate.enter(); err != nil {
		return 0, fmt.Errorf("queue %s: %w", q.name, err)
	}
	defer q.db.gate.leave()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(data) == 0 {
		return q.last, nil
	}
	total, err := checkAppend("queue "+q.name, data, q.bytes, q.opts.MaxBytes)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	nanos := binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))
	var committed [][]byte // keys of earlier transactions of this batch
	var pending [][]byte
	txn := q.db.bdb.NewTransaction(true)
	defer func() { txn.Discard() }()
	undo := func(cause error) error {
		if len(committed) > 0 {
			if err := q.deleteKeys(committed, 0); err != nil {
				q.db.log.Error("queue append: cannot undo a partly committed batch", logKeyQueue, q.name, logKeyDetail, err.Error())
			}
		}
		return fmt.Errorf("queue %s: append: %w", q.name, cause)
	}
	seq := q.last
	for _, d := range data {
		seq++
		key := q.recordKey(seq, len(d))
		val := make([]byte, 0, recordHeaderLen+queueTimeLen+len(d))
		val = appendRecord(val, append(append(make([]byte, 0, queueTimeLen+len(d)), nanos...), d...))
		err := txn.Set(key, val)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err := txn.Commit(); err != nil {
				return 0, undo(err)
			}
			committed = append(committed, pending...)
			pending = pending[:0]
			txn = q.db.bdb.NewTransaction(true)
			err = txn.Set(key, val)
		}
		if err != nil {
			return 0, undo(err)
		}
		pending = append(pending, key)
	}
	if err := txn.Commit(); err != nil {
		return 0, undo(err)
	}
	if q.depth == 0 {
		q.first = q.last + 1
		q.oldest = time.Unix(0, now.UnixNano())
	}
	q.depth += len(data)
	q.bytes += total
	q.last = seq
	return seq, nil
}

// deleteKeys deletes keys in transactions of ackChunk; when mark is not 0
// each transaction also raises the acknowledged mark to the last Seq it
// deletes, so Seq never goes back after a restart.
func (q *BadgerQueue) deleteKeys(keys [][]byte, mark uint64) error {
	for len(keys) > 0 {
		chunk := keys[:min(ackChunk, len(keys))]
		keys = keys[len(chunk):]
		err := q.db.bdb.Update(func(txn *badger.Txn) error {
			for _, k := range chunk {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			if mark == 0 {
				return nil
			}
			upTo, _, err := q.parseKey(chunk[len(chunk)-1])
			if err != nil {
				return err
			}
			return txn.Set(q.ackKey, appendRecord(nil, appendSeq(nil, min(upTo, mark))))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Peek implements Queue.
func (q *BadgerQueue) Peek(max int) ([]Record, error) {
	if max <= 0 {
		return nil, nil
	}
	if err := q.db.gate.enter(); err != nil {
		return nil, fmt.Errorf("queue %s: %w", q.name, err)
	}
	defer q.db.gate.leave()
	q.mu.Lock()
	first, last, depth := q.first, q.last, q.depth
	q.mu.Unlock()
	if depth == 0 {
		return nil, nil
	}
	return q.peek(max, first, last)
}

// PeekFrom returns up to max records with a sequence number above after, oldest first,
// without removing them: how a whole queue is read (an air-gap export) without holding it
// in memory.
func (q *BadgerQueue) PeekFrom(after uint64, max int) ([]Record, error) {
	if max <= 0 {
		return nil, nil
	}
	if err := q.db.gate.enter(); err != nil {
		return nil, fmt.Errorf("queue %s: %w", q.name, err)
	}
	defer q.db.gate.leave()
	q.mu.Lock()
	first, last, depth := q.first, q.last, q.depth
	q.mu.Unlock()
	if depth == 0 || after >= last {
		return nil, nil
	}
	from := first
	if after+1 > from {
		from = after + 1
	}
	return q.peek(max, from, last)
}

// peek reads up to max records from first, stopping after last so a
// batch still being committed in several transactions stays invisible.
func (q *BadgerQueue) peek(max int, first, last uint64) ([]Record, error) {
	var out []Record
	err := q.db.bdb.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = q.prefix
		opts.PrefetchSize = min(max, 100)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(appendSeq(append([]byte(nil), q.prefix...), first)); it.Valid() && len(out) < max; it.Next() {
			item := it.Item()
			seq, n, err := q.parseKey(item.Key())
			if err != nil {
				return err
			}
			if seq > last {
				break
			}
			raw, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("queue %s: read record %d: %w", q.name, seq, err)
			}
			p, err := openRecord(raw)
			if err == nil && len(p) != queueTimeLen+n {
				err = fmt.Errorf("%w: %d bytes of data, key says %d", ErrCorrupt, len(p)-queueTimeLen, n)
			}
			if err != nil {
				return fmt.Errorf("queue %s: record %d: %w", q.name, seq, err)
			}
			out = append(out, Record{
				Seq:  seq,
				Time: time.Unix(0, int64(binary.BigEndian.Uint64(p))),
				Data: p[queueTimeLen:],
			})
		}
		return nil
	})
	return out, err
}

// Ack implements Queue.
func (q *BadgerQueue) Ack(upTo uint64) error {
	if err := q.db.gate.enter(); err != nil {
		return fmt.Errorf("queue %s: %w", q.name, err)
	}
	defer q.db.gate.leave()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.depth == 0 || upTo < q.first {
		return nil
	}
	upTo = min(upTo, q.last)
	var keys [][]byte
	var bytes int64
	err := q.db.bdb.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = q.prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(appendSeq(append([]byte(nil), q.prefix...), q.first)); it.Valid(); it.Next() {
			k := it.Item().KeyCopy(nil)
			seq, n, err := q.parseKey(k)
			if err != nil {
				return err
			}
			if seq > upTo {
				break
			}
			keys = append(keys, k)
			bytes += int64(n)
		}
		return nil
	})
	if err == nil {
		err = q.deleteKeys(keys, upTo)
	}
	if err != nil {
		// Some chunks may be gone: recount rather than guess.
		last := q.last
		q.depth, q.bytes, q.first, q.oldest = 0, 0, 0, time.Time{}
		if rerr := q.recover(); rerr != nil {
			q.db.log.Error("queue ack: cannot recount after a failed ack", logKeyQueue, q.name, logKeyDetail, rerr.Error())
		}
		q.last = max(q.last, last)
		return fmt.Errorf("queue %s: ack %d: %w", q.name, upTo, err)
	}
	q.depth -= len(keys)
	q.bytes -= bytes
	q.first = upTo + 1
	q.oldest = time.Time{}
	if q.depth > 0 {
		recs, err := q.peek(1, q.first, q.last)
		if err != nil || len(recs) == 0 {
			// The ack is durable; the corrupt record will be reported to
			// whoever Peeks it.
			q.db.log.Warn("queue ack: cannot read the oldest record's time", logKeyQueue, q.name, logKeyDetail, fmt.Sprint(err))
		} else {
			q.oldest = recs[0].Time
		}
	}
	return nil
}

// Stats implements Queue.
func (q *BadgerQueue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return QueueStats{Depth: q.depth, Bytes: q.bytes, Oldest: q.oldest}
}
