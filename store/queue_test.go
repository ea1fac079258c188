package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// queueImpl opens one Queue implementation in dir; reopening the same
// dir after closing must find the same queue.
type queueImpl struct {
	name string
	open func(t testing.TB, dir string, maxBytes int64) (Queue, io.Closer)
}

var queueImpls = []queueImpl{
	{"badger", func(t testing.TB, dir string, maxBytes int64) (Queue, io.Closer) {
		t.Helper()
		db, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("Open(%s): %v", dir, err)
		}
		q, err := db.QueueWithOptions("reports", QueueOptions{MaxBytes: maxBytes})
		if err != nil {
			db.Close()
			t.Fatalf("Queue: %v", err)
		}
		return q, db
	}},
	{"spool", func(t testing.TB, dir string, maxBytes int64) (Queue, io.Closer) {
		t.Helper()
		// Small segments so that rotation and segment removal happen.
		s, err := OpenSpool(dir, SpoolOptions{MaxBytes: maxBytes, SegmentBytes: 512})
		if err != nil {
			t.Fatalf("OpenSpool(%s): %v", dir, err)
		}
		return s, s
	}},
}

// queueHarness opens a queue and reopens it as a restarted process would.
type queueHarness struct {
	t        *testing.T
	impl     queueImpl
	dir      string
	maxBytes int64
	q        Queue
	c        io.Closer
}

func newHarness(t *testing.T, impl queueImpl, maxBytes int64) *queueHarness {
	h := &queueHarness{t: t, impl: impl, dir: dataDir(t), maxBytes: maxBytes}
	h.q, h.c = impl.open(t, h.dir, maxBytes)
	t.Cleanup(func() { h.c.Close() })
	return h
}

func (h *queueHarness) restart() {
	h.t.Helper()
	if err := h.c.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.q, h.c = h.impl.open(h.t, h.dir, h.maxBytes)
}

func (h *queueHarness) append(data ...string) uint64 {
	h.t.Helper()
	bs := make([][]byte, len(data))
	for i, d := range data {
		bs[i] = []byte(d)
	}
	seq, err := h.q.Append(bs...)
	if err != nil {
		h.t.Fatalf("Append(%q): %v", data, err)
	}
	return seq
}

func (h *queueHarness) ack(upTo uint64) {
	h.t.Helper()
	if err := h.q.Ack(upTo); err != nil {
		h.t.Fatalf("Ack(%d): %v", upTo, err)
	}
}

// want checks Peek(all) returns exactly these records.
func (h *queueHarness) want(seqs []uint64, data []string) {
	h.t.Helper()
	recs, err := h.q.Peek(1 << 20)
	if err != nil {
		h.t.Fatalf("Peek: %v", err)
	}
	var gotSeqs []uint64
	var gotData []string
	for _, r := range recs {
		gotSeqs = append(gotSeqs, r.Seq)
		gotData = append(gotData, string(r.Data))
	}
	if fmt.Sprint(gotSeqs) != fmt.Sprint(seqs) || fmt.Sprint(gotData) != fmt.Sprint(data) {
		h.t.Fatalf("Peek: got seqs %v data %q, want %v %q", gotSeqs, gotData, seqs, data)
	}
	st := h.q.Stats()
	var bytes int64
	for _, d := range data {
		bytes += int64(len(d))
	}
	if st.Depth != len(data) || st.Bytes != bytes {
		h.t.Errorf("Stats: got depth %d bytes %d, want %d and %d", st.Depth, st.Bytes, len(data), bytes)
	}
	if (len(recs) == 0) != st.Oldest.IsZero() || (len(recs) > 0 && !st.Oldest.Equal(recs[0].Time)) {
		h.t.Errorf("Stats.Oldest: got %v, want the time of the first record (%d records)", st.Oldest, len(recs))
	}
}

func seqs(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func forEachQueue(t *testing.T, fn func(t *testing.T, impl queueImpl)) {
	for _, impl := range queueImpls {
		t.Run(impl.name, func(t *testing.T) { fn(t, impl) })
	}
}

func TestQueueOrder(t *testing.T) {
	forEachQueue(t, func(t *testing.T, impl queueImpl) {
		h := newHarness(t, impl, 0)
		h.want(nil, nil)
		before := time.Now()
		if got := h.append("a"); got != 1 {
			t.Errorf("first Append: got seq %d, want 1", got)
		}
		if got := h.append("b", "c", ""); got != 4 {
			t.Errorf("second Append: got last seq %d, want 4", got)
		}
		if got, err := h.q.Append(); err != nil || got != 4 {
			t.Errorf("empty Append: got %d, %v; want 4, nil", got, err)
		}
		h.want(seqs(1, 4), []string{"a", "b", "c", ""})
		if o := h.q.Stats().Oldest; o.Before(before.Add(-time.Second)) || o.After(time.Now().Add(time.Second)) {
			t.Errorf("Stats.Oldest: got %v, want about %v", o, before)
		}
		recs, err := h.q.Peek(2)
		if err != nil || len(recs) != 2 || recs[0].Seq != 1 || recs[1].Seq != 2 {
			t.Errorf("Peek(2): got %v, %v; want seqs 1 and 2", recs, err)
		}
		if recs, err := h.q.Peek(0); err != nil || len(recs) != 0 {
			t.Errorf("Peek(0): got %v, %v; want nothing", recs, err)
		}
		h.ack(0)
		h.want(seqs(1, 4), []string{"a", "b", "c", ""})
		h.ack(2)
		h.want(seqs(3, 4), []string{"c", ""})
		h.ack(2) // again: nothing changes
		h.want(seqs(3, 4), []string{"c", ""})
		h.append("d")
		h.want(seqs(3, 5), []string{"c", "", "d"})
		h.ack(100) // past the end: acks what exists
		h.want(nil, nil)
		if got := h.append("e"); got != 6 {
			t.Errorf("Append after acking past the end: got seq %d, want 6", got)
		}
		h.want([]uint64{6}, []string{"e"})
	})
}

func TestQueueRestart(t *testing.T) {
	forEachQueue(t, func(t *testing.T, impl queueImpl) {
		h := newHarness(t, impl, 0)
		var data []string
		for i := range 60 {
			data = append(data, fmt.Sprintf("report-%02d-%s", i, bytes.Repeat([]byte("x"), i)))
		}
		for i := 0; i < len(data); i += 7 {
			h.append(data[i:min(i+7, len(data))]...)
		}
		h.ack(10)
		h.restart()
		h.want(seqs(11, 60), data[10:])
		h.append("after restart")
		h.want(seqs(11, 61), append(data[10:], "after restart"))
		// Drain completely: seq must not restart from 1 after a reopen.
		h.ack(61)
		h.restart()
		h.want(nil, nil)
		if got := h.append("next"); got != 62 {
			t.Errorf("Append after drain and restart: got seq %d, want 62", got)
		}
		h.restart()
		h.want([]uint64{62}, []string{"next"})
	})
}

func TestQueueBudget(t *testing.T) {
	forEachQueue(t, func(t *testing.T, impl queueImpl) {
		h := newHarness(t, impl, 10)
		h.append("12345", "678")
		_, err := h.q.Append([]byte("9"), []byte("ab"), []byte("c"))
		if !errors.Is(err, ErrQueueFull) {
			t.Fatalf("Append over budget: got %v, want ErrQueueFull", err)
		}
		h.want(seqs(1, 2), []string{"12345", "678"}) // nothing partial
		h.append("9a")                               // exactly at the budget
		if _, err := h.q.Append([]byte("x")); !errors.Is(err, ErrQueueFull) {
			t.Fatalf("Append at a full budget: got %v, want ErrQueueFull", err)
		}
		h.ack(1)
		h.restart()
		if got := h.append("bcdef"); got != 4 {
			t.Errorf("Append after ack freed room: got seq %d, want 4", got)
		}
		h.want(seqs(2, 4), []string{"678", "9a", "bcdef"})
		if _, err := h.q.Append(make([]byte, MaxRecordBytes+1)); !errors.Is(err, ErrRecordTooBig) {
			t.Errorf("Append of %d bytes: got %v, want ErrRecordTooBig", MaxRecordBytes+1, err)
		}
	})
}

func TestQueueConcurrentAppend(t *testing.T) {
	forEachQueue(t, func(t *testing.T, impl queueImpl) {
		h := newHarness(t, impl, 0)
		const writers, batches, per = 4, 10, 5
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for b := range batches {
					batch := make([][]byte, per)
					for i := range batch {
						batch[i] = fmt.Appendf(nil, "w%d-b%02d-%d", w, b, i)
					}
					if _, err := h.q.Append(batch...); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		// A consumer drains while the writers write.
		var got []Record
		deadline := time.Now().Add(20 * time.Second)
		for len(got) < writers*batches*per && time.Now().Before(deadline) {
			recs, err := h.q.Peek(7)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) > 0 {
				got = append(got, recs...)
				h.ack(recs[len(recs)-1].Seq)
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(got) != writers*batches*per {
			t.Fatalf("drained %d records, want %d", len(got), writers*batches*per)
		}
		next := map[int]int{} // writer → next expected batch*per+i
		for i, r := range got {
			if r.Seq != uint64(i+1) {
				t.Fatalf("record %d: got seq %d, want %d", i, r.Seq, i+1)
			}
			var w, b, k int
			if _, err := fmt.Sscanf(string(r.Data), "w%d-b%d-%d", &w, &b, &k); err != nil {
				t.Fatal(err)
			}
			if b*per+k != next[w] {
				t.Fatalf("writer %d: got record %d, want %d (batches interleaved or reordered)", w, b*per+k, next[w])
			}
			next[w]++
		}
		h.want(nil, nil)
	})
}
