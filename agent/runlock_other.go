//go:build !unix

package agent

import (
	"context"
	"time"
)

func lockHeld(error) bool { return false }

// lockRun is a no-op where flock does not exist: runs are serialised within the daemon only.
func lockRun(context.Context, string, time.Duration) (func(), error) { return func() {}, nil }
