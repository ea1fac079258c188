package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// complianceNode is what `bosun compliance node ID --json` prints, in part.
type complianceNode struct {
	Node struct {
		ConfigID    string
		RunID       uint64
		RunConfigID string
	}
	Components []struct {
		DirectiveID, Name, Mode, State, Message string
	}
}

func (f *fleet) complianceNode(id string) (complianceNode, string) {
	out, errOut, code := f.run("compliance", "node", id, "--json", "--timeout", "5s")
	if code != 0 {
		return complianceNode{}, errOut
	}
	var c complianceNode
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		return complianceNode{}, err.Error()
	}
	return c, out
}

// states returns the states of a directive's components on the node's latest run on its
// newest policy, with their mode and messages; ok is false while the node has not run it.
func (c complianceNode) states(directive string) (states []string, mode, messages string, ok bool) {
	if c.Node.RunConfigID == "" || c.Node.RunConfigID != c.Node.ConfigID {
		return nil, "", "", false
	}
	var msgs []string
	for _, comp := range c.Components {
		if comp.DirectiveID == directive {
			states = append(states, comp.State)
			mode = comp.Mode
			if comp.Message != "" {
				msgs = append(msgs, comp.Message)
			}
		}
	}
	return states, mode, strings.Join(msgs, "; "), len(states) > 0
}

func allIn(states []string, want ...string) bool {
	if len(states) == 0 {
		return false
	}
	for _, s := range states {
		found := false
		for _, w := range want {
			found = found || s == w
		}
		if !found {
			return false
		}
	}
	return true
}

func anyIs(states []string, want string) bool {
	for _, s := range states {
		if s == want {
			return true
		}
	}
	return false
}

// TestCompliance: a demo agent runs the example policy through a relay; with the motd
// directive in audit and the file tampered with, the root shows rule "demo" non-compliant
// for that node with the agent's message, a drift line appears in the root's log and a hook
// receives the event; switched to enforce, the next run shows repaired, then success.
func TestCompliance(t *testing.T) {
	f := newFleet(t)
	addrs := f.initRoot()
	rootData := filepath.Join(f.dir, "root")
	hookOut := filepath.Join(f.dir, "hook-events")
	for _, kind := range []string{"non-compliant", "repaired"} {
		dir := filepath.Join(rootData, "hooks", kind)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		hook := fmt.Sprintf("#!/bin/sh\n{ echo \"hook $BOSUN_EVENT_KIND $BOSUN_NODE_ID $BOSUN_DIRECTIVE_ID\"; cat; } >> %s\n", hookOut)
		if err := os.WriteFile(filepath.Join(dir, "record"), []byte(hook), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f.startRoot(addrs)
	relayAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	f.startRelay("relay1", relayAddr, addrs.quic)
	f.startRunAgent("agent1", relayAddr)
	var agent node
	for _, h := range []string{hostnameOf(t), "agent1"} {
		n := f.waitNode(h, "pending")
		f.must("nodes", "accept", n.ID)
		if h == "agent1" {
			agent = n
		}
	}

	example, err := os.ReadFile("../examples/demo-policy.yml")
	if err != nil {
		t.Fatal(err)
	}
	enforce := filepath.Join(f.dir, "enforce")
	audit := filepath.Join(f.dir, "audit")
	for dir, text := range map[string]string{
		enforce: string(example),
		audit:   strings.Replace(string(example), "technique: motd\n", "technique: motd\npolicy_mode: audit\n", 1),
	} {
		if !strings.Contains(text, "technique: motd") {
			t.Fatal("the example policy has no motd directive")
		}
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, "demo.yml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	motd := filepath.Join(f.dir, "agent1-tree/tmp/bosun-demo/motd")

	// Enforce: the motd is written and its components become compliant.
	f.must("apply", "-f", enforce)
	eventually(t, 60*time.Second, "demo-motd compliant in enforce", func() (bool, string) {
		c, s := f.complianceNode(agent.ID)
		st, mode, _, ok := c.states("demo-motd")
		return ok && mode == "enforce" && allIn(st, "success", "repaired", "not-applicable"), s
	})

	// Audit, then tampering: non-compliant with the agent's message.
	f.must("apply", "-f", audit)
	eventually(t, 60*time.Second, "demo-motd compliant in audit", func() (bool, string) {
		c, s := f.complianceNode(agent.ID)
		st, mode, _, ok := c.states("demo-motd")
		return ok && mode == "audit" && allIn(st, "compliant", "audit-not-applicable"), s
	})
	if err := os.WriteFile(motd, []byte("tampered\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var message string
	eventually(t, 60*time.Second, "demo-motd non-compliant", func() (bool, string) {
		c, s := f.complianceNode(agent.ID)
		st, _, msg, ok := c.states("demo-motd")
		message = msg
		return ok && anyIs(st, "non-compliant") && msg != "", s
	})
	t.Logf("agent's message: %s", message)
	if b, _ := os.ReadFile(motd); string(b) != "tampered\n" {
		t.Errorf("audit changed the file: %q", b)
	}
	out := f.must("compliance", "rule", "demo", "--state", "non-compliant")
	if !strings.Contains(out, agent.ID) || !strings.Contains(out, "non-compliant") || !strings.Contains(out, "demo-motd") {
		t.Errorf("compliance rule demo --state non-compliant:\n%s", out)
	}
	if !strings.Contains(out, firstLine(message)) {
		t.Errorf("compliance rule demo lacks the agent's message %q:\n%s", message, out)
	}
	var rule struct {
		Rule  struct{ NodesCompliant, Nodes int64 }
		Nodes []struct {
			NodeID string
			Worst  string
		}
	}
	if err := json.Unmarshal([]byte(f.must("compliance", "rule", "demo", "--json")), &rule); err != nil {
		t.Fatal(err)
	}
	for _, n := range rule.Nodes {
		if n.NodeID == agent.ID && n.Worst != "non-compliant" && n.Worst != "audit-error" && n.Worst != "error" {
			t.Errorf("rule demo, agent1: worst %q, want non-compliant (or worse)", n.Worst)
		}
	}
	if rule.Rule.NodesCompliant == rule.Rule.Nodes {
		t.Errorf("rule demo: %d of %d nodes compliant with agent1 non-compliant", rule.Rule.NodesCompliant, rule.Rule.Nodes)
	}
	driftLog := filepath.Join(rootData, "log", "non-compliant-reports.log")
	eventually(t, 30*time.Second, "a drift line for the tampered motd", func() (bool, string) {
		b, _ := os.ReadFile(driftLog)
		return hasDrift(b, "non-compliant", agent.ID, "demo-motd"), string(b)
	})
	eventually(t, 30*time.Second, "the hook receiving the event", func() (bool, string) {
		b, _ := os.ReadFile(hookOut)
		return strings.Contains(string(b), "hook non-compliant "+agent.ID+" demo-motd") && hasDrift(b, "non-compliant", agent.ID, "demo-motd"), string(b)
	})

	// Enforce again: repaired, then success.
	f.must("apply", "-f", enforce)
	eventually(t, 60*time.Second, "demo-motd compliant again in enforce", func() (bool, string) {
		c, s := f.complianceNode(agent.ID)
		st, mode, _, ok := c.states("demo-motd")
		return ok && mode == "enforce" && allIn(st, "success", "not-applicable"), s
	})
	if b, _ := os.ReadFile(motd); !strings.Contains(string(b), "Welcome to bosun demo.") {
		t.Errorf("motd not repaired: %q", b)
	}
	var history struct {
		Changes []struct {
			DirectiveID, From, To string
			RunID                 uint64
		}
	}
	if err := json.Unmarshal([]byte(f.must("compliance", "history", agent.ID, "--json")), &history); err != nil {
		t.Fatal(err)
	}
	var seq []string
	var repairedRun, successRun uint64
	for _, c := range history.Changes {
		if c.DirectiveID != "demo-motd" {
			continue
		}
		seq = append(seq, c.From+"→"+c.To)
		if c.To == "repaired" && repairedRun == 0 && strings.Contains(strings.Join(seq, " "), "non-compliant") {
			repairedRun = c.RunID
		}
		if c.From == "repaired" && c.To == "success" && repairedRun != 0 {
			successRun = c.RunID
		}
	}
	if repairedRun == 0 || successRun <= repairedRun {
		t.Errorf("demo-motd changes: got %v, want non-compliant, then repaired, then success on a later run", seq)
	}
	eventually(t, 30*time.Second, "a drift line for the repair", func() (bool, string) {
		b, _ := os.ReadFile(driftLog)
		return hasDrift(b, "repaired", agent.ID, "demo-motd"), string(b)
	})
	t.Logf("bosun compliance:\n%s", f.must("compliance"))
	if out := f.must("compliance", "group", "demo-linux"); !strings.Contains(out, "Group demo-linux") || !strings.Contains(out, "nodes") {
		t.Errorf("compliance group:\n%s", out)
	}
	t.Logf("bosun nodes list:\n%s", f.must("nodes", "list", "--sort", "compliance"))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// hasDrift reports whether a drift log (or a hook's stdin) holds an event of that kind, node
// and directive.
func hasDrift(b []byte, kind, nodeID, directive string) bool {
	for _, line := range strings.Split(string(b), "\n") {
		var ev struct{ Kind, NodeID, DirectiveID, Message string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Kind == kind && ev.NodeID == nodeID && ev.DirectiveID == directive {
			return true
		}
	}
	return false
}
