package method

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/agent/host"
)

type logicCase struct {
	name      string
	method    string
	values    []string
	audit     Status
	enforce   Status
	wantConds []string // defined after the enforce run
}

func TestLogicMethods(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Token") != "t" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	cases := []logicCase{
		{"command_execution/repaired", "command_execution", []string{"true | cat"}, AuditNA, Repaired,
			[]string{"command_execution_true___cat_repaired"}},
		{"command_execution/error", "command_execution", []string{"exit 3"}, AuditNA, Error, []string{"command_execution_exit_3_error"}},
		{"command_execution_result/kept", "command_execution_result", []string{"exit 2", "0,2", "1"}, AuditNA, Success, nil},
		{"command_execution_result/repaired", "command_execution_result", []string{"exit 1", "0, 2", "1"}, AuditNA, Repaired, nil},
		{"command_execution_result/error", "command_execution_result", []string{"exit 9", "0", "1"}, AuditNA, Error, nil},
		{"audit_from_command/compliant", "audit_from_command", []string{"test -d /", "0"}, AuditCompliant, Success, nil},
		{"audit_from_command/noncompliant", "audit_from_command", []string{"test -d /nonexistent-bosun", "0"}, AuditNonCompliant, Error, nil},
		{"audit_from_command/bad codes", "audit_from_command", []string{"true", "zero"}, AuditError, Error, nil},
		{"condition_from_command/true", "condition_from_command", []string{"net-ok", "exit 0", "0", "1"}, AuditCompliant, Success,
			[]string{"net_ok_true", "condition_from_command_net_ok_kept"}},
		{"condition_from_command/false", "condition_from_command", []string{"net-ok", "exit 1", "0", "1"}, AuditCompliant, Success,
			[]string{"net_ok_false"}},
		{"condition_from_command/error", "condition_from_command", []string{"net-ok", "exit 7", "0", "1"}, AuditError, Error,
			[]string{"condition_from_command_net_ok_error"}},
		{"condition_from_expression/true", "condition_from_expression", []string{"backup", "debian.!windows"}, AuditCompliant, Success,
			[]string{"backup_true", "condition_from_expression_backup_kept"}},
		{"condition_from_expression/false", "condition_from_expression", []string{"backup", "windows"}, AuditCompliant, Success,
			[]string{"backup_false"}},
		{"condition_from_expression/invalid", "condition_from_expression", []string{"backup", "(windows"}, AuditError, Error, nil},
		{"condition_from_variable_match/true", "condition_from_variable_match", []string{"env", "my.env", "prod.*"}, AuditCompliant, Success,
			[]string{"env_true"}},
		{"condition_from_variable_match/false", "condition_from_variable_match", []string{"env", "my.env", "prod"}, AuditCompliant, Success,
			[]string{"env_false"}},
		{"condition_from_variable_match/undefined", "condition_from_variable_match", []string{"env", "my.nothing", ".*"}, AuditError, Error,
			[]string{"env_false", "condition_from_variable_match_env_error"}},
		{"variable_string/kept", "variable_string", []string{"p", "n", "v"}, AuditCompliant, Success, []string{"variable_string_n_kept"}},
		{"variable_string/empty name", "variable_string", []string{"p", "", "v"}, AuditError, Error, nil},
		{"variable_dict/kept", "variable_dict", []string{"p", "d", `{"a":{"b":1}}`}, AuditCompliant, Success, nil},
		{"variable_dict/not json", "variable_dict", []string{"p", "d", `{a}`}, AuditError, Error, nil},
		{"report_if_condition/true", "report_if_condition", []string{"Backups ok", "debian"}, AuditCompliant, Success,
			[]string{"report_if_condition_Backups_ok_debian_kept"}},
		{"report_if_condition/false", "report_if_condition", []string{"Backups ok", "windows"}, AuditNonCompliant, Error, nil},
		{"http/compliant", "http_request_check_status_headers", []string{"GET", srv.URL, "200", "X-Token: t"}, AuditCompliant, Success, nil},
		{"http/noncompliant", "http_request_check_status_headers", []string{"GET", srv.URL, "200", ""}, AuditNonCompliant, Error, nil},
		{"http/action not sent in audit", "http_request_check_status_headers", []string{"POST", srv.URL, "200", "X-Token: t"}, AuditNA, Success, nil},
		{"http/unreachable", "http_request_check_status_headers", []string{"GET", "http://127.0.0.1:1/", "200", ""}, AuditError, Error, nil},
	}
	for _, lc := range cases {
		for _, mode := range []Mode{Audit, Enforce} {
			t.Run(lc.name+"/"+mode.String(), func(t *testing.T) {
				env := newEnv(t, "")
				env.Conditions = NewConditions("debian", "any")
				env.Vars = NewVars()
				env.Vars.Set("my", "env", "production")
				res := run(t, env, call(t, lc.method, mode, lc.values...))
				want := lc.audit
				if mode == Enforce {
					want = lc.enforce
				}
				if res.Status != want {
					t.Fatalf("status: got %s, want %s (%s)", res.Status, want, res.Message)
				}
				if mode == Enforce {
					for _, c := range lc.wantConds {
						if !env.Conditions.Has(c) {
							t.Errorf("condition %s not defined; got %v", c, res.Conditions)
						}
					}
				}
			})
		}
	}
}

func TestResultConditions(t *testing.T) {
	root := t.TempDir()
	env := newEnv(t, root)
	res := run(t, env, call(t, "file_content", Enforce, "/etc/motd", "hi", "true"))
	want := []string{"file_lines_present__etc_motd_repaired", "file_lines_present__etc_motd_ok", "file_lines_present__etc_motd_reached",
		"file_lines_present__etc_motd_not_kept", "promise_repaired_file_lines_present__etc_motd"}
	if !slices.Equal(res.Conditions, want) {
		t.Errorf("repaired conditions: got %v, want %v", res.Conditions, want)
	}
	res = run(t, env, call(t, "file_content", Enforce, "/etc/motd", "hi", "true"))
	if !slices.Contains(res.Conditions, "file_lines_present__etc_motd_kept") {
		t.Errorf("kept conditions: got %v", res.Conditions)
	}
	// An explicit reporting value wins over the reporting parameter's.
	c := call(t, "file_present", Audit, "/etc/none")
	c.ReportingValue = "motd é"
	res = run(t, env, c)
	if !slices.Contains(res.Conditions, "file_present_motd____error") || !slices.Contains(res.Conditions, "file_present_motd____not_ok") {
		t.Errorf("audit non-compliant conditions: got %v", res.Conditions)
	}
	if got := canonify("a-b.c/d_é9"); got != "a_b_c_d___9" {
		t.Errorf("canonify: got %q, want %q", got, "a_b_c_d___9")
	}
}

func TestExpand(t *testing.T) {
	env := &Env{}
	env.vars().Set("p", "s", "str")
	env.vars().Set("p", "k", "b")
	env.vars().Set("p", "d", map[string]any{"a": map[string]any{"b": "deep"}, "n": float64(3), "l": []any{"x", "y"}})
	for _, c := range []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"${p.s}-${p.s}", "str-str", ""},
		{"${p.d[a][b]}", "deep", ""},
		{"${p.d[a][${p.k}]}", "deep", ""},
		{"${p.d[n]}", "3", ""},
		{"${p.d[l][1]}", "y", ""},
		{"${p.d[a]}", `{"b":"deep"}`, ""},
		{"echo ${HOME} ${match.1}", "echo ${HOME} ${match.1}", ""},
		{"${p.missing}", "", "unknown variable ${p.missing}"},
		{"${p.d[zz]}", "", "unknown variable ${p.d[zz]}"},
		{"${p.s", "${p.s", ""},
	} {
		got, err := env.Expand(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Expand(%q): got error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Expand(%q): got %q, %v; want %q", c.in, got, err, c.want)
		}
	}

	// A later call uses what an earlier one defined; an unknown reference fails the call.
	root := t.TempDir()
	env = newEnv(t, root)
	run(t, env, call(t, "variable_string", Enforce, "conf", "port", "2222"))
	run(t, env, call(t, "variable_dict", Enforce, "conf", "d", `{"user":"admin"}`))
	if res := run(t, env, call(t, "file_content", Enforce, "/etc/x", "port=${conf.port} user=${conf.d[user]}", "true")); res.Status != Repaired {
		t.Fatalf("got %s (%s)", res.Status, res.Message)
	}
	if got := read(t, root, "/etc/x"); got != "port=2222 user=admin\n" {
		t.Errorf("expanded content: got %q", got)
	}
	res := run(t, env, call(t, "file_content", Enforce, "/etc/y", "${conf.nope}", "true"))
	if res.Status != Error || !strings.Contains(res.Message, "${conf.nope}") {
		t.Errorf("unknown reference: got %s %q, want error naming ${conf.nope}", res.Status, res.Message)
	}
}

func TestRunSafety(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		env := newEnv(t, "")
		c := call(t, "command_execution", Enforce, "sleep 30")
		c.Timeout = 200 * time.Millisecond
		start := time.Now()
		res := run(t, env, c)
		if res.Status != Error {
			t.Errorf("got %s, want error (%s)", res.Status, res.Message)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("timeout not applied: took %s", d)
		}
	})
	t.Run("panic is an error for the call only", func(t *testing.T) {
		env := &Env{} // no host: the service method dereferences nil
		res := run(t, env, call(t, "service_started", Enforce, "sshd"))
		if res.Status != Error || !strings.Contains(res.Message, "panicked") {
			t.Errorf("got %s %q, want an error saying it panicked", res.Status, res.Message)
		}
		if res := run(t, env, call(t, "variable_string", Enforce, "a", "b", "c")); res.Status != Success {
			t.Errorf("next call: got %s, want success", res.Status)
		}
	})
	t.Run("unknown method and parameter", func(t *testing.T) {
		env := &Env{}
		if res := Run(context.Background(), env, Call{Method: "file_teleport", Mode: Enforce}); res.Status != Error {
			t.Errorf("unknown method: got %s, want error", res.Status)
		}
		res := Run(context.Background(), env, Call{Method: "file_present", Mode: Audit, Params: []Param{{"target", "/x"}}})
		if res.Status != AuditError {
			t.Errorf("unknown parameter: got %s, want audit-error", res.Status)
		}
	})
	t.Run("bounded output", func(t *testing.T) {
		env := newEnv(t, "")
		res := run(t, env, call(t, "command_execution", Enforce, "head -c 1000000 /dev/zero | tr '\\0' x; exit 1"))
		if res.Status != Error || len(res.Message) > 1000 {
			t.Errorf("got %s with a %d-byte message, want an error with a short message", res.Status, len(res.Message))
		}
	})
}

// fakeRunner loads a module by appending it to the throw-away /proc/modules.
type fakeRunner struct{ modules string }

func (f fakeRunner) Run(_ context.Context, c host.Cmd) (host.CmdResult, error) {
	if len(c.Argv) == 3 && c.Argv[0] == "modprobe" && c.Argv[2] != "nosuch" {
		fh, err := os.OpenFile(f.modules, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return host.CmdResult{}, err
		}
		defer fh.Close()
		fh.WriteString(c.Argv[2] + " 16384 0 - Live 0x0\n")
		return host.CmdResult{}, nil
	}
	return host.CmdResult{ExitCode: 1, Output: []byte("modprobe: FATAL: Module not found")}, nil
}

// TestKernelMethods runs sysctl_value, kernel_module_loaded and environment_variable on the
// real /proc-reading backends pointed at a throw-away tree; modprobe is a fake that edits it.
func TestKernelMethods(t *testing.T) {
	cases := []hostCase{
		{"sysctl/compliant", "sysctl_value", []string{"vm.swappiness", "60", "99_bosun", ""}, AuditCompliant, Success},
		{"sysctl/compliant min", "sysctl_value", []string{"net.core.rmem_max", "1000", "99_bosun", "Min"}, AuditCompliant, Success},
		{"sysctl/fixable", "sysctl_value", []string{"vm.swappiness", "10", "99_bosun", "default"}, AuditNonCompliant, Repaired},
		{"sysctl/fixable max", "sysctl_value", []string{"net.core.rmem_max", "100", "99_bosun", "max"}, AuditNonCompliant, Repaired},
		{"sysctl/unfixable no key", "sysctl_value", []string{"vm.nosuch", "1", "99_bosun", ""}, AuditError, Error},
		{"sysctl/unfixable no file name", "sysctl_value", []string{"vm.swappiness", "1", "", ""}, AuditNonCompliant, Error},
		{"module/compliant", "kernel_module_loaded", []string{"ext4"}, AuditCompliant, Success},
		{"module/compliant dash", "kernel_module_loaded", []string{"nf-tables"}, AuditCompliant, Success},
		{"module/fixable", "kernel_module_loaded", []string{"dummy"}, AuditNonCompliant, Repaired},
		{"module/unfixable", "kernel_module_loaded", []string{"nosuch"}, AuditNonCompliant, Error},
		{"environment/compliant", "environment_variable", []string{"LANG", "C.UTF-8"}, AuditCompliant, Success},
		{"environment/fixable", "environment_variable", []string{"HTTP_PROXY", "http://p:3128"}, AuditNonCompliant, Repaired},
		{"environment/unfixable bad name", "environment_variable", []string{"A B", "1"}, AuditError, Error},
	}
	for _, hc := range cases {
		for _, mode := range []Mode{Audit, Enforce} {
			t.Run(hc.name+"/"+mode.String(), func(t *testing.T) {
				root := t.TempDir()
				files("/proc/sys/vm/swappiness", "60\n", "/proc/sys/net/core/rmem_max", "212992\n",
					"/proc/modules", "ext4 1 0 - Live 0x0\nnf_tables 1 0 - Live 0x0\n",
					"/etc/sysctl.d/README", "", "/etc/environment", "LANG=C.UTF-8\n")(t, root)
				env := newEnv(t, root)
				env.Host = &host.Set{Sysctl: &host.ProcSys{Root: root},
					Modules: &host.ProcModules{Root: root, Commands: fakeRunner{filepath.Join(root, "proc/modules")}}}
				before := snapshot(t, root)
				res := run(t, env, call(t, hc.method, mode, hc.values...))
				want := hc.audit
				if mode == Enforce {
					want = hc.enforce
				}
				if res.Status != want {
					t.Fatalf("status: got %s, want %s (%s)", res.Status, want, res.Message)
				}
				if mode == Audit {
					sameTree(t, before, snapshot(t, root))
				} else if res.Status == Repaired {
					if again := run(t, env, call(t, hc.method, Enforce, hc.values...)); again.Status != Success {
						t.Errorf("second run: got %s, want success (%s)", again.Status, again.Message)
					}
				}
			})
		}
	}
	root := t.TempDir()
	files("/proc/sys/vm/swappiness", "60\n", "/etc/sysctl.d/README", "")(t, root)
	env := newEnv(t, root)
	env.Host = &host.Set{Sysctl: &host.ProcSys{Root: root}}
	run(t, env, call(t, "sysctl_value", Enforce, "vm.swappiness", "10", "99_bosun", ""))
	if got := read(t, root, "/etc/sysctl.d/99_bosun.conf"); got != "vm.swappiness = 10\n" {
		t.Errorf("persisted sysctl: got %q", got)
	}
}

func TestScheduleSimple(t *testing.T) {
	// Every hour at minute 0, no splay, 5-minute runs.
	params := []string{"job", "5", "0", "0", "0", "0", "0", "0", "1", "0", "nodups"}
	at := func(h, m int) func() time.Time {
		return func() time.Time { return time.Date(2025, 6, 2, h, m, 0, 0, time.Local) }
	}
	env := newEnv(t, "")
	env.Now = at(10, 2)
	if res := run(t, env, call(t, "schedule_simple", Enforce, params...)); res.Status != Repaired {
		t.Errorf("due: got %s, want repaired (%s)", res.Status, res.Message)
	}
	if res := run(t, env, call(t, "schedule_simple", Enforce, params...)); res.Status != Success {
		t.Errorf("nodups, same period: got %s, want success (%s)", res.Status, res.Message)
	}
	env.Now = at(10, 30)
	if res := run(t, env, call(t, "schedule_simple", Enforce, params...)); res.Status != Success {
		t.Errorf("not due: got %s, want success (%s)", res.Status, res.Message)
	}
	// catchup: the 11:00 run was missed; at 11:40 the job runs once.
	catchup := slices.Clone(params)
	catchup[10] = "catchup"
	env.Now = at(10, 1)
	run(t, env, call(t, "schedule_simple", Enforce, catchup...))
	env.Now = at(11, 40)
	if res := run(t, env, call(t, "schedule_simple", Enforce, catchup...)); res.Status != Repaired {
		t.Errorf("catchup: got %s, want repaired (%s)", res.Status, res.Message)
	}
	// Audit: due is reported compliant and still defines the due condition.
	env = newEnv(t, "")
	env.Now = at(10, 2)
	res := run(t, env, call(t, "schedule_simple", Audit, params...))
	if res.Status != AuditCompliant || !slices.Contains(res.Conditions, "schedule_simple_job_repaired") {
		t.Errorf("audit due: got %s %v", res.Status, res.Conditions)
	}
	bad := slices.Clone(params)
	bad[8] = "0" // period 0 < agent periodicity
	if res := run(t, env, call(t, "schedule_simple", Enforce, bad...)); res.Status != Error {
		t.Errorf("inconsistent: got %s, want error", res.Status)
	}
}
