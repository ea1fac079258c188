package packaging

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binDir holds the binaries the tests build, once per target for the whole run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bosun-packaging-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// testVersion is the version the tests' binaries carry; bosun version prints it.
const testVersion = "1.2.3-test"

// buildBosun cross-compiles cmd/bosun as make release does (static, -trimpath) for goos and
// goarch ("arm" takes GOARM=7), once per target.
func buildBosun(t *testing.T, goos, goarch string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := goos + "-" + goarch
	if p, ok := built[key]; ok {
		return p
	}
	out := filepath.Join(binDir, "bosun-"+key)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+testVersion, "-o", out, "../cmd/bosun")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if goarch == "arm" {
		cmd.Env = append(cmd.Env, "GOARM=7")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build bosun for %s: %v\n%s", key, err, b)
	}
	built[key] = out
	return out
}

// result is what a finished command left.
type result struct {
	stdout, stderr string
	code           int
}

// run runs argv with env added to the test's environment, within a bound, and returns what it
// printed and its exit status; a command that cannot start fails the test.
func run(t *testing.T, env []string, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s: did not finish within its bound", strings.Join(argv, " "))
	}
	return r
}

// must runs argv and fails the test unless it exits 0.
func must(t *testing.T, env []string, argv ...string) string {
	t.Helper()
	r := run(t, env, argv...)
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", strings.Join(argv, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func needTool(t *testing.T, name, why string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found: %s", name, why)
	}
	return p
}

// buildDeb runs build-deb.sh and returns the package's path. etc, when set, stands for
// packaging/etc/bosun.
func buildDeb(t *testing.T, bin, arch, version, etc string) string {
	t.Helper()
	needTool(t, "dpkg-deb", "the package is built with dpkg-deb (apt-get install dpkg)")
	var env []string
	if etc != "" {
		env = append(env, "BOSUN_PKG_ETC="+etc)
	}
	out := strings.TrimSpace(must(t, env, "./build-deb.sh", bin, arch, version, t.TempDir()))
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("build-deb.sh printed %q: %v", out, err)
	}
	return out
}

// fakeBinary is a stand-in for bosun where only the package's layout matters: dpkg-deb
// compresses the real 30 MB binary in seconds, a script in no time.
func fakeBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bosun")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho bosun fake\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// unit is a systemd unit file: section -> key -> values, in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, i+1, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

// get returns the last value of a key, as systemd reads a key given twice.
func (u unit) get(section, key string) string {
	v := u[section][key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}
