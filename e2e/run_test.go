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

// startRunAgent starts an agent whose methods act under its own tree, so that agents
// sharing this machine do not share the demo's files, and that runs every 2 s.
func (f *fleet) startRunAgent(name, server string) *proc {
	return f.start(name, "agent", "--data", filepath.Join(f.dir, name), "--server", server, "--hostname", name,
		"--log-level", "debug", "--interval", "1s", "--run-interval", "2s", "--root-prefix", filepath.Join(f.dir, name+"-tree"))
}

// agentInfo is what `bosun agent info --json` prints, in part.
type agentInfo struct {
	NodeID     string
	ConfigID   string
	ForceAudit bool
	Mode       string
	LastRun    *struct {
		RunID      uint64
		ConfigID   string
		ForceAudit bool
		Reported   bool
	}
}

func (f *fleet) agentInfo(name string) (agentInfo, string) {
	out, errOut, code := f.run("agent", "info", "--json", "--data", filepath.Join(f.dir, name))
	if code != 0 {
		return agentInfo{}, errOut
	}
	var in agentInfo
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		return agentInfo{}, err.Error()
	}
	return in, out
}

// TestRunExamplePolicy: the demo agents run the example policy, one in enforce (the motd
// appears and comes back when tampered with), one forced to audit (nothing is written);
// `bosun agent run` prints the A/E table and the summary; reports reach the relay; cut off
// from its relay, an agent keeps running its policy and sends the reports it kept once the
// relay is back.
func TestRunExamplePolicy(t *testing.T) {
	f := newFleet(t)
	addrs := f.initRoot()
	f.startRoot(addrs)
	relayAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	relay := f.startRelay("relay1", relayAddr, addrs.quic)
	f.must("agent", "set-force-audit", "--data", filepath.Join(f.dir, "agent2"))
	f.startRunAgent("agent1", relayAddr)
	f.startRunAgent("agent2", relayAddr)
	for _, h := range []string{hostnameOf(t), "agent1", "agent2"} {
		n := f.waitNode(h, "pending")
		f.must("nodes", "accept", n.ID)
	}
	f.must("apply", "-f", "../examples")

	motd1 := filepath.Join(f.dir, "agent1-tree/tmp/bosun-demo/motd")
	eventually(t, 60*time.Second, "agent1's motd written by its run", func() (bool, string) {
		b, err := os.ReadFile(motd1)
		return err == nil && strings.Contains(string(b), "Welcome to bosun demo."), fmt.Sprintf("%q %v", b, err)
	})
	eventually(t, 60*time.Second, "agent2 having run in audit", func() (bool, string) {
		in, s := f.agentInfo("agent2")
		return in.LastRun != nil && in.LastRun.ConfigID != "" && in.LastRun.ForceAudit && in.Mode == "audit", s
	})
	if _, err := os.Stat(filepath.Join(f.dir, "agent2-tree/tmp/bosun-demo/motd")); err == nil {
		t.Errorf("agent2, forced to audit, wrote its motd")
	}

	// The foreground run beside the daemon: the A/E table and the summary by mode.
	out, errOut, code := f.run("agent", "run", "--data", filepath.Join(f.dir, "agent1"), "--root-prefix", filepath.Join(f.dir, "agent1-tree"))
	if code != 0 && code != 1 {
		t.Fatalf("agent run: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Logf("bosun agent run (exit %d):\n%s", code, out)
	for _, want := range []string{"M  STATUS", "E  success", "motd", "Message of the day", "A  audit-", "openssh-server", "enforce:", "audit:", "% compliant"} {
		if !strings.Contains(out, want) {
			t.Errorf("agent run output lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = f.run("agent", "run", "--data", filepath.Join(f.dir, "agent2"), "--root-prefix", filepath.Join(f.dir, "agent2-tree"))
	if strings.Contains(out, "\nE  ") || !strings.Contains(out, "force-audit is set") || !strings.Contains(out, "A  audit-noncompliant") {
		t.Errorf("agent2 run (force-audit) output:\n%s", out)
	}
	info := f.must("agent", "info", "--data", filepath.Join(f.dir, "agent1"))
	for _, want := range []string{"node id:", "key fingerprint:", "policy server:", "config id:", "mode:", "force-audit:", "last run:"} {
		if !strings.Contains(info, want) {
			t.Errorf("agent info lacks %q:\n%s", want, info)
		}
	}

	// Reports reach the relay, which queues them.
	eventually(t, 30*time.Second, "reports of both agents queued at the relay", func() (bool, string) {
		return strings.Count(relay.log(), "report queued") >= 2, "relay log without two reports"
	})

	// Cut off: the agent keeps running its policy, and keeps its reports.
	relay.stop(t)
	if err := os.WriteFile(motd1, []byte("tampered\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "agent1 repairing its motd with its relay down", func() (bool, string) {
		b, _ := os.ReadFile(motd1)
		return strings.Contains(string(b), "Welcome to bosun demo."), string(b)
	})
	in, _ := f.agentInfo("agent1")
	if in.LastRun == nil {
		t.Fatal("agent1 has no last run")
	}
	cutRun := in.LastRun.RunID
	relay = f.startRelay("relay1", relayAddr, addrs.quic)
	eventually(t, 60*time.Second, "the reports kept while cut off sent to the relay", func() (bool, string) {
		return strings.Contains(relay.log(), fmt.Sprintf("node=%s run=%d ", in.NodeID, cutRun)), "relay log without run " + fmt.Sprint(cutRun)
	})
}
