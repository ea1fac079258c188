package method

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/cbroglie/mustache"
)

func init() {
	register(&method{Spec: Spec{ID: "file_present", Params: []string{"path"}, ReportingParam: "path"}, run: filePresent})
	register(&method{Spec: Spec{ID: "file_absent", Params: []string{"path"}, ReportingParam: "path"}, run: fileAbsent})
	register(&method{Spec: Spec{ID: "file_check_exists", Params: []string{"path"}, ReportingParam: "path"}, run: fileCheckExists})
	register(&method{Spec: Spec{ID: "file_content", Params: []string{"path", "lines", "enforce"}, ReportingParam: "path",
		ClassPrefix: "file_lines_present"}, run: fileContent})
	register(&method{Spec: Spec{ID: "file_lines_present", Params: []string{"path", "lines"}, ReportingParam: "path"},
		run: func(ctx context.Context, env *Env, a args, mode Mode) outcome {
			a["enforce"] = "false"
			return fileContent(ctx, env, a, mode)
		}})
	register(&method{Spec: Spec{ID: "file_lines_absent", Params: []string{"path", "lines"}, ReportingParam: "path"}, run: fileLinesAbsent})
	register(&method{Spec: Spec{ID: "file_replace_lines", Params: []string{"path", "line", "replacement"}, ReportingParam: "path"}, run: fileReplaceLines})
	register(&method{Spec: Spec{ID: "file_key_value_present", Params: []string{"path", "key", "value", "separator"}, ReportingParam: "path"}, run: fileKeyValuePresent})
	register(&method{Spec: Spec{ID: "file_keys_values_present", Params: []string{"path", "keys", "separator"}, ReportingParam: "path"},
		run: fileKeysValuesPresent, raw: []string{"keys"}})
	register(&method{Spec: Spec{ID: "file_block_present", Params: []string{"path", "block"}, ReportingParam: "path"}, run: fileBlockPresent})
	register(&method{Spec: Spec{ID: "file_from_template_mustache", Params: []string{"source_template", "path"}, ReportingParam: "path",
		ClassPrefix: "file_from_template"}, run: fileFromTemplateMustache})
	register(&method{Spec: Spec{ID: "file_from_string_mustache", Params: []string{"template", "path"}, ReportingParam: "path"}, run: fileFromStringMustache})
	register(&method{Spec: Spec{ID: "file_from_shared_folder", Params: []string{"source", "path", "hash_type"}, ReportingParam: "path"}, run: fileFromSharedFolder})
	register(&method{Spec: Spec{ID: "file_symlink_present", Params: []string{"source", "path"}, ReportingParam: "path"}, run: fileSymlinkPresent})
	register(&method{Spec: Spec{ID: "directory_present", Params: []string{"path"}, ReportingParam: "path"}, run: directoryPresent})
	register(&method{Spec: Spec{ID: "directory_absent", Params: []string{"path", "recursive"}, ReportingParam: "path"}, run: directoryAbsent})
}

func filePresent(_ context.Context, env *Env, a args, mode Mode) outcome {
	p := a["path"]
	fi, err := os.Stat(env.path(p))
	switch {
	case err == nil && fi.IsDir():
		return failf("%s is a directory, not a file", p)
	case err == nil:
		return keptf("file %s exists", p)
	case !errors.Is(err, fs.ErrNotExist):
		return failf("check file %s: %v", p, err)
	case mode != Enforce:
		return driftf("file %s does not exist", p)
	}
	if err := createEmpty(mode, env.path(p)); err != nil {
		return failf("file %s does not exist, and creating it failed: %v", p, err)
	}
	if _, err := os.Stat(env.path(p)); err != nil {
		return failf("file %s was created but is not there: %v", p, err)
	}
	return repairedf("file %s did not exist and was created empty", p)
}

func fileAbsent(_ context.Context, env *Env, a args, mode Mode) outcome {
	p := a["path"]
	fi, err := os.Lstat(env.path(p))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return keptf("file %s does not exist", p)
	case err != nil:
		return failf("check file %s: %v", p, err)
	case fi.IsDir():
		return failf("%s is a directory, and cannot be removed as a file", p)
	case mode != Enforce:
		return driftf("file %s exists and should not", p)
	}
	if err := remove(mode, env.path(p)); err != nil {
		return failf("file %s exists, and removing it failed: %v", p, err)
	}
	return repairedf("file %s existed and was removed", p)
}

func fileCheckExists(_ context.Context, env *Env, a args, _ Mode) outcome {
	p := a["path"]
	_, err := os.Stat(env.path(p))
	switch {
	case err == nil:
		return keptf("file %s exists", p)
	case errors.Is(err, fs.ErrNotExist):
		return driftf("file %s does not exist", p)
	}
	return failf("check file %s: %v", p, err)
}

// edit is a pure edit of a file's lines: it returns the wanted lines and what differed.
type edit func(lines []string) (want []string, diff string, err error)

// editFile is the check → fix → re-check frame of the line-editing methods. create says
// whether a missing file is created (else it is an error).
func editFile(env *Env, mode Mode, p string, create bool, e edit) outcome {
	full := env.path(p)
	lines, exists, err := readLines(full)
	if err != nil {
		return failf("read %s: %v", p, err)
	}
	if !exists && !create {
		return failf("file %s does not exist", p)
	}
	want, diff, err := e(lines)
	if err != nil {
		return failf("%s: %v", p, err)
	}
	if diff == "" && exists {
		return keptf("%s is as wanted", p)
	}
	if !exists {
		diff = "file does not exist; " + diff
	}
	if mode != Enforce {
		return driftf("%s is not as wanted: %s", p, diff)
	}
	if err := writeFile(mode, full, joinLines(want)); err != nil {
		return failf("%s is not as wanted (%s), and writing it failed: %v", p, diff, err)
	}
	lines, _, err = readLines(full)
	if err == nil {
		_, again, err2 := e(lines)
		err = err2
		if err == nil && again != "" {
			err = fmt.Errorf("still differs after the change: %s", again)
		}
	}
	if err != nil {
		return failf("%s was changed (%s) but the re-check failed: %v", p, diff, err)
	}
	return repairedf("%s was not as wanted (%s) and was fixed", p, diff)
}

func isTrue(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "true") }

func fileContent(_ context.Context, env *Env, a args, mode Mode) outcome {
	wantLines := splitLines(a["lines"])
	if isTrue(a["enforce"]) {
		return editFile(env, mode, a["path"], true, func(lines []string) ([]string, string, error) {
			if slices.Equal(lines, wantLines) {
				return lines, "", nil
			}
			return wantLines, fmt.Sprintf("content differs (%d lines, want %d)", len(lines), len(wantLines)), nil
		})
	}
	return editFile(env, mode, a["path"], true, func(lines []string) ([]string, string, error) {
		have := make(map[string]bool, len(lines))
		for _, l := range lines {
			have[l] = true
		}
		out := lines
		var missing []string
		for _, l := range wantLines {
			if !have[l] {
				have[l] = true
				missing = append(missing, l)
			}
		}
		if len(missing) == 0 {
			return lines, "", nil
		}
		out = append(slices.Clip(out), missing...)
		return out, fmt.Sprintf("%d line(s) missing: %s", len(missing), quoteFirst(missing)), nil
	})
}

func quoteFirst(lines []string) string {
	const max = 3
	q := make([]string, 0, max)
	for i, l := range lines {
		if i == max {
			q = append(q, "...")
			break
		}
		q = append(q, fmt.Sprintf("%q", l))
	}
	return strings.Join(q, ", ")
}

// anchored compiles each line as a regular expression matching a whole line, as CFEngine's
// delete_lines_matching does. Go's RE2 syntax has no look-around.
func anchored(lines []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, l := range lines {
		re, err := regexp.Compile("^(?:" + l + ")$")
		if err != nil {
			return nil, fmt.Errorf("line regular expression %q: %w", l, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func fileLinesAbsent(_ context.Context, env *Env, a args, mode Mode) outcome {
	res, err := anchored(splitLines(a["lines"]))
	if err != nil {
		return failf("%v", err)
	}
	p := a["path"]
	if _, err := os.Stat(env.path(p)); errors.Is(err, fs.ErrNotExist) {
		return keptf("file %s does not exist: the lines are not present", p)
	}
	return editFile(env, mode, p, false, func(lines []string) ([]string, string, error) {
		out := make([]string, 0, len(lines))
		var gone []string
	next:
		for _, l := range lines {
			for _, re := range res {
				if re.MatchString(l) {
					gone = append(gone, l)
					continue next
				}
			}
			out = append(out, l)
		}
		if len(gone) == 0 {
			return lines, "", nil
		}
		return out, fmt.Sprintf("%d line(s) present that should not: %s", len(gone), quoteFirst(gone)), nil
	})
}

var matchRef = regexp.MustCompile(`\$\$\{match\.(\d+)\}`)

func fileReplaceLines(_ context.Context, env *Env, a args, mode Mode) outcome {
	re, err := regexp.Compile(a["line"])
	if err != nil {
		return failf("line regular expression %q: %v", a["line"], err)
	}
	// ${match.N} becomes Go's ${N}; any other dollar is literal.
	repl := matchRef.ReplaceAllString(strings.ReplaceAll(a["replacement"], "$", "$$"), "$${$1}")
	return editFile(env, mode, a["path"], false, func(lines []string) ([]string, string, error) {
		out := make([]string, len(lines))
		n := 0
		for i, l := range lines {
			out[i] = re.ReplaceAllString(l, repl)
			if out[i] != l {
				n++
			}
		}
		if n == 0 {
			return lines, "", nil
		}
		return out, fmt.Sprintf("%d line(s) matching %q to replace", n, a["line"]), nil
	})
}

// kvEdit sets key separator value lines, leniently about blanks around the separator (Rudder's
// "lax" option): a line with the key and another value is rewritten, a missing key appended.
func kvEdit(keys []string, values map[string]string, sep string) edit {
	trimmed := strings.TrimSpace(sep)
	return func(lines []string) ([]string, string, error) {
		out := slices.Clone(lines)
		var diffs []string
		for _, k := range keys {
			want := values[k]
			found := false
			for i, l := range out {
				v, ok := kvValue(l, k, trimmed)
				if !ok {
					continue
				}
				found = true
				if v != strings.TrimSpace(want) {
					out[i] = k + sep + want
					diffs = append(diffs, fmt.Sprintf("%s is %q, want %q", k, v, want))
				}
			}
			if !found {
				out = append(out, k+sep+want)
				diffs = append(diffs, fmt.Sprintf("%s missing", k))
			}
		}
		return out, strings.Join(diffs, "; "), nil
	}
}

// kvValue returns the value of line when it sets key with the separator sep (already trimmed;
// empty for a blank separator).
func kvValue(line, key, sep string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimLeft(line, " \t"), key)
	if !ok {
		return "", false
	}
	if sep == "" {
		if rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			return "", false
		}
		return strings.TrimSpace(rest), true
	}
	rest, ok = strings.CutPrefix(strings.TrimLeft(rest, " \t"), sep)
	if !ok {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

func fileKeyValuePresent(_ context.Context, env *Env, a args, mode Mode) outcome {
	if a["key"] == "" {
		return failf("empty key")
	}
	return editFile(env, mode, a["path"], true, kvEdit([]string{a["key"]}, map[string]string{a["key"]: a["value"]}, a["separator"]))
}

func fileKeysValuesPresent(_ context.Context, env *Env, a args, mode Mode) outcome {
	name := strings.TrimSuffix(strings.TrimPrefix(a["keys"], "${"), "}")
	v, ok := env.vars().Lookup(name)
	if !ok {
		return failf("unknown variable %s", name)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return failf("variable %s is not a dict", name)
	}
	keys := make([]string, 0, len(m))
	values := make(map[string]string, len(m))
	for k, v := range m {
		keys = append(keys, k)
		values[k] = stringify(v)
	}
	sort.Strings(keys)
	return editFile(env, mode, a["path"], true, kvEdit(keys, values, a["separator"]))
}

func fileBlockPresent(_ context.Context, env *Env, a args, mode Mode) outcome {
	block := splitLines(a["block"])
	return editFile(env, mode, a["path"], true, func(lines []string) ([]string, string, error) {
		if len(block) == 0 {
			return lines, "", nil
		}
		for i := 0; i+len(block) <= len(lines); i++ {
			if slices.Equal(lines[i:i+len(block)], block) {
				return lines, "", nil
			}
		}
		return append(slices.Clip(lines), block...), "block missing", nil
	})
}

// wholeFile is the check → fix → re-check frame of the methods that own a file's content.
func wholeFile(env *Env, mode Mode, p string, content []byte, what string) outcome {
	full := env.path(p)
	have, err := os.ReadFile(full)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return failf("read %s: %v", p, err)
	}
	if exists && string(have) == string(content) {
		return keptf("%s is as %s makes it", p, what)
	}
	diff := "content differs from " + what
	if !exists {
		diff = "file does not exist"
	}
	if mode != Enforce {
		return driftf("%s: %s", p, diff)
	}
	if err := writeFile(mode, full, content); err != nil {
		return failf("%s: %s, and writing it failed: %v", p, diff, err)
	}
	if again, err := os.ReadFile(full); err != nil || string(again) != string(content) {
		return failf("%s was written but the re-check failed (%v)", p, err)
	}
	return repairedf("%s: %s; written from %s", p, diff, what)
}

// templateData is what Rudder's templates see: vars.prefix.name and classes.name.
func templateData(env *Env) map[string]any {
	classes := map[string]any{}
	for _, c := range env.conditions().Names() {
		classes[c] = true
	}
	return map[string]any{"vars": env.vars().tree(), "classes": classes}
}

func renderMustache(env *Env, tmpl string) (string, error) {
	t, err := mustache.ParseString(tmpl)
	if err != nil {
		return "", fmt.Errorf("parse mustache template: %w", err)
	}
	out, err := t.Render(templateData(env))
	if err != nil {
		return "", fmt.Errorf("render mustache template: %w", err)
	}
	return out, nil
}

func fileFromTemplateMustache(_ context.Context, env *Env, a args, mode Mode) outcome {
	src, err := os.ReadFile(env.path(a["source_template"]))
	if err != nil {
		return failf("read template %s: %v", a["source_template"], err)
	}
	out, err := renderMustache(env, string(src))
	if err != nil {
		return failf("template %s: %v", a["source_template"], err)
	}
	return wholeFile(env, mode, a["path"], []byte(out), "template "+a["source_template"])
}

func fileFromStringMustache(_ context.Context, env *Env, a args, mode Mode) outcome {
	out, err := renderMustache(env, a["template"])
	if err != nil {
		return failf("%v", err)
	}
	// Rudder inserts the rendered string as the file's lines: it ends with a newline.
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return wholeFile(env, mode, a["path"], []byte(out), "the template string")
}

func fileFromSharedFolder(_ context.Context, env *Env, a args, mode Mode) outcome {
	if env.SharedDir == "" {
		return failf("no shared folder configured")
	}
	rel := filepath.Clean("/" + a["source"]) // no escape above the shared folder
	src := filepath.Join(env.SharedDir, rel)
	fi, err := os.Stat(src)
	if err != nil {
		return failf("shared file %s: %v", a["source"], err)
	}
	if !fi.IsDir() {
		b, err := os.ReadFile(src)
		if err != nil {
			return failf("shared file %s: %v", a["source"], err)
		}
		return wholeFile(env, mode, a["path"], b, "shared file "+a["source"])
	}
	// A directory: every file below it, each compared and copied.
	var diffs []string
	var errs []string
	err = filepath.WalkDir(src, func(sp string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		r, _ := filepath.Rel(src, sp)
		b, err := os.ReadFile(sp)
		if err != nil {
			return err
		}
		o := wholeFile(env, mode, filepath.Join(a["path"], r), b, "shared file")
		switch o.kind {
		case drift, repaired:
			diffs = append(diffs, r)
		case failed:
			errs = append(errs, o.msg)
		}
		return nil
	})
	switch {
	case err != nil:
		return failf("copy shared folder %s: %v", a["source"], err)
	case len(errs) > 0:
		return failf("copy shared folder %s to %s: %s", a["source"], a["path"], strings.Join(errs, "; "))
	case len(diffs) == 0:
		return keptf("%s is a copy of shared folder %s", a["path"], a["source"])
	case mode != Enforce:
		return driftf("%s differs from shared folder %s: %s", a["path"], a["source"], quoteFirst(diffs))
	}
	return repairedf("%s differed from shared folder %s (%s) and was updated", a["path"], a["source"], quoteFirst(diffs))
}

func fileSymlinkPresent(_ context.Context, env *Env, a args, mode Mode) outcome {
	src, p := a["source"], a["path"]
	full := env.path(p)
	fi, err := os.Lstat(full)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return failf("read symlink %s: %v", p, err)
		}
		if target == src {
			return keptf("%s is a symlink to %s", p, src)
		}
		if mode != Enforce {
			return driftf("%s is a symlink to %s, want %s", p, target, src)
		}
		if err := remove(mode, full); err != nil {
			return failf("%s is a symlink to %s, and removing it failed: %v", p, target, err)
		}
	case err == nil:
		return failf("%s exists and is not a symlink; not overwriting it", p)
	case !errors.Is(err, fs.ErrNotExist):
		return failf("check %s: %v", p, err)
	case mode != Enforce:
		return driftf("symlink %s to %s does not exist", p, src)
	}
	if err := symlink(mode, src, full); err != nil {
		return failf("create symlink %s to %s: %v", p, src, err)
	}
	if target, err := os.Readlink(full); err != nil || target != src {
		return failf("symlink %s was created but the re-check failed (%v)", p, err)
	}
	return repairedf("symlink %s to %s created", p, src)
}

func directoryPresent(_ context.Context, env *Env, a args, mode Mode) outcome {
	p := a["path"]
	fi, err := os.Stat(env.path(p))
	switch {
	case err == nil && fi.IsDir():
		return keptf("directory %s exists", p)
	case err == nil:
		return failf("%s exists and is not a directory", p)
	case !errors.Is(err, fs.ErrNotExist):
		return failf("check directory %s: %v", p, err)
	case mode != Enforce:
		return driftf("directory %s does not exist", p)
	}
	if err := mkdirAll(mode, env.path(p)); err != nil {
		return failf("create directory %s: %v", p, err)
	}
	if fi, err := os.Stat(env.path(p)); err != nil || !fi.IsDir() {
		return failf("directory %s was created but the re-check failed (%v)", p, err)
	}
	return repairedf("directory %s did not exist and was created", p)
}

func directoryAbsent(_ context.Context, env *Env, a args, mode Mode) outcome {
	p := a["path"]
	full := env.path(p)
	fi, err := os.Lstat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return keptf("directory %s does not exist", p)
	case err != nil:
		return failf("check directory %s: %v", p, err)
	case !fi.IsDir():
		return keptf("directory %s does not exist (a non-directory of that name is left alone)", p)
	}
	recursive := isTrue(a["recursive"])
	if !recursive {
		entries, err := os.ReadDir(full)
		if err != nil {
			return failf("read directory %s: %v", p, err)
		}
		if len(entries) > 0 {
			return failf("directory %s is not empty and recursive is not true", p)
		}
	}
	if mode != Enforce {
		return driftf("directory %s exists", p)
	}
	var rmErr error
	if recursive {
		rmErr = removeAll(mode, full)
	} else {
		rmErr = remove(mode, full)
	}
	if rmErr != nil {
		return failf("remove directory %s: %v", p, rmErr)
	}
	if _, err := os.Lstat(full); !errors.Is(err, fs.ErrNotExist) {
		return failf("directory %s was removed but is still there (%v)", p, err)
	}
	return repairedf("directory %s existed and was removed", p)
}
