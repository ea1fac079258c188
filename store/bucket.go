package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrNotFound is returned by Get for a key that is absent.
var ErrNotFound = errors.New("not found")

// KV is keyed state in one bucket: the root's registry, a relay's policy
// cache. Keys are strings, values opaque bytes.
type KV interface {
	Get(key string) ([]byte, error) // ErrNotFound when absent
	Put(key string, value []byte) error
	Delete(key string) error
	// Scan calls fn for every key with the prefix, in key order. An
	// error from fn stops the scan and is returned as it is.
	Scan(prefix string, fn func(key string, value []byte) error) error
}

var _ KV = (*Bucket)(nil)

// maxUpdateAttempts bounds the retries of an Update whose reads were
// overwritten by a concurrent Update.
const maxUpdateAttempts = 64

// Bucket is a named set of keys in a DB.
type Bucket struct {
	db     *DB
	name   string
	prefix string
	err    error // invalid name, returned by every call
}

// Bucket returns the bucket called name. Names are compile-time constants
// in practice, so an invalid one (empty, or with '/') is reported by each
// call on the bucket rather than here.
func (db *DB) Bucket(name string) *Bucket {
	return &Bucket{db: db, name: name, prefix: bucketPrefix(name), err: checkName("bucket", name)}
}

func checkName(kind, name string) error {
	if name == "" || strings.ContainsRune(name, '/') {
		return fmt.Errorf("%s %q: %w: must be non-empty and contain no '/'", kind, name, ErrInvalidName)
	}
	return nil
}

func bucketPrefix(name string) string { return bucketSpace + name + "/" }

// Get returns a copy of the value stored under key.
func (b *Bucket) Get(key string) ([]byte, error) {
	var v []byte
	err := b.view(func(txn *badger.Txn) error {
		var err error
		v, err = getRecord(txn, b.name, b.prefix, key)
		return err
	})
	return v, err
}

// Put stores value under key, durably when it returns.
func (b *Bucket) Put(key string, value []byte) error {
	return b.update(func(txn *badger.Txn) error { return putRecord(txn, b.prefix, key, value) })
}

// Delete removes key; deleting an absent key is not an error.
func (b *Bucket) Delete(key string) error {
	return b.update(func(txn *badger.Txn) error { return deleteRecord(txn, b.prefix, key) })
}

// Scan calls fn for each key that starts with prefix, in key order, on
// one consistent snapshot. fn owns the value it is given.
func (b *Bucket) Scan(prefix string, fn func(key string, value []byte) error) error {
	var fnErr error
	err := b.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(b.prefix + prefix)
		opts.PrefetchSize = 16
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			key := string(item.Key()[len(b.prefix):])
			raw, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("bucket %s: read %q: %w", b.name, key, err)
			}
			v, err := openRecord(raw)
			if err != nil {
				return fmt.Errorf("bucket %s: key %q: %w", b.name, key, err)
			}
			if err := fn(key, v); err != nil {
				fnErr = err
				return err
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// Count returns how many keys start with prefix, on one snapshot, reading keys only: what a
// gauge of a bucket of large values (a relay's cached policies) needs, without reading them.
func (b *Bucket) Count(prefix string) (int, error) {
	n := 0
	err := b.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(b.prefix + prefix)
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (b *Bucket) view(fn func(*badger.Txn) error) error {
	if b.err != nil {
		return b.err
	}
	if err := b.db.gate.enter(); err != nil {
		return fmt.Errorf("bucket %s: %w", b.name, err)
	}
	defer b.db.gate.leave()
	return b.db.bdb.View(fn)
}

func (b *Bucket) update(fn func(*badger.Txn) error) error {
	if b.err != nil {
		return b.err
	}
	if err := b.db.gate.enter(); err != nil {
		return fmt.Errorf("bucket %s: %w", b.name, err)
	}
	defer b.db.gate.leave()
	if err := b.db.bdb.Update(fn); err != nil {
		return fmt.Errorf("bucket %s: %w", b.name, err)
	}
	return nil
}

func getRecord(txn *badger.Txn, bucket, prefix, key string) ([]byte, error) {
	item, err := txn.Get([]byte(prefix + key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("bucket %s: key %q: %w", bucket, key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("bucket %s: get %q: %w", bucket, key, err)
	}
	raw, err := item.ValueCopy(nil)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: get %q: %w", bucket, key, err)
	}
	v, err := openRecord(raw)
	if err != nil {
		return nil, fmt.Errorf("bucket %s: key %q: %w", bucket, key, err)
	}
	return v, nil
}

func putRecord(txn *badger.Txn, prefix, key string, value []byte) error {
	if err := txn.Set([]byte(prefix+key), appendRecord(nil, value)); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

func deleteRecord(txn *badger.Txn, prefix, key string) error {
	if err := txn.Delete([]byte(prefix + key)); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// Txn is a read-write transaction across buckets, handed to the function
// given to DB.Update.
type Txn struct {
	txn *badger.Txn
}

// Get returns a copy of the value of key in bucket, as of the start of
// the transaction plus its own writes.
func (tx *Txn) Get(bucket, key string) ([]byte, error) {
	if err := checkName("bucket", bucket); err != nil {
		return nil, err
	}
	return getRecord(tx.txn, bucket, bucketPrefix(bucket), key)
}

// Put stores value under key in bucket when the transaction commits.
func (tx *Txn) Put(bucket, key string, value []byte) error {
	if err := checkName("bucket", bucket); err != nil {
		return err
	}
	if err := putRecord(tx.txn, bucketPrefix(bucket), key, value); err != nil {
		return fmt.Errorf("bucket %s: %w", bucket, err)
	}
	return nil
}

// Delete removes key from bucket when the transaction commits.
func (tx *Txn) Delete(bucket, key string) error {
	if err := checkName("bucket", bucket); err != nil {
		return err
	}
	if err := deleteRecord(tx.txn, bucketPrefix(bucket), key); err != nil {
		return fmt.Errorf("bucket %s: %w", bucket, err)
	}
	return nil
}

// Update runs fn in a transaction and commits it durably if fn returns
// nil; all of its writes land, or none. If another Update changed a key
// fn read before this one committed, fn runs again on fresh data, so fn
// must have no effects outside tx.
func (db *DB) Update(fn func(tx *Txn) error) error {
	if err := db.gate.enter(); err != nil {
		return fmt.Errorf("store %s: update: %w", db.dir, err)
	}
	defer db.gate.leave()
	var err error
	for attempt := range maxUpdateAttempts {
		if attempt > 0 {
			// Jitter so that the losers of one round do not meet again;
			// the unit is about one fsync, the time a round takes.
			time.Sleep(time.Duration(rand.Int64N(int64(min(attempt, 8)))+1) * 200 * time.Microsecond)
		}
		err = db.bdb.Update(func(txn *badger.Txn) error { return fn(&Txn{txn: txn}) })
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("store %s: update: gave up after %d conflicting attempts: %w", db.dir, maxUpdateAttempts, err)
}
