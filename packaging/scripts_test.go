package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// stubs are the tools the maintainer scripts call, replaced by scripts that log their
// arguments and, for the shadow tools, edit the account files of the --root tree as the real
// ones would. The real tools run in TestInstallInDebianRoot.
var stubs = map[string]string{
	"groupadd":  `root=$2; echo "bosun:x:998:" >>"$root/etc/group"`,
	"useradd":   `root=$2; echo "bosun:x:998:998:bosun root and relay:/var/lib/bosun:/usr/sbin/nologin" >>"$root/etc/passwd"`,
	"userdel":   `root=$2; sed -i '/^bosun:/d' "$root/etc/passwd"`,
	"groupdel":  `root=$2; sed -i '/^bosun:/d' "$root/etc/group"`,
	"systemctl": `:`,
}

type scriptWorld struct {
	t     *testing.T
	root  string // $DPKG_ROOT
	stubs string
	log   string
}

func newScriptWorld(t *testing.T) *scriptWorld {
	w := &scriptWorld{t: t, root: t.TempDir(), stubs: t.TempDir()}
	w.log = filepath.Join(t.TempDir(), "calls")
	for name, body := range stubs {
		script := "#!/bin/sh\necho \"" + name + " $*\" >>\"$STUB_LOG\"\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(w.stubs, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(w.root, "etc"), 0o755)
	os.WriteFile(filepath.Join(w.root, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	os.WriteFile(filepath.Join(w.root, "etc/group"), []byte("root:x:0:\n"), 0o644)
	return w
}

// script runs a maintainer script with its arguments and returns its exit status and the
// tool calls it made since the last call.
func (w *scriptWorld) script(name string, args ...string) (int, []string) {
	w.t.Helper()
	os.Remove(w.log)
	r := run(w.t, []string{"DPKG_ROOT=" + w.root, "STUB_LOG=" + w.log, "PATH=" + w.stubs + ":" + os.Getenv("PATH")},
		append([]string{"sh", filepath.Join("debian", name)}, args...)...)
	if r.code != 0 {
		w.t.Logf("%s %s: exit %d: %s", name, strings.Join(args, " "), r.code, r.stderr)
	}
	b, _ := os.ReadFile(w.log)
	var calls []string
	if s := strings.TrimSpace(string(b)); s != "" {
		calls = strings.Split(s, "\n")
	}
	return r.code, calls
}

// dirState is a directory's mode and owner, "missing" when it is not there.
func dirState(t *testing.T, p string) string {
	t.Helper()
	fi, err := os.Lstat(p)
	if os.IsNotExist(err) {
		return "missing"
	} else if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fi.Mode().String() + " " + strconv.FormatUint(uint64(st.Uid), 10) + ":" + strconv.FormatUint(uint64(st.Gid), 10)
}

func contains(calls []string, prefix string) bool {
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

// TestMaintainerScripts runs postinst, prerm and postrm through an install, a reinstall, a
// removal and a purge under $DPKG_ROOT, with stub tools; the directories are real.
func TestMaintainerScripts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("postinst chowns the data directories to the bosun user: needs root")
	}
	w := newScriptWorld(t)
	lib := func(p string) string { return filepath.Join(w.root, "var/lib/bosun", p) }

	code, calls := w.script("postinst", "configure", "")
	if code != 0 {
		t.Fatalf("postinst configure: exit %d", code)
	}
	if !contains(calls, "groupadd --root "+w.root+" --system bosun") ||
		!contains(calls, "useradd --root "+w.root+" --system --gid bosun --home-dir /var/lib/bosun --no-create-home --shell /usr/sbin/nologin") {
		t.Errorf("postinst: got calls %q, want groupadd and useradd of a system user bosun", calls)
	}
	if contains(calls, "systemctl") {
		t.Errorf("postinst called systemctl without a running systemd: %q", calls)
	}
	want := map[string]string{
		"":      "drwxr-x--- 0:998",
		"root":  "drwx------ 998:998",
		"relay": "drwx------ 998:998",
		"agent": "drwx------ 0:0",
	}
	for d, st := range want {
		if got := dirState(t, lib(d)); got != st {
			t.Errorf("/var/lib/bosun/%s: got %s, want %s", d, got, st)
		}
	}

	// A reinstall (dpkg -i of the same package) creates no second user and leaves the
	// directories, and what an operator changed in them, alone.
	os.WriteFile(lib("root/node.key"), []byte("key"), 0o600)
	code, calls = w.script("prerm", "upgrade", "1.0")
	if code != 0 || len(calls) != 0 {
		t.Errorf("prerm upgrade: exit %d, calls %q; want 0 and none", code, calls)
	}
	code, calls = w.script("postinst", "configure", "1.0")
	if code != 0 || contains(calls, "useradd") || contains(calls, "groupadd") {
		t.Errorf("postinst configure again: exit %d, calls %q; want 0 and no new account", code, calls)
	}
	if _, err := os.Stat(lib("root/node.key")); err != nil {
		t.Errorf("the root's key after a reinstall: %v", err)
	}

	if code, _ := w.script("postinst", "frobnicate"); code != 1 {
		t.Errorf("postinst frobnicate: exit %d, want 1", code)
	}
	if code, calls := w.script("prerm", "remove"); code != 0 || len(calls) != 0 {
		t.Errorf("prerm remove without systemd: exit %d, calls %q; want 0 and none", code, calls)
	}
	if code, calls := w.script("postrm", "remove"); code != 0 || len(calls) != 0 {
		t.Errorf("postrm remove: exit %d, calls %q; want 0 and none", code, calls)
	}
	if got := dirState(t, lib("root")); got != want["root"] {
		t.Errorf("after remove, /var/lib/bosun/root: got %s, want it kept (%s)", got, want["root"])
	}
	if b, _ := os.ReadFile(filepath.Join(w.root, "etc/passwd")); !strings.Contains(string(b), "\nbosun:") {
		t.Error("after remove, the bosun user is gone; only purge removes it")
	}

	wants := filepath.Join(w.root, "etc/systemd/system/multi-user.target.wants")
	os.MkdirAll(wants, 0o755)
	os.Symlink("/usr/lib/systemd/system/bosun-agent.service", filepath.Join(wants, "bosun-agent.service"))
	os.Symlink("/usr/lib/systemd/system/ssh.service", filepath.Join(wants, "ssh.service"))
	code, calls = w.script("postrm", "purge")
	if code != 0 || !contains(calls, "userdel --root "+w.root+" bosun") || !contains(calls, "groupdel --root "+w.root+" bosun") {
		t.Errorf("postrm purge: exit %d, calls %q; want userdel and groupdel of bosun", code, calls)
	}
	if got := dirState(t, lib("")); got != "missing" {
		t.Errorf("after purge, /var/lib/bosun: %s, want missing", got)
	}
	if _, err := os.Lstat(filepath.Join(wants, "bosun-agent.service")); !os.IsNotExist(err) {
		t.Errorf("after purge, the agent's enablement link: %v, want gone", err)
	}
	if _, err := os.Lstat(filepath.Join(wants, "ssh.service")); err != nil {
		t.Errorf("purge removed another unit's link: %v", err)
	}
	if code, calls := w.script("postrm", "purge"); code != 0 || contains(calls, "userdel") {
		t.Errorf("postrm purge again: exit %d, calls %q; want 0 and nothing to delete", code, calls)
	}
}

// TestMaintainerScriptsWithSystemd runs prerm and postrm as on a machine where systemd runs:
// in a private mount namespace whose /run has /run/systemd/system, with a stub systemctl, so
// that nothing of this machine is touched. Neither script writes a file on these paths.
func TestMaintainerScriptsWithSystemd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a private mount namespace needs root")
	}
	unshare := needTool(t, "unshare", "it makes the private mount namespace (util-linux)")
	_, err := os.Stat("/run/systemd/system")
	hadSystemd := err == nil
	w := newScriptWorld(t)
	for _, c := range []struct {
		script, arg string
		want        []string
	}{
		{"prerm", "remove", []string{"systemctl stop bosun-root.service bosun-relay.service bosun-agent.service"}},
		{"prerm", "upgrade", nil},
		{"postrm", "remove", []string{"systemctl daemon-reload"}},
	} {
		os.Remove(w.log)
		cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
			`mount -t tmpfs bosun-test /run && mkdir -p /run/systemd/system && exec sh "$0" "$1"`,
			filepath.Join("debian", c.script), c.arg)
		cmd.Env = append(os.Environ(), "STUB_LOG="+w.log, "PATH="+w.stubs+":"+os.Getenv("PATH"))
		if out, err := cmd.CombinedOutput(); err != nil {
			if strings.Contains(string(out), "mount") || strings.Contains(string(out), "unshare") {
				t.Skipf("no private mount namespace here: %v: %s", err, out)
			}
			t.Errorf("%s %s: %v: %s", c.script, c.arg, err, out)
			continue
		}
		b, _ := os.ReadFile(w.log)
		var got []string
		if s := strings.TrimSpace(string(b)); s != "" {
			got = strings.Split(s, "\n")
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s %s with systemd: got calls %q, want %q", c.script, c.arg, got, c.want)
		}
	}
	if _, err := os.Stat("/run/systemd/system"); (err == nil) != hadSystemd {
		t.Errorf("the namespace leaked: /run/systemd/system exists: %t, before the test: %t", err == nil, hadSystemd)
	}
}
