package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/wire"
)

// policyTemplate is one node's applied policy, kept per shape so that another node of the
// same shape can rebuild its new policy from a delta (only the node id and config id
// differ between them).
type policyTemplate struct {
	p *wire.AppliedPolicy
}

// shapes shares the shapes of the fleet's policies: 100,000 nodes hold a few.
type shapes struct {
	mu sync.Mutex
	m  map[string]*shape
}

func shapeKey(p *wire.AppliedPolicy) string {
	b := make([]byte, 0, 8+4*len(p.Components))
	b = fmt.Appendf(b, "%d/%d/", p.ReportingMode, len(p.Components))
	for _, c := range p.Components {
		b = fmt.Appendf(b, "%s|%s|%d|%t;", c.Method, c.ReportingValue, c.Mode, c.NoReport)
	}
	return string(b)
}

func (s *shapes) of(p *wire.AppliedPolicy) *shape {
	k := shapeKey(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh, ok := s.m[k]; ok {
		return sh
	}
	sh := &shape{policy: policyTemplate{p: p}}
	for i, c := range p.Components {
		if !c.NoReport {
			sh.reported = append(sh.reported, reportedComponent{index: uint32(i), audit: c.Mode == wire.ModeAudit})
		}
	}
	if s.m == nil {
		s.m = map[string]*shape{}
	}
	s.m[k] = sh
	return sh
}

// enrolFrames are what a node sends when it first contacts its policy server: its signed
// enrolment stub and its signed full inventory.
func (n *simNode) enrolFrames(now time.Time) (*wire.Enrol, *wire.InventoryUpload, error) {
	v := variants[n.variant]
	e := wire.NewEnrol(wire.EnrolStub{NodeID: n.id, Hostname: n.host, OS: v.full, PolicyServer: n.zone.addr,
		SoftwareVersion: "sim", Role: wire.RoleAgent, Time: now.UTC()}, n.key)
	inv := synthInventory(n, n.zone.index, now)
	hash, err := inventory.Hash(inv)
	if err != nil {
		return nil, nil, err
	}
	payload, err := inventory.Marshal(inv)
	if err != nil {
		return nil, nil, err
	}
	up := wire.NewInventoryUpload(wire.InventoryBody{NodeID: n.id, Collected: inv.CollectedAt, Kind: wire.InventoryFull, Hash: hash, Payload: payload}, n.key)
	return e, up, nil
}

// errNoPolicy is a policy request answered with no policy (the node not accepted yet).
var errNoPolicy = errors.New("no policy for the node")

// fetchPolicy asks for the node's policy, as a delta against the one it holds, and keeps
// what a report needs of it. It returns the answer's kind and the bytes on the zone's link.
// The simulator does not check the root's signature (an agent does): it would only spend
// the machine's CPU next to the root it measures.
func (n *simNode) fetchPolicy(ctx context.Context, sh *shapes) (wire.PolicyAnswer, int, error) {
	n.mu.Lock()
	held, cur := n.configID, n.shape
	n.mu.Unlock()
	reply, cost, err := n.zone.ask(ctx, wire.NewPolicyRequest(wire.PolicyQuery{NodeID: n.id, ConfigID: held, Time: time.Now().UTC()}, n.key))
	if err != nil {
		return 0, cost, err
	}
	pr, ok := reply.(*wire.PolicyReply)
	if !ok {
		return 0, cost, fmt.Errorf("policy request answered with %v", reply.Type())
	}
	var p *wire.AppliedPolicy
	switch pr.Answer {
	case wire.PolicyUnchanged:
		return pr.Answer, cost, nil
	case wire.PolicyNone:
		return pr.Answer, cost, fmt.Errorf("%w: %s", errNoPolicy, pr.Reason)
	case wire.PolicyFull:
		p = new(wire.AppliedPolicy)
		err = p.UnmarshalBinary(pr.Policy.Signed.Body)
	case wire.PolicyPatch:
		if cur == nil {
			return pr.Answer, cost, errors.New("a policy delta for a node holding none")
		}
		base := *cur.policy.p
		base.NodeID, base.ConfigID = n.id, held
		p, err = pr.Delta.Apply(&base)
	}
	if err != nil {
		return pr.Answer, cost, fmt.Errorf("policy of %s: %w", n.id, err)
	}
	next := sh.of(p)
	n.mu.Lock()
	n.configID, n.shape = p.ConfigID, next
	n.mu.Unlock()
	return pr.Answer, cost, nil
}

// status asks the root how it sees the node, as an agent does at every contact.
// held returns the config id the node holds.
func (n *simNode) held() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.configID
}

func (n *simNode) status(ctx context.Context) (*wire.StatusReply, int, error) {
	reply, cost, err := n.zone.ask(ctx, wire.NewStatusRequest(wire.StatusQuery{NodeID: n.id, Time: time.Now().UTC()}, n.key))
	if err != nil {
		return nil, cost, err
	}
	st, ok := reply.(*wire.StatusReply)
	if !ok {
		return nil, cost, fmt.Errorf("status request answered with %v", reply.Type())
	}
	return st, cost, nil
}

// report makes and signs the node's report of one run that ended at end and lasted took;
// nil for a node that says nothing.
func (n *simNode) report(end time.Time, took time.Duration, changesOnly bool) (*wire.Report, int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.does == silent || n.shape == nil {
		return nil, 0, nil
	}
	n.run++
	mode := wire.ReportingFull
	if changesOnly {
		mode = wire.ReportingChangesOnly
	}
	body := wire.ReportBody{NodeID: n.id, ConfigID: n.configID, RunID: n.run, Start: end.Add(-took), End: end, ReportingMode: mode}
	// The component that drifts or fails moves through the policy, run after run.
	bad := -1
	if n.does != compliant && len(n.shape.reported) > 0 {
		bad = int((n.run + uint64(n.index)) % uint64(len(n.shape.reported)))
	}
	results := 0
	for i, c := range n.shape.reported {
		st := wire.StatusSuccess
		msg := ""
		if c.audit {
			st = wire.StatusAuditCompliant
		}
		if i == bad {
			switch {
			case n.does == drift && c.audit:
				st, msg = wire.StatusAuditNonCompliant, "package not installed"
			case n.does == drift:
				st, msg = wire.StatusRepaired, "package installed"
			case c.audit:
				st, msg = wire.StatusAuditError, "package manager locked"
			default:
				st, msg = wire.StatusError, "package manager locked"
			}
		}
		results++
		if changesOnly && st.IsSuccess() {
			continue
		}
		body.Results = append(body.Results, wire.ComponentResult{Index: c.index, Status: st, Message: msg})
	}
	r, err := wire.NewReport(body, n.key)
	return r, results, err
}
