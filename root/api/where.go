package api

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Condition is one filter on a node's inventory, as `bosun nodes list --where` takes it:
// FIELD OP VALUE, with OP one of = != > < >= <= ~ (regular expression).
//
// FIELD is a dotted path into the inventory's JSON model (os.name, machine.virtualization,
// network.interfaces.ipv4, software.name) or into the node (node.status), or one of the
// aliases of [FieldAliases] (ram, swap, cpus, packages, updates, status, role...). A path
// through a list reaches every element: the condition holds when one value satisfies it,
// except != which holds when no value equals VALUE.
//
// Values compare as numbers when both sides read as numbers, VALUE with an optional unit
// (KiB MiB GiB TiB are powers of 1024, as are K M G T; KB MB GB TB are powers of 1000);
// otherwise = and != compare strings without regard to case, and < > <= >= compare them as
// versions (1.10 > 1.9).
type Condition struct {
	Field string
	Op    string
	Value string

	path  string
	num   float64
	isNum bool
	re    *regexp.Regexp
}

// FieldAliases are short names for common fields; "#" marks a count of list elements.
var FieldAliases = map[string]string{
	"ram":              "memory.total",
	"memory":           "memory.total",
	"swap":             "memory.swap_total",
	"os":               "os.name",
	"os.family":        "os.family",
	"kernel":           "os.kernel_version",
	"arch":             "os.arch",
	"virtualization":   "machine.virtualization",
	"container":        "machine.container",
	"serial":           "machine.serial",
	"ip":               "network.interfaces.ipv4",
	"ipv6":             "network.interfaces.ipv6",
	"mac":              "network.interfaces.mac",
	"cpus":             "#cpus",
	"packages":         "#software",
	"updates":          "#updates",
	"security_updates": "#updates[security]",
	"users":            "#users",
	"package":          "software.name",
	"id":               "node.id",
	"status":           "node.status",
	"role":             "node.role",
	"policy_server":    "node.policyServer",
	"agent_version":    "node.softwareVersion",
	"last_inventory":   "node.lastInventory",
	"last_seen":        "node.lastSeen",
}

var (
	fieldPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)
	operators    = []string{"!=", ">=", "<=", "=", ">", "<", "~"}
)

// ParseCondition reads FIELD OP VALUE.
func ParseCondition(s string) (Condition, error) {
	i := strings.IndexAny(s, "=!<>~")
	if i < 0 {
		return Condition{}, fmt.Errorf("condition %q: no operator; want FIELD OP VALUE with OP one of = != > < >= <= ~", s)
	}
	c := Condition{Field: strings.TrimSpace(s[:i])}
	for _, op := range operators {
		if strings.HasPrefix(s[i:], op) {
			c.Op = op
			break
		}
	}
	if c.Op == "" {
		return Condition{}, fmt.Errorf("condition %q: unknown operator at %q; want = != > < >= <= ~", s, s[i:])
	}
	c.Value = strings.TrimSpace(s[i+len(c.Op):])
	path, err := ResolveField(c.Field)
	if err != nil {
		return Condition{}, fmt.Errorf("condition %q: %w", s, err)
	}
	c.path = path
	if c.Op == "~" {
		if c.re, err = regexp.Compile(c.Value); err != nil {
			return Condition{}, fmt.Errorf("condition %q: regular expression: %w", s, err)
		}
	}
	c.num, c.isNum = ParseQuantity(c.Value)
	if !c.isNum && (c.Op == ">" || c.Op == "<" || c.Op == ">=" || c.Op == "<=") && c.Value == "" {
		return Condition{}, fmt.Errorf("condition %q: nothing to compare with", s)
	}
	return c, nil
}

func (c Condition) String() string { return c.Field + c.Op + c.Value }

// ResolveField checks a field name and returns the path it stands for.
func ResolveField(f string) (string, error) {
	f = strings.TrimSpace(f)
	if p, ok := FieldAliases[strings.ToLower(f)]; ok {
		return p, nil
	}
	if !fieldPattern.MatchString(f) {
		return "", fmt.Errorf("field %q: want a dotted path such as os.name, or an alias such as ram", f)
	}
	return f, nil
}

// units are the multipliers ParseQuantity knows, lower-cased.
var units = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
	"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
	"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	"t": 1 << 40, "tib": 1 << 40, "tb": 1e12,
}

// ParseQuantity reads a number with an optional size unit: "4GiB", "512M", "2.5", "1e3".
func ParseQuantity(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	i := len(s)
	for i > 0 && unicode.IsLetter(rune(s[i-1])) {
		i--
	}
	mult, ok := units[strings.ToLower(s[i:])]
	if !ok || i == 0 {
		return 0, false
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(s[:i]), 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
		return 0, false
	}
	return n * mult, true
}

// Lookup returns the values at a path (as ResolveField returns it) in a JSON document
// decoded into any. A "#" prefix counts the list at the path; "#list[flag]" counts the
// elements whose boolean field flag is true.
func Lookup(doc any, path string) []any {
	if rest, ok := strings.CutPrefix(path, "#"); ok {
		flag := ""
		if i := strings.IndexByte(rest, '['); i >= 0 && strings.HasSuffix(rest, "]") {
			rest, flag = rest[:i], rest[i+1:len(rest)-1]
		}
		n := 0
		for _, v := range Lookup(doc, rest) {
			if flag == "" {
				n++
				continue
			}
			if m, ok := v.(map[string]any); ok && m[flag] == true {
				n++
			}
		}
		return []any{float64(n)}
	}
	vals := []any{doc}
	for part := range strings.SplitSeq(path, ".") {
		var next []any
		for _, v := range vals {
			next = appendField(next, v, part)
		}
		vals = next
	}
	// A list at the end of the path stands for its elements.
	var out []any
	for _, v := range vals {
		if l, ok := v.([]any); ok {
			out = append(out, l...)
		} else if v != nil {
			out = append(out, v)
		}
	}
	return out
}

func appendField(out []any, v any, name string) []any {
	switch t := v.(type) {
	case map[string]any:
		if x, ok := t[name]; ok {
			return append(out, x)
		}
	case []any:
		for _, e := range t {
			out = appendField(out, e, name)
		}
	}
	return out
}

// Match reports whether the document satisfies the condition.
func (c Condition) Match(doc any) bool {
	vals := Lookup(doc, c.path)
	if c.Op == "!=" {
		for _, v := range vals {
			if c.equal(v) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if c.holds(v) {
			return true
		}
	}
	return false
}

func (c Condition) equal(v any) bool {
	if n, ok := number(v); ok && c.isNum {
		return n == c.num
	}
	return strings.EqualFold(Text(v), c.Value)
}

func (c Condition) holds(v any) bool {
	switch c.Op {
	case "=":
		return c.equal(v)
	case "~":
		return c.re.MatchString(Text(v))
	}
	var cmp int
	if n, ok := number(v); ok && c.isNum {
		switch {
		case n < c.num:
			cmp = -1
		case n > c.num:
			cmp = 1
		}
	} else {
		cmp = CompareVersions(Text(v), c.Value)
	}
	switch c.Op {
	case ">":
		return cmp > 0
	case "<":
		return cmp < 0
	case ">=":
		return cmp >= 0
	case "<=":
		return cmp <= 0
	}
	return false
}

func number(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case string:
		return ParseQuantity(t)
	case bool:
		return 0, false
	}
	return 0, false
}

// Text is how a value of the inventory's JSON reads as a string.
func Text(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	return fmt.Sprint(v)
}

// CompareVersions compares two versions of a package when nothing says which packaging
// scheme they follow, as rpm does: runs of digits compare as numbers, runs of letters as
// strings, separators only separate, "~" sorts before anything (1.0~rc1 < 1.0), and a
// version with more parts is newer (1.0.1 > 1.0). An epoch ("1:") counts first; none is 0. Negative if a < b, zero if equal,
// positive if a > b.
func CompareVersions(a, b string) int {
	ea, a := splitEpoch(a)
	eb, b := splitEpoch(b)
	if ea != eb {
		if ea < eb {
			return -1
		}
		return 1
	}
	for {
		a = strings.TrimLeftFunc(a, isSep)
		b = strings.TrimLeftFunc(b, isSep)
		ta, tb := strings.HasPrefix(a, "~"), strings.HasPrefix(b, "~")
		switch {
		case ta && tb:
			a, b = a[1:], b[1:]
			continue
		case ta:
			return -1
		case tb:
			return 1
		}
		if a == "" || b == "" {
			switch {
			case a == b:
				return 0
			case a == "":
				return -1
			default:
				return 1
			}
		}
		var sa, sb string
		digits := isDigitByte(a[0])
		sa, a = segment(a, digits)
		if digits != isDigitByte(b[0]) {
			// Numbers are newer than letters, as in rpm.
			if digits {
				return 1
			}
			return -1
		}
		sb, b = segment(b, digits)
		if digits {
			sa, sb = strings.TrimLeft(sa, "0"), strings.TrimLeft(sb, "0")
			if len(sa) != len(sb) {
				if len(sa) < len(sb) {
					return -1
				}
				return 1
			}
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return c
		}
	}
}

func splitEpoch(v string) (uint64, string) {
	if i := strings.IndexByte(v, ':'); i > 0 {
		if e, err := strconv.ParseUint(v[:i], 10, 64); err == nil {
			return e, v[i+1:]
		}
	}
	return 0, v
}

func isSep(r rune) bool {
	return r != '~' && !(r >= '0' && r <= '9') && !unicode.IsLetter(r)
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// segment cuts the leading run of digits or of letters; it always takes at least one rune,
// so that the caller's loop ends on any input.
func segment(s string, digits bool) (seg, rest string) {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if i > 0 && (digits != (r >= '0' && r <= '9') || (!digits && !unicode.IsLetter(r))) {
			break
		}
		i += n
	}
	return s[:i], s[i:]
}
