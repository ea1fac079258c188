package policy

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// Mode is a policy mode as an operator writes it: "audit", "enforce", or empty (also
// "global" or "default") for no override.
type Mode string

const (
	ModeNone    Mode = ""
	ModeAudit   Mode = "audit"
	ModeEnforce Mode = "enforce"
)

func (m Mode) wire() wire.PolicyMode {
	switch m.normal() {
	case ModeAudit:
		return wire.ModeAudit
	case ModeEnforce:
		return wire.ModeEnforce
	}
	return 0
}

func (m Mode) normal() Mode {
	switch strings.ToLower(string(m)) {
	case "audit":
		return ModeAudit
	case "enforce":
		return ModeEnforce
	}
	return ModeNone
}

func (m Mode) valid() bool {
	switch strings.ToLower(string(m)) {
	case "", "global", "default", "none", "audit", "enforce":
		return true
	}
	return false
}

// ResolveMode decides a directive's mode on a node, per DESIGN.md §1: global G, node N,
// directive D. Without override, G; with neither N nor D overriding, G; with one, that one;
// with both, audit if either is audit, else enforce. System directives are always enforce.
// The reason says which rule of the table decided, for `bosun policy why`.
func ResolveMode(global Mode, overrideAllowed bool, node, directive Mode, system bool) (wire.PolicyMode, string) {
	g := global.normal()
	if g == ModeNone {
		g = ModeEnforce
	}
	n, d := node.normal(), directive.normal()
	switch {
	case system:
		return wire.ModeEnforce, "system directive: always enforce"
	case !overrideAllowed:
		return g.wire(), fmt.Sprintf("overrides not allowed: global mode %s", g)
	case n == ModeNone && d == ModeNone:
		return g.wire(), fmt.Sprintf("no override: global mode %s", g)
	case n == ModeNone:
		return d.wire(), fmt.Sprintf("directive overrides to %s", d)
	case d == ModeNone:
		return n.wire(), fmt.Sprintf("node overrides to %s", n)
	case n == ModeAudit || d == ModeAudit:
		return wire.ModeAudit, fmt.Sprintf("node (%s) and directive (%s) both override: audit wins", n, d)
	default:
		return wire.ModeEnforce, "node and directive both override to enforce"
	}
}

// Duration is a time.Duration written as "5m" in YAML and JSON.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Settings are the fleet-wide settings of policies. Zero fields mean the defaults of
// DESIGN.md §1, which [Settings.WithDefaults] fills in.
type Settings struct {
	PolicyMode      Mode     `yaml:"policy_mode,omitempty" json:"policy_mode,omitempty"`           // enforce
	OverrideAllowed *bool    `yaml:"override_allowed,omitempty" json:"override_allowed,omitempty"` // true
	ReportingMode   string   `yaml:"reporting_mode,omitempty" json:"reporting_mode,omitempty"`     // full, changes-only, disabled
	RunInterval     Duration `yaml:"run_interval,omitempty" json:"run_interval,omitempty"`         // 5m
	Splay           Duration `yaml:"splay,omitempty" json:"splay,omitempty"`                       // 4m
	HeartbeatRuns   int      `yaml:"heartbeat_runs,omitempty" json:"heartbeat_runs,omitempty"`     // 1
	Grace           Duration `yaml:"grace,omitempty" json:"grace,omitempty"`                       // 5m
	InventoryWindow string   `yaml:"inventory_window,omitempty" json:"inventory_window,omitempty"` // 00:00-06:00

	src *source
}

// WithDefaults returns s with zero fields set to their defaults.
func (s Settings) WithDefaults() Settings {
	if s.PolicyMode.normal() == ModeNone {
		s.PolicyMode = ModeEnforce
	}
	if s.OverrideAllowed == nil {
		t := true
		s.OverrideAllowed = &t
	}
	if s.ReportingMode == "" {
		s.ReportingMode = "full"
	}
	if s.RunInterval == 0 {
		s.RunInterval = Duration(5 * time.Minute)
	}
	if s.Splay == 0 {
		s.Splay = Duration(4 * time.Minute)
	}
	if s.HeartbeatRuns == 0 {
		s.HeartbeatRuns = 1
	}
	if s.Grace == 0 {
		s.Grace = Duration(5 * time.Minute)
	}
	if s.InventoryWindow == "" {
		s.InventoryWindow = "00:00-06:00"
	}
	return s
}

func parseReportingMode(s string) (wire.ReportingMode, bool) {
	switch s {
	case "", "full", "full-compliance":
		return wire.ReportingFull, true
	case "changes-only", "changes_only":
		return wire.ReportingChangesOnly, true
	case "disabled", "reports-disabled":
		return wire.ReportingDisabled, true
	}
	return 0, false
}

func (s *Settings) check() Errors {
	var errs Errors
	obj := "settings"
	if !s.PolicyMode.valid() || s.PolicyMode.normal() == ModeNone && s.PolicyMode != "" {
		errs = append(errs, s.src.errorf(obj, "policy_mode", "%q: want audit or enforce", s.PolicyMode))
	}
	if _, ok := parseReportingMode(s.ReportingMode); !ok {
		errs = append(errs, s.src.errorf(obj, "reporting_mode", "%q: want full, changes-only or disabled", s.ReportingMode))
	}
	if s.RunInterval < 0 || s.RunInterval > 0 && time.Duration(s.RunInterval) < time.Minute {
		errs = append(errs, s.src.errorf(obj, "run_interval", "%v: want at least 1m", time.Duration(s.RunInterval)))
	}
	if s.Splay < 0 || s.Grace < 0 || s.HeartbeatRuns < 0 {
		errs = append(errs, s.src.errorf(obj, "", "splay, grace and heartbeat_runs may not be negative"))
	}
	return errs
}

// NodeSettings are a node's own overrides of the settings; zero fields inherit.
type NodeSettings struct {
	PolicyMode    Mode     `json:"policy_mode,omitempty"`
	ReportingMode string   `json:"reporting_mode,omitempty"`
	RunInterval   Duration `json:"run_interval,omitempty"`
	HeartbeatRuns int      `json:"heartbeat_runs,omitempty"`
}

// Node is what the compiler needs to know of an accepted node. The root fills it from its
// registry and the node's last inventory.
type Node struct {
	ID       string
	Hostname string
	OS       string // kernel family: "linux", "windows", ...
	Relay    bool
	// Facts is the node's inventory as decoded JSON (objects, lists, strings, float64
	// numbers, booleans), read by group criteria (`os.id`, `memory.total`) and by
	// ${node.inventory[os][name]}. A list element is selected by its "name" field
	// (`software.nginx.version`).
	Facts      map[string]any
	Properties map[string]json.RawMessage
	Settings   NodeSettings
}

// FactsFromJSON decodes an inventory's JSON into the form Node.Facts takes.
func FactsFromJSON(b []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("inventory facts: %w", err)
	}
	return m, nil
}

// Directive is a technique with its parameter values, a mode and a priority.
type Directive struct {
	ID               string            `yaml:"id" json:"id"`
	Name             string            `yaml:"name" json:"name"`
	ShortDescription string            `yaml:"short_description,omitempty" json:"short_description,omitempty"`
	LongDescription  string            `yaml:"long_description,omitempty" json:"long_description,omitempty"`
	Technique        string            `yaml:"technique" json:"technique"`
	TechniqueVersion string            `yaml:"technique_version,omitempty" json:"technique_version,omitempty"` // empty: the latest
	Params           map[string]string `yaml:"params,omitempty" json:"params,omitempty"`
	// DontChange lists optional parameters left as "don't change": the items using them
	// are skipped, not reported.
	DontChange []string          `yaml:"dont_change,omitempty" json:"dont_change,omitempty"`
	PolicyMode Mode              `yaml:"policy_mode,omitempty" json:"policy_mode,omitempty"`
	Priority   *int              `yaml:"priority,omitempty" json:"priority,omitempty"` // 0 (first) to 10; 5 when unset
	Enabled    *bool             `yaml:"enabled,omitempty" json:"enabled,omitempty"`   // true when unset
	System     bool              `yaml:"system,omitempty" json:"system,omitempty"`
	Tags       map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`

	src *source
}

// DefaultPriority is Rudder's default directive priority.
const DefaultPriority = 5

func (d *Directive) priority() int {
	if d.Priority == nil {
		return DefaultPriority
	}
	return *d.Priority
}

func (d *Directive) enabled() bool { return d.Enabled == nil || *d.Enabled }

// Group is a set of nodes: listed (static), matching criteria (dynamic), or both.
type Group struct {
	ID          string     `yaml:"id" json:"id"`
	Name        string     `yaml:"name" json:"name"`
	Description string     `yaml:"description,omitempty" json:"description,omitempty"`
	Nodes       []string   `yaml:"nodes,omitempty" json:"nodes,omitempty"`
	Criteria    *Criterion `yaml:"criteria,omitempty" json:"criteria,omitempty"`

	src *source
}

// Built-in groups.
const (
	GroupAllNodes  = "all-nodes"
	GroupAllLinux  = "all-linux"
	GroupAllRelays = "all-relays"
)

var builtinGroups = []Group{
	{ID: GroupAllNodes, Name: "All nodes", Description: "Every accepted node, relays and root included."},
	{ID: GroupAllLinux, Name: "All Linux nodes", Description: "Every accepted node whose kernel is Linux."},
	{ID: GroupAllRelays, Name: "All relays", Description: "Every accepted relay."},
}

// BuiltinGroups returns the groups every model has.
func BuiltinGroups() []Group { return append([]Group(nil), builtinGroups...) }

func isBuiltinGroup(id string) bool {
	return id == GroupAllNodes || id == GroupAllLinux || id == GroupAllRelays
}

// Rule applies directives to the nodes of its target groups.
type Rule struct {
	ID          string            `yaml:"id" json:"id"`
	Name        string            `yaml:"name" json:"name"`
	Description string            `yaml:"description,omitempty" json:"description,omitempty"`
	Category    string            `yaml:"category,omitempty" json:"category,omitempty"`
	Enabled     *bool             `yaml:"enabled,omitempty" json:"enabled,omitempty"` // true when unset
	Tags        map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Directives  []string          `yaml:"directives,omitempty" json:"directives,omitempty"`
	Targets     Targets           `yaml:"targets,omitempty" json:"targets,omitzero"`

	src *source
}

// Targets are the groups a rule includes, minus those it excludes.
type Targets struct {
	Include []string `yaml:"include,omitempty" json:"include,omitempty"`
	Exclude []string `yaml:"exclude,omitempty" json:"exclude,omitempty"`
}

func (r *Rule) enabled() bool { return r.Enabled == nil || *r.Enabled }

// Model is the whole policy model of a root, as plain structs that encode to JSON for the
// store. Library techniques are built in and not part of it; Techniques holds the
// operators' own.
type Model struct {
	Techniques []Technique `json:"techniques,omitempty"`
	// DisabledTechniques lists techniques ("id" for every version, or "id/version") whose
	// directives are not compiled.
	DisabledTechniques []string    `json:"disabled_techniques,omitempty"`
	Directives         []Directive `json:"directives,omitempty"`
	Groups             []Group     `json:"groups,omitempty"`
	Rules              []Rule      `json:"rules,omitempty"`
	Parameters         []Parameter `json:"parameters,omitempty"`
	Settings           Settings    `json:"settings"`
}

// Clone returns a copy of m whose lists can be changed without touching m. Objects are
// replaced whole, never edited in place, so their maps and slices are shared.
func (m *Model) Clone() *Model {
	c := *m
	c.Techniques = append([]Technique(nil), m.Techniques...)
	c.DisabledTechniques = append([]string(nil), m.DisabledTechniques...)
	c.Directives = append([]Directive(nil), m.Directives...)
	c.Groups = append([]Group(nil), m.Groups...)
	c.Rules = append([]Rule(nil), m.Rules...)
	c.Parameters = append([]Parameter(nil), m.Parameters...)
	return &c
}

// Directive returns the directive with the given id.
func (m *Model) Directive(id string) (*Directive, bool) {
	for i := range m.Directives {
		if m.Directives[i].ID == id {
			return &m.Directives[i], true
		}
	}
	return nil, false
}

// Group returns the group with the given id, built-in ones included.
func (m *Model) Group(id string) (*Group, bool) {
	for i := range m.Groups {
		if m.Groups[i].ID == id {
			return &m.Groups[i], true
		}
	}
	for i := range builtinGroups {
		if builtinGroups[i].ID == id {
			g := builtinGroups[i]
			return &g, true
		}
	}
	return nil, false
}

// Rule returns the rule with the given id.
func (m *Model) Rule(id string) (*Rule, bool) {
	for i := range m.Rules {
		if m.Rules[i].ID == id {
			return &m.Rules[i], true
		}
	}
	return nil, false
}

// Parameter returns the global parameter with the given name.
func (m *Model) Parameter(name string) (*Parameter, bool) {
	for i := range m.Parameters {
		if m.Parameters[i].Name == name {
			return &m.Parameters[i], true
		}
	}
	return nil, false
}

// Technique returns the technique of the given id and version, the latest version when
// version is empty, looking at the operators' techniques first, then the library.
func (m *Model) Technique(id, version string) (*Technique, bool) {
	var best *Technique
	consider := func(t *Technique) {
		if t.ID != id || version != "" && t.Version != version {
			return
		}
		if best == nil || compareVersions(t.Version, best.Version) > 0 {
			best = t
		}
	}
	for i := range m.Techniques {
		consider(&m.Techniques[i])
	}
	if best == nil || version == "" {
		for _, t := range Library() {
			consider(t)
		}
	}
	return best, best != nil
}

// TechniqueDisabled reports whether the technique's directives are left out.
func (m *Model) TechniqueDisabled(id, version string) bool {
	for _, d := range m.DisabledTechniques {
		if d == id || d == id+"/"+version {
			return true
		}
	}
	return false
}
