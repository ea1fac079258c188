package packaging

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestArm64AgentUnderQEMU runs the linux/arm64 binary, as make release builds it, the way an
// edge box would: its version, the agent's local inventory, and a technique in audit and
// enforce on files under a test-only root prefix. It runs under qemu-user
// (qemu-aarch64-static, from Debian's qemu-user-static) unless this machine is arm64.
func TestArm64AgentUnderQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles bosun for arm64; skipped in -short mode")
	}
	var prefix []string
	if runtime.GOOS != "linux" || runtime.GOARCH != "arm64" {
		qemu := ""
		for _, name := range []string{"qemu-aarch64-static", "qemu-aarch64"} {
			if p, err := exec.LookPath(name); err == nil {
				qemu = p
				break
			}
		}
		if qemu == "" {
			t.Skip("no qemu-aarch64-static to run the arm64 binary: apt-get install qemu-user-static (.ci/run does where it can)")
		}
		prefix = []string{qemu}
	}
	bin := buildBosun(t, "linux", "arm64")
	bosun := func(args ...string) result {
		t.Helper()
		return run(t, nil, append(append(prefix, bin), args...)...)
	}

	if r := bosun("version"); r.code != 0 || !strings.Contains(r.stdout, "linux/arm64") || !strings.Contains(r.stdout, testVersion) {
		t.Fatalf("bosun version under qemu: exit %d %q %s", r.code, r.stdout, r.stderr)
	}

	data := filepath.Join(t.TempDir(), "agent")
	invPath := filepath.Join(t.TempDir(), "inventory.json")
	if r := bosun("agent", "inventory", "--data", data, "--hostname", "edge-arm64", "--local", invPath); r.code != 0 {
		t.Fatalf("agent inventory --local: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var inv struct {
		Hostname string `json:"hostname"`
		OS       struct {
			Name   string `json:"name"`
			Kernel string `json:"kernel"`
		} `json:"os"`
		Agent struct {
			Version string `json:"version"`
		} `json:"agent"`
		Software []json.RawMessage `json:"software"`
		Notes    []struct {
			Field, Reason string
		} `json:"notes"`
	}
	if err := json.Unmarshal(mustRead(t, invPath), &inv); err != nil {
		t.Fatalf("the inventory: %v", err)
	}
	if inv.Hostname != "edge-arm64" || inv.OS.Name == "" || inv.OS.Kernel != "linux" {
		t.Errorf("the arm64 agent's inventory: hostname %q, os %+v; want edge-arm64, a name, linux", inv.Hostname, inv.OS)
	}
	if inv.Agent.Version != testVersion {
		t.Errorf("the inventory's agent version: got %q, want %q", inv.Agent.Version, testVersion)
	}
	if _, err := exec.LookPath("dpkg-query"); err == nil && len(inv.Software) == 0 {
		t.Error("the arm64 agent's inventory lists no software on a dpkg machine")
	}
	t.Logf("inventory under qemu: %s, %d packages, %d notes", inv.OS.Name, len(inv.Software), len(inv.Notes))

	tree := t.TempDir()
	motd := filepath.Join(tree, "etc/motd")
	technique := []string{"agent", "run", "--data", data, "--technique", "../root/policy/library/motd.yml",
		"--root-prefix", tree, "--param", "path=/etc/motd", "--param", "content=hello from arm64"}
	for _, step := range []struct {
		name  string
		audit bool
		code  int
		want  string
	}{
		{"audit finds it missing", true, 1, "A  audit-noncompliant"},
		{"enforce writes it", false, 0, "E  repaired"},
		{"enforce again changes nothing", false, 0, "E  success"},
		{"audit finds it compliant", true, 0, "A  audit-compliant"},
	} {
		args := technique
		if step.audit {
			args = append(append([]string(nil), technique...), "--audit")
		}
		r := bosun(args...)
		if r.code != step.code || !strings.Contains(r.stdout, step.want) {
			t.Fatalf("%s: got exit %d\n%s%s\nwant exit %d and %q", step.name, r.code, r.stdout, r.stderr, step.code, step.want)
		}
		if step.name == "audit finds it missing" {
			if _, err := os.Stat(motd); !os.IsNotExist(err) {
				t.Fatalf("audit wrote %s: %v", motd, err)
			}
		}
	}
	if b := mustRead(t, motd); strings.TrimSpace(string(b)) != "hello from arm64" {
		t.Errorf("%s: got %q", motd, b)
	}
}
