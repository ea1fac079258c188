// Package metrics is bosun's Prometheus exposition: each process's registry, the figures it
// registers, the /metrics handler and the token that guards it.
//
// It alone imports the Prometheus client library (github.com/prometheus/client_golang); the
// roles see bosun types (Counter, Histogram, a function that reports samples when scraped),
// so that the library can be replaced here and nowhere else. It imports no bosun package.
//
// # Basics
//
// A process makes one Registry with NewRegistry, which already holds the Go runtime's and
// the process's collectors, and registers its figures at start-up. Counters are for what
// the process does on its hot paths (an atomic add each); figures the process already
// holds (queue depths, node counts, compliance) are registered as functions read at
// scrape time, so nothing is counted in two places.
//
// Relays and agents serve their registry on a Server of their own, behind a bearer token
// (LoadOrCreateToken, RequireToken); the root mounts Registry.Handler on its API listener,
// behind its API tokens.
//
// # Caveats
//
// Labels must stay few: a rule id, a relay id, a state. Never a node id, which would make
// one series per node of a fleet of 100,000.
package metrics
