package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type member struct {
	NodeID string
	Zone   string
	State  string
	Via    string
}

func (f *fleet) members() ([]member, string) {
	out, errOut, code := f.run("mesh", "members", "--json")
	if code != 0 {
		return nil, errOut
	}
	var l struct{ Members []member }
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, err.Error()
	}
	return l.Members, out
}

func (f *fleet) memberState(id string) (string, string) {
	ms, seen := f.members()
	for _, m := range ms {
		if m.NodeID == id {
			return m.State, seen
		}
	}
	return "", seen
}

// TestGossipAndFailover: a zone of two relays and two agents gossiping on loopback. The
// root learns within seconds that a killed agent is dead; an agent whose relay is killed
// fails over to the zone's other relay, vouched for by the root, and comes back when its
// relay returns; a key rotation keeps the zone together.
func TestGossipAndFailover(t *testing.T) {
	f := newFleet(t)
	addrs := f.initRoot()
	rootGossip := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	root := f.start("root", "root", "--data", filepath.Join(f.dir, "root"), "--listen", addrs.quic, "--api-listen", addrs.api,
		"--gossip-listen", rootGossip, "--gossip-profile", "local", "--log-level", "debug")
	relay := func(name, listen string) *proc {
		return f.start(name, "relay", "--data", filepath.Join(f.dir, name), "--listen", listen, "--upstream", addrs.quic,
			"--zone", "dock", "--gossip-listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--gossip-profile", "local",
			"--core-gossip-listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--core-gossip-profile", "local",
			"--stats-interval", "1s", "--upstream-timeout", "2s", "--log-level", "debug", "--metrics-listen", "")
	}
	agent := func(name, server string) *proc {
		return f.start(name, "agent", "--data", filepath.Join(f.dir, name), "--server", server, "--hostname", name,
			"--interval", "1s", "--server-timeout", "3s", "--gossip-listen", "127.0.0.1:0", "--gossip-profile", "local", "--log-level", "debug")
	}
	addrA := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	addrB := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	relayA := relay("relayA", addrA)
	relay("relayB", addrB)
	eventually(t, 30*time.Second, "both relays enrolled", func() (bool, string) {
		nodes, err := f.nodes()
		return err == nil && len(nodes) == 2, fmt.Sprint(nodes, err)
	})
	nodes, _ := f.nodes()
	for _, n := range nodes {
		f.must("nodes", "accept", n.ID)
	}
	agent1 := agent("agent1", addrA)
	agent2 := agent("agent2", addrA)
	a1 := f.waitNode("agent1", "pending")
	a2 := f.waitNode("agent2", "pending")
	f.must("nodes", "accept", a1.ID, a2.ID)

	eventually(t, 60*time.Second, "both agents alive in the zone's gossip", func() (bool, string) {
		s1, seen := f.memberState(a1.ID)
		s2, _ := f.memberState(a2.ID)
		return s1 == "alive" && s2 == "alive", seen
	})
	eventually(t, 30*time.Second, "the relays alive in the core pool", func() (bool, string) {
		out := f.must("mesh", "members", "--zone", "core")
		return strings.Count(out, " relay ") == 2 && strings.Contains(out, " root "), out + "\nall:\n" + f.must("mesh", "members")
	})

	// Kill an agent the hard way: the root learns it is dead from its zone's gossip.
	killed := time.Now()
	agent2.kill()
	eventually(t, 30*time.Second, "agent2 dead in nodes list", func() (bool, string) {
		out, _, _ := f.run("nodes", "list", "--json")
		var l struct {
			Nodes []struct{ ID, Liveness string }
		}
		_ = json.Unmarshal([]byte(out), &l)
		for _, n := range l.Nodes {
			if n.ID == a2.ID {
				return n.Liveness == "dead", out
			}
		}
		return false, out
	})
	t.Logf("the root knew agent2 dead %v after it was killed", time.Since(killed).Round(100*time.Millisecond))

	// Kill agent1's relay: agent1 fails over to relayB, then comes back to relayA.
	relayA.kill()
	eventually(t, 60*time.Second, "agent1 failed over", func() (bool, string) {
		return strings.Contains(agent1.log(), "failed over to another relay of the zone"), "agent1 log"
	})
	relayA = relay("relayA", addrA)
	eventually(t, 60*time.Second, "agent1 back on its relay", func() (bool, string) {
		return strings.Contains(agent1.log(), "own policy server back"), "agent1 log"
	})

	// A key rotation in quick steps: the zone stays together.
	f.must("mesh", "keys", "rotate", "--step", "3s")
	eventually(t, 60*time.Second, "the new key in use and agent1 alive", func() (bool, string) {
		out := f.must("mesh", "keys")
		s, seen := f.memberState(a1.ID)
		return strings.Count(out, "sha256:") >= 2 && s == "alive", out + seen
	})
	root.stop(t)
}
