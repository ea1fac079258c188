package policy

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed methods.txt
var methodsTxt string

// MethodParam is one parameter of a generic method.
type MethodParam struct {
	Name     string
	Optional bool // may be omitted or empty
}

// Method is the signature of a generic method bosun implements.
type Method struct {
	ID        string
	Params    []MethodParam // in call order
	Reporting string        // the parameter whose value identifies the component
	// Shell marks the parameters a shell or interpreter reads on the agent: values coming
	// from parameters and properties are escaped for the target OS there.
	Shell map[string]bool
}

func (m *Method) param(name string) (MethodParam, bool) {
	for _, p := range m.Params {
		if p.Name == name {
			return p, true
		}
	}
	return MethodParam{}, false
}

var methods = mustParseMethods(methodsTxt)

func mustParseMethods(txt string) map[string]*Method {
	out := map[string]*Method{}
	for n, line := range strings.Split(txt, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		sig, rep, ok := strings.Cut(line, "|")
		fields := strings.Fields(sig)
		if !ok || len(fields) < 2 {
			panic(fmt.Sprintf("methods.txt:%d: malformed line %q", n+1, line))
		}
		m := &Method{ID: fields[0], Reporting: strings.TrimSpace(rep)}
		for _, f := range fields[1:] {
			p := MethodParam{Name: strings.TrimSuffix(f, "?"), Optional: strings.HasSuffix(f, "?")}
			m.Params = append(m.Params, p)
			if p.Name == "command" {
				m.Shell = map[string]bool{"command": true}
			}
		}
		if _, ok := m.param(m.Reporting); !ok {
			panic(fmt.Sprintf("methods.txt:%d: reporting parameter %q is not a parameter", n+1, m.Reporting))
		}
		out[m.ID] = m
	}
	return out
}

// LookupMethod returns the signature of a method bosun implements.
func LookupMethod(id string) (*Method, bool) {
	m, ok := methods[id]
	return m, ok
}

// Methods returns the ids of every method bosun implements, sorted.
func Methods() []string {
	out := make([]string, 0, len(methods))
	for id := range methods {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
