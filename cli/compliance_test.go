package cli

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bosun-io/bosun/root/api"
)

func TestComplianceVerbs(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	rule := api.ComplianceRuleDetail{SchemaVersion: 1,
		Rule:       api.ComplianceSummary{ID: "base", Name: "Base", Nodes: 2, NodesCompliant: 1, NodeCompliance: f(50), ComplianceCounts: api.ComplianceCounts{Compliance: f(75)}},
		Directives: []api.ComplianceSummary{{ID: "motd", Name: "MOTD", Nodes: 2, NodesCompliant: 1}},
		Nodes: []api.ComplianceNodeRow{{NodeID: "n1", Hostname: "web1", Worst: "non-compliant", Components: []api.ComplianceComponent{
			{Name: "File content", Value: "/etc/motd", DirectiveID: "motd", State: "non-compliant", Mode: "audit", Message: "content differs"}}}},
	}
	nodes := api.ComplianceNodeList{SchemaVersion: 1, Nodes: []api.ComplianceNode{
		{NodeID: "a", ComplianceCounts: api.ComplianceCounts{Compliance: f(40)}, Score: api.ComplianceScore{Score: "D"}},
		{NodeID: "b", ComplianceCounts: api.ComplianceCounts{Compliance: f(100)}, Score: api.ComplianceScore{Score: "A"}},
	}}
	list := api.NodeList{SchemaVersion: 1, Nodes: []api.Node{{ID: "a", Hostname: "low", Status: "accepted"}, {ID: "b", Hostname: "high", Status: "accepted"}}}
	env, seen, out := fakeRoot(t, map[string]any{
		"/api/v1/compliance/rules/base": rule, "/api/v1/compliance/nodes": nodes, "/api/v1/nodes": list,
	})
	cmds := Commands()
	if err := Main(context.Background(), cmds, []string{"compliance", "rule", "base", "--state", "non-compliant"}, env); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "1 of 2 nodes compliant (50.00 %)") || !strings.Contains(s, "content differs") || !strings.Contains(s, "/etc/motd") {
		t.Errorf("compliance rule:\n%s", s)
	}
	if q := (*seen)[0]; q != "/api/v1/compliance/rules/base?state=non-compliant" {
		t.Errorf("query: got %s", q)
	}
	out.Reset()
	if err := Main(context.Background(), cmds, []string{"nodes", "list", "--sort", "-compliance"}, env); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "COMPLIANCE") || !strings.Contains(lines[0], "SCORE") ||
		!strings.HasPrefix(lines[1], "b") || !strings.Contains(lines[1], "100.00 %") || !strings.Contains(lines[2], " D") {
		t.Errorf("nodes list by compliance:\n%s", out)
	}
	err := Main(context.Background(), cmds, []string{"compliance", "rule", "base", "--state", "fine"}, env)
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Errorf("bad state: got %v, want a usage error", err)
	}
}
