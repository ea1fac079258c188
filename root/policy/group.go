package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Criterion is a condition on a node: a composite (All: and, Any: or), a test of one fact
// (Fact, Op, Value), or membership of another group (Group).
type Criterion struct {
	All   []Criterion `yaml:"all,omitempty" json:"all,omitempty"`
	Any   []Criterion `yaml:"any,omitempty" json:"any,omitempty"`
	Fact  string      `yaml:"fact,omitempty" json:"fact,omitempty"`
	Op    string      `yaml:"op,omitempty" json:"op,omitempty"`
	Value string      `yaml:"value,omitempty" json:"value,omitempty"`
	Group string      `yaml:"group,omitempty" json:"group,omitempty"`
}

// Criterion operators. Numeric comparisons accept units on both sides (4GiB, 512 MB, 2k);
// version comparisons order as dpkg does (epochs, ~ before anything). On a fact with
// several values (a list), a positive test holds if any value passes, a negative one if
// none passes the positive test.
var criterionOps = []string{
	"equals", "not-equals", "regex", "not-regex", "exists", "not-exists",
	"lt", "le", "gt", "ge",
	"version-lt", "version-le", "version-eq", "version-ge", "version-gt",
}

// nodeView is a node as criteria see it.
type nodeView struct {
	node   *Node
	params map[string]json.RawMessage // global parameters, inherited as properties
	member func(group int) bool
}

type matcher func(v *nodeView) bool

// compileCriterion checks c and turns it into a matcher. groupIndex maps a group id to its
// index in evaluation order; refs collects the groups c refers to.
func compileCriterion(c *Criterion, field string, groupIndex map[string]int, refs map[string]string, errf func(field, format string, a ...any)) matcher {
	kinds := 0
	if c.All != nil {
		kinds++
	}
	if c.Any != nil {
		kinds++
	}
	if c.Fact != "" || c.Op != "" {
		kinds++
	}
	if c.Group != "" {
		kinds++
	}
	if kinds != 1 {
		errf(field, "a criterion is one of all, any, fact/op/value or group")
		return func(*nodeView) bool { return false }
	}
	switch {
	case c.All != nil || c.Any != nil:
		list, key := c.All, "all"
		if c.Any != nil {
			list, key = c.Any, "any"
		}
		ms := make([]matcher, len(list))
		for i := range list {
			ms[i] = compileCriterion(&list[i], index(join(field, key), i), groupIndex, refs, errf)
		}
		if c.All != nil {
			return func(v *nodeView) bool {
				for _, m := range ms {
					if !m(v) {
						return false
					}
				}
				return true
			}
		}
		return func(v *nodeView) bool {
			for _, m := range ms {
				if m(v) {
					return true
				}
			}
			return false
		}
	case c.Group != "":
		gi, ok := groupIndex[c.Group]
		if !ok {
			errf(join(field, "group"), "unknown group %q", c.Group)
			return func(*nodeView) bool { return false }
		}
		refs[c.Group] = join(field, "group")
		return func(v *nodeView) bool { return v.member(gi) }
	}
	path := strings.Split(c.Fact, ".")
	if c.Fact == "" {
		errf(join(field, "fact"), "missing")
	}
	test, negate := compileTest(c, field, errf)
	if test == nil {
		return func(*nodeView) bool { return false }
	}
	return func(v *nodeView) bool { return v.facts(path, test) != negate }
}

// compileTest returns the positive test of the operator and whether the operator negates it.
func compileTest(c *Criterion, field string, errf func(field, format string, a ...any)) (func(any) bool, bool) {
	op := c.Op
	negate := false
	if rest, ok := strings.CutPrefix(op, "not-"); ok {
		op, negate = rest, true
	}
	switch op {
	case "equals":
		want := c.Value
		return func(x any) bool { return factText(x) == want }, negate
	case "regex":
		re, err := regexp.Compile(c.Value)
		if err != nil {
			errf(join(field, "value"), "%v", err)
			return nil, false
		}
		return func(x any) bool { return re.MatchString(factText(x)) }, negate
	case "exists":
		return func(any) bool { return true }, negate
	}
	if negate {
		errf(join(field, "op"), "unknown operator %q (known: %s)", c.Op, strings.Join(criterionOps, ", "))
		return nil, false
	}
	if vop, ok := strings.CutPrefix(op, "version-"); ok {
		cmp := cmpOp(vop)
		if cmp == nil {
			errf(join(field, "op"), "unknown operator %q (known: %s)", c.Op, strings.Join(criterionOps, ", "))
			return nil, false
		}
		want := c.Value
		return func(x any) bool { return cmp(compareVersions(factText(x), want)) }, false
	}
	cmp := cmpOp(op)
	if cmp == nil {
		errf(join(field, "op"), "unknown operator %q (known: %s)", c.Op, strings.Join(criterionOps, ", "))
		return nil, false
	}
	want, err := ParseQuantity(c.Value)
	if err != nil {
		errf(join(field, "value"), "%v", err)
		return nil, false
	}
	return func(x any) bool {
		var got float64
		switch n := x.(type) {
		case float64:
			got = n
		case int:
			got = float64(n)
		case int64:
			got = float64(n)
		case uint64:
			got = float64(n)
		default:
			q, err := ParseQuantity(factText(x))
			if err != nil {
				return false
			}
			got = q
		}
		switch {
		case got < want:
			return cmp(-1)
		case got > want:
			return cmp(1)
		}
		return cmp(0)
	}, false
}

func cmpOp(op string) func(int) bool {
	switch op {
	case "lt":
		return func(c int) bool { return c < 0 }
	case "le":
		return func(c int) bool { return c <= 0 }
	case "eq":
		return func(c int) bool { return c == 0 }
	case "ge":
		return func(c int) bool { return c >= 0 }
	case "gt":
		return func(c int) bool { return c > 0 }
	}
	return nil
}

var units = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15,
}

// ParseQuantity parses a number with an optional unit: 4GiB (binary), 4GB (decimal), 4G
// (binary, as memory sizes are shown), 1.5 TB.
func ParseQuantity(s string) (float64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == '-' || s[i] == '+' || s[i] == 'e' && i > 0 && i+1 < len(s) && (s[i+1] >= '0' && s[i+1] <= '9')) {
		i++
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || math.IsNaN(n) {
		return 0, fmt.Errorf("%q is not a number with an optional unit", s)
	}
	u, ok := units[strings.ToLower(strings.TrimSpace(s[i:]))]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (known: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB, K, M, G, T)", s, strings.TrimSpace(s[i:]))
	}
	return n * u, nil
}

// facts calls test on every value at path and reports whether one passed. Special roots:
// id, hostname, relay, and properties (the node's, then the global parameters).
func (v *nodeView) facts(path []string, test func(any) bool) bool {
	switch path[0] {
	case "id":
		return len(path) == 1 && test(v.node.ID)
	case "hostname":
		if len(path) == 1 && v.node.Hostname != "" {
			return test(v.node.Hostname)
		}
	case "relay":
		return len(path) == 1 && test(strconv.FormatBool(v.node.Relay))
	case "properties":
		if len(path) < 2 {
			return false
		}
		raw, ok := v.node.Properties[path[1]]
		if !ok {
			raw, ok = v.params[path[1]]
		}
		if !ok {
			return false
		}
		if len(path) == 2 {
			return test(jsonText(raw))
		}
		var x any
		if json.Unmarshal(raw, &x) != nil {
			return false
		}
		return walkFacts(x, path[2:], test)
	}
	return walkFacts(map[string]any(v.node.Facts), path, test)
}

// walkFacts follows path into decoded JSON. In a list, a key that names an element (by its
// "name" field) selects it; any other key applies to every element.
func walkFacts(x any, path []string, test func(any) bool) bool {
	for i, k := range path {
		switch node := x.(type) {
		case map[string]any:
			next, ok := node[k]
			if !ok {
				return false
			}
			x = next
		case []any:
			for _, e := range node {
				if m, ok := e.(map[string]any); ok && m["name"] == k {
					return walkFacts(e, path[i+1:], test)
				}
			}
			for _, e := range node {
				if walkFacts(e, path[i:], test) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	if list, ok := x.([]any); ok {
		for _, e := range list {
			if test(e) {
				return true
			}
		}
		return false
	}
	if x == nil {
		return false
	}
	return test(x)
}

// compareVersions orders versions as dpkg does: an epoch before ':', then runs of
// non-digits compared character by character (~ sorts before anything, even the end;
// letters before other characters) and runs of digits compared as numbers.
func compareVersions(a, b string) int {
	ea, ra := splitEpoch(a)
	eb, rb := splitEpoch(b)
	if ea != eb {
		if ea < eb {
			return -1
		}
		return 1
	}
	return verrevcmp(ra, rb)
}

func splitEpoch(v string) (int, string) {
	if i := strings.IndexByte(v, ':'); i > 0 {
		if e, err := strconv.Atoi(v[:i]); err == nil {
			return e, v[i+1:]
		}
	}
	return 0, v
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func order(c byte) int {
	switch {
	case isDigit(c):
		return 0
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		first := 0
		for i < len(a) && !isDigit(a[i]) || j < len(b) && !isDigit(b[j]) {
			ac, bc := 0, 0
			if i < len(a) {
				ac = order(a[i])
			}
			if j < len(b) {
				bc = order(b[j])
			}
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if first != 0 {
			return sign(first)
		}
	}
	return 0
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

// compiledGroups is every group of a model with its matcher, in an order where a group
// comes after every group its criteria refer to.
type compiledGroups struct {
	ids     []string
	index   map[string]int
	match   []matcher // nil for built-ins, evaluated directly
	static  []map[string]bool
	builtin []string
	deps    [][]int // the groups each group refers to
}

// compileGroups checks every group's criteria and orders the groups, refusing cycles.
func compileGroups(m *Model) (*compiledGroups, Errors) {
	var errs Errors
	all := append(BuiltinGroups(), m.Groups...)
	byID := map[string]int{}
	for i, g := range all {
		byID[g.ID] = i
	}
	matchers := make([]matcher, len(all))
	refs := make([]map[string]string, len(all))
	for i := range all {
		g := &all[i]
		refs[i] = map[string]string{}
		if g.Criteria != nil {
			obj := "group " + g.ID
			errf := func(field, format string, a ...any) {
				errs = append(errs, g.src.errorf(obj, field, format, a...))
			}
			matchers[i] = compileCriterion(g.Criteria, "criteria", byID, refs[i], errf)
		}
	}
	// Order by depth-first search; a grey node met again is a cycle.
	const white, grey, black = 0, 1, 2
	color := make([]int, len(all))
	var orderIdx []int
	var stack []string
	var visit func(i int) bool
	visit = func(i int) bool {
		switch color[i] {
		case black:
			return true
		case grey:
			return false
		}
		color[i] = grey
		stack = append(stack, all[i].ID)
		for _, dep := range sortedKeys(refs[i]) {
			j := byID[dep]
			if !visit(j) {
				if color[j] == grey {
					g := &all[i]
					cycle := append(append([]string(nil), stack[indexOf(stack, dep):]...), dep)
					errs = append(errs, g.src.errorf("group "+g.ID, refs[i][dep], "groups refer to each other in a cycle: %s", strings.Join(cycle, " → ")))
					color[j] = black // report the cycle once
				}
				stack = stack[:len(stack)-1]
				color[i] = black
				return false
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
		orderIdx = append(orderIdx, i)
		return true
	}
	for i := range all {
		visit(i)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	cg := &compiledGroups{index: map[string]int{}}
	remap := make([]int, len(all))
	for pos, i := range orderIdx {
		remap[i] = pos
	}
	for _, i := range orderIdx {
		g := &all[i]
		cg.index[g.ID] = len(cg.ids)
		cg.ids = append(cg.ids, g.ID)
		var st map[string]bool
		if len(g.Nodes) > 0 {
			st = make(map[string]bool, len(g.Nodes))
			for _, n := range g.Nodes {
				st[n] = true
			}
		}
		cg.static = append(cg.static, st)
		cg.builtin = append(cg.builtin, map[bool]string{true: g.ID}[isBuiltinGroup(g.ID)])
		var deps []int
		for dep := range refs[i] {
			deps = append(deps, remap[byID[dep]])
		}
		cg.deps = append(cg.deps, deps)
		cg.match = append(cg.match, nil)
	}
	// Matchers captured indices of the definition order; recompile against the final
	// order so membership lookups index the evaluation arrays.
	for _, i := range orderIdx {
		g := &all[i]
		if g.Criteria != nil {
			cg.match[cg.index[g.ID]] = compileCriterion(g.Criteria, "criteria", cg.index, map[string]string{}, func(string, string, ...any) {})
		}
	}
	return cg, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return 0
}

// member evaluates group gi for one node, given the memberships already computed.
func (cg *compiledGroups) member(gi int, v *nodeView) bool {
	switch cg.builtin[gi] {
	case GroupAllNodes:
		return true
	case GroupAllLinux:
		return strings.EqualFold(v.node.OS, "linux")
	case GroupAllRelays:
		return v.node.Relay
	}
	if cg.static[gi][v.node.ID] {
		return true
	}
	if m := cg.match[gi]; m != nil {
		return m(v)
	}
	return false
}
