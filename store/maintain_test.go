package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestMaintainStopsWithContext: the maintenance loop runs against a live store and returns
// when its context ends, and after Close it stops by itself.
func TestMaintainStopsWithContext(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "db"), Options{Profile: ProfileRoot})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := db.Bucket("x")
	for i := range 200 {
		if err := b.Put("k", make([]byte, 4096+i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); db.Maintain(ctx, 10*time.Millisecond) }()
	time.Sleep(50 * time.Millisecond) // let a few rounds run; nothing is asserted on timing
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Maintain did not return after its context ended")
	}
	if v, err := b.Get("k"); err != nil || len(v) != 4096+199 {
		t.Errorf("after maintenance: got %d bytes, %v", len(v), err)
	}
}

func TestPeekFrom(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := db.Queue("q")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := q.Append([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Ack(2); err != nil {
		t.Fatal(err)
	}
	var got []byte
	after := uint64(0)
	for {
		recs, err := q.PeekFrom(after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			got = append(got, r.Data[0])
		}
		after = recs[len(recs)-1].Seq
	}
	if string(got) != string([]byte{2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("got %v, want records 2..9 in order", got)
	}
}
