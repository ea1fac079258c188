package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/wire"
)

// fleet is one run's world.
type fleet struct {
	cfg    Config
	work   string
	root   *proc
	relays []*proc
	zones  []*zone
	nodes  []*simNode
	api    *api.Client
	shapes shapes
	res    *Result

	// Counters of the run phase.
	reports, results, reportBytes atomic.Uint64
	contactBytes, contacts        atomic.Uint64
	contactsSkipped               atomic.Uint64
	deltaBytes, deltas            atomic.Uint64
	maxQueue                      atomic.Uint64
	tracer                        *tracer
	profMu                        sync.Mutex // f.res.Profiles
}

// Run starts a root and cfg.Relays relays, enrols, accepts and runs cfg.Nodes simulated
// nodes through them, and returns what it measured. The processes are stopped and their
// directory removed (unless cfg.Keep) before it returns.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	f := &fleet{cfg: cfg, res: &Result{SchemaVersion: ResultSchemaVersion, Started: time.Now().UTC()}}
	f.res.Machine = describeMachine(cfg.Bosun)
	reporting := "full"
	if cfg.ChangesOnly {
		reporting = "changes-only"
	}
	f.res.Config = RunConfig{Nodes: cfg.Nodes, Relays: cfg.Relays, Components: cfg.Components, Interval: cfg.Interval.String(),
		Duration: cfg.Duration.String(), Speed: cfg.Speed, Mix: cfg.Mix.String(), Reporting: reporting, Contacts: !cfg.NoContacts}
	work := cfg.WorkDir
	if work == "" {
		var err error
		if work, err = os.MkdirTemp("", "bosun-fleet-"); err != nil {
			return nil, err
		}
		if !cfg.Keep {
			defer os.RemoveAll(work)
		}
	} else if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	f.work = work
	defer f.stop()
	if err := f.run(ctx); err != nil {
		return f.res, err
	}
	return f.res, nil
}

func (f *fleet) logf(format string, args ...any) {
	fmt.Fprintf(f.cfg.Progress, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (f *fleet) stop() {
	for _, z := range f.zones {
		z.close()
	}
	var wg sync.WaitGroup
	for _, p := range append(slices.Clone(f.relays), f.root) {
		if p != nil {
			wg.Go(p.stop)
		}
	}
	wg.Wait()
}

func (f *fleet) run(ctx context.Context) error {
	if err := f.startRoot(ctx); err != nil {
		return err
	}
	f.logf("root up at %s; starting %d relays, making %d node keys", f.root.addr, f.cfg.Relays, f.cfg.Nodes)
	var nodesDone = make(chan struct{})
	go func() {
		f.nodes = makeNodes(f.cfg.Nodes, f.cfg.Seed, f.cfg.Mix, f.cfg.Interval)
		close(nodesDone)
	}()
	if err := f.startRelays(ctx); err != nil {
		return err
	}
	if _, err := f.api.Apply(ctx, api.ApplyRequest{Files: []api.File{{Name: "fleet.yml", Content: modelYAML(f.cfg.Components)}}}); err != nil {
		return fmt.Errorf("apply the fleet's policy model: %w", err)
	}
	<-nodesDone
	for i, n := range f.nodes {
		z := f.zones[i%len(f.zones)]
		n.zone = z
		z.nodes = append(z.nodes, n)
	}
	sendCtx, stopSend := context.WithCancel(context.WithoutCancel(ctx))
	var senders sync.WaitGroup
	for _, z := range f.zones {
		senders.Go(func() { z.send(sendCtx) })
	}
	defer func() {
		stopSend()
		senders.Wait()
	}()
	f.res.RootDiskEmpty = dirSize(filepath.Join(f.root.dataDir, "db"))
	steps := []func(context.Context) error{f.enrol, f.accept, f.fetchPolicies, f.compileFull, f.runPhase, f.burst, f.measureAPI}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := step(ctx); err != nil {
			return err
		}
		if err := f.alive(); err != nil {
			return err
		}
	}
	f.res.RootDiskBytes = dirSize(filepath.Join(f.root.dataDir, "db"))
	f.res.DiskPerNode = float64(f.res.RootDiskBytes-f.res.RootDiskEmpty) / float64(f.cfg.Nodes)
	for _, r := range f.relays {
		f.res.RelayDiskBytes += dirSize(filepath.Join(r.dataDir, "db"))
	}
	return nil
}

func (f *fleet) alive() error {
	for _, p := range append([]*proc{f.root}, f.relays...) {
		if err := p.alive(); err != nil {
			return err
		}
	}
	return nil
}

// startRoot initialises and starts the root, and connects the API client.
func (f *fleet) startRoot(ctx context.Context) error {
	taken := map[int]bool{}
	ports := make([]int, 3)
	for i := range ports {
		var err error
		if ports[i], err = freePort(taken); err != nil {
			return err
		}
	}
	dir := filepath.Join(f.work, "root")
	cliConf := filepath.Join(f.work, "cli.json")
	apiAddr := fmt.Sprintf("127.0.0.1:%d", ports[1])
	out, err := runCmd(ctx, f.cfg.Bosun, "root", "init", "--data", dir, "--api-url", "https://"+apiAddr, "--api-name", "127.0.0.1", "--cli-config", cliConf)
	if err != nil {
		return fmt.Errorf("bosun root init: %w: %s", err, out)
	}
	p, err := startProc("root", f.cfg.Bosun, filepath.Join(f.work, "root.log"), "root", "--data", dir,
		"--listen", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--api-listen", apiAddr, "--gossip-listen=",
		"--debug-listen", fmt.Sprintf("127.0.0.1:%d", ports[2]), "--log-level", "warn")
	if err != nil {
		return err
	}
	p.dataDir, p.addr, p.debug = dir, fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[2])
	f.root = p
	b, err := os.ReadFile(cliConf)
	if err != nil {
		return err
	}
	var cc struct {
		Root, Token, RootCert string
	}
	if err := json.Unmarshal(b, &cc); err != nil {
		return fmt.Errorf("CLI config of the root: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(cc.RootCert)) {
		return errors.New("the root's API certificate is not PEM")
	}
	f.api = &api.Client{BaseURL: cc.Root, Token: cc.Token, HTTP: &http.Client{
		Timeout:   5 * time.Minute,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, MaxIdleConnsPerHost: 8},
	}}
	return f.eventually(ctx, time.Minute, "the root's API up", func() (bool, string) {
		_, err := f.api.Status(ctx)
		return err == nil, fmt.Sprint(err)
	})
}

func runCmd(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := execCommand(ctx, bin, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// eventually polls cond every 200 ms until it holds, the timeout passes, or a process dies.
func (f *fleet) eventually(ctx context.Context, timeout time.Duration, what string, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, seen := cond()
		if ok {
			return nil
		}
		last = seen
		if err := f.alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v, still not %s; last seen: %s", timeout, what, last)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sleep(ctx, 200*time.Millisecond)
	}
}

// startRelays starts the relays, accepts them, and enrols and accepts one simulated zone
// below each.
func (f *fleet) startRelays(ctx context.Context) error {
	st, err := f.api.Status(ctx)
	if err != nil {
		return err
	}
	taken := map[int]bool{}
	for i := range f.cfg.Relays {
		q, err := freePort(taken)
		if err != nil {
			return err
		}
		d, err := freePort(taken)
		if err != nil {
			return err
		}
		dir := filepath.Join(f.work, fmt.Sprintf("relay%02d", i))
		p, err := startProc(fmt.Sprintf("relay%02d", i), f.cfg.Bosun, filepath.Join(f.work, fmt.Sprintf("relay%02d.log", i)), "relay",
			"--data", dir, "--listen", fmt.Sprintf("127.0.0.1:%d", q), "--upstream", f.root.addr, "--upstream-fingerprint", st.KeyFingerprint,
			"--zone", fmt.Sprintf("zone%02d", i), "--gossip-listen=", "--core-gossip-listen=", "--metrics-listen=", "--stats-interval", "2s",
			"--debug-listen", fmt.Sprintf("127.0.0.1:%d", d), "--log-level", "warn")
		if err != nil {
			return err
		}
		p.dataDir, p.addr, p.debug = dir, fmt.Sprintf("127.0.0.1:%d", q), fmt.Sprintf("127.0.0.1:%d", d)
		f.relays = append(f.relays, p)
	}
	if err := f.acceptRelays(ctx, f.cfg.Relays); err != nil {
		return err
	}
	for i, r := range f.relays {
		z, err := newZone(i, f.cfg.Seed, r.addr)
		if err != nil {
			return err
		}
		f.zones = append(f.zones, z)
		if err := f.eventually(ctx, time.Minute, "zone enrolled with its relay", func() (bool, string) {
			err := z.enrolSelf(ctx)
			return err == nil, fmt.Sprint(err)
		}); err != nil {
			return err
		}
	}
	return f.acceptRelays(ctx, 2*f.cfg.Relays)
}

// acceptRelays waits until want relays are known to the root and accepts the pending ones.
func (f *fleet) acceptRelays(ctx context.Context, want int) error {
	var pending []string
	err := f.eventually(ctx, 2*time.Minute, fmt.Sprintf("%d relays enrolled", want), func() (bool, string) {
		nodes, err := f.api.Nodes(ctx, "")
		if err != nil {
			return false, err.Error()
		}
		pending = pending[:0]
		known := 0
		for _, n := range nodes {
			if n.Role == wire.RoleRelay.String() {
				known++
				if n.Status == api.StatusPending {
					pending = append(pending, n.ID)
				}
			}
		}
		return known >= want, fmt.Sprintf("%d relays", known)
	})
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		if _, err := f.api.SetStatusMany(ctx, api.StatusAccepted, pending); err != nil {
			return fmt.Errorf("accept relays: %w", err)
		}
	}
	return nil
}

// enrol sends every node's enrolment and full inventory, and waits until the root holds
// every node as pending.
func (f *fleet) enrol(ctx context.Context) error {
	// The frames are made first, on every core, and the clock starts when they go: what
	// is timed is bosun's side, not the simulator's inventories (real agents make their
	// own, each on its own machine).
	f.logf("making %d enrolments and inventories", len(f.nodes))
	type frames struct {
		e  *wire.Enrol
		up *wire.InventoryUpload
	}
	made := make([]frames, len(f.nodes))
	var invBytes atomic.Uint64
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for ctx.Err() == nil && failed.Load() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(f.nodes) {
					return
				}
				e, up, err := f.nodes[i].enrolFrames(time.Now())
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				b, _ := wire.AppendFrame(nil, up)
				invBytes.Add(uint64(len(b)))
				made[i] = frames{e, up}
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		return *p
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	f.logf("enrolling %d nodes (stub and full inventory each) through %d relays", len(f.nodes), len(f.relays))
	start := time.Now()
	errs := make(chan error, len(f.zones))
	bar := f.cfg.Bar("nodes enrolling", int64(len(f.nodes)))
	for _, z := range f.zones {
		wg.Go(func() {
			for _, n := range z.nodes {
				for z.depth() > 4*forwardBatch && ctx.Err() == nil {
					sleep(ctx, 5*time.Millisecond)
				}
				if ctx.Err() != nil {
					errs <- ctx.Err()
					return
				}
				fr := made[n.index]
				made[n.index] = frames{}
				err := z.push(fr.e)
				if err == nil {
					err = z.push(fr.up)
				}
				if err != nil {
					errs <- err
					return
				}
				bar.Add(1)
			}
		})
	}
	wg.Wait()
	bar.Done()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	f.res.InventoryBytes = float64(invBytes.Load()) / float64(len(f.nodes))
	if err := f.drain(ctx, 30*time.Minute, "enrolments"); err != nil {
		return err
	}
	// Every relay's queue is empty, so the root took every enrolment and, after it, every
	// inventory; the relays list says how many nodes are behind each zone.
	err := f.eventually(ctx, 10*time.Minute, "every node registered at the root", func() (bool, string) {
		rels, err := f.api.Relays(ctx)
		if err != nil {
			return false, err.Error()
		}
		behind := 0
		for _, r := range rels.Relays {
			if !f.isRealRelay(r.Node.ID) {
				behind += r.Nodes
			}
		}
		return behind >= len(f.nodes), fmt.Sprintf("%d of %d nodes registered", behind, len(f.nodes))
	})
	if err != nil {
		return err
	}
	f.res.EnrolSeconds = time.Since(start).Seconds()
	f.res.EnrolPerSecond = float64(len(f.nodes)) / f.res.EnrolSeconds
	f.logf("enrolled %d nodes in %.1f s (%.0f/s), inventories of %.0f B", len(f.nodes), f.res.EnrolSeconds, f.res.EnrolPerSecond, f.res.InventoryBytes)
	return nil
}

// drain waits until every zone's queue is acknowledged by its relay and every relay's
// queue is empty, which means the root took everything.
func (f *fleet) drain(ctx context.Context, timeout time.Duration, what string) error {
	err := f.eventually(ctx, timeout, what+" sent to the relays", func() (bool, string) {
		left := 0
		for _, z := range f.zones {
			left += z.depth()
		}
		return left == 0, fmt.Sprintf("%d items in the zones", left)
	})
	if err != nil {
		return err
	}
	since := time.Now()
	last := time.Now()
	// Each look reads the whole registry (GET /api/v1/relays): every 2 s at 10,000 nodes,
	// every 20 s at 100,000.
	every := max(2*time.Second, time.Duration(len(f.nodes)/5000)*time.Second)
	return f.eventually(ctx, timeout, what+" taken by the root", func() (bool, string) {
		if time.Since(last) < every {
			return false, "waiting for the relays' figures"
		}
		last = time.Now()
		rels, err := f.api.Relays(ctx)
		if err != nil {
			return false, err.Error()
		}
		depth, fresh := uint64(0), 0
		for _, r := range rels.Relays {
			if r.Stats == nil || !f.isRealRelay(r.Node.ID) {
				continue
			}
			depth += r.Stats.QueueDepth
			f.noteQueue(r.Stats.QueueDepth)
			if r.Stats.Reported.After(since) {
				fresh++
			}
		}
		return depth == 0 && fresh >= len(f.relays), fmt.Sprintf("%d items in the relays' queues, %d relays reported since", depth, fresh)
	})
}

func (f *fleet) noteQueue(d uint64) {
	for {
		cur := f.maxQueue.Load()
		if d <= cur || f.maxQueue.CompareAndSwap(cur, d) {
			return
		}
	}
}

func (f *fleet) isRealRelay(id string) bool {
	for _, z := range f.zones {
		if z.id.NodeID == id {
			return false
		}
	}
	return true
}

// accept accepts every node through the API, in batches.
func (f *fleet) accept(ctx context.Context) error {
	const perRequest = 5000
	start := time.Now()
	ids := make([]string, len(f.nodes))
	for i, n := range f.nodes {
		ids[i] = n.id
	}
	bar := f.cfg.Bar("nodes accepted", int64(len(ids)))
	defer bar.Done()
	for i := 0; i < len(ids); i += perRequest {
		chunk := ids[i:min(i+perRequest, len(ids))]
		res, err := f.api.SetStatusMany(ctx, api.StatusAccepted, chunk)
		if err != nil {
			return fmt.Errorf("accept nodes: %w", err)
		}
		if len(res.Missing) > 0 {
			return fmt.Errorf("accept nodes: %d unknown to the root (%s...)", len(res.Missing), res.Missing[0])
		}
		bar.Add(int64(len(chunk)))
	}
	bar.Done()
	f.res.AcceptSeconds = time.Since(start).Seconds()
	f.res.AcceptPerSecond = float64(len(ids)) / f.res.AcceptSeconds
	f.logf("accepted %d nodes in %.1f s (%.0f/s), their policies compiled, signed and stored", len(ids), f.res.AcceptSeconds, f.res.AcceptPerSecond)
	return nil
}

// fetchPolicies has every node fetch its first policy.
func (f *fleet) fetchPolicies(ctx context.Context) error {
	start := time.Now()
	var bytes atomic.Uint64
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for _, z := range f.zones {
		for w := range asksPerZone {
			wg.Go(func() {
				for i := w; i < len(z.nodes); i += asksPerZone {
					n := z.nodes[i]
					var err error
					for try := 0; try < 20; try++ {
						var cost int
						_, cost, err = n.fetchPolicy(ctx, &f.shapes)
						bytes.Add(uint64(cost))
						if err == nil || ctx.Err() != nil {
							break
						}
						sleep(ctx, 250*time.Millisecond)
					}
					if err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, &err)
					}
				}
			})
		}
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return fmt.Errorf("%d nodes got no policy: %w", failed.Load(), *p)
	}
	f.res.FetchSeconds = time.Since(start).Seconds()
	f.res.FetchPerSecond = float64(len(f.nodes)) / f.res.FetchSeconds
	f.res.PolicyFullBytes = float64(bytes.Load()) / float64(len(f.nodes))
	f.logf("%d nodes fetched their policy in %.1f s (%.0f/s), %.0f B each; %d policy shapes", len(f.nodes), f.res.FetchSeconds, f.res.FetchPerSecond, f.res.PolicyFullBytes, len(f.shapes.m))
	return nil
}

// compileFull times the regeneration of every policy, as bosun policy regenerate asks.
func (f *fleet) compileFull(ctx context.Context) error {
	start := time.Now()
	st, err := f.api.Regenerate(ctx)
	if err != nil {
		return fmt.Errorf("regenerate: %w", err)
	}
	f.res.CompileFullWallMs = ms(time.Since(start))
	if st, err = f.generationDone(ctx, start); err != nil {
		return err
	}
	if d, err := time.ParseDuration(st.Duration); err == nil {
		f.res.CompileFullMs = ms(d)
	}
	f.logf("every policy compiled in %.0f ms (the API call: %.0f ms), %d nodes", f.res.CompileFullMs, f.res.CompileFullWallMs, st.Compiled)
	return nil
}

// generationDone waits for a generation that started after since to end.
func (f *fleet) generationDone(ctx context.Context, since time.Time) (api.GenerationStatus, error) {
	var st api.GenerationStatus
	err := f.eventually(ctx, 5*time.Minute, "the policy generation done", func() (bool, string) {
		var err error
		st, err = f.api.PolicyStatus(ctx)
		if err != nil {
			return false, err.Error()
		}
		return !st.Running && !st.LastStart.Before(since.Add(-time.Second)), fmt.Sprintf("%+v", st)
	})
	return st, err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile of sorted values, p in [0, 100].
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(sorted)-1))
	return sorted[i]
}

func median(v []float64) (med, maxV float64) {
	s := slices.Clone(v)
	sort.Float64s(s)
	return percentile(s, 50), s[len(s)-1]
}
