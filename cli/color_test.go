package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/bosun-io/bosun/root/api"
)

// fakeTerminal is a buffer that says it is a terminal.
type fakeTerminal struct{ bytes.Buffer }

func (*fakeTerminal) IsTerminal() bool { return true }

// TestTableLikeTabwriter: without colours the table prints exactly what tabwriter did, so
// replacing it changed no output; with colours, the text less its escapes is the same.
func TestTableLikeTabwriter(t *testing.T) {
	input := "ID\tHOSTNAME\tSTATUS\tSCORE\n" +
		"a\tweb1.example.org\taccepted\tA\n" +
		"bb\tdb\tpending\t-\n" +
		"no tabs in this line\n" +
		"ccc\tx\trefused\tF\n" +
		"  sub\tcomponent é\terror\ttrailing text\n"
	var want, got bytes.Buffer
	tw := tabwriter.NewWriter(&want, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, input)
	tw.Flush()
	tb := newTable(&got)
	fmt.Fprint(tb, input)
	tb.Flush()
	if got.String() != want.String() {
		t.Fatalf("got:\n%s\nwant (tabwriter):\n%s", got.String(), want.String())
	}

	pal := palette{on: true}
	var colored bytes.Buffer
	tb = newTable(&colored)
	for _, l := range strings.Split(strings.TrimSuffix(input, "\n"), "\n") {
		cells := strings.Split(l, "\t")
		for i, c := range cells {
			if i == 2 {
				cells[i] = pal.state(c)
			}
			if i == 3 {
				cells[i] = pal.score(c)
			}
		}
		fmt.Fprintln(tb, strings.Join(cells, "\t"))
	}
	tb.Flush()
	if !strings.Contains(colored.String(), ansiGreen+"accepted"+ansiReset) || !strings.Contains(colored.String(), ansiRed+"F"+ansiReset) {
		t.Errorf("no colours in:\n%q", colored.String())
	}
	if s := stripANSI(colored.String()); s != want.String() {
		t.Errorf("coloured table, escapes removed:\n%s\nwant the columns of:\n%s", s, want.String())
	}
}

// TestColorModes runs nodes list with each --color and environment: colours only when asked
// or on a terminal, never in a pipe by default, NO_COLOR honoured unless --color always.
func TestColorModes(t *testing.T) {
	list := api.NodeList{SchemaVersion: 1, Nodes: []api.Node{
		{ID: "a", Hostname: "web1", Status: "accepted", Role: "agent"},
		{ID: "b", Hostname: "new", Status: "pending", Role: "agent"},
	}}
	tests := []struct {
		name     string
		args     []string
		terminal bool
		noColor  string
		want     bool
	}{
		{"pipe, auto", nil, false, "", false},
		{"terminal, auto", nil, true, "", true},
		{"terminal, NO_COLOR", nil, true, "1", false},
		{"pipe, always", []string{"--color", "always"}, false, "", true},
		{"always beats NO_COLOR", []string{"--color=always"}, false, "1", true},
		{"terminal, never", []string{"--color", "never"}, true, "", false},
		{"global flag before the verb", []string{"-"}, false, "", true},
		{"--colour after the verb, as before it", []string{"--colour=always"}, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, _ := fakeRoot(t, map[string]any{"/api/v1/nodes": list, "/api/v1/compliance/nodes": api.ComplianceNodeList{SchemaVersion: 1}})
			getenv := env.Getenv
			env.Getenv = func(k string) string {
				if k == "NO_COLOR" {
					return tt.noColor
				}
				return getenv(k)
			}
			var out bytes.Buffer
			var term fakeTerminal
			env.Stdout = &out
			if tt.terminal {
				env.Stdout = &term
			}
			args := append([]string{"nodes", "list"}, tt.args...)
			if len(tt.args) == 1 && tt.args[0] == "-" {
				args = []string{"--color", "always", "nodes", "list"}
			}
			if err := Main(context.Background(), []*Command{nodesListCommand}, args, env); err != nil {
				t.Fatal(err)
			}
			s := out.String() + term.String()
			if got := strings.Contains(s, "\x1b["); got != tt.want {
				t.Errorf("colours: got %v, want %v:\n%q", got, tt.want, s)
			}
			lines := strings.Split(stripANSI(s), "\n")
			if len(lines) < 3 || strings.Index(lines[0], "STATUS") != strings.Index(lines[1], "accepted") || strings.Index(lines[1], "accepted") != strings.Index(lines[2], "pending") {
				t.Errorf("the STATUS column is out of line:\n%s", stripANSI(s))
			}
		})
	}
	env, _, _ := fakeRoot(t, nil)
	err := Main(context.Background(), []*Command{nodesListCommand}, []string{"nodes", "list", "--color", "sometimes"}, env)
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "want auto, always or never") {
		t.Errorf("--color sometimes: got %v, want a usage error naming the choices", err)
	}
}

// TestIsTerminal: a pipe and /dev/null, both where output goes in scripts, are not
// terminals.
func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for name, f := range map[string]*os.File{"pipe": w, "/dev/null": null} {
		if IsTerminal(f) {
			t.Errorf("%s: IsTerminal says yes", name)
		}
	}
	if !IsTerminal(&fakeTerminal{}) || IsTerminal(&bytes.Buffer{}) {
		t.Error("IsTerminal does not ask a writer that says what it is")
	}
}
