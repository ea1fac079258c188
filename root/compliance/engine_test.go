package compliance

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/bosun-io/bosun/wire"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// dir describes one directive of a test policy: its rule, mode and number of components.
type dir struct {
	rule, id string
	mode     wire.PolicyMode
	comps    int
}

func policy(nodeID, configID string, gen time.Time, rm wire.ReportingMode, dirs ...dir) *wire.AppliedPolicy {
	p := &wire.AppliedPolicy{NodeID: nodeID, ConfigID: configID, Generated: gen, RunInterval: 5 * time.Minute, HeartbeatRuns: 1, ReportingMode: rm}
	for i, d := range dirs {
		p.Directives = append(p.Directives, wire.PolicyDirective{RuleID: d.rule, RuleName: "Rule " + d.rule, DirectiveID: d.id, DirectiveName: "Directive " + d.id, Mode: d.mode})
		for c := range d.comps {
			p.Components = append(p.Components, wire.Component{Directive: i, Block: -1, ID: fmt.Sprintf("%s-%d", d.id, c), Name: fmt.Sprintf("component %d of %s", c, d.id), Mode: d.mode})
		}
	}
	return p
}

func report(nodeID, configID string, run uint64, end time.Time, rm wire.ReportingMode, results ...wire.ComponentResult) *wire.ReportBody {
	return &wire.ReportBody{NodeID: nodeID, ConfigID: configID, RunID: run, Start: end.Add(-time.Second), End: end, ReportingMode: rm, Results: results}
}

func res(i uint32, st wire.ReportStatus, msg ...string) wire.ComponentResult {
	r := wire.ComponentResult{Index: i, Status: st}
	if len(msg) > 0 {
		r.Message = msg[0]
	}
	return r
}

func all(n int, st wire.ReportStatus) []wire.ComponentResult {
	out := make([]wire.ComponentResult, n)
	for i := range out {
		out[i] = res(uint32(i), st)
	}
	return out
}

func states(t *testing.T, e *Engine, node string, now time.Time) []State {
	t.Helper()
	d, ok := e.Node(node, now)
	if !ok {
		t.Fatalf("node %s unknown", node)
	}
	var out []State
	for _, c := range d.Components {
		out = append(out, c.State)
	}
	return out
}

func S(s ...State) []State { return s }

// TestStates drives one node through every state, each case a policy, a sequence of runs
// and the component states at a given time.
func TestStates(t *testing.T) {
	E, A := wire.ModeEnforce, wire.ModeAudit
	full, changes, disabled := wire.ReportingFull, wire.ReportingChangesOnly, wire.ReportingDisabled
	type run struct {
		config  string
		at      time.Duration // after t0
		mode    wire.ReportingMode
		force   bool
		results []wire.ComponentResult
	}
	cases := []struct {
		name    string
		rm      wire.ReportingMode
		dirs    []dir
		runs    []run
		at      time.Duration
		want    []State
		extra   int64 // unexpected results outside components
		wantErr error
	}{
		{name: "success", rm: full, dirs: []dir{{"r", "d", E, 3}},
			runs: []run{{"c1", time.Minute, full, false, all(3, wire.StatusSuccess)}}, at: 2 * time.Minute,
			want: S(StateSuccess, StateSuccess, StateSuccess)},
		{name: "enforce outcomes", rm: full, dirs: []dir{{"r", "d", E, 3}},
			runs: []run{{"c1", time.Minute, full, false, []wire.ComponentResult{res(0, wire.StatusRepaired), res(1, wire.StatusError), res(2, wire.StatusNotApplicable)}}}, at: 2 * time.Minute,
			want: S(StateRepaired, StateError, StateNotApplicable)},
		{name: "audit outcomes", rm: full, dirs: []dir{{"r", "d", A, 4}},
			runs: []run{{"c1", time.Minute, full, false, []wire.ComponentResult{res(0, wire.StatusAuditCompliant), res(1, wire.StatusAuditNonCompliant), res(2, wire.StatusAuditError), res(3, wire.StatusAuditNA)}}}, at: 2 * time.Minute,
			want: S(StateCompliant, StateNonCompliant, StateAuditError, StateAuditNA)},
		{name: "bad policy mode", rm: full, dirs: []dir{{"r", "d", E, 2}},
			runs: []run{{"c1", time.Minute, full, false, []wire.ComponentResult{res(0, wire.StatusAuditCompliant), res(1, wire.StatusSuccess)}}}, at: 2 * time.Minute,
			want: S(StateBadPolicyMode, StateSuccess)},
		{name: "force audit", rm: full, dirs: []dir{{"r", "d", E, 2}},
			runs: []run{{"c1", time.Minute, full, true, []wire.ComponentResult{res(0, wire.StatusAuditCompliant), res(1, wire.StatusAuditNonCompliant)}}}, at: 2 * time.Minute,
			want: S(StateCompliant, StateNonCompliant)},
		{name: "missing", rm: full, dirs: []dir{{"r", "d", E, 3}},
			runs: []run{{"c1", time.Minute, full, false, []wire.ComponentResult{res(0, wire.StatusSuccess), res(2, wire.StatusSuccess)}}}, at: 2 * time.Minute,
			want: S(StateSuccess, StateMissing, StateSuccess)},
		{name: "unexpected index", rm: full, dirs: []dir{{"r", "d", E, 2}},
			runs: []run{{"c1", time.Minute, full, false, []wire.ComponentResult{res(0, wire.StatusSuccess), res(1, wire.StatusSuccess), res(7, wire.StatusSuccess)}}}, at: 2 * time.Minute,
			want: S(StateSuccess, StateSuccess), extra: 1},
		{name: "unexpected duplicate", rm: full, dirs: []dir{{"r", "d", E, 2}},
			runs: []run{{"c1", time.Minute, full, false, []wire.ComponentResult{res(0, wire.StatusSuccess), res(1, wire.StatusSuccess), res(1, wire.StatusError)}}}, at: 2 * time.Minute,
			want: S(StateSuccess, StateUnexpected)},
		{name: "applying", rm: full, dirs: []dir{{"r", "d", E, 2}},
			at: 9 * time.Minute, want: S(StateApplying, StateApplying)},
		{name: "applying then no answer", rm: full, dirs: []dir{{"r", "d", E, 2}},
			at: 10 * time.Minute, want: S(StateNoAnswer, StateNoAnswer)},
		{name: "answering then no answer", rm: full, dirs: []dir{{"r", "d", E, 1}},
			runs: []run{{"c1", time.Minute, full, false, all(1, wire.StatusSuccess)}}, at: 11 * time.Minute,
			want: S(StateNoAnswer)},
		{name: "answering within I+G", rm: full, dirs: []dir{{"r", "d", E, 1}},
			runs: []run{{"c1", time.Minute, full, false, all(1, wire.StatusSuccess)}}, at: 10*time.Minute + 59*time.Second,
			want: S(StateSuccess)},
		{name: "changes-only heartbeat", rm: changes, dirs: []dir{{"r", "d", E, 2}, {"r", "a", A, 1}},
			runs: []run{{"c1", time.Minute, changes, false, nil}}, at: 2 * time.Minute,
			want: S(StateSuccess, StateSuccess, StateCompliant)},
		{name: "changes-only with a change", rm: changes, dirs: []dir{{"r", "d", E, 2}},
			runs: []run{{"c1", time.Minute, changes, false, []wire.ComponentResult{res(1, wire.StatusRepaired)}}}, at: 2 * time.Minute,
			want: S(StateSuccess, StateRepaired)},
		{name: "changes-only without heartbeat", rm: changes, dirs: []dir{{"r", "d", E, 2}},
			runs: []run{{"c1", time.Minute, changes, false, nil}}, at: 12 * time.Minute,
			want: S(StateNoAnswer, StateNoAnswer)},
		{name: "changes-only, no run at all", rm: changes, dirs: []dir{{"r", "d", E, 1}},
			at: 10 * time.Minute, want: S(StateNoAnswer)},
		{name: "reports disabled", rm: disabled, dirs: []dir{{"r", "d", E, 2}},
			at: 30 * 24 * time.Hour, want: S(StateReportsDisabled, StateReportsDisabled)},
		{name: "unknown config within grace", rm: full, dirs: []dir{{"r", "d", E, 1}},
			runs: []run{{"old", time.Minute, full, false, all(1, wire.StatusSuccess)}}, at: 2 * time.Minute,
			want: S(StateApplying)},
		{name: "unknown config past grace", rm: full, dirs: []dir{{"r", "d", E, 1}},
			runs: []run{{"old", 9 * time.Minute, full, false, all(1, wire.StatusSuccess)}}, at: 11 * time.Minute,
			want: S(StateUnexpected)},
		{name: "replay", rm: full, dirs: []dir{{"r", "d", E, 1}},
			runs: []run{{"c1", time.Minute, full, false, all(1, wire.StatusSuccess)}, {"c1", 2 * time.Minute, full, false, all(1, wire.StatusError)}},
			at:   3 * time.Minute, want: S(StateSuccess), wantErr: ErrReplay},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := New(Config{})
			e.SetPolicy(policy("n1", "c1", t0, tc.rm, tc.dirs...), t0)
			var gotErr error
			for i, r := range tc.runs {
				id := uint64(i + 1)
				if tc.wantErr == ErrReplay {
					id = 1
				}
				b := report("n1", r.config, id, t0.Add(r.at), r.mode, r.results...)
				b.ForceAudit = r.force
				if _, err := e.Ingest(b, t0.Add(r.at)); err != nil {
					gotErr = err
				}
			}
			if !errors.Is(gotErr, tc.wantErr) {
				t.Fatalf("got error %v, want %v", gotErr, tc.wantErr)
			}
			if got := states(t, e, "n1", t0.Add(tc.at)); !slices.Equal(got, tc.want) {
				t.Errorf("got states %v, want %v", got, tc.want)
			}
			d, _ := e.Node("n1", t0.Add(tc.at))
			if got := d.Counts[StateUnexpected]; got != tc.extra+int64(count(tc.want, StateUnexpected)) {
				t.Errorf("got %d unexpected, want %d", got, tc.extra+int64(count(tc.want, StateUnexpected)))
			}
			// The fleet's counts are the node's.
			if f := e.Fleet(t0.Add(tc.at)); f.Counts != d.Counts {
				t.Errorf("fleet counts %v, node counts %v", f.Counts, d.Counts)
			}
		})
	}
}

func count(s []State, x State) int {
	n := 0
	for _, v := range s {
		if v == x {
			n++
		}
	}
	return n
}

func TestRefused(t *testing.T) {
	e := New(Config{})
	e.SetPolicy(policy("n1", "c1", t0, wire.ReportingFull, dir{"r", "d", wire.ModeEnforce, 1}), t0)
	cases := []struct {
		name string
		r    *wire.ReportBody
		want error
	}{
		{"unknown node", report("nx", "c1", 1, t0, wire.ReportingFull), ErrUnknownNode},
		{"from the future", report("n1", "c1", 1, t0.Add(2*time.Hour), wire.ReportingFull), ErrFuture},
	}
	for _, tc := range cases {
		if _, err := e.Ingest(tc.r, t0); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := e.LastRun("n1"); got != 0 {
		t.Errorf("a refused report moved the last run to %d", got)
	}
}

// TestTransitions follows one node through a policy change: success, applying after the
// new config id, no answer when it never reports on it, success again when it does.
func TestTransitions(t *testing.T) {
	e := New(Config{})
	d := dir{"r", "d", wire.ModeAudit, 1}
	e.SetPolicy(policy("n1", "c1", t0, wire.ReportingFull, d), t0)
	steps := []struct {
		at      time.Duration
		do      func(now time.Time) error
		want    State
		changes []Change
	}{
		{at: time.Minute, want: StateApplying},
		{at: 2 * time.Minute, do: func(now time.Time) error {
			_, err := e.Ingest(report("n1", "c1", 1, now, wire.ReportingFull, res(0, wire.StatusAuditNonCompliant, "file differs")), now)
			return err
		}, want: StateNonCompliant},
		{at: 3 * time.Minute, do: func(now time.Time) error {
			d.mode = wire.ModeEnforce
			e.SetPolicy(policy("n1", "c2", now, wire.ReportingFull, d), now)
			return nil
		}, want: StateApplying},
		{at: 6 * time.Minute, do: func(now time.Time) error { // still on the old config: applying
			_, err := e.Ingest(report("n1", "c1", 2, now, wire.ReportingFull, res(0, wire.StatusAuditNonCompliant)), now)
			return err
		}, want: StateApplying},
		{at: 13*time.Minute + time.Second, want: StateUnexpected}, // past grace, still runs c1
		{at: 14 * time.Minute, do: func(now time.Time) error {
			_, err := e.Ingest(report("n1", "c2", 3, now, wire.ReportingFull, res(0, wire.StatusRepaired)), now)
			return err
		}, want: StateRepaired},
		{at: 19 * time.Minute, do: func(now time.Time) error {
			_, err := e.Ingest(report("n1", "c2", 4, now, wire.ReportingFull, res(0, wire.StatusSuccess)), now)
			return err
		}, want: StateSuccess},
		{at: 30 * time.Minute, want: StateNoAnswer},
	}
	for i, s := range steps {
		now := t0.Add(s.at)
		if s.do != nil {
			if err := s.do(now); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		if got := states(t, e, "n1", now); got[0] != s.want {
			t.Errorf("step %d at %v: got %v, want %v", i, s.at, got[0], s.want)
		}
	}
}

func TestOutcome(t *testing.T) {
	e := New(Config{})
	e.SetPolicy(policy("n1", "c1", t0, wire.ReportingFull, dir{"r1", "d1", wire.ModeAudit, 2}, dir{"r1", "d2", wire.ModeEnforce, 2}), t0)
	now := t0.Add(time.Minute)
	out, err := e.Ingest(report("n1", "c1", 1, now, wire.ReportingFull,
		res(0, wire.StatusAuditCompliant), res(1, wire.StatusAuditNonCompliant, "/etc/motd differs"),
		res(2, wire.StatusRepaired, "restarted"), res(3, wire.StatusError, "no such package"), res(9, wire.StatusSuccess)), now)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, d := range out.Drifts {
		kinds = append(kinds, d.Kind+":"+d.DirectiveID+":"+d.Message)
	}
	want := []string{"non-compliant:d1:/etc/motd differs", "repaired:d2:restarted", "error:d2:no such package"}
	if !slices.Equal(kinds, want) {
		t.Errorf("got drifts %v, want %v", kinds, want)
	}
	if len(out.Unexpected) != 1 {
		t.Errorf("got unexpected reasons %q, want one (index 9)", out.Unexpected)
	}
	if len(out.Changes) != 4 || out.Changes[1].From != StateApplying || out.Changes[1].To != StateNonCompliant {
		t.Errorf("got changes %+v", out.Changes)
	}
	d, _ := e.Node("n1", now)
	if got := d.Components[1].Message; got != "/etc/motd differs" {
		t.Errorf("got message %q", got)
	}
	if d.Components[1].RuleID != "r1" || d.Components[1].DirectiveName != "Directive d1" {
		t.Errorf("got component %+v", d.Components[1])
	}
}

// TestRuleFormula checks rule compliance against a fleet computed by hand.
//
//	rule A: directives a1 (2 components), a2 (1); rule B: directive b1 (2)
//	n1: A and B, all success
//	n2: A and B; a2 error                    → A not compliant on n2, B compliant
//	n3: A only; a1 one repaired, one n/a      → A compliant on n3
//	n4: B only; b1 one missing               → B not compliant on n4
//	n5: A only, reports disabled             → not counted
//
// A applies to n1, n2, n3: compliant on n1, n3 → 66.67 %; components of A: n1 3 success,
// n2 2 success + 1 error, n3 1 success + 1 repaired + 1 n/a → 8 of 9 OK → 88.89 %.
// B applies to n1, n2, n4: compliant on n1, n2 → 66.67 %; components: 5 success, 1 missing
// → 83.33 %.
func TestRuleFormula(t *testing.T) {
	E := wire.ModeEnforce
	a1, a2, b1 := dir{"A", "a1", E, 2}, dir{"A", "a2", E, 1}, dir{"B", "b1", E, 2}
	e := New(Config{})
	now := t0.Add(time.Minute)
	e.SetPolicy(policy("n1", "x1", t0, wire.ReportingFull, a1, a2, b1), t0)
	e.SetPolicy(policy("n2", "x2", t0, wire.ReportingFull, a1, a2, b1), t0)
	e.SetPolicy(policy("n3", "x3", t0, wire.ReportingFull, a1, a2), t0)
	e.SetPolicy(policy("n4", "x4", t0, wire.ReportingFull, b1), t0)
	e.SetPolicy(policy("n5", "x5", t0, wire.ReportingDisabled, a1, a2), t0)
	for _, r := range []*wire.ReportBody{
		report("n1", "x1", 1, now, wire.ReportingFull, all(5, wire.StatusSuccess)...),
		report("n2", "x2", 1, now, wire.ReportingFull, res(0, wire.StatusSuccess), res(1, wire.StatusSuccess), res(2, wire.StatusError), res(3, wire.StatusSuccess), res(4, wire.StatusSuccess)),
		report("n3", "x3", 1, now, wire.ReportingFull, res(0, wire.StatusRepaired), res(1, wire.StatusNotApplicable), res(2, wire.StatusSuccess)),
		report("n4", "x4", 1, now, wire.ReportingFull, res(0, wire.StatusSuccess)),
	} {
		if _, err := e.Ingest(r, now); err != nil {
			t.Fatal(err)
		}
	}
	rules := e.Rules(now)
	type got struct {
		id            string
		nodes, ok     int64
		nodePct, comp float64
	}
	var gots []got
	for _, r := range rules {
		np, _ := r.NodeCompliance()
		cp, _ := r.Counts.Compliance()
		gots = append(gots, got{r.ID, r.Nodes, r.NodesCompliant, np, cp})
	}
	want := []got{{"A", 3, 2, 66.67, 88.89}, {"B", 3, 2, 66.67, 83.33}}
	if !slices.Equal(gots, want) {
		t.Errorf("got rules %+v, want %+v", gots, want)
	}
	rd, _ := e.Rule("A", Filter{}, now)
	if len(rd.Nodes) != 4 || len(rd.Directives) != 2 {
		t.Fatalf("rule A: got %d nodes and %d directives, want 4 and 2", len(rd.Nodes), len(rd.Directives))
	}
	if a2 := rd.Directives[1]; a2.ID != "a2" || a2.Nodes != 3 || a2.NodesCompliant != 2 {
		t.Errorf("directive a2 in rule A: got %+v", a2)
	}
	if comps := rd.Nodes[1].Components; len(comps) != 1 || comps[0].State != StateError || comps[0].DirectiveID != "a2" {
		t.Errorf("n2 in rule A: got components %+v, want the error of a2", comps)
	}
	rd, _ = e.Rule("B", Filter{States: []State{StateMissing}}, now)
	if len(rd.Nodes) != 1 || rd.Nodes[0].NodeID != "n4" {
		t.Errorf("rule B filtered on missing: got %+v", rd.Nodes)
	}
	f := e.Fleet(now)
	if f.Nodes != 5 || f.NodesCompliant != 2 || f.NodesByWorst[StateReportsDisabled] != 1 {
		t.Errorf("fleet: got %+v", f)
	}
	if c, _ := f.Counts.Compliance(); c != 86.67 { // 13 OK of 15 counted (n5 is not counted)
		t.Errorf("fleet compliance: got %v, want 86.67", c)
	}
	if tr, tf := e.Totals(now); !slices.Equal(tr, rules) || tf != f.Counts {
		t.Errorf("totals: got %+v and %v, want Rules' %+v and Fleet's %v", tr, tf, rules, f.Counts)
	}
	dd, _ := e.Directive("b1", Filter{All: true}, now)
	if dd.Summary.Nodes != 3 || dd.NodesCompliant != 2 || len(dd.Components) != 2 || dd.Components[1].Counts[StateMissing] != 1 {
		t.Errorf("directive b1: got %+v", dd)
	}
	gc, found := e.Group([]string{"n1", "n4", "nope"}, now)
	if found != 2 || gc[StateSuccess] != 6 || gc[StateMissing] != 1 {
		t.Errorf("group: got %v of %d nodes", gc, found)
	}
	// Removing a node takes it out of every aggregate.
	e.RemoveNode("n2")
	e.RemoveNode("n4")
	for _, r := range e.Rules(now) {
		if r.Nodes != 2 && r.ID == "A" || r.Nodes != 1 && r.ID == "B" {
			t.Errorf("after removal, rule %s: got %d nodes", r.ID, r.Nodes)
		}
	}
}

// TestBlocks checks the reporting logics of blocks.
func TestBlocks(t *testing.T) {
	cases := []struct {
		logic wire.ReportingLogic
		focus string
		want  Counts
	}{
		{wire.LogicWeighted, "", Counts{StateSuccess: 3, StateError: 1}},
		{wire.LogicWorstCaseWeightedOne, "", Counts{StateSuccess: 1, StateError: 1}},
		{wire.LogicWorstCaseWeightedSum, "", Counts{StateSuccess: 1, StateError: 3}},
		{wire.LogicFocus, "c1", Counts{StateSuccess: 2}},
		{wire.LogicFocus, "c2", Counts{StateSuccess: 1, StateError: 1}},
		{wire.LogicFocusWorst, "", Counts{StateSuccess: 1, StateError: 1}},
		{wire.LogicDisabled, "", Counts{StateSuccess: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.logic.String()+tc.focus, func(t *testing.T) {
			// component 0 outside the block; 1, 2, 3 in it, 2 fails.
			p := policy("n1", "c", t0, wire.ReportingFull, dir{"r", "d", wire.ModeEnforce, 4})
			p.Blocks = []wire.PolicyBlock{{ID: "b", Parent: -1, Directive: 0, Logic: tc.logic, FocusID: tc.focus}}
			for i := 1; i < 4; i++ {
				p.Components[i].Block = 0
				p.Components[i].ID = fmt.Sprintf("c%d", i)
			}
			e := New(Config{})
			e.SetPolicy(p, t0)
			now := t0.Add(time.Minute)
			if _, err := e.Ingest(report("n1", "c", 1, now, wire.ReportingFull, res(0, wire.StatusSuccess), res(1, wire.StatusSuccess), res(2, wire.StatusError), res(3, wire.StatusSuccess)), now); err != nil {
				t.Fatal(err)
			}
			d, _ := e.Node("n1", now)
			if d.Counts != tc.want {
				t.Errorf("got %v, want %v", d.Counts, tc.want)
			}
			if f := e.Fleet(now); f.Counts != tc.want {
				t.Errorf("fleet: got %v, want %v", f.Counts, tc.want)
			}
		})
	}
}

// TestRestore rebuilds an engine from policies and latest runs, as the root does after a
// restart.
func TestRestore(t *testing.T) {
	p := policy("n1", "c1", t0, wire.ReportingFull, dir{"r", "d", wire.ModeEnforce, 2})
	r := report("n1", "c1", 7, t0.Add(time.Minute), wire.ReportingFull, res(0, wire.StatusSuccess), res(1, wire.StatusError, "boom"))
	now := t0.Add(2 * time.Minute)
	a := New(Config{})
	a.SetPolicy(p, t0)
	if _, err := a.Ingest(r, now); err != nil {
		t.Fatal(err)
	}
	b := New(Config{})
	b.SetPolicy(p, now)
	b.Restore(r, now)
	da, _ := a.Node("n1", now)
	db, _ := b.Node("n1", now)
	if da.Counts != db.Counts || db.Components[1].Message != "boom" || b.LastRun("n1") != 7 {
		t.Errorf("restored node: got %+v, want %+v", db, da)
	}
	if _, err := b.Ingest(r, now); !errors.Is(err, ErrReplay) {
		t.Errorf("replay after restore: got %v, want ErrReplay", err)
	}
}

// TestSharedLayouts checks that nodes with the same shape of policy share a layout, and that
// layouts are dropped when no node uses them.
func TestSharedLayouts(t *testing.T) {
	e := New(Config{})
	for i := range 10 {
		e.SetPolicy(policy(fmt.Sprint("n", i), fmt.Sprint("c", i), t0, wire.ReportingFull, dir{"r", "d", wire.ModeEnforce, 5}), t0)
	}
	if len(e.layouts) != 1 {
		t.Errorf("got %d layouts for 10 nodes of one shape, want 1", len(e.layouts))
	}
	for i := range 10 {
		e.SetPolicy(policy(fmt.Sprint("n", i), fmt.Sprint("x", i), t0, wire.ReportingFull, dir{"r", "d", wire.ModeEnforce, 6}), t0)
		e.SetPolicy(policy(fmt.Sprint("n", i), fmt.Sprint("y", i), t0, wire.ReportingFull, dir{"r", "d", wire.ModeEnforce, 7}), t0)
	}
	if len(e.layouts) != 2 { // current and previous
		t.Errorf("got %d layouts, want 2", len(e.layouts))
	}
}
