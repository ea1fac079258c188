package host

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExec(t *testing.T) {
	ctx := context.Background()
	e := &Exec{}
	cases := []struct {
		name      string
		cmd       Cmd
		code      int
		out       string
		truncated bool
		err       error
	}{
		{"argv, no shell", Cmd{Argv: []string{"echo", "$HOME", "|", "x"}}, 0, "$HOME | x\n", false, nil},
		{"shell when asked", Cmd{Shell: "echo a | tr a b; exit 3"}, 3, "b\n", false, nil},
		{"stderr kept", Cmd{Shell: "echo oops >&2"}, 0, "oops\n", false, nil},
		{"bounded output", Cmd{Shell: "head -c 100000 /dev/zero", MaxOutput: 10}, 0, strings.Repeat("\x00", 10), true, nil},
		{"timeout kills the group", Cmd{Shell: "sleep 30 & sleep 30; echo never", Timeout: 100 * time.Millisecond}, -1, "", false, ErrTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			res, err := e.Run(ctx, c.cmd)
			if !errors.Is(err, c.err) {
				t.Fatalf("error: got %v, want %v", err, c.err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s", d)
			}
			if res.ExitCode != c.code || string(res.Output) != c.out || res.Truncated != c.truncated {
				t.Errorf("got code %d output %q truncated %t, want %d %q %t", res.ExitCode, res.Output, res.Truncated, c.code, c.out, c.truncated)
			}
		})
	}
	if _, err := e.Run(ctx, Cmd{Argv: []string{"/nonexistent/bosun"}}); err == nil {
		t.Error("missing program: got no error")
	}
}

// TestAptReadOnly queries the real dpkg database of this machine: read-only.
func TestAptReadOnly(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("not a dpkg system")
	}
	a := &Apt{Commands: &Exec{}}
	ctx := context.Background()
	p, ok, err := a.Installed(ctx, "bash", "")
	if err != nil || !ok || p.Name != "bash" || p.Version == "" {
		t.Fatalf("bash: got %+v %t %v, want installed with a version", p, ok, err)
	}
	if _, ok, err := a.Installed(ctx, "bosun-no-such-package", ""); err != nil || ok {
		t.Errorf("unknown package: got %t %v, want not installed", ok, err)
	}
	if _, ok, _ := a.Installed(ctx, "bash", "no-such-arch"); ok {
		t.Error("bash in another architecture: got installed")
	}
	if _, ok := DetectPackages(&Exec{}).(*Apt); !ok {
		t.Errorf("DetectPackages on a dpkg system: got %T", DetectPackages(&Exec{}))
	}
}

func TestAPKDatabase(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "lib/apk/db"), 0o755)
	os.WriteFile(filepath.Join(root, "lib/apk/db/installed"), []byte("C:x\nP:musl\nV:1.2.4-r2\nA:x86_64\n\nP:busybox\nV:1.36.1-r5\nA:x86_64\n"), 0o644)
	a := &APK{Root: root}
	for _, c := range []struct {
		name, arch, version string
		ok                  bool
	}{{"musl", "", "1.2.4-r2", true}, {"busybox", "x86_64", "1.36.1-r5", true}, {"busybox", "aarch64", "", false}, {"bash", "", "", false}} {
		p, ok, err := a.Installed(context.Background(), c.name, c.arch)
		if err != nil || ok != c.ok || p.Version != c.version && c.ok {
			t.Errorf("%s/%s: got %+v %t %v, want %s %t", c.name, c.arch, p, ok, err, c.version, c.ok)
		}
	}
}

func TestNotApplicable(t *testing.T) {
	ctx := context.Background()
	if _, err := (NoSystemd{}).State(ctx, "sshd"); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("NoSystemd: got %v", err)
	}
	if err := (NoPackages{}).Install(ctx, "x", "", ""); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("NoPackages: got %v", err)
	}
	if _, ok := Detect(t.TempDir()).Services.(NoSystemd); !ok {
		t.Error("Detect without run/systemd/system: services are not NoSystemd")
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "run/systemd/system"), 0o755)
	if _, ok := Detect(root).Services.(*Systemd); !ok {
		t.Error("Detect with run/systemd/system: services are not Systemd")
	}
}

// TestAccounts runs the real shadow tools on a throw-away /etc (their --prefix option).
func TestAccounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the shadow tools need root")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("no shadow tools")
	}
	prefix := t.TempDir()
	os.MkdirAll(filepath.Join(prefix, "etc"), 0o755)
	for _, f := range []string{"passwd", "group", "shadow", "gshadow"} {
		b, _ := os.ReadFile("/etc/" + f)
		os.WriteFile(filepath.Join(prefix, "etc", f), b, 0o600)
	}
	ctx := context.Background()
	a := &Accounts{Commands: &Exec{}, Prefix: prefix}
	if err := a.AddGroup(ctx, "bosun-g"); err != nil {
		t.Fatal(err)
	}
	if err := a.AddUser(ctx, "bosun-u"); err != nil {
		t.Fatal(err)
	}
	if err := a.ModifyUser(ctx, "bosun-u", UserChange{Shell: "/bin/sh", Home: "/srv/u", AddGroup: "bosun-g"}); err != nil {
		t.Fatal(err)
	}
	u, ok, err := a.User(ctx, "bosun-u")
	if err != nil || !ok || u.Shell != "/bin/sh" || u.Home != "/srv/u" || !slices.Contains(u.Groups, "bosun-g") {
		t.Errorf("user: got %+v %t %v", u, ok, err)
	}
	g, ok, err := a.Group(ctx, "bosun-g")
	if err != nil || !ok || strings.Join(g.Members, ",") != "bosun-u" {
		t.Errorf("group: got %+v %t %v", g, ok, err)
	}
	if err := a.DeleteUser(ctx, "bosun-u"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.User(ctx, "bosun-u"); ok {
		t.Error("user still there after DeleteUser")
	}
	if b, _ := os.ReadFile("/etc/passwd"); strings.Contains(string(b), "bosun-u") {
		t.Fatal("the real /etc/passwd was changed")
	}
	// Without a prefix, getent reads the machine's databases.
	real := &Accounts{Commands: &Exec{}}
	if u, ok, err := real.User(ctx, "root"); err != nil || !ok || u.UID != 0 {
		t.Errorf("root through getent: got %+v %t %v", u, ok, err)
	}
	if _, ok, err := real.Group(ctx, "bosun-no-such-group"); err != nil || ok {
		t.Errorf("unknown group through getent: got %t %v", ok, err)
	}
}

func TestProcSysAndModules(t *testing.T) {
	ctx := context.Background()
	// The real /proc, read-only.
	if v, err := (&ProcSys{}).Value(ctx, "kernel.ostype"); err != nil || v != "Linux" {
		t.Errorf("kernel.ostype: got %q %v, want Linux", v, err)
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "proc/sys/net/ipv4"), 0o755)
	os.WriteFile(filepath.Join(root, "proc/sys/net/ipv4/tcp_rmem"), []byte("4096\t131072\t6291456\n"), 0o644)
	s := &ProcSys{Root: root}
	if v, err := s.Value(ctx, "net.ipv4.tcp_rmem"); err != nil || v != "4096 131072 6291456" {
		t.Errorf("tcp_rmem: got %q %v", v, err)
	}
	if err := s.SetValue(ctx, "net/ipv4/tcp_rmem", "1 2 3"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Value(ctx, "net.ipv4.tcp_rmem"); v != "1 2 3" {
		t.Errorf("after set: got %q", v)
	}
	if _, err := s.Value(ctx, "../../etc/passwd"); err == nil {
		t.Error("a key escaping /proc/sys was accepted")
	}
	os.WriteFile(filepath.Join(root, "proc/modules"), []byte("nf_tables 1 0 - Live 0x0\n"), 0o644)
	m := &ProcModules{Root: root}
	for name, want := range map[string]bool{"nf_tables": true, "nf-tables": true, "nf": false} {
		if got, err := m.Loaded(ctx, name); err != nil || got != want {
			t.Errorf("Loaded(%s): got %t %v, want %t", name, got, err, want)
		}
	}
}

// TestDetectOtherPlatforms: on FreeBSD and macOS every backend but commands says "not
// applicable" and names the platform.
func TestDetectOtherPlatforms(t *testing.T) {
	ctx := context.Background()
	for _, goos := range []string{"freebsd", "darwin"} {
		s := detect(t.TempDir(), goos)
		if _, ok := s.Commands.(*Exec); !ok {
			t.Errorf("%s: commands are %T, want Exec", goos, s.Commands)
		}
		_, _, errPkg := s.Packages.Installed(ctx, "curl", "")
		_, errSvc := s.Services.State(ctx, "sshd")
		errDo := s.Services.Do(ctx, Start, "sshd")
		_, _, errUser := s.Users.User(ctx, "alice")
		errAdd := s.Users.AddUser(ctx, "alice")
		_, _, errGroup := s.Groups.Group(ctx, "staff")
		_, errSysctl := s.Sysctl.Value(ctx, "kern.hostname")
		_, errMod := s.Modules.Loaded(ctx, "wg")
		for i, err := range []error{errPkg, errSvc, errDo, errUser, errAdd, errGroup, errSysctl, errMod} {
			if !errors.Is(err, ErrNotApplicable) || !strings.Contains(err.Error(), goos) {
				t.Errorf("%s backend call %d: got %v, want not applicable naming %s", goos, i, err, goos)
			}
		}
	}
	if _, ok := detect(t.TempDir(), "linux").Users.(*Accounts); !ok {
		t.Error("linux: users are not Accounts")
	}
}
