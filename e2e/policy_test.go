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

// heldPolicy is what `bosun agent policy --json` prints, in part.
type heldPolicy struct {
	NodeID     string
	ConfigID   string
	Directives []struct{ DirectiveID, RuleName string }
}

func (f *fleet) agentPolicy(agent string) (heldPolicy, string) {
	out, errOut, code := f.run("agent", "policy", "--data", filepath.Join(f.dir, agent), "--json")
	if code != 0 {
		return heldPolicy{}, errOut
	}
	var p heldPolicy
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		return heldPolicy{}, err.Error()
	}
	return p, out
}

func (p heldPolicy) has(directive string) bool {
	for _, d := range p.Directives {
		if d.DirectiveID == directive {
			return true
		}
	}
	return false
}

const onlyAgent1 = `kind: group
id: only-agent1
name: Only agent1
criteria:
  fact: hostname
  op: equals
  value: agent1
---
kind: directive
id: agent1-sysctl
name: Agent1 swappiness
technique: sysctl
policy_mode: audit
params:
  key: vm.swappiness
  value: "%d"
---
kind: rule
id: agent1-only
name: Agent1 only
directives: [agent1-sysctl]
targets:
  include: [only-agent1]
`

// TestPolicyDistribution: the example policy reaches every agent as a signed policy; a
// change to a directive reaches only the nodes it applies to; a revert restores the
// previous policy, config id included.
func TestPolicyDistribution(t *testing.T) {
	f := newFleet(t)
	addrs := f.initRoot()
	root := f.startRoot(addrs)
	relayAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	f.startRelay("relay1", relayAddr, addrs.quic)
	f.startAgent("agent1", relayAddr)
	f.startAgent("agent2", relayAddr)
	for _, h := range []string{hostnameOf(t), "agent1", "agent2"} {
		n := f.waitNode(h, "pending")
		f.must("nodes", "accept", n.ID)
	}

	extra := filepath.Join(f.dir, "agent1.yml")
	if err := os.WriteFile(extra, []byte(fmt.Sprintf(onlyAgent1, 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := f.must("apply", "-f", "../examples", "-f", extra)
	if !strings.Contains(out, "created") || !strings.Contains(out, "event") {
		t.Errorf("apply printed:\n%s", out)
	}
	if again := f.must("apply", "-f", "../examples", "-f", extra); !strings.Contains(again, "nothing to change") {
		t.Errorf("applying again must change nothing, printed:\n%s", again)
	}

	var p1, p2 heldPolicy
	eventually(t, 60*time.Second, "both agents holding the demo policy, agent1 also its own directive", func() (bool, string) {
		var s1, s2 string
		p1, s1 = f.agentPolicy("agent1")
		p2, s2 = f.agentPolicy("agent2")
		return p1.has("demo-motd") && p1.has("agent1-sysctl") && p2.has("demo-motd"), s1 + "\n" + s2
	})
	if p2.has("agent1-sysctl") {
		t.Errorf("agent2 got agent1's directive")
	}

	// Change the directive that reaches agent1 only. directives update takes only
	// directives, and only existing ones.
	directive := filepath.Join(f.dir, "directive.yml")
	doc := strings.Split(fmt.Sprintf(onlyAgent1, 60), "---\n")[1]
	if err := os.WriteFile(directive, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := f.run("directives", "update", "-f", extra); code == 0 || !strings.Contains(stderr, "not a directive") {
		t.Errorf("directives update of a file with a group: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := f.run("directives", "create", "-f", directive); code == 0 || !strings.Contains(stderr, "already exists") {
		t.Errorf("directives create of an existing directive: exit %d, stderr %q", code, stderr)
	}
	out = f.must("directives", "update", "-f", directive)
	if !strings.Contains(out, "updated") || !strings.Contains(out, "agent1-sysctl") {
		t.Errorf("directives update printed:\n%s", out)
	}
	var p1b heldPolicy
	eventually(t, 60*time.Second, "agent1 holding a new policy", func() (bool, string) {
		var s string
		p1b, s = f.agentPolicy("agent1")
		return p1b.ConfigID != "" && p1b.ConfigID != p1.ConfigID, s
	})
	if p2b, _ := f.agentPolicy("agent2"); p2b.ConfigID != p2.ConfigID {
		t.Errorf("agent2's config id changed from %s to %s, though the change does not reach it", p2.ConfigID, p2b.ConfigID)
	}
	var show struct {
		Policy struct{ ConfigID string }
	}
	if err := json.Unmarshal([]byte(f.must("policy", "show", "--json", p2.NodeID)), &show); err != nil || show.Policy.ConfigID != p2.ConfigID {
		t.Errorf("policy show of agent2: config id %q, err %v; want %s", show.Policy.ConfigID, err, p2.ConfigID)
	}

	why := f.must("policy", "why", p1.NodeID, "agent1-sysctl")
	if !strings.Contains(why, "agent1-only") || !strings.Contains(why, "only-agent1") || !strings.Contains(why, "audit") {
		t.Errorf("policy why:\n%s", why)
	}

	// Revert the update: agent1 comes back to the content, and so the config id, it had.
	var evs struct {
		Events []struct {
			ID   uint64
			What string
		}
	}
	if err := json.Unmarshal([]byte(f.must("events", "--json")), &evs); err != nil || len(evs.Events) < 2 {
		t.Fatalf("events: %v %+v", err, evs)
	}
	f.must("events", "revert", fmt.Sprint(evs.Events[0].ID))
	eventually(t, 60*time.Second, "agent1 back on its first policy", func() (bool, string) {
		p, s := f.agentPolicy("agent1")
		return p.ConfigID == p1.ConfigID, s
	})

	// A broken document changes nothing and names where it is wrong.
	bad := filepath.Join(f.dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("kind: directive\nid: broken\nname: Broken\ntechnique: no-such-technique\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := f.run("apply", "-f", bad)
	if code != 1 || !strings.Contains(stderr, "bad.yml") || !strings.Contains(stderr, "no-such-technique") {
		t.Errorf("bad apply: exit %d, stderr %q", code, stderr)
	}
	// Node properties show where each value comes from; a node's own mode overrides the
	// global one where overrides are allowed, and reaches that node only.
	props := f.must("nodes", "properties", p2.NodeID, "--set", "datacenter=paris")
	if !strings.Contains(props, "datacenter") || !strings.Contains(props, "node (operator)") || !strings.Contains(props, "demo_org") || !strings.Contains(props, "global") {
		t.Errorf("nodes properties:\n%s", props)
	}
	f.must("nodes", "settings", p2.NodeID, "--policy-mode", "audit")
	eventually(t, 60*time.Second, "agent2 on a new policy after its mode changed", func() (bool, string) {
		p, s := f.agentPolicy("agent2")
		return p.ConfigID != "" && p.ConfigID != p2.ConfigID, s
	})
	if why := f.must("policy", "why", p2.NodeID, "demo-motd"); !strings.Contains(why, "audit") {
		t.Errorf("policy why after the node's mode became audit:\n%s", why)
	}
	if evs := f.must("events"); !strings.Contains(evs, "set settings of node") || !strings.Contains(evs, "accepted node") {
		t.Errorf("the event log lacks the node changes:\n%s", evs)
	}

	status := f.must("policy", "status")
	if !strings.Contains(status, "generation: idle") {
		t.Errorf("policy status:\n%s", status)
	}
	root.stop(t)
}
