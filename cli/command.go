package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Command is one verb of the binary.
type Command struct {
	Name       string // the words that select it: "nodes list"
	Args       string // what follows the flags in the usage line: "ID..."
	Short      string // one line, for the list of verbs
	Long       string // what it does, in full
	Examples   string // shell lines with comments
	ExitStatus string // empty: the standard statuses
	// New returns fresh options for one invocation.
	New func() Options
}

// Options are a verb's flags and its action.
type Options interface {
	AddFlags(fs *pflag.FlagSet)
	Run(ctx context.Context, env *Env, args []string) error
}

// Preparer is implemented by options that complete their flags from elsewhere once the
// command line is parsed: the daemons read the flags it left alone from their configuration
// file. Main calls Prepare before Run, never for --help, so a broken file does not hide the help.
type Preparer interface {
	Prepare(fs *pflag.FlagSet) error
}

// Env is what a verb may touch of the outside world, so tests can run verbs in-process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// UsageError is a mistake in the command line; the binary exits 2 and prints the usage.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// StandardExitStatus documents the exit statuses every verb shares.
const StandardExitStatus = `0  success
1  the operation failed (the root refused it, an object was not found, ...)
2  the command line is wrong
3  the root could not be reached, or no root is configured
4  the token is missing, unknown, or not allowed to do this`

// Main runs the verb named by args (without the program name) and returns its error.
// Help requests print help and return nil.
func Main(ctx context.Context, cmds []*Command, args []string, env *Env) error {
	args, color, err := globalFlags(args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		printOverview(env.Stderr, cmds)
		return Usagef("no verb given")
	}
	if args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		if len(args) == 1 {
			printOverview(env.Stdout, cmds)
			return nil
		}
		cmd, rest := find(cmds, args[1:])
		if cmd == nil || len(rest) > 0 {
			return helpForGroup(env, cmds, args[1:])
		}
		printHelp(env.Stdout, cmd, cmd.New())
		return nil
	}
	cmd, rest := find(cmds, args)
	if cmd == nil {
		return helpForGroup(env, cmds, args)
	}
	opts := cmd.New()
	if t, ok := opts.(commandTableUser); ok {
		t.useCommands(cmds)
	}
	fs := pflag.NewFlagSet(cmd.Name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(true)
	opts.AddFlags(fs)
	help := fs.BoolP("help", "h", false, "print this help")
	fs.StringVar(&color, "color", color, colorFlagUsage)
	fs.StringVar(&color, "colour", color, colorFlagUsage) // as globalFlags takes it before the verb
	_ = fs.MarkHidden("colour")
	if err := fs.Parse(rest); err != nil {
		return Usagef("bosun %s: %v (see bosun help %s)", cmd.Name, err, cmd.Name)
	}
	if *help {
		printHelp(env.Stdout, cmd, opts)
		return nil
	}
	if p, ok := opts.(Preparer); ok {
		if err := p.Prepare(fs); err != nil {
			return err
		}
	}
	if env, err = withColor(env, color); err != nil {
		return err
	}
	err = opts.Run(ctx, env, fs.Args())
	var ue *UsageError
	if errors.As(err, &ue) && !strings.Contains(ue.Msg, "bosun help") {
		ue.Msg = fmt.Sprintf("bosun %s: %s (see bosun help %s)", cmd.Name, ue.Msg, cmd.Name)
	}
	return err
}

// find returns the command whose name is the longest prefix of args, and what follows.
func find(cmds []*Command, args []string) (*Command, []string) {
	var best *Command
	bestLen := 0
	for _, c := range cmds {
		words := strings.Fields(c.Name)
		if len(words) <= len(args) && len(words) > bestLen && equalWords(words, args[:len(words)]) {
			best, bestLen = c, len(words)
		}
	}
	if best == nil {
		return nil, args
	}
	return best, args[bestLen:]
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// helpForGroup answers "bosun nodes" (a group) with its verbs, and anything else with an
// unknown-verb error.
func helpForGroup(env *Env, cmds []*Command, args []string) error {
	var group []*Command
	prefix := ""
	if len(args) > 0 {
		prefix = args[0] + " "
	}
	for _, c := range cmds {
		if prefix != "" && strings.HasPrefix(c.Name, prefix) {
			group = append(group, c)
		}
	}
	if len(group) == 0 {
		return Usagef("unknown verb %q (see bosun help)", strings.Join(args, " "))
	}
	fmt.Fprintf(env.Stderr, "bosun %s: choose one of:\n", strings.TrimSpace(prefix))
	printList(env.Stderr, group)
	if len(args) == 1 {
		return Usagef("bosun %s needs a verb", args[0])
	}
	return Usagef("unknown verb %q (see bosun help %s)", strings.Join(args, " "), args[0])
}

func printOverview(w io.Writer, cmds []*Command) {
	fmt.Fprint(w, "bosun: configuration management and continuous compliance.\n\nUsage: bosun VERB [flags] [args]\n\nVerbs:\n")
	printList(w, cmds)
	fmt.Fprint(w, "\nbosun help VERB prints the help of a verb, with examples.\n")
	fmt.Fprint(w, "Every verb takes --color auto|always|never: states in colour on a terminal, unless NO_COLOR is set.\n")
}

func printList(w io.Writer, cmds []*Command) {
	sorted := append([]*Command(nil), cmds...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	width := 0
	for _, c := range sorted {
		if !hidden(c) {
			width = max(width, len(c.Name))
		}
	}
	for _, c := range sorted {
		if !hidden(c) {
			fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Short)
		}
	}
}

func printHelp(w io.Writer, c *Command, opts Options) {
	fmt.Fprintf(w, "Usage: bosun %s [flags]", c.Name)
	if c.Args != "" {
		fmt.Fprintf(w, " %s", c.Args)
	}
	fmt.Fprintf(w, "\n\n%s\n", c.Short)
	if c.Long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.Long))
	}
	fs := pflag.NewFlagSet(c.Name, pflag.ContinueOnError)
	opts.AddFlags(fs)
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nFLAGS\n%s", fs.FlagUsages())
	}
	if c.Examples != "" {
		fmt.Fprintf(w, "\nEXAMPLES\n%s\n", indent(strings.TrimSpace(c.Examples)))
	}
	status := c.ExitStatus
	if status == "" {
		status = StandardExitStatus
	}
	fmt.Fprintf(w, "\nEXIT STATUS\n%s\n", indent(status))
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// OSEnv is the process's real environment.
func OSEnv() *Env {
	return &Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}
