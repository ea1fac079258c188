package inventory

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"
)

// TestCollectLive collects this machine for real.
func TestCollectLive(t *testing.T) {
	var mu sync.Mutex
	steps := map[string]time.Duration{}
	inv, err := Collect(context.Background(), CollectOptions{
		NodeID: "test-node",
		Progress: func(s string, d time.Duration) {
			mu.Lock()
			steps[s] = d
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("Collect: got %v, want nil", err)
	}
	if inv.Hostname == "" {
		t.Errorf("hostname: got empty, want the machine's")
	}
	if inv.OS.Name == "" {
		t.Errorf("os.name: got empty, want filled (notes %v)", inv.Notes)
	}
	if inv.Memory.Total == 0 {
		t.Errorf("memory.total: got 0, want > 0 (notes %v)", inv.Notes)
	}
	if inv.CollectedAt.IsZero() {
		t.Errorf("collected_at: got zero")
	}
	if _, ok := steps["os"]; !ok {
		t.Errorf("progress: got steps %v, want an os step", steps)
	}
	if os.Getenv("INVENTORY_DUMP") != "" {
		b, _ := json.MarshalIndent(inv, "", " ")
		t.Logf("%s\nsteps %v", b, steps)
	}
}
