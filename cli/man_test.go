package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestManPages: bosun man writes bosun.1 and a page per verb with every section, and groff
// renders each without a warning.
func TestManPages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man1")
	cmds := Commands()
	var out bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if err := Main(context.Background(), cmds, []string{"man", "--dir", dir}, env); err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{"bosun.1": ""}
	for _, c := range cmds {
		if !hidden(c) {
			pages[manName(c)+".1"] = c.Name
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bosun-__complete.1")); err == nil {
		t.Error("the hidden __complete verb got a page")
	}
	groff, _ := exec.LookPath("groff")
	if groff == "" {
		t.Log("groff is not installed: pages are not rendered (apt-get install groff-base)")
	}
	for name, verb := range pages {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("no page %s for %q: %v", name, verb, err)
			continue
		}
		page := string(b)
		for _, sec := range []string{".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS", ".SH EXIT STATUS"} {
			if !strings.Contains(page, sec+"\n") {
				t.Errorf("%s: no %s section", name, sec)
			}
		}
		if (verb == "man" || verb == "completion") && strings.Contains(page, "root could not be reached") {
			t.Errorf("%s: exit status 3 listed, though bosun %s contacts no root", name, verb)
		}
		if !strings.Contains(page, ".SH EXAMPLES\n") {
			t.Errorf("%s: no EXAMPLES section", name)
		}
		if groff == "" {
			continue
		}
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", filepath.Join(dir, name))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("groff %s: %v\n%s", name, err, stderr.String())
		}
	}
	list, _ := os.ReadFile(filepath.Join(dir, "bosun-nodes-list.1"))
	for _, want := range []string{`\fB\-\-status\fR \fIstring\fR`, `bosun\-nodes\-list \- list nodes`, ".B 2\nthe command line is wrong"} {
		if !strings.Contains(string(list), want) {
			t.Errorf("bosun-nodes-list.1 lacks %q:\n%s", want, list)
		}
	}
}
