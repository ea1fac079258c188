package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBenchFleet runs the fleet simulator for a few seconds with 50 nodes behind two relays:
// every step (enrolment, acceptance, policies, runs, the change, the burst, the API
// questions) must get through, and the JSON result must hold what the table printed. It
// asserts no figure: figures are compared run to run, never in tests.
func TestBenchFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a root and two relays")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bosunBin, "bench", "fleet", "--nodes", "50", "--relays", "2", "--components", "20",
		"--interval", "1m", "--duration", "2m", "--speed", "30", "--progress-every", "1s", "--out", dir, "--work", filepath.Join(dir, "work"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		logs, _ := filepath.Glob(filepath.Join(dir, "work", "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			t.Logf("--- %s ---\n%s", filepath.Base(l), b)
		}
		t.Fatalf("bosun bench fleet: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	for _, want := range []string{"FIGURE", "compile every policy", "run end → compliance at the root", "fleet compliance summary"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table has no %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "fleet ") {
		t.Errorf("no progress line on stderr:\n%s", errb.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*-50.json"))
	if len(files) != 1 {
		t.Fatalf("got result files %v, want one *-50.json", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		SchemaVersion int
		Config        struct{ Nodes, Relays int }
		Machine       struct{ Cores int }
		Reports       uint64
		Results       uint64
		BurstReports  uint64
		NodeListCount int
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("result %s: %v", files[0], err)
	}
	// 2 % of the nodes stay silent on average; the seed makes it 1 of these 50.
	if res.SchemaVersion != 1 || res.Config.Nodes != 50 || res.Config.Relays != 2 || res.Machine.Cores < 1 ||
		res.Reports == 0 || res.Results < res.Reports || res.BurstReports < 45 || res.NodeListCount != 50 {
		t.Errorf("result: %+v", res)
	}
}
