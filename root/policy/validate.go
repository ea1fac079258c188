package policy

import (
	"encoding/json"
	"regexp"
	"strings"
)

var (
	objectIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)
	paramRe    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)
)

// Validate checks the whole model: every object well-formed, every reference resolved,
// no cycle in groups. It reports every problem it finds, each with its file, line and field
// when the object came from a file.
func (m *Model) Validate() error {
	var errs Errors
	errs = append(errs, m.Settings.check()...)

	techs := map[string]bool{}
	for i := range m.Techniques {
		t := &m.Techniques[i]
		key := t.ID + "/" + t.Version
		switch {
		case techs[key]:
			errs = append(errs, t.errorf("version", "technique %s version %s defined twice", t.ID, t.Version))
		case isLibrary(t.ID, t.Version):
			errs = append(errs, t.errorf("version", "technique %s version %s is built in; give yours another version or id", t.ID, t.Version))
		}
		techs[key] = true
		if _, err := compileTechnique(t); err != nil {
			errs = append(errs, asErrors(err)...)
		}
	}
	for _, d := range m.DisabledTechniques {
		id, version, _ := strings.Cut(d, "/")
		if _, ok := m.Technique(id, version); !ok {
			errs = append(errs, &Error{Object: "disabled techniques", Msg: "unknown technique " + d})
		}
	}

	params := map[string]bool{}
	for i := range m.Parameters {
		p := &m.Parameters[i]
		obj := "parameter " + p.Name
		switch {
		case !paramRe.MatchString(p.Name):
			errs = append(errs, p.src.errorf(obj, "name", "%q: use letters, digits, _ and -", p.Name))
		case params[p.Name]:
			errs = append(errs, p.src.errorf(obj, "name", "defined twice"))
		}
		params[p.Name] = true
		if !json.Valid(p.Value) {
			errs = append(errs, p.src.errorf(obj, "value", "not a valid JSON value"))
		}
	}

	groups := map[string]bool{}
	for i := range m.Groups {
		g := &m.Groups[i]
		obj := "group " + g.ID
		switch {
		case !objectIDRe.MatchString(g.ID):
			errs = append(errs, g.src.errorf(obj, "id", "%q: use letters, digits, _, -, . and :", g.ID))
		case isBuiltinGroup(g.ID):
			errs = append(errs, g.src.errorf(obj, "id", "%s is a built-in group", g.ID))
		case groups[g.ID]:
			errs = append(errs, g.src.errorf(obj, "id", "defined twice"))
		}
		groups[g.ID] = true
		if g.Name == "" {
			errs = append(errs, g.src.errorf(obj, "name", "missing"))
		}
	}
	if _, gerrs := compileGroups(m); len(gerrs) > 0 {
		errs = append(errs, gerrs...)
	}

	dirs := map[string]bool{}
	names := map[string]string{}
	for i := range m.Directives {
		d := &m.Directives[i]
		errs = append(errs, m.checkDirective(d, params)...)
		switch {
		case dirs[d.ID]:
			errs = append(errs, d.src.errorf("directive "+d.ID, "id", "defined twice"))
		case names[strings.ToLower(d.Name)] != "":
			errs = append(errs, d.src.errorf("directive "+d.ID, "name", "%q is already the name of directive %s", d.Name, names[strings.ToLower(d.Name)]))
		}
		dirs[d.ID] = true
		if d.Name != "" {
			names[strings.ToLower(d.Name)] = d.ID
		}
	}

	rules := map[string]bool{}
	for i := range m.Rules {
		r := &m.Rules[i]
		obj := "rule " + r.ID
		switch {
		case !objectIDRe.MatchString(r.ID):
			errs = append(errs, r.src.errorf(obj, "id", "%q: use letters, digits, _, -, . and :", r.ID))
		case rules[r.ID]:
			errs = append(errs, r.src.errorf(obj, "id", "defined twice"))
		}
		rules[r.ID] = true
		if r.Name == "" {
			errs = append(errs, r.src.errorf(obj, "name", "missing"))
		}
		for j, id := range r.Directives {
			if !dirs[id] {
				errs = append(errs, r.src.errorf(obj, index("directives", j), "unknown directive %q", id))
			}
		}
		for _, t := range []struct {
			field string
			ids   []string
		}{{"targets.include", r.Targets.Include}, {"targets.exclude", r.Targets.Exclude}} {
			for j, id := range t.ids {
				if _, ok := m.Group(id); !ok {
					errs = append(errs, r.src.errorf(obj, index(t.field, j), "unknown group %q", id))
				}
			}
		}
	}
	return errs.err()
}

func asErrors(err error) Errors {
	switch e := err.(type) {
	case Errors:
		return e
	case *Error:
		return Errors{e}
	}
	return Errors{{Msg: err.Error()}}
}

func (m *Model) checkDirective(d *Directive, params map[string]bool) Errors {
	var errs Errors
	obj := "directive " + d.ID
	fail := func(field, format string, a ...any) { errs = append(errs, d.src.errorf(obj, field, format, a...)) }
	if !objectIDRe.MatchString(d.ID) {
		fail("id", "%q: use letters, digits, _, -, . and :", d.ID)
	}
	if d.Name == "" {
		fail("name", "missing")
	}
	if !d.PolicyMode.valid() {
		fail("policy_mode", "%q: want audit, enforce or global", d.PolicyMode)
	}
	if d.Priority != nil && (*d.Priority < 0 || *d.Priority > 10) {
		fail("priority", "%d: want 0 (first) to 10", *d.Priority)
	}
	t, ok := m.Technique(d.Technique, d.TechniqueVersion)
	if !ok {
		if d.TechniqueVersion != "" {
			fail("technique_version", "unknown technique %s version %s", d.Technique, d.TechniqueVersion)
		} else {
			fail("technique", "unknown technique %q", d.Technique)
		}
		return errs
	}
	ct, err := compileTechnique(t)
	if err != nil {
		fail("technique", "technique %s/%s does not compile: %v", t.ID, t.Version, err)
		return errs
	}
	dontChange := map[string]bool{}
	for j, p := range d.DontChange {
		tp, ok := ct.params[p]
		switch {
		case !ok:
			fail(index("dont_change", j), "technique %s has no parameter %q", t.ID, p)
		case !tp.optional():
			fail(index("dont_change", j), "parameter %q is mandatory: it cannot be left unchanged", p)
		}
		dontChange[p] = true
	}
	for _, k := range sortedKeys(d.Params) {
		if ct.params[k] == nil {
			var known []string
			for _, p := range t.Params {
				known = append(known, p.Name)
			}
			fail("params."+k, "technique %s has no parameter %q (its parameters: %s)", t.ID, k, strings.Join(known, ", "))
		}
	}
	checkRefs := func(field, v string) {
		for _, r := range scanRefs(v) {
			if r.kind == refParam && !params[r.name] {
				fail(field, "undefined %s: no global parameter %q", r, r.name)
			}
		}
	}
	for _, p := range t.Params {
		if dontChange[p.Name] {
			continue
		}
		v, given := d.Params[p.Name]
		if !given {
			if p.Default != nil {
				continue
			}
			if !p.Constraints.AllowEmpty {
				fail("params", "missing value for parameter %q of technique %s", p.Name, t.ID)
				continue
			}
		}
		if err := p.check(v); err != nil {
			fail("params."+p.Name, "%v", err)
		}
		checkRefs("params."+p.Name, v)
	}
	for _, c := range ct.comps {
		for _, v := range c.values {
			checkRefs("technique "+t.ID, v)
		}
	}
	return errs
}
