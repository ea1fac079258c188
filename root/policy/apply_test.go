package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const goodDocs = `kind: parameter
name: org
value: ACME
---
kind: parameter
name: ntp
value:
  servers: [a, b]
---
kind: group
id: debian
name: Debian nodes
criteria:
  all:
    - fact: os.id
      op: equals
      value: debian
    - fact: memory.total
      op: ge
      value: 1GiB
---
kind: directive
id: motd
name: Message of the day
technique: motd
policy_mode: audit
priority: 3
params:
  content: "Welcome to ${param.org}"
dont_change: [path]
---
kind: rule
id: base
name: Base
directives: [motd]
targets:
  include: [debian]
  exclude: [all-relays]
---
kind: settings
policy_mode: enforce
run_interval: 10m
reporting_mode: changes-only
`

func TestApplyAndExportRoundTrip(t *testing.T) {
	docs, err := LoadDocs("policy.yml", []byte(goodDocs))
	if err != nil {
		t.Fatal(err)
	}
	m := &Model{}
	changes, err := m.Apply(docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 6 || changes[0].Op != OpCreate {
		t.Errorf("changes: got %+v", changes)
	}
	// Idempotent.
	again, err := m.Apply(docs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range again {
		if c.Op != OpUnchanged {
			t.Errorf("second apply: %s %s: %s, want unchanged", c.Kind, c.ID, c.Op)
		}
	}
	// Export, then apply to an empty model: the same model.
	tech, _ := LoadTechnique("t.yml", []byte("id: custom\nname: Custom\nversion: '2.0'\nitems:\n  - id: x\n    name: X\n    method: file_present\n    params:\n      path: /tmp/x\n"))
	if _, err := m.Apply([]Doc{{Kind: KindTechnique, Technique: tech}}); err != nil {
		t.Fatal(err)
	}
	files, err := m.Export()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, f.Name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	back, err := LoadPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m2 := &Model{}
	if _, err := m2.Apply(back); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(m)
	b, _ := json.Marshal(m2)
	if !reflect.DeepEqual(normalise(t, a), normalise(t, b)) {
		t.Errorf("export does not round-trip:\nbefore %s\nafter  %s", a, b)
	}
}

// normalise compares models regardless of the order objects were applied in.
func normalise(t *testing.T, b []byte) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestApplyRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		docs string
		want string // file:line and field in the error
	}{
		{"invalid YAML", "kind: rule\nid: [unclosed\n", "bad.yml:1: invalid YAML"},
		{"unknown kind", "kind: rocket\nid: x\n", "bad.yml:1: kind: unknown kind"},
		{"unknown field", "kind: rule\nid: r\nname: R\ntargetz: {}\n", "bad.yml:4: rule r: targetz: unknown field"},
		{"unknown technique", "kind: directive\nid: d\nname: D\ntechnique: nope\n", "bad.yml:4: directive d: technique: unknown technique"},
		{"unknown method", "kind: technique\nid: t\nname: T\nversion: '1'\nitems:\n  - id: a\n    method: launch_rocket\n", "bad.yml:7: technique t: items[0].method: unknown method \"launch_rocket\""},
		{"unknown method parameter", "kind: technique\nid: t\nname: T\nversion: '1'\nitems:\n  - id: a\n    method: file_present\n    params:\n      path: /x\n      size: 3\n", "bad.yml:10: technique t: items[0].params.size"},
		{"bad condition", "kind: technique\nid: t\nname: T\nversion: '1'\nitems:\n  - id: a\n    method: file_present\n    condition: 'debian.(linux'\n    params:\n      path: /x\n", "bad.yml:8: technique t: items[0].condition"},
		{"wrong parameter type", "kind: directive\nid: d\nname: D\ntechnique: file_from_template\nparams:\n  path: /x\n  template: t\n  mode: rwx\n", "bad.yml:8: directive d: params.mode: \"rwx\" is not a valid permissions"},
		{"failed validation", "kind: directive\nid: d\nname: D\ntechnique: sudoers_entry\nparams:\n  name: 'a b'\n  rules: x\n", "bad.yml:6: directive d: params.name: \"a b\": letters, digits"},
		{"missing parameter", "kind: directive\nid: d\nname: D\ntechnique: package_absent\n", "bad.yml:1: directive d: params: missing value for parameter \"name\""},
		{"undefined reference", "kind: directive\nid: d\nname: D\ntechnique: package_absent\nparams:\n  name: '${param.nope}'\n", "bad.yml:6: directive d: params.name: undefined ${param.nope}"},
		{"group cycle", "kind: group\nid: a\nname: A\ncriteria:\n  group: b\n---\nkind: group\nid: b\nname: B\ncriteria:\n  group: a\n", "bad.yml:11: group b: criteria.group: groups refer to each other in a cycle: a → b → a"},
		{"dangling directive", "kind: rule\nid: r\nname: R\ndirectives:\n  - ghost\n", "bad.yml:5: rule r: directives[0]: unknown directive \"ghost\""},
		{"unknown group", "kind: rule\nid: r\nname: R\ntargets:\n  include: [nowhere]\n", "bad.yml:5: rule r: targets.include[0]: unknown group \"nowhere\""},
		{"bad operator", "kind: group\nid: g\nname: G\ncriteria:\n  fact: os.id\n  op: resembles\n  value: x\n", "bad.yml:6: group g: criteria.op: unknown operator"},
		{"bad unit", "kind: group\nid: g\nname: G\ncriteria:\n  fact: memory.total\n  op: ge\n  value: 4 bananas\n", "bad.yml:7: group g: criteria.value"},
		{"dont_change a mandatory parameter", "kind: directive\nid: d\nname: D\ntechnique: package_absent\nparams: {name: x}\ndont_change: [name]\n", "bad.yml:6: directive d: dont_change[0]: parameter \"name\" is mandatory"},
	}
	for _, tt := range tests {
		m := fleetModel()
		before, _ := json.Marshal(m)
		docs, err := LoadDocs("bad.yml", []byte(tt.docs))
		if err == nil {
			// A valid document plus the bad one: nothing is applied.
			good, _ := LoadDocs("good.yml", []byte("kind: parameter\nname: newparam\nvalue: x\n"))
			_, err = m.Apply(append(good, docs...))
		}
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\ngot  %v\nwant %s", tt.name, err, tt.want)
		}
		after, _ := json.Marshal(m)
		if string(before) != string(after) {
			t.Errorf("%s: the model changed although apply failed", tt.name)
		}
	}
}

func TestDelete(t *testing.T) {
	m := fleetModel()
	if _, err := m.Delete(KindDirective, "nginx"); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "unknown directive \"nginx\"") {
		t.Errorf("deleting a directive rules use: got %v", err)
	}
	if _, err := m.Delete(KindRule, "r-base"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Delete(KindRule, "r-base"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: got %v", err)
	}
}

func TestExplain(t *testing.T) {
	nodes := testNodes()
	ex, err := Explain(fleetModel(), &nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ex {
		if e.Skipped != "" {
			got = append(got, "skipped "+e.DirectiveID)
			continue
		}
		got = append(got, e.DirectiveID+" by "+e.RuleID+" via "+strings.Join(e.Groups, "+")+": "+e.Mode)
	}
	want := "nginx by r-base via all-linux: enforce|motd-big by r-big via big: audit|cron by r-cron via debian: enforce|skipped motd-base"
	if strings.Join(got, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
}
