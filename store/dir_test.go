package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrepareDirCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "data")
	if err := PrepareDir(dir); err != nil {
		t.Fatalf("PrepareDir(%s): %v", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("mode of created dir: got %04o, want 0700", got)
	}
	if err := PrepareDir(dir); err != nil {
		t.Errorf("PrepareDir on its own dir: got %v, want nil", err)
	}
}

func TestPrepareDirRefuses(t *testing.T) {
	base := t.TempDir()
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	groupRead := filepath.Join(base, "group")
	if err := os.Mkdir(groupRead, 0o750); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		dir         string
		wantProblem string
		wantInMsg   string
	}{
		{"mode 0755", open, "has mode 0755", "data directory " + open + " has mode 0755; run: chmod 700 " + open},
		{"mode 0750", groupRead, "has mode 0750", "run: chmod 700 " + groupRead},
		{"not a directory", file, "is not a directory", "choose another data directory"},
		{"empty path", "", "is empty", "set a data directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := PrepareDir(tt.dir)
			var de *DirError
			if !errors.As(err, &de) {
				t.Fatalf("PrepareDir(%q): got %v, want a *DirError", tt.dir, err)
			}
			if de.Problem != tt.wantProblem {
				t.Errorf("Problem: got %q, want %q", de.Problem, tt.wantProblem)
			}
			if !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Errorf("message: got %q, want it to contain %q", err.Error(), tt.wantInMsg)
			}
		})
	}
}

func TestPrepareDirOtherOwner(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a directory to another uid")
	}
	dir := filepath.Join(t.TempDir(), "theirs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Skipf("chown: %v", err)
	}
	err := PrepareDir(dir)
	var de *DirError
	if !errors.As(err, &de) || !strings.Contains(de.Problem, "owned by uid 65534") {
		t.Fatalf("PrepareDir on a dir owned by 65534: got %v, want a DirError about the owner", err)
	}
	if want := "run: chown 0 " + dir; !strings.Contains(err.Error(), want) {
		t.Errorf("message: got %q, want it to contain %q", err.Error(), want)
	}
}

func TestOpenRefusesOpenDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var de *DirError
	if _, err := Open(dir, Options{}); !errors.As(err, &de) {
		t.Errorf("Open on a 0755 dir: got %v, want a *DirError", err)
	}
	if _, err := OpenSpool(dir, SpoolOptions{}); !errors.As(err, &de) {
		t.Errorf("OpenSpool on a 0755 dir: got %v, want a *DirError", err)
	}
}
