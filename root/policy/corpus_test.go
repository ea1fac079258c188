package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/bosun-io/bosun/wire"
)

// corpusDir finds ../shared/corpus/techniques by walking up from the test's directory.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "shared", "corpus", "techniques")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared/corpus/techniques not found next to the repository")
		}
		dir = parent
	}
}

func loadCorpus(t *testing.T, name string) *Technique {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	tech, err := LoadTechnique(name, data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return tech
}

// compileOne compiles a technique as a directive applied to one node.
func compileOne(t *testing.T, tech *Technique, params map[string]string, global Mode) *wire.AppliedPolicy {
	t.Helper()
	m := &Model{
		Techniques: []Technique{*tech},
		Directives: []Directive{{ID: "d", Name: "D", Technique: tech.ID, Params: params}},
		Rules:      []Rule{{ID: "r", Name: "R", Directives: []string{"d"}, Targets: Targets{Include: []string{GroupAllNodes}}}},
		Settings:   Settings{PolicyMode: global},
	}
	node := Node{ID: "n1", OS: "linux", Facts: map[string]any{"os": map[string]any{"full_name": "Debian GNU/Linux 12 (bookworm)"}}, Properties: map[string]json.RawMessage{"name": json.RawMessage(`{"key":"value"}`)}}
	out, probs, err := Compile(m, []Node{node})
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	return out["n1"]
}

func TestCorpusLoadsAndCompiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(t), "*.yml"))
	if len(files) == 0 {
		t.Fatal("no technique in the corpus")
	}
	for _, f := range files {
		tech := loadCorpus(t, filepath.Base(f))
		params := map[string]string{}
		for _, p := range tech.Params {
			if p.Default == nil {
				params[p.Name] = "x"
			}
		}
		switch tech.ID {
		case "form":
			params = map[string]string{"server_a": "a", "server_b": "12", "server_c": "htop", "server_d": "a@b", "server_e": "true",
				"server_f": "x", "server_g": "x", "server_h": "644", "server_i": "3", "server_j": "j", "server_k": "::1", "server_l": "l"}
		}
		p := compileOne(t, tech, params, ModeEnforce)
		if len(p.Components) == 0 {
			t.Errorf("%s: no component", f)
		}
	}
}

func TestCorpusItems(t *testing.T) {
	tests := []struct {
		file  string
		comps []string // id, method, condition, reporting value
		want  [][4]string
	}{
		{file: "ntp.yml", want: [][4]string{
			{"d86ce2e5-d5b6-45cc-87e8-c11cca71d907", "package_present", "false", "htop"},
			{"cf06e919-02b7-41a7-a03f-4239592f3c12", "package_install", "(linux).(fedora)", "/bin/true \"# Debian GNU/Linux 12 (bookworm)\""},
		}},
		{file: "escaping.yml", want: [][4]string{
			{"a86ce2e5-d5b6-45cc-87e8-c11cca71d966", "package_present", "${my_cond} . debian | ${sys.${plouf}}", "${sys.host} . | / ${sys.${host}} ' '' ''' $ $$ \" \"\" \\ \\\\😋aà3\r\n\t"},
			{"a86ce2e5-d5b6-45cc-87e8-c11cca71d977", "package_present", "", "${sys.host} . | / ${sys.${host}} ' '' ''' $ $$ \" \"\" \\ \\\\😋aà3\r\n\t"},
			{"a86ce2e5-d5b6-45cc-87e8-c11cca71d978", "package_present", "", "cache_prefix=\"zapache-$UID-${STATUS_URL//[^a-zA-Z0-9_-]/_}\" "},
		}},
	}
	for _, tt := range tests {
		tech := loadCorpus(t, tt.file)
		params := map[string]string{"server": "ntp.example.com"}
		p := compileOne(t, tech, params, ModeEnforce)
		if len(p.Components) != len(tt.want) {
			t.Fatalf("%s: %d components, want %d", tt.file, len(p.Components), len(tt.want))
		}
		for i, w := range tt.want {
			c := p.Components[i]
			got := [4]string{c.ID, c.Method, c.Condition, c.ReportingValue}
			if got != w {
				t.Errorf("%s component %d:\ngot  %q\nwant %q", tt.file, i, got, w)
			}
		}
	}
}

func TestCorpusVariables(t *testing.T) {
	p := compileOne(t, loadCorpus(t, "variables.yml"), map[string]string{"content": "CONTENT"}, ModeEnforce)
	want := "# Raw string\nfoo foobar\n# With parameter\nfoo CONTENT foobar\n# With a var looking like a parameter\nfoo ${contentbis}\n# With a const\n${const.n}\n# With node properties\nvalue"
	if got := p.Components[0].Params[1].Value; got != want {
		t.Errorf("lines:\ngot  %q\nwant %q", got, want)
	}
}

func TestCorpusReporting(t *testing.T) {
	p := compileOne(t, loadCorpus(t, "reporting.yml"), nil, ModeEnforce)
	type blk struct {
		id     string
		parent string
		logic  wire.ReportingLogic
		focus  string
	}
	want := []blk{
		{"c9e259a1-51c5-40b3-98ef-0eeaf52dca99", "", wire.LogicWorstCaseWeightedOne, ""},
		{"c9e259a1-51c5-40b3-98ef-0eeaf52dca98", "", wire.LogicWorstCaseWeightedOne, ""},
		{"b9e259a1-51c5-40b3-98ef-0eeaf52dca45", "", wire.LogicWorstCaseWeightedOne, ""},
		{"b9e259a1-51c5-40b3-98ef-0eeaf52dca96", "b9e259a1-51c5-40b3-98ef-0eeaf52dca45", wire.LogicWorstCaseWeightedOne, ""},
		{"b9e259a1-51c5-40b3-98ef-0eeaf52dca97", "b9e259a1-51c5-40b3-98ef-0eeaf52dca45", wire.LogicWorstCaseWeightedSum, ""},
		{"074d64ca-10ec-4c50-b0e1-4c85903f8b4c", "b9e259a1-51c5-40b3-98ef-0eeaf52dca45", wire.LogicFocus, "cf06e919-02b7-41a7-a03f-4239592f3c21"},
		{"344d64ca-10ec-4c50-b0e1-4c85903f8b4c", "b9e259a1-51c5-40b3-98ef-0eeaf52dca45", wire.LogicFocusWorst, ""},
	}
	if len(p.Blocks) != len(want) {
		t.Fatalf("%d blocks, want %d", len(p.Blocks), len(want))
	}
	for i, w := range want {
		b := p.Blocks[i]
		parent := ""
		if b.Parent >= 0 {
			parent = p.Blocks[b.Parent].ID
		}
		if got := (blk{b.ID, parent, b.Logic, b.FocusID}); got != w {
			t.Errorf("block %d: got %+v, want %+v", i, got, w)
		}
	}
	noReport := map[string]bool{}
	for _, c := range p.Components {
		if c.NoReport {
			noReport[c.ID] = true
		}
	}
	if len(noReport) != 2 || !noReport["c76686bb-79ab-4ae5-b45f-108492ab4101"] || !noReport["d76686bb-79ab-4ae5-b45f-108492ab4101"] {
		t.Errorf("components with reporting disabled: got %v", noReport)
	}
}

// TestCorpusPolicyMode checks each item of policy_mode.yml resolves to the mode its name
// says, with the directive in audit and in enforce.
func TestCorpusPolicyMode(t *testing.T) {
	tech := loadCorpus(t, "policy_mode.yml")
	for _, global := range []Mode{ModeAudit, ModeEnforce} {
		p := compileOne(t, tech, nil, global)
		for _, c := range p.Components {
			var want wire.PolicyMode
			switch c.Name {
			case "Resolve to audit", "In audit mode":
				want = wire.ModeAudit
			case "Resolve to enforce", "In enforce mode":
				want = wire.ModeEnforce
			case "In omit mode", "In default mode":
				want = global.wire()
			default:
				t.Fatalf("unexpected item %q", c.Name)
			}
			if c.Mode != want {
				t.Errorf("directive in %s: %q (%s): got %v, want %v", global, c.Name, c.ID, c.Mode, want)
			}
		}
	}
}

func TestLibrary(t *testing.T) {
	lib := Library()
	if len(lib) < 12 {
		t.Errorf("%d built-in techniques, want at least 12", len(lib))
	}
	for _, tech := range lib {
		if tech.Category == "" || tech.Description == "" {
			t.Errorf("technique %s: category and description wanted", tech.ID)
		}
	}
	for _, m := range []string{"file_content", "package_present", "service_started", "user_present", "sysctl_value", "schedule_simple", "file_check_exists", "http_request_check_status_headers"} {
		if _, ok := LookupMethod(m); !ok {
			t.Errorf("method %s missing from the catalogue", m)
		}
	}
	if n := len(Methods()); n < 48 {
		t.Errorf("%d methods, want at least 48", n)
	}
}
