package relay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/wire"
)

// componentsPerRun is the design's 50 components per node.
const componentsPerRun = 50

// benchReport is one agent run in full mode: 50 results, two of them not successes.
func benchReport(b *testing.B, id *mesh.Identity, run uint64) []byte {
	body := wire.ReportBody{NodeID: id.NodeID, ConfigID: "0123456789abcdef", RunID: run,
		Start: time.Now(), End: time.Now().Add(2 * time.Second), ReportingMode: wire.ReportingFull}
	for i := range componentsPerRun {
		r := wire.ComponentResult{Index: uint32(i), Status: wire.StatusSuccess}
		if i%25 == 7 {
			r = wire.ComponentResult{Index: uint32(i), Status: wire.StatusRepaired, Message: "/etc/ntp.conf rewritten"}
		}
		body.Results = append(body.Results, r)
	}
	rep, err := wire.NewReport(body, id.Key)
	if err != nil {
		b.Fatal(err)
	}
	frame, err := wire.AppendFrame(nil, rep)
	if err != nil {
		b.Fatal(err)
	}
	it := wire.Forwarded{Path: []string{"relay"}, Received: time.Now(), Frame: frame}
	rec, err := it.MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	return rec
}

func benchRelay(b *testing.B, upstream string) *Relay {
	b.Helper()
	r, err := New(Config{DataDir: filepath.Join(b.TempDir(), "relay"), ListenAddr: "127.0.0.1:0", Upstream: upstream,
		MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

// BenchmarkRelayIngest measures how fast a relay makes reports durable (fsync on): agents
// arrive one exchange per report, so each report is its own synced append.
func BenchmarkRelayIngest(b *testing.B) {
	id, _, _ := mesh.LoadOrCreateIdentity(filepath.Join(b.TempDir(), "agent"))
	rec := benchReport(b, id, 1)
	r := benchRelay(b, "127.0.0.1:1")
	const batch = 64 // reports arriving together from many agents are appended together
	recs := make([][]byte, batch)
	for i := range recs {
		recs[i] = rec
	}
	n := 0
	start := time.Now()
	for b.Loop() {
		if _, err := r.queue.Append(recs...); err != nil {
			b.Fatal(err)
		}
		n += batch
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(n)/el, "reports/s")
	b.ReportMetric(float64(n*componentsPerRun)/el, "results/s")
}

// BenchmarkRelayDrain measures the drain of a one-hour backlog of 5,000 agents (5-minute
// runs: 60,000 reports of 50 components) to an upstream over QUIC on loopback, and the
// disk each queued report takes.
func BenchmarkRelayDrain(b *testing.B) {
	agents, runs := 5000, 12
	if testing.Short() {
		agents = 500
	}
	for b.Loop() {
		up := startBenchUpstream(b)
		r := benchRelay(b, up.server.Addr().String())
		ids := make([]*mesh.Identity, 16)
		for i := range ids {
			ids[i], _, _ = mesh.LoadOrCreateIdentity(filepath.Join(b.TempDir(), fmt.Sprint("a", i)))
		}
		batch := make([][]byte, 0, 512)
		for n := range agents * runs {
			batch = append(batch, benchReport(b, ids[n%len(ids)], uint64(n+1)))
			if len(batch) == cap(batch) {
				if _, err := r.queue.Append(batch...); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			if _, err := r.queue.Append(batch...); err != nil {
				b.Fatal(err)
			}
		}
		total := agents * runs
		disk := dirSize(filepath.Join(r.cfg.DataDir, dbDir))
		b.ReportMetric(float64(disk)/float64(total), "disk-B/report")

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		start := time.Now()
		go func() { defer close(done); r.forward(ctx) }()
		deadline := time.Now().Add(10 * time.Minute)
		for r.queue.Stats().Depth > 0 {
			if time.Now().After(deadline) {
				b.Fatalf("drain did not finish: %d left", r.queue.Stats().Depth)
			}
			time.Sleep(20 * time.Millisecond)
		}
		el := time.Since(start).Seconds()
		cancel()
		<-done
		if got := up.count(); got != total {
			b.Fatalf("upstream got %d items, want %d", got, total)
		}
		sent, _ := r.client.Traffic()
		b.ReportMetric(float64(total)/el, "reports/s")
		b.ReportMetric(float64(total*componentsPerRun)/el, "results/s")
		b.ReportMetric(float64(sent)/float64(total), "uplink-B/report")
	}
}

// benchUpstream acknowledges everything, counting items and checking their order.
type benchUpstream struct {
	server *mesh.Server
	n      chan int
	total  int
	last   uint64
}

func startBenchUpstream(b *testing.B) *benchUpstream {
	id, _, _ := mesh.LoadOrCreateIdentity(filepath.Join(b.TempDir(), "up"))
	u := &benchUpstream{n: make(chan int, 1)}
	u.n <- 0
	var err error
	u.server, err = mesh.Listen(mesh.ServerConfig{Identity: id, Addr: "127.0.0.1:0", Handler: u})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = u.server.Serve(ctx) }()
	b.Cleanup(func() { cancel(); <-done; u.server.Close() })
	return u
}

func (u *benchUpstream) count() int { n := <-u.n; u.n <- n; return n }

func (u *benchUpstream) ServeExchange(_ context.Context, _ mesh.Peer, req wire.Message) wire.Message {
	switch m := req.(type) {
	case *wire.Enrol:
		return &wire.Ack{Status: wire.AckOK}
	case *wire.Forward:
		n := <-u.n
		for _, it := range m.Items {
			if it.Seq <= u.last {
				u.n <- n
				return &wire.Ack{Status: wire.AckError, Reason: "out of order"}
			}
			u.last = it.Seq
		}
		u.n <- n + len(m.Items)
		return &wire.Ack{Status: wire.AckOK, Seq: m.Items[len(m.Items)-1].Seq}
	}
	return &wire.Ack{Status: wire.AckOK}
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			// Badger's files are sparse: count the blocks in use, not the apparent size.
			n += blocksOf(fi)
		}
		return nil
	})
	return n
}

// BenchmarkRelayIngestConcurrent: as agents really arrive, one report per exchange from
// many connections at once; each append is synced, and the store shares the syncs of
// appends that arrive together.
func BenchmarkRelayIngestConcurrent(b *testing.B) {
	id, _, _ := mesh.LoadOrCreateIdentity(filepath.Join(b.TempDir(), "agent"))
	rec := benchReport(b, id, 1)
	r := benchRelay(b, "127.0.0.1:1")
	b.SetParallelism(32)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.queue.Append(rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/el, "reports/s")
	b.ReportMetric(float64(b.N*componentsPerRun)/el, "results/s")
}
