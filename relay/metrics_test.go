package relay

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bosun-io/bosun/metrics"
	"github.com/bosun-io/bosun/wire"
)

func TestMetrics(t *testing.T) {
	upAddr := reserveUDP(t)
	dir := filepath.Join(t.TempDir(), "relay")
	r, err := New(Config{DataDir: dir, ListenAddr: "127.0.0.1:0", Upstream: upAddr, MetricsListen: "127.0.0.1:0",
		QueueBytes: 1 << 20, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait(); r.Close() })

	tokPath := filepath.Join(dir, metrics.TokenFile)
	fi, err := os.Stat(tokPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v; want one of mode 0600", fi, err)
	}
	tok, err := metrics.ReadToken(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + r.MetricsAddr().String() + "/metrics"
	c := &http.Client{Timeout: 5 * time.Second}
	scrape := func(token string) (metrics.Samples, int) {
		t.Helper()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, code, err := metrics.Scrape(sctx, c, url, token)
		if err != nil && code != http.StatusUnauthorized {
			t.Fatal(err)
		}
		return s, code
	}
	for _, bad := range []string{"", "wrong", tok[:len(tok)-1]} {
		if _, code := scrape(bad); code != http.StatusUnauthorized {
			t.Errorf("token %q: got status %d, want 401", bad, code)
		}
	}

	// Cached policies are counted by key, in the gauge and in the stats sent upstream alike.
	for _, id := range []string{"node-a", "node-b"} {
		if err := r.db.Bucket(bucketPolicies).Put(id, []byte("a signed policy")); err != nil {
			t.Fatal(err)
		}
	}
	if s, _ := scrape(tok); s.Value("bosun_relay_cached_policies") != 2 || r.Stats().CachedPolicies != 2 {
		t.Errorf("cached policies: got gauge %v and stats %d, want 2", s.Value("bosun_relay_cached_policies"), r.Stats().CachedPolicies)
	}
	for _, id := range []string{"node-a", "node-b"} {
		if err := r.db.Bucket(bucketPolicies).Delete(id); err != nil {
			t.Fatal(err)
		}
	}

	// With the upstream down, what agents send waits in the queue.
	for i := range 3 {
		if ack := enrolAgent(t, r.Addr().String(), fmt.Sprintf("agent%d", i)); ack.Status != wire.AckOK {
			t.Fatalf("agent%d: %+v", i, ack)
		}
	}
	s, _ := scrape(tok)
	for _, w := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bosun_relay_queue_items", nil, 3},
		{"bosun_relay_received_items_total", []string{"kind", "enrolment"}, 3},
		{"bosun_relay_received_items_total", []string{"kind", "report"}, 0},
		{"bosun_relay_forwarded_items_total", []string{"kind", "enrolment"}, 0},
		{"bosun_relay_queue_capacity_bytes", nil, 1 << 20},
		{"bosun_relay_upstream_up", nil, 0},
	} {
		if got, ok := s.Get(w.name, w.labels...); !ok || got != w.want {
			t.Errorf("upstream down: %s%v: got %v (present %v), want %v", w.name, w.labels, got, ok, w.want)
		}
	}
	if s.Value("bosun_relay_queue_bytes") <= 0 {
		t.Error("queue bytes: got 0 with three items queued")
	}
	// The server counts an exchange once its reply is written, which may be just after the
	// agent read it.
	eventually(t, 10*time.Second, "downstream bytes counted", func() bool {
		s, _ := scrape(tok)
		return s.Value("bosun_relay_link_bytes_total", "link", "downstream", "direction", "received") > 0 &&
			s.Value("bosun_relay_link_bytes_total", "link", "downstream", "direction", "sent") > 0
	})
	if _, ok := s.Get("bosun_relay_queue_oldest_age_seconds"); !ok {
		t.Error("no oldest item age")
	}

	// The upstream comes back: the queue drains and the forwarded count follows.
	startUpstream(t, upAddr)
	eventually(t, 20*time.Second, "the queue drained in the metrics", func() bool {
		s, _ = scrape(tok)
		return s.Value("bosun_relay_queue_items") == 0 && s.Value("bosun_relay_forwarded_items_total", "kind", "enrolment") >= 3
	})
	if s.Value("bosun_relay_queue_oldest_age_seconds") != 0 {
		t.Errorf("oldest age of an empty queue: got %v, want 0", s.Value("bosun_relay_queue_oldest_age_seconds"))
	}
	if s.Value("bosun_relay_link_bytes_total", "link", "upstream", "direction", "sent") <= 0 {
		t.Error("upstream bytes sent: got 0 after forwarding")
	}

	problems, err := r.metrics.reg.Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s", p)
	}
}

// A token file named in the configuration is the one scrapers must send; a missing one
// stops the relay from starting rather than serving metrics unguarded.
func TestMetricsTokenFile(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: filepath.Join(dir, "relay"), ListenAddr: "127.0.0.1:0", Upstream: "127.0.0.1:1", MetricsListen: "127.0.0.1:0",
		MetricsTokenFile: filepath.Join(dir, "missing")}
	if r, err := New(cfg); err == nil {
		r.Close()
		t.Fatal("got a relay with a missing token file")
	}
	if err := os.WriteFile(cfg.MetricsTokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(ctx) })
	defer wg.Wait()
	defer cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	url := "http://" + r.MetricsAddr().String() + "/metrics"
	if _, code, err := metrics.Scrape(sctx, http.DefaultClient, url, "s3cret"); err != nil || code != http.StatusOK {
		t.Fatalf("with the file's token: got %d, %v; want 200", code, err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, metrics.TokenFile)); err == nil {
		t.Error("the relay made its own token although one was given")
	}
}
