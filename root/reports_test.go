package root

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/policy"
	"github.com/bosun-io/bosun/wire"
)

const reportsModel = `kind: directive
id: d-ssh
name: SSH server present
technique: package_present
policy_mode: audit
params:
  name: openssh-server
---
kind: rule
id: r-base
name: Base
directives: [d-ssh]
targets:
  include: [all-nodes]
`

// eventually polls cond every 20 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// acceptedNode enrols a node over QUIC and accepts it through the API.
func acceptedNode(t *testing.T, r *testRoot) *testNode {
	t.Helper()
	n := newNode(t, r)
	if ack, err := n.exchange(t, r, wire.NewEnrol(n.stub(wire.RoleAgent, time.Now().UTC()), n.id.Key)); err != nil || ack.Status != wire.AckOK {
		t.Fatalf("enrol: %v %+v", err, ack)
	}
	if _, err := r.api.SetStatus(context.Background(), n.id.NodeID, api.StatusAccepted); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *testNode) report(t *testing.T, body wire.ReportBody) *wire.Report {
	t.Helper()
	body.NodeID = n.id.NodeID
	m, err := wire.NewReport(body, n.id.Key)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReports(t *testing.T) {
	dir := t.TempDir()
	hooks := filepath.Join(dir, "hooks")
	got := filepath.Join(dir, "hook-got")
	if err := os.MkdirAll(filepath.Join(hooks, "non-compliant"), 0o755); err != nil {
		t.Fatal(err)
	}
	hook := "#!/bin/sh\n{ echo \"$BOSUN_EVENT_KIND $BOSUN_RULE_ID\"; cat; } >> " + got + "\n"
	if err := os.WriteFile(filepath.Join(hooks, "non-compliant", "10-record"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	// A failing hook is logged and changes nothing.
	if err := os.WriteFile(filepath.Join(hooks, "non-compliant", "20-fail"), []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(dir, "log")
	var dataDir string
	r := startRootWith(t, func(c *Config) {
		c.HooksDir, c.LogDir, dataDir = hooks, logDir, c.DataDir
		c.ComplianceSampleInterval = 50 * time.Millisecond
	})
	ctx := context.Background()
	if _, err := r.api.Apply(ctx, api.ApplyRequest{Files: []api.File{{Name: "m.yml", Content: reportsModel}}}); err != nil {
		t.Fatal(err)
	}
	node := acceptedNode(t, r)
	other := acceptedNode(t, r)
	var cfg string
	eventually(t, 10*time.Second, "the node's policy", func() bool {
		cfg, _ = r.rep.eng.ConfigID(node.id.NodeID)
		return cfg != ""
	})
	ap, err := r.pol.appliedPolicy(node.id.NodeID)
	if err != nil || ap == nil || len(ap.Components) != 1 {
		t.Fatalf("applied policy: %v %+v", err, ap)
	}
	now := time.Now().UTC()
	base := wire.ReportBody{ConfigID: cfg, RunID: 1, Start: now.Add(-2 * time.Second), End: now, ReportingMode: wire.ReportingFull,
		Results: []wire.ComponentResult{{Index: 0, Status: wire.StatusAuditNonCompliant, Message: "package openssh-server is not installed"}}}

	ack, err := node.exchange(t, r, node.report(t, base))
	if err != nil || ack.Status != wire.AckOK {
		t.Fatalf("report: %v %+v", err, ack)
	}
	d, err := r.api.ComplianceRule(ctx, "r-base", api.ComplianceQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var row *api.ComplianceNodeRow
	for i := range d.Nodes {
		if d.Nodes[i].NodeID == node.id.NodeID {
			row = &d.Nodes[i]
		}
	}
	if row == nil || row.Worst != "non-compliant" || len(row.Components) != 1 || row.Components[0].Message != base.Results[0].Message {
		t.Fatalf("rule r-base for the node: got %+v", row)
	}
	if d.Rule.Nodes != 2 || d.Rule.NodesCompliant != 0 {
		t.Errorf("rule: got %d nodes, %d compliant; want 2, 0 (one non-compliant, one applying)", d.Rule.Nodes, d.Rule.NodesCompliant)
	}

	// The drift log and the hook.
	eventually(t, 10*time.Second, "the hook's output", func() bool {
		b, _ := os.ReadFile(got)
		return strings.Contains(string(b), "non-compliant r-base") && strings.Contains(string(b), "openssh-server is not installed")
	})
	f, err := os.Open(filepath.Join(logDir, DriftLogName))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	var ev driftEvent
	if !sc.Scan() || json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Kind != "non-compliant" || ev.NodeID != node.id.NodeID || ev.DirectiveID != "d-ssh" {
		t.Errorf("drift log: got %q", sc.Text())
	}
	f.Close()

	// Bad input: each refused or classified, with ingestion of the others going on.
	future := base
	future.RunID, future.End = 5, now.Add(3*time.Hour)
	unknown := base
	unknown.RunID, unknown.ConfigID = 6, "0123456789abcdef"
	outOfRange := base
	outOfRange.RunID = 7
	outOfRange.Results = []wire.ComponentResult{{Index: 0, Status: wire.StatusAuditCompliant}, {Index: 9, Status: wire.StatusAuditCompliant}}
	tests := []struct {
		name   string
		from   *testNode
		m      *wire.Report
		status wire.AckStatus
		reason string
	}{
		{"replayed run", node, node.report(t, base), wire.AckRejected, "replayed"},
		{"from the future", node, node.report(t, future), wire.AckRejected, "future"},
		{"for another node", other, node.report(t, func() wire.ReportBody { b := base; b.RunID = 8; return b }()), wire.AckRejected, "sent a message of node"},
		{"unknown config id", node, node.report(t, unknown), wire.AckOK, ""},
		{"index out of range", node, node.report(t, outOfRange), wire.AckOK, ""},
	}
	for _, tt := range tests {
		ack, err := tt.from.exchange(t, r, tt.m)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if ack.Status != tt.status || !strings.Contains(ack.Reason, tt.reason) {
			t.Errorf("%s: got %v %q, want %v containing %q", tt.name, ack.Status, ack.Reason, tt.status, tt.reason)
		}
	}
	nd, err := r.api.ComplianceNode(ctx, node.id.NodeID, api.ComplianceQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if nd.Node.Counts["unexpected"] != 1 || nd.Node.Counts["compliant"] != 1 || nd.Node.RunID != 7 {
		t.Errorf("after the out-of-range index: got %+v", nd.Node)
	}
	if nd.Node.Score.Score == "" || nd.Node.Score.Vulnerabilities != "" {
		t.Errorf("score: got %+v (no CVE feed: no vulnerability sub-score)", nd.Node.Score)
	}

	// The fleet, the lists and the history answer.
	fl, err := r.api.Compliance(ctx)
	if err != nil || fl.Nodes != 2 || len(fl.Rules) != 1 {
		t.Errorf("fleet: got %+v, %v", fl, err)
	}
	if _, err := r.api.ComplianceRule(ctx, "nope", api.ComplianceQuery{}); !isCode(err, api.CodeNotFound) {
		t.Errorf("unknown rule: got %v", err)
	}
	if _, err := r.api.ComplianceRule(ctx, "r-base", api.ComplianceQuery{States: []string{"fine"}}); !isCode(err, api.CodeBadRequest) {
		t.Errorf("unknown state: got %v", err)
	}
	h, err := r.api.ComplianceHistory(ctx, "nodes", node.id.NodeID, time.Time{})
	if err != nil || len(h.Changes) == 0 {
		t.Errorf("node history: got %+v, %v", h, err)
	}
	eventually(t, 10*time.Second, "a history point of rule r-base", func() bool {
		h, err := r.api.ComplianceHistory(ctx, "rules", "r-base", time.Time{})
		for _, p := range h.Points {
			if p.Total > 0 && p.Compliance != nil {
				return err == nil
			}
		}
		return false
	})
	if _, err := os.Stat(filepath.Join(dataDir, "log")); err == nil {
		t.Errorf("the drift log went to <data>/log despite LogDir")
	}
}

// TestReportsSurviveRestart: the latest runs come back after a restart.
func TestReportsSurviveRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	if _, err := Init(dir, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{DataDir: dir, QUICAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", InventoryWatchInterval: -1}
	r1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r1.pol.change("test", "model", applyYAML(reportsModel)); err != nil {
		t.Fatal(err)
	}
	tr := &testRoot{Root: r1}
	n := newNode(t, tr)
	stub := n.stub(wire.RoleAgent, time.Now().UTC())
	stub.Key = n.id.Public()
	if _, err := r1.reg.enrol(stub, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r1.reg.SetStatus(context.Background(), n.id.NodeID, api.StatusAccepted, "test"); err != nil {
		t.Fatal(err)
	}
	cfgID, ok := r1.rep.eng.ConfigID(n.id.NodeID)
	if !ok {
		t.Fatal("no policy for the node")
	}
	now := time.Now().UTC()
	m := n.report(t, wire.ReportBody{ConfigID: cfgID, RunID: 3, Start: now, End: now, ReportingMode: wire.ReportingFull,
		Results: []wire.ComponentResult{{Index: 0, Status: wire.StatusAuditError, Message: "dpkg is locked"}}})
	if err := r1.ingestReport(m, nil); err != nil {
		t.Fatal(err)
	}
	r1.Close()
	r2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	d, ok := r2.rep.eng.Node(n.id.NodeID, time.Now())
	if !ok || d.RunID != 3 || d.Components[0].Message != "dpkg is locked" || d.Components[0].State.String() != "audit-error" {
		t.Errorf("after restart: got %+v", d)
	}
	if err := r2.ingestReport(m, nil); err == nil || !strings.Contains(err.Error(), "replayed") {
		t.Errorf("replay after restart: got %v", err)
	}
}

// applyYAML is a model change that applies YAML documents.
func applyYAML(y string) func(m *policy.Model) ([]policy.Change, error) {
	return func(m *policy.Model) ([]policy.Change, error) {
		docs, err := policy.LoadDocs("test.yml", []byte(y))
		if err != nil {
			return nil, err
		}
		return m.Apply(docs)
	}
}
