package wire

import (
	"crypto/ed25519"
	"fmt"
	"time"
)

// InventoryKind says whether an inventory upload is whole or a delta.
type InventoryKind uint8

const (
	InventoryFull  InventoryKind = 1
	InventoryDelta InventoryKind = 2
)

// InventoryBody is what a node signs when it sends its inventory. Payload is opaque to the
// protocol: package inventory encodes it (compressed), so that wire needs no knowledge of
// what an inventory holds.
type InventoryBody struct {
	NodeID    string
	Collected time.Time
	Kind      InventoryKind
	// BaseHash names, for a delta, the inventory it applies to: the one the root last
	// confirmed holding (StatusReply.InventoryHash).
	BaseHash uint64
	// Hash is the hash of the whole inventory after the delta is applied, so the root can
	// tell a delta that went wrong from one that went right.
	Hash    uint64
	Payload []byte
}

const inventoryDomain = "inventory"

// MaxInventoryPayload bounds one inventory's encoded payload.
const MaxInventoryPayload = 16 << 20

// InventoryUpload carries a signed InventoryBody.
type InventoryUpload struct {
	Signed Signed
}

func init() { register(TypeInventory, func() Message { return new(InventoryUpload) }) }

func (*InventoryUpload) Type() Type { return TypeInventory }

func (u *InventoryUpload) AppendBinary(b []byte) ([]byte, error) { return u.Signed.append(b), nil }

func (u *InventoryUpload) UnmarshalBinary(p []byte) error {
	d := decoder{b: p}
	u.Signed.decode(&d, MaxInventoryPayload+4096)
	return d.err
}

// NewInventoryUpload signs body with the node's key.
func NewInventoryUpload(body InventoryBody, key ed25519.PrivateKey) *InventoryUpload {
	b := appendString(nil, body.NodeID)
	b = appendTime(b, body.Collected)
	b = append(b, byte(body.Kind))
	b = appendUvarint(b, body.BaseHash)
	b = appendUvarint(b, body.Hash)
	b = appendBytes(b, body.Payload)
	return &InventoryUpload{Signed: Sign(inventoryDomain, b, key)}
}

// Peek decodes the body without checking the signature, to learn which node's key to check
// it with. Nothing it returns may be trusted before Verify.
func (u *InventoryUpload) Peek() (InventoryBody, error) {
	d := decoder{b: u.Signed.Body}
	body := InventoryBody{
		NodeID:    d.string("node id", maxIDLen),
		Collected: d.time("collected"),
		Kind:      InventoryKind(d.byte("kind")),
		BaseHash:  d.uvarint("base hash"),
		Hash:      d.uvarint("hash"),
		Payload:   d.bytes("payload", MaxInventoryPayload),
	}
	if d.err != nil {
		return InventoryBody{}, fmt.Errorf("inventory: %w", d.err)
	}
	if body.NodeID == "" {
		return InventoryBody{}, fmt.Errorf("%w: inventory names no node", ErrMalformed)
	}
	if body.Kind != InventoryFull && body.Kind != InventoryDelta {
		return InventoryBody{}, fmt.Errorf("%w: inventory of node %s has kind %d", ErrMalformed, body.NodeID, body.Kind)
	}
	return body, nil
}

// Verify checks the signature against the node's pinned key.
func (u *InventoryUpload) Verify(pub ed25519.PublicKey) error {
	return u.Signed.Verify(inventoryDomain, pub)
}
