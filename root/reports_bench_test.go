package root

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/wire"
)

// BenchmarkIngestReports measures the root's whole path for run reports, as a relay's
// forwarded batch takes it: signature check against the pinned key, replay and time checks,
// the compliance engine, and one Badger transaction (synced) per batch of 100 reports
// holding each node's latest run. 200 accepted nodes with a policy of 50 components send
// full-mode reports, one in ten with a repair (a drift event: drift log line, change log).
// Reports are signed beforehand with the timer stopped. The compliance engine holds the
// policies of 100,000 nodes (the 200 that report, and copies of their policy under other node
// ids), as a root of that fleet would; -short loads only the 200.
func BenchmarkIngestReports(b *testing.B) {
	const nodes, comps, perBatch = 200, 50, 100
	dir := filepath.Join(b.TempDir(), "root")
	if _, err := Init(dir, InitOptions{}); err != nil {
		b.Fatal(err)
	}
	r, err := New(Config{DataDir: dir, QUICAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", InventoryWatchInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var model strings.Builder
	var names []string
	for d := range comps {
		fmt.Fprintf(&model, "kind: directive\nid: d%02d\nname: D%02d\ntechnique: package_present\nparams:\n  name: pkg%02d\n---\n", d, d, d)
		names = append(names, fmt.Sprintf("d%02d", d))
	}
	fmt.Fprintf(&model, "kind: rule\nid: r\nname: R\ndirectives: [%s]\ntargets:\n  include: [all-nodes]\n", strings.Join(names, ", "))
	if _, err := r.pol.change("bench", "model", applyYAML(model.String())); err != nil {
		b.Fatal(err)
	}
	type benchNode struct {
		id     string
		key    ed25519.PrivateKey
		config string
		run    uint64
		n      int
	}
	ns := make([]*benchNode, nodes)
	for i := range ns {
		pub, key, _ := ed25519.GenerateKey(nil)
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		stub := wire.EnrolStub{NodeID: id, Hostname: fmt.Sprintf("bench%03d", i), OS: "Debian 12", Role: wire.RoleAgent, Time: time.Now(), Key: pub}
		if _, err := r.reg.enrol(stub, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := r.reg.SetStatus(context.Background(), id, api.StatusAccepted, "bench"); err != nil {
			b.Fatal(err)
		}
		ap, err := r.pol.appliedPolicy(id)
		if err != nil || ap == nil {
			b.Fatalf("policy of %s: %v", id, err)
		}
		ns[i] = &benchNode{id: id, key: key, config: ap.ConfigID, n: len(ap.Components)}
	}
	loaded := 100_000
	if testing.Short() {
		loaded = nodes
	}
	if tmpl, err := r.pol.appliedPolicy(ns[0].id); err == nil && tmpl != nil {
		now := time.Now()
		for i := nodes; i < loaded; i++ {
			p := *tmpl
			p.NodeID = fmt.Sprintf("00000000-0000-4000-9000-%012d", i)
			r.rep.eng.SetPolicy(&p, now)
		}
	}
	b.ReportMetric(float64(loaded), "nodes-loaded")
	results := 0
	build := func(k int) []*wire.Report {
		out := make([]*wire.Report, perBatch)
		now := time.Now()
		for j := range out {
			n := ns[(k*perBatch+j)%nodes]
			n.run++
			body := wire.ReportBody{NodeID: n.id, ConfigID: n.config, RunID: n.run, Start: now.Add(-time.Second), End: now, ReportingMode: wire.ReportingFull}
			for c := range n.n {
				res := wire.ComponentResult{Index: uint32(c), Status: wire.StatusSuccess}
				if c == 7 && j%10 == 0 {
					res = wire.ComponentResult{Index: uint32(c), Status: wire.StatusRepaired, Message: "installed pkg07"}
				}
				body.Results = append(body.Results, res)
			}
			m, err := wire.NewReport(body, n.key)
			if err != nil {
				b.Fatal(err)
			}
			out[j] = m
			results += n.n
		}
		return out
	}
	k := 0
	for b.Loop() {
		for range 10 { // 1,000 reports an iteration, so that -benchtime 1x measures something
			b.StopTimer()
			batch := build(k)
			k++
			b.StartTimer()
			for _, m := range batch {
				if err := r.takeReport(m, nil); err != nil {
					b.Fatal(err)
				}
			}
			if err := r.rep.flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(results)/b.Elapsed().Seconds(), "results/s")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(k*perBatch), "µs/report")
}
