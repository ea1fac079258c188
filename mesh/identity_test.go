package mesh

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestLoadOrCreateIdentity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	id, created, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatalf("first load: %v", err)
	}
	if !created {
		t.Errorf("first load: got created false, want true")
	}
	if !uuidV4.MatchString(id.NodeID) {
		t.Errorf("node id: got %q, want a UUIDv4", id.NodeID)
	}
	if len(id.Key) != ed25519.PrivateKeySize {
		t.Errorf("key: got %d bytes, want %d", len(id.Key), ed25519.PrivateKeySize)
	}
	if runtime.GOOS != "windows" {
		for file, want := range map[string]os.FileMode{KeyFile: 0o600, NodeIDFile: 0o644} {
			st, err := os.Stat(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != want {
				t.Errorf("%s mode: got %#o, want %#o", file, got, want)
			}
		}
	}
	pem, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(pem), "-----BEGIN PRIVATE KEY-----\n") {
		t.Errorf("key file: got %.30q, want a PEM PRIVATE KEY block", pem)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("state dir: got %v, want only %s and %s (no temporary files left)", names, KeyFile, NodeIDFile)
	}

	again, created, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if created {
		t.Errorf("reload: got created true, want false")
	}
	if again.NodeID != id.NodeID || !again.Key.Equal(id.Key) {
		t.Errorf("reload: got node %s key %s, want node %s key %s", again.NodeID, again.Fingerprint(), id.NodeID, id.Fingerprint())
	}
}

func TestLoadOrCreateIdentityRecreatesMissingKeyKeepingID(t *testing.T) {
	dir := t.TempDir()
	id, _, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, KeyFile)); err != nil {
		t.Fatal(err)
	}
	again, created, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Errorf("got created false, want true: the key is new")
	}
	if again.NodeID != id.NodeID {
		t.Errorf("node id: got %s, want %s kept", again.NodeID, id.NodeID)
	}
	if again.Key.Equal(id.Key) {
		t.Errorf("key: got the old key back, want a new one")
	}
}

func TestLoadOrCreateIdentityRefuses(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    string
	}{
		{"key readable by others", func(t *testing.T, dir string) {
			if runtime.GOOS == "windows" {
				t.Skip("no Unix permissions")
			}
			if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "run chmod 600 /"},
		{"key not PEM", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, KeyFile), "not a key", 0o600)
		}, "no PEM PRIVATE KEY"},
		{"node id not a UUID", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, NodeIDFile), "root\n", 0o644)
		}, "not a lowercase UUID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, _, err := LoadOrCreateIdentity(dir); err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, dir)
			_, _, err := LoadOrCreateIdentity(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func writeFile(t *testing.T, path, data string, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
}

func TestWriteFileOnceKeepsFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	for i, data := range []string{"first", "second"} {
		written, err := writeFileOnce(path, []byte(data), 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if want := i == 0; written != want {
			t.Errorf("write %d: got written %v, want %v", i, written, want)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "first" {
		t.Errorf("got %q, want %q", got, "first")
	}
}

func TestFingerprint(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	want := "sha256:" + hex.EncodeToString(sum[:])
	if got := Fingerprint(pub); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}

	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: want, want: want},
		{in: "  " + strings.ToUpper(want) + "\n", want: want},
		{in: strings.TrimPrefix(want, "sha256:"), wantErr: true},
		{in: "md5:" + strings.TrimPrefix(want, "sha256:"), wantErr: true},
		{in: want[:len(want)-1], wantErr: true},
		{in: want[:len(want)-1] + "g", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseFingerprint(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFingerprint(%q): got %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCheckNodeID(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"0f8fad5b-d9cb-469f-a165-70867728950e", true},
		{"0F8FAD5B-D9CB-469F-A165-70867728950E", false},
		{"0f8fad5b-d9cb-469f-a165-70867728950", false},
		{"0f8fad5bd-9cb-469f-a165-70867728950e", false},
		{"root", false},
		{"", false},
	}
	for _, tt := range tests {
		if err := CheckNodeID(tt.in); (err == nil) != tt.ok {
			t.Errorf("CheckNodeID(%q): got %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}
