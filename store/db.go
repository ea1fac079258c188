package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

var (
	// ErrSchemaVersion means the directory holds a store written by a
	// bosun whose key layout this one does not know (or a garbled
	// version key). It is wrapped with what to do about it.
	ErrSchemaVersion = errors.New("unknown store schema version")
	// ErrClosed is returned by every operation after Close.
	ErrClosed = errors.New("store closed")
	// ErrInvalidName is returned for a bucket or queue name that is
	// empty or contains '/'.
	ErrInvalidName = errors.New("invalid name")
)

// SchemaVersion is the key layout this package reads and writes. Bump it
// when the layout changes and add the migration to Open. History:
//
//	1 (2026-11): s/version, b/<bucket>/<key>, q/<queue>/<seq><len>, m/<queue>/acked
const SchemaVersion = 1

// Key namespaces; see doc.go.
const (
	schemaKey    = "s/version"
	bucketSpace  = "b/"
	queueSpace   = "q/"
	queueMetaNS  = "m/"
	logKeyDetail = "detail"
	logKeyDir    = "dir"
	logKeyFile   = "file"
	logKeyOffset = "offset"
	logKeyBytes  = "bytes"
	logKeyQueue  = "queue"
)

// Profile selects a tuned set of Badger options (DEPS.md §5, §10).
type Profile int

const (
	// ProfileRelay is the small set for a relay's store-and-forward
	// queue: one 2 MiB memtable, no block or index cache, no
	// compression, 2 compactors. About 18-34 MiB resident in queue use.
	// It is the zero value.
	ProfileRelay Profile = iota
	// ProfileRoot is the "tuned" set: two 8 MiB memtables, 2 MiB tables,
	// 64 MiB value log files, no caches, no compression. About 96 MiB
	// resident under a steady queue load.
	ProfileRoot
)

func (p Profile) String() string {
	switch p {
	case ProfileRelay:
		return "relay"
	case ProfileRoot:
		return "root"
	}
	return fmt.Sprintf("Profile(%d)", int(p))
}

// Options configures Open. The zero value is a relay profile that logs
// nothing.
type Options struct {
	Profile Profile
	// Logger receives Badger's warnings and errors; nil discards them.
	Logger *slog.Logger
}

// DB is an open Badger store. It is safe for concurrent use.
type DB struct {
	bdb  *badger.DB
	dir  string
	log  *slog.Logger
	gate gate

	mu     sync.Mutex // guards queues
	queues map[string]*BadgerQueue
}

// Open prepares dir (see PrepareDir), opens the Badger store in it with
// the options of opts.Profile, and checks or writes the schema version.
func Open(dir string, opts Options) (*DB, error) {
	if err := PrepareDir(dir); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "store", logKeyDir, dir)
	bopts, err := badgerOptions(dir, opts.Profile, log)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	bdb, err := badger.Open(bopts)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w (is another bosun using this data directory?)", dir, err)
	}
	db := &DB{bdb: bdb, dir: dir, log: log, queues: map[string]*BadgerQueue{}}
	db.gate.init()
	if err := db.checkSchema(); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	return db, nil
}

func badgerOptions(dir string, p Profile, log *slog.Logger) (badger.Options, error) {
	o := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{log}).
		WithSyncWrites(true).
		WithMetricsEnabled(false).
		// Bucket updates read then write; conflicts are retried by Update.
		WithDetectConflicts(true).
		// BlockCacheSize 0 panics in Open unless compression is off.
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithIndexCacheSize(0).
		// 1 compactor is rejected and 0 never compacts, which a queue
		// that deletes everything it writes cannot afford.
		WithNumCompactors(2)
	switch p {
	case ProfileRelay:
		// ValueThreshold must stay at or under 15% of MemTableSize.
		o = o.WithMemTableSize(2 << 20).
			WithNumMemtables(1).
			WithNumLevelZeroTables(1).
			WithNumLevelZeroTablesStall(4).
			WithBaseTableSize(512 << 10).
			WithBaseLevelSize(2 << 20).
			WithValueLogFileSize(16 << 20).
			WithValueThreshold(64 << 10).
			WithNumGoroutines(1)
	case ProfileRoot:
		o = o.WithMemTableSize(8 << 20).
			WithNumMemtables(2).
			WithNumLevelZeroTables(2).
			WithNumLevelZeroTablesStall(8).
			WithBaseTableSize(2 << 20).
			WithBaseLevelSize(8 << 20).
			WithValueLogFileSize(64 << 20).
			WithValueThreshold(1 << 10).
			WithNumGoroutines(2)
	default:
		return o, fmt.Errorf("unknown profile %d", int(p))
	}
	return o, nil
}

func (db *DB) checkSchema() error {
	return db.bdb.Update(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(schemaKey))
		if errors.Is(err, badger.ErrKeyNotFound) {
			v := appendRecord(nil, binary.BigEndian.AppendUint64(nil, SchemaVersion))
			if err := txn.Set([]byte(schemaKey), v); err != nil {
				return fmt.Errorf("store %s: write schema version: %w", db.dir, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("store %s: read schema version: %w", db.dir, err)
		}
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("store %s: read schema version: %w", db.dir, err)
		}
		payload, err := openRecord(raw)
		if err != nil || len(payload) != 8 {
			return fmt.Errorf("store %s: %w: the version key is garbled (%d bytes); "+
				"restore the directory from a backup, or move it aside to start an empty store",
				db.dir, ErrSchemaVersion, len(raw))
		}
		if v := binary.BigEndian.Uint64(payload); v != SchemaVersion {
			return fmt.Errorf("store %s: %w: found %d, this bosun knows %d; "+
				"run the bosun release that wrote it (or a newer one), or move the directory aside to start an empty store",
				db.dir, ErrSchemaVersion, v, SchemaVersion)
		}
		return nil
	})
}

// Close closes the store after the operations in flight return. It is
// idempotent; operations after Close return ErrClosed. It must not be
// called from inside a Scan or Update callback, which it would wait for.
func (db *DB) Close() error {
	if !db.gate.close() {
		return nil
	}
	if err := db.bdb.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", db.dir, err)
	}
	return nil
}

// gate lets Close wait for operations in flight without a RWMutex, whose
// recursive read locks (a Scan callback calling Get) would deadlock
// against a waiting Close.
type gate struct {
	mu     sync.Mutex
	idle   sync.Cond
	busy   int
	closed bool
}

func (g *gate) init() { g.idle.L = &g.mu }

func (g *gate) enter() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	g.busy++
	return nil
}

func (g *gate) leave() {
	g.mu.Lock()
	g.busy--
	if g.busy == 0 {
		g.idle.Broadcast()
	}
	g.mu.Unlock()
}

// close reports whether it was the first call, after waiting for every
// enter to leave.
func (g *gate) close() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.closed = true
	for g.busy > 0 {
		g.idle.Wait()
	}
	return true
}

// badgerLogger bridges Badger's printf logger to slog. Badger's info and
// debug lines (compaction, flushes) are noise at our level.
type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) Errorf(f string, v ...any) {
	l.log.Error("badger error", logKeyDetail, strings.TrimSpace(fmt.Sprintf(f, v...)))
}

func (l badgerLogger) Warningf(f string, v ...any) {
	l.log.Warn("badger warning", logKeyDetail, strings.TrimSpace(fmt.Sprintf(f, v...)))
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
