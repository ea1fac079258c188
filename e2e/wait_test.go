package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWait drives bosun wait as a script would: a wait for a node's acceptance started
// while the node is pending ends with status 0 once an operator accepts it; a wait for the
// node to run its latest config ends once it has; a wait that cannot be met ends with
// status 5 at --timeout, saying what it saw.
func TestWait(t *testing.T) {
	f := newFleet(t)
	addrs := f.initRoot()
	root := f.startRoot(addrs)
	agent := f.startRunAgent("agent1", addrs.quic)
	n := f.waitNode("agent1", "pending")

	w := f.start("wait-accepted", "wait", "node-accepted", n.ID, "--timeout", "60s", "--interval", "200ms")
	// The wait is running, and must not be met yet: it asked and saw the node pending.
	select {
	case <-w.done:
		t.Fatalf("bosun wait node-accepted ended before the node was accepted: %v\n%s", w.err, w.log())
	case <-time.After(time.Second):
	}
	f.must("nodes", "accept", n.ID)
	select {
	case <-w.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("bosun wait node-accepted still running 60 s after the acceptance:\n%s", w.log())
	}
	if w.err != nil || !strings.Contains(w.log(), "node "+n.ID+" accepted") {
		t.Errorf("bosun wait node-accepted: %v\n%s", w.err, w.log())
	}

	f.must("apply", "-f", filepath.Join("..", "examples", "demo-policy.yml"))
	out := f.must("wait", "config-applied", n.ID, "--timeout", "50s", "--interval", "500ms")
	if !strings.Contains(out, "ran config") {
		t.Errorf("bosun wait config-applied printed %q", out)
	}

	_, stderr, status := f.run("wait", "node-accepted", "00000000-0000-0000-0000-000000000000", "--timeout", "1s", "--interval", "200ms")
	if status != 5 || !strings.Contains(stderr, "timed out after 1s") || !strings.Contains(stderr, "unknown") {
		t.Errorf("a wait that cannot be met: got status %d, stderr %q; want 5 and what it saw", status, stderr)
	}
	_, stderr, status = f.run("wait", "node-accepted", n.ID, "--token", "bosun_wrong")
	if status != 4 {
		t.Errorf("a refused token: got status %d, stderr %q; want 4 at once", status, stderr)
	}
	agent.stop(t)
	root.stop(t)
}
