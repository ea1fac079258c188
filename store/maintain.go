package store

import (
	"context"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// gcDiscardRatio is the share of a value-log file that must be garbage before Badger
// rewrites it; a half keeps the rewrite cost at most equal to the space won back.
const gcDiscardRatio = 0.5

// Maintain reclaims the disk space of overwritten and deleted values until ctx ends: Badger
// does not do it by itself, and a root overwrites inventories and policies all day while a
// relay deletes everything it forwarded. Each round collects value-log files until none is
// worth rewriting.
func (db *DB) Maintain(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			if err := db.gate.enter(); err != nil {
				return
			}
			err := db.bdb.RunValueLogGC(gcDiscardRatio)
			db.gate.leave()
			if err != nil {
				if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
					db.log.Warn("store garbage collection failed", "dir", db.dir, "err", err)
				}
				break
			}
			db.log.Debug("store value log collected", "dir", db.dir)
		}
	}
}
