package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Document kinds of `bosun apply -f`.
const (
	KindTechnique = "technique"
	KindDirective = "directive"
	KindGroup     = "group"
	KindRule      = "rule"
	KindParameter = "parameter"
	KindSettings  = "settings"
)

// Doc is one YAML document of `bosun apply -f`: one object, with where it was read. A
// document without `kind` that has `items` is a technique in Rudder's format, so technique
// files apply as they are.
type Doc struct {
	Kind string
	File string
	Line int

	Technique *Technique
	Directive *Directive
	Group     *Group
	Rule      *Rule
	Parameter *Parameter
	Settings  *Settings
	// DisabledTechniques is read from a settings document.
	DisabledTechniques []string
}

// ID names the document's object.
func (d *Doc) ID() string {
	switch d.Kind {
	case KindTechnique:
		return d.Technique.ID + "/" + d.Technique.Version
	case KindDirective:
		return d.Directive.ID
	case KindGroup:
		return d.Group.ID
	case KindRule:
		return d.Rule.ID
	case KindParameter:
		return d.Parameter.Name
	}
	return d.Kind
}

// LoadDocs reads every YAML document of one file. file names the source in errors.
func LoadDocs(file string, data []byte) ([]Doc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []Doc
	var errs Errors
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, yamlError(file, err)
		}
		root := resolve(&n)
		if isNull(root) {
			continue
		}
		r := newReader(file)
		d := r.doc(root)
		errs = append(errs, r.errs...)
		if d != nil {
			docs = append(docs, *d)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return docs, nil
}

// LoadPath reads a YAML file, or every *.yml and *.yaml file under a directory in name
// order.
func LoadPath(path string) ([]Doc, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	var files []string
	if st.IsDir() {
		err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load policy %s: %w", path, err)
		}
		sort.Strings(files)
	} else {
		files = []string{path}
	}
	var docs []Doc
	var errs Errors
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("load policy: %w", err)
		}
		ds, err := LoadDocs(f, data)
		if err != nil {
			errs = append(errs, asErrors(err)...)
			continue
		}
		docs = append(docs, ds...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return docs, nil
}

func (r *reader) doc(n *yaml.Node) *Doc {
	if n.Kind != yaml.MappingNode {
		r.fail(n, "", "a document is a mapping with a kind, found %s", kindName(n))
		return nil
	}
	kind, id := "", ""
	hasItems := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "kind":
			kind = n.Content[i+1].Value
		case "items":
			hasItems = true
		case "id", "name":
			if id == "" || n.Content[i].Value == "id" {
				id = n.Content[i+1].Value
			}
		}
	}
	if kind == "" && hasItems {
		kind = KindTechnique
	}
	d := &Doc{Kind: kind, File: r.file, Line: n.Line}
	r.object = kind + " " + id
	src := func() *source { return r.source(n.Line) }
	switch kind {
	case KindTechnique:
		d.Technique = r.technique(n, []string{"kind"})
	case KindDirective:
		f, _ := r.mapping(n, "", "kind", "id", "name", "short_description", "long_description", "technique", "technique_version",
			"params", "dont_change", "policy_mode", "priority", "enabled", "system", "tags")
		x := &Directive{
			ID: r.str(f["id"], "id"), Name: r.str(f["name"], "name"),
			ShortDescription: r.str(f["short_description"], "short_description"), LongDescription: r.str(f["long_description"], "long_description"),
			Technique: r.str(f["technique"], "technique"), TechniqueVersion: r.str(f["technique_version"], "technique_version"),
			Params: r.strMap(f["params"], "params"), DontChange: r.strList(f["dont_change"], "dont_change"),
			PolicyMode: Mode(r.str(f["policy_mode"], "policy_mode")), Priority: r.integer(f["priority"], "priority"),
			Enabled: r.optBool(f["enabled"], "enabled"), System: r.boolean(f["system"], "system"), Tags: r.strMap(f["tags"], "tags"),
		}
		r.object = "directive " + x.ID
		x.src = src()
		d.Directive = x
	case KindGroup:
		f, _ := r.mapping(n, "", "kind", "id", "name", "description", "nodes", "criteria")
		x := &Group{ID: r.str(f["id"], "id"), Name: r.str(f["name"], "name"), Description: r.str(f["description"], "description"),
			Nodes: r.strList(f["nodes"], "nodes")}
		r.object = "group " + x.ID
		if c, ok := f["criteria"]; ok && !isNull(resolve(c)) {
			x.Criteria = r.criterion(c, "criteria")
		}
		x.src = src()
		d.Group = x
	case KindRule:
		f, _ := r.mapping(n, "", "kind", "id", "name", "description", "category", "enabled", "tags", "directives", "targets")
		x := &Rule{ID: r.str(f["id"], "id"), Name: r.str(f["name"], "name"), Description: r.str(f["description"], "description"),
			Category: r.str(f["category"], "category"), Enabled: r.optBool(f["enabled"], "enabled"), Tags: r.strMap(f["tags"], "tags"),
			Directives: r.strList(f["directives"], "directives")}
		tf, _ := r.mapping(f["targets"], "targets", "include", "exclude")
		x.Targets.Include = r.strList(tf["include"], "targets.include")
		x.Targets.Exclude = r.strList(tf["exclude"], "targets.exclude")
		r.object = "rule " + x.ID
		x.src = src()
		d.Rule = x
	case KindParameter:
		f, _ := r.mapping(n, "", "kind", "name", "value", "description")
		x := &Parameter{Name: r.str(f["name"], "name"), Description: r.str(f["description"], "description")}
		r.object = "parameter " + x.Name
		if v, ok := f["value"]; ok {
			x.Value, _ = r.json(v, "value")
		} else {
			r.fail(n, "value", "missing")
		}
		x.src = src()
		d.Parameter = x
	case KindSettings:
		f, _ := r.mapping(n, "", "kind", "policy_mode", "override_allowed", "reporting_mode", "run_interval", "splay",
			"heartbeat_runs", "grace", "inventory_window", "disabled_techniques")
		r.object = "settings"
		x := &Settings{PolicyMode: Mode(r.str(f["policy_mode"], "policy_mode")), OverrideAllowed: r.optBool(f["override_allowed"], "override_allowed"),
			ReportingMode: r.str(f["reporting_mode"], "reporting_mode"), InventoryWindow: r.str(f["inventory_window"], "inventory_window")}
		for _, dur := range []struct {
			key string
			dst *Duration
		}{{"run_interval", &x.RunInterval}, {"splay", &x.Splay}, {"grace", &x.Grace}} {
			if s := r.str(f[dur.key], dur.key); s != "" {
				if err := dur.dst.UnmarshalText([]byte(s)); err != nil {
					r.fail(f[dur.key], dur.key, "%q: want a duration such as 5m", s)
				}
			}
		}
		if hb := r.integer(f["heartbeat_runs"], "heartbeat_runs"); hb != nil {
			x.HeartbeatRuns = *hb
		}
		d.DisabledTechniques = r.strList(f["disabled_techniques"], "disabled_techniques")
		x.src = src()
		d.Settings = x
	case "":
		r.object = ""
		r.fail(n, "kind", "missing: want one of technique, directive, group, rule, parameter, settings")
		return nil
	default:
		r.object = ""
		r.fail(n, "kind", "unknown kind %q: want one of technique, directive, group, rule, parameter, settings", kind)
		return nil
	}
	return d
}

func (r *reader) criterion(n *yaml.Node, field string) *Criterion {
	f, _ := r.mapping(n, field, "all", "any", "fact", "op", "value", "group")
	c := &Criterion{Fact: r.str(f["fact"], join(field, "fact")), Op: r.str(f["op"], join(field, "op")),
		Value: r.str(f["value"], join(field, "value")), Group: r.str(f["group"], join(field, "group"))}
	for _, k := range []string{"all", "any"} {
		ln, ok := f[k]
		if !ok {
			continue
		}
		list := []Criterion{}
		for i, e := range r.list(ln, join(field, k)) {
			if sub := r.criterion(e, index(join(field, k), i)); sub != nil {
				list = append(list, *sub)
			}
		}
		if k == "all" {
			c.All = list
		} else {
			c.Any = list
		}
	}
	return c
}

// Change operations.
const (
	OpCreate    = "create"
	OpUpdate    = "update"
	OpDelete    = "delete"
	OpUnchanged = "unchanged"
)

// Change is what applying one document did (or, on a dry run, would do), with the object
// before and after for the event log.
type Change struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Op     string `json:"op"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
}

// Apply applies documents to the model, all or nothing: they are applied to a copy, the
// copy is validated as a whole, and only then does it replace m. On error m is unchanged.
// Applying the same documents again changes nothing (every change is OpUnchanged).
func (m *Model) Apply(docs []Doc) ([]Change, error) {
	next := m.Clone()
	changes, err := next.apply(docs)
	if err != nil {
		return nil, err
	}
	if err := next.Validate(); err != nil {
		return nil, err
	}
	*m = *next
	return changes, nil
}

// DryRun returns what Apply would change, validating as Apply does, without changing m.
func (m *Model) DryRun(docs []Doc) ([]Change, error) {
	next := m.Clone()
	changes, err := next.apply(docs)
	if err != nil {
		return nil, err
	}
	if err := next.Validate(); err != nil {
		return nil, err
	}
	return changes, nil
}

func upsert[T any](list *[]T, key func(*T) string, obj *T) (op string, before *T) {
	k := key(obj)
	for i := range *list {
		if key(&(*list)[i]) == k {
			old := (*list)[i]
			if sameJSON(old, *obj) {
				// Keep the new source so errors point at the file just applied.
				(*list)[i] = *obj
				return OpUnchanged, &old
			}
			(*list)[i] = *obj
			return OpUpdate, &old
		}
	}
	*list = append(*list, *obj)
	return OpCreate, nil
}

func (m *Model) apply(docs []Doc) ([]Change, error) {
	var changes []Change
	seen := map[string]Doc{}
	var errs Errors
	for _, d := range docs {
		key := d.Kind + "\x00" + d.ID()
		if prev, dup := seen[key]; dup {
			errs = append(errs, &Error{File: d.File, Line: d.Line, Object: d.Kind + " " + d.ID(),
				Msg: fmt.Sprintf("also defined at %s:%d", prev.File, prev.Line)})
			continue
		}
		seen[key] = d
		c := Change{Kind: d.Kind, ID: d.ID()}
		switch d.Kind {
		case KindTechnique:
			op, before := upsert(&m.Techniques, func(t *Technique) string { return t.ID + "/" + t.Version }, d.Technique)
			c.Op, c.After = op, d.Technique
			if before != nil {
				c.Before = before
			}
		case KindDirective:
			op, before := upsert(&m.Directives, func(x *Directive) string { return x.ID }, d.Directive)
			c.Op, c.After = op, d.Directive
			if before != nil {
				c.Before = before
			}
		case KindGroup:
			op, before := upsert(&m.Groups, func(x *Group) string { return x.ID }, d.Group)
			c.Op, c.After = op, d.Group
			if before != nil {
				c.Before = before
			}
		case KindRule:
			op, before := upsert(&m.Rules, func(x *Rule) string { return x.ID }, d.Rule)
			c.Op, c.After = op, d.Rule
			if before != nil {
				c.Before = before
			}
		case KindParameter:
			op, before := upsert(&m.Parameters, func(x *Parameter) string { return x.Name }, d.Parameter)
			c.Op, c.After = op, d.Parameter
			if before != nil {
				c.Before = before
			}
		case KindSettings:
			before := struct {
				Settings
				Disabled []string `json:"disabled_techniques,omitempty"`
			}{m.Settings, m.DisabledTechniques}
			after := before
			after.Settings, after.Disabled = *d.Settings, d.DisabledTechniques
			c.Op, c.Before, c.After = OpUpdate, before, after
			if sameJSON(before, after) {
				c.Op = OpUnchanged
			}
			m.Settings, m.DisabledTechniques = *d.Settings, d.DisabledTechniques
		}
		changes = append(changes, c)
	}
	return changes, errs.err()
}

// Delete removes one object, refusing (with ErrInUse) when others still refer to it.
func (m *Model) Delete(kind, id string) (Change, error) {
	next := m.Clone()
	c := Change{Kind: kind, ID: id, Op: OpDelete}
	found := false
	remove := func(n int, key func(int) string, del func(int)) {
		for i := 0; i < n; i++ {
			if key(i) == id {
				del(i)
				found = true
				return
			}
		}
	}
	switch kind {
	case KindTechnique:
		remove(len(next.Techniques), func(i int) string { return next.Techniques[i].ID + "/" + next.Techniques[i].Version }, func(i int) {
			c.Before = m.Techniques[i]
			next.Techniques = append(next.Techniques[:i], next.Techniques[i+1:]...)
		})
	case KindDirective:
		remove(len(next.Directives), func(i int) string { return next.Directives[i].ID }, func(i int) {
			c.Before = m.Directives[i]
			next.Directives = append(next.Directives[:i], next.Directives[i+1:]...)
		})
	case KindGroup:
		remove(len(next.Groups), func(i int) string { return next.Groups[i].ID }, func(i int) {
			c.Before = m.Groups[i]
			next.Groups = append(next.Groups[:i], next.Groups[i+1:]...)
		})
	case KindRule:
		remove(len(next.Rules), func(i int) string { return next.Rules[i].ID }, func(i int) {
			c.Before = m.Rules[i]
			next.Rules = append(next.Rules[:i], next.Rules[i+1:]...)
		})
	case KindParameter:
		remove(len(next.Parameters), func(i int) string { return next.Parameters[i].Name }, func(i int) {
			c.Before = m.Parameters[i]
			next.Parameters = append(next.Parameters[:i], next.Parameters[i+1:]...)
		})
	default:
		return Change{}, fmt.Errorf("delete %s %s: %w: unknown kind", kind, id, ErrInvalid)
	}
	if !found {
		return Change{}, fmt.Errorf("delete %s %s: %w", kind, id, ErrNotFound)
	}
	if err := next.Validate(); err != nil {
		return Change{}, fmt.Errorf("delete %s %s: %w: %w", kind, id, ErrInUse, err)
	}
	*m = *next
	return c, nil
}

// File is one file of an export.
type File struct {
	Name string
	Data []byte
}

// Export writes the model as YAML documents that Apply reads back to the same model:
// operators' techniques one file each in Rudder's format, then one file per kind.
func (m *Model) Export() ([]File, error) {
	var files []File
	for i := range m.Techniques {
		t := &m.Techniques[i]
		data, err := yaml.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("export technique %s: %w", t.ID, err)
		}
		files = append(files, File{Name: fmt.Sprintf("techniques/%s-%s.yml", t.ID, t.Version), Data: data})
	}
	add := func(name string, objs []any) error {
		if len(objs) == 0 {
			return nil
		}
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		for _, o := range objs {
			if err := enc.Encode(o); err != nil {
				return fmt.Errorf("export %s: %w", name, err)
			}
		}
		if err := enc.Close(); err != nil {
			return fmt.Errorf("export %s: %w", name, err)
		}
		files = append(files, File{Name: name, Data: buf.Bytes()})
		return nil
	}
	var objs []any
	for i := range m.Parameters {
		p := &m.Parameters[i]
		var v any
		if err := json.Unmarshal(p.Value, &v); err != nil {
			return nil, fmt.Errorf("export parameter %s: %w", p.Name, err)
		}
		objs = append(objs, struct {
			Kind        string `yaml:"kind"`
			Name        string `yaml:"name"`
			Value       any    `yaml:"value"`
			Description string `yaml:"description,omitempty"`
		}{KindParameter, p.Name, v, p.Description})
	}
	if err := add("parameters.yml", objs); err != nil {
		return nil, err
	}
	objs = nil
	for i := range m.Groups {
		objs = append(objs, struct {
			Kind   string `yaml:"kind"`
			*Group `yaml:",inline"`
		}{KindGroup, &m.Groups[i]})
	}
	if err := add("groups.yml", objs); err != nil {
		return nil, err
	}
	objs = nil
	for i := range m.Directives {
		objs = append(objs, struct {
			Kind       string `yaml:"kind"`
			*Directive `yaml:",inline"`
		}{KindDirective, &m.Directives[i]})
	}
	if err := add("directives.yml", objs); err != nil {
		return nil, err
	}
	objs = nil
	for i := range m.Rules {
		objs = append(objs, struct {
			Kind  string `yaml:"kind"`
			*Rule `yaml:",inline"`
		}{KindRule, &m.Rules[i]})
	}
	if err := add("rules.yml", objs); err != nil {
		return nil, err
	}
	if err := add("settings.yml", []any{struct {
		Kind      string `yaml:"kind"`
		*Settings `yaml:",inline"`
		Disabled  []string `yaml:"disabled_techniques,omitempty"`
	}{KindSettings, &m.Settings, m.DisabledTechniques}}); err != nil {
		return nil, err
	}
	return files, nil
}
