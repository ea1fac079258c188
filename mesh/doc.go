// Package mesh is how bosun processes reach each other: the node identity (an ed25519 key
// and a UUID kept in the state directory), the TLS certificates derived from that key, and
// the QUIC transport that carries wire messages between agents, relays and the root, and the
// gossip pools that tell who looks alive. It owns quic-go and memberlist; nothing else
// imports either.
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
// # Gossip
//
// A [Pool] is this process's membership in one memberlist pool: one per zone (a relay and
// its agents, [ProfileLAN]) and one for the relays and the root ([ProfileWAN]). memberlist
// keeps its own UDP+TCP port ([DefaultGossipPort], DEPS.md §9 and §10), apart from QUIC.
// The zone is bound into every packet (memberlist's Label), so pools of different zones
// never merge; gossip is encrypted with AES-GCM under the pool's keyring, which the root
// hands out at enrolment and rotates with [Pool.AddKey], [Pool.UseKey] and [Pool.RemoveKey]
// (each on every member before the next). [NewPool] refuses to gossip in the clear except
// with [ProfileLocal], for tests. [Pool.Join] takes several seeds; seeds that stop being
// members are joined again after a random delay, so that a returning relay is not stormed.
// [Pool.Members] lists what the pool believes, with each member's role and meta (its QUIC
// address, say); [Pool.Events] reports joins, suspicions, deaths and departures on a
// bounded channel that drops rather than stalls memberlist.
//
// Gossip is a hint, not an identity. The pool key is shared: anyone holding it can claim
// any node id and any role. So a member's node id, role and addresses are what it says,
// to be confirmed over QUIC, whose mTLS alone authenticates nodes; "X is dead" means X
// stopped answering gossip, which the root may show early but should not treat as proof.
//
// Caveats of memberlist the pool works around: memberlist reports no suspicions, so
// [MemberSuspect] is set when this member's own probe fails (read from memberlist's log
// line) and cleared when the suspect answers a probe or outlives memberlist's longest
// suspicion; its leave message looks like a death to other members, so a leaving member
// also sends every member a notice of its own, which turns a death into a departure in
// whichever order the two arrive. memberlist starts goroutines it does not join; they end
// with its sockets when [Pool.Close] shuts it down.
package mesh
