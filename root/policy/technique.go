package policy

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bosun-io/bosun/cond"
	"github.com/bosun-io/bosun/wire"
)

// Technique is a configuration skeleton in Rudder's YAML technique format: typed parameters
// and a tree of items, each a method call or a block of items.
type Technique struct {
	ID            string            `yaml:"id" json:"id"`
	Name          string            `yaml:"name" json:"name"`
	Version       string            `yaml:"version" json:"version"`
	Category      string            `yaml:"category,omitempty" json:"category,omitempty"`
	Description   string            `yaml:"description,omitempty" json:"description,omitempty"`
	Documentation string            `yaml:"documentation,omitempty" json:"documentation,omitempty"`
	Tags          map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Unique is a bosun extension: at most one directive of the technique runs on a node,
	// the one with the lowest priority number (Rudder's non multi-instance techniques).
	Unique bool             `yaml:"unique,omitempty" json:"unique,omitempty"`
	Params []TechniqueParam `yaml:"params,omitempty" json:"params,omitempty"`
	Items  []Item           `yaml:"items" json:"items"`

	src *source
}

// TechniqueParam is a typed parameter of a technique, referred to in items as ${name}.
type TechniqueParam struct {
	ID            string      `yaml:"id,omitempty" json:"id,omitempty"`
	Name          string      `yaml:"name" json:"name"`
	Description   string      `yaml:"description,omitempty" json:"description,omitempty"`
	Documentation string      `yaml:"documentation,omitempty" json:"documentation,omitempty"`
	Type          string      `yaml:"type,omitempty" json:"type,omitempty"` // string when empty; see paramTypes
	Default       *string     `yaml:"default,omitempty" json:"default,omitempty"`
	Constraints   Constraints `yaml:"constraints,omitempty" json:"constraints,omitzero"`
}

// Constraints restrict a parameter's values.
type Constraints struct {
	AllowEmpty     bool             `yaml:"allow_empty,omitempty" json:"allow_empty,omitempty"`
	Regex          *RegexConstraint `yaml:"regex,omitempty" json:"regex,omitempty"`
	Select         []SelectOption   `yaml:"select,omitempty" json:"select,omitempty"`
	PasswordHashes []string         `yaml:"password_hashes,omitempty" json:"password_hashes,omitempty"`
}

// RegexConstraint is a regular expression every value must match, with the message shown
// when one does not.
type RegexConstraint struct {
	Value string `yaml:"value" json:"value"`
	Error string `yaml:"error,omitempty" json:"error,omitempty"`
}

// SelectOption is one allowed value of an enumerated parameter.
type SelectOption struct {
	Value string `yaml:"value" json:"value"`
	Name  string `yaml:"name,omitempty" json:"name,omitempty"`
}

// Item is a method call (Method set) or a block (Items set).
type Item struct {
	ID                 string            `yaml:"id,omitempty" json:"id,omitempty"`
	Name               string            `yaml:"name,omitempty" json:"name,omitempty"`
	Description        string            `yaml:"description,omitempty" json:"description,omitempty"`
	Documentation      string            `yaml:"documentation,omitempty" json:"documentation,omitempty"`
	Tags               map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Condition          string            `yaml:"condition,omitempty" json:"condition,omitempty"`
	Method             string            `yaml:"method,omitempty" json:"method,omitempty"`
	Params             map[string]string `yaml:"params,omitempty" json:"params,omitempty"`
	PolicyModeOverride string            `yaml:"policy_mode_override,omitempty" json:"policy_mode_override,omitempty"`
	Reporting          *ItemReporting    `yaml:"reporting,omitempty" json:"reporting,omitempty"`
	Items              []Item            `yaml:"items,omitempty" json:"items,omitempty"`
}

// ItemReporting is an item's reporting: for a block, how its children's results combine;
// for a method call, whether it reports at all.
type ItemReporting struct {
	Mode string `yaml:"mode" json:"mode"`
	ID   string `yaml:"id,omitempty" json:"id,omitempty"`
}

// IsBlock reports whether the item is a block of items rather than a method call.
func (it *Item) IsBlock() bool { return it.Method == "" && it.Items != nil }

// paramTypes are the parameter types of Rudder's format, with their validation.
var paramTypes = map[string]func(string) error{
	"string":           nil,
	"multiline-string": nil,
	"password":         nil,
	"shared-file":      nil,
	"yaml":             func(v string) error { var x any; return yaml.Unmarshal([]byte(v), &x) },
	"json": func(v string) error {
		if !json.Valid([]byte(v)) {
			return fmt.Errorf("not valid JSON")
		}
		return nil
	},
	"boolean": func(v string) error {
		if v != "true" && v != "false" {
			return fmt.Errorf("want true or false")
		}
		return nil
	},
	"integer": func(v string) error {
		_, err := strconv.ParseInt(v, 10, 64)
		return errIf(err != nil, "want an integer")
	},
	"mail": func(v string) error { return errIf(!strings.Contains(v, "@"), "want a mail address") },
	"ip":   func(v string) error { return errIf(net.ParseIP(v) == nil, "want an IP address") },
	"ipv4": func(v string) error {
		ip := net.ParseIP(v)
		return errIf(ip == nil || ip.To4() == nil, "want an IPv4 address")
	},
	"ipv6": func(v string) error {
		ip := net.ParseIP(v)
		return errIf(ip == nil || ip.To4() != nil, "want an IPv6 address")
	},
	"permissions": func(v string) error {
		_, err := strconv.ParseUint(v, 8, 16)
		return errIf(err != nil || len(v) < 3 || len(v) > 4, "want octal permissions such as 644")
	},
	"size-b": sizeCheck, "size-kb": sizeCheck, "size-mb": sizeCheck, "size-gb": sizeCheck, "size-tb": sizeCheck,
}

func sizeCheck(v string) error {
	_, err := strconv.ParseFloat(v, 64)
	return errIf(err != nil, "want a number")
}

func errIf(bad bool, msg string) error {
	if bad {
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// check validates one value of the parameter. Values holding ${...} references are checked
// only for emptiness: what they expand to is known at compilation.
func (p *TechniqueParam) check(v string) error {
	if v == "" {
		if p.Constraints.AllowEmpty {
			return nil
		}
		return fmt.Errorf("may not be empty")
	}
	if strings.Contains(v, "${") {
		return nil
	}
	if fn := paramTypes[p.typ()]; fn != nil {
		if err := fn(v); err != nil {
			return fmt.Errorf("%q is not a valid %s: %w", v, p.typ(), err)
		}
	}
	if p.Constraints.Regex != nil {
		re, err := regexp.Compile(p.Constraints.Regex.Value)
		if err == nil && !re.MatchString(v) {
			if p.Constraints.Regex.Error != "" {
				return fmt.Errorf("%q: %s", v, p.Constraints.Regex.Error)
			}
			return fmt.Errorf("%q does not match %s", v, p.Constraints.Regex.Value)
		}
	}
	if len(p.Constraints.Select) > 0 {
		ok := false
		var allowed []string
		for _, o := range p.Constraints.Select {
			ok = ok || o.Value == v
			allowed = append(allowed, o.Value)
		}
		if !ok {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
		}
	}
	return nil
}

func (p *TechniqueParam) typ() string {
	if p.Type == "" {
		return "string"
	}
	return p.Type
}

// optional reports whether a directive may leave the parameter as "don't change".
func (p *TechniqueParam) optional() bool { return p.Constraints.AllowEmpty || p.Default != nil }

// LoadTechnique reads one technique file in Rudder's YAML format.
func LoadTechnique(file string, data []byte) (*Technique, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	r := newReader(file)
	t := r.technique(resolve(&doc), nil)
	if err := r.errs.err(); err != nil {
		return nil, err
	}
	if _, err := compileTechnique(t); err != nil {
		return nil, err
	}
	return t, nil
}

func yamlError(file string, err error) error {
	line := 0
	msg := err.Error()
	// yaml.v3 errors read "yaml: line N: ..."; keep the line as a field of our error.
	if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
		if n, tail, ok := strings.Cut(rest, ":"); ok {
			if l, e := strconv.Atoi(n); e == nil {
				line, msg = l, strings.TrimSpace(tail)
			}
		}
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

var techniqueFields = []string{"id", "name", "version", "category", "description", "documentation", "tags", "unique", "params", "items"}

// technique reads a technique from a mapping node; extra names further allowed keys (kind).
func (r *reader) technique(n *yaml.Node, extra []string) *Technique {
	f, _ := r.mapping(n, "", append(append([]string(nil), techniqueFields...), extra...)...)
	t := &Technique{
		ID:            r.str(f["id"], "id"),
		Name:          r.str(f["name"], "name"),
		Version:       r.str(f["version"], "version"),
		Category:      r.str(f["category"], "category"),
		Description:   r.str(f["description"], "description"),
		Documentation: r.str(f["documentation"], "documentation"),
		Tags:          r.strMap(f["tags"], "tags"),
		Unique:        r.boolean(f["unique"], "unique"),
	}
	r.object = "technique " + t.ID
	for i, pn := range r.list(f["params"], "params") {
		field := index("params", i)
		pf, _ := r.mapping(pn, field, "id", "name", "description", "documentation", "type", "default", "constraints")
		p := TechniqueParam{
			ID:            r.str(pf["id"], join(field, "id")),
			Name:          r.str(pf["name"], join(field, "name")),
			Description:   r.str(pf["description"], join(field, "description")),
			Documentation: r.str(pf["documentation"], join(field, "documentation")),
			Type:          r.str(pf["type"], join(field, "type")),
		}
		if d, ok := pf["default"]; ok && !isNull(resolve(d)) {
			v := r.value(d, join(field, "default"))
			p.Default = &v
		}
		cfield := join(field, "constraints")
		cf, _ := r.mapping(pf["constraints"], cfield, "allow_empty", "regex", "select", "password_hashes")
		p.Constraints.AllowEmpty = r.boolean(cf["allow_empty"], join(cfield, "allow_empty"))
		if rn, ok := cf["regex"]; ok {
			rf, _ := r.mapping(rn, join(cfield, "regex"), "value", "error")
			p.Constraints.Regex = &RegexConstraint{Value: r.str(rf["value"], join(cfield, "regex.value")), Error: r.str(rf["error"], join(cfield, "regex.error"))}
		}
		for j, sn := range r.list(cf["select"], join(cfield, "select")) {
			sfield := index(join(cfield, "select"), j)
			sf, _ := r.mapping(sn, sfield, "value", "name")
			p.Constraints.Select = append(p.Constraints.Select, SelectOption{Value: r.str(sf["value"], join(sfield, "value")), Name: r.str(sf["name"], join(sfield, "name"))})
		}
		p.Constraints.PasswordHashes = r.strList(cf["password_hashes"], join(cfield, "password_hashes"))
		t.Params = append(t.Params, p)
	}
	t.Items = r.items(f["items"], "items")
	if t.Items == nil {
		t.Items = []Item{}
	}
	t.src = r.source(n.Line)
	return t
}

func (r *reader) items(n *yaml.Node, field string) []Item {
	var out []Item
	for i, in := range r.list(n, field) {
		ifield := index(field, i)
		f, _ := r.mapping(in, ifield, "id", "name", "description", "documentation", "tags", "condition", "method", "params", "policy_mode_override", "reporting", "items")
		it := Item{
			ID:                 r.str(f["id"], join(ifield, "id")),
			Name:               r.str(f["name"], join(ifield, "name")),
			Description:        r.str(f["description"], join(ifield, "description")),
			Documentation:      r.str(f["documentation"], join(ifield, "documentation")),
			Tags:               r.strMap(f["tags"], join(ifield, "tags")),
			Condition:          r.str(f["condition"], join(ifield, "condition")),
			Method:             r.str(f["method"], join(ifield, "method")),
			Params:             r.strMap(f["params"], join(ifield, "params")),
			PolicyModeOverride: r.str(f["policy_mode_override"], join(ifield, "policy_mode_override")),
		}
		if rn, ok := f["reporting"]; ok && !isNull(resolve(rn)) {
			rf, _ := r.mapping(rn, join(ifield, "reporting"), "mode", "id")
			it.Reporting = &ItemReporting{Mode: r.str(rf["mode"], join(ifield, "reporting.mode")), ID: r.str(rf["id"], join(ifield, "reporting.id"))}
		}
		if sub, ok := f["items"]; ok {
			it.Items = r.items(sub, join(ifield, "items"))
			if it.Items == nil {
				it.Items = []Item{}
			}
		}
		out = append(out, it)
	}
	return out
}

// compiledTechnique is a validated technique flattened for compilation: blocks in
// pre-order, method calls in execution order, values parsed into templates.
type compiledTechnique struct {
	t      *Technique
	params map[string]*TechniqueParam
	blocks []tBlock
	comps  []tComp
}

type tBlock struct {
	item   *Item
	parent int
	logic  wire.ReportingLogic
	focus  string
	cond   string // the block's own condition
}

type tComp struct {
	item     *Item
	block    int
	method   *Method
	values   []string        // in method parameter order, raw
	cond     string          // effective: enclosing blocks' conditions and the item's
	override wire.PolicyMode // 0: the directive's mode
	noReport bool
	tparams  map[string]bool // technique parameters referenced in values or condition
}

var techniqueIDRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

func (t *Technique) errorf(field, format string, a ...any) *Error {
	return t.src.errorf("technique "+t.ID, field, format, a...)
}

// compileTechnique validates t and flattens it. Every problem is reported at once.
func compileTechnique(t *Technique) (*compiledTechnique, error) {
	var errs Errors
	switch {
	case t.ID == "":
		errs = append(errs, t.errorf("id", "missing"))
	case !techniqueIDRe.MatchString(t.ID):
		errs = append(errs, t.errorf("id", "%q: use letters, digits, _, - and .", t.ID))
	}
	if t.Name == "" {
		errs = append(errs, t.errorf("name", "missing"))
	}
	if t.Version == "" {
		errs = append(errs, t.errorf("version", "missing"))
	}
	ct := &compiledTechnique{t: t, params: map[string]*TechniqueParam{}}
	for i := range t.Params {
		p := &t.Params[i]
		field := index("params", i)
		switch {
		case p.Name == "":
			errs = append(errs, t.errorf(join(field, "name"), "missing"))
			continue
		case ct.params[p.Name] != nil:
			errs = append(errs, t.errorf(join(field, "name"), "parameter %q defined twice", p.Name))
			continue
		}
		ct.params[p.Name] = p
		if _, ok := paramTypes[p.typ()]; !ok {
			errs = append(errs, t.errorf(join(field, "type"), "unknown type %q (known: %s)", p.Type, strings.Join(sortedKeys(paramTypes), ", ")))
		}
		if p.Constraints.Regex != nil {
			if _, err := regexp.Compile(p.Constraints.Regex.Value); err != nil {
				errs = append(errs, t.errorf(join(field, "constraints.regex.value"), "%v", err))
			}
		}
		if p.Default != nil {
			if err := p.check(*p.Default); err != nil {
				errs = append(errs, t.errorf(join(field, "default"), "%v", err))
			}
		}
	}
	ids := map[string]string{}
	var walk func(items []Item, field string, block int, cond string, mode wire.PolicyMode)
	walk = func(items []Item, field string, block int, parentCond string, mode wire.PolicyMode) {
		for i := range items {
			it := &items[i]
			ifield := index(field, i)
			if it.ID != "" {
				if prev, dup := ids[it.ID]; dup {
					errs = append(errs, t.errorf(join(ifield, "id"), "id %q already used by %s", it.ID, prev))
				}
				ids[it.ID] = ifield
			}
			if _, err := cond.Parse(it.Condition); err != nil {
				errs = append(errs, t.errorf(join(ifield, "condition"), "%v", err))
			}
			effCond := andConditions(parentCond, it.Condition)
			itemMode := mode
			switch it.PolicyModeOverride {
			case "", "none", "default":
			case "audit":
				itemMode = wire.ModeAudit
			case "enforce":
				itemMode = wire.ModeEnforce
			default:
				errs = append(errs, t.errorf(join(ifield, "policy_mode_override"), "%q: want audit, enforce or none", it.PolicyModeOverride))
			}
			switch {
			case it.Method != "" && it.Items != nil:
				errs = append(errs, t.errorf(ifield, "an item is a method call or a block, not both"))
			case it.Method == "" && it.Items == nil:
				errs = append(errs, t.errorf(ifield, "an item needs a method or items"))
			case it.Method == "":
				logic, focus := wire.LogicWeighted, ""
				if it.Reporting != nil {
					l, err := wire.ParseReportingLogic(it.Reporting.Mode)
					if err != nil {
						errs = append(errs, t.errorf(join(ifield, "reporting.mode"), "%v (known: weighted, worst-case-weighted-one, worst-case-weighted-sum, focus, focus-worst, disabled)", err))
					}
					logic, focus = l, it.Reporting.ID
					if l == wire.LogicFocus && !containsID(it.Items, focus) {
						errs = append(errs, t.errorf(join(ifield, "reporting.id"), "focus on %q, which is not an item of the block", focus))
					}
				}
				if len(it.Params) > 0 {
					errs = append(errs, t.errorf(join(ifield, "params"), "a block takes no params"))
				}
				ct.blocks = append(ct.blocks, tBlock{item: it, parent: block, logic: logic, focus: focus, cond: it.Condition})
				walk(it.Items, join(ifield, "items"), len(ct.blocks)-1, effCond, itemMode)
			default:
				m, ok := methods[it.Method]
				if !ok {
					errs = append(errs, t.errorf(join(ifield, "method"), "unknown method %q: bosun does not implement it", it.Method))
					continue
				}
				c := tComp{item: it, block: block, method: m, cond: effCond, override: itemMode, tparams: map[string]bool{}}
				for _, k := range sortedKeys(it.Params) {
					if _, ok := m.param(k); !ok {
						errs = append(errs, t.errorf(join(ifield, "params."+k), "method %s has no parameter %q (its parameters: %s)", m.ID, k, paramNames(m)))
					}
				}
				for _, p := range m.Params {
					v, ok := it.Params[p.Name]
					if !ok && !p.Optional {
						errs = append(errs, t.errorf(join(ifield, "params"), "method %s needs parameter %q", m.ID, p.Name))
					}
					c.values = append(c.values, v)
					for _, ref := range scanRefs(v) {
						if ref.kind == refOther && ct.params[ref.name] != nil {
							c.tparams[ref.name] = true
						}
					}
				}
				for _, ref := range scanRefs(effCond) {
					if ref.kind == refOther && ct.params[ref.name] != nil {
						c.tparams[ref.name] = true
					}
				}
				if it.Reporting != nil {
					switch it.Reporting.Mode {
					case "disabled":
						c.noReport = true
					case "enabled", "":
					default:
						errs = append(errs, t.errorf(join(ifield, "reporting.mode"), "%q: a method call's reporting is enabled or disabled", it.Reporting.Mode))
					}
				}
				ct.comps = append(ct.comps, c)
			}
		}
	}
	walk(t.Items, "items", -1, "", 0)
	// Values may also refer to global parameters; whether they exist is checked against the
	// model when a directive uses the technique, not here.
	if len(errs) > 0 {
		return nil, errs
	}
	return ct, nil
}

func containsID(items []Item, id string) bool {
	for i := range items {
		if items[i].ID == id || containsID(items[i].Items, id) {
			return true
		}
	}
	return false
}

func paramNames(m *Method) string {
	var ns []string
	for _, p := range m.Params {
		ns = append(ns, p.Name)
	}
	return strings.Join(ns, ", ")
}

// andConditions joins two conditions textually, keeping each in parentheses so that a
// condition with ${...} the agent expands into an expression still binds as written.
func andConditions(a, b string) string {
	a, b = trivial(a), trivial(b)
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return "(" + a + ").(" + b + ")"
}

func trivial(c string) string {
	c = strings.TrimSpace(c)
	if c == "any" || c == "true" {
		return ""
	}
	return c
}
