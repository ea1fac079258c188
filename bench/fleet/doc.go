// Package fleet is bosun's fleet simulator: it starts a real root and real relays (processes
// of the bosun binary, in temporary data directories on 127.0.0.1), drives many simulated
// agents through them, and measures what DESIGN.md §5 promises of a root: enrolment,
// compilation, ingestion, end-to-end latency, bytes on each hop, memory, CPU and disk.
//
// # Basics
//
// [Run] takes a [Config] and returns a [Result], which [Result.WriteTable] prints for people
// and [Result.WriteJSON] for the run-to-run comparison under bench/results/.
//
// Simulated agents are real protocol peers, and cheap: each relay gets one simulated zone,
// which speaks to the relay as a relay below it would (wire.Forward batches of the nodes'
// frames, wire.Proxy for their status and policy requests), so thousands of nodes share one
// QUIC connection. Every node still has its own ed25519 key and signs its enrolment, its
// inventory, its requests and its reports; the root checks each signature against the key it
// pinned at acceptance, exactly as for an agent behind a chain of relays. No protocol path
// was added for the simulator.
//
// Time is compressed by Config.Speed: a node runs every Interval/Speed of wall time and the
// reports say so, so that a day of fleet life fits in a benchmark. The root's own clock is
// not touched, so its grace periods and "no answer" states run at real time.
//
// # Caveats
//
// fleet is not a role: it imports wire, mesh, inventory and the API client (root/api) and
// never root or relay, which it reaches only as processes. The simulator shares the machine
// with the processes it measures; its own CPU is shown beside theirs.
package fleet
