package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestBadgerQueueCorrupt(t *testing.T) {
	db := openDB(t, dataDir(t))
	q, err := db.Queue("reports")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Append([]byte("one"), []byte("two"), []byte("three")); err != nil {
		t.Fatal(err)
	}
	key := string(q.recordKey(2, 3))
	v := rawGet(t, db, key)
	v[len(v)-1] ^= 0x20
	rawSet(t, db, key, v)
	_, err = q.Peek(10)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "queue reports: record 2") {
		t.Errorf("Peek over a damaged record: got %v, want ErrCorrupt naming queue reports, record 2", err)
	}
	// A value whose length disagrees with its key.
	rawSet(t, db, key, appendRecord(nil, append(make([]byte, queueTimeLen), "toolong"...)))
	if _, err = q.Peek(10); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "key says 3") {
		t.Errorf("Peek over a record of the wrong length: got %v, want ErrCorrupt", err)
	}
	// Acking past it still works: the relay can skip a record it cannot read.
	if err := q.Ack(2); err != nil {
		t.Fatal(err)
	}
	recs, err := q.Peek(10)
	if err != nil || len(recs) != 1 || !bytes.Equal(recs[0].Data, []byte("three")) {
		t.Errorf("Peek after acking the damaged record: got %v, %v; want record 3", recs, err)
	}
}

func TestBadgerQueueSameName(t *testing.T) {
	db := openDB(t, dataDir(t))
	q1, err := db.Queue("a")
	if err != nil {
		t.Fatal(err)
	}
	q2, err := db.Queue("a")
	if err != nil || q1 != q2 {
		t.Errorf("Queue twice: got %p, %v; want the same queue %p", q2, err, q1)
	}
	if _, err := db.QueueWithOptions("a", QueueOptions{MaxBytes: 5}); err == nil {
		t.Error("QueueWithOptions with other options than the open queue: got nil error")
	}
	if _, err := db.QueueWithOptions("b", QueueOptions{MaxBytes: -1}); err == nil {
		t.Error("QueueWithOptions with MaxBytes -1: got nil error")
	}
	// Queues do not see each other's records.
	qb, err := db.Queue("b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q1.Append([]byte("for a")); err != nil {
		t.Fatal(err)
	}
	if recs, err := qb.Peek(10); err != nil || len(recs) != 0 {
		t.Errorf("Peek of queue b: got %v, %v; want nothing", recs, err)
	}
}

// TestBadgerQueueBigBatch appends a batch larger than one Badger
// transaction of the relay profile (15% of a 2 MiB memtable).
func TestBadgerQueueBigBatch(t *testing.T) {
	dir := dataDir(t)
	db := openDB(t, dir)
	q, err := db.Queue("big")
	if err != nil {
		t.Fatal(err)
	}
	batch := make([][]byte, 3000)
	for i := range batch {
		batch[i] = bytes.Repeat([]byte{byte(i)}, 200)
	}
	last, err := q.Append(batch...)
	if err != nil || last != 3000 {
		t.Fatalf("Append of 3000 x 200 bytes: got %d, %v; want 3000", last, err)
	}
	if err := q.Ack(2500); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, dir)
	q, err = db.Queue("big")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := q.Peek(1000)
	if err != nil || len(recs) != 500 || recs[0].Seq != 2501 || !bytes.Equal(recs[499].Data, batch[2999]) {
		t.Fatalf("Peek after reopen: got %d records, %v; want 500 from 2501", len(recs), err)
	}
	if st := q.Stats(); st.Depth != 500 || st.Bytes != 500*200 {
		t.Errorf("Stats: got %+v, want depth 500, 100000 bytes", st)
	}
}
