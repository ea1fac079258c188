package policy

import (
	"fmt"
	"strings"
	"testing"
)

// TestProjectFacts: every fact a path reads in the whole document, it reads the same in the
// projection onto that path and others.
func TestProjectFacts(t *testing.T) {
	doc, err := FactsFromJSON([]byte(`{
		"hostname": "web1", "os": {"name": "Debian GNU/Linux", "family": "debian", "version": "12"},
		"memory": {"total": 8589934592},
		"software": [{"name": "openssl", "version": "3.0.11"}, {"name": "nginx", "version": "1.22", "arch": "amd64"}],
		"network": {"interfaces": [{"name": "lo", "ipv4": ["127.0.0.1/8"]}, {"name": "eth0", "ipv4": ["10.0.0.5/16", "10.0.0.6/16"]}]},
		"users": [{"name": "root", "uid": 0}]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"os.family", "software.name", "software.nginx.version", "network.interfaces.ipv4",
		"network.interfaces.eth0.ipv4", "memory.total", "users.uid", "os.missing", "nothing.here", "hostname"}
	var split [][]string
	for _, p := range paths {
		split = append(split, strings.Split(p, "."))
	}
	proj := ProjectFacts(doc, split)
	collect := func(facts map[string]any, p []string) string {
		var got []string
		walkFacts(facts, p, func(x any) bool { got = append(got, fmt.Sprint(x)); return false })
		return strings.Join(got, ",")
	}
	for _, p := range split {
		if want, got := collect(doc, p), collect(proj, p); got != want {
			t.Errorf("%s: got %q in the projection, want %q", strings.Join(p, "."), got, want)
		}
	}
	if _, ok := proj["users"]; !ok {
		t.Error("users dropped from the projection")
	}
	if sw := proj["software"].([]any); len(sw[0].(map[string]any)) != 1 {
		t.Errorf("openssl's entry keeps %v, want its name alone", sw[0])
	}
	m := &Model{Groups: []Group{{ID: "g", Criteria: &Criterion{All: []Criterion{{Fact: "os.family", Op: "equals", Value: "debian"}, {Any: []Criterion{{Fact: "software.name", Op: "equals", Value: "nginx"}}}}}}}}
	got, all := FactPaths(m)
	if all || len(got) != 2 {
		t.Errorf("FactPaths: got %v, all %v; want os.family and software.name", got, all)
	}
	m.Directives = []Directive{{ID: "d", Params: map[string]string{"v": "${node.inventory[os][name]}"}}}
	if _, all := FactPaths(m); !all {
		t.Error("FactPaths: a value reading the inventory must keep every fact")
	}
}
