package method

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bosun-io/bosun/agent/host"
)

// chroot runs every command inside a throw-away root, so the real apt and dpkg change that
// root and never the machine running the tests.
type chroot struct {
	dir  string
	exec host.Exec
}

func (c chroot) Run(ctx context.Context, cmd host.Cmd) (host.CmdResult, error) {
	cmd.Argv = append([]string{"chroot", c.dir}, cmd.Argv...)
	return c.exec.Run(ctx, cmd)
}

// TestPackagesRealApt runs package_present and package_absent, in audit and in enforce,
// against the real apt and dpkg of a Debian root made by debootstrap ($BOSUN_TEST_DEBROOT;
// .ci/run makes one with scripts/debroot.sh), a package really installed and removed there.
func TestPackagesRealApt(t *testing.T) {
	root := os.Getenv("BOSUN_TEST_DEBROOT")
	switch {
	case testing.Short():
		t.Skip("the real apt test downloads packages; skipped in -short mode")
	case root == "":
		t.Skip("no throw-away Debian root: set BOSUN_TEST_DEBROOT to one made by scripts/debroot.sh (.ci/run does) to test the real apt backend")
	case os.Geteuid() != 0:
		t.Skip("chroot needs root")
	}
	if _, err := os.Stat(filepath.Join(root, "usr", "bin", "apt-get")); err != nil {
		t.Skipf("%s is not a Debian root with apt: %v", root, err)
	}
	lockRoot(t, root)
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		_ = os.WriteFile(filepath.Join(root, "etc", "resolv.conf"), b, 0o644)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "chroot", root, "apt-get", "-q", "update").CombinedOutput(); err != nil {
		t.Skipf("apt-get update in the throw-away root failed (no mirror reachable?): %v\n%s", err, out)
	}
	_ = exec.CommandContext(ctx, "chroot", root, "apt-get", "-y", "-q", "remove", "hello").Run()

	cmds := chroot{dir: root}
	env := &Env{DataDir: t.TempDir(), Host: &host.Set{Commands: cmds, Packages: &host.Apt{Commands: cmds}}}
	steps := []struct {
		method string
		mode   Mode
		name   string
		want   Status
	}{
		{"package_present", Audit, "hello", AuditNonCompliant},
		{"package_present", Enforce, "hello", Repaired},
		{"package_present", Audit, "hello", AuditCompliant},
		{"package_present", Enforce, "hello", Success},
		{"package_absent", Audit, "hello", AuditNonCompliant},
		{"package_absent", Enforce, "hello", Repaired},
		{"package_absent", Enforce, "hello", Success},
		{"package_present", Enforce, "no-such-package-bosun", Error},
	}
	for _, s := range steps {
		c := call(t, s.method, s.mode, s.name)
		c.Timeout = 4 * time.Minute
		got := run(t, env, c)
		if got.Status != s.want {
			t.Fatalf("%s %s in %v: got %v (%s), want %v", s.method, s.name, s.mode, got.Status, got.Message, s.want)
		}
		t.Logf("%s %s in %v: %v: %s", s.method, s.name, s.mode, got.Status, got.Message)
	}
}

// lockRoot holds an exclusive lock on the shared Debian root for the rest of the test: the
// package test (packaging/) mounts it as an overlay's lower layer, which must not change while
// mounted, and takes the lock shared. The wait is bounded.
func lockRoot(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if err != syscall.EWOULDBLOCK || time.Now().After(deadline) {
			f.Close()
			t.Fatalf("lock %s: %v", dir, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Cleanup(func() { f.Close() })
}
