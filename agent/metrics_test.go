package agent

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bosun-io/bosun/metrics"
	"github.com/bosun-io/bosun/wire"
)

// TestMetrics runs the daemon with its endpoint on: the run it makes at start shows up, and
// only a scraper with the token sees it.
func TestMetrics(t *testing.T) {
	s := startReportServer(t) // refuses reports: they stay in the spool
	dir := filepath.Join(t.TempDir(), "agent")
	a, err := New(Config{DataDir: dir, Server: s.addr, Hostname: "node1", Interval: time.Hour, ApplyPrefix: t.TempDir(),
		MetricsListen: "127.0.0.1:0", MinBackoff: time.Hour, MaxBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	holdPolicy(t, a, testPolicy(fileComp("/motd", "hello", wire.ModeEnforce, "")))
	p, err := a.Policy()
	if err != nil {
		t.Fatal(err)
	}
	tokPath := filepath.Join(dir, metrics.TokenFile)
	if fi, err := os.Stat(tokPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v; want one of mode 0600", fi, err)
	}
	tok, err := metrics.ReadToken(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = a.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait(); a.Close() })

	url := "http://" + a.MetricsAddr().String() + "/metrics"
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
	for _, bad := range []string{"", "wrong"} {
		if _, code := scrape(bad); code != http.StatusUnauthorized {
			t.Errorf("token %q: got status %d, want 401", bad, code)
		}
	}
	// No last run at start: the daemon runs at once.
	var got metrics.Samples
	eventually(t, 20*time.Second, "the first run counted", func() bool {
		got, _ = scrape(tok)
		return got.Value("bosun_agent_runs_total", "outcome", "compliant") == 1
	})
	for _, w := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bosun_agent_runs_total", []string{"outcome", "failed"}, 0},
		{"bosun_agent_last_run_components", []string{"mode", "enforce", "result", "repaired"}, 1},
		{"bosun_agent_spool_items", nil, 1},
		{"bosun_agent_policy_info", []string{"config_id", p.ConfigID}, 1},
	} {
		if v, ok := got.Get(w.name, w.labels...); !ok || v != w.want {
			t.Errorf("%s%v: got %v (present %v), want %v", w.name, w.labels, v, ok, w.want)
		}
	}
	if v := got.Value("bosun_agent_last_run_timestamp_seconds"); v <= 0 {
		t.Errorf("last run timestamp: got %v", v)
	}
	if _, ok := got.Get("bosun_agent_last_run_duration_seconds"); !ok {
		t.Error("no last run duration")
	}
	problems, err := a.metrics.reg.Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s", p)
	}
}

// Without MetricsListen the agent serves nothing and makes no token.
func TestMetricsOff(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "agent")
	a := newAgent(t, dir, "127.0.0.1:1")
	if a.MetricsAddr() != nil {
		t.Errorf("got a metrics endpoint at %v without asking", a.MetricsAddr())
	}
	if _, err := os.Stat(filepath.Join(dir, metrics.TokenFile)); err == nil {
		t.Error("a metrics token was made without an endpoint")
	}
}

// eventually polls cond every 20 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
