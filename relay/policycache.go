package relay

import (
	"context"
	"errors"
	"fmt"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// bucketPolicies caches each node's signed applied policy, so the zone keeps getting its
// policies while the relay is cut off from its upstream.
const bucketPolicies = "policies"

// cachedPolicies counts the cached policies by key, without reading them; 0 when the store
// cannot say.
func (r *Relay) cachedPolicies() int {
	n, _ := r.db.Bucket(bucketPolicies).Count("")
	return n
}

// policy answers a node's policy request: from upstream when it answers (caching what comes
// back), from the cache when it does not.
func (h *handler) policy(ctx context.Context, peer mesh.Peer, req *wire.PolicyRequest) wire.Message {
	q, err := req.Peek()
	if ack := h.fromPeer(peer, "policy request", q.NodeID, err, req.Verify); ack != nil {
		return ack
	}
	reply := h.askUp(ctx, peer, req)
	switch m := reply.(type) {
	case *wire.PolicyReply:
		h.r.metrics.policyUpstream.Inc()
		if err := h.r.cachePolicy(q.NodeID, m); err != nil {
			h.r.log.Warn("policy cache update failed", "node", q.NodeID, "err", err)
		}
		return m
	case *wire.Ack:
		if m.Status != wire.AckRetryLater {
			return m
		}
		cached, err := h.r.cachedPolicy(q.NodeID)
		if err != nil || cached == nil {
			h.r.metrics.policyMiss.Inc()
			return m
		}
		h.r.metrics.policyHit.Inc()
		h.r.log.Debug("upstream unreachable; policy served from the cache", "node", q.NodeID)
		if cached.ConfigID == q.ConfigID {
			return &wire.PolicyReply{Answer: wire.PolicyUnchanged}
		}
		return &wire.PolicyReply{Answer: wire.PolicyFull, Policy: cached.signed}
	}
	return reply
}

type cachedPolicy struct {
	ConfigID string
	signed   *wire.SignedPolicy
	policy   *wire.AppliedPolicy
}

// cachedPolicy returns the cached policy of a node, nil when none. The relay does not check
// the root's signature: the node does, and a relay cannot make one anyway.
func (r *Relay) cachedPolicy(nodeID string) (*cachedPolicy, error) {
	b, err := r.db.Bucket(bucketPolicies).Get(nodeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, _, err := wire.DecodeFrame(b, wire.MaxFrameSize)
	if err != nil {
		return nil, err
	}
	sp, ok := m.(*wire.SignedPolicy)
	if !ok {
		return nil, fmt.Errorf("cached policy of %s is a %v", nodeID, m.Type())
	}
	var p wire.AppliedPolicy
	if err := p.UnmarshalBinary(sp.Signed.Body); err != nil {
		return nil, err
	}
	return &cachedPolicy{ConfigID: p.ConfigID, signed: sp, policy: &p}, nil
}

func (r *Relay) cachePolicy(nodeID string, reply *wire.PolicyReply) error {
	var sp *wire.SignedPolicy
	switch reply.Answer {
	case wire.PolicyFull:
		sp = reply.Policy
	case wire.PolicyPatch:
		cur, err := r.cachedPolicy(nodeID)
		if err != nil || cur == nil {
			return err
		}
		next, err := reply.Delta.Apply(cur.policy)
		if err != nil {
			// The node held a base the relay never saw; the next full policy refills it.
			return r.db.Bucket(bucketPolicies).Delete(nodeID)
		}
		body, err := next.AppendBinary(nil)
		if err != nil {
			return err
		}
		sp = &wire.SignedPolicy{Signed: wire.Signed{Body: body, Sig: reply.Delta.Sig}}
	case wire.PolicyNone:
		if err := r.db.Bucket(bucketPolicies).Delete(nodeID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	default:
		return nil
	}
	b, err := wire.AppendFrame(nil, sp)
	if err != nil {
		return err
	}
	return r.db.Bucket(bucketPolicies).Put(nodeID, b)
}
