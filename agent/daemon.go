package agent

import (
	"context"
	"errors"
	"runtime/debug"
	"time"

	"github.com/bosun-io/bosun/agent/host"
)

// Bounds of the daemon's exchanges around a run: the run never waits on the network longer.
const (
	refreshTimeout = 15 * time.Second
	sendTimeout    = 30 * time.Second
)

// hostSet returns the node's OS backends, detected once.
func (a *Agent) hostSet() *host.Set {
	a.hostOnce.Do(func() { a.hosts = host.Detect(a.cfg.ApplyPrefix) })
	return a.hosts
}

// kickRun asks the run loop for a run now (a new policy arrived).
func (a *Agent) kickRun() {
	select {
	case a.runKick <- struct{}{}:
	default:
	}
}

// kickSend asks the sender to send the spool now.
func (a *Agent) kickSend() {
	select {
	case a.sendKick <- struct{}{}:
	default:
	}
}

// runInterval is the interval of the policy held, unless the configuration overrides it.
func (a *Agent) runSchedule() (interval, splay time.Duration) {
	interval, splay = 5*time.Minute, 4*time.Minute
	if p, err := a.Policy(); err == nil {
		if p.RunInterval > 0 {
			interval = p.RunInterval
		}
		splay = p.Splay
	}
	if a.cfg.RunInterval > 0 {
		interval = a.cfg.RunInterval
	}
	return interval, splay
}

// runLoop runs the policy held at the node's slot of every run interval, and at once when a
// new policy arrives or when the agent starts after missing a run, until ctx ends.
func (a *Agent) runLoop(ctx context.Context) {
	interval, splay := a.runSchedule()
	next := NextRun(a.id.NodeID, a.cfg.Now(), interval, splay)
	if lr := ReadLastRun(a.cfg.DataDir); lr == nil || a.cfg.Now().Sub(lr.End) > interval {
		next = a.cfg.Now()
	}
	for {
		t := time.NewTimer(max(time.Until(next), 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-a.runKick:
			t.Stop()
		}
		a.scheduledRun(ctx)
		interval, splay = a.runSchedule()
		next = NextRun(a.id.NodeID, a.cfg.Now(), interval, splay)
	}
}

// scheduledRun refreshes the policy, bounded in time, then runs whatever policy is held:
// a node cut off from its policy server keeps running its last good policy.
func (a *Agent) scheduledRun(ctx context.Context) {
	if a.enrolled() {
		rctx, cancel := context.WithTimeout(ctx, refreshTimeout)
		if st, err := a.Status(rctx); err != nil {
			a.log.Debug("policy not refreshed before the run", "err", err)
		} else if st.NodeStatus == "accepted" {
			if _, err := a.FetchPolicy(rctx, st.ConfigID); err != nil {
				a.log.Warn("policy not updated", "err", err)
			}
		}
		// Shared files come from the policy server even when the root is out of reach: a
		// relay serves the copies it cached.
		if held, err := a.Policy(); err == nil {
			if err := a.SyncSharedFiles(rctx, held); err != nil {
				a.log.Warn("shared files not all up to date", "err", err)
			}
		}
		cancel()
	}
	// A new policy that arrived while refreshing is run now; drop the kick it caused.
	select {
	case <-a.runKick:
	default:
	}
	if ctx.Err() != nil {
		return
	}
	res, err := a.RunOnce(ctx, RunOptions{})
	// An agent is idle almost all the time: give the run's garbage (and the inventory's,
	// when one was collected since) back to the OS now rather than over the next minutes.
	defer debug.FreeOSMemory()
	switch {
	case errors.Is(err, ErrNoPolicy):
		a.countRun(runNoPolicy)
		a.log.Debug("no run: no policy yet", "err", err)
	case err != nil:
		a.countRun(runFailed)
		a.log.Error("run failed", "err", err)
	default:
		if res.OK() {
			a.countRun(runCompliant)
		} else {
			a.countRun(runNonCompliant)
		}
		a.kickSend()
	}
}

func (a *Agent) enrolled() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st.EnrolledWith == a.cfg.Server && a.st.EnrolledID == a.id.NodeID
}

// sendLoop sends the spooled reports after every run and every contact interval, until ctx
// ends. A report that does not go out stays in the spool for the next attempt.
func (a *Agent) sendLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.sendKick:
		}
		sp := a.openedSpool()
		if sp == nil || sp.Stats().Depth == 0 && !a.outboxHasReports() {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		n, err := a.SendReports(sctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			a.log.Warn("reports kept in the spool", "sent", n, "unsent", sp.Stats().Depth, "err", err)
		} else if n > 0 {
			a.log.Debug("reports sent", "sent", n)
		}
	}
}
