package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

type refKind uint8

const (
	refOther refKind = iota // left to the technique (its own parameters) or to the agent (sys., const., ...)
	refParam                // ${param.name[key]...}
	refProp                 // ${node.properties[key][sub]...}
	refInv                  // ${node.inventory[key][sub]...}
)

// ref is one top-level ${...} reference in a value.
type ref struct {
	start, end int // s[start:end] is the whole ${...}
	kind       refKind
	name       string   // refOther: the inner text; refParam, refProp: the key
	path       []string // keys after the name
}

// scanRefs finds the top-level ${...} references of s. Nested references stay inside their
// outer one, which is left to the agent.
func scanRefs(s string) []ref {
	var out []ref
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '$' || s[i+1] != '{' {
			continue
		}
		depth, j := 0, i+1
		for ; j < len(s); j++ {
			if s[j] == '{' {
				depth++
			} else if s[j] == '}' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if j >= len(s) {
			break // unclosed: literal text
		}
		r := classify(s[i+2 : j])
		r.start, r.end = i, j+1
		out = append(out, r)
		i = j
	}
	return out
}

func classify(inner string) ref {
	if strings.Contains(inner, "${") {
		return ref{kind: refOther, name: inner}
	}
	if rest, ok := strings.CutPrefix(inner, "param."); ok {
		name, path, ok := splitBrackets(rest)
		if ok && name != "" {
			return ref{kind: refParam, name: name, path: path}
		}
	}
	if rest, ok := strings.CutPrefix(inner, "node.properties"); ok {
		if _, path, ok := splitBrackets(rest); ok && len(path) > 0 {
			return ref{kind: refProp, name: path[0], path: path[1:]}
		}
	}
	if rest, ok := strings.CutPrefix(inner, "node.inventory"); ok {
		if _, path, ok := splitBrackets(rest); ok && len(path) > 0 {
			return ref{kind: refInv, name: path[0], path: path[1:]}
		}
	}
	return ref{kind: refOther, name: inner}
}

// splitBrackets splits `name[a][b]` into name and [a b].
func splitBrackets(s string) (string, []string, bool) {
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return s, nil, true
	}
	name, rest := s[:i], s[i:]
	var path []string
	for rest != "" {
		if rest[0] != '[' {
			return "", nil, false
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return "", nil, false
		}
		path = append(path, rest[1:j])
		rest = rest[j+1:]
	}
	return name, path, true
}

func (r ref) String() string {
	switch r.kind {
	case refParam:
		return "${param." + r.name + brackets(r.path) + "}"
	case refProp:
		return "${node.properties[" + r.name + "]" + brackets(r.path) + "}"
	case refInv:
		return "${node.inventory[" + r.name + "]" + brackets(r.path) + "}"
	}
	return "${" + r.name + "}"
}

func brackets(p []string) string {
	var b strings.Builder
	for _, k := range p {
		b.WriteString("[" + k + "]")
	}
	return b.String()
}

// expand replaces the references lookup resolves and leaves the others as written.
func expand(s string, refs []ref, lookup func(ref) (string, bool, error)) (string, error) {
	if len(refs) == 0 {
		return s, nil
	}
	var b strings.Builder
	last := 0
	for _, r := range refs {
		v, ok, err := lookup(r)
		if err != nil {
			return "", err
		}
		if !ok {
			continue
		}
		b.WriteString(s[last:r.start])
		b.WriteString(v)
		last = r.end
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// EscapeUnix escapes a value for a double-quoted string on Unix: backslashes doubled, then
// each quote preceded by a backslash.
func EscapeUnix(s string) string {
	if !strings.ContainsAny(s, `\"`) {
		return s
	}
	s = strings.ReplaceAll(s, `\`, `\\`)
	return strings.ReplaceAll(s, `"`, `\"`)
}

// EscapeWindows escapes a value for a double-quoted PowerShell string: backticks doubled,
// then each quote preceded by a backtick.
func EscapeWindows(s string) string {
	if !strings.ContainsAny(s, "`\"") {
		return s
	}
	s = strings.ReplaceAll(s, "`", "``")
	return strings.ReplaceAll(s, `"`, "`\"")
}

// Escape escapes s for the OS family of a node ("windows", or anything else for Unix).
func Escape(osFamily, s string) string {
	if strings.EqualFold(osFamily, "windows") {
		return EscapeWindows(s)
	}
	return EscapeUnix(s)
}

// Parameter is a global parameter, String or JSON, used in values as ${param.name} and seen
// by every node as an inherited property.
type Parameter struct {
	Name        string          `yaml:"name" json:"name"`
	Value       json.RawMessage `yaml:"-" json:"value"` // a JSON string for String parameters
	Description string          `yaml:"description,omitempty" json:"description,omitempty"`

	src *source
}

// String returns the parameter's value as a directive sees it: the text of a string, the
// compact JSON of anything else.
func (p *Parameter) String() string { return jsonText(p.Value) }

func jsonText(raw json.RawMessage) string {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String()
	}
	return string(raw)
}

// Property provenances.
const (
	FromGlobal = "global" // a global parameter, inherited
	FromNode   = "node"   // set on the node
	FromMerged = "node+global"
)

// Property is one effective property of a node with where it came from.
type Property struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
	// Provenance is FromNode, FromGlobal, or FromMerged when a node's JSON object was merged
	// over a global one.
	Provenance string `json:"provenance"`
	// Overrides is the inherited value the node's value replaces or was merged over.
	Overrides json.RawMessage `json:"overrides,omitempty"`
}

// EffectiveProperties returns the properties a node sees, sorted by name: global
// parameters, overridden by the node's own properties. When both are JSON objects, the
// node's keys are merged over the global ones (recursively), as Rudder's inheritance does.
func EffectiveProperties(params []Parameter, node *Node) []Property {
	byName := map[string]*Property{}
	for i := range params {
		p := &params[i]
		byName[p.Name] = &Property{Name: p.Name, Value: p.Value, Provenance: FromGlobal}
	}
	for name, v := range node.Properties {
		prev, ok := byName[name]
		if !ok {
			byName[name] = &Property{Name: name, Value: v, Provenance: FromNode}
			continue
		}
		merged, isMerge := mergeJSON(prev.Value, v)
		p := &Property{Name: name, Value: merged, Provenance: FromNode, Overrides: prev.Value}
		if isMerge {
			p.Provenance = FromMerged
		}
		byName[name] = p
	}
	out := make([]Property, 0, len(byName))
	for _, k := range sortedKeys(byName) {
		out = append(out, *byName[k])
	}
	return out
}

// mergeJSON merges over onto base when both are objects.
func mergeJSON(base, over json.RawMessage) (json.RawMessage, bool) {
	var b, o map[string]json.RawMessage
	if json.Unmarshal(base, &b) != nil || json.Unmarshal(over, &o) != nil || b == nil || o == nil {
		return over, false
	}
	for k, v := range o {
		if bv, ok := b[k]; ok {
			v, _ = mergeJSON(bv, v)
		}
		b[k] = v
	}
	keys := sortedKeys(b)
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(b[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), true
}

// jsonPath walks keys into a JSON value and returns the text of what it finds.
func jsonPath(raw json.RawMessage, path []string) (string, bool) {
	if len(path) == 0 && len(raw) >= 2 && raw[0] == '"' && !bytes.ContainsAny(raw[1:len(raw)-1], `"\\`) {
		return string(raw[1 : len(raw)-1]), true
	}
	for _, k := range path {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) == nil && obj != nil {
			v, ok := obj[k]
			if !ok {
				return "", false
			}
			raw = v
			continue
		}
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) == nil {
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(arr) {
				return "", false
			}
			raw = arr[i]
			continue
		}
		return "", false
	}
	return jsonText(raw), true
}

// factText renders a fact for a value.
func factText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool, int, int64, uint64:
		return fmt.Sprint(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// snake turns Rudder's camelCase inventory keys (fullName) into bosun's (full_name).
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func sortedProps(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
