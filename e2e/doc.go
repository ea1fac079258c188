// Package e2e holds the end-to-end tests: they build the real bosun binary once, start
// root, relays and agents as processes on 127.0.0.1, drive the CLI as a subprocess, and
// require every process to stop cleanly. The package has no non-test code beyond this
// comment; it imports no bosun package, so it tests only what an operator can see.
package e2e
