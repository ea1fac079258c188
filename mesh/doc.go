// Package mesh is how bosun processes reach each other: the node identity (an ed25519 key
// and a UUID kept in the state directory), the TLS certificates derived from that key, and
// the QUIC transport that carries wire messages between agents, relays and the root. It
// owns quic-go, and will own memberlist when gossip comes; nothing else imports either.
//
// The roles (agent, relay, root) and cmd/bosun import mesh. mesh imports wire and nothing
// else of bosun: it must never import a role, store or inventory, so that roles meet only as
// wire messages over mesh.
//
// # Basics
//
// [LoadOrCreateIdentity] reads or creates node.key (PEM PKCS#8, mode 0600) and node.id.
// Keys are shown and pinned by [Fingerprint], "sha256:" and the hex SHA-256 of the raw key.
//
// Every process proves its identity with a self-signed certificate made in memory at start
// from its node key: subject CN and a URI SAN "bosun:node:<id>" both carry the node id. TLS
// is 1.3 only, with ALPN [wire.ALPN]; the server requires a client certificate. Since every
// certificate is self-signed, chain verification is off, and trust is what the caller's
// [PeerPolicy] decides after mesh has checked the certificate's shape and self-signature:
// the agent pins its policy server's fingerprint ([PinFingerprint]), the policy server
// refuses the keys of refused or deleted nodes. TLS 1.3's CertificateVerify proves the peer
// holds the key. A refusal fails the handshake with a TLS alert (access_denied for a policy
// decision, bad_certificate for a malformed certificate), is logged on the refusing side with
// the peer's address and node id, and reaches the other side as [ErrPeerRejected].
//
// One exchange is one bidirectional QUIC stream: the client writes one request frame and
// closes its side, the server reads exactly that (bounded by MaxFrameSize), calls the
// [Handler] and writes one reply frame. A request the server cannot read, or a handler that
// panics, gets a [wire.Ack] with [wire.AckError] and the connection serves on. A [Server]
// listens on one UDP socket with one quic.Transport; [Listen] binds it, [Server.Serve] runs
// until its context ends and joins every goroutine it started, [Server.Close] releases it.
// A [Client] keeps one connection per server address, redials a dead one once, and sends
// keep-alives so that an agent behind NAT stays reachable; [Server.NewClient] shares the
// server's socket, as a relay talking both down and up should.
//
// # Caveats
//
// A request may reach a server twice when a connection dies mid-exchange and the client
// redials: handlers must be idempotent (reports are deduplicated by node and run).
//
// Certificates carry no meaningful dates and nobody checks them: the key is the identity,
// and a certificate lives as long as the process.
//
// Gossip is not here yet. When it comes, memberlist keeps its own UDP+TCP port (DEPS.md §9
// and §10): gossip says who looks alive, and what it says is confirmed over these QUIC
// connections, which alone authenticate nodes.
package mesh
