package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type ledger struct {
	Received, Gaps, Replays, First, Last uint64
}

func (f *fleet) runs(id string) (ledger, string) {
	out, errOut, code := f.run("nodes", "runs", "--json", id)
	if code != 0 {
		return ledger{}, errOut
	}
	var l ledger
	_ = json.Unmarshal([]byte(out), &l)
	return l, out
}

// lastRun is the id of the agent's latest run, as the agent itself records it.
func (f *fleet) lastRun(agent string) uint64 {
	out, _, code := f.run("agent", "info", "--json", "--data", filepath.Join(f.dir, agent))
	if code != 0 {
		return 0
	}
	var info struct {
		LastRun *struct{ RunID uint64 }
	}
	if json.Unmarshal([]byte(out), &info) != nil || info.LastRun == nil {
		return 0
	}
	return info.LastRun.RunID
}

// TestLinkLossRelayKilled: agents keep running while the relay's uplink is cut; the relay is
// killed during the cut and restarted; the link comes back. Every run of every agent reaches
// the root exactly once and in order.
func TestLinkLossRelayKilled(t *testing.T) { linkLoss(t, false, 0) }

// TestLinkLossRootKilledMidDrain: the same, with the root killed and restarted while the
// relay drains what it held.
func TestLinkLossRootKilledMidDrain(t *testing.T) { linkLoss(t, true, 0) }

// TestLinkLossDiskBudget: the relay's disk budget is reached during the cut; it tells the
// agents to retry later, they keep their reports in their spools, and everything arrives
// once the link returns.
func TestLinkLossDiskBudget(t *testing.T) { linkLoss(t, false, 6000) }

func linkLoss(t *testing.T, killRoot bool, queueBytes int) {
	if testing.Short() {
		t.Skip("link-loss scenarios take half a minute each")
	}
	f := newFleet(t)
	addrs := f.initRoot()
	root := f.startRoot(addrs)
	proxy := newUDPProxy(t, addrs.quic)
	relayAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var relayArgs []string
	if queueBytes > 0 {
		relayArgs = []string{"--queue-bytes", fmt.Sprint(queueBytes)}
	}
	relay := f.startRelay("relay1", relayAddr, proxy.addr(), relayArgs...)
	agents := []string{"agent1", "agent2", "agent3"}
	for _, a := range agents {
		f.start(a, "agent", "--data", filepath.Join(f.dir, a), "--server", relayAddr, "--hostname", a,
			"--interval", "1s", "--run-interval", "1s", "--server-timeout", "3s", "--root-prefix", filepath.Join(f.dir, a+"-tree"),
			"--gossip-listen", "", "--log-level", "debug")
	}
	ids := map[string]string{}
	f.must("nodes", "accept", f.waitNode(hostnameOf(t), "pending").ID)
	for _, a := range agents {
		ids[a] = f.waitNode(a, "pending").ID
		f.must("nodes", "accept", ids[a])
	}
	f.must("apply", "-f", "../examples")
	for _, a := range agents {
		eventually(t, 60*time.Second, a+"'s reports reaching the root", func() (bool, string) {
			l, s := f.runs(ids[a])
			return l.Received >= 2, s
		})
	}

	// The uplink goes; agents keep running and reporting to their relay.
	proxy.setCut(true)
	atCut := map[string]uint64{}
	for _, a := range agents {
		atCut[a] = f.lastRun(a)
	}
	for _, a := range agents {
		eventually(t, 60*time.Second, a+" running on during the cut", func() (bool, string) {
			return f.lastRun(a) >= atCut[a]+3, fmt.Sprint(f.lastRun(a))
		})
	}
	// The relay dies holding what it queued, and comes back.
	relay.kill()
	relay = f.startRelay("relay1", relayAddr, proxy.addr(), relayArgs...)
	for _, a := range agents {
		eventually(t, 60*time.Second, a+" running on after the relay's restart", func() (bool, string) {
			return f.lastRun(a) >= atCut[a]+5, fmt.Sprint(f.lastRun(a))
		})
	}
	if queueBytes > 0 {
		eventually(t, 60*time.Second, "the relay refusing past its budget", func() (bool, string) {
			return strings.Contains(relay.log(), "upstream queue full"), "relay log"
		})
	}
	proxy.setCut(false)
	if killRoot {
		eventually(t, 60*time.Second, "the drain under way", func() (bool, string) {
			l, s := f.runs(ids["agent1"])
			return l.Last > atCut["agent1"], s
		})
		root.kill()
		root = f.startRoot(addrs)
	}
	// Every run made before the link came back, and a couple after, must reach the root:
	// runs are numbered one by one, so runs First..Last taken without a gap and without a
	// duplicate prove that none was lost or counted twice. Agents told to retry later by a
	// full relay wait up to a minute before they send again.
	target := map[string]uint64{}
	for _, a := range agents {
		target[a] = f.lastRun(a) + 2
	}
	for _, a := range agents {
		var l ledger
		eventually(t, 150*time.Second, a+"'s runs at the root", func() (bool, string) {
			var s string
			l, s = f.runs(ids[a])
			return l.Last >= target[a], s
		})
		if l.Gaps != 0 || l.Received != l.Last-l.First+1 || l.First != 1 {
			t.Errorf("%s: %d runs taken from %d to %d with %d gaps; want every run from 1, once, in order", a, l.Received, l.First, l.Last, l.Gaps)
		}
		t.Logf("%s: runs %d..%d all at the root, %d resends refused; proxy dropped %d of %d packets",
			a, l.First, l.Last, l.Replays, proxy.dropped.Load(), proxy.packets.Load())
	}
	for _, p := range f.procs {
		for _, a := range agents {
			if p.name == a {
				p.stop(t)
			}
		}
	}
	relay.stop(t)
	root.stop(t)
}
