package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// Files of the agent's runs, in its data directory. The run id, the last run and the
// force-audit flag live in files of their own rather than in agent.json, because a run in
// the foreground (`bosun agent run`) and the daemon both write them: each is written
// under the run lock, whole, by one process at a time.
const (
	runLockFile    = "run.lock"
	runIDFile      = "run.id"
	lastRunFile    = "lastrun.json"
	forceAuditFile = "force-audit"
	spoolDir       = "spool"
	// outboxDir holds the reports of foreground runs made while the daemon holds the
	// spool; the daemon moves them into the spool, in run order, before sending.
	outboxDir = "outbox"
)

// Errors of runs.
var (
	// ErrRunBusy means another run holds the run lock.
	ErrRunBusy = errors.New("another run is in progress")
	// ErrSpoolHeld means another process (the daemon) holds the spool and sends it.
	ErrSpoolHeld = errors.New("another process holds the spool")
)

// runLockWait bounds how long a run waits for another one to finish.
const runLockWait = 30 * time.Second

// SetForceAudit sets or clears the node's force-audit flag in dataDir: while it is set,
// every run is in audit, whatever the policy says, and every report says so.
func SetForceAudit(dataDir string, on bool) error {
	path := filepath.Join(dataDir, forceAuditFile)
	if !on {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("unset force-audit: %w", err)
		}
		return nil
	}
	if err := store.PrepareDir(dataDir); err != nil {
		return err
	}
	msg := "set by bosun agent set-force-audit at " + time.Now().UTC().Format(time.RFC3339) + "\n"
	if err := store.WriteFileAtomic(path, []byte(msg), 0o600); err != nil {
		return fmt.Errorf("set force-audit: %w", err)
	}
	return nil
}

// ForceAudit reports whether the node in dataDir is forced to audit.
func ForceAudit(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, forceAuditFile))
	return err == nil
}

// LastRun is what `bosun agent info` shows of the last run.
type LastRun struct {
	RunID      uint64    `json:"runId"`
	ConfigID   string    `json:"configId"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	ForceAudit bool      `json:"forceAudit"`
	Summary    Summary   `json:"summary"`
	// Reported says whether the run's report went to the spool (not for --only runs,
	// nor with reporting disabled or between heartbeats in changes-only mode).
	Reported bool `json:"reported"`
	// Unsent is the number of reports waiting in the spool after the run, when known.
	Unsent int `json:"unsent"`
}

// ReadLastRun returns the last run recorded in dataDir, or nil.
func ReadLastRun(dataDir string) *LastRun {
	b, err := os.ReadFile(filepath.Join(dataDir, lastRunFile))
	if err != nil {
		return nil
	}
	var lr LastRun
	if json.Unmarshal(b, &lr) != nil {
		return nil
	}
	return &lr
}

// runCounter is the persisted state of run ids and of the changes-only heartbeat.
type runCounter struct {
	Last          uint64 // the last run id given
	SinceReported int    // runs since the last report that went to the spool
}

func (a *Agent) readRunCounter() runCounter {
	b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, runIDFile))
	if err != nil {
		return runCounter{}
	}
	var c runCounter
	f := strings.Fields(string(b))
	if len(f) > 0 {
		c.Last, _ = strconv.ParseUint(f[0], 10, 64)
	}
	if len(f) > 1 {
		c.SinceReported, _ = strconv.Atoi(f[1])
	}
	return c
}

func (a *Agent) writeRunCounter(c runCounter) error {
	return store.WriteFileAtomic(filepath.Join(a.cfg.DataDir, runIDFile), fmt.Appendf(nil, "%d %d\n", c.Last, c.SinceReported), 0o600)
}

// RunOptions configures Agent.RunOnce.
type RunOptions struct {
	// Only runs only the components of one directive (id or name); such a run is not
	// reported, since the root would count the other components as missing.
	Only string
	// NoReport runs without writing a report.
	NoReport bool
}

// RunOnce runs the policy the agent holds, once: it takes the run lock (so that a run in the
// foreground and the daemon never change the node at the same time), applies the policy,
// writes the signed report to the spool (or, when the daemon holds the spool, to the outbox
// it empties) and records the run. It returns ErrNoPolicy when no policy is held and
// ErrRunBusy when another run does not finish within 30 s.
func (a *Agent) RunOnce(ctx context.Context, o RunOptions) (*RunResult, error) {
	p, err := a.Policy()
	if err != nil {
		return nil, err
	}
	unlock, err := lockRun(ctx, filepath.Join(a.cfg.DataDir, runLockFile), runLockWait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	force := ForceAudit(a.cfg.DataDir)
	log := a.log.With("config_id", p.ConfigID)
	if force {
		log.Info("force-audit is set: every component runs in audit")
	}
	res := Apply(ctx, p, ApplyOptions{
		NodeID: a.id.NodeID, Hostname: a.cfg.Hostname, DataDir: a.cfg.DataDir, RootPrefix: a.cfg.ApplyPrefix, FactsRoot: a.cfg.RootPrefix,
		ForceAudit: force, Only: o.Only, Host: a.hostSet(), Logger: log, Now: a.cfg.Now,
	})
	counter := a.readRunCounter()
	counter.Last++
	counter.SinceReported++
	lr := LastRun{RunID: counter.Last, ConfigID: p.ConfigID, Start: res.Start, End: res.End, ForceAudit: force, Summary: res.Summary()}
	report := !o.NoReport && o.Only == "" && p.ReportingMode != wire.ReportingDisabled
	body := res.ReportBody(counter.Last, p.ReportingMode)
	if report && p.ReportingMode == wire.ReportingChangesOnly && len(body.Results) == 0 && counter.SinceReported < max(p.HeartbeatRuns, 1) {
		report = false // nothing changed and no heartbeat is due
	}
	if report {
		res.RunID = counter.Last
		if err := a.spoolReport(body); err != nil {
			return res, err
		}
		counter.SinceReported = 0
		lr.Reported = true
	}
	if err := a.writeRunCounter(counter); err != nil {
		return res, fmt.Errorf("record run id: %w", err)
	}
	if sp := a.openedSpool(); sp != nil {
		lr.Unsent = sp.Stats().Depth
	}
	if b, err := json.MarshalIndent(lr, "", "  "); err == nil {
		if err := store.WriteFileAtomic(filepath.Join(a.cfg.DataDir, lastRunFile), b, 0o600); err != nil {
			return res, fmt.Errorf("record last run: %w", err)
		}
	}
	s := lr.Summary
	log.Info("run done", "run", counter.Last, "force_audit", force, "duration", res.End.Sub(res.Start).String(),
		"enforce_total", s.Enforce.Total, "enforce_compliance", s.Enforce.Compliance,
		"audit_total", s.Audit.Total, "audit_compliance", s.Audit.Compliance, "reported", lr.Reported)
	return res, nil
}

// spoolReport signs the report and keeps it: in the spool when this process holds it or
// can open it, else in the outbox of the daemon that holds it.
func (a *Agent) spoolReport(body wire.ReportBody) error {
	r, err := wire.NewReport(body, a.id.Key)
	if err != nil {
		return fmt.Errorf("sign report of run %d: %w", body.RunID, err)
	}
	frame, err := wire.AppendFrame(nil, r)
	if err != nil {
		return err
	}
	sp, err := a.spool()
	if err == nil {
		if _, err := sp.Append(frame); err != nil {
			return fmt.Errorf("spool report of run %d: %w", body.RunID, err)
		}
		return nil
	}
	// The daemon holds the spool: leave the report where it looks.
	dir := filepath.Join(a.cfg.DataDir, outboxDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	name := filepath.Join(dir, fmt.Sprintf("%020d.report", body.RunID))
	if err := store.WriteFileAtomic(name, frame, 0o600); err != nil {
		return fmt.Errorf("outbox report of run %d: %w", body.RunID, err)
	}
	a.log.Debug("report left in the outbox: another process holds the spool", "run", body.RunID)
	return nil
}

// spool returns the agent's spool, opening it on first use. Only one process can hold it.
func (a *Agent) spool() (*store.Spool, error) {
	a.spoolMu.Lock()
	defer a.spoolMu.Unlock()
	if a.sp != nil {
		return a.sp, nil
	}
	sp, err := store.OpenSpool(filepath.Join(a.cfg.DataDir, spoolDir), store.SpoolOptions{Logger: a.log, MaxBytes: 64 << 20})
	if err != nil {
		return nil, err
	}
	a.sp = sp
	return sp, nil
}

func (a *Agent) openedSpool() *store.Spool {
	a.spoolMu.Lock()
	defer a.spoolMu.Unlock()
	return a.sp
}

// drainOutbox moves the reports foreground runs left in the outbox into the spool, in run
// order.
func (a *Agent) drainOutbox(sp *store.Spool) error {
	dir := filepath.Join(a.cfg.DataDir, outboxDir)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".report") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if _, err := sp.Append(b); err != nil {
			return err
		}
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}

// SendReports sends the spooled reports, oldest first, through the policy server, and
// removes each from the spool once the server acknowledged it. It stops at the first report
// not acknowledged: they go out in order, later. It returns how many went out.
func (a *Agent) SendReports(ctx context.Context) (int, error) {
	sp, err := a.spool()
	if err != nil {
		if lockHeld(err) {
			return 0, fmt.Errorf("%w: %v", ErrSpoolHeld, err)
		}
		return 0, err
	}
	if err := a.drainOutbox(sp); err != nil {
		a.log.Warn("outbox not drained", "err", err)
	}
	sent := 0
	for ctx.Err() == nil {
		recs, err := sp.Peek(16)
		if err != nil {
			return sent, fmt.Errorf("read spool: %w", err)
		}
		if len(recs) == 0 {
			return sent, nil
		}
		for _, rec := range recs {
			m, _, err := wire.DecodeFrame(rec.Data, wire.MaxFrameSize)
			rep, ok := m.(*wire.Report)
			if err != nil || !ok {
				// Only this agent writes the spool, and checksums guard it: an undecodable
				// record cannot become decodable by waiting.
				a.log.Error("spooled report unreadable; dropped", "seq", rec.Seq, "err", err)
				if err := sp.Ack(rec.Seq); err != nil {
					return sent, err
				}
				continue
			}
			body, _ := rep.Peek()
			if err := a.expectOK(ctx, rep); err != nil {
				var nack *wire.NackError
				if errors.As(err, &nack) && nack.Ack.Status == wire.AckRejected {
					// Rejected means never taken as it is: already taken (a resend after a
					// lost acknowledgement), a former identity's, or refused for a reason the
					// root logged. Keeping it would hold every later report behind it.
					a.log.Error("report refused by the root; dropped", "run", body.RunID, "node", body.NodeID, "err", err)
					if err := sp.Ack(rec.Seq); err != nil {
						return sent, err
					}
					continue
				}
				return sent, fmt.Errorf("send report of run %d: %w", body.RunID, err)
			}
			if err := sp.Ack(rec.Seq); err != nil {
				return sent, err
			}
			sent++
			a.log.Debug("report sent", "run", body.RunID, "bytes", len(rec.Data))
		}
	}
	return sent, ctx.Err()
}

// NextRun returns the node's next run after now: runs fall every interval, shifted by a
// splay drawn once per node from xxhash of its id (less than splay and than interval), so a
// fleet spreads its runs and each node keeps its slot.
func NextRun(nodeID string, now time.Time, interval, splay time.Duration) time.Time {
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	off := time.Duration(0)
	if s := min(splay, interval); s > 0 {
		off = time.Duration(xxhash.Sum64String(nodeID) % uint64(s))
	}
	base := now.Truncate(interval).Add(off)
	for !base.After(now) {
		base = base.Add(interval)
	}
	return base
}

func (a *Agent) outboxHasReports() bool {
	ents, err := os.ReadDir(filepath.Join(a.cfg.DataDir, outboxDir))
	return err == nil && len(ents) > 0
}
