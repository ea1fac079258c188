package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAirGap: a zone whose uplink is a USB stick. The relay's queue goes to the root as a
// bundle, taken once; the root's policies go to the relay as a bundle.
func TestAirGap(t *testing.T) {
	f := newFleet(t)
	addrs := f.initRoot()
	root := f.startRoot(addrs)
	relayAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	relay := f.startRelay("relay1", relayAddr, addrs.quic)
	f.startAgent("agent1", relayAddr)
	relayNode := f.waitNode(hostnameOf(t), "pending")
	agentNode := f.waitNode("agent1", "pending")
	f.must("nodes", "accept", relayNode.ID, agentNode.ID)
	f.must("apply", "-f", "../examples")
	eventually(t, 60*time.Second, "agent1 holding a policy", func() (bool, string) {
		p, s := f.agentPolicy("agent1")
		return p.ConfigID != "", s
	})

	// The uplink goes: a new agent enrols; the relay holds its enrolment and inventory.
	root.stop(t)
	agent2 := f.startAgent("agent2", relayAddr)
	eventually(t, 30*time.Second, "agent2's enrolment queued", func() (bool, string) {
		return strings.Contains(relay.log(), "hostname=agent2"), "relay log"
	})
	agent2.stop(t)
	relay.stop(t)

	bundle := filepath.Join(f.dir, "zone.bundle")
	out := f.must("relay", "export", "--data", filepath.Join(f.dir, "relay1"), "--to", bundle)
	if !strings.Contains(out, "items") {
		t.Errorf("relay export printed: %s", out)
	}
	if _, stderr, code := f.run("relay", "export", "--data", filepath.Join(f.dir, "relay1"), "--to", bundle); code == 0 || !strings.Contains(stderr, "exists") {
		t.Errorf("export over an existing file: exit %d, %s", code, stderr)
	}

	root = f.startRoot(addrs)
	eventually(t, 20*time.Second, "the API up", func() (bool, string) { _, e, c := f.run("nodes", "list"); return c == 0, e })
	if _, ok, _ := f.nodeByHostname("agent2"); ok {
		t.Fatal("agent2 reached the root without the bundle")
	}
	out = f.must("root", "import", bundle)
	if !strings.Contains(out, "items taken") {
		t.Errorf("root import printed: %s", out)
	}
	f.waitNode("agent2", "pending")
	if out := f.must("root", "import", bundle); !strings.Contains(out, "imported before") {
		t.Errorf("second import printed: %s", out)
	}

	// The other way: the root's policies for the relay's nodes, into the stopped relay.
	pbundle := filepath.Join(f.dir, "policies.bundle")
	out = f.must("root", "export-policies", "--relay", relayNode.ID, "--to", pbundle)
	if !strings.HasPrefix(out, "1 policies") {
		t.Errorf("export-policies printed: %s", out)
	}
	out = f.must("relay", "import-policies", "--data", filepath.Join(f.dir, "relay1"), pbundle)
	if !strings.HasPrefix(out, "1 policies loaded") {
		t.Errorf("import-policies printed: %s", out)
	}
	// A bundle altered on the way is refused whole.
	if _, stderr, code := f.run("root", "import", pbundle); code == 0 || !strings.Contains(stderr, "bundle") {
		t.Errorf("importing a policies bundle at the root: exit %d, %s", code, stderr)
	}
	root.stop(t)
}
