package policy

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// Problem kinds.
const (
	ProblemConflict  = "conflict"  // two directives of a unique technique on a node: the lower priority number won
	ProblemUndefined = "undefined" // a ${node...} reference a node cannot resolve: the node keeps its previous policy
	ProblemDisabled  = "disabled"  // a directive of a disabled technique was left out
)

// Problem is something a compilation could not do as the model asks. Problems do not stop
// the other nodes' policies.
type Problem struct {
	Kind        string   `json:"kind"`
	DirectiveID string   `json:"directive_id,omitempty"`
	Message     string   `json:"message"`
	Nodes       []string `json:"nodes,omitempty"` // the nodes concerned, sorted
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: %s (%d nodes)", p.Kind, p.Message, len(p.Nodes))
}

// compiledModel is a validated model prepared for compiling many nodes.
type compiledModel struct {
	m          *Model
	settings   Settings
	groups     *compiledGroups
	params     map[string]json.RawMessage
	rules      []*cRule // by name, case-insensitively, then id
	directives map[string]*cDirective
}

type cRule struct {
	r                *Rule
	include, exclude []int
	directives       []*cDirective // by name, case-insensitively, then id
}

type cDirective struct {
	d        *Directive
	tech     *compiledTechnique
	disabled bool
	comps    []dComp
	blocks   []wire.PolicyBlock
	// static[mode] is the directive's components when no value depends on the node.
	static   [3][]wire.Component
	perNode  bool
	blockMap []int // technique block index to kept block index, -1 when skipped
	hasShell bool  // a shell parameter holds references: results depend on the OS too
	cache    sync.Map
}

type dComp struct {
	tc     *tComp
	values []string
	refs   [][]ref // node-dependent references left in each value
	cond   string
	shell  []bool
}

// prepare validates m and compiles what does not depend on nodes.
func prepare(m *Model) (*compiledModel, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	cm := &compiledModel{m: m, settings: m.Settings.WithDefaults(), params: map[string]json.RawMessage{}, directives: map[string]*cDirective{}}
	cm.groups, _ = compileGroups(m)
	for i := range m.Parameters {
		cm.params[m.Parameters[i].Name] = m.Parameters[i].Value
	}
	for i := range m.Directives {
		d := &m.Directives[i]
		cd, err := cm.compileDirective(d)
		if err != nil {
			return nil, err
		}
		cm.directives[d.ID] = cd
	}
	for i := range m.Rules {
		r := &m.Rules[i]
		cr := &cRule{r: r}
		for _, g := range r.Targets.Include {
			cr.include = append(cr.include, cm.groups.index[g])
		}
		for _, g := range r.Targets.Exclude {
			cr.exclude = append(cr.exclude, cm.groups.index[g])
		}
		for _, id := range r.Directives {
			cr.directives = append(cr.directives, cm.directives[id])
		}
		sort.SliceStable(cr.directives, func(i, j int) bool {
			return byName(cr.directives[i].d.Name, cr.directives[i].d.ID, cr.directives[j].d.Name, cr.directives[j].d.ID)
		})
		cm.rules = append(cm.rules, cr)
	}
	sort.SliceStable(cm.rules, func(i, j int) bool {
		return byName(cm.rules[i].r.Name, cm.rules[i].r.ID, cm.rules[j].r.Name, cm.rules[j].r.ID)
	})
	return cm, nil
}

func byName(n1, id1, n2, id2 string) bool {
	a, b := strings.ToLower(n1), strings.ToLower(n2)
	if a != b {
		return a < b
	}
	return id1 < id2
}

// compileDirective substitutes the directive's values into its technique and the global
// parameters into the result, leaving only node references for each node.
func (cm *compiledModel) compileDirective(d *Directive) (*cDirective, error) {
	t, _ := cm.m.Technique(d.Technique, d.TechniqueVersion)
	ct, err := compileTechnique(t)
	if err != nil {
		return nil, err
	}
	cd := &cDirective{d: d, tech: ct, disabled: cm.m.TechniqueDisabled(t.ID, t.Version)}
	values := directiveValues(d, ct)
	dontChange := map[string]bool{}
	for _, p := range d.DontChange {
		dontChange[p] = true
	}
	tparam := func(r ref) (string, bool, error) {
		if r.kind == refOther {
			if v, ok := values[r.name]; ok {
				return v, true, nil
			}
		}
		return "", false, nil
	}
	// Blocks: skipped when every component under them is skipped, which keeps indices
	// simple: a block is kept if it is an ancestor of a kept component.
	blockMap := make([]int, len(ct.blocks))
	for i := range blockMap {
		blockMap[i] = -1
	}
	var keep func(b int) int
	keep = func(b int) int {
		if b < 0 {
			return -1
		}
		if blockMap[b] >= 0 {
			return blockMap[b]
		}
		tb := ct.blocks[b]
		parent := keep(tb.parent)
		c, _ := expand(tb.cond, scanRefs(tb.cond), tparam)
		cd.blocks = append(cd.blocks, wire.PolicyBlock{ID: tb.item.ID, Name: tb.item.Name, Parent: parent, Condition: c, Logic: tb.logic, FocusID: tb.focus})
		blockMap[b] = len(cd.blocks) - 1
		return blockMap[b]
	}
	for i := range ct.comps {
		tc := &ct.comps[i]
		skip := false
		for p := range tc.tparams {
			skip = skip || dontChange[p]
		}
		if skip {
			continue
		}
		dc := dComp{tc: tc, values: make([]string, len(tc.values)), refs: make([][]ref, len(tc.values)), shell: make([]bool, len(tc.values))}
		for j, raw := range tc.values {
			v, _ := expand(raw, scanRefs(raw), tparam)
			shell := tc.method.Shell[tc.method.Params[j].Name]
			dc.shell[j] = shell
			// Global parameters are known now, except in shell parameters, whose escaping
			// depends on the node's OS.
			var left []ref
			refs := scanRefs(v)
			v, err = expand(v, refs, func(r ref) (string, bool, error) {
				if r.kind == refParam && !shell {
					s, ok := cm.paramValue(r)
					if !ok {
						return "", false, fmt.Errorf("directive %s: %s: undefined %s", d.ID, tc.method.Params[j].Name, r)
					}
					return s, true, nil
				}
				return "", false, nil
			})
			if err != nil {
				return nil, err
			}
			for _, r := range scanRefs(v) {
				if r.kind != refOther {
					left = append(left, r)
				}
			}
			dc.values[j], dc.refs[j] = v, left
			if len(left) > 0 {
				cd.perNode = true
				cd.hasShell = cd.hasShell || shell
			}
		}
		dc.cond, _ = expand(tc.cond, scanRefs(tc.cond), tparam)
		cd.comps = append(cd.comps, dc)
		_ = keep(tc.block)
	}
	cd.blockMap = blockMap
	// Components refer to blocks by their kept index.
	compBlocks := make([]int, len(cd.comps))
	for i, dc := range cd.comps {
		compBlocks[i] = -1
		if dc.tc.block >= 0 {
			compBlocks[i] = blockMap[dc.tc.block]
		}
	}
	if !cd.perNode {
		for _, mode := range []wire.PolicyMode{wire.ModeAudit, wire.ModeEnforce} {
			out := make([]wire.Component, len(cd.comps))
			for i := range cd.comps {
				out[i] = cd.comps[i].component(mode, d.System, compBlocks[i], nil)
			}
			cd.static[mode] = out
		}
	}
	return cd, nil
}

func directiveValues(d *Directive, ct *compiledTechnique) map[string]string {
	values := make(map[string]string, len(ct.t.Params))
	for _, p := range ct.t.Params {
		v, ok := d.Params[p.Name]
		if !ok && p.Default != nil {
			v = *p.Default
		}
		values[p.Name] = v
	}
	return values
}

func (dc *dComp) component(mode wire.PolicyMode, system bool, block int, values []string) wire.Component {
	if values == nil {
		values = dc.values
	}
	m := dc.tc.method
	params := make([]wire.Param, len(values))
	rep := ""
	for i, v := range values {
		params[i] = wire.Param{Name: m.Params[i].Name, Value: v}
		if m.Params[i].Name == m.Reporting {
			rep = v
		}
	}
	if dc.tc.override != 0 && !system {
		mode = dc.tc.override
	}
	return wire.Component{
		Block: block, ID: dc.tc.item.ID, Name: dc.tc.item.Name, Method: m.ID, Params: params,
		ReportingValue: rep, Condition: dc.cond, Mode: mode, NoReport: dc.tc.noReport,
	}
}

func (cm *compiledModel) paramValue(r ref) (string, bool) {
	raw, ok := cm.params[r.name]
	if !ok {
		return "", false
	}
	return jsonPath(raw, r.path)
}

// Compiler compiles applied policies for a fleet and keeps what it needs to recompile only
// what a change reaches: group memberships and rule targets as bitsets over nodes, and each
// node's config id. Methods may be called from several goroutines; they run one at a time.
type Compiler struct {
	// Now stamps Generated; time.Now when nil.
	Now func() time.Time
	// Workers is the number of goroutines compiling nodes; GOMAXPROCS when zero.
	Workers int

	mu        sync.Mutex
	cm        *compiledModel
	nodes     []Node
	alive     bitset
	index     map[string]int
	free      []int
	groupBits map[string]bitset // by group id
	ruleBits  map[string]bitset // by rule id
	configIDs []string
	serial    uint64
}

// Emit receives each applied policy whose content changed. It is called from one goroutine
// at a time, while other nodes are still being compiled.
type Emit func(*wire.AppliedPolicy)

// Stats describes one compilation pass.
type Stats struct {
	Compiled int           // nodes compiled
	Changed  int           // nodes whose config id changed (emitted)
	Elapsed  time.Duration // wall time of the pass
}

// NewCompiler returns an empty compiler; Load gives it a model and nodes.
func NewCompiler() *Compiler { return &Compiler{index: map[string]int{}} }

// Compile compiles every node's applied policy at once. For large fleets, a Compiler with an
// Emit that stores each policy as it comes keeps memory flat.
func Compile(m *Model, nodes []Node) (map[string]*wire.AppliedPolicy, []Problem, error) {
	out := make(map[string]*wire.AppliedPolicy, len(nodes))
	c := NewCompiler()
	probs, _, err := c.Load(m, nodes, func(p *wire.AppliedPolicy) { out[p.NodeID] = p })
	if err != nil {
		return nil, nil, err
	}
	return out, probs, nil
}

// SetConfigIDs tells the compiler which config id each node already holds (after a restart
// of the root), so that nodes whose content is unchanged are not emitted again.
func (c *Compiler) SetConfigIDs(ids map[string]string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, cfg := range ids {
		if i, ok := c.index[id]; ok {
			c.configIDs[i] = cfg
		}
	}
}

// ConfigID returns the config id of a node's last compiled policy.
func (c *Compiler) ConfigID(nodeID string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.index[nodeID]
	if !ok || c.configIDs[i] == "" {
		return "", false
	}
	return c.configIDs[i], true
}

// Load replaces the model and the fleet and compiles every node.
func (c *Compiler) Load(m *Model, nodes []Node, emit Emit) ([]Problem, Stats, error) {
	cm, err := prepare(m)
	if err != nil {
		return nil, Stats{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	prevIDs := map[string]string{}
	for id, i := range c.index {
		prevIDs[id] = c.configIDs[i]
	}
	c.cm = cm
	c.nodes = append([]Node(nil), nodes...)
	c.index = make(map[string]int, len(nodes))
	c.configIDs = make([]string, len(nodes))
	c.free = nil
	c.alive = newBitset(len(nodes))
	for i := range c.nodes {
		c.index[c.nodes[i].ID] = i
		c.configIDs[i] = prevIDs[c.nodes[i].ID]
		c.alive.set(i)
	}
	c.groupBits = map[string]bitset{}
	c.evalGroups(cm.groups.ids, c.alive)
	c.ruleBits = c.computeRules(cm)
	probs, st := c.compileNodes(c.alive, emit)
	st.Elapsed = time.Since(start)
	return probs, st, nil
}

// SetModel validates a new model and recompiles only the nodes its differences reach:
// changed directives, rules, groups (and the groups that refer to them); everything when
// settings, parameters or the disabled techniques change.
func (c *Compiler) SetModel(m *Model, emit Emit) ([]Problem, Stats, error) {
	cm, err := prepare(m)
	if err != nil {
		return nil, Stats{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	old := c.cm
	if old == nil {
		c.cm = cm
		c.groupBits = map[string]bitset{}
		c.evalGroups(cm.groups.ids, c.alive)
		c.ruleBits = c.computeRules(cm)
		probs, st := c.compileNodes(c.alive, emit)
		st.Elapsed = time.Since(start)
		return probs, st, nil
	}
	affected := newBitset(len(c.nodes))
	everything := !sameJSON(old.m.Settings, m.Settings) || !sameJSON(old.m.Parameters, m.Parameters) || !sameJSON(old.m.DisabledTechniques, m.DisabledTechniques)

	// Groups whose definition changed, then those that refer to them.
	oldGroups := map[string]*Group{}
	for i := range old.m.Groups {
		oldGroups[old.m.Groups[i].ID] = &old.m.Groups[i]
	}
	dirty := map[string]bool{}
	var recompute []string
	for gi, id := range cm.groups.ids { // dependencies come first
		g, _ := m.Group(id)
		og, existed := oldGroups[id]
		changed := !isBuiltinGroup(id) && (!existed || !sameJSON(og, g))
		for _, dep := range cm.groups.deps[gi] {
			changed = changed || dirty[cm.groups.ids[dep]]
		}
		if changed {
			dirty[id] = true
			recompute = append(recompute, id)
		}
	}
	c.cm = cm
	for id := range c.groupBits {
		if _, ok := cm.groups.index[id]; !ok {
			delete(c.groupBits, id)
		}
	}
	c.evalGroups(recompute, c.alive)
	newRules := c.computeRules(cm)

	oldRules := map[string]*Rule{}
	for i := range old.m.Rules {
		oldRules[old.m.Rules[i].ID] = &old.m.Rules[i]
	}
	for _, cr := range cm.rules {
		id := cr.r.ID
		or, existed := oldRules[id]
		switch {
		case !existed:
			affected.or(newRules[id])
		case !sameJSON(or, cr.r):
			affected.or(newRules[id])
			affected.or(c.ruleBits[id])
		default:
			affected.orXor(newRules[id], c.ruleBits[id])
		}
		delete(oldRules, id)
	}
	for id := range oldRules {
		affected.or(c.ruleBits[id])
	}
	// Directives: the nodes they reached before and reach now.
	oldDirs := map[string]*cDirective{}
	for id, cd := range old.directives {
		oldDirs[id] = cd
	}
	changedDirs := map[string]bool{}
	for id, cd := range cm.directives {
		od, ok := oldDirs[id]
		if !ok || !sameJSON(od.d, cd.d) || !sameJSON(od.tech.t, cd.tech.t) {
			changedDirs[id] = true
		}
		delete(oldDirs, id)
	}
	for id := range oldDirs {
		changedDirs[id] = true
	}
	if len(changedDirs) > 0 {
		for _, cr := range old.rules {
			if rulesHas(cr, changedDirs) {
				affected.or(c.ruleBits[cr.r.ID])
			}
		}
		for _, cr := range cm.rules {
			if rulesHas(cr, changedDirs) {
				affected.or(newRules[cr.r.ID])
			}
		}
	}
	c.ruleBits = newRules
	if everything {
		affected = c.alive.clone()
	}
	affected.and(c.alive)
	probs, st := c.compileNodes(affected, emit)
	st.Elapsed = time.Since(start)
	return probs, st, nil
}

func rulesHas(cr *cRule, dirs map[string]bool) bool {
	for _, id := range cr.r.Directives {
		if dirs[id] {
			return true
		}
	}
	return false
}

// UpsertNodes adds nodes or replaces them (a new inventory, changed properties or
// settings), re-evaluates their group memberships and recompiles them.
func (c *Compiler) UpsertNodes(nodes []Node, emit Emit) ([]Problem, Stats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	start := time.Now()
	touched := newBitset(len(c.nodes) + len(nodes))
	for _, n := range nodes {
		i, ok := c.index[n.ID]
		if !ok {
			if len(c.free) > 0 {
				i, c.free = c.free[len(c.free)-1], c.free[:len(c.free)-1]
			} else {
				i = len(c.nodes)
				c.nodes = append(c.nodes, Node{})
				c.configIDs = append(c.configIDs, "")
			}
			c.index[n.ID] = i
		}
		c.nodes[i] = n
		c.alive = c.alive.grow(len(c.nodes))
		c.alive.set(i)
		touched = touched.grow(len(c.nodes))
		touched.set(i)
	}
	if c.cm == nil {
		return nil, Stats{}
	}
	for id, b := range c.groupBits {
		c.groupBits[id] = b.grow(len(c.nodes))
	}
	c.evalGroups(c.cm.groups.ids, touched)
	c.ruleBits = c.computeRules(c.cm)
	probs, st := c.compileNodes(touched, emit)
	st.Elapsed = time.Since(start)
	return probs, st
}

// RemoveNodes forgets nodes (deleted or refused).
func (c *Compiler) RemoveNodes(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		i, ok := c.index[id]
		if !ok {
			continue
		}
		delete(c.index, id)
		c.alive.clear(i)
		for _, b := range c.groupBits {
			b.clear(i)
		}
		for _, b := range c.ruleBits {
			b.clear(i)
		}
		c.nodes[i] = Node{}
		c.configIDs[i] = ""
		c.free = append(c.free, i)
	}
}

func (c *Compiler) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// evalGroups recomputes the named groups (in evaluation order) for the nodes in which.
// Work is split in runs of 64 nodes so that no two goroutines write one word.
func (c *Compiler) evalGroups(ids []string, which bitset) {
	if len(ids) == 0 {
		return
	}
	cg := c.cm.groups
	gis := make([]int, len(ids))
	for i, id := range ids {
		gis[i] = cg.index[id]
		if b, ok := c.groupBits[id]; ok {
			c.groupBits[id] = b.grow(len(c.nodes))
		} else {
			c.groupBits[id] = newBitset(len(c.nodes))
		}
	}
	sort.Ints(gis)
	bits := make([]bitset, len(cg.ids))
	for gi, id := range cg.ids {
		bits[gi] = c.groupBits[id]
	}
	c.parallelWords(which, func(word int) {
		w := which[word]
		for w != 0 {
			bit := trailingZeros(w)
			w &^= 1 << bit
			i := word*64 + bit
			v := nodeView{node: &c.nodes[i], params: c.cm.params}
			v.member = func(g int) bool { return bits[g].has(i) }
			for _, gi := range gis {
				if cg.member(gi, &v) {
					bits[gi].set(i)
				} else {
					bits[gi].clear(i)
				}
			}
		}
	})
}

func (c *Compiler) parallelWords(which bitset, fn func(word int)) {
	var wg sync.WaitGroup
	n := c.workers()
	chunk := (len(which) + n - 1) / n
	if chunk < 16 {
		chunk = 16
	}
	for lo := 0; lo < len(which); lo += chunk {
		hi := min(lo+chunk, len(which))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := lo; w < hi; w++ {
				if which[w] != 0 {
					fn(w)
				}
			}
		}()
	}
	wg.Wait()
}

func (c *Compiler) computeRules(cm *compiledModel) map[string]bitset {
	out := make(map[string]bitset, len(cm.rules))
	for _, cr := range cm.rules {
		b := newBitset(len(c.nodes))
		if cr.r.enabled() {
			for _, g := range cr.include {
				b.or(c.groupBits[cm.groups.ids[g]])
			}
			for _, g := range cr.exclude {
				b.andNot(c.groupBits[cm.groups.ids[g]])
			}
		}
		out[cr.r.ID] = b
	}
	return out
}

// problemSet gathers problems by kind, directive and message, with their nodes.
type problemSet struct {
	mu sync.Mutex
	m  map[[3]string][]string
}

func (ps *problemSet) add(kind, directive, msg, node string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[[3]string][]string{}
	}
	k := [3]string{kind, directive, msg}
	ps.m[k] = append(ps.m[k], node)
}

func (ps *problemSet) list() []Problem {
	var out []Problem
	for k, nodes := range ps.m {
		sort.Strings(nodes)
		out = append(out, Problem{Kind: k[0], DirectiveID: k[1], Message: k[2], Nodes: nodes})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		if out[i].DirectiveID != out[j].DirectiveID {
			return out[i].DirectiveID < out[j].DirectiveID
		}
		return out[i].Message < out[j].Message
	})
	return out
}

func (c *Compiler) compileNodes(which bitset, emit Emit) ([]Problem, Stats) {
	c.serial++
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	generated := now().UTC()
	var (
		ps      problemSet
		emitMu  sync.Mutex
		st      Stats
		statsMu sync.Mutex
	)
	rules := c.cm.rules
	ruleBits := make([]bitset, len(rules))
	for i, cr := range rules {
		ruleBits[i] = c.ruleBits[cr.r.ID]
	}
	c.parallelWords(which, func(word int) {
		var buf []byte
		compiled, changed := 0, 0
		w := which[word]
		for w != 0 {
			bit := trailingZeros(w)
			w &^= 1 << bit
			i := word*64 + bit
			p := c.cm.nodePolicy(&c.nodes[i], func(r int) bool { return ruleBits[r].has(i) }, &ps)
			compiled++
			if p == nil {
				continue
			}
			var id string
			id, buf = p.HashContent(buf)
			if id == c.configIDs[i] {
				continue
			}
			c.configIDs[i] = id
			p.ConfigID = id
			p.Generated = generated
			p.Serial = c.serial
			changed++
			if emit != nil {
				emitMu.Lock()
				emit(p)
				emitMu.Unlock()
			}
		}
		statsMu.Lock()
		st.Compiled += compiled
		st.Changed += changed
		statsMu.Unlock()
	})
	return ps.list(), st
}

type entry struct {
	cd        *cDirective
	rule      *Rule
	overriden []string
}

// directivesOf returns the directives that run on a node, attributed to the first rule by
// name, with unique techniques resolved by priority.
func (cm *compiledModel) directivesOf(n *Node, inRule func(int) bool, ps *problemSet) []*entry {
	var entries []*entry
	seen := map[string]*entry{}
	for ri, cr := range cm.rules {
		if !cr.r.enabled() || !inRule(ri) {
			continue
		}
		for _, cd := range cr.directives {
			if !cd.d.enabled() {
				continue
			}
			if cd.disabled {
				if ps != nil {
					ps.add(ProblemDisabled, cd.d.ID, fmt.Sprintf("directive %s uses disabled technique %s/%s", cd.d.ID, cd.tech.t.ID, cd.tech.t.Version), n.ID)
				}
				continue
			}
			if e, ok := seen[cd.d.ID]; ok {
				e.overriden = append(e.overriden, cr.r.ID)
				continue
			}
			e := &entry{cd: cd, rule: cr.r}
			seen[cd.d.ID] = e
			entries = append(entries, e)
		}
	}
	// Unique techniques: the lowest priority number wins, then the name.
	var winners map[string]*entry
	for _, e := range entries {
		if !e.cd.tech.t.Unique {
			continue
		}
		if winners == nil {
			winners = map[string]*entry{}
		}
		id := e.cd.tech.t.ID
		w, ok := winners[id]
		if !ok || e.cd.d.priority() < w.cd.d.priority() || e.cd.d.priority() == w.cd.d.priority() && byName(e.cd.d.Name, e.cd.d.ID, w.cd.d.Name, w.cd.d.ID) {
			winners[id] = e
		}
	}
	if winners == nil {
		return entries
	}
	kept := entries[:0:0]
	for _, e := range entries {
		if w := winners[e.cd.tech.t.ID]; e.cd.tech.t.Unique && w != e {
			if ps != nil {
				ps.add(ProblemConflict, e.cd.d.ID, fmt.Sprintf("directive %s (priority %d) and directive %s (priority %d) both use unique technique %s: %s runs, %s does not",
					w.cd.d.ID, w.cd.d.priority(), e.cd.d.ID, e.cd.d.priority(), e.cd.tech.t.ID, w.cd.d.ID, e.cd.d.ID), n.ID)
			}
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

// nodePolicy compiles one node's policy, or returns nil when one of its values cannot be
// resolved (the node keeps its previous policy; the problem says why).
func (cm *compiledModel) nodePolicy(n *Node, inRule func(int) bool, ps *problemSet) *wire.AppliedPolicy {
	entries := cm.directivesOf(n, inRule, ps)
	s := cm.settings
	p := &wire.AppliedPolicy{
		NodeID:        n.ID,
		RunInterval:   time.Duration(s.RunInterval),
		Splay:         time.Duration(s.Splay),
		HeartbeatRuns: s.HeartbeatRuns,
		Settings:      []wire.Param{{Name: "inventory_window", Value: s.InventoryWindow}},
		Directives:    make([]wire.PolicyDirective, 0, len(entries)),
	}
	p.ReportingMode, _ = parseReportingMode(s.ReportingMode)
	if n.Settings.ReportingMode != "" {
		if m, ok := parseReportingMode(n.Settings.ReportingMode); ok {
			p.ReportingMode = m
		}
	}
	if n.Settings.RunInterval > 0 {
		p.RunInterval = time.Duration(n.Settings.RunInterval)
	}
	if n.Settings.HeartbeatRuns > 0 {
		p.HeartbeatRuns = n.Settings.HeartbeatRuns
	}
	total := 0
	for _, e := range entries {
		total += len(e.cd.comps)
	}
	p.Components = make([]wire.Component, 0, total)
	for di, e := range entries {
		d := e.cd.d
		mode, _ := ResolveMode(s.PolicyMode, *s.OverrideAllowed, n.Settings.PolicyMode, d.PolicyMode, d.System)
		p.Directives = append(p.Directives, wire.PolicyDirective{
			RuleID: e.rule.ID, RuleName: e.rule.Name, DirectiveID: d.ID, DirectiveName: d.Name,
			TechniqueID: e.cd.tech.t.ID, TechniqueVersion: e.cd.tech.t.Version, Mode: mode, System: d.System,
			OverriddenRuleIDs: e.overriden,
		})
		blockBase := len(p.Blocks)
		for _, b := range e.cd.blocks {
			b.Directive = di
			if b.Parent >= 0 {
				b.Parent += blockBase
			}
			p.Blocks = append(p.Blocks, b)
		}
		if !e.cd.perNode {
			for _, c := range e.cd.static[mode] {
				c.Directive = di
				if c.Block >= 0 {
					c.Block += blockBase
				}
				p.Components = append(p.Components, c)
			}
			continue
		}
		comps, err := cm.nodeComponents(e.cd, mode, n)
		if err != nil {
			if ps != nil {
				ps.add(ProblemUndefined, d.ID, err.Error(), n.ID)
			}
			return nil
		}
		for _, c := range comps {
			c.Directive = di
			if c.Block >= 0 {
				c.Block += blockBase
			}
			p.Components = append(p.Components, c)
		}
	}
	return p
}

// nodeComponents resolves a node-dependent directive for one node. Nodes that resolve
// every reference to the same values share one result, so a fleet where a property takes
// a handful of values costs a handful of expansions.
func (cm *compiledModel) nodeComponents(cd *cDirective, mode wire.PolicyMode, n *Node) ([]wire.Component, error) {
	var key strings.Builder
	key.WriteByte(byte(mode))
	if cd.hasShell {
		key.WriteString(strings.ToLower(n.OS))
	}
	resolved := make(map[string]string, 4)
	for ci := range cd.comps {
		dc := &cd.comps[ci]
		for j, refs := range dc.refs {
			for _, r := range refs {
				rs := r.String()
				if _, ok := resolved[rs]; ok {
					continue
				}
				val, ok := cm.nodeRef(r, n)
				if !ok {
					return nil, fmt.Errorf("directive %s: %s: undefined %s", cd.d.ID, dc.tc.method.Params[j].Name, r)
				}
				resolved[rs] = val
				key.WriteByte(0)
				key.WriteString(rs)
				key.WriteByte(0)
				key.WriteString(val)
			}
		}
	}
	k := key.String()
	if v, ok := cd.cache.Load(k); ok {
		return v.([]wire.Component), nil
	}
	out := make([]wire.Component, 0, len(cd.comps))
	for ci := range cd.comps {
		dc := &cd.comps[ci]
		values := make([]string, len(dc.values))
		for j, v := range dc.values {
			if len(dc.refs[j]) == 0 && !dc.shell[j] {
				values[j] = v
				continue
			}
			values[j], _ = expand(v, scanRefs(v), func(r ref) (string, bool, error) {
				if r.kind == refOther {
					return "", false, nil
				}
				val, ok := resolved[r.String()]
				if !ok {
					if val, ok = cm.nodeRef(r, n); !ok {
						return "", false, fmt.Errorf("undefined %s", r)
					}
				}
				if dc.shell[j] {
					val = Escape(n.OS, val)
				}
				return val, true, nil
			})
		}
		block := -1
		if dc.tc.block >= 0 {
			block = cd.blockIndex(dc.tc.block)
		}
		out = append(out, dc.component(mode, cd.d.System, block, values))
	}
	cd.cache.Store(k, out)
	return out, nil
}

// blockIndex maps a technique block to the directive's kept block.
func (cd *cDirective) blockIndex(tb int) int { return cd.blockMap[tb] }

func (cm *compiledModel) nodeRef(r ref, n *Node) (string, bool) {
	switch r.kind {
	case refParam:
		return cm.paramValue(r)
	case refProp:
		raw, ok := n.Properties[r.name]
		if global, isGlobal := cm.params[r.name]; !ok {
			raw, ok = global, isGlobal
		} else if isGlobal && len(raw) > 0 && raw[0] == '{' {
			raw, _ = mergeJSON(global, raw)
		}
		if !ok {
			return "", false
		}
		return jsonPath(raw, r.path)
	case refInv:
		path := append([]string{r.name}, r.path...)
		for _, p := range [][]string{path, snakePath(path)} {
			switch {
			case len(p) == 1 && p[0] == "hostname" && n.Hostname != "":
				return n.Hostname, true
			case len(p) == 1 && (p[0] == "id" || p[0] == "node_id"):
				return n.ID, true
			}
			var found any
			ok := walkFacts(map[string]any(n.Facts), p, func(x any) bool { found = x; return true })
			if ok {
				return factText(found), true
			}
		}
	}
	return "", false
}

func snakePath(p []string) []string {
	out := make([]string, len(p))
	for i, k := range p {
		out[i] = snake(k)
	}
	return out
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// Explanation says why a directive runs on a node, for `bosun policy why`.
type Explanation struct {
	DirectiveID string   `json:"directive_id"`
	Directive   string   `json:"directive"`
	RuleID      string   `json:"rule_id"` // the rule it is attributed to
	OtherRules  []string `json:"other_rules,omitempty"`
	Groups      []string `json:"groups"` // the rule's included groups the node belongs to
	Mode        string   `json:"mode"`
	ModeReason  string   `json:"mode_reason"`
	Skipped     string   `json:"skipped,omitempty"` // why it does not run, if it does not
}

// Explain says which rules and groups bring each directive to a node and how its mode was
// decided, computed afresh for that node alone.
func Explain(m *Model, n *Node) ([]Explanation, error) {
	cm, err := prepare(m)
	if err != nil {
		return nil, err
	}
	member := make([]bool, len(cm.groups.ids))
	v := nodeView{node: n, params: cm.params, member: func(g int) bool { return member[g] }}
	for gi := range cm.groups.ids {
		member[gi] = cm.groups.member(gi, &v)
	}
	inRule := func(ri int) bool {
		cr := cm.rules[ri]
		in := false
		for _, g := range cr.include {
			in = in || member[g]
		}
		for _, g := range cr.exclude {
			in = in && !member[g]
		}
		return in
	}
	var ps problemSet
	entries := cm.directivesOf(n, inRule, &ps)
	s := cm.settings
	var out []Explanation
	for _, e := range entries {
		mode, why := ResolveMode(s.PolicyMode, *s.OverrideAllowed, n.Settings.PolicyMode, e.cd.d.PolicyMode, e.cd.d.System)
		var groups []string
		for ri, cr := range cm.rules {
			if cr.r.ID == e.rule.ID && inRule(ri) {
				for _, g := range cr.include {
					if member[g] {
						groups = append(groups, cm.groups.ids[g])
					}
				}
			}
		}
		out = append(out, Explanation{DirectiveID: e.cd.d.ID, Directive: e.cd.d.Name, RuleID: e.rule.ID, OtherRules: e.overriden,
			Groups: groups, Mode: mode.String(), ModeReason: why})
	}
	for _, p := range ps.list() {
		out = append(out, Explanation{DirectiveID: p.DirectiveID, Skipped: p.Message})
	}
	return out, nil
}

// bitset is a set of node indices.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) grow(n int) bitset {
	if need := (n + 63) / 64; need > len(b) {
		return append(b, make(bitset, need-len(b))...)
	}
	return b
}
func (b bitset) set(i int) { b[i/64] |= 1 << (i % 64) }
func (b bitset) clear(i int) {
	if i/64 < len(b) {
		b[i/64] &^= 1 << (i % 64)
	}
}
func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) clone() bitset  { return append(bitset(nil), b...) }
func (b bitset) or(o bitset) {
	for i := range min(len(b), len(o)) {
		b[i] |= o[i]
	}
}
func (b bitset) orXor(x, y bitset) {
	for i := range b {
		var a, c uint64
		if i < len(x) {
			a = x[i]
		}
		if i < len(y) {
			c = y[i]
		}
		b[i] |= a ^ c
	}
}
func (b bitset) and(o bitset) {
	for i := range b {
		if i < len(o) {
			b[i] &= o[i]
		} else {
			b[i] = 0
		}
	}
}
func (b bitset) andNot(o bitset) {
	for i := range min(len(b), len(o)) {
		b[i] &^= o[i]
	}
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

func trailingZeros(w uint64) int { return bits.TrailingZeros64(w) }

// GroupMembers returns the ids of the nodes in a group as last compiled, nil for a group
// the compiler does not know: compliance aggregates over them.
func (c *Compiler) GroupMembers(groupID string) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.groupBits[groupID]
	if !ok {
		return nil, false
	}
	var out []string
	for i := range c.nodes {
		if b.has(i) && c.alive.has(i) {
			out = append(out, c.nodes[i].ID)
		}
	}
	return out, true
}
