package method

import (
	"strings"
	"testing"

	"github.com/bosun-io/bosun/agent/host"
)

func TestSupported(t *testing.T) {
	for _, c := range []struct {
		method, goos string
		want         bool
		why          string
	}{
		{"package_present", "linux", true, ""},
		{"package_present", "freebsd", false, "package_present is not applicable on freebsd: it needs a Linux package manager"},
		{"service_started", "darwin", false, "service_started is not applicable on darwin: it needs systemd"},
		{"service_restart", "freebsd", false, "not applicable on freebsd: it needs systemd"},
		{"user_present", "darwin", false, "not applicable on darwin: it needs the shadow tools"},
		{"group_absent", "freebsd", false, "not applicable on freebsd: it needs the shadow tools"},
		{"sysctl_value", "freebsd", false, "needs /proc/sys"},
		{"kernel_module_loaded", "darwin", false, "needs /proc/modules"},
		{"environment_variable", "darwin", false, "needs /etc/environment"},
		{"file_content", "darwin", true, ""},
		{"permissions", "freebsd", true, ""},
		{"command_execution", "freebsd", true, ""},
		{"no_such_method", "freebsd", true, ""}, // Run reports unknown methods itself
	} {
		got, why := supported(c.method, c.goos)
		if got != c.want || !strings.Contains(why, c.why) || (c.want && why != "") {
			t.Errorf("supported(%s, %s): got %t %q, want %t %q", c.method, c.goos, got, why, c.want, c.why)
		}
	}
	for id := range platformNeeds {
		if !Known(id) {
			t.Errorf("platformNeeds lists %s, which is not a method", id)
		}
	}
	for _, id := range []string{"package_present", "service_started", "user_present", "sysctl_value", "kernel_module_loaded"} {
		if ok, _ := supported(id, "linux"); !ok {
			t.Errorf("%s is not supported on linux", id)
		}
	}
}

// TestRunOnOtherPlatforms runs the Linux-only methods as a FreeBSD and a macOS agent would:
// not applicable in both modes, saying why, and without touching a backend (the host set is
// empty: a call reaching one would panic, which Run reports as an error).
func TestRunOnOtherPlatforms(t *testing.T) {
	calls := map[string][]string{
		"package_present":      {"openssh-server"},
		"service_started":      {"sshd"},
		"service_restart":      {"sshd"},
		"user_present":         {"alice"},
		"group_present":        {"staff"},
		"sysctl_value":         {"vm.swappiness", "10", "bosun", ""},
		"kernel_module_loaded": {"wireguard"},
		"environment_variable": {"LANG", "C.UTF-8"},
	}
	for _, goos := range []string{"freebsd", "darwin"} {
		for id, values := range calls {
			for _, mode := range []Mode{Audit, Enforce} {
				root := t.TempDir()
				env := &Env{RootPrefix: root, DataDir: t.TempDir(), Host: &host.Set{}, GOOS: goos}
				got := run(t, env, call(t, id, mode, values...))
				want := AuditNA
				if mode == Enforce {
					want = NotApplicable
				}
				if got.Status != want || !strings.Contains(got.Message, "not applicable on "+goos) {
					t.Errorf("%s on %s in %v: got %v %q, want %v naming %s", id, goos, mode, got.Status, got.Message, want, goos)
				}
				if len(got.Conditions) != 1 || !strings.HasSuffix(got.Conditions[0], "_noop") {
					t.Errorf("%s on %s: conditions %v, want only the _noop one", id, goos, got.Conditions)
				}
			}
		}
	}
	// What works everywhere still runs.
	root := t.TempDir()
	env := &Env{RootPrefix: root, DataDir: t.TempDir(), Host: &host.Set{Commands: &host.Exec{}}, GOOS: "freebsd"}
	if got := run(t, env, call(t, "file_content", Enforce, "/etc/motd", "hello", "true")); got.Status != Repaired {
		t.Errorf("file_content on freebsd: got %v %q, want repaired", got.Status, got.Message)
	}
}
