package method

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchCalls are 500 components: 250 files, each with file_content and permissions.
func benchCalls(b *testing.B, root string, mode Mode) []Call {
	var calls []Call
	for i := range 250 {
		p := fmt.Sprintf("/etc/bench/%03d/file.conf", i)
		calls = append(calls,
			call(b, "file_content", mode, p, fmt.Sprintf("# managed by bosun\nkey%d = value%d\nother = %d", i, i, i), "true"),
			call(b, "permissions", mode, p, "640", "root", "root"))
	}
	return calls
}

func runAll(b *testing.B, env *Env, calls []Call, want ...Status) {
	ctx := context.Background()
	for _, c := range calls {
		if res := Run(ctx, env, c); res.Status != want[0] && (len(want) < 2 || res.Status != want[1]) {
			b.Fatalf("%s: got %s, want %v (%s)", c.Method, res.Status, want, res.Message)
		}
	}
}

// BenchmarkFiles500 runs 500 file_content + permissions components in enforce: with nothing to
// fix, and with everything to fix (each run starts from wrong files).
func BenchmarkFiles500(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("permissions to root need root")
	}
	b.Run("nothing-to-fix", func(b *testing.B) {
		root := b.TempDir()
		env := &Env{RootPrefix: root, DataDir: b.TempDir()}
		calls := benchCalls(b, root, Enforce)
		runAll(b, env, calls, Repaired, Success) // converge once
		var total time.Duration
		for b.Loop() {
			env.Conditions = NewConditions()
			start := time.Now()
			runAll(b, env, calls, Success)
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/run")
	})
	b.Run("everything-to-fix", func(b *testing.B) {
		root := b.TempDir()
		env := &Env{RootPrefix: root, DataDir: b.TempDir()}
		calls := benchCalls(b, root, Enforce)
		var total time.Duration
		for b.Loop() {
			b.StopTimer()
			for i := range 250 {
				p := filepath.Join(root, fmt.Sprintf("/etc/bench/%03d/file.conf", i))
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte("drifted\n"), 0o666)
				os.Chmod(p, 0o666)
			}
			env.Conditions = NewConditions()
			b.StartTimer()
			start := time.Now()
			runAll(b, env, calls, Repaired)
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/run")
	})
}
