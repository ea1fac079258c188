package wire

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// PolicyRequest asks for a node's applied policy, naming the config id the node holds so
// the answer can be "unchanged" or a delta. Signed like a StatusRequest.
type PolicyRequest struct {
	Signed Signed
}

// PolicyQuery is the signed content of a PolicyRequest.
type PolicyQuery struct {
	NodeID   string
	ConfigID string // held by the node; "" for none
	Time     time.Time
}

const policyRequestDomain = "policy-request"

// PolicyAnswer says what a PolicyReply carries.
type PolicyAnswer uint8

const (
	PolicyUnchanged PolicyAnswer = 1 // the node holds the current policy
	PolicyFull      PolicyAnswer = 2 // Policy holds the whole signed policy
	PolicyPatch     PolicyAnswer = 3 // Delta applies to the policy the node holds
	PolicyNone      PolicyAnswer = 4 // the node has no policy (not accepted, or nothing applies)
)

// PolicyReply answers a PolicyRequest.
type PolicyReply struct {
	Answer PolicyAnswer
	Policy *SignedPolicy
	Delta  *PolicyDelta
	// Reason says why there is no policy, for PolicyNone.
	Reason string
}

func init() {
	register(TypePolicyRequest, func() Message { return new(PolicyRequest) })
	register(TypePolicyReply, func() Message { return new(PolicyReply) })
}

func (*PolicyRequest) Type() Type { return TypePolicyRequest }

func (r *PolicyRequest) AppendBinary(b []byte) ([]byte, error) { return r.Signed.append(b), nil }

func (r *PolicyRequest) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	r.Signed.decode(&d, 1024)
	return d.err
}

// NewPolicyRequest signs a query for the node.
func NewPolicyRequest(q PolicyQuery, key ed25519.PrivateKey) *PolicyRequest {
	b := appendString(nil, q.NodeID)
	b = appendString(b, q.ConfigID)
	b = appendTime(b, q.Time)
	return &PolicyRequest{Signed: Sign(policyRequestDomain, b, key)}
}

// Peek decodes the query without checking the signature.
func (r *PolicyRequest) Peek() (PolicyQuery, error) {
	d := decoder{b: r.Signed.Body}
	q := PolicyQuery{NodeID: d.string("node id", maxIDLen), ConfigID: d.string("config id", maxIDLen), Time: d.time("time")}
	if d.err == nil && q.NodeID == "" {
		d.fail("policy request names no node")
	}
	return q, d.err
}

// Verify checks the signature against the node's pinned key.
func (r *PolicyRequest) Verify(pub ed25519.PublicKey) error {
	return r.Signed.Verify(policyRequestDomain, pub)
}

func (*PolicyReply) Type() Type { return TypePolicyReply }

func (r *PolicyReply) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, byte(r.Answer))
	var err error
	switch r.Answer {
	case PolicyFull:
		if r.Policy == nil {
			return b, fmt.Errorf("full policy reply without a policy")
		}
		b, err = r.Policy.AppendBinary(b)
	case PolicyPatch:
		if r.Delta == nil {
			return b, fmt.Errorf("policy delta reply without a delta")
		}
		var db []byte
		if db, err = r.Delta.AppendBinary(nil); err == nil {
			b = appendBytes(b, db)
		}
	}
	if err != nil {
		return b, err
	}
	return appendString(b, r.Reason), nil
}

func (r *PolicyReply) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	*r = PolicyReply{Answer: PolicyAnswer(d.byte("answer"))}
	switch r.Answer {
	case PolicyUnchanged, PolicyNone:
	case PolicyFull:
		r.Policy = new(SignedPolicy)
		r.Policy.Signed.decode(&d, MaxFrameSize)
	case PolicyPatch:
		r.Delta = new(PolicyDelta)
		if db := d.bytes("policy delta", MaxFrameSize); d.err == nil {
			if err := r.Delta.UnmarshalBinary(db); err != nil {
				return fmt.Errorf("policy delta: %w", err)
			}
		}
	default:
		d.fail(fmt.Sprintf("policy answer %d", r.Answer))
	}
	r.Reason = d.string("reason", maxReasonLen)
	return d.err
}
