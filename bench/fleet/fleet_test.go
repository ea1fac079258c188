package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/mesh"
)

func TestParseMix(t *testing.T) {
	tests := []struct {
		in      string
		want    Mix
		wantErr bool
	}{
		{"compliant=90,drift=6,error=2,silent=2", DefaultMix, false},
		{"compliant=50, drift=50", Mix{Compliant: 50, Drift: 50}, false},
		{"compliant=90", Mix{}, true},
		{"compliant=90,lazy=10", Mix{}, true},
		{"compliant=x", Mix{}, true},
	}
	for _, tt := range tests {
		got, err := ParseMix(tt.in)
		if (err != nil) != tt.wantErr || !tt.wantErr && got != tt.want {
			t.Errorf("ParseMix(%q): got %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if m, err := ParseMix(DefaultMix.String()); err != nil || m != DefaultMix {
		t.Errorf("DefaultMix does not read back: %+v, %v", m, err)
	}
}

// TestNodes: nodes are reproducible from the seed, have valid ids, and follow the mix.
func TestNodes(t *testing.T) {
	a := makeNodes(2000, 7, DefaultMix, 5*time.Minute)
	b := makeNodes(2000, 7, DefaultMix, 5*time.Minute)
	counts := map[behaviour]int{}
	ids := map[string]bool{}
	for i := range a {
		if a[i].id != b[i].id || !a[i].key.Equal(b[i].key) || a[i].offset != b[i].offset {
			t.Fatalf("node %d differs between two makes with one seed", i)
		}
		if err := mesh.CheckNodeID(a[i].id); err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if ids[a[i].id] {
			t.Fatalf("node %d: id %s twice", i, a[i].id)
		}
		ids[a[i].id] = true
		counts[a[i].does]++
	}
	if counts[compliant] < 1700 || counts[drift] < 70 || counts[failing] < 15 || counts[silent] < 15 {
		t.Errorf("behaviours of 2,000 nodes: %v, want about 90/6/2/2 %%", counts)
	}
}

// TestSynthInventory: a synthesised inventory is one the root takes, and encodes to a few kB.
func TestSynthInventory(t *testing.T) {
	now := time.Now()
	for _, n := range makeNodes(20, 1, DefaultMix, time.Minute) {
		inv := synthInventory(n, 3, now)
		if err := inv.Validate(); err != nil {
			t.Fatalf("node %d: %v", n.index, err)
		}
		b, err := inventory.Marshal(inv)
		if err != nil {
			t.Fatal(err)
		}
		back, err := inventory.Unmarshal(b)
		if err != nil || back.Hostname != n.host || len(back.Software) != len(inv.Software) {
			t.Fatalf("node %d: round trip: %v", n.index, err)
		}
		if len(b) < 1000 || len(b) > 20000 {
			t.Errorf("node %d: inventory of %d bytes encoded, want a few kB", n.index, len(b))
		}
	}
}

func TestModelYAML(t *testing.T) {
	y := modelYAML(50)
	if got := strings.Count(y, "kind: directive"); got != 40+4*10 {
		t.Errorf("got %d directives, want 80 (40 for every node, 10 per family)", got)
	}
	if got := strings.Count(y, "kind: rule"); got != 5 {
		t.Errorf("got %d rules, want 5", got)
	}
	if !strings.Contains(changeYAML(1), "id: debian-000") || !strings.Contains(y, "id: debian-000") {
		t.Error("the change does not name a directive of the model")
	}
}
