package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRootTokenCreate: bosun root token create makes a token on a stopped root's data
// directory, printing the secret alone on stdout, with the documented exit statuses.
func TestRootTokenCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	if out, stderr, status := run(t, "root", "init", "--data", dir, "--cli-config", filepath.Join(t.TempDir(), "cli.json")); status != 0 {
		t.Fatalf("root init: status %d\n%s%s", status, out, stderr)
	}
	out, stderr, status := run(t, "root", "token", "create", "--data", dir, "--name", "rescue", "--role", "admin", "--expires", "1d")
	if status != 0 || !strings.HasPrefix(out, "bosun_") || strings.Count(out, "\n") != 1 || !strings.Contains(stderr, "token rescue (admin, expires") {
		t.Errorf("create: status %d, stdout %q, stderr %q", status, out, stderr)
	}
	tests := []struct {
		name   string
		args   []string
		status int
		stderr string
	}{
		{"a name taken", []string{"--data", dir, "--name", "rescue", "--role", "admin"}, 1, "already"},
		{"no root there", []string{"--data", filepath.Join(t.TempDir(), "none"), "--name", "x", "--role", "admin"}, 1, "bosun root init"},
		{"an unknown role", []string{"--data", dir, "--name", "x", "--role", "root"}, 2, "--role"},
		{"no name", []string{"--data", dir, "--role", "admin"}, 2, "--name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, status := run(t, append([]string{"root", "token", "create"}, tt.args...)...)
			if status != tt.status || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("got status %d, stderr %q; want %d and %q", status, stderr, tt.status, tt.stderr)
			}
		})
	}
	for _, args := range [][]string{{"help", "root", "token", "create"}, {"tokens", "create", "--help"}, {"tokens", "list", "-h"}, {"help", "tokens", "revoke"}} {
		out, _, status := run(t, args...)
		if status != 0 || !strings.Contains(out, "EXAMPLES") || !strings.Contains(out, "EXIT STATUS") {
			t.Errorf("bosun %s: status %d\n%s", strings.Join(args, " "), status, out)
		}
	}
}
