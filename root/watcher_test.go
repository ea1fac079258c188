package root

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDropDirectory(t *testing.T) {
	deb := corpus(t, "debian12.ocs")
	at := collectedAt(t, deb)
	clk := newClock(at.Add(time.Hour))
	r := startRootWith(t, func(c *Config) { c.Now = clk.now })
	base := filepath.Join(r.cfg.DataDir, dropDir)
	incoming := filepath.Join(base, "incoming")
	updates := filepath.Join(base, "accepted-nodes-updates")
	put := func(dir, name string, b []byte, age time.Duration) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		mt := clk.now().Add(-age)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(base, rel))
		return err == nil
	}
	ctx := context.Background()

	noRudder := withLogdate(corpus(t, "rudder-tag/minimal-no-rudder.ocs"), at)
	put(incoming, "node3.ocs", deb, 0)
	put(incoming, "node3.ocs.sign", corpus(t, "debian12.ocs.sign"), 0)
	put(incoming, "corrupt.ocs", deb[:1000], 3*time.Minute)
	put(incoming, "lone.ocs.sign", []byte("header=rudder-signature-v1\n"), 0)
	put(incoming, "readme.txt", []byte("not an inventory"), time.Hour)
	put(updates, "young.xml", noRudder, 0)
	put(updates, "packed.ocs.gz", gz(noRudder), 3*time.Minute)
	put(updates, "broken.ocs.gz", []byte("\x1f\x8bnot gzip"), 0)
	put(updates, "wrong.txt.gz", gz([]byte("x")), 0)

	// First sight: nothing is read until it held still across two scans.
	r.watch.scan(ctx)
	if !exists("incoming/node3.ocs") {
		t.Fatal("processed a file on first sight")
	}
	r.watch.scan(ctx)
	for _, f := range []string{"received/node3.ocs", "received/node3.ocs.sign", "failed/broken.ocs.gz", "failed/broken.ocs.gz.reason", "failed/wrong.txt.gz"} {
		if !exists(f) {
			t.Errorf("after two scans: no %s", f)
		}
	}
	for _, f := range []string{"incoming/corrupt.ocs", "accepted-nodes-updates/young.xml", "accepted-nodes-updates/packed.ocs"} {
		if !exists(f) {
			t.Errorf("after two scans %s should wait for its signature (10 s)", f)
		}
	}
	clk.add(DropPairWait + time.Second)
	r.watch.scan(ctx)
	r.watch.scan(ctx)
	for _, f := range []string{"failed/corrupt.ocs", "received/packed.ocs", "incoming/lone.ocs.sign", "incoming/readme.txt", "accepted-nodes-updates/young.xml"} {
		if !exists(f) {
			t.Errorf("after the pairing wait: no %s", f)
		}
	}
	reason, err := os.ReadFile(filepath.Join(base, "failed", "corrupt.ocs.reason"))
	if err != nil || !strings.Contains(string(reason), "malformed") {
		t.Errorf("reason of corrupt.ocs: got %q %v, want it to say malformed", reason, err)
	}
	// A lone inventory is taken unsigned once older than two minutes.
	clk.add(DropLoneAge)
	r.watch.scan(ctx)
	if !exists("received/young.xml") {
		t.Error("a lone inventory older than 2 minutes was not processed")
	}
	st := r.watch.state()
	if st.Received != 3 || st.Failed != 3 {
		t.Errorf("watcher state: got received %d failed %d, want 3 and 3", st.Received, st.Failed)
	}

	// Through the API: stop, start, restart.
	for _, tc := range []struct {
		action  string
		running bool
	}{{"start", true}, {"stop", false}, {"restart", true}} {
		w, err := r.api.Watcher(ctx, tc.action)
		if err != nil || w.Running != tc.running {
			t.Errorf("%s: got %+v %v, want running %v", tc.action, w, err, tc.running)
		}
	}
	if _, err := r.api.Watcher(ctx, "explode"); err == nil {
		t.Error("unknown watcher action accepted")
	}
}

func TestDropDirectorySignatureRequired(t *testing.T) {
	at := time.Now().UTC().Truncate(time.Second)
	clk := newClock(at)
	r := startRootWith(t, func(c *Config) { c.Now = clk.now; c.RequireInventorySignature = true })
	p := filepath.Join(r.cfg.DataDir, dropDir, "incoming", "plain.ocs")
	if err := os.WriteFile(p, withLogdate(corpus(t, "rudder-tag/minimal-no-rudder.ocs"), at), 0o600); err != nil {
		t.Fatal(err)
	}
	old := at.Add(-time.Hour)
	os.Chtimes(p, old, old)
	r.watch.scan(context.Background())
	clk.add(DropPairWait)
	r.watch.scan(context.Background())
	reason, err := os.ReadFile(filepath.Join(r.cfg.DataDir, dropDir, "failed", "plain.ocs.reason"))
	if err != nil || !strings.Contains(string(reason), "requires signed") {
		t.Errorf("unsigned inventory where signatures are required: reason %q %v", reason, err)
	}
}

// TestDropDirectoryRunning: the running watcher picks a file up by itself.
func TestDropDirectoryRunning(t *testing.T) {
	r := startRootWith(t, func(c *Config) { c.InventoryWatchInterval = 20 * time.Millisecond })
	r.watch.mu.Lock()
	r.watch.pairWait = 0
	r.watch.mu.Unlock()
	p := filepath.Join(r.cfg.DataDir, dropDir, "incoming", "bad.xml")
	if err := os.WriteFile(p, []byte("<REQUEST>"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(p, old, old)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(r.cfg.DataDir, dropDir, "failed", "bad.xml.reason")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s the running watcher had not moved bad.xml to failed/; state %+v", r.watch.state())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
