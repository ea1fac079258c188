package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Colour modes of the global --color flag.
const (
	ColorAuto   = "auto"   // on a terminal, unless NO_COLOR or TERM=dumb
	ColorAlways = "always" // even in a pipe, and despite NO_COLOR: the operator asked
	ColorNever  = "never"
)

// Terminal is what a writer that is not an *os.File implements to say it is a terminal;
// tests fake one, and wrappers such as the colour writer pass the answer through.
type Terminal interface {
	IsTerminal() bool
}

// IsTerminal says whether w is a terminal. A character device other than /dev/null counts:
// that needs no ioctl, hence no new dependency, and the devices a CLI's output goes to that
// are not terminals (a printer port, a serial line) are rare enough to accept colours.
func IsTerminal(w io.Writer) bool {
	switch t := w.(type) {
	case Terminal:
		return t.IsTerminal()
	case *os.File:
		fi, err := t.Stat()
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			return false
		}
		if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(fi, null) {
			return false
		}
		return true
	}
	return false
}

// globalFlags takes the flags that may come before the verb (bosun --color never nodes
// list) off the front of args.
func globalFlags(args []string) (rest []string, color string, err error) {
	color = ColorAuto
	for len(args) > 0 {
		a := args[0]
		switch {
		case a == "--color" || a == "--colour":
			if len(args) < 2 {
				return nil, "", Usagef("--color needs a value: auto, always or never")
			}
			color, args = args[1], args[2:]
		case strings.HasPrefix(a, "--color=") || strings.HasPrefix(a, "--colour="):
			color, args = a[strings.IndexByte(a, '=')+1:], args[1:]
		default:
			return args, color, nil
		}
	}
	return args, color, nil
}

// withColor returns env with its stdout marked for colours when the mode and the
// environment want them; printers ask [paletteFor] about the writer they were given.
func withColor(env *Env, mode string) (*Env, error) {
	on := false
	switch mode {
	case ColorAlways:
		on = true
	case ColorNever:
	case ColorAuto, "":
		on = IsTerminal(env.Stdout) && env.Getenv("NO_COLOR") == "" && env.Getenv("TERM") != "dumb"
	default:
		return nil, Usagef("--color %q: want auto, always or never", mode)
	}
	if !on {
		return env, nil
	}
	e := *env
	e.Stdout = &colorWriter{Writer: env.Stdout}
	return &e, nil
}

// colorWriter marks a stdout on which states may be coloured.
type colorWriter struct{ io.Writer }

func (w *colorWriter) IsTerminal() bool { return IsTerminal(w.Writer) }

// ANSI SGR sequences, kept to the eight basic colours every terminal has.
const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

// wordColors colour the words the CLI prints for states: compliance states (Rudder's
// colours: green fine, yellow repaired, red broken, grey silent), node statuses and
// gossip liveness. Score letters have their own table: "A" is also a policy mode letter.
var wordColors = map[string]string{
	"success": ansiGreen, "compliant": ansiGreen, "not-applicable": ansiGreen, "audit-not-applicable": ansiGreen,
	"applying": ansiBlue, "repaired": ansiYellow,
	"reports-disabled": ansiDim, "no-answer": ansiDim, "missing": ansiDim,
	"non-compliant": ansiRed, "audit-error": ansiRed, "error": ansiRed, "unexpected": ansiRed, "bad-policy-mode": ansiRed,
	"accepted": ansiGreen, "pending": ansiCyan, "refused": ansiRed, "deleted": ansiDim,
	"alive": ansiGreen, "suspect": ansiYellow, "dead": ansiRed, "left": ansiDim,
}

var scoreColors = map[string]string{"A": ansiGreen, "B": ansiGreen, "C": ansiYellow, "D": ansiYellow, "E": ansiRed, "F": ansiRed}

// palette colours words for one writer; the zero palette leaves them alone.
type palette struct{ on bool }

// paletteFor returns the palette for what is printed on w.
func paletteFor(w io.Writer) palette {
	_, ok := w.(*colorWriter)
	return palette{on: ok}
}

// state colours a state, status or liveness word; other words pass unchanged.
func (p palette) state(s string) string { return p.paint(wordColors[s], s) }

// score colours a node score letter.
func (p palette) score(s string) string { return p.paint(scoreColors[s], s) }

func (p palette) paint(code, s string) string {
	if !p.on || code == "" {
		return s
	}
	return code + s + ansiReset
}

// colorFlagUsage is the help of --color, in the overview and the man page.
var colorFlagUsage = fmt.Sprintf("colour states: %s (on a terminal, unless NO_COLOR is set), %s or %s", ColorAuto, ColorAlways, ColorNever)
