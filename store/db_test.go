package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func openDB(t testing.TB, dir string) *DB {
	t.Helper()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rawSet writes a Badger key directly, under the record layer, to plant
// what a bug or a bad disk would leave.
func rawSet(t *testing.T, db *DB, key string, value []byte) {
	t.Helper()
	if err := db.bdb.Update(func(txn *badger.Txn) error { return txn.Set([]byte(key), value) }); err != nil {
		t.Fatalf("raw set %q: %v", key, err)
	}
}

func rawGet(t *testing.T, db *DB, key string) []byte {
	t.Helper()
	var v []byte
	err := db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(key))
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		t.Fatalf("raw get %q: %v", key, err)
	}
	return v
}

func TestSchemaVersion(t *testing.T) {
	tests := []struct {
		name    string
		value   []byte
		wantErr error
		wantMsg string
	}{
		{"current", appendRecord(nil, binary.BigEndian.AppendUint64(nil, SchemaVersion)), nil, ""},
		{"newer", appendRecord(nil, binary.BigEndian.AppendUint64(nil, SchemaVersion+1)), ErrSchemaVersion, "found 2, this bosun knows 1; run the bosun release"},
		{"older", appendRecord(nil, binary.BigEndian.AppendUint64(nil, 0)), ErrSchemaVersion, "found 0"},
		{"garbled bytes", []byte("garbage!garbage!"), ErrSchemaVersion, "garbled"},
		{"short payload", appendRecord(nil, []byte{1}), ErrSchemaVersion, "garbled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := dataDir(t)
			db := openDB(t, dir)
			rawSet(t, db, schemaKey, tt.value)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db, err := Open(dir, Options{})
			if err == nil {
				db.Close()
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("reopen: got %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("reopen: got %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestSchemaVersionWrittenOnFirstOpen(t *testing.T) {
	db := openDB(t, dataDir(t))
	p, err := openRecord(rawGet(t, db, schemaKey))
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(p); got != SchemaVersion {
		t.Errorf("schema version on disk: got %d, want %d", got, SchemaVersion)
	}
}

func TestProfiles(t *testing.T) {
	for _, p := range []Profile{ProfileRelay, ProfileRoot} {
		t.Run(p.String(), func(t *testing.T) {
			db, err := Open(dataDir(t), Options{Profile: p})
			if err != nil {
				t.Fatalf("Open with %v: %v", p, err)
			}
			b := db.Bucket("x")
			big := bytes.Repeat([]byte("v"), 200<<10) // past both value thresholds
			if err := b.Put("k", big); err != nil {
				t.Fatal(err)
			}
			if got, err := b.Get("k"); err != nil || !bytes.Equal(got, big) {
				t.Errorf("Get: got %d bytes, %v; want %d bytes", len(got), err, len(big))
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := Open(dataDir(t), Options{Profile: Profile(9)}); err == nil || !strings.Contains(err.Error(), "unknown profile 9") {
		t.Errorf("Open with Profile(9): got %v, want an unknown profile error", err)
	}
}

func TestCloseIdempotent(t *testing.T) {
	db := openDB(t, dataDir(t))
	q, err := db.Queue("q")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := db.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	b := db.Bucket("b")
	if _, err := b.Get("k"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: got %v, want ErrClosed", err)
	}
	if err := b.Put("k", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close: got %v, want ErrClosed", err)
	}
	if err := db.Update(func(*Txn) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close: got %v, want ErrClosed", err)
	}
	if _, err := q.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: got %v, want ErrClosed", err)
	}
	if _, err := db.Queue("q2"); !errors.Is(err, ErrClosed) {
		t.Errorf("Queue after Close: got %v, want ErrClosed", err)
	}
}

func TestOpenTwiceFails(t *testing.T) {
	dir := dataDir(t)
	openDB(t, dir)
	if db, err := Open(dir, Options{}); err == nil {
		db.Close()
		t.Fatal("second Open of one dir: got nil error, want a lock error")
	}
}

func TestKVRoundTrip(t *testing.T) {
	dir := dataDir(t)
	db := openDB(t, dir)
	b := db.Bucket("nodes")
	entries := map[string][]byte{
		"":          []byte("empty key"),
		"b":         []byte("2"),
		"a":         []byte("1"),
		"a/nested":  []byte("n"),
		"c":         {},
		"\x00\xffz": bytes.Repeat([]byte{0xab}, 5000),
	}
	for k, v := range entries {
		if err := b.Put(k, v); err != nil {
			t.Fatalf("Put(%q): %v", k, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir)
	b = db.Bucket("nodes")
	for k, want := range entries {
		got, err := b.Get(k)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Get(%q) after reopen: got %q, %v; want %q", k, got, err, want)
		}
	}
	if _, err := b.Get("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing): got %v, want ErrNotFound", err)
	}
	if err := b.Delete("b"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get("b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: got %v, want ErrNotFound", err)
	}
	if err := b.Delete("never-there"); err != nil {
		t.Errorf("Delete of an absent key: got %v, want nil", err)
	}
	// Another bucket, a queue and the schema key do not show through.
	if err := db.Bucket("node").Put("s/x", []byte("other bucket")); err != nil {
		t.Fatal(err)
	}
	if err := db.Bucket("nodesx").Put("a", []byte("other bucket")); err != nil {
		t.Fatal(err)
	}
	q, err := db.Queue("nodes")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Append([]byte("queued")); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := b.Scan("", func(k string, v []byte) error {
		keys = append(keys, k)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"", "\x00\xffz", "a", "a/nested", "c"}; !slices.Equal(keys, want) {
		t.Errorf("Scan(\"\") keys: got %q, want %q", keys, want)
	}
}

func TestScan(t *testing.T) {
	db := openDB(t, dataDir(t))
	b := db.Bucket("b")
	err := db.Update(func(tx *Txn) error { // one fsync, not 300
		for i := range 300 {
			if err := tx.Put("b", fmt.Sprintf("k%03d", (i*7)%300), []byte{byte(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put("other", nil); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := b.Scan("k", func(k string, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 300 || !slices.IsSorted(keys) {
		t.Errorf("Scan(k): got %d keys, sorted=%v; want 300 sorted", len(keys), slices.IsSorted(keys))
	}
	if n, err := b.Count("k"); err != nil || n != 300 {
		t.Errorf("Count(k): got %d, %v; want 300", n, err)
	}
	if n, err := b.Count(""); err != nil || n != 301 {
		t.Errorf("Count(\"\"): got %d, %v; want 301", n, err)
	}
	keys = nil
	if err := b.Scan("k1", func(k string, _ []byte) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 100 || keys[0] != "k100" || keys[99] != "k199" {
		t.Errorf("Scan(k1): got %d keys from %q, want 100 from k100 to k199", len(keys), keys)
	}
	stop := errors.New("stop")
	n := 0
	err = b.Scan("k", func(k string, _ []byte) error {
		n++
		if k == "k004" {
			return stop
		}
		return nil
	})
	if err != stop || n != 5 {
		t.Errorf("Scan stopped by fn: got %v after %d calls, want the fn's error after 5", err, n)
	}
	// fn may use the store while scanning.
	err = b.Scan("k00", func(k string, _ []byte) error {
		_, err := b.Get(k)
		return err
	})
	if err != nil {
		t.Errorf("Get inside Scan: %v", err)
	}
}

func TestCorruptValue(t *testing.T) {
	db := openDB(t, dataDir(t))
	b := db.Bucket("nodes")
	if err := b.Put("n1", []byte("accepted")); err != nil {
		t.Fatal(err)
	}
	good := rawGet(t, db, "b/nodes/n1")
	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 0x01
	badVersion := bytes.Clone(good)
	badVersion[0] = 7
	tests := []struct {
		name    string
		value   []byte
		wantMsg string
	}{
		{"flipped payload byte", flipped, "checksum"},
		{"unknown record version", badVersion, "record format version 7"},
		{"shorter than header", good[:5], "shorter than the 9-byte header"},
		{"empty", nil, "0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rawSet(t, db, "b/nodes/n1", tt.value)
			_, err := b.Get("n1")
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), `bucket nodes: key "n1"`) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Get: got %v, want ErrCorrupt naming bucket nodes, key n1 and %q", err, tt.wantMsg)
			}
			err = b.Scan("", func(string, []byte) error { return nil })
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Scan: got %v, want ErrCorrupt", err)
			}
			err = db.Update(func(tx *Txn) error { _, err := tx.Get("nodes", "n1"); return err })
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Txn.Get: got %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestInvalidNames(t *testing.T) {
	db := openDB(t, dataDir(t))
	for _, name := range []string{"", "a/b"} {
		if err := db.Bucket(name).Put("k", nil); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Bucket(%q).Put: got %v, want ErrInvalidName", name, err)
		}
		if _, err := db.Queue(name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Queue(%q): got %v, want ErrInvalidName", name, err)
		}
		err := db.Update(func(tx *Txn) error { return tx.Put(name, "k", nil) })
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("Txn.Put(%q): got %v, want ErrInvalidName", name, err)
		}
	}
}

func TestUpdateAtomic(t *testing.T) {
	db := openDB(t, dataDir(t))
	// Accept a node and record its key in one transaction.
	err := db.Update(func(tx *Txn) error {
		if err := tx.Put("nodes", "n1", []byte("accepted")); err != nil {
			return err
		}
		return tx.Put("keys", "n1", []byte("ed25519:..."))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bk := range []string{"nodes", "keys"} {
		if _, err := db.Bucket(bk).Get("n1"); err != nil {
			t.Errorf("%s/n1 after Update: %v", bk, err)
		}
	}
	// A failing fn leaves nothing behind, and its error comes back as is.
	boom := errors.New("boom")
	err = db.Update(func(tx *Txn) error {
		if err := tx.Put("nodes", "n2", []byte("accepted")); err != nil {
			return err
		}
		if err := tx.Delete("nodes", "n1"); err != nil {
			return err
		}
		if got, err := tx.Get("nodes", "n2"); err != nil || string(got) != "accepted" {
			t.Errorf("Txn.Get of its own write: got %q, %v", got, err)
		}
		return boom
	})
	if err != boom {
		t.Errorf("Update: got %v, want the fn's error", err)
	}
	if _, err := db.Bucket("nodes").Get("n2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("nodes/n2 after a failed Update: got %v, want ErrNotFound", err)
	}
	if _, err := db.Bucket("nodes").Get("n1"); err != nil {
		t.Errorf("nodes/n1 after a failed Update: got %v, want it kept", err)
	}
	err = db.Update(func(tx *Txn) error { _, err := tx.Get("nodes", "nope"); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Txn.Get of a missing key: got %v, want ErrNotFound", err)
	}
}

// TestUpdateConflicts increments one counter from many goroutines: lost
// updates would show as a smaller total.
func TestUpdateConflicts(t *testing.T) {
	db := openDB(t, dataDir(t))
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				err := db.Update(func(tx *Txn) error {
					v, err := tx.Get("c", "n")
					if err != nil && !errors.Is(err, ErrNotFound) {
						return err
					}
					var n uint64
					if len(v) == 8 {
						n = binary.BigEndian.Uint64(v)
					}
					return tx.Put("c", "n", binary.BigEndian.AppendUint64(nil, n+1))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	v, err := db.Bucket("c").Get("n")
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint64(v); got != workers*each {
		t.Errorf("counter: got %d, want %d", got, workers*each)
	}
}

// dataDir is a fresh data directory path: t.TempDir itself is 0755,
// which PrepareDir rightly refuses.
func dataDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "data")
}
