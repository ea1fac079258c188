package method

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fileCase is one situation for one method. Each case runs twice on a fresh tree: in audit
// (where the tree must not change at all) and in enforce (then once more in enforce, which must
// find nothing left to do when the first run repaired).
type fileCase struct {
	name    string
	method  string
	values  []string
	setup   func(t *testing.T, root string)
	vars    map[string]any // prefix.name → value, defined before the call
	audit   Status
	enforce Status
	after   func(t *testing.T, root string) // checks the tree after enforce
}

func content(p, want string) func(t *testing.T, root string) {
	return func(t *testing.T, root string) {
		t.Helper()
		if got := read(t, root, p); got != want {
			t.Errorf("content of %s: got %q, want %q", p, got, want)
		}
	}
}

func files(kv ...string) func(t *testing.T, root string) {
	return func(t *testing.T, root string) {
		for i := 0; i+1 < len(kv); i += 2 {
			write(t, root, kv[i], kv[i+1])
		}
	}
}

func exists(p string, want bool) func(t *testing.T, root string) {
	return func(t *testing.T, root string) {
		t.Helper()
		_, err := os.Lstat(filepath.Join(root, p))
		if got := err == nil; got != want {
			t.Errorf("%s exists: got %t, want %t", p, got, want)
		}
	}
}

func fileCases() []fileCase {
	blocker := files("/blocker", "a file where a directory should be\n")
	return []fileCase{
		{name: "present/compliant", method: "file_present", values: []string{"/etc/a"}, setup: files("/etc/a", "x"),
			audit: AuditCompliant, enforce: Success, after: content("/etc/a", "x")},
		{name: "present/fixable", method: "file_present", values: []string{"/etc/new/a"},
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/new/a", "")},
		{name: "present/unfixable directory", method: "file_present", values: []string{"/etc"}, setup: files("/etc/a", "x"),
			audit: AuditError, enforce: Error},

		{name: "absent/compliant", method: "file_absent", values: []string{"/etc/gone"},
			audit: AuditCompliant, enforce: Success},
		{name: "absent/fixable", method: "file_absent", values: []string{"/etc/a"}, setup: files("/etc/a", "x"),
			audit: AuditNonCompliant, enforce: Repaired, after: exists("/etc/a", false)},
		{name: "absent/unfixable directory", method: "file_absent", values: []string{"/etc"}, setup: files("/etc/a", "x"),
			audit: AuditError, enforce: Error, after: exists("/etc/a", true)},

		{name: "check_exists/compliant", method: "file_check_exists", values: []string{"/etc/a"}, setup: files("/etc/a", "x"),
			audit: AuditCompliant, enforce: Success},
		{name: "check_exists/unfixable missing", method: "file_check_exists", values: []string{"/etc/a"},
			audit: AuditNonCompliant, enforce: Error, after: exists("/etc/a", false)},

		{name: "content/compliant enforce", method: "file_content", values: []string{"/etc/c", "a\nb", "true"}, setup: files("/etc/c", "a\nb\n"),
			audit: AuditCompliant, enforce: Success},
		{name: "content/fixable enforce", method: "file_content", values: []string{"/etc/c", "a\nb", "true"}, setup: files("/etc/c", "old\na\n"),
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/c", "a\nb\n")},
		{name: "content/fixable lines", method: "file_content", values: []string{"/etc/c", "b\nz", "false"}, setup: files("/etc/c", "a\nb\n"),
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/c", "a\nb\nz\n")},
		{name: "content/fixable missing file", method: "file_content", values: []string{"/etc/d/c", "a", "true"},
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/d/c", "a\n")},
		{name: "content/unfixable parent is a file", method: "file_content", values: []string{"/blocker/c", "a", "true"}, setup: blocker,
			audit: AuditError, enforce: Error},

		{name: "lines_present/compliant", method: "file_lines_present", values: []string{"/etc/c", "b"}, setup: files("/etc/c", "a\nb\nc\n"),
			audit: AuditCompliant, enforce: Success},
		{name: "lines_present/fixable", method: "file_lines_present", values: []string{"/etc/c", "x\na"}, setup: files("/etc/c", "a\n"),
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/c", "a\nx\n")},
		{name: "lines_present/unfixable", method: "file_lines_present", values: []string{"/blocker/c", "a"}, setup: blocker,
			audit: AuditError, enforce: Error},

		{name: "lines_absent/compliant", method: "file_lines_absent", values: []string{"/etc/c", "z.*"}, setup: files("/etc/c", "a\nb\n"),
			audit: AuditCompliant, enforce: Success},
		{name: "lines_absent/compliant no file", method: "file_lines_absent", values: []string{"/etc/none", "z"},
			audit: AuditCompliant, enforce: Success},
		{name: "lines_absent/fixable", method: "file_lines_absent", values: []string{"/etc/c", "b.*\nc"}, setup: files("/etc/c", "a\nbb\nc\ncc\n"),
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/c", "a\ncc\n")},
		{name: "lines_absent/unfixable bad regexp", method: "file_lines_absent", values: []string{"/etc/c", "(("}, setup: files("/etc/c", "a\n"),
			audit: AuditError, enforce: Error},

		{name: "replace_lines/compliant", method: "file_replace_lines", values: []string{"/etc/c", "^k=1$", "k=2"}, setup: files("/etc/c", "k=2\n"),
			audit: AuditCompliant, enforce: Success},
		{name: "replace_lines/fixable", method: "file_replace_lines", values: []string{"/etc/c", "<my>(.*)<pattern>", "my ${match.1} pattern $HOME"},
			setup: files("/etc/c", "x\n<my>big<pattern>\n"),
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/c", "x\nmy big pattern $HOME\n")},
		{name: "replace_lines/unfixable missing file", method: "file_replace_lines", values: []string{"/etc/none", "a", "b"},
			audit: AuditError, enforce: Error},

		{name: "key_value/compliant lax", method: "file_key_value_present", values: []string{"/etc/kv", "port", "22", "="}, setup: files("/etc/kv", "# c\nport = 22\n"),
			audit: AuditCompliant, enforce: Success},
		{name: "key_value/fixable", method: "file_key_value_present", values: []string{"/etc/kv", "port", "2222", " "}, setup: files("/etc/kv", "Port 1\nport 22\n"),
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/kv", "Port 1\nport 2222\n")},
		{name: "key_value/fixable missing key", method: "file_key_value_present", values: []string{"/etc/kv", "a", "1", "="}, setup: files("/etc/kv", "b=2\n"),
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/kv", "b=2\na=1\n")},
		{name: "key_value/unfixable", method: "file_key_value_present", values: []string{"/blocker/kv", "a", "1", "="}, setup: blocker,
			audit: AuditError, enforce: Error},

		{name: "keys_values/compliant", method: "file_keys_values_present", values: []string{"/etc/kv", "conf.content", "="},
			vars: map[string]any{"conf.content": map[string]any{"a": "1", "b": float64(2)}}, setup: files("/etc/kv", "a=1\nb = 2\n"),
			audit: AuditCompliant, enforce: Success},
		{name: "keys_values/fixable", method: "file_keys_values_present", values: []string{"/etc/kv", "conf.content", "="},
			vars: map[string]any{"conf.content": map[string]any{"a": "1", "b": "2"}}, setup: files("/etc/kv", "a=0\n"),
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/kv", "a=1\nb=2\n")},
		{name: "keys_values/unfixable unknown variable", method: "file_keys_values_present", values: []string{"/etc/kv", "conf.nothing", "="},
			audit: AuditError, enforce: Error},

		{name: "block/compliant", method: "file_block_present", values: []string{"/etc/b", "pear\nbanana"}, setup: files("/etc/b", "apple\npear\nbanana\n"),
			audit: AuditCompliant, enforce: Success},
		{name: "block/fixable", method: "file_block_present", values: []string{"/etc/b", "pear\norange"}, setup: files("/etc/b", "apple\npear\nbanana\n"),
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/b", "apple\npear\nbanana\npear\norange\n")},
		{name: "block/unfixable", method: "file_block_present", values: []string{"/blocker/b", "x"}, setup: blocker,
			audit: AuditError, enforce: Error},

		{name: "template/compliant", method: "file_from_template_mustache", values: []string{"/t/tpl", "/etc/out"},
			vars: map[string]any{"my.name": "web"}, setup: files("/t/tpl", "name={{{vars.my.name}}}\n{{#classes.any}}any{{/classes.any}}\n", "/etc/out", "name=web\nany\n"),
			audit: AuditCompliant, enforce: Success},
		{name: "template/fixable", method: "file_from_template_mustache", values: []string{"/t/tpl", "/etc/out"},
			vars: map[string]any{"my.hosts": []any{"h1", "h2"}}, setup: files("/t/tpl", "{{#vars.my.hosts}}{{.}};{{/vars.my.hosts}}"),
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/out", "h1;h2;")},
		{name: "template/unfixable missing template", method: "file_from_template_mustache", values: []string{"/t/none", "/etc/out"},
			audit: AuditError, enforce: Error, after: exists("/etc/out", false)},

		{name: "string_mustache/compliant", method: "file_from_string_mustache", values: []string{"v={{{vars.my.v}}}", "/etc/s"},
			vars: map[string]any{"my.v": "1"}, setup: files("/etc/s", "v=1\n"), audit: AuditCompliant, enforce: Success},
		{name: "string_mustache/fixable", method: "file_from_string_mustache", values: []string{"v={{{vars.my.v}}}", "/etc/s"},
			vars: map[string]any{"my.v": "2"}, setup: files("/etc/s", "v=1\n"),
			audit: AuditNonCompliant, enforce: Repaired, after: content("/etc/s", "v=2\n")},
		{name: "string_mustache/unfixable bad template", method: "file_from_string_mustache", values: []string{"{{#open}}", "/etc/s"},
			audit: AuditError, enforce: Error},

		{name: "shared/compliant", method: "file_from_shared_folder", values: []string{"app.conf", "/etc/app.conf", ""},
			setup: files("/shared/app.conf", "s\n", "/etc/app.conf", "s\n"), audit: AuditCompliant, enforce: Success},
		{name: "shared/fixable directory", method: "file_from_shared_folder", values: []string{"dir", "/etc/dir", "sha256"},
			setup: files("/shared/dir/a", "A", "/shared/dir/sub/b", "B", "/etc/dir/a", "old"),
			audit: AuditNonCompliant, enforce: Repaired, after: func(t *testing.T, root string) {
				content("/etc/dir/a", "A")(t, root)
				content("/etc/dir/sub/b", "B")(t, root)
			}},
		{name: "shared/unfixable missing source", method: "file_from_shared_folder", values: []string{"../../etc/passwd", "/etc/x", ""},
			audit: AuditError, enforce: Error},

		{name: "symlink/compliant", method: "file_symlink_present", values: []string{"/etc/target", "/etc/link"},
			setup: func(t *testing.T, root string) {
				os.MkdirAll(root+"/etc", 0o755)
				os.Symlink("/etc/target", root+"/etc/link")
			},
			audit: AuditCompliant, enforce: Success},
		{name: "symlink/fixable", method: "file_symlink_present", values: []string{"/etc/target", "/etc/link"},
			setup: func(t *testing.T, root string) {
				os.MkdirAll(root+"/etc", 0o755)
				os.Symlink("/elsewhere", root+"/etc/link")
			},
			audit: AuditNonCompliant, enforce: Repaired, after: func(t *testing.T, root string) {
				if got, _ := os.Readlink(root + "/etc/link"); got != "/etc/target" {
					t.Errorf("link target: got %q, want /etc/target", got)
				}
			}},
		{name: "symlink/unfixable file in the way", method: "file_symlink_present", values: []string{"/etc/target", "/etc/link"},
			setup: files("/etc/link", "data"), audit: AuditError, enforce: Error, after: content("/etc/link", "data")},

		{name: "permissions/compliant", method: "permissions", values: []string{"/etc/p", "644", "root", "0"}, setup: files("/etc/p", "x"),
			audit: AuditCompliant, enforce: Success},
		{name: "permissions/fixable", method: "permissions", values: []string{"/etc/p", "0600", "1", "1"}, setup: files("/etc/p", "x"),
			audit: AuditNonCompliant, enforce: Repaired, after: perms("/etc/p", 0o600, 1, 1)},
		{name: "permissions/unfixable missing", method: "permissions", values: []string{"/etc/none", "600", "", ""},
			audit: AuditError, enforce: Error},
		{name: "permissions/unfixable unknown owner", method: "permissions", values: []string{"/etc/p", "600", "no-such-user-bosun", ""},
			setup: files("/etc/p", "x"), audit: AuditError, enforce: Error, after: perms("/etc/p", 0o644, 0, 0)},

		{name: "permissions_recursive/compliant", method: "permissions_recursive", values: []string{"/srv", "", "0", ""},
			setup: files("/srv/a", "x", "/srv/d/b", "y"), audit: AuditCompliant, enforce: Success},
		{name: "permissions_recursive/fixable", method: "permissions_recursive", values: []string{"/srv", "750", "", "1"},
			setup: files("/srv/a", "x", "/srv/d/b", "y"), audit: AuditNonCompliant, enforce: Repaired, after: func(t *testing.T, root string) {
				perms("/srv/d/b", 0o750, 0, 1)(t, root)
				perms("/srv/d", 0o750, 0, 1)(t, root)
			}},
		{name: "permissions_recursive/unfixable bad mode", method: "permissions_recursive", values: []string{"/srv", "rwx", "", ""},
			setup: files("/srv/a", "x"), audit: AuditError, enforce: Error},

		{name: "directory_present/compliant", method: "directory_present", values: []string{"/etc/"}, setup: files("/etc/a", ""),
			audit: AuditCompliant, enforce: Success},
		{name: "directory_present/fixable", method: "directory_present", values: []string{"/var/lib/x"},
			audit: AuditNonCompliant, enforce: Repaired, after: exists("/var/lib/x", true)},
		{name: "directory_present/unfixable file", method: "directory_present", values: []string{"/blocker"}, setup: blocker,
			audit: AuditError, enforce: Error},

		{name: "directory_absent/compliant", method: "directory_absent", values: []string{"/var/none", ""},
			audit: AuditCompliant, enforce: Success},
		{name: "directory_absent/fixable recursive", method: "directory_absent", values: []string{"/var/x", "true"}, setup: files("/var/x/y/z", "1"),
			audit: AuditNonCompliant, enforce: Repaired, after: exists("/var/x", false)},
		{name: "directory_absent/unfixable not empty", method: "directory_absent", values: []string{"/var/ne", "false"}, setup: files("/var/ne/y", "1"),
			audit: AuditError, enforce: Error, after: exists("/var/ne/y", true)},
	}
}

func perms(p string, mode os.FileMode, uid, gid uint32) func(t *testing.T, root string) {
	return func(t *testing.T, root string) {
		t.Helper()
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != mode || st.Uid != uid || st.Gid != gid {
			t.Errorf("%s: got mode %o uid %d gid %d, want mode %o uid %d gid %d", p, fi.Mode().Perm(), st.Uid, st.Gid, mode, uid, gid)
		}
	}
}

func (fc fileCase) env(t *testing.T) (*Env, string) {
	root := t.TempDir()
	if fc.setup != nil {
		fc.setup(t, root)
	}
	env := newEnv(t, root)
	env.SharedDir = filepath.Join(root, "shared")
	env.Conditions = NewConditions("any")
	env.Vars = NewVars()
	for k, v := range fc.vars {
		prefix, name, _ := strings.Cut(k, ".")
		env.Vars.Set(prefix, name, v)
	}
	return env, root
}

func TestFileMethods(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the permission cases change owners: run as root (CI does)")
	}
	for _, fc := range fileCases() {
		t.Run(fc.name+"/audit", func(t *testing.T) {
			env, root := fc.env(t)
			before := snapshot(t, root)
			res := run(t, env, call(t, fc.method, Audit, fc.values...))
			if res.Status != fc.audit {
				t.Errorf("status: got %s, want %s (%s)", res.Status, fc.audit, res.Message)
			}
			if res.Message == "" {
				t.Error("empty message")
			}
			sameTree(t, before, snapshot(t, root))
		})
		t.Run(fc.name+"/enforce", func(t *testing.T) {
			env, root := fc.env(t)
			res := run(t, env, call(t, fc.method, Enforce, fc.values...))
			if res.Status != fc.enforce {
				t.Fatalf("status: got %s, want %s (%s)", res.Status, fc.enforce, res.Message)
			}
			if fc.after != nil {
				fc.after(t, root)
			}
			if res.Status == Repaired {
				again := run(t, env, call(t, fc.method, Enforce, fc.values...))
				if again.Status != Success {
					t.Errorf("second run: got %s, want success (%s)", again.Status, again.Message)
				}
				audit := run(t, env, call(t, fc.method, Audit, fc.values...))
				if audit.Status != AuditCompliant {
					t.Errorf("audit after repair: got %s, want audit-compliant (%s)", audit.Status, audit.Message)
				}
			}
		})
	}
}

// TestAuditWritesNothing runs every file method in audit, with values that would change
// things, over one tree, and checks that no file's content, mode, owner or mtime changed and
// that nothing was created or removed.
func TestAuditWritesNothing(t *testing.T) {
	root := t.TempDir()
	for _, fc := range fileCases() {
		if fc.setup != nil {
			fc.setup(t, root)
		}
	}
	env := newEnv(t, root)
	env.SharedDir = filepath.Join(root, "shared")
	env.Vars = NewVars()
	env.Vars.Set("conf", "content", map[string]any{"a": "9", "new": "1"})
	before := snapshot(t, root)
	seen := map[string]bool{}
	for _, fc := range fileCases() {
		res := run(t, env, call(t, fc.method, Audit, fc.values...))
		seen[fc.method] = true
		if res.Status == Repaired || res.Status == Success {
			t.Errorf("%s in audit: got enforce status %s", fc.name, res.Status)
		}
	}
	sameTree(t, before, snapshot(t, root))
	for _, id := range []string{"file_present", "file_absent", "file_content", "file_lines_present", "file_lines_absent",
		"file_replace_lines", "file_key_value_present", "file_keys_values_present", "file_block_present",
		"file_from_template_mustache", "file_from_string_mustache", "file_from_shared_folder", "file_symlink_present",
		"file_check_exists", "permissions", "permissions_recursive", "directory_present", "directory_absent"} {
		if !seen[id] {
			t.Errorf("file method %s not exercised", id)
		}
	}
}
