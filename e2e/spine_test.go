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

// rootProc starts the root of a fleet on fixed ports, so that it can be restarted on them.
type rootAddrs struct{ quic, api string }

func (f *fleet) initRoot() rootAddrs {
	f.t.Helper()
	a := rootAddrs{
		quic: fmt.Sprintf("127.0.0.1:%d", freePort(f.t)),
		api:  fmt.Sprintf("127.0.0.1:%d", freePort(f.t)),
	}
	out := f.must("root", "init", "--data", filepath.Join(f.dir, "root"), "--api-url", "https://"+a.api)
	if !strings.Contains(out, "admin token:") {
		f.t.Fatalf("root init did not print the admin token:\n%s", out)
	}
	return a
}

func (f *fleet) startRoot(a rootAddrs) *proc {
	return f.start("root", "root", "--data", filepath.Join(f.dir, "root"), "--listen", a.quic, "--api-listen", a.api, "--log-level", "debug", "--gossip-listen", "")
}

func (f *fleet) startRelay(name, listen, upstream string, extra ...string) *proc {
	args := []string{"relay", "--data", filepath.Join(f.dir, name), "--listen", listen, "--upstream", upstream, "--log-level", "debug",
		"--stats-interval", "1s", "--upstream-timeout", "2s", "--gossip-listen", "", "--core-gossip-listen", "",
		// Relays share this machine: the default metrics port would be taken by the first.
		"--metrics-listen", ""}
	return f.start(name, append(args, extra...)...)
}

func (f *fleet) startAgent(name, server string) *proc {
	return f.start(name, "agent", "--data", filepath.Join(f.dir, name), "--server", server, "--hostname", name, "--log-level", "debug", "--interval", "1s")
}

// TestEnrolThroughRelay is the spine's story: an agent enrols through a relay, an operator
// accepts it with the CLI, and nothing is forgotten when relay and root restart, or when the
// relay is killed while holding an enrolment the root has not seen.
func TestEnrolThroughRelay(t *testing.T) {
	f := newFleet(t)
	addrs := f.initRoot()
	root := f.startRoot(addrs)
	relayAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	relay := f.startRelay("relay1", relayAddr, addrs.quic)
	agent := f.startAgent("agent1", relayAddr)

	relayNode := f.waitNode(hostnameOf(t), "pending")
	agentNode := f.waitNode("agent1", "pending")
	if agentNode.Role != "agent" || relayNode.Role != "relay" {
		t.Errorf("roles: got agent %q relay %q", agentNode.Role, relayNode.Role)
	}
	if agentNode.PolicyServer != relayNode.ID {
		t.Errorf("agent's policy server: got %q, want the relay %q", agentNode.PolicyServer, relayNode.ID)
	}

	out := f.must("nodes", "accept", relayNode.ID, agentNode.ID)
	if strings.Count(out, "accepted") != 2 {
		t.Errorf("nodes accept printed:\n%s", out)
	}
	f.waitNode("agent1", "accepted")
	table := f.must("nodes", "list")
	if !strings.Contains(table, "agent1") || !strings.Contains(table, "HOSTNAME") {
		t.Errorf("nodes list table:\n%s", table)
	}

	// Every hop reports its queue and uplink; the root shows them.
	eventually(t, 30*time.Second, "the relay's figures at the root", func() (bool, string) {
		out, _, code := f.run("relays", "list", "--json")
		var l struct {
			Relays []struct {
				Nodes int
				Stats *struct {
					UpstreamUp bool
					Forwarded  uint64
					BytesSent  uint64
				}
			}
		}
		if code != 0 || json.Unmarshal([]byte(out), &l) != nil || len(l.Relays) != 1 {
			return false, out
		}
		r := l.Relays[0]
		return r.Nodes == 1 && r.Stats != nil && r.Stats.UpstreamUp && r.Stats.Forwarded >= 1 && r.Stats.BytesSent > 0, out
	})
	if table := f.must("relays", "list"); !strings.Contains(table, "UPSTREAM") || !strings.Contains(table, " up ") {
		t.Errorf("relays list:\n%s", table)
	}

	// Restart relay and root cleanly: the registry and the relay's identity survive.
	agent.stop(t)
	relay.stop(t)
	root.stop(t)
	root = f.startRoot(addrs)
	relay = f.startRelay("relay1", relayAddr, addrs.quic)
	n := f.waitNode("agent1", "accepted")
	if n.ID != agentNode.ID {
		t.Errorf("after restart: agent1 has id %s, want %s", n.ID, agentNode.ID)
	}
	if r := f.waitNode(hostnameOf(t), "accepted"); r.ID != relayNode.ID {
		t.Errorf("after restart the relay has id %s, want %s (its identity was lost)", r.ID, relayNode.ID)
	}

	// With the root down, a second agent enrols: the relay holds the enrolment durably, is
	// killed (no clean shutdown), restarts, and delivers it once the root is back.
	root.stop(t)
	agent2 := f.startAgent("agent2", relayAddr)
	eventually(t, 30*time.Second, "agent2's enrolment queued at the relay", func() (bool, string) {
		return strings.Contains(relay.log(), "hostname=agent2"), "relay log without agent2's enrolment"
	})
	agent2.stop(t)
	relay.kill()
	relay = f.startRelay("relay1", relayAddr, addrs.quic)
	root = f.startRoot(addrs)
	a2 := f.waitNode("agent2", "pending")
	if a2.PolicyServer != relayNode.ID {
		t.Errorf("agent2's policy server: got %q, want %q", a2.PolicyServer, relayNode.ID)
	}

	relay.stop(t)
	root.stop(t)
}

func hostnameOf(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
