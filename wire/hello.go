package wire

// Hello introduces a peer: the client sends one on a new connection and the server answers
// with its own. The TLS handshake already proved who the peer is; Hello says what it is and
// which protocol versions it speaks, so that a mismatch is reported in words rather than
// as a decoding failure later.
type Hello struct {
	ProtocolVersion    uint32
	MinProtocolVersion uint32
	Role               Role
	NodeID             string
	SoftwareVersion    string
}

func init() { register(TypeHello, func() Message { return new(Hello) }) }

func (*Hello) Type() Type { return TypeHello }

func (h *Hello) AppendBinary(b []byte) ([]byte, error) {
	b = appendUvarint(b, uint64(h.ProtocolVersion))
	b = appendUvarint(b, uint64(h.MinProtocolVersion))
	b = append(b, byte(h.Role))
	b = appendString(b, h.NodeID)
	return appendString(b, h.SoftwareVersion), nil
}

func (h *Hello) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	*h = Hello{
		ProtocolVersion:    uint32(d.uvarint("protocol version")),
		MinProtocolVersion: uint32(d.uvarint("min protocol version")),
		Role:               Role(d.byte("role")),
		NodeID:             d.string("node id", maxIDLen),
		SoftwareVersion:    d.string("software version", maxNameLen),
	}
	if d.err == nil && !h.Role.valid() {
		d.fail("role")
	}
	return d.err
}

// NewHello returns this build's Hello for a node.
func NewHello(role Role, nodeID, softwareVersion string) *Hello {
	return &Hello{
		ProtocolVersion:    ProtocolVersion,
		MinProtocolVersion: MinProtocolVersion,
		Role:               role,
		NodeID:             nodeID,
		SoftwareVersion:    softwareVersion,
	}
}
