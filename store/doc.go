// Package store owns everything bosun keeps on disk: the Badger key
// layout, the schema version key, the record header that versions and
// checksums every stored value, the durable FIFO queues that carry
// reports and inventories through store-and-forward, and the agent's
// append-only segment-file spool format.
//
// Roles see small interfaces, never Badger's types: [KV] for keyed state
// (the root's registry, a relay's policy cache) and [Queue] for ordered,
// acknowledged delivery. A PostgreSQL backend is meant to stand beside
// this one for fleets that outgrow one root (DESIGN.md §2, "Past one
// machine"), so nothing outside this package may depend on how the bytes
// are laid out.
//
// # Basics
//
// Every role calls [PrepareDir] on its data directory before anything
// else; [Open] does so itself. The relay and the root open Badger with
// [Open] and a [Profile]; the agent never opens Badger (it costs about
// 10 MiB of resident memory and a dozen goroutines, DEPS.md §5) and uses
// [OpenSpool] instead. Both [BadgerQueue] and [Spool] implement [Queue]:
// Append is durable (fsynced) when it returns, Peek reads the oldest
// records without removing them, and Ack removes everything up to a
// sequence number, so a consumer forwards, waits for the next hop's
// acknowledgement, then acks: at-least-once delivery that survives a
// kill at any point.
//
// Keys are namespaced inside Badger: "s/" holds the schema version,
// "b/<bucket>/<key>" bucket entries, "q/<queue>/<seq><length>" queue
// records (big-endian, so iteration is in Seq order) and "m/<queue>/"
// queue metadata, so bucket keys never collide with queues. Bucket and
// queue names may not contain '/'. Every value carries a format version
// byte and an xxhash64 of its payload; the spool's frames carry the
// checksum too (see spoolframe.go).
//
// # Caveats
//
// Badger frees the space of deleted keys only through compaction, so a
// drained Badger queue shrinks on disk later, not at Ack; the spool
// unlinks whole segments at once. A corrupt record is reported as
// [ErrCorrupt] naming where it is; nothing here repairs data silently,
// except the spool's torn tail (a crash mid-append, which by definition
// was never acknowledged to the caller), which is truncated with a
// logged warning.
//
// store imports no other bosun package; agent, relay and root import it.
// It is the only package that imports github.com/dgraph-io/badger/v4.
package store
