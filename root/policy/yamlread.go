package policy

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// reader walks YAML nodes by hand rather than through yaml.Unmarshal, so that every field
// keeps its line (for errors found later, in validation) and an unknown field is refused
// with its name and line rather than ignored.
type reader struct {
	file   string
	object string
	lines  map[string]int
	errs   Errors
}

func newReader(file string) *reader { return &reader{file: file, lines: map[string]int{}} }

func (r *reader) fail(n *yaml.Node, field, format string, a ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	r.errs = append(r.errs, &Error{File: r.file, Line: line, Object: r.object, Field: field, Msg: fmt.Sprintf(format, a...)})
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func index(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		return resolve(n.Content[0])
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// mapping returns the keys of a mapping node. Keys not in allowed are refused by name; an
// empty allowed list accepts any key.
func (r *reader) mapping(n *yaml.Node, field string, allowed ...string) (map[string]*yaml.Node, []string) {
	n = resolve(n)
	if isNull(n) {
		return map[string]*yaml.Node{}, nil
	}
	if n.Kind != yaml.MappingNode {
		r.fail(n, field, "want a mapping, found %s", kindName(n))
		return map[string]*yaml.Node{}, nil
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	var order []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		f := join(field, key)
		if len(allowed) > 0 && !contains(allowed, key) {
			r.fail(k, f, "unknown field %q (known: %s)", key, strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[key]; dup {
			r.fail(k, f, "field given twice")
			continue
		}
		r.lines[f] = k.Line
		out[key] = v
		order = append(order, key)
	}
	return out, order
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str reads a scalar as text; YAML's false, 42 or 1.0 come back as written.
func (r *reader) str(n *yaml.Node, field string) string {
	n = resolve(n)
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		r.fail(n, field, "want a text value, found %s", kindName(n))
		return ""
	}
	return n.Value
}

// value reads a scalar as text, or any other node as its JSON encoding: a directive value
// for a json parameter may be written as YAML.
func (r *reader) value(n *yaml.Node, field string) string {
	n = resolve(n)
	if isNull(n) {
		return ""
	}
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	raw, err := r.json(n, field)
	if err != nil {
		return ""
	}
	return string(raw)
}

// json reads any node as JSON. A scalar becomes a JSON string unless its YAML tag says
// number, boolean or null.
func (r *reader) json(n *yaml.Node, field string) (json.RawMessage, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		r.fail(n, field, "%v", err)
		return nil, err
	}
	raw, err := json.Marshal(jsonable(v))
	if err != nil {
		r.fail(n, field, "not representable as JSON: %v", err)
		return nil, err
	}
	return raw, nil
}

// jsonable turns the map[any]any that YAML may produce into JSON-encodable maps.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	}
	return v
}

func (r *reader) boolean(n *yaml.Node, field string) bool {
	s := r.str(n, field)
	switch strings.ToLower(s) {
	case "", "false", "no", "off":
		return false
	case "true", "yes", "on":
		return true
	}
	r.fail(n, field, "want true or false, found %q", s)
	return false
}

func (r *reader) optBool(n *yaml.Node, field string) *bool {
	if isNull(resolve(n)) {
		return nil
	}
	b := r.boolean(n, field)
	return &b
}

func (r *reader) integer(n *yaml.Node, field string) *int {
	s := r.str(n, field)
	if s == "" {
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		r.fail(n, field, "want an integer, found %q", s)
		return nil
	}
	return &v
}

func (r *reader) list(n *yaml.Node, field string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.fail(n, field, "want a list, found %s", kindName(n))
		return nil
	}
	for i, e := range n.Content {
		r.lines[index(field, i)] = e.Line
	}
	return n.Content
}

func (r *reader) strList(n *yaml.Node, field string) []string {
	var out []string
	for i, e := range r.list(n, field) {
		out = append(out, r.str(e, index(field, i)))
	}
	return out
}

// strMap reads a mapping of text values (non-scalar values become JSON).
func (r *reader) strMap(n *yaml.Node, field string) map[string]string {
	m, _ := r.mapping(n, field)
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = r.value(v, join(field, k))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (r *reader) source(line int) *source {
	return &source{file: r.file, line: line, lines: r.lines}
}
