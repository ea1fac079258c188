package agent

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// testPolicy builds a policy of one directive from components given as method, condition,
// mode and params (name=value).
func testPolicy(comps ...wire.Component) *wire.AppliedPolicy {
	for i := range comps {
		comps[i].Block = -1
		if comps[i].Mode == 0 {
			comps[i].Mode = wire.ModeEnforce
		}
	}
	return &wire.AppliedPolicy{
		NodeID: "node-1", ConfigID: "cfg1", RunInterval: time.Minute, ReportingMode: wire.ReportingFull,
		Directives: []wire.PolicyDirective{{DirectiveID: "d1", DirectiveName: "Directive one", TechniqueID: "t1", Mode: wire.ModeEnforce}},
		Components: comps,
	}
}

func fileComp(path, content string, mode wire.PolicyMode, condition string) wire.Component {
	return wire.Component{Name: "file " + path, Method: "file_content", Mode: mode, Condition: condition, ReportingValue: path,
		Params: []wire.Param{{Name: "path", Value: path}, {Name: "lines", Value: content}, {Name: "enforce", Value: "true"}}}
}

func TestApply(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("ID=debian\nVERSION_ID=\"12\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testPolicy(
		fileComp("/a", "A", wire.ModeEnforce, ""),                                         // 0 repaired
		fileComp("/b", "B", wire.ModeEnforce, "file_lines_present__a_repaired"),           // 1 runs: 0 repaired
		fileComp("/c", "C", wire.ModeEnforce, "file_lines_present__a_kept"),               // 2 skipped
		fileComp("/d", "D", wire.ModeAudit, "debian_12.linux"),                            // 3 audit: non-compliant
		fileComp("/e", "E", wire.ModeEnforce, "windows"),                                  // 4 skipped
		fileComp("/f", "F", wire.ModeEnforce, "((broken"),                                 // 5 bad condition
		wire.Component{Name: "unknown", Method: "no_such_method", Mode: wire.ModeEnforce}, // 6 error
		fileComp("/g", "${sys.host}", wire.ModeEnforce, ""),                               // 7 variables expanded
	)
	p.Components[7].NoReport = true
	r := Apply(context.Background(), p, ApplyOptions{NodeID: "node-1", Hostname: "web1.example.org", RootPrefix: root, DataDir: t.TempDir()})
	want := []wire.ReportStatus{wire.StatusRepaired, wire.StatusRepaired, wire.StatusNotApplicable, wire.StatusAuditNonCompliant,
		wire.StatusNotApplicable, wire.StatusError, wire.StatusError, wire.StatusRepaired}
	if len(r.Items) != len(want) {
		t.Fatalf("got %d results, want %d", len(r.Items), len(want))
	}
	for i, w := range want {
		if got := r.Items[i].Status; got != w {
			t.Errorf("component %d: got %v (%s), want %v", i, got, r.Items[i].Message, w)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "d")); err == nil {
		t.Errorf("the audit component wrote /d")
	}
	if b, _ := os.ReadFile(filepath.Join(root, "g")); strings.TrimSpace(string(b)) != "web1" {
		t.Errorf("/g: got %q, want the expanded ${sys.host}", b)
	}
	for _, f := range []string{"debian", "debian_12", "linux", "any", "web1_example_org", "web1"} {
		if !slices.Contains(r.Facts, f) {
			t.Errorf("facts %v lack %q", r.Facts, f)
		}
	}
	s := r.Summary()
	if s.Enforce.Total != 6 || s.Audit.Total != 1 || s.Enforce.Counts[wire.StatusError] != 2 {
		t.Errorf("summary: got %+v", s)
	}
	if s.Enforce.Compliance != 66.6 || s.Audit.Compliance != 0 {
		t.Errorf("compliance: got enforce %v audit %v, want 66.6 and 0", s.Enforce.Compliance, s.Audit.Compliance)
	}
	if r.OK() {
		t.Errorf("a run with errors is OK")
	}

	body := r.ReportBody(7, wire.ReportingFull)
	if len(body.Results) != 7 || body.RunID != 7 {
		t.Errorf("full report: got %d results run %d, want 7 (the no-report component left out) run 7", len(body.Results), body.RunID)
	}
	changes := r.ReportBody(8, wire.ReportingChangesOnly)
	for _, res := range changes.Results {
		if res.Status.IsSuccess() {
			t.Errorf("changes-only report holds a success: %+v", res)
		}
	}

	// Force-audit: nothing changes, and the second run finds what the first fixed.
	r = Apply(context.Background(), p, ApplyOptions{NodeID: "node-1", RootPrefix: root, ForceAudit: true})
	for _, it := range r.Items {
		if it.Mode != wire.ModeAudit {
			t.Errorf("component %d ran in %v under force-audit", it.Index, it.Mode)
		}
	}
	if r.Items[0].Status != wire.StatusAuditCompliant || r.Items[3].Status != wire.StatusAuditNonCompliant || r.Items[4].Status != wire.StatusAuditNA {
		t.Errorf("force-audit statuses: got %v %v %v", r.Items[0].Status, r.Items[3].Status, r.Items[4].Status)
	}

	// --only runs one directive.
	r = Apply(context.Background(), p, ApplyOptions{NodeID: "node-1", RootPrefix: root, Only: "other"})
	if len(r.Items) != 0 {
		t.Errorf("--only other ran %d components", len(r.Items))
	}
}

func TestNextRun(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 2, 30, 0, time.UTC)
	tests := []struct {
		interval, splay time.Duration
	}{
		{5 * time.Minute, 4 * time.Minute},
		{time.Minute, 5 * time.Second},
		{time.Minute, time.Hour}, // splay larger than the interval is capped
		{time.Minute, 0},
	}
	for _, tt := range tests {
		n1 := NextRun("node-a", now, tt.interval, tt.splay)
		if !n1.After(now) || n1.Sub(now) > tt.interval {
			t.Errorf("interval %v splay %v: got next %v, want within one interval after %v", tt.interval, tt.splay, n1, now)
		}
		// Stable: the slot within the interval does not depend on when it is asked.
		n2 := NextRun("node-a", n1, tt.interval, tt.splay)
		if n2.Sub(n1) != tt.interval {
			t.Errorf("interval %v splay %v: got %v then %v, want one interval apart", tt.interval, tt.splay, n1, n2)
		}
		if off := n1.Sub(n1.Truncate(tt.interval)); off >= min(tt.interval, max(tt.splay, 1)) {
			t.Errorf("interval %v splay %v: offset %v beyond the splay", tt.interval, tt.splay, off)
		}
	}
	if NextRun("node-a", now, time.Hour, time.Hour) == NextRun("node-b", now, time.Hour, time.Hour) {
		t.Errorf("two nodes got the same slot in an hour (possible, but not with these ids)")
	}
}

// TestApplyTimeout: a method that outlives its timeout is an error of its component; the
// next one runs.
func TestApplyTimeout(t *testing.T) {
	root := t.TempDir()
	p := testPolicy(
		wire.Component{Name: "slow", Method: "command_execution", Params: []wire.Param{{Name: "command", Value: "sleep 5"}}},
		fileComp("/after", "ran", wire.ModeEnforce, ""),
	)
	r := Apply(context.Background(), p, ApplyOptions{NodeID: "node-1", RootPrefix: root, Timeout: 200 * time.Millisecond})
	if r.Items[0].Status != wire.StatusError || r.Items[1].Status != wire.StatusRepaired {
		t.Errorf("got %v (%s) and %v, want error then repaired", r.Items[0].Status, r.Items[0].Message, r.Items[1].Status)
	}
	if !strings.Contains(r.Items[0].Message, "did not finish") && !strings.Contains(r.Items[0].Message, "timeout") {
		t.Errorf("slow command: got message %q, want it to name the timeout", r.Items[0].Message)
	}
}
