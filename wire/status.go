package wire

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// StatusRequest asks the root how it sees a node: whether it is accepted, which inventory
// and which policy it holds for it. It is signed so that nobody (a relay included) can ask
// on another node's behalf.
type StatusRequest struct {
	Signed Signed
}

// StatusQuery is the signed content of a StatusRequest.
type StatusQuery struct {
	NodeID string
	Time   time.Time
}

const statusDomain = "status"

func init() {
	register(TypeStatusRequest, func() Message { return new(StatusRequest) })
	register(TypeStatusReply, func() Message { return new(StatusReply) })
}

func (*StatusRequest) Type() Type { return TypeStatusRequest }

func (s *StatusRequest) AppendBinary(b []byte) ([]byte, error) { return s.Signed.append(b), nil }

func (s *StatusRequest) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	s.Signed.decode(&d, 1024)
	return d.err
}

// NewStatusRequest signs a query for the node.
func NewStatusRequest(q StatusQuery, key ed25519.PrivateKey) *StatusRequest {
	b := appendString(nil, q.NodeID)
	b = appendTime(b, q.Time)
	return &StatusRequest{Signed: Sign(statusDomain, b, key)}
}

// Peek decodes the query without checking the signature.
func (s *StatusRequest) Peek() (StatusQuery, error) {
	d := decoder{b: s.Signed.Body}
	q := StatusQuery{NodeID: d.string("node id", maxIDLen), Time: d.time("time")}
	if d.err == nil && q.NodeID == "" {
		d.fail("status request names no node")
	}
	return q, d.err
}

// Verify checks the signature against the node's pinned key.
func (s *StatusRequest) Verify(pub ed25519.PublicKey) error {
	return s.Signed.Verify(statusDomain, pub)
}

// StatusReply is the root's answer to a StatusRequest.
type StatusReply struct {
	NodeStatus string // pending, accepted, ...
	// InventoryHash is the hash of the inventory the root holds for the node, 0 for none:
	// the base the node's next delta must apply to.
	InventoryHash uint64
	InventoryTime time.Time
	ConfigID      string // the config id of the node's current applied policy, "" for none
	ServerTime    time.Time
	// RootKey is the root's public key, which signs applied policies. A node pins it at
	// first sight unless its operator gave the root's fingerprint.
	RootKey ed25519.PublicKey
	// Mesh, for accepted nodes, says how to gossip and which relays to fail over to.
	Mesh *MeshConfig
}

func (*StatusReply) Type() Type { return TypeStatusReply }

func (s *StatusReply) AppendBinary(b []byte) ([]byte, error) {
	b = appendString(b, s.NodeStatus)
	b = appendUvarint(b, s.InventoryHash)
	b = appendTime(b, s.InventoryTime)
	b = appendString(b, s.ConfigID)
	b = appendTime(b, s.ServerTime)
	b = appendBytes(b, s.RootKey)
	if s.Mesh != nil {
		b = s.Mesh.Signed.append(b)
	}
	return b, nil
}

func (s *StatusReply) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	*s = StatusReply{
		NodeStatus:    d.string("node status", maxNameLen),
		InventoryHash: d.uvarint("inventory hash"),
		InventoryTime: d.time("inventory time"),
		ConfigID:      d.string("config id", maxIDLen),
		ServerTime:    d.time("server time"),
		RootKey:       cloneBytes(d.bytes("root key", maxKeyLen)),
	}
	if d.more() {
		s.Mesh = new(MeshConfig)
		s.Mesh.Signed.decode(&d, 1<<20)
	}
	return d.err
}

// Proxy carries a node's request through relays to the root and the answer back, for the
// requests that need the root's answer now (status). Path is as in Forwarded.
type Proxy struct {
	Path  []string
	Frame []byte
}

func init() { register(TypeProxy, func() Message { return new(Proxy) }) }

func (*Proxy) Type() Type { return TypeProxy }

func (p *Proxy) AppendBinary(b []byte) ([]byte, error) {
	if len(p.Path) > maxPathLen {
		return b, fmt.Errorf("proxy path of %d relays, limit %d", len(p.Path), maxPathLen)
	}
	b = appendUvarint(b, uint64(len(p.Path)))
	for _, hop := range p.Path {
		b = appendString(b, hop)
	}
	return appendBytes(b, p.Frame), nil
}

func (p *Proxy) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	*p = Proxy{}
	hops := d.count("path", 1)
	if hops > maxPathLen {
		return fmt.Errorf("%w: proxy path of %d relays, limit %d", ErrMalformed, hops, maxPathLen)
	}
	for range hops {
		p.Path = append(p.Path, d.string("hop", maxIDLen))
	}
	p.Frame = cloneBytes(d.bytes("frame", 1<<20))
	return d.err
}

// Inner decodes the node's request.
func (p *Proxy) Inner() (Message, error) {
	m, rest, err := DecodeFrame(p.Frame, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("proxied request: %w", err)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: proxied request has %d bytes after its frame", ErrMalformed, len(rest))
	}
	return m, nil
}
