package compliance

import (
	"crypto/ed25519"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// The fleet of DESIGN.md §5: 100,000 nodes, 50 components each (10 directives of 5
// components, in 5 rules), in 20 shapes of policy.
const (
	benchNodes  = 100_000
	benchComps  = 50
	benchShapes = 20
)

var (
	benchOnce      sync.Once
	benchEngine    *Engine
	benchNodeBytes float64
)

func benchFleet(b *testing.B) *Engine {
	benchOnce.Do(func() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e := New(Config{})
		shapes := make([]*wire.AppliedPolicy, benchShapes)
		for s := range shapes {
			var dirs []dir
			for d := range 10 {
				mode := wire.ModeEnforce
				if d%4 == 3 {
					mode = wire.ModeAudit
				}
				dirs = append(dirs, dir{rule: fmt.Sprintf("rule-%d", (s+d)%25), id: fmt.Sprintf("dir-%d-%d", s, d), mode: mode, comps: 5})
			}
			shapes[s] = policy("", "", t0, wire.ReportingFull, dirs...)
		}
		for i := range benchNodes {
			p := shapes[i%benchShapes]
			p.NodeID, p.ConfigID = fmt.Sprintf("node-%06d", i), fmt.Sprintf("cfg-%06d", i)
			e.SetPolicy(p, t0)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		benchNodeBytes = float64(after.HeapAlloc-before.HeapAlloc) / benchNodes
		benchEngine = e
	})
	return benchEngine
}

// BenchmarkIngest measures component results ingested per second by the engine with
// 100,000 nodes' policies loaded: full-mode runs of 50 results, one in ten with a repair
// and a message. (The root's whole path, signatures and store included, is
// root.BenchmarkIngestReports.)
func BenchmarkIngest(b *testing.B) {
	e := benchFleet(b)
	ok := make([]wire.ComponentResult, benchComps)
	bad := make([]wire.ComponentResult, benchComps)
	for i := range ok {
		st := wire.StatusSuccess
		if (i/5)%4 == 3 {
			st = wire.StatusAuditCompliant
		}
		ok[i] = wire.ComponentResult{Index: uint32(i), Status: st}
		bad[i] = ok[i]
	}
	bad[7] = wire.ComponentResult{Index: 7, Status: wire.StatusRepaired, Message: "file /etc/motd repaired"}
	ids := make([]string, benchNodes)
	cfgs := make([]string, benchNodes)
	for i := range ids {
		ids[i], cfgs[i] = fmt.Sprintf("node-%06d", i), fmt.Sprintf("cfg-%06d", i)
	}
	runs := make([]uint64, benchNodes)
	for i := range runs {
		runs[i] = e.LastRun(ids[i])
	}
	now := t0.Add(time.Minute)
	body := wire.ReportBody{Start: now.Add(-time.Second), End: now, ReportingMode: wire.ReportingFull}
	// Each iteration ingests 10,000 reports, so that `make bench` (-benchtime 1x) measures
	// something.
	const perIter = 10_000
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		for range perIter {
			n := i % benchNodes
			runs[n]++
			body.NodeID, body.ConfigID, body.RunID = ids[n], cfgs[n], runs[n]
			body.Results = ok
			if i%10 == 0 {
				body.Results = bad
			}
			if _, err := e.Ingest(&body, now); err != nil {
				b.Fatal(err)
			}
			i++
		}
	}
	b.ReportMetric(float64(i)*benchComps/b.Elapsed().Seconds(), "results/s")
}

// BenchmarkFleetSummary measures the fleet's compliance and the list of rules with
// 100,000 nodes loaded.
func BenchmarkFleetSummary(b *testing.B) {
	e := benchFleet(b)
	now := t0.Add(time.Minute)
	for b.Loop() {
		f := e.Fleet(now)
		rules := e.Rules(now)
		if f.Nodes != benchNodes || len(rules) == 0 {
			b.Fatalf("got %d nodes, %d rules", f.Nodes, len(rules))
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/summary")
	b.ReportMetric(benchNodeBytes, "heap-B/node")
}

// BenchmarkReportBytes measures what a run of 100 components, all compliant, costs on the
// wire as the root receives it (a signed report in its frame): in full mode and in
// changes-only mode (the heartbeat), and what the root keeps of it per node.
func BenchmarkReportBytes(b *testing.B) {
	_, key, _ := ed25519.GenerateKey(nil)
	end := t0.Add(37 * time.Second)
	for _, mode := range []wire.ReportingMode{wire.ReportingFull, wire.ReportingChangesOnly} {
		b.Run(mode.String(), func(b *testing.B) {
			body := wire.ReportBody{NodeID: "0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e", ConfigID: "5d41402abc4b2a76", RunID: 12345,
				Start: t0, End: end, ReportingMode: mode}
			if mode == wire.ReportingFull {
				body.Results = all(100, wire.StatusSuccess)
			}
			var frame []byte
			var m *wire.Report
			for b.Loop() {
				var err error
				if m, err = wire.NewReport(body, key); err != nil {
					b.Fatal(err)
				}
				if frame, err = wire.AppendFrame(frame[:0], m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(frame)), "wire-B/run")
			b.ReportMetric(float64(8+len(m.Signed.Body)), "stored-B/run")
		})
	}
}
