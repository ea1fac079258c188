package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestChainWithMiddleCut: agent → relay2 → relay1 → root, with the link between relay2 and
// relay1 cut and lossy. What the far agent sent arrives once the link returns, with the
// whole path recorded.
func TestChainWithMiddleCut(t *testing.T) {
	f := newFleet(t)
	addrs := f.initRoot()
	root := f.startRoot(addrs)
	r1Addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	r2Addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	f.startRelay("relay1", r1Addr, addrs.quic)
	proxy := newUDPProxy(t, r1Addr)
	relay2 := f.startRelay("relay2", r2Addr, proxy.addr())
	// Both relays run on this machine under its host name: tell them apart by id.
	r1 := f.waitNode(hostnameOf(t), "pending")
	if id, err := os.ReadFile(filepath.Join(f.dir, "relay1", "node.id")); err == nil {
		r1.ID = strings.TrimSpace(string(id))
	}
	f.must("nodes", "accept", r1.ID)
	eventually(t, 30*time.Second, "both relays enrolled", func() (bool, string) {
		nodes, err := f.nodes()
		return err == nil && len(nodes) == 2, fmt.Sprint(nodes, err)
	})
	nodes, _ := f.nodes()
	for _, n := range nodes {
		f.must("nodes", "accept", n.ID)
	}

	proxy.setCut(true)
	f.startAgent("far-agent", r2Addr)
	eventually(t, 30*time.Second, "the far agent's enrolment queued at relay2", func() (bool, string) {
		return strings.Contains(relay2.log(), "hostname=far-agent"), "relay2 log"
	})
	eventually(t, 30*time.Second, "relay2 failing against the cut link", func() (bool, string) {
		log := relay2.log()
		i := strings.Index(log, "hostname=far-agent")
		return i >= 0 && strings.Contains(log[i:], "upstream unavailable"), "relay2 log"
	})
	if _, ok, _ := f.nodeByHostname("far-agent"); ok {
		t.Fatal("the far agent reached the root across a cut link")
	}
	proxy.setCut(false)
	proxy.setLoss(0.2, 20*time.Millisecond)
	n := f.waitNode("far-agent", "pending")
	if len(n.Path) != 2 || n.Path[1] != r1.ID {
		t.Errorf("path of the far agent: got %v, want [relay2 relay1]", n.Path)
	}
	t.Logf("proxy: %d packets, %d dropped", proxy.packets.Load(), proxy.dropped.Load())
	root.stop(t)
}
