package inventory

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// corpusInventory parses one corpus inventory, for tests that need a big real one.
func corpusInventory(t testing.TB, name string) *Inventory {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inv, _, err := ParseFusion(f, Limits{})
	if err != nil {
		t.Fatalf("ParseFusion %s: %v", name, err)
	}
	return inv
}

func clone(t testing.TB, inv *Inventory) *Inventory {
	t.Helper()
	b, err := Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMarshalRoundTrip(t *testing.T) {
	inv := collectTestdata(t)
	inv.CollectedAt = time.Date(2025, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600))
	b, err := Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("Unmarshal: got %v, want nil", err)
	}
	if !back.CollectedAt.Equal(inv.CollectedAt) {
		t.Errorf("collected_at: got %v, want %v", back.CollectedAt, inv.CollectedAt)
	}
	h1, _ := Hash(inv)
	h2, _ := Hash(back)
	if h1 != h2 {
		t.Errorf("hash: got %x after round trip, want %x", h2, h1)
	}
	back.CollectedAt = inv.CollectedAt
	if !reflect.DeepEqual(back, inv) {
		t.Errorf("round trip: got %+v, want %+v", back, inv)
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	good, err := Marshal(collectTestdata(t))
	if err != nil {
		t.Fatal(err)
	}
	deflated := func(b []byte) []byte {
		var buf bytes.Buffer
		deflate(&buf, b)
		return buf.Bytes()
	}
	future, _ := json.Marshal(map[string]any{"schema_version": SchemaVersion + 1, "node_id": "n"})
	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"empty", nil, ErrCorrupt},
		{"bad magic", []byte("xx\x01abc"), ErrCorrupt},
		{"delta given as inventory", append([]byte("bD"), good[2:]...), ErrCorrupt},
		{"newer encoding", append([]byte("bI\x09"), good[3:]...), ErrVersion},
		{"truncated", good[:len(good)/2], ErrCorrupt},
		{"not json", append([]byte("bI\x01"), deflated([]byte("<xml/>"))...), ErrCorrupt},
		{"newer schema", append([]byte("bI\x01"), deflated(future)...), ErrVersion},
	}
	for _, tt := range tests {
		if _, err := Unmarshal(tt.in); !errors.Is(err, tt.err) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestUnmarshalBomb(t *testing.T) {
	maxDecoded = 4 << 20
	t.Cleanup(func() { maxDecoded = MaxDecodedSize })
	var buf bytes.Buffer
	buf.WriteString("bI\x01")
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	chunk := make([]byte, 1<<20)
	for i := 0; i < int(maxDecoded>>20)+1; i++ {
		fw.Write(chunk)
	}
	fw.Close()
	if _, err := Unmarshal(buf.Bytes()); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%d-byte bomb: got %v, want ErrTooLarge", buf.Len(), err)
	}
	if _, err := UnmarshalDelta(append([]byte("bD\x01"+string(make([]byte, 16))+"\x02\x01"), buf.Bytes()[3:]...)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("delta bomb: got %v, want ErrTooLarge", err)
	}
}

// roundTripDelta diffs, encodes, decodes and applies, and checks the result is new.
func roundTripDelta(t *testing.T, old, new *Inventory) ([]byte, *Delta) {
	t.Helper()
	d, err := Diff(old, new)
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	b, err := MarshalDelta(d)
	if err != nil {
		t.Fatalf("MarshalDelta: %v", err)
	}
	d2, err := UnmarshalDelta(b)
	if err != nil {
		t.Fatalf("UnmarshalDelta: %v", err)
	}
	got, err := d2.Apply(old)
	if err != nil {
		t.Fatalf("Apply: got %v, want nil", err)
	}
	hg, _ := Hash(got)
	hn, _ := Hash(new)
	if hg != hn {
		t.Fatalf("Apply: got hash %x, want %x", hg, hn)
	}
	return b, d2
}

func TestDelta(t *testing.T) {
	base := corpusInventory(t, "centos8.ocs")
	full, _ := Marshal(base)

	t.Run("unchanged", func(t *testing.T) {
		next := clone(t, base)
		next.CollectedAt = base.CollectedAt.Add(24*time.Hour + 1234*time.Nanosecond)
		b, d := roundTripDelta(t, base, next)
		if !d.Unchanged() {
			t.Errorf("Unchanged: got false, want true (sections %v)", d.Sections)
		}
		if len(b) > 100 {
			t.Errorf("encoded: got %d bytes, want ≤ 100", len(b))
		}
		t.Logf("unchanged delta: %d bytes (full inventory %d bytes)", len(b), len(full))
	})
	t.Run("one package upgraded", func(t *testing.T) {
		next := clone(t, base)
		next.Software[10].Version += ".1"
		b, d := roundTripDelta(t, base, next)
		if len(d.SoftwareAdded) != 1 || len(d.SoftwareRemoved) != 1 || len(d.Sections) != 0 {
			t.Errorf("got +%d −%d packages and sections %v, want +1 −1 and none", len(d.SoftwareAdded), len(d.SoftwareRemoved), d.Sections)
		}
		t.Logf("one upgrade: %d bytes", len(b))
	})
	t.Run("sections changed and removed", func(t *testing.T) {
		next := clone(t, base)
		next.Memory.Total *= 2
		next.Updates = nil
		next.FQDN = ""
		next.Software = append(next.Software, Package{Name: "zzz-new", Version: "1"})
		_, d := roundTripDelta(t, base, next)
		var keys []string
		for k := range d.Sections {
			keys = append(keys, k)
		}
		if len(keys) != 3 || d.Sections["updates"] == nil || d.Sections["memory"] == nil {
			t.Errorf("sections: got %v, want memory, updates, fqdn", keys)
		}
	})
	t.Run("unsorted software sent whole", func(t *testing.T) {
		next := clone(t, base)
		next.Software[0], next.Software[1] = next.Software[1], next.Software[0]
		_, d := roundTripDelta(t, base, next)
		if d.Sections["software"] == nil {
			t.Errorf("got no software section, want the whole list")
		}
	})
	t.Run("duplicate packages", func(t *testing.T) {
		old := clone(t, base)
		old.Software = append(old.Software, old.Software[5])
		sortPackages(old.Software)
		roundTripDelta(t, old, base)
		roundTripDelta(t, base, old)
	})
	t.Run("from empty", func(t *testing.T) {
		b, _ := roundTripDelta(t, &Inventory{}, base)
		t.Logf("delta from empty: %d bytes, full: %d", len(b), len(full))
	})
	t.Run("wrong base", func(t *testing.T) {
		next := clone(t, base)
		next.Hostname = "renamed.example.org"
		d, _ := Diff(base, next)
		other := clone(t, base)
		other.Memory.Total++
		if _, err := d.Apply(other); !errors.Is(err, ErrDeltaBase) {
			t.Errorf("got %v, want ErrDeltaBase", err)
		}
	})
	t.Run("tampered result", func(t *testing.T) {
		next := clone(t, base)
		next.Hostname = "renamed.example.org"
		d, _ := Diff(base, next)
		d.Sections["hostname"] = json.RawMessage(`"evil.example.org"`)
		if _, err := d.Apply(base); !errors.Is(err, ErrDeltaResult) {
			t.Errorf("got %v, want ErrDeltaResult", err)
		}
	})
	t.Run("apply leaves old alone", func(t *testing.T) {
		before, _ := Hash(base)
		next := clone(t, base)
		next.Software = next.Software[1:]
		roundTripDelta(t, base, next)
		if after, _ := Hash(base); after != before {
			t.Errorf("old changed by Apply")
		}
	})
}

func TestUnmarshalDeltaRefuses(t *testing.T) {
	inv := collectTestdata(t)
	next := clone(t, inv)
	next.Hostname = "web2"
	d, _ := Diff(inv, next)
	good, _ := MarshalDelta(d)
	unchanged, _ := MarshalDelta(&Delta{CollectedAt: fixedNow})
	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"empty", nil, ErrCorrupt},
		{"inventory given as delta", append([]byte("bI"), good[2:]...), ErrCorrupt},
		{"newer version", append([]byte("bD\x07"), good[3:]...), ErrVersion},
		{"short header", good[:10], ErrCorrupt},
		{"no flag", unchanged[:len(unchanged)-1], ErrCorrupt},
		{"bad flag", append(append([]byte{}, unchanged[:len(unchanged)-1]...), 9), ErrCorrupt},
		{"trailing bytes", append(append([]byte{}, unchanged...), 1, 2, 3), ErrCorrupt},
		{"truncated body", good[:len(good)-5], ErrCorrupt},
	}
	for _, tt := range tests {
		if _, err := UnmarshalDelta(tt.in); !errors.Is(err, tt.err) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestValidate(t *testing.T) {
	good := func() *Inventory {
		return &Inventory{NodeID: "n1", Hostname: "web1.example.org", OS: OS{Name: "Debian"}, CollectedAt: fixedNow}
	}
	tests := []struct {
		name   string
		mutate func(*Inventory)
		field  string
	}{
		{"valid", func(*Inventory) {}, ""},
		{"no node id", func(i *Inventory) { i.NodeID = " " }, "node_id"},
		{"no hostname", func(i *Inventory) { i.Hostname = "" }, "hostname"},
		{"localhost", func(i *Inventory) { i.Hostname = "localhost" }, "hostname"},
		{"localhost.localdomain", func(i *Inventory) { i.Hostname = "localhost.localdomain" }, "hostname"},
		{"ip as hostname", func(i *Inventory) { i.Hostname = "::1" }, "hostname"},
		{"no os", func(i *Inventory) { i.OS.Name = "" }, "os.name"},
		{"no time", func(i *Inventory) { i.CollectedAt = time.Time{} }, "collected_at"},
	}
	for _, tt := range tests {
		inv := good()
		tt.mutate(inv)
		err := inv.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: got %v, want nil", tt.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrMissingField) || !bytes.Contains([]byte(err.Error()), []byte(tt.field)) {
			t.Errorf("%s: got %v, want ErrMissingField naming %s", tt.name, err, tt.field)
		}
	}
}

func TestCheckTime(t *testing.T) {
	now := fixedNow
	tests := []struct {
		collected time.Time
		err       error
	}{
		{now, nil},
		{now.Add(-47 * time.Hour), nil},
		{now.Add(-49 * time.Hour), ErrTooOld},
		{now.Add(11 * time.Hour), nil},
		{now.Add(13 * time.Hour), ErrInFuture},
		{now.Add(-MaxAge), nil},
	}
	for _, tt := range tests {
		if err := CheckTime(tt.collected, now); !errors.Is(err, tt.err) {
			t.Errorf("CheckTime(%v): got %v, want %v", tt.collected.Sub(now), err, tt.err)
		}
	}
}
