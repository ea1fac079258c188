package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shownInventory is what `bosun nodes show --json` prints, in part.
type shownInventory struct {
	SchemaVersion int  `json:"schemaVersion"`
	Node          node `json:"node"`
	Inventory     *struct {
		Hostname string `json:"hostname"`
		Source   string `json:"source"`
		OS       struct {
			Name         string `json:"name"`
			Version      string `json:"version"`
			Architecture string `json:"arch"`
		} `json:"os"`
		Memory struct {
			Total uint64 `json:"total"`
		} `json:"memory"`
		Software []struct {
			Name string `json:"name"`
		} `json:"software"`
	} `json:"inventory"`
}

func (f *fleet) showNode(id string) (shownInventory, string) {
	out, errOut, code := f.run("nodes", "show", "--json", "--timeout", "5s", id)
	if code != 0 {
		return shownInventory{}, errOut
	}
	var s shownInventory
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return shownInventory{}, err.Error()
	}
	return s, out
}

// thisMachine reads what the inventory must report of the machine running the test.
func thisMachine(t *testing.T) (osName string, memTotal uint64) {
	t.Helper()
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "NAME="); ok {
				osName = strings.Trim(v, `"`)
			}
		}
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Skipf("no /proc/meminfo: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			memTotal = kb * 1024
		}
	}
	return osName, memTotal
}

// TestInventoryWorkflow: an agent behind a relay sends its inventory; the root shows this
// machine's real values; an unchanged second inventory costs a small delta; the stock
// fusioninventory-agent inventories the machine into the root; a corrupted file in the
// drop directory lands in failed/ with its reason.
func TestInventoryWorkflow(t *testing.T) {
	f := newFleet(t)
	addrs := f.initRoot()
	root := f.startRoot(addrs)
	relayAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	relay := f.startRelay("relay1", relayAddr, addrs.quic)
	agent := f.startAgent("agent1", relayAddr)

	n := f.waitNode("agent1", "pending")
	var shown shownInventory
	eventually(t, 30*time.Second, "agent1's inventory at the root", func() (bool, string) {
		s, seen := f.showNode(n.ID)
		shown = s
		return s.Inventory != nil, seen
	})
	osName, mem := thisMachine(t)
	inv := shown.Inventory
	if inv.Hostname != "agent1" || inv.Source != "agent" {
		t.Errorf("inventory: hostname %q source %q, want agent1 from the agent", inv.Hostname, inv.Source)
	}
	if osName != "" && inv.OS.Name != osName {
		t.Errorf("os.name: got %q, want %q from /etc/os-release", inv.OS.Name, osName)
	}
	if inv.Memory.Total != mem {
		t.Errorf("memory.total: got %d, want %d from /proc/meminfo", inv.Memory.Total, mem)
	}
	if len(inv.Software) == 0 {
		t.Errorf("no software in the inventory of this machine")
	}
	t.Logf("agent1's inventory at the root: %s %s %s, %d bytes of memory, %d packages", inv.OS.Name, inv.OS.Version, inv.OS.Architecture, inv.Memory.Total, len(inv.Software))
	table := f.must("nodes", "show", n.ID)
	for _, want := range []string{"System", "Software (", "agent1"} {
		if !strings.Contains(table, want) {
			t.Errorf("nodes show: no %q in\n%s", want, table)
		}
	}
	if out := f.must("nodes", "list", "--where", "ram>0", "--where", "packages>0", "--quiet"); !strings.Contains(out, n.ID) {
		t.Errorf("nodes list --where ram>0 --where packages>0: %q lacks agent1", out)
	}

	// A second inventory of an unchanged machine is a delta.
	agent.stop(t)
	out := f.must("agent", "inventory", "--data", filepath.Join(f.dir, "agent1"), "--hostname", "agent1")
	m := regexp.MustCompile(`: (full|delta), (\d+) bytes on the wire`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("agent inventory printed %q", out)
	}
	t.Logf("second, unchanged inventory: %s, %s bytes on the wire", m[1], m[2])
	if m[1] != "delta" {
		t.Errorf("second inventory sent %s, want a delta", m[1])
	}
	eventually(t, 30*time.Second, "two inventories in agent1's history", func() (bool, string) {
		o, e, code := f.run("inventory", "diff", n.ID)
		return code == 0, o + e
	})

	t.Run("fusioninventory-agent", func(t *testing.T) {
		bin, err := exec.LookPath("fusioninventory-agent")
		if err != nil {
			t.Skip("fusioninventory-agent not installed (apt-get install fusioninventory-agent): the OCS exchange with the stock agent is not tested")
		}
		conf := filepath.Join(f.dir, "fusioninventory.cfg")
		if err := os.WriteFile(conf, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "--conf-file", conf, "--server", "https://"+addrs.api+"/ocsinventory",
			"--ca-cert-file", filepath.Join(f.dir, "root", "api.crt"), "--tasks", "inventory", "--no-httpd", "--logger", "stderr", "--force")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("fusioninventory-agent: %v\n%s", err, b)
		}
		var got node
		eventually(t, 30*time.Second, "an inventory-only node from fusioninventory-agent", func() (bool, string) {
			out, errOut, code := f.run("nodes", "list", "--role", "inventory", "--json")
			if code != 0 {
				return false, errOut
			}
			var l struct{ Nodes []node }
			json.Unmarshal([]byte(out), &l)
			if len(l.Nodes) == 1 {
				got = l.Nodes[0]
			}
			return len(l.Nodes) == 1, out
		})
		s, seen := f.showNode(got.ID)
		if s.Inventory == nil || s.Inventory.Source != "fusion" || len(s.Inventory.Software) == 0 || s.Inventory.Memory.Total == 0 || got.Status != "pending" {
			t.Errorf("fusioninventory-agent's node: %s", seen)
		}
		if !strings.Contains(root.log(), "inventory imported") {
			t.Errorf("root log says nothing of the import")
		}
	})

	t.Run("drop directory", func(t *testing.T) {
		drop := filepath.Join(f.dir, "root", "inventories")
		bad := filepath.Join(drop, "incoming", "corrupt.ocs")
		if err := os.WriteFile(bad, []byte("<?xml version=\"1.0\"?>\n<REQUEST><CONTENT><HARDWARE><NAME>half"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Unsigned inventories are taken once they are two minutes old.
		old := time.Now().Add(-3 * time.Minute)
		if err := os.Chtimes(bad, old, old); err != nil {
			t.Fatal(err)
		}
		reason := filepath.Join(drop, "failed", "corrupt.ocs.reason")
		eventually(t, 40*time.Second, "corrupt.ocs in failed/ with its reason", func() (bool, string) {
			b, err := os.ReadFile(reason)
			return err == nil && strings.Contains(string(b), "malformed"), fmt.Sprint(err)
		})
		if _, err := os.Stat(filepath.Join(drop, "failed", "corrupt.ocs")); err != nil {
			t.Errorf("corrupt.ocs not in failed/: %v", err)
		}
		b, _ := os.ReadFile(reason)
		t.Logf("failed/corrupt.ocs.reason: %s", strings.TrimSpace(string(b)))
	})

	relay.stop(t)
	root.stop(t)
}
