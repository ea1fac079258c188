package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bosun-io/bosun/wire"
)

func TestResolveMode(t *testing.T) {
	A, E, N := ModeAudit, ModeEnforce, ModeNone
	a, e := wire.ModeAudit, wire.ModeEnforce
	tests := []struct {
		g        Mode
		override bool
		n, d     Mode
		system   bool
		want     wire.PolicyMode
	}{
		// override not allowed: G, whatever N and D say
		{A, false, N, N, false, a}, {A, false, E, N, false, a}, {A, false, N, E, false, a}, {A, false, E, E, false, a},
		{E, false, N, N, false, e}, {E, false, A, N, false, e}, {E, false, N, A, false, e}, {E, false, A, A, false, e},
		// override allowed, nobody overrides: G
		{A, true, N, N, false, a}, {E, true, N, N, false, e},
		// one overrides: that one
		{A, true, E, N, false, e}, {A, true, N, E, false, e}, {E, true, A, N, false, a}, {E, true, N, A, false, a},
		{A, true, A, N, false, a}, {E, true, N, E, false, e},
		// both override: audit if either is audit
		{A, true, A, A, false, a}, {A, true, A, E, false, a}, {A, true, E, A, false, a}, {A, true, E, E, false, e},
		{E, true, A, A, false, a}, {E, true, A, E, false, a}, {E, true, E, A, false, a}, {E, true, E, E, false, e},
		// system directives: always enforce
		{A, false, A, A, true, e}, {A, true, A, A, true, e},
		// unset global means enforce; "global" means no override
		{N, true, N, N, false, e}, {A, true, "global", "global", false, a},
	}
	for _, tt := range tests {
		got, why := ResolveMode(tt.g, tt.override, tt.n, tt.d, tt.system)
		if got != tt.want {
			t.Errorf("G=%q override=%v N=%q D=%q system=%v: got %v (%s), want %v", tt.g, tt.override, tt.n, tt.d, tt.system, got, why, tt.want)
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, unix, windows string }{
		{`plain`, `plain`, `plain`},
		{`say "hi"`, `say \"hi\"`, "say `\"hi`\""},
		{`C:\dir\`, `C:\\dir\\`, `C:\dir\`},
		{`\"`, `\\\"`, "\\`\""},
		{"a`b", "a`b", "a``b"},
		{"`\"", "`\\\"", "```\""},
	}
	for _, tt := range tests {
		if got := EscapeUnix(tt.in); got != tt.unix {
			t.Errorf("EscapeUnix(%q) = %q, want %q", tt.in, got, tt.unix)
		}
		if got := EscapeWindows(tt.in); got != tt.windows {
			t.Errorf("EscapeWindows(%q) = %q, want %q", tt.in, got, tt.windows)
		}
		if got := Escape("windows", tt.in); got != tt.windows {
			t.Errorf("Escape(windows, %q) = %q", tt.in, got)
		}
		if got := Escape("linux", tt.in); got != tt.unix {
			t.Errorf("Escape(linux, %q) = %q", tt.in, got)
		}
	}
}

func TestEffectiveProperties(t *testing.T) {
	params := []Parameter{
		{Name: "dns", Value: json.RawMessage(`"10.0.0.1"`)},
		{Name: "ntp", Value: json.RawMessage(`{"servers":["a","b"],"iburst":true}`)},
		{Name: "env", Value: json.RawMessage(`"prod"`)},
	}
	node := &Node{ID: "n", Properties: map[string]json.RawMessage{
		"env":   json.RawMessage(`"staging"`),
		"ntp":   json.RawMessage(`{"servers":["c"]}`),
		"owner": json.RawMessage(`"alice"`),
	}}
	got := map[string]Property{}
	for _, p := range EffectiveProperties(params, node) {
		got[p.Name] = p
	}
	tests := []struct {
		name, value, provenance, overrides string
	}{
		{"dns", `"10.0.0.1"`, FromGlobal, ""},
		{"env", `"staging"`, FromNode, `"prod"`},
		{"ntp", `{"iburst":true,"servers":["c"]}`, FromMerged, `{"servers":["a","b"],"iburst":true}`},
		{"owner", `"alice"`, FromNode, ""},
	}
	if len(got) != len(tests) {
		t.Errorf("got %d properties, want %d", len(got), len(tests))
	}
	for _, tt := range tests {
		p := got[tt.name]
		if string(p.Value) != tt.value || p.Provenance != tt.provenance || string(p.Overrides) != tt.overrides {
			t.Errorf("%s: got %s from %s over %s, want %s from %s over %s", tt.name, p.Value, p.Provenance, p.Overrides, tt.value, tt.provenance, tt.overrides)
		}
	}
}

func testNodes() []Node {
	return []Node{
		{ID: "deb12", Hostname: "web1.example.com", OS: "linux", Facts: map[string]any{
			"os":       map[string]any{"id": "debian", "version": "12", "name": "Debian GNU/Linux"},
			"memory":   map[string]any{"total": float64(8 << 30)},
			"software": []any{map[string]any{"name": "nginx", "version": "1.22.1-9"}, map[string]any{"name": "openssl", "version": "3.0.11-1~deb12u2"}},
		}, Properties: map[string]json.RawMessage{"env": json.RawMessage(`"prod"`), "dc": json.RawMessage(`{"name":"par1","rack":4}`)}},
		{ID: "deb11", Hostname: "db1.example.com", OS: "linux", Facts: map[string]any{
			"os":       map[string]any{"id": "debian", "version": "11"},
			"memory":   map[string]any{"total": float64(2 << 30)},
			"software": []any{map[string]any{"name": "openssl", "version": "1.1.1w-0+deb11u1"}},
		}},
		{ID: "win", Hostname: "ad1", OS: "windows", Facts: map[string]any{"os": map[string]any{"id": "windows", "version": "10.0.17763"}, "memory": map[string]any{"total": "16 GB"}}},
		{ID: "relay1", Hostname: "relay1", OS: "linux", Relay: true, Facts: map[string]any{"os": map[string]any{"id": "alpine", "version": "3.19"}}},
	}
}

func TestGroupCriteria(t *testing.T) {
	nodes := testNodes()
	tests := []struct {
		name string
		c    Criterion
		want string // member ids, sorted, comma-separated
	}{
		{"equals", Criterion{Fact: "os.id", Op: "equals", Value: "debian"}, "deb11,deb12"},
		{"not-equals", Criterion{Fact: "os.id", Op: "not-equals", Value: "debian"}, "relay1,win"},
		{"regex", Criterion{Fact: "hostname", Op: "regex", Value: `^(web|db)\d`}, "deb11,deb12"},
		{"not-regex", Criterion{Fact: "hostname", Op: "not-regex", Value: `example\.com$`}, "relay1,win"},
		{"exists", Criterion{Fact: "software.nginx", Op: "exists"}, "deb12"},
		{"not-exists", Criterion{Fact: "memory.total", Op: "not-exists"}, "relay1"},
		{"ge with binary unit", Criterion{Fact: "memory.total", Op: "ge", Value: "4GiB"}, "deb12,win"},
		{"lt with unit in the fact", Criterion{Fact: "memory.total", Op: "lt", Value: "16GB"}, "deb11,deb12"},
		{"gt decimal", Criterion{Fact: "memory.total", Op: "gt", Value: "2.5G"}, "deb12,win"},
		{"version-ge", Criterion{Fact: "os.version", Op: "version-ge", Value: "11"}, "deb11,deb12"},
		{"version-lt of a package", Criterion{Fact: "software.openssl.version", Op: "version-lt", Value: "3.0.11-1"}, "deb11,deb12"},
		{"version ~ sorts first", Criterion{Fact: "software.openssl.version", Op: "version-gt", Value: "3.0.11-1~deb12u1"}, "deb12"},
		{"version-eq", Criterion{Fact: "os.version", Op: "version-eq", Value: "3.19"}, "relay1"},
		{"property", Criterion{Fact: "properties.env", Op: "equals", Value: "prod"}, "deb12"},
		{"property sub key", Criterion{Fact: "properties.dc.rack", Op: "ge", Value: "3"}, "deb12"},
		{"id", Criterion{Fact: "id", Op: "equals", Value: "win"}, "win"},
		{"and", Criterion{All: []Criterion{{Fact: "os.id", Op: "equals", Value: "debian"}, {Fact: "memory.total", Op: "ge", Value: "4GiB"}}}, "deb12"},
		{"or", Criterion{Any: []Criterion{{Fact: "os.id", Op: "equals", Value: "windows"}, {Fact: "relay", Op: "equals", Value: "true"}}}, "relay1,win"},
		{"group reference", Criterion{All: []Criterion{{Group: GroupAllLinux}, {Fact: "relay", Op: "equals", Value: "false"}}}, "deb11,deb12"},
	}
	for _, tt := range tests {
		m := &Model{Groups: []Group{{ID: "g", Name: "G", Criteria: &tt.c}}}
		got := members(t, m, nodes, "g")
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
	m := &Model{}
	for _, b := range []struct{ id, want string }{{GroupAllNodes, "deb11,deb12,relay1,win"}, {GroupAllLinux, "deb11,deb12,relay1"}, {GroupAllRelays, "relay1"}} {
		if got := members(t, m, nodes, b.id); got != b.want {
			t.Errorf("built-in %s: got %q, want %q", b.id, got, b.want)
		}
	}
	static := &Model{Groups: []Group{{ID: "s", Name: "S", Nodes: []string{"win", "gone"}, Criteria: &Criterion{Fact: "os.id", Op: "equals", Value: "alpine"}}}}
	if got := members(t, static, nodes, "s"); got != "relay1,win" {
		t.Errorf("static plus dynamic: got %q", got)
	}
}

func members(t *testing.T, m *Model, nodes []Node, group string) string {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	c := NewCompiler()
	if _, _, err := c.Load(m, nodes, nil); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, n := range c.nodes {
		if c.groupBits[group].has(i) {
			ids = append(ids, n.ID)
		}
	}
	return strings.Join(sortStrings(ids), ",")
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

func TestParseQuantity(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  bool
	}{
		{"4GiB", 4 << 30, false}, {"4 GB", 4e9, false}, {"4G", 4 << 30, false}, {"512", 512, false},
		{"1.5TiB", 1.5 * (1 << 40), false}, {"2k", 2048, false}, {"7 bananas", 0, true}, {"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseQuantity(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseQuantity(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0}, {"1.0", "1.1", -1}, {"1.10", "1.9", 1}, {"1.0~rc1", "1.0", -1}, {"1:0.9", "2.0", 1},
		{"3.0.11-1~deb12u2", "3.0.11-1", -1}, {"1.0a", "1.0", 1}, {"1.0", "1.0.0", -1}, {"10", "9", 1},
	}
	for _, tt := range tests {
		if got := compareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestGroupCycle(t *testing.T) {
	m := &Model{Groups: []Group{
		{ID: "a", Name: "A", Criteria: &Criterion{Group: "b"}},
		{ID: "b", Name: "B", Criteria: &Criterion{Any: []Criterion{{Group: "c"}}}},
		{ID: "c", Name: "C", Criteria: &Criterion{Group: "a"}},
	}}
	err := m.Validate()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "cycle") || !strings.Contains(err.Error(), "a → b → c → a") {
		t.Errorf("got %v, want a cycle a → b → c → a", err)
	}
}

// fleetModel: two rules bring motd directives and a package directive; priorities decide
// between the two motd directives (a unique technique).
func fleetModel() *Model {
	prio := func(p int) *int { return &p }
	return &Model{
		Parameters: []Parameter{{Name: "org", Value: json.RawMessage(`"ACME"`)}},
		Groups: []Group{
			{ID: "debian", Name: "Debian", Criteria: &Criterion{Fact: "os.id", Op: "equals", Value: "debian"}},
			{ID: "big", Name: "Big", Criteria: &Criterion{Fact: "memory.total", Op: "ge", Value: "4GiB"}},
		},
		Directives: []Directive{
			{ID: "motd-base", Name: "motd base", Technique: "motd", Params: map[string]string{"content": "Welcome to ${param.org} ${node.properties[env]}"}, Priority: prio(5)},
			{ID: "motd-big", Name: "motd big", Technique: "motd", Params: map[string]string{"content": "Big machine"}, Priority: prio(2), PolicyMode: ModeAudit},
			{ID: "nginx", Name: "nginx", Technique: "package_present", Params: map[string]string{"name": "nginx"}},
			{ID: "cron", Name: "cleanup", Technique: "cron_job", Params: map[string]string{"name": "cleanup", "schedule": "0 * * * *", "command": "echo ${node.properties[env]}"}},
		},
		Rules: []Rule{
			{ID: "r-base", Name: "base", Directives: []string{"motd-base", "nginx"}, Targets: Targets{Include: []string{GroupAllLinux}, Exclude: []string{GroupAllRelays}}},
			{ID: "r-big", Name: "Big", Directives: []string{"motd-big", "nginx"}, Targets: Targets{Include: []string{"big"}}},
			{ID: "r-cron", Name: "cron", Directives: []string{"cron"}, Targets: Targets{Include: []string{"debian"}}},
		},
	}
}

func TestCompileFleet(t *testing.T) {
	nodes := testNodes()
	nodes[1].Properties = map[string]json.RawMessage{"env": json.RawMessage(`"dev \"x\""`)}
	out, probs, err := Compile(fleetModel(), nodes)
	if err != nil {
		t.Fatal(err)
	}
	// deb12: base and Big both bring nginx; "base" < "Big" case-insensitively, so base owns it.
	deb12 := out["deb12"]
	var got []string
	for _, d := range deb12.Directives {
		got = append(got, fmt.Sprintf("%s/%s/%s%v", d.RuleID, d.DirectiveID, d.Mode, d.OverriddenRuleIDs))
	}
	want := "r-base/nginx/enforce[r-big],r-big/motd-big/audit[],r-cron/cron/enforce[]"
	if strings.Join(got, ",") != want {
		t.Errorf("deb12 directives:\ngot  %s\nwant %s", strings.Join(got, ","), want)
	}
	// The conflict between the two motd directives is reported, naming the winner.
	var conflict *Problem
	for i := range probs {
		if probs[i].Kind == ProblemConflict {
			conflict = &probs[i]
		}
	}
	if conflict == nil || conflict.DirectiveID != "motd-base" || strings.Join(conflict.Nodes, ",") != "deb12" || !strings.Contains(conflict.Message, "motd-big runs") {
		t.Errorf("conflict: got %+v", conflict)
	}
	// deb11 has the base motd, with the parameter and its property substituted; its cron
	// command escapes the property's quotes.
	deb11 := out["deb11"]
	var motd, cron string
	for _, c := range deb11.Components {
		switch c.ID {
		case "motd-file":
			motd = c.Params[1].Value
		case "cron-file":
			cron = c.Params[1].Value
		}
	}
	if motd != `Welcome to ACME dev "x"` {
		t.Errorf("deb11 motd: got %q", motd)
	}
	if cron != `0 * * * * root echo dev "x"` {
		t.Errorf("deb11 cron: got %q", cron)
	}
	if _, ok := out["relay1"]; !ok {
		t.Error("relay1 has no policy")
	} else if len(out["relay1"].Directives) != 0 {
		t.Errorf("relay1 is excluded from base: got %d directives", len(out["relay1"].Directives))
	}
	// The windows node has no env property: its base motd... is not there (not Linux), but
	// it is big and gets motd-big in audit.
	if w := out["win"]; len(w.Directives) != 2 || w.Directives[0].DirectiveID != "motd-big" || w.Components[0].Mode != wire.ModeAudit {
		t.Errorf("win: got %+v", w.Directives)
	}
	for id, p := range out {
		if p.ConfigID == "" || p.ComputeConfigID() != p.ConfigID {
			t.Errorf("%s: config id %q does not match its content", id, p.ConfigID)
		}
	}
}

func TestUndefinedNodeProperty(t *testing.T) {
	nodes := testNodes()[:1]
	nodes[0].Properties = nil
	out, probs, err := Compile(fleetModel(), nodes)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out["deb12"]; ok {
		t.Error("a node with an undefined property got a policy; it should keep its previous one")
	}
	if len(probs) == 0 || probs[len(probs)-1].Kind != ProblemUndefined || !strings.Contains(probs[len(probs)-1].Message, "${node.properties[env]}") {
		t.Errorf("problems: got %v", probs)
	}
}

func TestIncremental(t *testing.T) {
	nodes := testNodes()
	nodes[1].Properties = map[string]json.RawMessage{"env": json.RawMessage(`"dev"`)}
	m := fleetModel()
	c := NewCompiler()
	first := map[string]string{}
	if _, st, err := c.Load(m, nodes, func(p *wire.AppliedPolicy) { first[p.NodeID] = p.ConfigID }); err != nil || st.Changed != 4 {
		t.Fatalf("load: %v, %+v", err, st)
	}
	tests := []struct {
		name   string
		change func(m *Model)
		want   string // nodes emitted
	}{
		{"nothing", func(m *Model) {}, ""},
		{"a directive only debian nodes have", func(m *Model) {
			m.Directives[3].Params = map[string]string{"name": "cleanup", "schedule": "5 * * * *", "command": "true"}
		}, "deb11,deb12"},
		{"a directive that loses its conflict everywhere", func(m *Model) { m.Directives[0].Params = map[string]string{"content": "changed"} }, "deb11"},
		{"a group", func(m *Model) { m.Groups[1].Criteria = &Criterion{Fact: "memory.total", Op: "ge", Value: "10GiB"} }, "deb12"},
		{"a rule's targets", func(m *Model) { m.Rules[2].Targets.Include = []string{GroupAllNodes} }, "relay1,win"},
		{"the global mode", func(m *Model) { m.Settings.PolicyMode = ModeAudit }, "deb11,deb12,relay1,win"},
	}
	for _, tt := range tests {
		next := m.Clone()
		tt.change(next)
		var emitted []string
		if _, _, err := c.SetModel(next, func(p *wire.AppliedPolicy) { emitted = append(emitted, p.NodeID) }); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := strings.Join(sortStrings(emitted), ","); got != tt.want {
			t.Errorf("%s: emitted %q, want %q", tt.name, got, tt.want)
		}
		m = next
	}
	// A node's new inventory recompiles that node only.
	nodes[0].OS = "windows"
	var emitted []string
	c.UpsertNodes(nodes[:1], func(p *wire.AppliedPolicy) { emitted = append(emitted, p.NodeID) })
	if strings.Join(emitted, ",") != "deb12" {
		t.Errorf("upsert: emitted %v", emitted)
	}
}
