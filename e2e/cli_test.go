package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIErrors: each mistake an operator makes gets a message that says what was wrong and
// the documented exit status.
func TestCLIErrors(t *testing.T) {
	f := newFleet(t)
	open := filepath.Join(f.dir, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"unknown verb", []string{"frobnicate"}, 2, "unknown verb"},
		{"group without verb", []string{"nodes"}, 2, "nodes list"},
		{"bad flag", []string{"nodes", "list", "--nope"}, 2, "unknown flag"},
		{"agent without server", []string{"agent", "--data", filepath.Join(f.dir, "a")}, 2, "--server is required"},
		{"data directory too open", []string{"agent", "--data", open, "--server", "127.0.0.1:1"}, 1, "chmod 700"},
		{"root not initialised", []string{"root", "--data", filepath.Join(f.dir, "r"), "--listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"}, 1, "bosun root init"},
		{"no root configured", []string{"nodes", "list"}, 3, "no root configured"},
		{"root unreachable", []string{"nodes", "list", "--root", "https://127.0.0.1:1", "--token", "bosun_x"}, 3, "connection refused"},
		{"plain http refused", []string{"nodes", "list", "--root", "http://127.0.0.1:1"}, 2, "HTTPS only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, status := f.run(tt.args...)
			if status != tt.status || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("bosun %s: got status %d, stderr %q; want %d and %q", strings.Join(tt.args, " "), status, stderr, tt.status, tt.stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	f := newFleet(t)
	for _, args := range [][]string{{"help", "nodes", "accept"}, {"nodes", "accept", "--help"}, {"help", "root"}, {"agent", "-h"}, {"bench", "fleet", "--help"}} {
		out, _, status := f.run(args...)
		if status != 0 || !strings.Contains(out, "EXAMPLES") || !strings.Contains(out, "EXIT STATUS") || !strings.Contains(out, "Usage: bosun") {
			t.Errorf("bosun %s: status %d, output:\n%s", strings.Join(args, " "), status, out)
		}
	}
	out, _, status := f.run("help")
	if status != 0 || !strings.Contains(out, "nodes list") || !strings.Contains(out, "relay") {
		t.Errorf("bosun help: status %d:\n%s", status, out)
	}
	out, _, status = f.run("version")
	if status != 0 || !strings.HasPrefix(out, "bosun ") || !strings.Contains(out, "protocol 1") {
		t.Errorf("bosun version: status %d: %s", status, out)
	}
}

// TestWrongToken: a token the root does not know is refused with status 4.
func TestWrongToken(t *testing.T) {
	f := newFleet(t)
	addrs := f.initRoot()
	root := f.startRoot(addrs)
	eventually(t, 20*time.Second, "the API up", func() (bool, string) {
		_, stderr, status := f.run("nodes", "list")
		return status == 0, stderr
	})
	_, stderr, status := f.run("nodes", "list", "--token", "bosun_wrong")
	if status != 4 || !strings.Contains(stderr, "unknown token") {
		t.Errorf("got status %d, stderr %q", status, stderr)
	}
	if !strings.Contains(root.log(), "api request refused") {
		t.Errorf("the root did not log the refusal:\n%s", root.log())
	}
	root.stop(t)
}
