package policy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/bosun-io/bosun/wire"
)

// syntheticFleet builds the fleet of DESIGN.md §5: n nodes, 30 rules, 150 directives over
// library techniques, 200 dynamic groups on facts and properties.
func syntheticFleet(n int) (*Model, []Node) {
	rng := rand.New(rand.NewPCG(1, 2))
	osIDs := []string{"debian", "ubuntu", "rhel", "alpine"}
	envs := []string{"prod", "staging", "dev"}
	nodes := make([]Node, n)
	for i := range nodes {
		osID := osIDs[rng.IntN(len(osIDs))]
		kernel := "linux"
		if i%10 == 9 {
			osID, kernel = "windows", "windows"
		}
		nodes[i] = Node{
			ID: fmt.Sprintf("node-%06d", i), Hostname: fmt.Sprintf("%s%05d.example.com", []string{"web", "db", "app", "cache"}[i%4], i),
			OS: kernel, Relay: i%5000 == 0,
			Facts: map[string]any{
				"os":     map[string]any{"id": osID, "version": fmt.Sprintf("%d.%d", 8+rng.IntN(8), rng.IntN(10)), "arch": "x86_64"},
				"memory": map[string]any{"total": float64((1 + rng.IntN(64)) << 30)},
				"cpus":   []any{map[string]any{"cores": float64(1 + rng.IntN(32))}},
				"software": []any{
					map[string]any{"name": "openssl", "version": fmt.Sprintf("3.0.%d-1", rng.IntN(15))},
					map[string]any{"name": "nginx", "version": fmt.Sprintf("1.%d.0", 18+rng.IntN(8))},
				},
			},
			Properties: map[string]json.RawMessage{"env": json.RawMessage(`"` + envs[rng.IntN(3)] + `"`)},
		}
	}
	m := &Model{Parameters: []Parameter{{Name: "org", Value: json.RawMessage(`"ACME"`)}, {Name: "dns", Value: json.RawMessage(`"nameserver 10.0.0.53"`)}}}
	for g := range 200 {
		var c Criterion
		switch g % 5 {
		case 0:
			c = Criterion{All: []Criterion{{Fact: "os.id", Op: "equals", Value: osIDs[g%4]}, {Fact: "memory.total", Op: "ge", Value: fmt.Sprintf("%dGiB", 4+g%32)}}}
		case 1:
			c = Criterion{Fact: "hostname", Op: "regex", Value: fmt.Sprintf(`^%s\d*%d\.`, []string{"web", "db", "app", "cache"}[g%4], g%10)}
		case 2:
			c = Criterion{Any: []Criterion{{Fact: "software.openssl.version", Op: "version-lt", Value: fmt.Sprintf("3.0.%d", g%15)}, {Fact: "cpus.cores", Op: "gt", Value: fmt.Sprint(24 + g%8)}}}
		case 3:
			c = Criterion{All: []Criterion{{Fact: "properties.env", Op: "equals", Value: envs[g%3]}, {Fact: "os.version", Op: "version-ge", Value: fmt.Sprint(8 + g%8)}}}
		case 4:
			c = Criterion{All: []Criterion{{Group: fmt.Sprintf("g%03d", g-4)}, {Fact: "os.arch", Op: "equals", Value: "x86_64"}, {Fact: "software.nginx", Op: "exists"}}}
		}
		m.Groups = append(m.Groups, Group{ID: fmt.Sprintf("g%03d", g), Name: fmt.Sprintf("Group %d", g), Criteria: &c})
	}
	for d := range 150 {
		x := Directive{ID: fmt.Sprintf("d%03d", d), Name: fmt.Sprintf("Directive %03d", d)}
		switch d % 6 {
		case 0:
			x.Technique, x.Params = "package_present", map[string]string{"name": fmt.Sprintf("pkg%d", d)}
		case 1:
			x.Technique, x.Params = "file_from_template", map[string]string{"path": fmt.Sprintf("/etc/app%d.conf", d), "template": "org={{org}}\nenv=${node.properties[env]}\n"}
		case 2:
			x.Technique, x.Params = "sysctl", map[string]string{"key": fmt.Sprintf("net.core.k%d", d), "value": fmt.Sprint(d)}
		case 3:
			x.Technique, x.Params = "service_state", map[string]string{"name": fmt.Sprintf("svc%d", d)}
		case 4:
			x.Technique, x.Params = "local_user", map[string]string{"login": fmt.Sprintf("user%d", d), "home": fmt.Sprintf("/home/user%d", d), "group": "staff"}
		case 5:
			x.Technique, x.Params = "cron_job", map[string]string{"name": fmt.Sprintf("job%d", d), "schedule": "*/5 * * * *", "command": "/usr/local/bin/job --org ${param.org}"}
		}
		m.Directives = append(m.Directives, x)
	}
	for r := range 30 {
		rule := Rule{ID: fmt.Sprintf("r%02d", r), Name: fmt.Sprintf("Rule %02d", r)}
		for k := range 5 {
			rule.Directives = append(rule.Directives, fmt.Sprintf("d%03d", r*5+k))
		}
		if r == 0 {
			rule.Targets.Include = []string{GroupAllLinux}
		} else {
			rule.Targets.Include = []string{fmt.Sprintf("g%03d", (r*7)%200), fmt.Sprintf("g%03d", (r*13+1)%200)}
			rule.Targets.Exclude = []string{GroupAllRelays}
		}
		m.Rules = append(m.Rules, rule)
	}
	return m, nodes
}

func benchSize(b *testing.B) int {
	if testing.Short() {
		return 2000
	}
	return 100_000
}

func BenchmarkCompileFleet(b *testing.B) {
	m, nodes := syntheticFleet(benchSize(b))
	var comps, count int
	var c *Compiler
	for b.Loop() {
		comps, count = 0, 0
		c = NewCompiler()
		_, _, err := c.Load(m, nodes, func(p *wire.AppliedPolicy) { comps += len(p.Components); count++ })
		if err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(len(nodes)), "nodes")
	b.ReportMetric(float64(comps)/float64(count), "components/node")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MiB-heap-kept")
	runtime.KeepAlive(c)
}

func BenchmarkRecompileOneDirective(b *testing.B) {
	m, nodes := syntheticFleet(benchSize(b))
	c := NewCompiler()
	if _, _, err := c.Load(m, nodes, nil); err != nil {
		b.Fatal(err)
	}
	i := 0
	var st Stats
	for b.Loop() {
		i++
		next := m.Clone()
		// Directive d054 (package_present) sits in rule r10.
		d := &next.Directives[54]
		d.Params = map[string]string{"name": fmt.Sprintf("pkg-v%d", i)}
		var err error
		_, st, err = c.SetModel(next, func(*wire.AppliedPolicy) {})
		if err != nil {
			b.Fatal(err)
		}
		m = next
	}
	b.ReportMetric(float64(st.Compiled), "nodes-recompiled")
	b.ReportMetric(float64(len(nodes)), "nodes")
	b.ReportMetric(float64(st.Changed), "nodes-changed")
}

func TestSyntheticFleetCompiles(t *testing.T) {
	m, nodes := syntheticFleet(500)
	out, _, err := Compile(m, nodes)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 500 {
		t.Errorf("%d policies, want 500", len(out))
	}
}
