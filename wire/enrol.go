package wire

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// EnrolStub is the first, minimal inventory a node sends to ask to join: enough for an
// operator to decide whether to accept it. The node signs it with the key it states, which
// proves possession of that key to a root that has never seen the node, through any number
// of relays.
type EnrolStub struct {
	NodeID          string
	Hostname        string
	OS              string
	Key             ed25519.PublicKey
	PolicyServer    string // the address the node was told to use
	SoftwareVersion string
	Role            Role
	Time            time.Time // when the node made the stub; the root refuses stale ones
}

const enrolDomain = "enrol"

// Enrol carries a signed EnrolStub.
type Enrol struct {
	Signed Signed
}

func init() { register(TypeEnrol, func() Message { return new(Enrol) }) }

func (*Enrol) Type() Type { return TypeEnrol }

func (e *Enrol) AppendBinary(b []byte) ([]byte, error) { return e.Signed.append(b), nil }

func (e *Enrol) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	e.Signed.decode(&d, 64<<10)
	return d.err
}

func (s *EnrolStub) appendBinary(b []byte) []byte {
	b = appendString(b, s.NodeID)
	b = appendString(b, s.Hostname)
	b = appendString(b, s.OS)
	b = appendBytes(b, s.Key)
	b = appendString(b, s.PolicyServer)
	b = appendString(b, s.SoftwareVersion)
	b = append(b, byte(s.Role))
	return appendTime(b, s.Time)
}

func (s *EnrolStub) unmarshalBinary(p []byte) error {
	d := decoder{b: p}
	*s = EnrolStub{
		NodeID:          d.string("node id", maxIDLen),
		Hostname:        d.string("hostname", maxNameLen),
		OS:              d.string("os", maxNameLen),
		Key:             cloneBytes(d.bytes("key", maxKeyLen)),
		PolicyServer:    d.string("policy server", maxNameLen),
		SoftwareVersion: d.string("software version", maxNameLen),
		Role:            Role(d.byte("role")),
		Time:            d.time("time"),
	}
	return d.err
}

// NewEnrol signs stub with key. The stub's Key is set from key so the two cannot disagree.
func NewEnrol(stub EnrolStub, key ed25519.PrivateKey) *Enrol {
	stub.Key = key.Public().(ed25519.PublicKey)
	return &Enrol{Signed: Sign(enrolDomain, stub.appendBinary(nil), key)}
}

// Peek decodes the stub without checking anything, to learn which node it names. Nothing it
// returns may be trusted before Open.
func (e *Enrol) Peek() (EnrolStub, error) {
	var stub EnrolStub
	if err := stub.unmarshalBinary(e.Signed.Body); err != nil {
		return EnrolStub{}, fmt.Errorf("enrolment stub: %w", err)
	}
	return stub, nil
}

// Open decodes the stub, checks it names a node and a valid role, and verifies that it was
// signed by the key it states. It does not decide whether that key is welcome: that is the
// root's registry's job.
func (e *Enrol) Open() (EnrolStub, error) {
	var stub EnrolStub
	if err := stub.unmarshalBinary(e.Signed.Body); err != nil {
		return EnrolStub{}, fmt.Errorf("enrolment stub: %w", err)
	}
	switch {
	case stub.NodeID == "":
		return EnrolStub{}, fmt.Errorf("%w: enrolment stub has no node id", ErrMalformed)
	case len(stub.Key) != ed25519.PublicKeySize:
		return EnrolStub{}, fmt.Errorf("%w: enrolment stub of node %s has a key of %d bytes", ErrMalformed, stub.NodeID, len(stub.Key))
	case !stub.Role.valid():
		return EnrolStub{}, fmt.Errorf("%w: enrolment stub of node %s has role %d", ErrMalformed, stub.NodeID, stub.Role)
	}
	if err := e.Signed.Verify(enrolDomain, stub.Key); err != nil {
		return EnrolStub{}, fmt.Errorf("enrolment of node %s: %w", stub.NodeID, err)
	}
	return stub, nil
}
