package method

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bosun-io/bosun/agent/host"
)

// The tables below run the package and service methods against recorded fakes behind host's
// interfaces, for every case fast: the fakes record the state the real tools would report and
// the calls made. The real apt and dpkg install and remove a package in a throw-away Debian
// root in apt_chroot_test.go. Services stay on fakes: systemd does not run in the test
// environment (no /run/systemd/system), and a chroot cannot host it; the real "no systemd"
// backend is tested below. Users and groups run the real shadow tools
// (useradd, usermod, ...) on a throw-away copy of /etc through their --prefix option.

type fakePackages struct {
	installed map[string]string // name → version
	latest    map[string]string
	broken    map[string]bool // installs and removals of these fail
	calls     []string
}

var _ host.Packages = (*fakePackages)(nil)

func (f *fakePackages) Installed(_ context.Context, name, _ string) (host.Package, bool, error) {
	v, ok := f.installed[name]
	return host.Package{Name: name, Version: v}, ok, nil
}
func (f *fakePackages) Latest(_ context.Context, name, _ string) (string, error) {
	if v, ok := f.latest[name]; ok {
		return v, nil
	}
	return "", fmt.Errorf("latest version of %s: no candidate", name)
}
func (f *fakePackages) Install(_ context.Context, name, version, _ string) error {
	f.calls = append(f.calls, "install "+name+" "+version)
	if f.broken[name] {
		return fmt.Errorf("install %s: E: Unable to locate package", name)
	}
	if version == "" {
		version = f.latest[name]
	}
	f.installed[name] = version
	return nil
}
func (f *fakePackages) Remove(_ context.Context, name, _ string) error {
	f.calls = append(f.calls, "remove "+name)
	if f.broken[name] {
		return fmt.Errorf("remove %s: dpkg error", name)
	}
	delete(f.installed, name)
	return nil
}

type fakeServices struct {
	state  map[string]host.ServiceState
	broken map[string]bool
	calls  []string
}

var _ host.Services = (*fakeServices)(nil)

func (f *fakeServices) State(_ context.Context, name string) (host.ServiceState, error) {
	st, ok := f.state[name]
	if !ok {
		return st, fmt.Errorf("state of service %s: no such unit", name)
	}
	return st, nil
}
func (f *fakeServices) Do(_ context.Context, a host.ServiceAction, name string) error {
	f.calls = append(f.calls, string(a)+" "+name)
	if f.broken[name] {
		return fmt.Errorf("%s service %s: job failed", a, name)
	}
	st := f.state[name]
	switch a {
	case host.Start, host.Restart:
		st.Active = true
	case host.Stop:
		st.Active = false
	case host.Enable:
		st.Enabled = true
	case host.Disable:
		st.Enabled = false
	}
	f.state[name] = st
	return nil
}

type hostCase struct {
	name    string
	method  string
	values  []string
	audit   Status
	enforce Status
}

func runHostCases(t *testing.T, cases []hostCase, set func() *host.Set, check func(t *testing.T, hc hostCase, mode Mode, before, after *host.Set)) {
	for _, hc := range cases {
		for _, mode := range []Mode{Audit, Enforce} {
			t.Run(hc.name+"/"+mode.String(), func(t *testing.T) {
				h := set()
				env := &Env{DataDir: t.TempDir(), Host: h}
				want := hc.audit
				if mode == Enforce {
					want = hc.enforce
				}
				res := run(t, env, call(t, hc.method, mode, hc.values...))
				if res.Status != want {
					t.Fatalf("status: got %s, want %s (%s)", res.Status, want, res.Message)
				}
				if check != nil {
					check(t, hc, mode, nil, h)
				}
				if res.Status == Repaired && hc.method != "service_restart" && hc.method != "service_reload" {
					if again := run(t, env, call(t, hc.method, Enforce, hc.values...)); again.Status != Success {
						t.Errorf("second run: got %s, want success (%s)", again.Status, again.Message)
					}
				}
			})
		}
	}
}

func TestPackageMethods(t *testing.T) {
	cases := []hostCase{
		{"present/compliant", "package_present", []string{"bash", "any", "default", "default"}, AuditCompliant, Success},
		{"present/fixable", "package_present", []string{"htop", "", "", ""}, AuditNonCompliant, Repaired},
		{"present/fixable latest", "package_present", []string{"bash", "latest", "", "apt"}, AuditNonCompliant, Repaired},
		{"present/unfixable", "package_present", []string{"nosuch", "", "", ""}, AuditNonCompliant, Error},
		{"absent/compliant", "package_absent", []string{"htop", "any", "", ""}, AuditCompliant, Success},
		{"absent/compliant other version", "package_absent", []string{"bash", "4.0", "", ""}, AuditCompliant, Success},
		{"absent/fixable", "package_absent", []string{"vim", "", "", ""}, AuditNonCompliant, Repaired},
		{"absent/unfixable", "package_absent", []string{"locked", "", "", ""}, AuditNonCompliant, Error},
		{"state/fixable absent", "package_state", []string{"vim", "", "", "", "absent"}, AuditNonCompliant, Repaired},
		{"state/fixable present", "package_state", []string{"htop", "2.0", "", "", "present"}, AuditNonCompliant, Repaired},
		{"state/unfixable bad state", "package_state", []string{"htop", "", "", "", "purged"}, AuditError, Error},
	}
	var fp *fakePackages
	runHostCases(t, cases, func() *host.Set {
		fp = &fakePackages{
			installed: map[string]string{"bash": "5.2.15-2", "vim": "9.0", "locked": "1"},
			latest:    map[string]string{"bash": "5.2.21-1", "htop": "3.2.2"},
			broken:    map[string]bool{"nosuch": true, "locked": true},
		}
		return &host.Set{Packages: fp}
	}, func(t *testing.T, hc hostCase, mode Mode, _, _ *host.Set) {
		if mode == Audit && len(fp.calls) > 0 {
			t.Errorf("audit changed packages: %v", fp.calls)
		}
	})

	t.Run("provider", func(t *testing.T) {
		for _, c := range []struct {
			p        host.Packages
			provider string
			want     bool
		}{{&host.Apt{}, "apt", true}, {&host.Apt{}, "yum", false}, {&host.RPM{}, "yum", true}, {&host.RPM{}, "zypper", false}, {&host.APK{}, "apk", true}} {
			if got := providerMatches(c.p, c.provider); got != c.want {
				t.Errorf("%T with provider %s: got %t, want %t", c.p, c.provider, got, c.want)
			}
		}
	})

	t.Run("no package manager is not applicable", func(t *testing.T) {
		env := &Env{Host: &host.Set{Packages: host.NoPackages{}}}
		for mode, want := range map[Mode]Status{Audit: AuditNA, Enforce: NotApplicable} {
			if res := run(t, env, call(t, "package_present", mode, "bash")); res.Status != want {
				t.Errorf("%s: got %s, want %s", mode, res.Status, want)
			}
		}
	})
}

func TestServiceMethods(t *testing.T) {
	cases := []hostCase{
		{"started/compliant", "service_started", []string{"sshd"}, AuditCompliant, Success},
		{"started/fixable", "service_started", []string{"cron"}, AuditNonCompliant, Repaired},
		{"started/unfixable", "service_started", []string{"broken"}, AuditNonCompliant, Error},
		{"started/unknown unit", "service_started", []string{"nosuch"}, AuditError, Error},
		{"stopped/compliant", "service_stopped", []string{"cron"}, AuditCompliant, Success},
		{"stopped/fixable", "service_stopped", []string{"sshd"}, AuditNonCompliant, Repaired},
		{"enabled/compliant", "service_enabled", []string{"sshd"}, AuditCompliant, Success},
		{"enabled/fixable", "service_enabled", []string{"cron"}, AuditNonCompliant, Repaired},
		{"enabled/unfixable", "service_enabled", []string{"broken"}, AuditNonCompliant, Error},
		{"disabled/compliant", "service_disabled", []string{"cron"}, AuditCompliant, Success},
		{"disabled/fixable", "service_disabled", []string{"sshd"}, AuditNonCompliant, Repaired},
		{"restart/action", "service_restart", []string{"sshd"}, AuditNA, Repaired},
		{"restart/unfixable", "service_restart", []string{"broken"}, AuditNA, Error},
		{"reload/action", "service_reload", []string{"sshd"}, AuditNA, Repaired},
	}
	var fs *fakeServices
	runHostCases(t, cases, func() *host.Set {
		fs = &fakeServices{
			state:  map[string]host.ServiceState{"sshd": {Active: true, Enabled: true}, "cron": {}, "broken": {}},
			broken: map[string]bool{"broken": true},
		}
		return &host.Set{Services: fs}
	}, func(t *testing.T, hc hostCase, mode Mode, _, _ *host.Set) {
		if mode == Audit && len(fs.calls) > 0 {
			t.Errorf("audit drove services: %v", fs.calls)
		}
	})

	// The real backend of a machine without systemd, as this test machine is when it is.
	t.Run("no systemd is not applicable", func(t *testing.T) {
		h := host.Detect(t.TempDir()) // no run/systemd/system under this root
		env := &Env{Host: h}
		for _, id := range []string{"service_started", "service_stopped", "service_enabled", "service_disabled", "service_restart", "service_reload"} {
			for mode, want := range map[Mode]Status{Audit: AuditNA, Enforce: NotApplicable} {
				res := run(t, env, call(t, id, mode, "sshd"))
				if res.Status != want {
					t.Errorf("%s in %s: got %s, want %s (%s)", id, mode, res.Status, want, res.Message)
				}
			}
		}
	})
}

// throwawayEtc copies the account files into a temporary prefix for the shadow tools.
func throwawayEtc(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the shadow tools need root, even with --prefix")
	}
	for _, tool := range []string{"useradd", "usermod", "userdel", "groupadd", "groupdel"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	prefix := t.TempDir()
	os.MkdirAll(filepath.Join(prefix, "etc"), 0o755)
	for _, f := range []string{"passwd", "group", "shadow", "gshadow", "login.defs"} {
		b, err := os.ReadFile(filepath.Join("/etc", f))
		if err != nil {
			if f == "gshadow" || f == "login.defs" {
				continue
			}
			t.Skipf("no /etc/%s to copy: %v", f, err)
		}
		if err := os.WriteFile(filepath.Join(prefix, "etc", f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A user to find, a group to join, a group that blocks user creation: written directly, as
	// the tools take most of a second each.
	add := func(f, lines string) {
		fh, err := os.OpenFile(filepath.Join(prefix, "etc", f), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		fh.WriteString(lines)
	}
	add("passwd", "bosun-alice:x:2001:2001::/home/alice:/bin/sh\nbosun-gone:x:2002:2002::/home/gone:/bin/sh\n")
	add("shadow", "bosun-alice:!:19000:0:99999:7:::\nbosun-gone:!:19000:0:99999:7:::\n")
	add("group", "bosun-alice:x:2001:\nbosun-gone:x:2002:\nbosun-devs:x:2100:\nbosun-blocked:x:2101:\nbosun-old:x:2102:\n")
	add("gshadow", "bosun-alice:!::\nbosun-gone:!::\nbosun-devs:!::\nbosun-blocked:!::\nbosun-old:!::\n")
	return prefix
}

func TestUserMethods(t *testing.T) {
	cases := []hostCase{
		{"user_present/compliant", "user_present", []string{"bosun-alice"}, AuditCompliant, Success},
		{"user_present/fixable", "user_present", []string{"bosun-bob"}, AuditNonCompliant, Repaired},
		{"user_present/unfixable group exists", "user_present", []string{"bosun-blocked"}, AuditError, Error},
		{"user_absent/compliant", "user_absent", []string{"bosun-nobody"}, AuditCompliant, Success},
		{"user_absent/fixable", "user_absent", []string{"bosun-gone"}, AuditNonCompliant, Repaired},
		{"user_group/compliant primary", "user_group", []string{"bosun-alice", "bosun-alice"}, AuditCompliant, Success},
		{"user_group/fixable", "user_group", []string{"bosun-alice", "bosun-devs"}, AuditNonCompliant, Repaired},
		{"user_group/unfixable no group", "user_group", []string{"bosun-alice", "bosun-nogroup"}, AuditError, Error},
		{"user_shell/compliant", "user_shell", []string{"bosun-alice", "/bin/sh"}, AuditCompliant, Success},
		{"user_shell/fixable", "user_shell", []string{"bosun-alice", "/bin/bash"}, AuditNonCompliant, Repaired},
		{"user_shell/unfixable no user", "user_shell", []string{"bosun-nobody", "/bin/bash"}, AuditError, Error},
		{"user_home/compliant", "user_home", []string{"bosun-alice", "/home/alice"}, AuditCompliant, Success},
		{"user_home/fixable", "user_home", []string{"bosun-alice", "/srv/alice"}, AuditNonCompliant, Repaired},
		{"user_home/unfixable no user", "user_home", []string{"bosun-nobody", "/srv"}, AuditError, Error},
		{"group_present/compliant", "group_present", []string{"bosun-devs"}, AuditCompliant, Success},
		{"group_present/fixable", "group_present", []string{"bosun-new"}, AuditNonCompliant, Repaired},
		{"group_present/unfixable bad name", "group_present", []string{"bad:name"}, AuditNonCompliant, Error},
		{"group_absent/compliant", "group_absent", []string{"bosun-none"}, AuditCompliant, Success},
		{"group_absent/fixable", "group_absent", []string{"bosun-old"}, AuditNonCompliant, Repaired},
		{"group_absent/unfixable primary group", "group_absent", []string{"bosun-alice"}, AuditNonCompliant, Error},
	}
	base := throwawayEtc(t)
	// The shadow tools take their time (locks, syncs): the cases run in parallel, each on its
	// own copy of /etc.
	for _, hc := range cases {
		for _, mode := range []Mode{Audit, Enforce} {
			t.Run(hc.name+"/"+mode.String(), func(t *testing.T) {
				t.Parallel()
				prefix := t.TempDir()
				copyTree(t, base, prefix)
				before := snapshot(t, prefix)
				acc := &host.Accounts{Commands: &host.Exec{}, Prefix: prefix}
				env := &Env{DataDir: t.TempDir(), Host: &host.Set{Users: acc, Groups: acc}}
				want := hc.audit
				if mode == Enforce {
					want = hc.enforce
				}
				res := run(t, env, call(t, hc.method, mode, hc.values...))
				if res.Status != want {
					t.Fatalf("status: got %s, want %s (%s)", res.Status, want, res.Message)
				}
				if mode == Audit {
					sameTree(t, before, snapshot(t, prefix))
				} else if res.Status == Repaired {
					if again := run(t, env, call(t, hc.method, Enforce, hc.values...)); again.Status != Success {
						t.Errorf("second run: got %s, want success (%s)", again.Status, again.Message)
					}
				}
			})
		}
	}
	// Users have no not-applicable case: getent and the shadow tools are part of every Linux
	// base system.
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(to, strings.TrimPrefix(p, from))
		if fi.IsDir() {
			return os.MkdirAll(dst, fi.Mode().Perm())
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
