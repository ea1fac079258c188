package cond

import (
	"errors"
	"strings"
	"testing"
)

func definedSet(names ...string) func(string) bool {
	set := map[string]bool{}
	for _, n := range names {
		set[n] = true
	}
	return func(n string) bool { return set[n] }
}

func TestEval(t *testing.T) {
	facts := definedSet("debian", "linux", "file_etc_motd_repaired", "x86_64")
	tests := []struct {
		expr string
		want bool
	}{
		{"", true},
		{"  ", true},
		{"any", true},
		{"true", true},
		{"false", false},
		{"!any", false},
		{"debian", true},
		{"windows", false},
		{"!windows", true},
		{"debian.linux", true},
		{"debian&linux", true},
		{"debian&&linux", true},
		{"debian.windows", false},
		{"windows|debian", true},
		{"windows||redhat", false},
		{"windows|debian.linux", true},
		{"(windows|debian).linux", true},
		{"(windows|redhat).linux", false},
		{"!(windows|redhat)", true},
		{"!!debian", true},
		{"!debian|linux", true},
		{"!debian.linux", false},
		{"windows.redhat|debian", true},  // and binds tighter than or
		{"debian|windows.redhat", true},  // and binds tighter than or
		{"!linux|windows.debian", false}, // ! binds tightest
		{" debian . ( linux | windows ) ", true},
		{"file_etc_motd_repaired", true},
		{"file_etc_motd_kept|file_etc_motd_repaired", true},
		{"default:linux", false},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		if got := e.Eval(facts); got != tt.want {
			t.Errorf("Eval(%q) = %v, want %v", tt.expr, got, tt.want)
		}
		// The canonical form parses back to an equivalent expression.
		e2, err := Parse(e.String())
		if err != nil {
			t.Errorf("Parse(String(%q) = %q): %v", tt.expr, e.String(), err)
			continue
		}
		if got := e2.Eval(facts); got != tt.want {
			t.Errorf("Eval(String(%q) = %q) = %v, want %v", tt.expr, e.String(), got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr   string
		offset int
		msg    string
	}{
		{"debian.", 7, "ends where"},
		{"(debian", 0, "unclosed parenthesis"},
		{"debian)", 6, "unexpected ')'"},
		{"debian linux", 7, "unexpected 'l'"},
		{"|debian", 0, "unexpected '|'"},
		{"debian..linux", 7, "unexpected '.'"},
		{"!", 1, "ends where"},
		{"()", 1, "unexpected ')'"},
		{"${sys.host", 0, "unclosed variable"},
		{"debian=1", 6, "unexpected '='"},
		{"(debian|linux]", 13, "expected ')'"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.expr)
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): got %v, want a SyntaxError", tt.expr, err)
			continue
		}
		if se.Offset != tt.offset || !strings.Contains(se.Msg, tt.msg) {
			t.Errorf("Parse(%q): got offset %d %q, want offset %d containing %q", tt.expr, se.Offset, se.Msg, tt.offset, tt.msg)
		}
	}
}

func TestDeepNesting(t *testing.T) {
	if _, err := Parse(strings.Repeat("(", 500) + "a" + strings.Repeat(")", 500)); err == nil {
		t.Error("got no error for 500 nested parentheses")
	}
	if _, err := Parse(strings.Repeat("!", 100) + "a"); err != nil {
		t.Errorf("100 negations: %v", err)
	}
}

func TestNamesAndVariables(t *testing.T) {
	e, err := Parse("${my_cond} . debian | ${sys.${plouf}} | !(linux.debian)")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(e.Names(), ",")
	want := "${my_cond},${sys.${plouf}},debian,linux"
	if got != want {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	if !e.HasVariables() {
		t.Error("HasVariables() = false, want true")
	}
	e, _ = Parse("file_${path}_repaired.debian")
	if got := strings.Join(e.Names(), ","); got != "debian,file_${path}_repaired" {
		t.Errorf("Names() = %q", got)
	}
	e, _ = Parse("any")
	if len(e.Names()) != 0 || e.HasVariables() || !e.IsTrue() {
		t.Errorf("any: names %v, variables %v, true %v", e.Names(), e.HasVariables(), e.IsTrue())
	}
}

func TestCanonify(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/etc/motd", "_etc_motd"},
		{"already_canon_123", "already_canon_123"},
		{"a b-c.d", "a_b_c_d"},
		{"àé", "____"},
		{"${sys.host}", "__sys_host_"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Canonify(tt.in); got != tt.want {
			t.Errorf("Canonify(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"debian", "!windows", "(a|b).c", "a&&b||!c", "${x}.y", "${sys.${h}}_ok", "((((a))))", "a.", "any|false"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		facts := func(n string) bool { return len(n)%2 == 0 }
		e2, err := Parse(e.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", e.String(), s, err)
		}
		if e.Eval(facts) != e2.Eval(facts) {
			t.Fatalf("%q and its canonical form %q disagree", s, e.String())
		}
		_ = e.Names()
	})
}
