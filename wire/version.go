package wire

// ProtocolVersion is bumped whenever a change to the messages means an older peer would
// misunderstand a newer one. Peers exchange it in [Hello]; a root serves every version from
// MinProtocolVersion up.
//
// History:
//   - 1 (2026-11-24): hello, enrolment, acknowledgement, forwarding through relays;
//     inventories (full or delta), status requests proxied by relays, applied policies.
const ProtocolVersion = 1

// MinProtocolVersion is the oldest protocol version this build still speaks.
const MinProtocolVersion = 1

// ALPN names the protocol in the TLS handshake so that nothing else that happens to speak
// QUIC on the port is mistaken for a bosun peer.
const ALPN = "bosun/1"
