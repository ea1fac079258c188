package root

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/compliance"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// Run reports: the root checks each one (signature, accepted node, replay, time), keeps the
// latest run of every node so compliance survives a restart, feeds the compliance engine,
// writes the history of compliance, and fires drift events.
const (
	// bucketRuns holds, per node id, the latest run: the receipt time (8 bytes, unix ns,
	// big endian) then the report's signed body, as the node encoded it.
	bucketRuns = "compliance-runs"
	// bucketHistory holds compliance points: "r/<rule id>/<20-digit unix ns>" and
	// "n/<node id>/<20-digit unix ns>" → compliance.AppendCounts.
	bucketHistory = "compliance-history"
	// bucketChanges holds, per node, every change of a component's state:
	// "<node id>/<20-digit unix ns>/<6-digit seq>" → stateChange (JSON).
	bucketChanges = "compliance-changes"

	// DriftLogName is the drift log in the root's log directory.
	DriftLogName = "non-compliant-reports.log"

	hookTimeout   = 30 * time.Second
	hookWorkers   = 4
	hookQueue     = 1024
	pruneInterval = 6 * time.Hour
	opsPerTxn     = 1000
)

// ErrReportRefused is returned for a report refused for good: resending it will not help.
var ErrReportRefused = errors.New("report refused")

func reportRefused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrReportRefused, fmt.Sprintf(format, args...))
}

// reports is the root's side of run reports and compliance.
type reports struct {
	eng      *compliance.Engine
	db       *store.DB
	reg      *registry
	log      *slog.Logger
	now      func() time.Time
	logDir   string
	interval time.Duration // history sampling
	hooks    *hooks
	// graceOf reads the grace period of the settings, which sample passes on to the engine.
	graceOf func() time.Duration
	grace   time.Duration

	driftMu sync.Mutex
	drift   *os.File
	// onDrift, if set, hears of every drift event fired, by kind.
	onDrift func(kind string)

	ledger ledgers

	// pending holds the writes of reports taken but not yet durable; flush commits them
	// in one transaction, before the sender's acknowledgement.
	pendMu  sync.Mutex
	pending []pendingPut
	// flushMu makes a flush wait for one in progress, which may hold its writes.
	flushMu sync.Mutex

	histMu   sync.Mutex
	lastRule map[string]compliance.Counts
	lastNode map[string]compliance.Counts
	seq      uint32
}

func newReports(cfg Config, db *store.DB, reg *registry, pol *policies, log *slog.Logger) (*reports, error) {
	graceOf := func() time.Duration { return time.Duration(pol.snapshot().Settings.WithDefaults().Grace) }
	grace := graceOf()
	c := &reports{
		graceOf: graceOf, grace: grace,
		eng: compliance.New(compliance.Config{Grace: grace}),
		db:  db, reg: reg, log: log, now: cfg.Now, logDir: cfg.LogDir, interval: cfg.ComplianceSampleInterval,
		hooks:    &hooks{dir: cfg.HooksDir, log: log, queue: make(chan hookJob, hookQueue)},
		lastRule: map[string]compliance.Counts{}, lastNode: map[string]compliance.Counts{},
	}
	if err := c.load(pol); err != nil {
		return nil, err
	}
	pol.stored = func(ap *wire.AppliedPolicy) { c.eng.SetPolicy(ap, c.now()) }
	pol.removed = c.eng.RemoveNode
	return c, nil
}

// load gives the engine every stored policy and latest run.
func (c *reports) load(pol *policies) error {
	now := c.now()
	policies, runs := 0, 0
	err := c.db.Bucket(bucketPolicies).Scan("", func(id string, v []byte) error {
		sp, err := decodeSignedPolicy(id, v)
		if err != nil {
			c.log.Warn("stored policy skipped by compliance", "node", id, "err", err)
			return nil
		}
		// The root signed what it stored: decoding is enough.
		var ap wire.AppliedPolicy
		if err := ap.UnmarshalBinary(sp.Signed.Body); err != nil {
			c.log.Warn("stored policy skipped by compliance", "node", id, "err", err)
			return nil
		}
		c.eng.SetPolicy(&ap, now)
		policies++
		return nil
	})
	if err != nil {
		return fmt.Errorf("load policies for compliance: %w", err)
	}
	err = c.db.Bucket(bucketRuns).Scan("", func(id string, v []byte) error {
		if len(v) < 8 {
			return nil
		}
		received := time.Unix(0, int64(binary.BigEndian.Uint64(v)))
		body, err := (&wire.Report{Signed: wire.Signed{Body: v[8:]}}).Peek()
		if err != nil {
			c.log.Warn("stored run skipped", "node", id, "err", err)
			return nil
		}
		c.eng.Restore(&body, received)
		runs++
		return nil
	})
	if err != nil {
		return fmt.Errorf("load latest runs: %w", err)
	}
	if err := c.ledger.load(c); err != nil {
		return err
	}
	c.eng.Advance(now)
	c.log.Info("compliance loaded", "policies", policies, "runs", runs)
	return nil
}

type pendingPut struct {
	bucket, key string
	value       []byte
}

func (c *reports) defer_(bucket, key string, value []byte) {
	c.pendMu.Lock()
	c.pending = append(c.pending, pendingPut{bucket, key, value})
	c.pendMu.Unlock()
}

// flush makes the writes of the reports taken so far durable, in one transaction per
// opsPerTxn writes: a relay's batch of reports costs one sync, not one per report.
func (c *reports) flush() error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.pendMu.Lock()
	batch := c.pending
	c.pending = nil
	c.pendMu.Unlock()
	for i := 0; i < len(batch); i += opsPerTxn {
		part := batch[i:min(i+opsPerTxn, len(batch))]
		err := c.db.Update(func(tx *store.Txn) error {
			for _, p := range part {
				if err := tx.Put(p.bucket, p.key, p.value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store %d report records: %w", len(batch)-i, err)
		}
	}
	return nil
}

// ingestReport takes a run report a node signed and makes it durable.
func (r *Root) ingestReport(m *wire.Report, direct *mesh.Peer) error {
	if err := r.takeReport(m, direct); err != nil {
		return err
	}
	return r.rep.flush()
}

// takeReport takes a run report a node signed, sent directly or through relays; what it
// stores is durable after the next flush.
func (r *Root) takeReport(m *wire.Report, direct *mesh.Peer) (err error) {
	defer func() {
		if errors.Is(err, ErrReportRefused) {
			r.metrics.reportsRefused.Inc()
		}
	}()
	c := r.rep
	body, err := m.Peek()
	if err != nil {
		return reportRefused("%v", err)
	}
	rec, err := r.signer(body.NodeID, direct)
	if errors.Is(err, ErrInventoryRefused) {
		return reportRefused("%s", strings.TrimPrefix(err.Error(), ErrInventoryRefused.Error()+": "))
	}
	if err != nil {
		return err
	}
	if rec.Status != api.StatusAccepted {
		return reportRefused("node %s is %s; only accepted nodes report", rec.ID, rec.Status)
	}
	if err := m.Verify(rec.Key); err != nil {
		return reportRefused("node %s: %v", body.NodeID, err)
	}
	now := c.now()
	if last := c.eng.LastRun(body.NodeID); body.RunID <= last {
		c.ledger.note(c, body.NodeID, body.RunID, true)
		return reportRefused("node %s: run %d replayed (latest %d)", body.NodeID, body.RunID, last)
	}
	if body.End.After(now.Add(compliance.DefaultMaxSkew)) {
		return reportRefused("node %s: run %d ends at %s, in the future", body.NodeID, body.RunID, body.End.UTC().Format(time.RFC3339))
	}
	if _, ok := c.eng.ConfigID(body.NodeID); !ok {
		return reportRefused("node %s has no applied policy yet", body.NodeID)
	}
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(m.Signed.Body)), uint64(now.UnixNano()))
	c.defer_(bucketRuns, body.NodeID, append(v, m.Signed.Body...))
	out, err := c.eng.Ingest(&body, now)
	if err != nil {
		return reportRefused("%v", err)
	}
	c.ledger.note(c, body.NodeID, body.RunID, false)
	r.metrics.reports.Inc()
	r.metrics.results.Add(len(body.Results))
	for _, why := range out.Unexpected {
		c.log.Warn("report classified unexpected", "node", body.NodeID, "run", body.RunID, "reason", why)
	}
	if len(out.Changes) > 0 {
		c.recordChanges(&body, out.Changes, now)
	}
	if len(out.Drifts) > 0 {
		c.fireDrifts(rec, &body, out.Drifts, now)
	}
	return nil
}

// reportAck turns an ingestion error into the wire's answer.
func reportAck(err error) *wire.Ack {
	switch {
	case err == nil:
		return &wire.Ack{Status: wire.AckOK}
	case errors.Is(err, ErrReportRefused):
		return &wire.Ack{Status: wire.AckRejected, Reason: err.Error()}
	default:
		return &wire.Ack{Status: wire.AckRetryLater, Reason: err.Error(), RetryAfter: queueRetryAfter}
	}
}

// stateChange is one change of a component's state, as the change log keeps it.
type stateChange = api.ComplianceChange

func (c *reports) recordChanges(body *wire.ReportBody, changes []compliance.Change, now time.Time) {
	d, _ := c.eng.Node(body.NodeID, now)
	c.histMu.Lock()
	c.seq++
	seq := c.seq
	c.histMu.Unlock()
	for k, ch := range changes {
		if k >= opsPerTxn {
			break // a run that changes more than this logs the first ones
		}
		{
			sc := stateChange{Time: now.UTC(), NodeID: body.NodeID, RunID: body.RunID, ComponentIndex: ch.Index, From: ch.From.String(), To: ch.To.String()}
			if ch.Index < len(d.Components) {
				comp := d.Components[ch.Index]
				sc.ComponentName, sc.DirectiveID, sc.RuleID, sc.Message = comp.Name, comp.DirectiveID, comp.RuleID, comp.Message
			}
			b, err := json.Marshal(sc)
			if err != nil {
				continue
			}
			key := fmt.Sprintf("%s/%020d/%06d", body.NodeID, now.UnixNano(), (int(seq)*1000+k)%1000000)
			c.defer_(bucketChanges, key, b)
		}
	}
}

// driftEvent is one line of the drift log, and what a hook receives on stdin: the fields of
// api.DriftEvent, which GET /api/v1/drift reads back, with the hooks' environment.
type driftEvent api.DriftEvent

func (e *driftEvent) env() []string {
	return []string{
		"BOSUN_EVENT_KIND=" + e.Kind, "BOSUN_NODE_ID=" + e.NodeID, "BOSUN_HOSTNAME=" + e.Hostname,
		fmt.Sprintf("BOSUN_RUN_ID=%d", e.RunID), "BOSUN_CONFIG_ID=" + e.ConfigID,
		"BOSUN_RULE_ID=" + e.RuleID, "BOSUN_RULE_NAME=" + e.RuleName,
		"BOSUN_DIRECTIVE_ID=" + e.DirectiveID, "BOSUN_DIRECTIVE_NAME=" + e.DirectiveName,
		fmt.Sprintf("BOSUN_COMPONENT_INDEX=%d", e.ComponentIndex), "BOSUN_COMPONENT_NAME=" + e.ComponentName,
		"BOSUN_STATE=" + e.State, "BOSUN_STATUS=" + e.Status, "BOSUN_MESSAGE=" + e.Message,
	}
}

func (c *reports) fireDrifts(rec nodeRecord, body *wire.ReportBody, drifts []compliance.Drift, now time.Time) {
	var lines bytes.Buffer
	for _, d := range drifts {
		ev := driftEvent{
			Time: now.UTC(), Kind: d.Kind, NodeID: body.NodeID, Hostname: rec.Hostname, RunID: body.RunID,
			ConfigID: body.ConfigID, RunEnd: body.End.UTC(), RuleID: d.RuleID, RuleName: d.RuleName,
			DirectiveID: d.DirectiveID, DirectiveName: d.DirectiveName, ComponentIndex: d.Index,
			ComponentID: d.ComponentID, ComponentName: d.ComponentName, State: d.State.String(),
			Status: d.ReportedStatus.String(), Message: d.Message,
		}
		line, err := json.Marshal(ev)
		if err != nil {
			continue
		}
		line = append(line, '\n')
		lines.Write(line)
		if c.onDrift != nil {
			c.onDrift(ev.Kind)
		}
		c.hooks.fire(hookJob{kind: ev.Kind, env: ev.env(), stdin: line})
	}
	c.driftMu.Lock()
	defer c.driftMu.Unlock()
	if c.drift == nil {
		if err := os.MkdirAll(c.logDir, 0o750); err != nil {
			c.log.Error("drift log not written", "dir", c.logDir, "err", err)
			return
		}
		f, err := os.OpenFile(filepath.Join(c.logDir, DriftLogName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			c.log.Error("drift log not written", "dir", c.logDir, "err", err)
			return
		}
		c.drift = f
	}
	if _, err := c.drift.Write(lines.Bytes()); err != nil {
		c.log.Error("drift log not written", "err", err)
	}
}

func (c *reports) close() {
	c.driftMu.Lock()
	defer c.driftMu.Unlock()
	if c.drift != nil {
		_ = c.drift.Close()
		c.drift = nil
	}
}

// hooks runs the operator's executables for drift events: every executable file of
// <hooks dir>/<event kind>/, in name order, with the event in its environment and on stdin.
// A bounded queue and a fixed number of workers keep hooks from slowing ingestion: when the
// queue is full the event is logged and not run; each hook gets hookTimeout.
type hooks struct {
	dir   string
	log   *slog.Logger
	queue chan hookJob
}

type hookJob struct {
	kind  string
	env   []string
	stdin []byte
}

func (h *hooks) fire(j hookJob) {
	select {
	case h.queue <- j:
	default:
		h.log.Warn("drift hook skipped: queue full", "kind", j.kind, "queue", cap(h.queue))
	}
}

func (h *hooks) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range hookWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-h.queue:
					h.runAll(ctx, j)
				}
			}
		}()
	}
	wg.Wait()
}

func (h *hooks) runAll(ctx context.Context, j hookJob) {
	dir := filepath.Join(h.dir, j.kind)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			h.log.Warn("drift hooks not listed", "dir", dir, "err", err)
		}
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		path := filepath.Join(dir, e.Name())
		hctx, cancel := context.WithTimeout(ctx, hookTimeout)
		cmd := exec.CommandContext(hctx, path)
		cmd.Env = append(os.Environ(), j.env...)
		cmd.Stdin = bytes.NewReader(j.stdin)
		cmd.WaitDelay = time.Second
		var out limitedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err = cmd.Run()
		cancel()
		if err != nil {
			h.log.Warn("drift hook failed", "hook", path, "kind", j.kind, "err", err, "output", out.String())
		}
	}
}

// limitedBuffer keeps the first 4 KiB of a hook's output, for the log.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return strings.TrimSpace(string(l.b)) }

// run samples compliance into its history every interval, prunes the history, and runs
// the hooks, until ctx ends.
func (c *reports) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.hooks.run(ctx)
	}()
	c.sample()
	c.prune()
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	lastPrune := c.now()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			c.close()
			return
		case <-tick.C:
			c.sample()
			if c.now().Sub(lastPrune) >= pruneInterval {
				c.prune()
				lastPrune = c.now()
			}
		}
	}
}

// sample writes a history point for every rule and node whose counts changed since the
// last point, and logs the nodes that time alone moved (applying → no answer, ...).
func (c *reports) sample() {
	now := c.now()
	if g := c.graceOf(); g != c.grace {
		c.grace = g
		c.eng.SetGrace(g)
	}
	for _, t := range c.eng.Advance(now) {
		c.log.Info("node compliance changed", "node", t.NodeID, "from", t.From, "to", t.To)
		b, _ := json.Marshal(stateChange{Time: now.UTC(), NodeID: t.NodeID, ComponentIndex: -1, From: t.From.String(), To: t.To.String()})
		_ = c.db.Bucket(bucketChanges).Put(fmt.Sprintf("%s/%020d/999999", t.NodeID, now.UnixNano()), b)
	}
	type point struct {
		key string
		val []byte
	}
	var points []point
	ts := fmt.Sprintf("%020d", now.UnixNano())
	c.histMu.Lock()
	c.eng.Sample(now, func(id string, counts *compliance.Counts) {
		if last, ok := c.lastRule[id]; !ok || last != *counts {
			c.lastRule[id] = *counts
			points = append(points, point{"r/" + id + "/" + ts, compliance.AppendCounts(nil, counts)})
		}
	}, func(id string, counts *compliance.Counts) {
		if last, ok := c.lastNode[id]; !ok || last != *counts {
			c.lastNode[id] = *counts
			points = append(points, point{"n/" + id + "/" + ts, compliance.AppendCounts(nil, counts)})
		}
	})
	c.histMu.Unlock()
	for i := 0; i < len(points); i += opsPerTxn {
		batch := points[i:min(i+opsPerTxn, len(points))]
		err := c.db.Update(func(tx *store.Txn) error {
			for _, p := range batch {
				if err := tx.Put(bucketHistory, p.key, p.val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			c.log.Warn("compliance history not written", "points", len(batch), "err", err)
			return
		}
	}
}

// prune downsamples the history (compliance.Downsample) and drops changes older than
// the full-resolution window.
func (c *reports) prune() {
	now := c.now()
	var drop []string
	series, times, keys := "", []time.Time(nil), []string(nil)
	flush := func() {
		for _, i := range compliance.Downsample(times, now) {
			drop = append(drop, keys[i])
		}
		times, keys = times[:0], keys[:0]
	}
	err := c.db.Bucket(bucketHistory).Scan("", func(k string, _ []byte) error {
		s, t, ok := splitTimeKey(k)
		if !ok {
			return nil
		}
		if s != series {
			flush()
			series = s
		}
		times, keys = append(times, t), append(keys, k)
		return nil
	})
	flush()
	if err != nil {
		c.log.Warn("compliance history not pruned", "err", err)
		return
	}
	cutoff := now.Add(-compliance.HistoryFull)
	err = c.db.Bucket(bucketChanges).Scan("", func(k string, _ []byte) error {
		parts := strings.Split(k, "/")
		if len(parts) < 3 {
			return nil
		}
		var ns int64
		if _, err := fmt.Sscan(parts[len(parts)-2], &ns); err == nil && time.Unix(0, ns).Before(cutoff) {
			drop = append(drop, "\x00"+k)
		}
		return nil
	})
	if err != nil {
		c.log.Warn("compliance changes not pruned", "err", err)
	}
	for i := 0; i < len(drop); i += opsPerTxn {
		batch := drop[i:min(i+opsPerTxn, len(drop))]
		err := c.db.Update(func(tx *store.Txn) error {
			for _, k := range batch {
				bucket := bucketHistory
				if rest, ok := strings.CutPrefix(k, "\x00"); ok {
					bucket, k = bucketChanges, rest
				}
				if err := tx.Delete(bucket, k); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			return nil
		})
		if err != nil {
			c.log.Warn("compliance history not pruned", "err", err)
			return
		}
	}
	if len(drop) > 0 {
		c.log.Info("compliance history pruned", "dropped", len(drop))
	}
}

// splitTimeKey splits "<series>/<20-digit unix ns>".
func splitTimeKey(k string) (string, time.Time, bool) {
	i := strings.LastIndexByte(k, '/')
	if i < 0 || len(k)-i-1 != 20 {
		return "", time.Time{}, false
	}
	var ns int64
	if _, err := fmt.Sscan(k[i+1:], &ns); err != nil {
		return "", time.Time{}, false
	}
	return k[:i], time.Unix(0, ns), true
}

// history returns the points of a rule ("r") or node ("n") series since a time, oldest
// first, and for a node the changes of its components' states.
func (c *reports) history(kind, id string, since time.Time) ([]api.CompliancePoint, []api.ComplianceChange, error) {
	var points []api.CompliancePoint
	err := c.db.Bucket(bucketHistory).Scan(kind+"/"+id+"/", func(k string, v []byte) error {
		s, t, ok := splitTimeKey(k)
		if !ok || s != kind+"/"+id || t.Before(since) {
			return nil
		}
		counts, err := compliance.DecodeCounts(v)
		if err != nil {
			return fmt.Errorf("history point %s: %w", k, err)
		}
		points = append(points, api.CompliancePoint{Time: t.UTC(), ComplianceCounts: countsOf(&counts)})
		return nil
	})
	if err != nil || kind != "n" {
		return points, nil, err
	}
	var changes []api.ComplianceChange
	err = c.db.Bucket(bucketChanges).Scan(id+"/", func(k string, v []byte) error {
		var ch stateChange
		if err := json.Unmarshal(v, &ch); err != nil {
			return fmt.Errorf("change %s: %w", k, err)
		}
		if ch.NodeID == id && !ch.Time.Before(since) {
			changes = append(changes, ch)
		}
		return nil
	})
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Time.Before(changes[j].Time) })
	return points, changes, err
}

// countsOf turns counts into the API's form.
func countsOf(c *compliance.Counts) api.ComplianceCounts {
	out := api.ComplianceCounts{Counts: map[string]int64{}, Percent: map[string]float64{}, Total: c.Total()}
	pct := c.Percent()
	for _, s := range compliance.States() {
		if c[s] != 0 {
			out.Counts[s.String()] = c[s]
			out.Percent[s.String()] = pct[s]
		}
	}
	if p, ok := c.Compliance(); ok {
		out.Compliance = &p
	}
	return out
}
