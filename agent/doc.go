// Package agent is the agent role, the process that runs on every node: it owns the node's
// identity, enrols with its policy server, and (in later versions) collects inventories,
// fetches and applies policies and reports. Subpackages method and host hold the generic
// methods and the OS backends they act through.
//
// # Basics
//
// [New] loads or creates the node's identity in its data directory; [Agent.Run] enrols with
// the policy server until it gets an answer, then keeps in touch every interval. The policy
// server's key is pinned at enrolment (or given by fingerprint), so a later impostor is
// refused.
//
// # Caveats
//
// agent never imports another role; it meets relays and the root only as wire messages
// over mesh.
package agent
