// Package root is the root role: the centre of a bosun fleet. It keeps the node registry
// (pending, accepted, refused, deleted nodes and their pinned keys), answers nodes and relays
// over QUIC through package mesh, and serves operators through the HTTPS API of package
// root/api.
//
// # Basics
//
// [Init] prepares a data directory once: the root's identity, the certificate of its API and
// a first admin token. [New] opens the store and binds the listeners; [Root.Run] serves until
// its context ends.
//
// Inventories arrive from bosun agents over QUIC (ingest.go) and from other agents
// (FusionInventory, GLPI, Rudder) over HTTP, the OCS protocol and the drop directory under
// <data>/inventories (fusion.go, ocs.go, watcher.go); those become inventory-only nodes, role
// "inventory", which get no policy and can never take over a node with a bosun agent.
//
// # Caveats
//
// root never imports another role (agent, relay): they meet only as wire messages over mesh.
// State goes through the small interfaces of package store, so a second backend can stand
// beside Badger without touching this package's logic.
package root
