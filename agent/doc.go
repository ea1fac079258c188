// Package agent is the agent role, the process that runs on every node: it owns the node's
// identity, enrols with its policy server, collects and sends inventories, fetches the
// signed policy, runs it and reports. Subpackages method and host hold the generic methods
// and the OS backends they act through.
//
// # Basics
//
// [New] loads or creates the node's identity in its data directory; [Agent.Run] enrols with
// the policy server until it gets an answer, then keeps in touch every interval, runs the
// policy it holds on schedule ([NextRun]: every run interval at a per-node offset within the
// splay) and sends the run reports from its spool in order. The policy server's key is
// pinned at enrolment (or given by fingerprint), so a later impostor is refused; the root's
// key is pinned too, and a policy it did not sign is refused.
//
// [Apply] runs an applied policy: each component's condition against the node's [Facts]
// and the result conditions of earlier components, then the method in the component's mode
// (audit for everything under force-audit, [SetForceAudit]). [Agent.RunOnce] is one run as
// the daemon and `bosun agent run` make it: under the run lock, with a run id that only goes
// up, its signed report kept in the spool until the policy server acknowledges it
// ([Agent.SendReports]).
//
// # Caveats
//
// Only one process holds the spool (the daemon); a run in another process leaves its
// report in the outbox directory, which the holder sends first.
//
// agent never imports another role, nor root/policy: it meets relays and the root only as
// wire messages over mesh. Compiling a technique file locally (`bosun agent run
// --technique`) happens in cmd/bosun, which may import both.
package agent
