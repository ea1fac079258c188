// Package wire is the protocol every bosun role speaks: the protocol version, the frame
// format, the message types and the encoding of each message, and the signatures that let a
// message cross relays without being trusted to them.
//
// # Basics
//
// A frame is a uvarint message type, a uvarint payload length and the payload. Readers cap the
// length before allocating and skip frames whose type they do not know, so a newer peer can add
// messages without breaking an older one. Each message lives in its own file with its encoding
// and decoding; the type numbers in types.go are append-only.
//
// Messages that a relay forwards on behalf of someone else (enrolments, inventories, reports)
// are [Signed]: the originating node signs the body with its ed25519 key, and the relay carries
// the bytes unchanged inside a [Forward], so it can neither alter nor forge them.
//
// # Caveats
//
// wire does no I/O beyond an io.Reader or io.Writer handed to it and imports no other bosun
// package: every role, the mesh and the store depend on it, never the reverse.
package wire
