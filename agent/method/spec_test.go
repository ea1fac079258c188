package method

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// issueMethods are the methods the agent issue requires.
var issueMethods = []string{"file_present", "file_absent", "file_content", "file_lines_present", "file_lines_absent",
	"file_replace_lines", "file_key_value_present", "file_keys_values_present", "file_block_present",
	"file_from_template_mustache", "file_from_string_mustache", "file_from_shared_folder", "file_symlink_present",
	"file_check_exists", "permissions", "permissions_recursive", "directory_present", "directory_absent",
	"package_present", "package_absent", "package_state", "service_started", "service_stopped", "service_enabled",
	"service_disabled", "service_restart", "service_reload", "user_present", "user_absent", "user_group", "user_shell",
	"user_home", "group_present", "group_absent", "command_execution", "command_execution_result", "audit_from_command",
	"condition_from_command", "condition_from_expression", "condition_from_variable_match", "variable_string",
	"variable_dict", "sysctl_value", "kernel_module_loaded", "environment_variable",
	"http_request_check_status_headers", "report_if_condition", "schedule_simple"}

// corpus finds shared/corpus beside the repository, walking up from the package directory.
func corpus(t *testing.T, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "corpus", rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skipf("shared/corpus/%s not found above the package directory", rel)
		}
		dir = parent
	}
}

// TestSpecsMatchRudder checks ids, parameter names and order, and reporting parameters
// against Rudder's method library listing.
func TestSpecsMatchRudder(t *testing.T) {
	for _, id := range issueMethods {
		if !Known(id) {
			t.Errorf("method %s not implemented", id)
		}
	}
	f, err := os.Open(corpus(t, "methods/generic-methods.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rudder := map[string]Spec{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 5 || cols[0] == "method" {
			continue
		}
		s := Spec{ID: cols[0], ReportingParam: cols[4]}
		for _, p := range strings.Split(cols[3], " | ") {
			name, _, _ := strings.Cut(p, ":")
			s.Params = append(s.Params, strings.TrimSpace(name))
		}
		rudder[s.ID] = s
	}
	// file_check_exists is deprecated in Rudder, so not in the listing; its source declares (path).
	rudder["file_check_exists"] = Spec{ID: "file_check_exists", Params: []string{"path"}, ReportingParam: "path"}
	for _, s := range Methods() {
		r, ok := rudder[s.ID]
		if !ok {
			t.Errorf("%s: not a Rudder method", s.ID)
			continue
		}
		if !slices.Equal(s.Params, r.Params) {
			t.Errorf("%s parameters: got %v, want %v", s.ID, s.Params, r.Params)
		}
		if s.ReportingParam != r.ReportingParam {
			t.Errorf("%s reporting parameter: got %s, want %s", s.ID, s.ReportingParam, r.ReportingParam)
		}
	}
	// Class prefixes that differ from the id, from Rudder's @class_prefix.
	for id, want := range map[string]string{"file_content": "file_lines_present", "file_from_template_mustache": "file_from_template",
		"permissions_recursive": "permissions", "environment_variable": "environment_variable_present", "file_present": "file_present"} {
		if got := registry[id].ClassPrefix; got != want {
			t.Errorf("%s class prefix: got %s, want %s", id, got, want)
		}
	}
}
