package fleet

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/wire"
)

func execCommand(ctx context.Context, bin string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, bin, args...)
}

// snapshot is what the processes and relays say at one moment.
type snapshot struct {
	at        time.Time
	root      usage
	relays    []usage
	self      usage
	uplink    uint64 // bytes every relay sent upstream
	forwarded uint64 // items the root acknowledged to the relays
	queue     uint64
	zoneBytes uint64 // Forward bytes the zones sent their relays
	askBytes  uint64 // Proxy bytes the zones sent their relays
	asked     uint64
	acked     uint64 // items the relays acknowledged to the zones
}

func (f *fleet) snapshot(ctx context.Context, withRelays bool) snapshot {
	s := snapshot{at: time.Now(), self: selfUsage()}
	s.root, _ = f.root.usage()
	for _, r := range f.relays {
		u, _ := r.usage()
		s.relays = append(s.relays, u)
	}
	for _, z := range f.zones {
		s.acked += z.itemsAcked.Load()
		s.zoneBytes += z.forwardBytes.Load()
		s.askBytes += z.askBytes.Load()
		s.asked += z.asked.Load()
	}
	if withRelays {
		if rels, err := f.api.Relays(ctx); err == nil {
			for _, r := range rels.Relays {
				if r.Stats == nil || !f.isRealRelay(r.Node.ID) {
					continue
				}
				s.uplink += r.Stats.BytesSent
				s.forwarded += r.Stats.Forwarded
				s.queue += r.Stats.QueueDepth
				f.noteQueue(r.Stats.QueueDepth)
			}
		}
	}
	return s
}

func cpuBetween(a, b usage, wall time.Duration) float64 {
	return float64(b.CPU-a.CPU) / float64(wall)
}

// runPhase runs the fleet for cfg.Duration of fleet time: every node reports every
// interval at its splay, contacts the root (status, and a policy when it changed), and one
// directive changes half way.
func (f *fleet) runPhase(ctx context.Context) error {
	wallIv := f.cfg.wallInterval()
	wall := time.Duration(float64(f.cfg.Duration) / f.cfg.Speed)
	f.logf("running %s of fleet time (%s of wall time): a run every %s per node", f.cfg.Duration, wall.Round(time.Second), wallIv.Round(time.Millisecond))
	f.tracer = newTracer(f.api)
	runCtx, stopRuns := context.WithTimeout(ctx, wall)
	defer stopRuns()
	before := f.snapshot(ctx, true)
	var wg sync.WaitGroup
	wg.Go(func() { f.tracer.run(runCtx) })
	for _, z := range f.zones {
		wg.Go(func() { f.schedule(runCtx, z, before.at, wallIv) })
	}
	// The one change, half way; the profiles, a quarter of the way in.
	wg.Go(func() {
		sleep(runCtx, wall/2)
		if runCtx.Err() == nil {
			f.oneChange(runCtx)
		}
	})
	if f.cfg.Profile != "" {
		wg.Go(func() {
			sleep(runCtx, wall/4)
			if runCtx.Err() == nil {
				f.profiles(runCtx, max(1, min(30, int(wall.Seconds()/4))))
			}
		})
	}
	tick := time.NewTicker(f.cfg.ProgressEvery)
	prev := f.snapshot(ctx, false)
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case <-tick.C:
			// The relays' figures come from GET /api/v1/relays, which reads every node of
			// the registry: a quarter of the root's CPU at 100,000 nodes when it was polled
			// at every progress line. Progress counts what the relays acknowledged instead.
			now := f.snapshot(ctx, false)
			f.progress(prev, now, before)
			prev = now
			if err := f.alive(); err != nil {
				stopRuns()
				wg.Wait()
				return err
			}
		}
	}
	tick.Stop()
	wg.Wait()
	end := f.snapshot(ctx, true)
	d := end.at.Sub(before.at)
	f.res.RunWallSeconds = d.Seconds()
	f.res.RunFleetSeconds = d.Seconds() * f.cfg.Speed
	f.res.Reports, f.res.Results = f.reports.Load(), f.results.Load()
	f.res.OfferedPerSecond = float64(f.res.Results) / d.Seconds()
	f.res.RootCPU = cpuBetween(before.root, end.root, d)
	f.res.RootRSS, f.res.RootPeakRSS, f.res.RootAnonRSS = end.root.RSS, end.root.HWM, end.root.Anon
	for i := range end.relays {
		f.res.RelaysCPU += cpuBetween(before.relays[i], end.relays[i], d)
		f.res.RelayRSS = max(f.res.RelayRSS, end.relays[i].RSS)
		f.res.RelayPeakRSS = max(f.res.RelayPeakRSS, end.relays[i].HWM)
	}
	f.res.SimCPU = cpuBetween(before.self, end.self, d)
	f.res.SimRSS = end.self.RSS
	if f.res.Reports > 0 {
		f.res.ReportBytes = float64(f.reportBytes.Load()) / float64(f.res.Reports)
	}
	f.res.ContactsSkipped = f.contactsSkipped.Load()
	if c := f.contacts.Load(); c > 0 {
		f.res.ContactBytes = float64(f.contactBytes.Load()) / float64(c)
	}
	if n := f.deltas.Load(); n > 0 {
		f.res.PolicyDeltas = int(n)
		f.res.PolicyDeltaBytes = float64(f.deltaBytes.Load()) / float64(n)
	}
	for _, z := range f.zones {
		f.res.AskErrors += z.askErrors.Load()
	}
	// What is still queued is part of the run: drain it, then count what the root took.
	drainStart := time.Now()
	if err := f.drain(ctx, 30*time.Minute, "the run's reports"); err != nil {
		return err
	}
	f.res.DrainSeconds = time.Since(drainStart).Seconds()
	f.tracer.finish(ctx, 2*time.Minute)
	after := f.snapshot(ctx, true)
	// Taken during the run itself: a backlog drained afterwards is not keeping up.
	items := end.forwarded - before.forwarded
	if f.res.Reports > 0 {
		// Reports are all the relays carry during the run; each holds Results/Reports results.
		f.res.IngestedPerSecond = float64(items) * float64(f.res.Results) / float64(f.res.Reports) / d.Seconds()
		f.res.UplinkBytesPerRun = float64(after.uplink-before.uplink) / float64(f.res.Reports)
		// The relays' uplink also carried the nodes' status and policy requests (each grown
		// by the relay's id in its path) and the relays' own figures: take the requests out.
		asks := after.askBytes - before.askBytes + (after.asked-before.asked)*uint64(len(f.zones[0].id.NodeID)+1)
		f.res.UplinkReportBytes = (float64(after.uplink-before.uplink) - float64(asks)) / float64(f.res.Reports)
		f.res.ForwardBytesPerRun = float64(after.zoneBytes-before.zoneBytes) / float64(f.res.Reports)
	}
	f.res.MaxRelayQueue = f.maxQueue.Load()
	lat := f.tracer.latencies()
	f.res.LatencySamples, f.res.LatencyLost = len(lat), f.tracer.lost
	if len(lat) > 0 {
		f.res.LatencyP50Ms, f.res.LatencyP99Ms, f.res.LatencyMaxMs = percentile(lat, 50), percentile(lat, 99), lat[len(lat)-1]
	}
	f.logf("run done: %d reports, %d results (%.0f/s offered, %.0f/s taken); latency p50 %.0f ms p99 %.0f ms; drained in %.1f s",
		f.res.Reports, f.res.Results, f.res.OfferedPerSecond, f.res.IngestedPerSecond, f.res.LatencyP50Ms, f.res.LatencyP99Ms, f.res.DrainSeconds)
	return nil
}

func (f *fleet) progress(prev, now, start snapshot) {
	d := now.at.Sub(prev.at)
	relCPU, relRSS := 0.0, uint64(0)
	for i := range now.relays {
		relCPU += cpuBetween(prev.relays[i], now.relays[i], d)
		relRSS = max(relRSS, now.relays[i].RSS)
	}
	zq := 0
	var acked uint64
	for _, z := range f.zones {
		zq += z.depth()
		acked += z.itemsAcked.Load()
	}
	p50, p99 := f.tracer.recent()
	f.logf("fleet %s: %d reports, %.0f results/s offered, relays took %.0f items/s; zones' queues %d; latency p50 %.0f p99 %.0f ms; root %.2f cores %s; relays %.2f cores, max %s; sim %.2f cores",
		(now.at.Sub(start.at) * time.Duration(f.cfg.Speed)).Round(time.Second), f.reports.Load(),
		0.0+float64(f.results.Load())/now.at.Sub(start.at).Seconds(), float64(acked-prev.acked)/d.Seconds(),
		zq, p50, p99, cpuBetween(prev.root, now.root, d), mib(now.root.RSS), relCPU, mib(relRSS), cpuBetween(prev.self, now.self, d))
}

// schedule runs a zone's nodes: node n runs at start + n.offset/speed + k × wallIv.
func (f *fleet) schedule(ctx context.Context, z *zone, start time.Time, wallIv time.Duration) {
	order := slices.Clone(z.nodes)
	sort.Slice(order, func(i, j int) bool { return order[i].offset < order[j].offset })
	for k := 0; ctx.Err() == nil; k++ {
		base := start.Add(time.Duration(k) * wallIv)
		for _, n := range order {
			due := base.Add(time.Duration(float64(n.offset) / f.cfg.Speed))
			if d := time.Until(due); d > 2*time.Millisecond {
				sleep(ctx, d)
			}
			if ctx.Err() != nil {
				return
			}
			f.runNode(ctx, z, n)
		}
	}
}

// runNode is one run of one node: its report, then its contact with the root.
func (f *fleet) runNode(ctx context.Context, z *zone, n *simNode) {
	end := time.Now()
	r, results, err := n.report(end, time.Second, f.cfg.ChangesOnly)
	if err == nil && r != nil {
		b, _ := wire.AppendFrame(nil, r)
		f.reportBytes.Add(uint64(len(b)))
		f.reports.Add(1)
		f.results.Add(uint64(results))
		body, _ := r.Peek()
		f.tracer.offer(n.id, body.RunID, end)
		_ = z.push(r)
	}
	if f.cfg.NoContacts || n.does == silent {
		return
	}
	select {
	case z.asks <- struct{}{}:
	default:
		f.contactsSkipped.Add(1)
		return
	}
	go func() {
		defer func() { <-z.asks }()
		st, cost, err := n.status(ctx)
		if err != nil {
			return
		}
		f.contacts.Add(1)
		f.contactBytes.Add(uint64(cost))
		if st.ConfigID != "" && st.ConfigID != n.held() {
			kind, cost, err := n.fetchPolicy(ctx, &f.shapes)
			if err == nil && kind == wire.PolicyPatch {
				f.deltas.Add(1)
				f.deltaBytes.Add(uint64(cost))
			}
		}
	}()
}

// oneChange changes one directive and times its recompilation; with profiles asked for,
// the root's CPU is profiled while it recompiles.
func (f *fleet) oneChange(ctx context.Context) {
	var prof sync.WaitGroup
	if f.cfg.Profile != "" {
		path := filepath.Join(f.cfg.Profile, fmt.Sprintf("root-%d-change-cpu.pprof", f.cfg.Nodes))
		prof.Go(func() {
			if err := f.root.profile(ctx, "profile", 10, path); err == nil {
				f.profMu.Lock()
				f.res.Profiles = append(f.res.Profiles, path)
				f.profMu.Unlock()
			}
		})
		sleep(ctx, 300*time.Millisecond)
	}
	defer prof.Wait()
	start := time.Now()
	if _, err := f.api.Apply(ctx, api.ApplyRequest{Files: []api.File{{Name: "change.yml", Content: changeYAML(1)}}}); err != nil {
		f.res.Notes = append(f.res.Notes, "the one-directive change failed: "+err.Error())
		return
	}
	f.res.CompileChangeWall = ms(time.Since(start))
	st, err := f.generationDone(ctx, start)
	if err != nil {
		f.res.Notes = append(f.res.Notes, "the one-directive change: "+err.Error())
		return
	}
	if d, err := time.ParseDuration(st.Duration); err == nil {
		f.res.CompileChangeMs = ms(d)
	}
	f.res.ChangeNodes = st.Changed
	f.logf("one directive changed: recompiled in %.0f ms (the API call: %.0f ms), %d nodes reached", f.res.CompileChangeMs, f.res.CompileChangeWall, st.Changed)
}

// profiles takes CPU profiles of the root and the first relay at once, then their heaps.
func (f *fleet) profiles(ctx context.Context, seconds int) {
	var wg sync.WaitGroup
	mu := &f.profMu
	for _, p := range []*proc{f.root, f.relays[0]} {
		wg.Go(func() {
			path := filepath.Join(f.cfg.Profile, fmt.Sprintf("%s-%d-cpu.pprof", p.name, f.cfg.Nodes))
			err := p.profile(ctx, "profile", seconds, path)
			hpath := filepath.Join(f.cfg.Profile, fmt.Sprintf("%s-%d-heap.pprof", p.name, f.cfg.Nodes))
			if err == nil {
				err = p.profile(ctx, "heap", 0, hpath)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				f.res.Notes = append(f.res.Notes, "profile: "+err.Error())
				return
			}
			f.res.Profiles = append(f.res.Profiles, path, hpath)
		})
	}
	wg.Wait()
}

// burst sends one report of every reporting node at once and times until the root took
// them all: the pipeline's capacity rather than the fleet's steady load. Relays forward in
// order, so the burst is in when the last report of every zone shows at the root.
func (f *fleet) burst(ctx context.Context) error {
	start := time.Now()
	before := f.snapshot(ctx, false)
	var reports, results uint64
	var mu sync.Mutex
	var last []traced
	var wg sync.WaitGroup
	for _, z := range f.zones {
		wg.Go(func() {
			var rep, res uint64
			var lastOfZone traced
			for _, n := range z.nodes {
				for z.depth() > 16*forwardBatch && ctx.Err() == nil {
					sleep(ctx, 2*time.Millisecond)
				}
				r, k, err := n.report(time.Now(), time.Second, f.cfg.ChangesOnly)
				if err != nil || r == nil {
					continue
				}
				_ = z.push(r)
				rep++
				res += uint64(k)
				body, _ := r.Peek()
				lastOfZone = traced{node: n.id, run: body.RunID}
			}
			mu.Lock()
			reports, results = reports+rep, results+res
			if lastOfZone.node != "" {
				last = append(last, lastOfZone)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	err := f.eventually(ctx, 30*time.Minute, "the burst taken by the root", func() (bool, string) {
		left := last[:0]
		for _, p := range last {
			d, err := f.api.ComplianceNode(ctx, p.node, api.ComplianceQuery{})
			if err != nil || d.Node.RunID < p.run {
				left = append(left, p)
			}
		}
		last = left
		return len(last) == 0, fmt.Sprintf("%d zones' last report not shown yet", len(last))
	})
	if err != nil {
		return err
	}
	d := time.Since(start)
	after := f.snapshot(ctx, false)
	f.res.BurstReports, f.res.BurstSeconds = reports, d.Seconds()
	f.res.BurstPerSecond = float64(results) / d.Seconds()
	f.logf("burst: %d reports (%d results) taken in %.1f s: %.0f results/s; root %.2f cores, relays %.2f, sim %.2f cores",
		reports, results, d.Seconds(), f.res.BurstPerSecond, cpuBetween(before.root, after.root, after.at.Sub(before.at)),
		relaysCPU(before, after), cpuBetween(before.self, after.self, after.at.Sub(before.at)))
	return f.drain(ctx, 10*time.Minute, "the burst")
}

func relaysCPU(a, b snapshot) float64 {
	c := 0.0
	for i := range b.relays {
		c += cpuBetween(a.relays[i], b.relays[i], b.at.Sub(a.at))
	}
	return c
}

// measureAPI times the operator's questions: the fleet's compliance, and a filtered list
// of 1,000 nodes.
func (f *fleet) measureAPI(ctx context.Context) error {
	var sum []float64
	for range 5 {
		start := time.Now()
		if _, err := f.api.Compliance(ctx); err != nil {
			return fmt.Errorf("compliance summary: %w", err)
		}
		sum = append(sum, ms(time.Since(start)))
	}
	f.res.SummaryMs, f.res.SummaryMaxMs = median(sum)
	var list []float64
	for i := range 3 {
		if i > 0 && list[0] > 10_000 {
			break // one slow answer says enough
		}
		start := time.Now()
		facts, err := f.api.NodeFacts(ctx, []string{"hostname~^sim-000"}, []string{"hostname", "os", "ram"})
		if err != nil {
			return fmt.Errorf("filtered node list: %w", err)
		}
		list = append(list, ms(time.Since(start)))
		f.res.NodeListCount = len(facts.Nodes)
	}
	f.res.NodeListMs, _ = median(list)
	f.logf("API: fleet compliance %.1f ms, filtered node list %.1f ms (%d nodes)", f.res.SummaryMs, f.res.NodeListMs, f.res.NodeListCount)
	return nil
}

// tracer watches sampled runs until the API shows them, for the end-to-end latency.
type tracer struct {
	api     *api.Client
	mu      sync.Mutex
	pending []traced
	lastAt  time.Time
	done    []float64
	recentV []float64
	lost    int
}

type traced struct {
	node string
	run  uint64
	end  time.Time
}

const (
	traceEvery    = 100 * time.Millisecond // at most one new sample this often
	traceInFlight = 24
	tracePoll     = 100 * time.Millisecond
	traceGiveUp   = 2 * time.Minute
)

func newTracer(c *api.Client) *tracer { return &tracer{api: c} }

func (t *tracer) offer(node string, run uint64, end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if end.Sub(t.lastAt) < traceEvery || len(t.pending) >= traceInFlight {
		return
	}
	t.lastAt = end
	t.pending = append(t.pending, traced{node, run, end})
}

func (t *tracer) run(ctx context.Context) {
	for ctx.Err() == nil {
		t.poll(ctx)
		sleep(ctx, tracePoll)
	}
}

func (t *tracer) poll(ctx context.Context) {
	t.mu.Lock()
	todo := slices.Clone(t.pending)
	t.mu.Unlock()
	var seen []traced
	var lat []float64
	var lost []traced
	for _, p := range todo {
		d, err := t.api.ComplianceNode(ctx, p.node, api.ComplianceQuery{})
		now := time.Now()
		if err == nil && d.Node.RunID >= p.run {
			seen = append(seen, p)
			lat = append(lat, ms(now.Sub(p.end)))
		} else if now.Sub(p.end) > traceGiveUp {
			lost = append(lost, p)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = slices.DeleteFunc(t.pending, func(p traced) bool {
		return slices.Contains(seen, p) || slices.Contains(lost, p)
	})
	t.done = append(t.done, lat...)
	t.recentV = append(t.recentV, lat...)
	t.lost += len(lost)
}

// finish polls what is still watched until it is seen or timeout passes.
func (t *tracer) finish(ctx context.Context, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		t.poll(ctx)
		t.mu.Lock()
		n := len(t.pending)
		t.mu.Unlock()
		if n == 0 {
			return
		}
		sleep(ctx, tracePoll)
	}
	t.mu.Lock()
	t.lost += len(t.pending)
	t.pending = nil
	t.mu.Unlock()
}

// latencies returns every latency seen, sorted, in ms.
func (t *tracer) latencies() []float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := slices.Clone(t.done)
	sort.Float64s(s)
	return s
}

// recent returns p50 and p99 of the latencies seen since the last call.
func (t *tracer) recent() (p50, p99 float64) {
	t.mu.Lock()
	s := t.recentV
	t.recentV = nil
	t.mu.Unlock()
	sort.Float64s(s)
	return percentile(s, 50), percentile(s, 99)
}
