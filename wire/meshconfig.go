package wire

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// ZoneRelay is a relay of a node's zone, as the root vouches for it: a node may fail over
// to it when its own relay is gone, and pins it by this key.
type ZoneRelay struct {
	NodeID   string
	QUICAddr string
	Key      ed25519.PublicKey
}

// MeshConfigBody tells a node how to gossip and where to turn when its relay is gone.
// The root signs it, so a relay carrying it down cannot point agents elsewhere.
type MeshConfigBody struct {
	NodeID string // the node it is for
	Time   time.Time
	// Keys is the gossip keyring, the key that encrypts first.
	Keys [][]byte
	// Zone is the zone pool the node belongs to; ZoneSeeds its relays' gossip addresses.
	Zone      string
	ZoneSeeds []string
	// CoreSeeds, for relays, are the gossip addresses of the root and the relays.
	CoreSeeds []string
	// Relays are the relays of the node's zone.
	Relays []ZoneRelay
}

const meshConfigDomain = "mesh-config"

// MeshConfig is a signed MeshConfigBody; it travels inside a StatusReply.
type MeshConfig struct {
	Signed Signed
}

// NewMeshConfig signs the body with the root's key.
func NewMeshConfig(body MeshConfigBody, key ed25519.PrivateKey) *MeshConfig {
	b := appendString(nil, body.NodeID)
	b = appendTime(b, body.Time)
	b = appendUvarint(b, uint64(len(body.Keys)))
	for _, k := range body.Keys {
		b = appendBytes(b, k)
	}
	b = appendString(b, body.Zone)
	b = appendStrings(b, body.ZoneSeeds)
	b = appendStrings(b, body.CoreSeeds)
	b = appendUvarint(b, uint64(len(body.Relays)))
	for _, r := range body.Relays {
		b = appendString(b, r.NodeID)
		b = appendString(b, r.QUICAddr)
		b = appendBytes(b, r.Key)
	}
	return &MeshConfig{Signed: Sign(meshConfigDomain, b, key)}
}

func appendStrings(b []byte, ss []string) []byte {
	b = appendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

func (d *decoder) strings(what string, maxLen uint64) []string {
	n := d.count(what, 1)
	if n > 1024 {
		d.fail(fmt.Sprintf("%s: %d entries", what, n))
		return nil
	}
	var out []string
	for range n {
		out = append(out, d.string(what, maxLen))
	}
	return out
}

// Open checks the root's signature and decodes the body.
func (m *MeshConfig) Open(rootKey ed25519.PublicKey) (MeshConfigBody, error) {
	if err := m.Signed.Verify(meshConfigDomain, rootKey); err != nil {
		return MeshConfigBody{}, fmt.Errorf("mesh config: %w", err)
	}
	d := decoder{b: m.Signed.Body}
	body := MeshConfigBody{NodeID: d.string("node id", maxIDLen), Time: d.time("time")}
	nk := d.count("keys", 1)
	if nk > 16 {
		return MeshConfigBody{}, fmt.Errorf("%w: mesh config with %d keys", ErrMalformed, nk)
	}
	for range nk {
		body.Keys = append(body.Keys, cloneBytes(d.bytes("key", 32)))
	}
	body.Zone = d.string("zone", maxNameLen)
	body.ZoneSeeds = d.strings("zone seeds", maxNameLen)
	body.CoreSeeds = d.strings("core seeds", maxNameLen)
	nr := d.count("relays", 3)
	if nr > 1024 {
		return MeshConfigBody{}, fmt.Errorf("%w: mesh config with %d relays", ErrMalformed, nr)
	}
	for range nr {
		body.Relays = append(body.Relays, ZoneRelay{NodeID: d.string("relay", maxIDLen), QUICAddr: d.string("relay address", maxNameLen),
			Key: cloneBytes(d.bytes("relay key", maxKeyLen))})
	}
	if d.err != nil {
		return MeshConfigBody{}, fmt.Errorf("mesh config: %w", d.err)
	}
	return body, nil
}

// MemberReport is one member of a zone pool as its relay sees it.
type MemberReport struct {
	NodeID string
	State  uint8 // mesh.MemberState: 1 alive, 2 suspect, 3 dead, 4 left
	Since  time.Time
}

// MembershipBody is a relay's view of its zone pool, sent up whenever it changes.
type MembershipBody struct {
	RelayID string
	Zone    string
	Time    time.Time
	Full    bool // every member, not only the changed ones
	Members []MemberReport
}

const membershipDomain = "membership"

// Membership carries a signed MembershipBody up, as a Proxy.
type Membership struct {
	Signed Signed
}

func init() { register(TypeMembership, func() Message { return new(Membership) }) }

func (*Membership) Type() Type { return TypeMembership }

func (m *Membership) AppendBinary(b []byte) ([]byte, error) { return m.Signed.append(b), nil }

func (m *Membership) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	m.Signed.decode(&d, 1<<20)
	return d.err
}

// NewMembership signs a relay's view of its zone.
func NewMembership(body MembershipBody, key ed25519.PrivateKey) *Membership {
	b := appendString(nil, body.RelayID)
	b = appendString(b, body.Zone)
	b = appendTime(b, body.Time)
	b = appendBool(b, body.Full)
	b = appendUvarint(b, uint64(len(body.Members)))
	for _, mr := range body.Members {
		b = appendString(b, mr.NodeID)
		b = append(b, mr.State)
		b = appendTime(b, mr.Since)
	}
	return &Membership{Signed: Sign(membershipDomain, b, key)}
}

// Peek decodes the body without checking the signature.
func (m *Membership) Peek() (MembershipBody, error) {
	d := decoder{b: m.Signed.Body}
	body := MembershipBody{RelayID: d.string("relay id", maxIDLen), Zone: d.string("zone", maxNameLen), Time: d.time("time"), Full: d.bool("full")}
	n := d.count("members", 3)
	for range n {
		body.Members = append(body.Members, MemberReport{NodeID: d.string("member", maxIDLen), State: d.byte("state"), Since: d.time("since")})
	}
	if d.err == nil && body.RelayID == "" {
		d.fail("membership names no relay")
	}
	if d.err != nil {
		return MembershipBody{}, fmt.Errorf("membership: %w", d.err)
	}
	return body, nil
}

// Verify checks the signature against the relay's pinned key.
func (m *Membership) Verify(pub ed25519.PublicKey) error {
	return m.Signed.Verify(membershipDomain, pub)
}
