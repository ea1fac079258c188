package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

var manCommand = &Command{
	Name:  "man",
	Short: "write man pages generated from the help: bosun(1) and one page per verb",
	Long: `Writes bosun.1, the overview with every verb, and one page per verb (bosun-nodes-list.1, ...)
in roff, from the same text as --help: NAME, SYNOPSIS, DESCRIPTION, OPTIONS from the verb's
flags, EXAMPLES and EXIT STATUS. Existing pages in the directory are replaced.`,
	Examples: `bosun man --dir /usr/local/share/man/man1 && mandb -q
bosun man --dir /tmp/man && man -l /tmp/man/bosun-nodes-list.1`,
	// No root is contacted, so no 3 or 4.
	ExitStatus: `0  the pages were written
1  a page could not be written (the error names the file)
2  the command line is wrong`,
	New: func() Options { return &manOptions{} },
}

type manOptions struct {
	cmds []*Command
	Dir  string
}

func (o *manOptions) useCommands(cmds []*Command) { o.cmds = cmds }

func (o *manOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Dir, "dir", "", "the directory to write the pages to (required; created if missing)")
}

func (o *manOptions) Run(_ context.Context, env *Env, args []string) error {
	if o.Dir == "" || len(args) > 0 {
		return Usagef("want --dir DIR")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	pages := ManPages(o.cmds)
	names := make([]string, 0, len(pages))
	for name := range pages {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(o.Dir, name), pages[name], 0o644); err != nil {
			return fmt.Errorf("man pages: %w", err)
		}
	}
	fmt.Fprintf(env.Stdout, "%d man pages written to %s\n", len(names), o.Dir)
	return nil
}

// manName is a verb's page name: bosun-nodes-list.
func manName(c *Command) string { return "bosun-" + strings.ReplaceAll(c.Name, " ", "-") }

// ManPages returns the man pages of the binary, by file name (bosun.1, bosun-nodes-list.1).
func ManPages(cmds []*Command) map[string][]byte {
	visible := make([]*Command, 0, len(cmds))
	for _, c := range cmds {
		if !hidden(c) {
			visible = append(visible, c)
		}
	}
	sort.SliceStable(visible, func(i, j int) bool { return visible[i].Name < visible[j].Name })
	pages := map[string][]byte{"bosun.1": overviewPage(visible)}
	for _, c := range visible {
		pages[manName(c)+".1"] = verbPage(c)
	}
	return pages
}

func overviewPage(cmds []*Command) []byte {
	var b bytes.Buffer
	fmt.Fprint(&b, ".TH BOSUN 1 \"\" \"bosun\" \"bosun manual\"\n.SH NAME\nbosun \\- configuration management and continuous compliance\n")
	fmt.Fprint(&b, ".SH SYNOPSIS\n.B bosun\n[\\fB\\-\\-color\\fR \\fIWHEN\\fR]\n\\fIVERB\\fR [\\fIflags\\fR] [\\fIargs\\fR]\n")
	fmt.Fprint(&b, ".SH DESCRIPTION\n"+roffText("One binary with three roles (bosun agent, bosun relay, bosun root) and the operator's verbs, which call the root's HTTPS API with a token. bosun help VERB prints the help of a verb; each verb has its own page, named below.")+"\n")
	fmt.Fprint(&b, ".SH VERBS\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roffText("bosun "+c.Name), roffText(c.Short))
	}
	fmt.Fprint(&b, ".SH OPTIONS\n")
	writeFlags(&b, collectFlags(globalFlagSet()))
	fmt.Fprint(&b, ".SH ENVIRONMENT\n")
	for _, e := range [][2]string{
		{"BOSUN_ROOT", "the root's API URL, when --root is not given"},
		{"BOSUN_TOKEN", "the API token, when --token is not given"},
		{"BOSUN_ROOT_CERT", "the PEM file of the API certificate to trust"},
		{"BOSUN_CONFIG", "the CLI configuration file (default ~/.config/bosun/cli.json)"},
		{"BOSUN_ROLE_CONFIG_DIR", "the directory of the daemons' configuration files, in place of /etc/bosun (the test harnesses point it at an empty directory)"},
		{"NO_COLOR", "when set and not empty, no colours unless --color always"},
	} {
		fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", e[0], roffText(e[1]))
	}
	fmt.Fprint(&b, ".SH EXAMPLES\n.nf\n.RS 4\n")
	for _, l := range []string{"# what waits for acceptance, and accept it", "bosun nodes list --status pending",
		"bosun nodes list --status pending --quiet | xargs bosun nodes accept",
		"# the fleet's compliance, then the worst rule in detail", "bosun compliance", "bosun compliance rule base --state error,non-compliant",
		"# completion for this bash", "source <(bosun completion bash)"} {
		fmt.Fprintln(&b, roffLine(l))
	}
	fmt.Fprint(&b, ".RE\n.fi\n")
	fmt.Fprint(&b, ".SH EXIT STATUS\n")
	writeExitStatus(&b, StandardExitStatus+"\n5  bosun wait only: --timeout passed before the condition held")
	fmt.Fprint(&b, ".SH SEE ALSO\n")
	for i, c := range cmds {
		sep := ","
		if i == len(cmds)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, ".BR %s (1)%s\n", roffText(manName(c)), sep)
	}
	return b.Bytes()
}

func verbPage(c *Command) []byte {
	var b bytes.Buffer
	name := manName(c)
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"bosun\" \"bosun manual\"\n", strings.ToUpper(roffText(name)))
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roffText(name), roffText(c.Short))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n[\\fIflags\\fR]", roffText("bosun "+c.Name))
	if c.Args != "" {
		fmt.Fprintf(&b, " \\fI%s\\fR", roffText(c.Args))
	}
	fmt.Fprint(&b, "\n.SH DESCRIPTION\n")
	desc := strings.TrimSpace(c.Long)
	if desc == "" {
		desc = strings.ToUpper(c.Short[:1]) + c.Short[1:] + "."
	}
	for i, para := range strings.Split(desc, "\n\n") {
		if i > 0 {
			fmt.Fprint(&b, ".PP\n")
		}
		fmt.Fprintln(&b, roffText(strings.Join(strings.Fields(para), " ")))
	}
	fs := pflag.NewFlagSet(c.Name, pflag.ContinueOnError)
	c.New().AddFlags(fs)
	globalFlagSet().VisitAll(func(f *pflag.Flag) {
		if fs.Lookup(f.Name) == nil {
			fs.AddFlag(f)
		}
	})
	fmt.Fprint(&b, ".SH OPTIONS\n")
	writeFlags(&b, collectFlags(fs))
	if ex := strings.TrimSpace(c.Examples); ex != "" {
		fmt.Fprint(&b, ".SH EXAMPLES\n.nf\n.RS 4\n")
		for _, l := range strings.Split(ex, "\n") {
			fmt.Fprintln(&b, roffLine(l))
		}
		fmt.Fprint(&b, ".RE\n.fi\n")
	}
	fmt.Fprint(&b, ".SH EXIT STATUS\n")
	status := c.ExitStatus
	if status == "" {
		status = StandardExitStatus
	}
	writeExitStatus(&b, status)
	fmt.Fprint(&b, ".SH SEE ALSO\n.BR bosun (1)\n")
	return b.Bytes()
}

func writeFlags(b *bytes.Buffer, flags []*pflag.Flag) {
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	for _, f := range flags {
		varname, usage := pflag.UnquoteUsage(f)
		fmt.Fprint(b, ".TP\n")
		if f.Shorthand != "" {
			fmt.Fprintf(b, "\\fB\\-%s\\fR, ", roffText(f.Shorthand))
		}
		fmt.Fprintf(b, "\\fB\\-\\-%s\\fR", roffText(f.Name))
		if varname != "" && takesValue(f) {
			fmt.Fprintf(b, " \\fI%s\\fR", roffText(varname))
		}
		fmt.Fprintln(b)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" && f.DefValue != "0s" {
			usage += " (default " + f.DefValue + ")"
		}
		fmt.Fprintln(b, roffLine(usage))
	}
}

// writeExitStatus writes "N  meaning" lines as a tagged list.
func writeExitStatus(b *bytes.Buffer, status string) {
	for _, l := range strings.Split(strings.TrimSpace(status), "\n") {
		code, text, ok := strings.Cut(strings.TrimSpace(l), " ")
		if !ok {
			fmt.Fprintln(b, roffText(l))
			continue
		}
		fmt.Fprintf(b, ".TP\n.B %s\n%s\n", roffText(code), roffLine(strings.TrimSpace(text)))
	}
}

// roffText escapes text for a roff line: backslashes, and dashes so they print as such.
func roffText(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffLine escapes a whole line: one starting with a dot or a quote would be a request.
func roffLine(s string) string {
	s = roffText(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
