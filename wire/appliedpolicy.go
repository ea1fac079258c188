package wire

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cespare/xxhash/v2"
)

// ErrPolicyBase is returned when a policy delta is applied to a policy other than the one it
// was computed against: the agent then asks for the full policy.
var ErrPolicyBase = errors.New("wire: policy delta does not apply to the policy held")

// PolicyMode is the resolved mode of a directive or a component on one node.
type PolicyMode uint8

const (
	ModeAudit   PolicyMode = 1 // check only, change nothing
	ModeEnforce PolicyMode = 2 // check, fix, check again
)

func (m PolicyMode) String() string {
	switch m {
	case ModeAudit:
		return "audit"
	case ModeEnforce:
		return "enforce"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

func (m PolicyMode) valid() bool { return m == ModeAudit || m == ModeEnforce }

// ReportingMode says which results a node sends (DESIGN.md §1).
type ReportingMode uint8

const (
	ReportingFull        ReportingMode = 1 // every result
	ReportingChangesOnly ReportingMode = 2 // non-success results plus a heartbeat
	ReportingDisabled    ReportingMode = 3 // nothing
)

func (m ReportingMode) String() string {
	switch m {
	case ReportingFull:
		return "full"
	case ReportingChangesOnly:
		return "changes-only"
	case ReportingDisabled:
		return "disabled"
	}
	return fmt.Sprintf("reporting(%d)", uint8(m))
}

func (m ReportingMode) valid() bool { return m >= ReportingFull && m <= ReportingDisabled }

// ReportingLogic says how the results of a block's children make the block's result, as in
// Rudder's technique format.
type ReportingLogic uint8

const (
	LogicWeighted             ReportingLogic = 1 // every child counts as itself
	LogicWorstCaseWeightedOne ReportingLogic = 2 // the worst child, counted once
	LogicWorstCaseWeightedSum ReportingLogic = 3 // the worst child, counted as many times as there are children
	LogicFocus                ReportingLogic = 4 // the child named by FocusID stands for the block
	LogicFocusWorst           ReportingLogic = 5 // the worst child stands for the block
	LogicDisabled             ReportingLogic = 6 // the block is not reported
)

var logicNames = [...]string{
	LogicWeighted:             "weighted",
	LogicWorstCaseWeightedOne: "worst-case-weighted-one",
	LogicWorstCaseWeightedSum: "worst-case-weighted-sum",
	LogicFocus:                "focus",
	LogicFocusWorst:           "focus-worst",
	LogicDisabled:             "disabled",
}

func (l ReportingLogic) String() string {
	if l.valid() {
		return logicNames[l]
	}
	return fmt.Sprintf("logic(%d)", uint8(l))
}

func (l ReportingLogic) valid() bool { return l >= LogicWeighted && l <= LogicDisabled }

// ParseReportingLogic parses the name Rudder's technique format uses.
func ParseReportingLogic(s string) (ReportingLogic, error) {
	for l, n := range logicNames {
		if n != "" && n == s {
			return ReportingLogic(l), nil
		}
	}
	return 0, fmt.Errorf("unknown reporting logic %q", s)
}

// Param is one named value, kept in a list so that order is part of the content.
type Param struct {
	Name, Value string
}

// AppliedPolicy is what one node must do, as the root compiled it. Reports refer to a
// component by its index in Components, and compliance is computed from the policy alone:
// every component says which directive (and so which rule) it belongs to, which block, and
// the value that identifies it in reports.
type AppliedPolicy struct {
	NodeID string
	// ConfigID identifies the content: the hex of a hash over everything but ConfigID,
	// Generated and Serial, so a policy recompiled to the same content keeps its id.
	ConfigID  string
	Generated time.Time
	Serial    uint64 // the root's generation counter when this content was first made

	RunInterval   time.Duration
	Splay         time.Duration // the largest per-node delay added to the run schedule
	HeartbeatRuns int           // in changes-only mode, send a heartbeat every this many runs
	ReportingMode ReportingMode
	// Settings are further agent settings as name/value pairs, sorted by name.
	Settings []Param

	Directives []PolicyDirective
	Blocks     []PolicyBlock
	Components []Component // in execution order
}

// PolicyDirective is one directive as it runs on the node.
type PolicyDirective struct {
	RuleID, RuleName           string // the rule it is attributed to (first by name)
	DirectiveID, DirectiveName string
	TechniqueID                string
	TechniqueVersion           string
	Mode                       PolicyMode // resolved for this node
	System                     bool       // the agent's own upkeep; always enforce
	// OverriddenRuleIDs are the other rules that bring the same directive to this node: it
	// runs once, and those rules show it as overridden.
	OverriddenRuleIDs []string
}

// PolicyBlock is a block of a technique: a group of components with a reporting logic.
type PolicyBlock struct {
	ID, Name  string
	Parent    int // index in Blocks of the enclosing block, -1 for none; always lower than the block's own index
	Directive int // index in Directives
	Condition string
	Logic     ReportingLogic
	FocusID   string // the component ID that stands for the block under LogicFocus
}

// Component is one method call with its values resolved.
type Component struct {
	Directive int // index in Directives
	Block     int // index in Blocks of the innermost enclosing block, -1 for none
	ID, Name  string
	Method    string
	Params    []Param // in the method's parameter order
	// ReportingValue is the value of the method's reporting parameter: what identifies the
	// component in reports and result conditions.
	ReportingValue string
	Condition      string     // a cond expression; empty means always
	Mode           PolicyMode // the directive's mode unless the technique overrides it for this item
	NoReport       bool       // reporting disabled for this item
}

// Limits on an applied policy's content, checked while decoding.
const (
	maxPolicyBody  = 16 << 20
	maxValueLen    = 1 << 20
	maxPolicyItems = 1 << 20
)

// Encoding. The policy is written field by field with the package's helpers; every list
// element is itself length-prefixed, so a field added to an element later stays skippable
// by an older reader. The encoding is canonical: decoding and encoding again gives the same
// bytes, which is what lets a delta be checked against the root's signature over the full
// body.

// AppendBinary appends the policy's encoding to b.
func (p *AppliedPolicy) AppendBinary(b []byte) ([]byte, error) {
	b = appendString(b, p.NodeID)
	b = appendString(b, p.ConfigID)
	b = appendTime(b, p.Generated)
	b = appendUvarint(b, p.Serial)
	return p.appendContent(b, true), nil
}

// MarshalBinary returns the policy's encoding.
func (p *AppliedPolicy) MarshalBinary() ([]byte, error) { return p.AppendBinary(nil) }

func (p *AppliedPolicy) appendContent(b []byte, withComponents bool) []byte {
	b = appendUvarint(b, uint64(p.RunInterval))
	b = appendUvarint(b, uint64(p.Splay))
	b = appendUvarint(b, uint64(p.HeartbeatRuns))
	b = append(b, byte(p.ReportingMode))
	b = appendParams(b, p.Settings)
	var scratch []byte
	b = appendUvarint(b, uint64(len(p.Directives)))
	for i := range p.Directives {
		scratch = p.Directives[i].append(scratch[:0])
		b = appendBytes(b, scratch)
	}
	b = appendUvarint(b, uint64(len(p.Blocks)))
	for i := range p.Blocks {
		scratch = p.Blocks[i].append(scratch[:0])
		b = appendBytes(b, scratch)
	}
	if !withComponents {
		return appendUvarint(b, 0)
	}
	b = appendUvarint(b, uint64(len(p.Components)))
	for i := range p.Components {
		scratch = p.Components[i].append(scratch[:0])
		b = appendBytes(b, scratch)
	}
	return b
}

func appendParams(b []byte, ps []Param) []byte {
	b = appendUvarint(b, uint64(len(ps)))
	for _, p := range ps {
		b = appendString(b, p.Name)
		b = appendString(b, p.Value)
	}
	return b
}

func appendIndex(b []byte, i int) []byte { return appendUvarint(b, uint64(i+1)) }

func (d *PolicyDirective) append(b []byte) []byte {
	b = appendString(b, d.RuleID)
	b = appendString(b, d.RuleName)
	b = appendString(b, d.DirectiveID)
	b = appendString(b, d.DirectiveName)
	b = appendString(b, d.TechniqueID)
	b = appendString(b, d.TechniqueVersion)
	b = append(b, byte(d.Mode))
	b = appendBool(b, d.System)
	b = appendUvarint(b, uint64(len(d.OverriddenRuleIDs)))
	for _, r := range d.OverriddenRuleIDs {
		b = appendString(b, r)
	}
	return b
}

func (k *PolicyBlock) append(b []byte) []byte {
	b = appendString(b, k.ID)
	b = appendString(b, k.Name)
	b = appendIndex(b, k.Parent)
	b = appendUvarint(b, uint64(k.Directive))
	b = appendString(b, k.Condition)
	b = append(b, byte(k.Logic))
	return appendString(b, k.FocusID)
}

func (c *Component) append(b []byte) []byte {
	b = appendUvarint(b, uint64(c.Directive))
	b = appendIndex(b, c.Block)
	b = appendString(b, c.ID)
	b = appendString(b, c.Name)
	b = appendString(b, c.Method)
	b = appendParams(b, c.Params)
	b = appendString(b, c.ReportingValue)
	b = appendString(b, c.Condition)
	b = append(b, byte(c.Mode))
	return appendBool(b, c.NoReport)
}

// UnmarshalBinary decodes a policy and checks that its indices hold together.
func (p *AppliedPolicy) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	*p = AppliedPolicy{
		NodeID:    d.string("node id", maxIDLen),
		ConfigID:  d.string("config id", maxIDLen),
		Generated: d.time("generated"),
		Serial:    d.uvarint("serial"),
	}
	p.decodeContent(&d)
	if d.err == nil && len(d.b) > 0 {
		// Trailing bytes would make two encodings of one policy; refuse them.
		d.fail(fmt.Sprintf("applied policy: %d bytes after the last field", len(d.b)))
	}
	if d.err != nil {
		return fmt.Errorf("applied policy: %w", d.err)
	}
	return p.check()
}

func (p *AppliedPolicy) decodeContent(d *decoder) {
	p.RunInterval = time.Duration(d.uvarint("run interval") & (1<<63 - 1))
	p.Splay = time.Duration(d.uvarint("splay") & (1<<63 - 1))
	p.HeartbeatRuns = int(d.uvarint("heartbeat runs") & 0x7fffffff)
	p.ReportingMode = ReportingMode(d.byte("reporting mode"))
	p.Settings = decodeParams(d, "setting")
	if n := d.count("directives", 1); n > 0 {
		p.Directives = make([]PolicyDirective, n)
		for i := range p.Directives {
			sub := decoder{b: d.bytes("directive", maxPolicyBody)}
			p.Directives[i].decode(&sub)
			d.adopt(&sub)
		}
	}
	if n := d.count("blocks", 1); n > 0 {
		p.Blocks = make([]PolicyBlock, n)
		for i := range p.Blocks {
			sub := decoder{b: d.bytes("block", maxPolicyBody)}
			p.Blocks[i].decode(&sub)
			d.adopt(&sub)
		}
	}
	p.Components = decodeComponents(d)
}

func decodeComponents(d *decoder) []Component {
	n := d.count("components", 1)
	if n == 0 {
		return nil
	}
	cs := make([]Component, n)
	for i := range cs {
		sub := decoder{b: d.bytes("component", maxPolicyBody)}
		cs[i].decode(&sub)
		d.adopt(&sub)
	}
	return cs
}

// adopt takes the error of a sub-decoder and refuses bytes it left unread.
func (d *decoder) adopt(sub *decoder) {
	if sub.err != nil && d.err == nil {
		d.err = sub.err
	}
	if d.err == nil && len(sub.b) > 0 {
		d.fail(fmt.Sprintf("%d unread bytes in a list element", len(sub.b)))
	}
}

func decodeParams(d *decoder, what string) []Param {
	n := d.count(what+"s", 2)
	if n == 0 {
		return nil
	}
	ps := make([]Param, n)
	for i := range ps {
		ps[i].Name = d.string(what+" name", maxNameLen)
		ps[i].Value = d.string(what+" value", maxValueLen)
	}
	return ps
}

func (x *PolicyDirective) decode(d *decoder) {
	x.RuleID = d.string("rule id", maxIDLen)
	x.RuleName = d.string("rule name", maxNameLen)
	x.DirectiveID = d.string("directive id", maxIDLen)
	x.DirectiveName = d.string("directive name", maxNameLen)
	x.TechniqueID = d.string("technique id", maxIDLen)
	x.TechniqueVersion = d.string("technique version", maxIDLen)
	x.Mode = PolicyMode(d.byte("directive mode"))
	x.System = d.bool("system")
	if n := d.count("overridden rules", 1); n > 0 {
		x.OverriddenRuleIDs = make([]string, n)
		for i := range x.OverriddenRuleIDs {
			x.OverriddenRuleIDs[i] = d.string("overridden rule id", maxIDLen)
		}
	}
}

func (k *PolicyBlock) decode(d *decoder) {
	k.ID = d.string("block id", maxIDLen)
	k.Name = d.string("block name", maxNameLen)
	k.Parent = int(d.uvarint("block parent")&0x7fffffff) - 1
	k.Directive = int(d.uvarint("block directive") & 0x7fffffff)
	k.Condition = d.string("block condition", maxValueLen)
	k.Logic = ReportingLogic(d.byte("reporting logic"))
	k.FocusID = d.string("focus id", maxIDLen)
}

func (c *Component) decode(d *decoder) {
	c.Directive = int(d.uvarint("component directive") & 0x7fffffff)
	c.Block = int(d.uvarint("component block")&0x7fffffff) - 1
	c.ID = d.string("component id", maxIDLen)
	c.Name = d.string("component name", maxNameLen)
	c.Method = d.string("method", maxNameLen)
	c.Params = decodeParams(d, "parameter")
	c.ReportingValue = d.string("reporting value", maxValueLen)
	c.Condition = d.string("condition", maxValueLen)
	c.Mode = PolicyMode(d.byte("component mode"))
	c.NoReport = d.bool("no report")
}

// check refuses a policy whose indices or enumerations do not hold together, so that the
// agent and the compliance code can index without checking.
func (p *AppliedPolicy) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: applied policy of node %s: %s", ErrMalformed, p.NodeID, fmt.Sprintf(format, a...))
	}
	if p.ReportingMode != 0 && !p.ReportingMode.valid() {
		return bad("reporting mode %d", p.ReportingMode)
	}
	for i, x := range p.Directives {
		if !x.Mode.valid() {
			return bad("directive %d: mode %d", i, x.Mode)
		}
	}
	for i, k := range p.Blocks {
		switch {
		case k.Parent < -1 || k.Parent >= i:
			return bad("block %d: parent %d", i, k.Parent)
		case k.Directive >= len(p.Directives):
			return bad("block %d: directive %d of %d", i, k.Directive, len(p.Directives))
		case !k.Logic.valid():
			return bad("block %d: reporting logic %d", i, k.Logic)
		}
	}
	for i, c := range p.Components {
		switch {
		case c.Directive >= len(p.Directives):
			return bad("component %d: directive %d of %d", i, c.Directive, len(p.Directives))
		case c.Block < -1 || c.Block >= len(p.Blocks):
			return bad("component %d: block %d of %d", i, c.Block, len(p.Blocks))
		case !c.Mode.valid():
			return bad("component %d: mode %d", i, c.Mode)
		}
	}
	return nil
}

// ComputeConfigID returns the config id of the policy's content: the first 8 bytes of the
// SHA-256 of the node id and everything but ConfigID, Generated and Serial, in hex.
func (p *AppliedPolicy) ComputeConfigID() string {
	id, _ := p.HashContent(make([]byte, 0, 64+64*len(p.Components)))
	return id
}

// HashContent computes the config id using scratch as its buffer, and returns the buffer
// for reuse: compiling a fleet hashes every node's policy.
func (p *AppliedPolicy) HashContent(scratch []byte) (string, []byte) {
	buf := appendString(scratch[:0], p.NodeID)
	buf = p.appendContent(buf, true)
	// The config id names the content so that an unchanged policy is recognised; the root's
	// signature, not this hash, is what protects it. A 64-bit xxhash does that as well as
	// SHA-256 cut to 64 bits, at a fraction of the cost over 100,000 nodes.
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], xxhash.Sum64(buf))
	return hex.EncodeToString(sum[:]), buf
}

// SetConfigID computes the config id and stores it in the policy, returning it.
func (p *AppliedPolicy) SetConfigID() string {
	p.ConfigID = p.ComputeConfigID()
	return p.ConfigID
}

const policyDomain = "policy"

// SignedPolicy is the message of TypeAppliedPolicy: an encoded AppliedPolicy signed by the
// root, which relays cache and serve but cannot alter.
type SignedPolicy struct {
	Signed Signed
}

func init() { register(TypeAppliedPolicy, func() Message { return new(SignedPolicy) }) }

func (*SignedPolicy) Type() Type { return TypeAppliedPolicy }

func (s *SignedPolicy) AppendBinary(b []byte) ([]byte, error) { return s.Signed.append(b), nil }

func (s *SignedPolicy) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	s.Signed.decode(&d, maxPolicyBody)
	return d.err
}

// NewSignedPolicy encodes p and signs it with the root's key. The config id is computed
// if p has none; one that does not match the content is an error, since a wrong id would make
// agents skip a policy they need.
func NewSignedPolicy(p *AppliedPolicy, rootKey ed25519.PrivateKey) (*SignedPolicy, error) {
	want := p.ComputeConfigID()
	switch p.ConfigID {
	case "":
		p.ConfigID = want
	case want:
	default:
		return nil, fmt.Errorf("sign policy of node %s: config id %s, content hashes to %s", p.NodeID, p.ConfigID, want)
	}
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("sign policy: %w", err)
	}
	body, _ := p.AppendBinary(nil)
	return &SignedPolicy{Signed: Sign(policyDomain, body, rootKey)}, nil
}

// Open verifies the root's signature, decodes the policy and checks that its config id is
// the hash of its content.
func (s *SignedPolicy) Open(rootKey ed25519.PublicKey) (*AppliedPolicy, error) {
	if err := s.Signed.Verify(policyDomain, rootKey); err != nil {
		return nil, fmt.Errorf("applied policy: %w", err)
	}
	p := new(AppliedPolicy)
	if err := p.UnmarshalBinary(s.Signed.Body); err != nil {
		return nil, err
	}
	if got := p.ComputeConfigID(); got != p.ConfigID {
		return nil, fmt.Errorf("%w: applied policy of node %s: config id %s, content hashes to %s", ErrMalformed, p.NodeID, p.ConfigID, got)
	}
	return p, nil
}

// PolicyDelta turns the policy an agent holds into a newer one. Directives, blocks and
// settings travel whole (they are small); components travel as an edit script of runs copied
// from the base and components inserted.
type PolicyDelta struct {
	BaseConfigID string
	// Policy is the new policy without its Components.
	Policy AppliedPolicy
	Ops    []DeltaOp
	// Sig is the root's signature over the full new policy, when the delta was made from a
	// SignedPolicy: the agent rebuilds the full body and checks it (see [PolicyDelta.Open]).
	Sig []byte
}

// DeltaOp is one step of the edit script: Count components copied from the base starting
// at From, or, with Count 0, the Insert components.
type DeltaOp struct {
	From, Count int
	Insert      []Component
}

// DiffPolicy returns the delta that turns old into new.
func DiffPolicy(old, new *AppliedPolicy) *PolicyDelta {
	d := &PolicyDelta{BaseConfigID: old.ConfigID, Policy: *new}
	d.Policy.Components = nil
	index := make(map[string]int, len(old.Components))
	var buf []byte
	for i := len(old.Components) - 1; i >= 0; i-- { // the lowest index wins
		buf = old.Components[i].append(buf[:0])
		index[string(buf)] = i
	}
	for _, c := range new.Components {
		buf = c.append(buf[:0])
		j, found := index[string(buf)]
		last := len(d.Ops) - 1
		switch {
		case found && last >= 0 && d.Ops[last].Count > 0 && d.Ops[last].From+d.Ops[last].Count == j:
			d.Ops[last].Count++
		case found:
			d.Ops = append(d.Ops, DeltaOp{From: j, Count: 1})
		case last >= 0 && d.Ops[last].Count == 0:
			d.Ops[last].Insert = append(d.Ops[last].Insert, c)
		default:
			d.Ops = append(d.Ops, DeltaOp{Insert: []Component{c}})
		}
	}
	return d
}

// DiffSignedPolicy returns the delta from old to the signed policy next, carrying next's
// signature.
func DiffSignedPolicy(old *AppliedPolicy, next *SignedPolicy) (*PolicyDelta, error) {
	var p AppliedPolicy
	if err := p.UnmarshalBinary(next.Signed.Body); err != nil {
		return nil, err
	}
	d := DiffPolicy(old, &p)
	d.Sig = append([]byte(nil), next.Signed.Sig...)
	return d, nil
}

// Apply rebuilds the new policy from old. It refuses an old policy whose config id is not
// the delta's base, and checks the result's config id against its content.
func (d *PolicyDelta) Apply(old *AppliedPolicy) (*AppliedPolicy, error) {
	if old == nil || old.ConfigID != d.BaseConfigID {
		held := ""
		if old != nil {
			held = old.ConfigID
		}
		return nil, fmt.Errorf("%w: delta against %q, policy held is %q", ErrPolicyBase, d.BaseConfigID, held)
	}
	p := d.Policy
	p.Components = nil
	for _, op := range d.Ops {
		if op.Count == 0 {
			p.Components = append(p.Components, op.Insert...)
			continue
		}
		if op.From < 0 || op.Count < 0 || op.From+op.Count > len(old.Components) {
			return nil, fmt.Errorf("%w: delta copies components %d+%d of %d", ErrMalformed, op.From, op.Count, len(old.Components))
		}
		p.Components = append(p.Components, old.Components[op.From:op.From+op.Count]...)
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	if got := p.ComputeConfigID(); got != p.ConfigID {
		return nil, fmt.Errorf("%w: policy rebuilt from delta has config id %s, content hashes to %s", ErrMalformed, p.ConfigID, got)
	}
	return &p, nil
}

// Open applies the delta to old and verifies the root's signature over the rebuilt policy,
// returning the policy and its signed form for the agent to keep.
func (d *PolicyDelta) Open(old *AppliedPolicy, rootKey ed25519.PublicKey) (*SignedPolicy, *AppliedPolicy, error) {
	p, err := d.Apply(old)
	if err != nil {
		return nil, nil, err
	}
	body, _ := p.AppendBinary(nil)
	s := &SignedPolicy{Signed: Signed{Body: body, Sig: append([]byte(nil), d.Sig...)}}
	if err := s.Signed.Verify(policyDomain, rootKey); err != nil {
		return nil, nil, fmt.Errorf("applied policy of node %s rebuilt from delta: %w", p.NodeID, err)
	}
	return s, p, nil
}

// AppendBinary appends the delta's encoding to b.
func (d *PolicyDelta) AppendBinary(b []byte) ([]byte, error) {
	b = appendString(b, d.BaseConfigID)
	b = appendString(b, d.Policy.NodeID)
	b = appendString(b, d.Policy.ConfigID)
	b = appendTime(b, d.Policy.Generated)
	b = appendUvarint(b, d.Policy.Serial)
	b = d.Policy.appendContent(b, false)
	b = appendUvarint(b, uint64(len(d.Ops)))
	var scratch []byte
	for _, op := range d.Ops {
		if op.Count > 0 {
			b = appendUvarint(b, uint64(op.Count))
			b = appendUvarint(b, uint64(op.From))
			continue
		}
		b = appendUvarint(b, 0)
		b = appendUvarint(b, uint64(len(op.Insert)))
		for i := range op.Insert {
			scratch = op.Insert[i].append(scratch[:0])
			b = appendBytes(b, scratch)
		}
	}
	return appendBytes(b, d.Sig), nil
}

// UnmarshalBinary decodes a delta.
func (d *PolicyDelta) UnmarshalBinary(data []byte) error {
	dec := decoder{b: data}
	*d = PolicyDelta{BaseConfigID: dec.string("base config id", maxIDLen)}
	d.Policy.NodeID = dec.string("node id", maxIDLen)
	d.Policy.ConfigID = dec.string("config id", maxIDLen)
	d.Policy.Generated = dec.time("generated")
	d.Policy.Serial = dec.uvarint("serial")
	d.Policy.decodeContent(&dec)
	if len(d.Policy.Components) > 0 {
		dec.fail("policy delta carries components outside its edit script")
	}
	n := dec.count("delta ops", 2)
	for i := 0; i < n && dec.err == nil; i++ {
		count := dec.uvarint("delta copy count")
		if count > 0 {
			from := dec.uvarint("delta copy from")
			if count > maxPolicyItems || from > maxPolicyItems {
				dec.fail("delta copy out of range")
				break
			}
			d.Ops = append(d.Ops, DeltaOp{From: int(from), Count: int(count)})
			continue
		}
		ins := decodeComponents(&dec)
		if len(ins) == 0 {
			dec.fail("delta inserts no component")
		}
		d.Ops = append(d.Ops, DeltaOp{Insert: ins})
	}
	d.Sig = cloneBytes(dec.bytes("signature", maxSigLen))
	if dec.err == nil && len(dec.b) > 0 {
		dec.fail(fmt.Sprintf("policy delta: %d bytes after the last field", len(dec.b)))
	}
	if dec.err != nil {
		return fmt.Errorf("policy delta: %w", dec.err)
	}
	return nil
}

// Equal reports whether two policies have the same encoding.
func (p *AppliedPolicy) Equal(q *AppliedPolicy) bool {
	a, _ := p.AppendBinary(nil)
	b, _ := q.AppendBinary(nil)
	return bytes.Equal(a, b)
}
