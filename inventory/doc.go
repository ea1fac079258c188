// Package inventory owns what bosun knows about a node: the [Inventory] model, its
// collection on the running machine, its validation, its compact encoding and deltas, and
// the import of FusionInventory/OCS XML inventories written by Rudder and FusionInventory
// agents.
//
// # Basics
//
// The agent calls [Collect] daily at [NextRun] (a stable slot in the 00:00–06:00 local
// window drawn from the node id), then sends [Diff] of the new inventory against the last
// one the root acknowledged, encoded by [MarshalDelta]. The root checks the message with
// [UnmarshalDelta], [Delta.Apply] (which refuses a delta whose base is not the inventory it
// holds), [Inventory.Validate] and [CheckTime]. Inventories from other agents enter through
// [ParseFusion] and [VerifyRudderSignature].
//
// Collection reads /etc, /proc, /sys and the package databases directly, so that a fake
// tree under CollectOptions.RootPrefix tests it, and uses gopsutil only for mounted
// filesystems and network interfaces (which only the running kernel knows). It never runs
// lsb_release nor makes any network query. What cannot be collected leaves its field
// empty and adds a [Note]; it never fails the inventory.
//
// # Caveats
//
// inventory does no network I/O and imports no other bosun package: the agent collects and
// diffs with it, the root validates, applies and imports with it, and wire carries its
// encodings as opaque bytes. It is the only package that may import gopsutil. Decoders ([Unmarshal], [UnmarshalDelta], [ParseFusion]) take untrusted
// input: they cap sizes and depth and return named errors ([ErrCorrupt], [ErrTooLarge],
// [ErrMalformed], [ErrMissingField]) that a handler maps to a status (412 for the last two,
// 413 for ErrTooLarge).
package inventory
