package compliance

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// Errors of Ingest: the report is refused as a whole and changes nothing.
var (
	ErrUnknownNode = errors.New("compliance: no applied policy for this node")
	ErrReplay      = errors.New("compliance: run already received")
	ErrFuture      = errors.New("compliance: report from the future")
)

// Defaults of Config (DESIGN.md §1).
const (
	DefaultGrace       = 5 * time.Minute
	DefaultMaxSkew     = time.Hour
	defaultRunInterval = 5 * time.Minute
)

// Config configures an Engine. Zero fields take the defaults named beside them.
type Config struct {
	// Grace is the grace period G: a node is applying until its new config id was generated
	// I + G ago, and no answer once its last run is older than I + G (I × H + G in
	// changes-only mode). Default 5 min.
	Grace time.Duration
	// MaxSkew is how far in the future a run may end, for clocks that drift: a later one is
	// refused. Default 1 h.
	MaxSkew time.Duration
}

const never = math.MaxInt64

// Engine holds the compliance of a fleet. It is safe for concurrent use.
type Engine struct {
	mu        sync.Mutex
	grace     int64
	maxSkew   int64
	layouts   map[string]*layout
	nodeIdx   map[string]int32
	nodes     []node
	deadlines []int64 // per node slot: when time alone changes its states; never for free slots
	free      []int32
	dirs      []aggregate
	dirIdx    map[string]int32
	rules     []aggregate
	ruleIdx   map[string]int32
	fleet     Counts
	// scratch, reused under mu
	dirBad, ruleBad []bool
	old             []State
}

// aggregate is a directive's or a rule's running totals.
type aggregate struct {
	id, name       string
	counts         Counts
	nodes, nodesOK int64
}

// node is one node's compliance state: a few words, a byte per component, and the
// messages of the latest run.
type node struct {
	id                     string
	lay, prevLay           *layout
	configID, prevConfigID string
	mode                   wire.ReportingMode
	generated, applyEnd    int64
	window                 int64 // how long a run keeps the node answering, grace not included
	lastRunID              uint64
	lastRunConfig          string
	lastRunStart, lastRun  int64 // the latest run's start and end, unix ns; 0 for none
	forceAudit             bool
	hasRun                 bool    // a run on the current config id was received
	raw                    []State // per component, from that run
	eff                    []State // per component, as counted now
	msgs                   []message
	extra                  int64 // results that match no expected component
	overlay                State // a state that stands for every component (applying, no answer, ...)
	counts                 Counts
	accounted              bool
}

type message struct {
	index uint32
	text  string
}

// New returns an empty engine.
func New(cfg Config) *Engine {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = DefaultMaxSkew
	}
	return &Engine{
		grace: int64(cfg.Grace), maxSkew: int64(cfg.MaxSkew),
		layouts: map[string]*layout{}, nodeIdx: map[string]int32{},
		dirIdx: map[string]int32{}, ruleIdx: map[string]int32{},
	}
}

// SetGrace changes the grace period (the settings changed); states follow at the next call
// that passes a time.
func (e *Engine) SetGrace(g time.Duration) {
	if g <= 0 {
		g = DefaultGrace
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.grace = int64(g)
	for i := range e.nodes {
		if e.nodes[i].id != "" {
			e.deadlines[i] = math.MinInt64 // recomputed by the next Advance
		}
	}
}

func intern(idx map[string]int32, aggs *[]aggregate, id, name string) int32 {
	if i, ok := idx[id]; ok {
		if name != "" {
			(*aggs)[i].name = name
		}
		return i
	}
	i := int32(len(*aggs))
	*aggs = append(*aggs, aggregate{id: id, name: name})
	idx[id] = i
	return i
}

func (e *Engine) layoutOf(p *wire.AppliedPolicy) *layout {
	key := shapeKey(p)
	if l, ok := e.layouts[key]; ok {
		l.refs++
		return l
	}
	l := buildLayout(p, key,
		func(id, name string) int32 { return intern(e.dirIdx, &e.dirs, id, name) },
		func(id, name string) int32 { return intern(e.ruleIdx, &e.rules, id, name) })
	l.refs = 1
	e.layouts[l.key] = l
	if n := len(l.dirs); n > len(e.dirBad) {
		e.dirBad = make([]bool, n)
	}
	if n := len(l.rules); n > len(e.ruleBad) {
		e.ruleBad = make([]bool, n)
	}
	return l
}

func (e *Engine) release(l *layout) {
	if l == nil {
		return
	}
	if l.refs--; l.refs == 0 {
		delete(e.layouts, l.key)
	}
}

// SetPolicy loads a node's applied policy: its expected components from now on. A policy
// with the config id the engine holds already changes nothing.
func (e *Engine) SetPolicy(p *wire.AppliedPolicy, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.nodeIdx[p.NodeID]
	if !ok {
		if k := len(e.free); k > 0 {
			i, e.free = e.free[k-1], e.free[:k-1]
		} else {
			i = int32(len(e.nodes))
			e.nodes = append(e.nodes, node{})
			e.deadlines = append(e.deadlines, never)
		}
		e.nodes[i] = node{id: p.NodeID}
		e.nodeIdx[p.NodeID] = i
	}
	n := &e.nodes[i]
	if n.configID == p.ConfigID {
		return
	}
	e.account(n, -1)
	e.release(n.prevLay)
	n.prevLay, n.prevConfigID = n.lay, n.configID
	n.lay, n.configID = e.layoutOf(p), p.ConfigID
	n.mode = p.ReportingMode
	if n.mode == 0 {
		n.mode = wire.ReportingFull
	}
	n.generated = p.Generated.UnixNano()
	interval := p.RunInterval
	if interval <= 0 {
		interval = defaultRunInterval
	}
	n.window = int64(interval)
	if n.mode == wire.ReportingChangesOnly {
		n.window *= int64(max(p.HeartbeatRuns, 1))
	}
	// The grace period is added where these are read, so SetGrace recomputes nothing.
	n.applyEnd = n.generated + int64(interval)
	n.hasRun = false
	n.raw = resize(n.raw, len(n.lay.comps))
	n.eff = resize(n.eff, len(n.lay.comps))
	n.msgs = n.msgs[:0]
	n.extra = 0
	e.refresh(i, now.UnixNano())
}

func resize(s []State, n int) []State {
	if cap(s) < n {
		return make([]State, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// RemoveNode forgets a node (deleted, refused, or without a policy any more).
func (e *Engine) RemoveNode(nodeID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.nodeIdx[nodeID]
	if !ok {
		return
	}
	n := &e.nodes[i]
	e.account(n, -1)
	e.release(n.lay)
	e.release(n.prevLay)
	*n = node{}
	e.deadlines[i] = never
	delete(e.nodeIdx, nodeID)
	e.free = append(e.free, i)
}

// overlayAt returns the state that stands for every component of n at now (StateNone when
// its run's own states count), and when that changes by time alone.
func (e *Engine) overlayAt(n *node, now int64) (State, int64) {
	window := n.window + e.grace
	switch {
	case n.mode == wire.ReportingDisabled:
		return StateReportsDisabled, never
	case n.hasRun && now < n.lastRun+window:
		return StateNone, n.lastRun + window
	case n.hasRun:
		return StateNoAnswer, never
	case now < n.applyEnd+e.grace:
		return StateApplying, n.applyEnd + e.grace
	case n.lastRun != 0 && now < n.lastRun+window:
		// The node runs, but not its newest config id, past the grace period.
		return StateUnexpected, n.lastRun + window
	}
	return StateNoAnswer, never
}

// refresh recomputes node i's effective states at now and accounts them.
func (e *Engine) refresh(i int32, now int64) {
	n := &e.nodes[i]
	e.account(n, -1)
	ov, deadline := e.overlayAt(n, now)
	n.overlay = ov
	e.deadlines[i] = deadline
	for c := range n.lay.comps {
		switch {
		case !n.lay.comps[c].counted:
			n.eff[c] = n.raw[c] // shown, never counted
		case ov != StateNone:
			n.eff[c] = ov
		default:
			n.eff[c] = n.raw[c]
		}
	}
	e.account(n, +1)
}

// account adds (sign +1) or removes (sign -1) a node's counted units from the aggregates.
func (e *Engine) account(n *node, sign int64) {
	if n.lay == nil || (sign < 0) != n.accounted {
		return
	}
	n.accounted = sign > 0
	l := n.lay
	if sign > 0 {
		n.counts = Counts{}
	}
	dirBad, ruleBad := e.dirBad[:len(l.dirs)], e.ruleBad[:len(l.rules)]
	clear(dirBad)
	clear(ruleBad)
	add := func(d uint16, s State, w int64) {
		if sign > 0 {
			n.counts[s] += w
		}
		w *= sign
		e.fleet[s] += w
		e.dirs[l.dirs[d].g].counts[s] += w
		e.rules[l.rules[l.dirs[d].rule]].counts[s] += w
		if !s.OK() {
			dirBad[d] = true
		}
	}
	if l.units == nil {
		for c := range l.comps {
			if l.comps[c].counted {
				add(l.comps[c].dir, n.eff[c], 1)
			}
		}
	} else {
		for _, u := range l.units {
			s := StateNone
			for _, c := range u.pick {
				s = max(s, n.eff[c])
			}
			add(u.dir, s, int64(u.weight))
		}
	}
	if n.extra > 0 {
		if sign > 0 {
			n.counts[StateUnexpected] += n.extra
		}
		e.fleet[StateUnexpected] += sign * n.extra
	}
	if n.overlay == StateReportsDisabled {
		return // no compliance, so not among the nodes a rule is measured on
	}
	for d := range l.dirs {
		agg := &e.dirs[l.dirs[d].g]
		agg.nodes += sign
		if !dirBad[d] {
			agg.nodesOK += sign
		}
		ruleBad[l.dirs[d].rule] = ruleBad[l.dirs[d].rule] || dirBad[d]
	}
	for r := range l.rules {
		agg := &e.rules[l.rules[r]]
		agg.nodes += sign
		if !ruleBad[r] {
			agg.nodesOK += sign
		}
	}
}

// Outcome is what one report did.
type Outcome struct {
	// Drifts are the run's repaired, non-compliant and error results.
	Drifts []Drift
	// Unexpected says why results or the whole run were classified unexpected.
	Unexpected []string
	// Changes are the components whose state changed, in index order.
	Changes []Change
}

// Drift is one result that fires a drift event.
type Drift struct {
	Kind           string // repaired, non-compliant or error (see [DriftKind])
	Index          int
	ComponentID    string
	ComponentName  string
	DirectiveID    string
	DirectiveName  string
	RuleID         string
	RuleName       string
	State          State
	Message        string
	CurrentConfig  bool // the run was on the node's newest config id
	ReportedStatus wire.ReportStatus
}

// Change is one component whose state changed.
type Change struct {
	Index    int
	From, To State
}

// Ingest takes one run's report, received at now. It refuses a node without a policy
// ([ErrUnknownNode]), a run id not above the last one ([ErrReplay]) and a run that ends after
// now + MaxSkew ([ErrFuture]); a report on an unknown config id, an index out of range, a
// result for a component that does not report, or a second result for one component are
// classified unexpected, with the reason in the outcome.
func (e *Engine) Ingest(r *wire.ReportBody, now time.Time) (Outcome, error) {
	return e.ingest(r, now, true)
}

// Restore takes back the latest run of a node as the root stored it, after a restart: like
// Ingest, without the checks and without an outcome.
func (e *Engine) Restore(r *wire.ReportBody, now time.Time) {
	_, _ = e.ingest(r, now, false)
}

func (e *Engine) ingest(r *wire.ReportBody, now time.Time, check bool) (Outcome, error) {
	var out Outcome
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.nodeIdx[r.NodeID]
	if !ok {
		return out, fmt.Errorf("%w: node %s", ErrUnknownNode, r.NodeID)
	}
	n := &e.nodes[i]
	nowNs, end := now.UnixNano(), r.End.UnixNano()
	if check {
		if r.RunID <= n.lastRunID {
			return out, fmt.Errorf("%w: node %s run %d, latest %d", ErrReplay, r.NodeID, r.RunID, n.lastRunID)
		}
		if end > nowNs+e.maxSkew {
			return out, fmt.Errorf("%w: node %s run %d ends %s, now is %s", ErrFuture, r.NodeID, r.RunID, r.End.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	e.account(n, -1) // before anything it counts changes
	n.lastRunID = r.RunID
	n.lastRunConfig = r.ConfigID
	n.lastRunStart, n.lastRun = r.Start.UnixNano(), min(end, nowNs)
	n.forceAudit = r.ForceAudit

	var lay *layout
	current := false
	switch r.ConfigID {
	case n.configID:
		lay, current = n.lay, true
	case n.prevConfigID:
		lay = n.prevLay
		if check {
			out.Unexpected = append(out.Unexpected, fmt.Sprintf("run %d is on the previous config id %s; the newest is %s", r.RunID, r.ConfigID, n.configID))
		}
	default:
		if check {
			out.Unexpected = append(out.Unexpected, fmt.Sprintf("run %d is on config id %s, unknown here; the newest is %s", r.RunID, r.ConfigID, n.configID))
		}
	}
	if check && lay != nil {
		e.drifts(&out, lay, r, current)
	}
	if !current {
		if n.hasRun {
			// The node moved to a config the root does not know, or went back: its
			// states from the current config no longer hold.
			n.hasRun = false
			clear(n.raw)
			n.msgs, n.extra = n.msgs[:0], 0
		}
		e.refreshWithChanges(i, nowNs, &out, check)
		return out, nil
	}
	n.hasRun = true
	clear(n.raw)
	n.msgs, n.extra = n.msgs[:0], 0
	for _, res := range r.Results {
		idx := int(res.Index)
		if res.Message != "" && idx < len(lay.comps) {
			n.msgs = append(n.msgs, message{index: res.Index, text: res.Message})
		}
		switch {
		case idx >= len(lay.comps):
			n.extra++
			if check {
				out.Unexpected = append(out.Unexpected, fmt.Sprintf("run %d: component index %d out of range (the policy has %d)", r.RunID, idx, len(lay.comps)))
			}
		case lay.comps[idx].hidden:
		case !lay.comps[idx].counted:
			n.extra++
			if check {
				out.Unexpected = append(out.Unexpected, fmt.Sprintf("run %d: component %d (%s) does not report", r.RunID, idx, lay.comps[idx].name))
			}
		case n.raw[idx] != StateNone:
			n.raw[idx] = StateUnexpected
			if check {
				out.Unexpected = append(out.Unexpected, fmt.Sprintf("run %d: component %d (%s) reported twice", r.RunID, idx, lay.comps[idx].name))
			}
		default:
			n.raw[idx] = classify(res.Status, modeOf(lay.comps[idx].mode, r.ForceAudit))
		}
	}
	if !slices.IsSortedFunc(n.msgs, func(a, b message) int { return int(a.index) - int(b.index) }) {
		slices.SortStableFunc(n.msgs, func(a, b message) int { return int(a.index) - int(b.index) })
	}
	for c := range lay.comps {
		if n.raw[c] != StateNone || !lay.comps[c].counted {
			continue
		}
		if r.ReportingMode == wire.ReportingChangesOnly {
			n.raw[c] = successOf(modeOf(lay.comps[c].mode, r.ForceAudit))
		} else {
			n.raw[c] = StateMissing
		}
	}
	e.refreshWithChanges(i, nowNs, &out, check)
	return out, nil
}

func modeOf(m wire.PolicyMode, forceAudit bool) wire.PolicyMode {
	if forceAudit {
		return wire.ModeAudit
	}
	return m
}

func (e *Engine) refreshWithChanges(i int32, now int64, out *Outcome, track bool) {
	n := &e.nodes[i]
	if !track {
		e.refresh(i, now)
		return
	}
	e.old = append(e.old[:0], n.eff...)
	e.refresh(i, now)
	for c, s := range n.eff {
		if s != e.old[c] {
			out.Changes = append(out.Changes, Change{Index: c, From: e.old[c], To: s})
		}
	}
}

// drifts adds the drift events of a run classified against lay.
func (e *Engine) drifts(out *Outcome, lay *layout, r *wire.ReportBody, current bool) {
	for _, res := range r.Results {
		if int(res.Index) >= len(lay.comps) {
			continue
		}
		c := &lay.comps[res.Index]
		s := classify(res.Status, modeOf(c.mode, r.ForceAudit))
		kind := DriftKind(s)
		if kind == "" {
			continue
		}
		d, rule := &e.dirs[lay.dirs[c.dir].g], &e.rules[lay.rules[lay.dirs[c.dir].rule]]
		out.Drifts = append(out.Drifts, Drift{
			Kind: kind, Index: int(res.Index), ComponentID: c.id, ComponentName: c.name,
			DirectiveID: d.id, DirectiveName: d.name, RuleID: rule.id, RuleName: rule.name,
			State: s, Message: res.Message, CurrentConfig: current, ReportedStatus: res.Status,
		})
	}
}

// Transition is a node whose worst state changed with time alone.
type Transition struct {
	NodeID   string
	From, To State
}

// Advance brings states that change with time (applying → no answer, answering → no
// answer) to now and returns the nodes whose worst state changed. Queries call it.
func (e *Engine) Advance(now time.Time) []Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.advance(now.UnixNano())
}

func (e *Engine) advance(now int64) []Transition {
	var out []Transition
	for i, d := range e.deadlines {
		if d > now {
			continue
		}
		n := &e.nodes[i]
		if n.lay == nil {
			e.deadlines[i] = never
			continue
		}
		before := n.counts.Worst()
		e.refresh(int32(i), now)
		if after := n.counts.Worst(); after != before {
			out = append(out, Transition{NodeID: n.id, From: before, To: after})
		}
	}
	return out
}
