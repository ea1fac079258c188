package wire

import "fmt"

// Type identifies a message in a frame. The numbers are part of the protocol: append new
// types at the end, never renumber or reuse one.
type Type uint64

const (
	TypeHello         Type = 1  // peers introduce themselves; see [Hello]
	TypeEnrol         Type = 2  // a node asks to join; see [Enrol]
	TypeAck           Type = 3  // the reply to anything that needs no richer reply; see [Ack]
	TypeForward       Type = 4  // a relay carries a node's message upstream; see [Forward]
	TypeAppliedPolicy Type = 5  // what one node must do, signed by the root
	TypeInventory     Type = 6  // a node's inventory, full or delta, signed by the node
	TypeReport        Type = 7  // one run's results, signed by the node
	TypePolicyRequest Type = 8  // an agent asks for its policy given the config id it holds
	TypePolicyReply   Type = 9  // the answer: unchanged, a full policy or a delta
	TypeStatusRequest Type = 10 // a node asks what the root thinks of it
	TypeStatusReply   Type = 11 // the answer
	TypeProxy         Type = 12 // a relay passes a node's request upstream and waits for the answer
	TypeBundleHeader  Type = 13 // starts an air-gap bundle file
	TypeBundleTrailer Type = 14 // ends it with its signature
	TypeRelayStats    Type = 15 // a relay tells the root how its queue and uplink fare
	TypeMembership    Type = 16 // a relay tells the root who is alive in its zone
	TypeFileRequest   Type = 17 // a node asks for a shared file
	TypeFileReply     Type = 18 // the file, signed by the root
)

var typeNames = map[Type]string{
	TypeHello:         "hello",
	TypeEnrol:         "enrol",
	TypeAck:           "ack",
	TypeForward:       "forward",
	TypeAppliedPolicy: "applied-policy",
	TypeInventory:     "inventory",
	TypeReport:        "report",
	TypePolicyRequest: "policy-request",
	TypePolicyReply:   "policy-reply",
	TypeStatusRequest: "status-request",
	TypeStatusReply:   "status-reply",
	TypeProxy:         "proxy",
	TypeBundleHeader:  "bundle-header",
	TypeBundleTrailer: "bundle-trailer",
	TypeRelayStats:    "relay-stats",
	TypeMembership:    "membership",
	TypeFileRequest:   "file-request",
	TypeFileReply:     "file-reply",
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type(%d)", uint64(t))
}

// Message is implemented by every message of the protocol. AppendBinary appends the
// payload (not the frame header) to b.
type Message interface {
	Type() Type
	AppendBinary(b []byte) ([]byte, error)
	UnmarshalBinary(p []byte) error
}

// decoders maps each known type to a constructor of an empty message, so that frames can
// be decoded without a switch that must be kept in step with the enum. Files of messages
// register themselves in init.
var decoders = map[Type]func() Message{}

func register(t Type, fn func() Message) {
	if _, dup := decoders[t]; dup {
		panic(fmt.Sprintf("wire: type %v registered twice", t))
	}
	decoders[t] = fn
}

// Known reports whether this build can decode messages of type t.
func Known(t Type) bool {
	_, ok := decoders[t]
	return ok
}

// Decode decodes the payload of a frame of type t.
func Decode(t Type, payload []byte) (Message, error) {
	fn, ok := decoders[t]
	if !ok {
		return nil, fmt.Errorf("%w: %v", ErrUnknownType, t)
	}
	m := fn()
	if err := m.UnmarshalBinary(payload); err != nil {
		return nil, fmt.Errorf("decode %v: %w", t, err)
	}
	return m, nil
}
