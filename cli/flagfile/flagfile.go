package flagfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong in a file.
type Problem struct {
	Line int    // 1-based; 0 when the problem is not on one line
	Key  string // empty when the problem is not one key's
	Msg  string // says what is wrong, with the key when there is one
	// Unknown is set when Key names no flag and none is close to it, so that a caller who
	// knows other flag sets can say where the key belongs.
	Unknown bool
}

// Error lists every problem of one file, so that one check finds them all.
type Error struct {
	File     string
	Problems []Problem
}

// Error prints one problem a line, as file:line: message, the way compilers do, so editors
// can jump to them.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		if p.Line > 0 {
			lines[i] = fmt.Sprintf("%s:%d: %s", e.File, p.Line, p.Msg)
		} else {
			lines[i] = fmt.Sprintf("%s: %s", e.File, p.Msg)
		}
	}
	return strings.Join(lines, "\n")
}

// File is a checked file: every key names a flag and every value parsed.
type File struct {
	Path    string
	entries []entry
}

type entry struct {
	key    string
	line   int
	values []string
	list   bool // a YAML sequence, for a slice flag
}

// Keys returns the keys the file sets, in the file's order.
func (f *File) Keys() []string {
	keys := make([]string, len(f.entries))
	for i, e := range f.entries {
		keys[i] = e.key
	}
	return keys
}

// Keys returns a flag set of the flags of fs that a file may set, in the order fs defined
// them: all but the hidden ones (tests only) and those named in except (the flag that names
// the file, say). The flags share their values with fs.
func Keys(fs *pflag.FlagSet, except ...string) *pflag.FlagSet {
	keys := pflag.NewFlagSet(fs.Name(), pflag.ContinueOnError)
	keys.SortFlags = false
	skip := map[string]bool{}
	for _, n := range except {
		skip[n] = true
	}
	visitInOrder(fs, func(f *pflag.Flag) {
		if !skip[f.Name] {
			keys.AddFlag(f)
		}
	})
	return keys
}

// MaxSize bounds what Read reads: a configuration file is a few kilobytes, and --config
// /dev/zero or a log file named by mistake must not fill the memory.
const MaxSize = 1 << 20

// Read reads and checks the file at path; see [Parse]. A file that does not exist returns an
// error that errors.Is(err, fs.ErrNotExist) recognises.
func Read(path string, keys *pflag.FlagSet) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read configuration %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, &Error{File: path, Problems: []Problem{{Msg: fmt.Sprintf("larger than %d KiB: not a configuration file", MaxSize>>10)}}}
	}
	return Parse(path, data, keys)
}

// yamlLine finds the line in yaml.v3's syntax errors, which carry it only in their text.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse checks data, the content of the file name, against keys. It sets the flags of keys
// to check the values, so keys must be a flag set made for the purpose. Problems come back
// together as an *[Error].
func Parse(name string, data []byte, keys *pflag.FlagSet) (*File, error) {
	f := &File{Path: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return f, nil // empty, or comments only: flags and defaults
	} else if err != nil {
		p := Problem{Msg: "not YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
			p.Msg = "not YAML: " + m[2]
		}
		return nil, &Error{File: name, Problems: []Problem{p}}
	}
	var probs []Problem
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		probs = append(probs, Problem{Line: extra.Line, Msg: "a second YAML document: a configuration file is one mapping of key: value"})
	}
	top := resolve(&doc)
	if top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = resolve(top.Content[0])
	}
	switch {
	case top.Kind == yaml.ScalarNode && top.Tag == "!!null":
		// "~" or "null" alone: nothing set.
	case top.Kind != yaml.MappingNode:
		probs = append(probs, Problem{Line: top.Line, Msg: "want key: value lines at the top level, found " + kindName(top)})
	default:
		probs = append(probs, f.parseMapping(top, keys)...)
	}
	if len(probs) > 0 {
		return nil, &Error{File: name, Problems: probs}
	}
	return f, nil
}

func (f *File) parseMapping(m *yaml.Node, keys *pflag.FlagSet) []Problem {
	var probs []Problem
	first := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), resolve(m.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			probs = append(probs, Problem{Line: k.Line, Msg: "a key must be a name, found " + kindName(k)})
			continue
		}
		name := k.Value
		if line, ok := first[name]; ok {
			probs = append(probs, Problem{Line: k.Line, Key: name, Msg: fmt.Sprintf("key %q given twice (first on line %d)", name, line)})
			continue
		}
		first[name] = k.Line
		fl := keys.Lookup(name)
		if fl == nil || fl.Hidden {
			p := Problem{Line: k.Line, Key: name, Msg: fmt.Sprintf("unknown key %q", name), Unknown: true}
			if s := suggest(name, keys); s != "" {
				p.Msg += fmt.Sprintf(" (did you mean %q?)", s)
				p.Unknown = false
			}
			probs = append(probs, p)
			continue
		}
		e, p := parseValue(fl, k, v)
		if p != nil {
			probs = append(probs, *p)
			continue
		}
		f.entries = append(f.entries, e)
	}
	return probs
}

// parseValue checks v as the value of flag fl by setting it, as the command line would.
func parseValue(fl *pflag.Flag, k, v *yaml.Node) (entry, *Problem) {
	e := entry{key: fl.Name, line: k.Line}
	bad := func(line int, msg string) (entry, *Problem) {
		return entry{}, &Problem{Line: line, Key: fl.Name, Msg: fmt.Sprintf("key %q: %s", fl.Name, msg)}
	}
	slice, isSlice := fl.Value.(pflag.SliceValue)
	switch v.Kind {
	case yaml.ScalarNode:
		s := v.Value
		if v.Tag == "!!null" {
			s = "" // "key:" with nothing after it
		}
		if err := fl.Value.Set(s); err != nil {
			return bad(v.Line, badValue(fl, s, err))
		}
		e.values = []string{s}
	case yaml.SequenceNode:
		if !isSlice {
			return bad(v.Line, "takes one value, not a list")
		}
		e.values = []string{} // "key: []" empties the list
		for _, item := range v.Content {
			item = resolve(item)
			if item.Kind != yaml.ScalarNode {
				return bad(item.Line, "a list item must be a single value, found "+kindName(item))
			}
			if err := slice.Replace([]string{item.Value}); err != nil {
				return bad(item.Line, badValue(fl, item.Value, err))
			}
			e.values = append(e.values, item.Value)
		}
		if err := slice.Replace(e.values); err != nil {
			return bad(v.Line, err.Error())
		}
		e.list = true
	default:
		if isSlice {
			return bad(v.Line, "takes a list ([a, b]), found "+kindName(v))
		}
		return bad(v.Line, "takes one value, found "+kindName(v))
	}
	return e, nil
}

// badValue says what a flag wants, in words: the parsers' errors (strconv.ParseInt:
// parsing "8G": invalid syntax) speak to programmers. Strings with their own checks (a log
// level) say what they want themselves.
func badValue(fl *pflag.Flag, s string, err error) string {
	if t := typeName(fl); t != "string" && t != "list" {
		return fmt.Sprintf("%q is not %s", s, typeHint(fl))
	}
	return fmt.Sprintf("%q: %v", s, err)
}

// Apply sets, in fs, each flag the file sets that the command line left alone. Keys fs does
// not have belong to another verb of the same role and are skipped.
func (f *File) Apply(fs *pflag.FlagSet) error {
	var probs []Problem
	for _, e := range f.entries {
		fl := fs.Lookup(e.key)
		if fl == nil || fl.Changed {
			continue
		}
		var err error
		if slice, ok := fl.Value.(pflag.SliceValue); ok && e.list {
			err = slice.Replace(e.values)
		} else if e.list {
			err = errors.New("takes one value, not a list")
		} else {
			err = fs.Set(e.key, e.values[0])
		}
		if err != nil {
			probs = append(probs, Problem{Line: e.line, Key: e.key, Msg: fmt.Sprintf("key %q: %v", e.key, err)})
		}
	}
	if len(probs) > 0 {
		return &Error{File: f.Path, Problems: probs}
	}
	return nil
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("the value %q", n.Value)
	}
	return "nothing usable"
}

// suggest returns the key closest to name when it is close enough to be a slip of the
// fingers: underscores for dashes, a transposition, a letter or two.
func suggest(name string, keys *pflag.FlagSet) string {
	norm := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	best, bestD := "", -1
	keys.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := distance(norm, f.Name)
		if bestD < 0 || d < bestD {
			best, bestD = f.Name, d
		}
	})
	if bestD >= 0 && bestD <= max(1, len(norm)/3) {
		return best
	}
	return ""
}

// distance is the optimal string alignment distance: insertions, deletions, substitutions
// and transpositions of neighbours each cost one.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
