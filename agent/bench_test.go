package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bosun-io/bosun/wire"
)

// benchPolicy is 250 files, each a file_content and a permissions component: 500
// components, as in bench/agent_run.sh.
func benchPolicy(dir string) *wire.AppliedPolicy {
	var comps []wire.Component
	for i := range 250 {
		path := filepath.Join(dir, fmt.Sprintf("f%03d", i))
		comps = append(comps, fileComp(path, fmt.Sprintf("managed file %d", i), wire.ModeEnforce, ""),
			wire.Component{Name: "perms", Method: "permissions", ReportingValue: path,
				Params: []wire.Param{{Name: "path", Value: path}, {Name: "mode", Value: "644"}}})
	}
	return testPolicy(comps...)
}

// BenchmarkApply500 runs 500 components with nothing to fix, in enforce and in audit.
func BenchmarkApply500(b *testing.B) {
	for _, mode := range []string{"enforce", "audit"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			p := benchPolicy(dir)
			o := ApplyOptions{NodeID: "node-1", DataDir: b.TempDir(), ForceAudit: mode == "audit"}
			if r := Apply(context.Background(), p, ApplyOptions{NodeID: "node-1", DataDir: o.DataDir}); !r.OK() {
				b.Fatalf("first run not OK: %+v", r.Summary())
			}
			for b.Loop() {
				r := Apply(context.Background(), p, o)
				if r.Items[0].Status.IsSuccess() == false {
					b.Fatalf("got %v", r.Items[0].Status)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/run")
		})
	}
}

// BenchmarkApply500Fix runs 500 components that all need fixing: wrong content, mode 600.
func BenchmarkApply500Fix(b *testing.B) {
	dir := b.TempDir()
	p := benchPolicy(dir)
	o := ApplyOptions{NodeID: "node-1", DataDir: b.TempDir()}
	for b.Loop() {
		b.StopTimer()
		for i := range 250 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d", i)), []byte("wrong\n"), 0o600); err != nil {
				b.Fatal(err)
			}
			_ = os.Chmod(filepath.Join(dir, fmt.Sprintf("f%03d", i)), 0o600)
		}
		b.StartTimer()
		if r := Apply(context.Background(), p, o); r.Items[0].Status != wire.StatusRepaired {
			b.Fatalf("got %v", r.Items[0].Status)
		}
	}
}
