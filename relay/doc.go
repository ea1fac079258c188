// Package relay is the relay role: it sits in an isolated zone, takes enrolments (and later
// inventories and reports) from the agents of its zone and from relays below it, makes them
// durable in its Badger queue before acknowledging, and forwards them upstream in order,
// deleting each only once the upstream acknowledged it.
//
// # Basics
//
// A relay is itself a node: it enrols with its upstream like an agent, with the relay role,
// and must be accepted before the root takes anything but enrolments from it. Items carry the
// path of relays they went through, so the root knows each node's policy server.
//
// # Caveats
//
// relay never imports another role; it speaks to agents and to its upstream only through
// wire messages over mesh, and keeps its state through package store.
package relay
