package cli

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bosun-io/bosun/root/api"
)

// TestWaitRuleCompliant: met at once when the rule is at --min; on a rule that stays
// below, the wait ends in a WaitTimeoutError saying what it saw last.
func TestWaitRuleCompliant(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	env, _, out := fakeRoot(t, map[string]any{"/api/v1/compliance/rules": api.ComplianceList{SchemaVersion: 1, Kind: "rule",
		Items: []api.ComplianceSummary{{ID: "other", Nodes: 1}, {ID: "base", Nodes: 4, NodesCompliant: 3, NodeCompliance: f(75)}}}})
	cmds := Commands()
	if err := Main(context.Background(), cmds, []string{"wait", "rule-compliant", "base", "--min", "75", "--timeout", "10s"}, env); err != nil {
		t.Fatalf("--min 75 on a rule at 75 %%: %v", err)
	}
	if !strings.Contains(out.String(), "3 of 4 nodes compliant") {
		t.Errorf("printed %q", out)
	}
	err := Main(context.Background(), cmds, []string{"wait", "rule-compliant", "base", "--timeout", "300ms", "--interval", "50ms"}, env)
	var te *WaitTimeoutError
	if !errors.As(err, &te) || !errors.Is(err, ErrWaitTimeout) || !strings.Contains(err.Error(), "3 of 4 nodes compliant (75.00 %)") {
		t.Errorf("a rule at 75 %% waited for at 100 %%: got %v, want a timeout saying what it saw", err)
	}
	// A rule the root does not know may come: waited for, then timed out.
	err = Main(context.Background(), cmds, []string{"wait", "rule-compliant", "nope", "--timeout", "300ms", "--interval", "50ms"}, env)
	if !errors.Is(err, ErrWaitTimeout) || !strings.Contains(err.Error(), "not known to the root yet") {
		t.Errorf("unknown rule: got %v", err)
	}
	var help strings.Builder
	env.Stdout = &help
	if err := Main(context.Background(), cmds, []string{"wait", "config-applied", "--help"}, env); err != nil ||
		!strings.Contains(help.String(), "5  --timeout passed") || !strings.Contains(help.String(), "--interval") {
		t.Errorf("wait config-applied --help (%v):\n%s", err, help.String())
	}
	for _, bad := range [][]string{{"wait", "rule-compliant"}, {"wait", "rule-compliant", "base", "--min", "0"}, {"wait", "node-accepted", "x", "--timeout", "0s"}} {
		var ue *UsageError
		if err := Main(context.Background(), cmds, bad, env); !errors.As(err, &ue) {
			t.Errorf("%v: got %v, want a usage error", bad, err)
		}
	}
}
