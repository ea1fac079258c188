package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// debArchToGo maps Debian's architecture names to Go's, for the binary the package holds.
var debArchToGo = map[string][2]string{
	"amd64": {"linux", "amd64"}, "arm64": {"linux", "arm64"}, "armhf": {"linux", "arm"}, "i386": {"linux", "386"},
}

// debRoot returns a throw-away Debian root to install into: an overlay over
// $BOSUN_TEST_DEBROOT (which another test uses, and which this one must not change) in the
// test's temporary directory, or a copy where overlayfs is not available.
func debRoot(t *testing.T) string {
	t.Helper()
	lower := os.Getenv("BOSUN_TEST_DEBROOT")
	switch {
	case lower == "":
		t.Skip("no throw-away Debian root: set BOSUN_TEST_DEBROOT to one made by scripts/debroot.sh (make and .ci/run do) to install the package with dpkg")
	case os.Geteuid() != 0:
		t.Skip("installing in a chroot needs root")
	}
	if _, err := os.Stat(filepath.Join(lower, "usr/bin/dpkg")); err != nil {
		t.Skipf("%s is not a Debian root with dpkg: %v", lower, err)
	}
	lockRoot(t, lower, syscall.LOCK_SH)
	dir := t.TempDir()
	merged := filepath.Join(dir, "merged")
	for _, d := range []string{"upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + filepath.Join(dir, "upper") + ",workdir=" + filepath.Join(dir, "work")
	if out, err := exec.Command("mount", "-t", "overlay", "bosun-test", "-o", opts, merged).CombinedOutput(); err == nil {
		t.Cleanup(func() {
			if out, err := exec.Command("umount", merged).CombinedOutput(); err != nil {
				t.Errorf("umount %s: %v: %s", merged, err, out)
				_ = exec.Command("umount", "-l", merged).Run()
			}
		})
		return merged
	} else {
		t.Logf("no overlay (%v: %s); copying %s", err, strings.TrimSpace(string(out)), lower)
	}
	copyDir := filepath.Join(dir, "copy")
	if out, err := exec.Command("cp", "-a", lower, copyDir).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v: %s", lower, err, out)
	}
	return copyDir
}

// lockRoot holds a lock on the shared Debian root for the rest of the test: shared here, where
// the root is only read (an overlay's lower layer must not change while mounted), exclusive in
// agent/method's real-apt test, which installs packages in it. The wait is bounded.
func lockRoot(t *testing.T, dir string, how int) {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
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

// TestInstallInDebianRoot installs the package with the real dpkg in a throw-away Debian
// root: the user, the directories and their modes, the units, bosun running inside; then a
// reinstall, a removal that keeps the data, and a purge that leaves nothing behind.
func TestInstallInDebianRoot(t *testing.T) {
	needTool(t, "dpkg-deb", "the package is built with dpkg-deb (apt-get install dpkg)")
	needTool(t, "chroot", "dpkg runs inside the root")
	lower := os.Getenv("BOSUN_TEST_DEBROOT")
	root := debRoot(t)

	chroot := func(argv ...string) result {
		t.Helper()
		return run(t, []string{"DEBIAN_FRONTEND=noninteractive", "LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
			append([]string{"chroot", root}, argv...)...)
	}
	mustIn := func(argv ...string) string {
		t.Helper()
		r := chroot(argv...)
		if r.code != 0 {
			t.Fatalf("in the root, %s: exit %d\n%s%s", strings.Join(argv, " "), r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}

	arch := strings.TrimSpace(mustIn("dpkg", "--print-architecture"))
	target, ok := debArchToGo[arch]
	if !ok {
		t.Skipf("the Debian root is %s, which bosun does not package", arch)
	}
	deb := buildDeb(t, buildBosun(t, target[0], target[1]), arch, testVersion, "")
	if err := os.WriteFile(filepath.Join(root, "tmp/bosun.deb"), mustRead(t, deb), 0o644); err != nil {
		t.Fatal(err)
	}

	mustIn("dpkg", "-i", "/tmp/bosun.deb")
	if got := mustIn("dpkg-query", "-W", "-f", "${Status} ${Version}", "bosun"); got != "install ok installed 1.2.3+test" {
		t.Errorf("dpkg-query: got %q", got)
	}
	pw := strings.Split(strings.TrimSpace(mustIn("getent", "passwd", "bosun")), ":")
	if len(pw) != 7 || pw[5] != "/var/lib/bosun" || pw[6] != "/usr/sbin/nologin" {
		t.Fatalf("the bosun user: got %q, want home /var/lib/bosun and shell /usr/sbin/nologin", pw)
	}
	if uid := atoi(t, pw[2]); uid >= 1000 || uid == 0 {
		t.Errorf("the bosun user's uid %d is not a system uid", uid)
	}
	uid, gid := pw[2], pw[3]
	for d, want := range map[string]string{
		"/var/lib/bosun":       "drwxr-x--- 0:" + gid,
		"/var/lib/bosun/root":  "drwx------ " + uid + ":" + gid,
		"/var/lib/bosun/relay": "drwx------ " + uid + ":" + gid,
		"/var/lib/bosun/agent": "drwx------ 0:0",
	} {
		if got := dirState(t, filepath.Join(root, d)); got != want {
			t.Errorf("%s: got %s, want %s", d, got, want)
		}
	}
	for _, u := range units {
		if got := dirState(t, filepath.Join(root, "usr/lib/systemd/system", u)); !strings.HasPrefix(got, "-rw-r--r-- 0:0") {
			t.Errorf("unit %s: got %s", u, got)
		}
		if _, err := os.Lstat(filepath.Join(root, "etc/systemd/system/multi-user.target.wants", u)); err == nil {
			t.Errorf("unit %s is enabled at install: the operator picks the role", u)
		}
	}
	if out := mustIn("/usr/bin/bosun", "version"); !strings.HasPrefix(out, "bosun "+testVersion+" ") {
		t.Errorf("bosun version in the root: got %q", out)
	}
	// The bosun user can use its data directory the way the root role requires.
	if out := mustIn("setpriv", "--reuid", uid, "--regid", gid, "--clear-groups", "sh", "-c",
		"touch /var/lib/bosun/root/probe && rm /var/lib/bosun/root/probe && echo ok"); strings.TrimSpace(out) != "ok" {
		t.Errorf("the bosun user writing its data directory: %q", out)
	}

	// Again, as an upgrade to the same version: nothing doubles, the data stays.
	os.WriteFile(filepath.Join(root, "var/lib/bosun/root/node.id"), []byte("kept\n"), 0o600)
	mustIn("dpkg", "-i", "/tmp/bosun.deb")
	if n := strings.Count(string(mustRead(t, filepath.Join(root, "etc/passwd"))), "\nbosun:"); n != 1 {
		t.Errorf("after a reinstall, /etc/passwd holds %d bosun users", n)
	}

	mustIn("dpkg", "-r", "bosun")
	if _, err := os.Stat(filepath.Join(root, "usr/bin/bosun")); !os.IsNotExist(err) {
		t.Errorf("after dpkg -r, /usr/bin/bosun: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "var/lib/bosun/root/node.id")); err != nil || string(b) != "kept\n" {
		t.Errorf("after dpkg -r, the root's data: %q %v; want it kept", b, err)
	}
	if r := chroot("getent", "passwd", "bosun"); r.code != 0 {
		t.Error("after dpkg -r, the bosun user is gone; only a purge removes it")
	}

	mustIn("dpkg", "--purge", "bosun")
	for _, p := range []string{"var/lib/bosun", "etc/bosun", "usr/lib/systemd/system/bosun-root.service", "usr/share/doc/bosun"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !os.IsNotExist(err) {
			t.Errorf("after purge, /%s: %v; want it gone", p, err)
		}
	}
	for _, db := range []string{"passwd", "group"} {
		if r := chroot("getent", db, "bosun"); r.code == 0 {
			t.Errorf("after purge, getent %s bosun: %q; want none", db, r.stdout)
		}
	}
	if r := chroot("dpkg-query", "-W", "bosun"); r.code == 0 {
		t.Errorf("after purge, dpkg still knows bosun: %q", r.stdout)
	}

	// What this test did must not have reached the shared root. (Its dpkg status is no witness:
	// the real-apt test of agent/method may change it meanwhile.)
	if _, err := os.Lstat(filepath.Join(lower, "usr/bin/bosun")); !os.IsNotExist(err) {
		t.Errorf("the shared Debian root %s has /usr/bin/bosun: %v", lower, err)
	}
	if strings.Contains(string(mustRead(t, filepath.Join(lower, "etc/passwd"))), "\nbosun:") {
		t.Errorf("the shared Debian root %s has a bosun user", lower)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
