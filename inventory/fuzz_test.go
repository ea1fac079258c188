package inventory

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The fuzz targets run their seeds under plain `go test`; `go test -fuzz=FuzzX` explores.

func FuzzUnmarshal(f *testing.F) {
	inv := collectTestdata(f)
	b, err := Marshal(inv)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	if b, err := Marshal(&Inventory{}); err == nil {
		f.Add(b)
	}
	f.Add([]byte("bI\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, err := Unmarshal(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode to the same content.
		again, err := Marshal(inv)
		if err != nil {
			t.Fatalf("Marshal of a decoded inventory: %v", err)
		}
		back, err := Unmarshal(again)
		if err != nil {
			t.Fatalf("Unmarshal of a re-encoded inventory: %v", err)
		}
		h1, _ := Hash(inv)
		h2, _ := Hash(back)
		if h1 != h2 {
			t.Fatalf("hash changed over a round trip: %x then %x", h1, h2)
		}
	})
}

func FuzzUnmarshalDelta(f *testing.F) {
	old := collectTestdata(f)
	next := *old
	next.CollectedAt = old.CollectedAt.Add(time.Hour)
	next.Hostname = "web2"
	next.Software = append([]Package{{Name: "aaa", Version: "1"}}, old.Software[1:]...)
	for _, pair := range [][2]*Inventory{{old, &next}, {old, old}, {&Inventory{}, old}} {
		d, err := Diff(pair[0], pair[1])
		if err != nil {
			f.Fatal(err)
		}
		b, err := MarshalDelta(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := UnmarshalDelta(b)
		if err != nil {
			return
		}
		// Applying a hostile delta must fail cleanly or produce what its hash says.
		if inv, err := d.Apply(old); err == nil {
			if h, _ := Hash(inv); h != d.Result {
				t.Fatalf("Apply succeeded with hash %x, want %x", h, d.Result)
			}
		}
		if _, err := MarshalDelta(d); err != nil {
			t.Fatalf("MarshalDelta of a decoded delta: %v", err)
		}
	})
}

func FuzzParseFusion(f *testing.F) {
	dir := corpusDir(f)
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) == ".md" || filepath.Ext(p) == ".sign" {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f.Add(b)
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(minimalFusion))
	zw.Close()
	f.Add(gz.Bytes())
	f.Add([]byte(minimalFusion))
	limits := Limits{MaxInputBytes: 1 << 20, MaxDecompressedBytes: 4 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		inv, _, err := ParseFusion(bytes.NewReader(b), limits)
		if err != nil {
			return
		}
		if err := inv.Validate(); err != nil {
			t.Fatalf("ParseFusion accepted an inventory that does not validate: %v", err)
		}
		if _, err := Marshal(inv); err != nil {
			t.Fatalf("Marshal of a parsed inventory: %v", err)
		}
	})
}

func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
