package flagfile

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Defaults writes a YAML file of every key of keys (as defined, before any parsing): its help
// as a comment, then the key with its default, commented out, so that the defaults of a later
// version reach every machine whose operator did not choose a value; removing the # sets one.
// header goes first, each line as a comment.
func Defaults(w io.Writer, header string, keys *pflag.FlagSet) error {
	bw := bufio.NewWriter(w)
	for _, line := range strings.Split(strings.TrimRight(header, "\n"), "\n") {
		fmt.Fprintln(bw, strings.TrimRight("# "+line, " "))
	}
	visitInOrder(keys, func(fl *pflag.Flag) {
		help := fl.Usage
		if t := typeName(fl); t != "string" {
			help += " (" + typeHint(fl) + ")"
		}
		fmt.Fprintln(bw)
		for _, line := range wrap(help, 92) {
			fmt.Fprintln(bw, "# "+line)
		}
		fmt.Fprintf(bw, "#%s: %s\n", fl.Name, DefaultValue(fl))
	})
	return bw.Flush()
}

// Reference writes a Markdown table of every key of keys: its type, its default and what it
// does.
func Reference(w io.Writer, keys *pflag.FlagSet) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "| key | type | default | meaning |")
	fmt.Fprintln(bw, "|---|---|---|---|")
	visitInOrder(keys, func(fl *pflag.Flag) {
		// A cell ends at a pipe, and <data> would be taken for HTML.
		cell := strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;")
		fmt.Fprintf(bw, "| `%s` | %s | `%s` | %s |\n", fl.Name, typeName(fl), cell.Replace(DefaultValue(fl)), cell.Replace(fl.Usage))
	})
	return bw.Flush()
}

// DefaultValue is the default of a flag as a YAML value that sets it to the same.
func DefaultValue(fl *pflag.Flag) string {
	if slice, ok := fl.Value.(pflag.SliceValue); ok {
		items := slice.GetSlice()
		for i, s := range items {
			items[i] = yamlString(s)
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	switch typeName(fl) {
	case "duration":
		return shortDuration(fl.DefValue)
	case "string":
		return yamlString(fl.DefValue)
	}
	return fl.DefValue
}

// typeName is a flag's type in the operator's words.
func typeName(fl *pflag.Flag) string {
	if _, ok := fl.Value.(pflag.SliceValue); ok {
		return "list"
	}
	switch t := fl.Value.Type(); {
	case t == "duration", t == "bool":
		return t
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "integer"
	case strings.HasPrefix(t, "float"):
		return "number"
	}
	return "string"
}

func typeHint(fl *pflag.Flag) string {
	switch typeName(fl) {
	case "list":
		return "a list: [a, b]"
	case "duration":
		return "a duration: 30s, 5m, 1h30m"
	case "bool":
		return "true or false"
	case "integer":
		return "a whole number"
	}
	return "a number"
}

// yamlString quotes s only where YAML would otherwise read something else than the string.
func yamlString(s string) string {
	b, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// shortDuration writes 5m0s as 5m and 1h0m0s as 1h, as an operator would.
func shortDuration(s string) string {
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func visitInOrder(fs *pflag.FlagSet, fn func(*pflag.Flag)) {
	sorted := fs.SortFlags
	fs.SortFlags = false
	defer func() { fs.SortFlags = sorted }()
	fs.VisitAll(func(fl *pflag.Flag) {
		if !fl.Hidden {
			fn(fl)
		}
	})
}

// wrap breaks s into lines of at most width bytes at spaces; a longer word stays whole.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	return append(lines, line)
}
