package policy

import (
	"encoding/json"
	"strings"
)

// FactPaths returns the inventory paths the model's group criteria read, so that a caller
// can keep only those facts of every node (ProjectFacts) instead of whole inventories: a
// fleet's facts are most of a root's memory. all is true when anything in the model reads
// the inventory in a value (${node.inventory[...]}), whose paths are only known at
// compilation: then every fact must be kept.
func FactPaths(m *Model) (paths [][]string, all bool) {
	if b, err := json.Marshal(m); err != nil || strings.Contains(string(b), "node.inventory") {
		return nil, true
	}
	seen := map[string]bool{}
	var walk func(c *Criterion)
	walk = func(c *Criterion) {
		if c == nil {
			return
		}
		if c.Fact != "" && !seen[c.Fact] {
			seen[c.Fact] = true
			paths = append(paths, strings.Split(c.Fact, "."))
		}
		for i := range c.All {
			walk(&c.All[i])
		}
		for i := range c.Any {
			walk(&c.Any[i])
		}
	}
	for i := range m.Groups {
		walk(m.Groups[i].Criteria)
	}
	return paths, false
}

// ProjectFacts returns the part of facts that the paths read, as walkFacts reads them: the
// value at the end of each path whole, and along a list, every element's "name" (a key can
// select an element by name) with the rest of the path projected onto it.
func ProjectFacts(facts map[string]any, paths [][]string) map[string]any {
	out := map[string]any{}
	for _, p := range paths {
		if len(p) == 0 {
			continue
		}
		if v, ok := facts[p[0]]; ok {
			out[p[0]] = mergeFacts(out[p[0]], project(v, p[1:]))
		}
	}
	return out
}

func project(x any, path []string) any {
	if len(path) == 0 {
		return x
	}
	switch node := x.(type) {
	case map[string]any:
		v, ok := node[path[0]]
		if !ok {
			return map[string]any{}
		}
		return map[string]any{path[0]: project(v, path[1:])}
	case []any:
		out := make([]any, 0, len(node))
		for _, e := range node {
			m, ok := e.(map[string]any)
			if !ok {
				continue
			}
			pe := map[string]any{}
			if name, ok := m["name"]; ok {
				pe["name"] = name
				if name == path[0] {
					pe = mergeFacts(pe, project(m, path[1:])).(map[string]any)
				}
			}
			pe = mergeFacts(pe, project(m, path)).(map[string]any)
			out = append(out, pe)
		}
		return out
	}
	return nil
}

// mergeFacts merges two projections of the same value.
func mergeFacts(a, b any) any {
	switch av := a.(type) {
	case nil:
		return b
	case map[string]any:
		bv, ok := b.(map[string]any)
		if !ok {
			return a
		}
		for k, v := range bv {
			av[k] = mergeFacts(av[k], v)
		}
		return av
	case []any:
		bv, ok := b.([]any)
		if !ok || len(bv) != len(av) {
			return a
		}
		for i := range av {
			av[i] = mergeFacts(av[i], bv[i])
		}
		return av
	}
	return a
}
