package compliance

import (
	"slices"
	"strings"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// Fleet is the whole fleet's compliance.
type Fleet struct {
	Counts Counts // counted units per state
	Nodes  int    // nodes with an applied policy
	// NodesByWorst counts nodes by the worst state of their components.
	NodesByWorst Counts
	// NodesCompliant counts the nodes every component of which is compliant.
	NodesCompliant int
	Rules          int // rules applied to at least one node
}

// Summary is the compliance of a rule or a directive.
type Summary struct {
	ID, Name string
	Counts   Counts
	// Nodes is how many nodes it applies to (and report); NodesCompliant how many of those
	// comply with every directive of it.
	Nodes, NodesCompliant int64
}

// NodeCompliance is the share of compliant nodes, rounded like [Percentages], and false
// when the summary applies to no node.
func (s *Summary) NodeCompliance() (float64, bool) {
	if s.Nodes == 0 {
		return 0, false
	}
	return Percentages([]int64{s.NodesCompliant, s.Nodes - s.NodesCompliant})[0], true
}

// NodeSummary is one node's compliance.
type NodeSummary struct {
	ID            string
	ConfigID      string
	Generated     time.Time
	ReportingMode wire.ReportingMode
	Counts        Counts
	Worst         State
	// The latest run the node sent, whatever its config id.
	RunID         uint64
	RunConfigID   string
	RunStart      time.Time
	RunEnd        time.Time
	ForceAudit    bool
	RunsNewest    bool // the latest run is on the newest config id
	OverlayReason State
}

// ComponentState is one component of one node.
type ComponentState struct {
	Index         int
	ID, Name      string
	DirectiveID   string
	DirectiveName string
	RuleID        string
	RuleName      string
	Mode          wire.PolicyMode
	State         State
	Message       string
	Counted       bool // false: the component does not report (or is under a disabled block)
}

// NodeDirective is one directive on one node.
type NodeDirective struct {
	ID, Name         string
	RuleID, RuleName string
	OverriddenRules  []string
	Counts           Counts
	Worst            State
}

// NodeDetail is one node with its directives and components.
type NodeDetail struct {
	NodeSummary
	Directives []NodeDirective
	Components []ComponentState
}

// NodeRow is one node in a rule's or a directive's drill-down: its counts for that rule
// or directive, and the components that match the filter.
type NodeRow struct {
	NodeID     string
	Counts     Counts
	Worst      State
	Components []ComponentState
}

// RuleDetail is a rule with its directives and nodes.
type RuleDetail struct {
	Summary
	Directives []Summary
	Nodes      []NodeRow
}

// ComponentSummary counts one component of a directive across nodes.
type ComponentSummary struct {
	ID, Name string
	Counts   Counts
}

// DirectiveDetail is a directive with its components and nodes.
type DirectiveDetail struct {
	Summary
	Components []ComponentSummary
	Nodes      []NodeRow
}

// Filter narrows drill-downs to states. A node row is kept when one of its components
// matches; its components are listed when they match. Without states, every node is kept
// and the components listed are those that are not compliant, or all of them with All.
type Filter struct {
	States []State
	All    bool
}

func (f *Filter) matches(s State) bool {
	if len(f.States) == 0 {
		return f.All || !s.OK()
	}
	return slices.Contains(f.States, s)
}

func (f *Filter) keepsRow(c *Counts) bool {
	if len(f.States) == 0 {
		return true
	}
	for _, s := range f.States {
		if c[s] > 0 {
			return true
		}
	}
	return false
}

// Fleet returns the fleet's compliance at now.
func (e *Engine) Fleet(now time.Time) Fleet {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now.UnixNano())
	f := Fleet{Counts: e.fleet, Nodes: len(e.nodeIdx)}
	for i := range e.nodes {
		n := &e.nodes[i]
		if n.lay == nil {
			continue
		}
		w := n.counts.Worst()
		f.NodesByWorst[w]++
		if w != StateNone && w.OK() {
			f.NodesCompliant++
		}
	}
	for i := range e.rules {
		if e.rules[i].nodes > 0 || e.rules[i].counts.Total() > 0 {
			f.Rules++
		}
	}
	return f
}

func summaries(aggs []aggregate) []Summary {
	var out []Summary
	for _, a := range aggs {
		if a.nodes == 0 && a.counts.Total() == 0 {
			continue
		}
		out = append(out, Summary{ID: a.id, Name: a.name, Counts: a.counts, Nodes: a.nodes, NodesCompliant: a.nodesOK})
	}
	slices.SortFunc(out, func(a, b Summary) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Rules returns every rule applied to a node, by name.
func (e *Engine) Rules(now time.Time) []Summary {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now.UnixNano())
	return summaries(e.rules)
}

// Totals returns what Rules returns and the fleet's component counts, in one hold of the
// engine's lock and without Fleet's walk of every node: what a metrics scrape reads.
func (e *Engine) Totals(now time.Time) (rules []Summary, fleet Counts) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now.UnixNano())
	return summaries(e.rules), e.fleet
}

// Directives returns every directive applied to a node, by name.
func (e *Engine) Directives(now time.Time) []Summary {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now.UnixNano())
	return summaries(e.dirs)
}

func (e *Engine) summary(n *node) NodeSummary {
	s := NodeSummary{
		ID: n.id, ConfigID: n.configID, ReportingMode: n.mode, Counts: n.counts, Worst: n.counts.Worst(),
		RunID: n.lastRunID, RunConfigID: n.lastRunConfig, ForceAudit: n.forceAudit, RunsNewest: n.hasRun,
		OverlayReason: n.overlay,
	}
	s.Generated = time.Unix(0, n.generated).UTC()
	if n.lastRun != 0 {
		s.RunStart, s.RunEnd = time.Unix(0, n.lastRunStart).UTC(), time.Unix(0, n.lastRun).UTC()
	}
	return s
}

// Nodes returns every node's summary, in no particular order.
func (e *Engine) Nodes(now time.Time) []NodeSummary {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now.UnixNano())
	out := make([]NodeSummary, 0, len(e.nodeIdx))
	for i := range e.nodes {
		if n := &e.nodes[i]; n.lay != nil {
			out = append(out, e.summary(n))
		}
	}
	return out
}

// Group returns the counts of the given nodes together (a group's members); nodes the
// engine does not hold are skipped.
func (e *Engine) Group(nodeIDs []string, now time.Time) (Counts, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now.UnixNano())
	var c Counts
	found := 0
	for _, id := range nodeIDs {
		if i, ok := e.nodeIdx[id]; ok {
			c.Add(&e.nodes[i].counts)
			found++
		}
	}
	return c, found
}

func (e *Engine) component(n *node, c int) ComponentState {
	l := n.lay
	lc := &l.comps[c]
	d := &l.dirs[lc.dir]
	cs := ComponentState{
		Index: c, ID: lc.id, Name: lc.name, Mode: modeOf(lc.mode, n.forceAudit && n.hasRun),
		DirectiveID: e.dirs[d.g].id, DirectiveName: e.dirs[d.g].name,
		RuleID: e.rules[l.rules[d.rule]].id, RuleName: e.rules[l.rules[d.rule]].name,
		State: n.eff[c], Counted: lc.counted,
	}
	if n.overlay == StateNone {
		if k, ok := slices.BinarySearchFunc(n.msgs, uint32(c), func(m message, t uint32) int { return int(m.index) - int(t) }); ok {
			cs.Message = n.msgs[k].text
		}
	}
	return cs
}

// unitStates calls fn with each counted unit's directive slot, state and weight.
func unitStates(n *node, fn func(dir uint16, s State, w int64)) {
	l := n.lay
	if l.units == nil {
		for c := range l.comps {
			if l.comps[c].counted {
				fn(l.comps[c].dir, n.eff[c], 1)
			}
		}
		return
	}
	for _, u := range l.units {
		s := StateNone
		for _, c := range u.pick {
			s = max(s, n.eff[c])
		}
		fn(u.dir, s, int64(u.weight))
	}
}

// Node returns one node's compliance with its directives and components.
func (e *Engine) Node(nodeID string, now time.Time) (NodeDetail, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now.UnixNano())
	i, ok := e.nodeIdx[nodeID]
	if !ok {
		return NodeDetail{}, false
	}
	n := &e.nodes[i]
	d := NodeDetail{NodeSummary: e.summary(n)}
	l := n.lay
	d.Directives = make([]NodeDirective, len(l.dirs))
	for k, ld := range l.dirs {
		nd := NodeDirective{ID: e.dirs[ld.g].id, Name: e.dirs[ld.g].name,
			RuleID: e.rules[l.rules[ld.rule]].id, RuleName: e.rules[l.rules[ld.rule]].name}
		for _, o := range ld.overridden {
			nd.OverriddenRules = append(nd.OverriddenRules, e.rules[o].id)
		}
		d.Directives[k] = nd
	}
	unitStates(n, func(dir uint16, s State, w int64) { d.Directives[dir].Counts[s] += w })
	for k := range d.Directives {
		d.Directives[k].Worst = d.Directives[k].Counts.Worst()
	}
	for c := range l.comps {
		d.Components = append(d.Components, e.component(n, c))
	}
	return d, true
}

// Rule returns a rule with its directives and, per node, its counts and the components
// that match the filter.
func (e *Engine) Rule(ruleID string, f Filter, now time.Time) (RuleDetail, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now.UnixNano())
	ri, ok := e.ruleIdx[ruleID]
	if !ok {
		return RuleDetail{}, false
	}
	a := &e.rules[ri]
	out := RuleDetail{Summary: Summary{ID: a.id, Name: a.name, Counts: a.counts, Nodes: a.nodes, NodesCompliant: a.nodesOK}}
	dirs := map[int32]int{} // global directive → index in out.Directives
	dirBad := map[int32]bool{}
	for i := range e.nodes {
		n := &e.nodes[i]
		if n.lay == nil {
			continue
		}
		l := n.lay
		slot := slices.Index(l.rules, ri)
		if slot < 0 {
			continue
		}
		row := NodeRow{NodeID: n.id}
		clear(dirBad)
		unitStates(n, func(dir uint16, s State, w int64) {
			if l.dirs[dir].rule != uint16(slot) {
				return
			}
			g := l.dirs[dir].g
			k, ok := dirs[g]
			if !ok {
				k = len(out.Directives)
				dirs[g] = k
				out.Directives = append(out.Directives, Summary{ID: e.dirs[g].id, Name: e.dirs[g].name})
			}
			out.Directives[k].Counts[s] += w
			row.Counts[s] += w
			if !s.OK() {
				dirBad[g] = true
			}
		})
		if n.overlay != StateReportsDisabled {
			for _, ld := range l.dirs {
				if ld.rule != uint16(slot) {
					continue
				}
				k, ok := dirs[ld.g]
				if !ok {
					k = len(out.Directives)
					dirs[ld.g] = k
					out.Directives = append(out.Directives, Summary{ID: e.dirs[ld.g].id, Name: e.dirs[ld.g].name})
				}
				out.Directives[k].Nodes++
				if !dirBad[ld.g] {
					out.Directives[k].NodesCompliant++
				}
			}
		}
		row.Worst = row.Counts.Worst()
		if !f.keepsRow(&row.Counts) {
			continue
		}
		for c := range l.comps {
			if l.dirs[l.comps[c].dir].rule == uint16(slot) && f.matches(n.eff[c]) {
				row.Components = append(row.Components, e.component(n, c))
			}
		}
		out.Nodes = append(out.Nodes, row)
	}
	slices.SortFunc(out.Nodes, func(a, b NodeRow) int { return strings.Compare(a.NodeID, b.NodeID) })
	return out, true
}

// Directive returns a directive with its components across nodes and, per node, the
// components that match the filter.
func (e *Engine) Directive(directiveID string, f Filter, now time.Time) (DirectiveDetail, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now.UnixNano())
	di, ok := e.dirIdx[directiveID]
	if !ok {
		return DirectiveDetail{}, false
	}
	a := &e.dirs[di]
	out := DirectiveDetail{Summary: Summary{ID: a.id, Name: a.name, Counts: a.counts, Nodes: a.nodes, NodesCompliant: a.nodesOK}}
	comps := map[string]int{}
	for i := range e.nodes {
		n := &e.nodes[i]
		if n.lay == nil {
			continue
		}
		l := n.lay
		slot := slices.IndexFunc(l.dirs, func(d ldir) bool { return d.g == di })
		if slot < 0 {
			continue
		}
		row := NodeRow{NodeID: n.id}
		unitStates(n, func(dir uint16, s State, w int64) {
			if int(dir) == slot {
				row.Counts[s] += w
			}
		})
		for c := range l.comps {
			lc := &l.comps[c]
			if int(lc.dir) != slot || !lc.counted {
				continue
			}
			key := lc.id + "\x00" + lc.name
			k, ok := comps[key]
			if !ok {
				k = len(out.Components)
				comps[key] = k
				out.Components = append(out.Components, ComponentSummary{ID: lc.id, Name: lc.name})
			}
			out.Components[k].Counts[n.eff[c]]++
		}
		row.Worst = row.Counts.Worst()
		if !f.keepsRow(&row.Counts) {
			continue
		}
		for c := range l.comps {
			if int(l.comps[c].dir) == slot && f.matches(n.eff[c]) {
				row.Components = append(row.Components, e.component(n, c))
			}
		}
		out.Nodes = append(out.Nodes, row)
	}
	slices.SortFunc(out.Nodes, func(a, b NodeRow) int { return strings.Compare(a.NodeID, b.NodeID) })
	return out, true
}

// Sample calls rule for every rule and node for every node with their counts at now: the
// points of compliance history.
func (e *Engine) Sample(now time.Time, rule func(id string, c *Counts), node func(id string, c *Counts)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advance(now.UnixNano())
	for i := range e.rules {
		if a := &e.rules[i]; a.nodes > 0 || a.counts.Total() > 0 {
			rule(a.id, &a.counts)
		}
	}
	for i := range e.nodes {
		if n := &e.nodes[i]; n.lay != nil {
			node(n.id, &n.counts)
		}
	}
}

// LastRun returns the latest run id the engine holds for a node, 0 for none.
func (e *Engine) LastRun(nodeID string) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i, ok := e.nodeIdx[nodeID]; ok {
		return e.nodes[i].lastRunID
	}
	return 0
}

// ConfigID returns the config id the engine holds for a node.
func (e *Engine) ConfigID(nodeID string) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i, ok := e.nodeIdx[nodeID]; ok {
		return e.nodes[i].configID, true
	}
	return "", false
}
