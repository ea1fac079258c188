package metrics

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestServerScrape(t *testing.T) {
	reg := NewRegistry()
	runs := reg.CounterVec("bosun_test_runs_total", "Runs by outcome.", "outcome")
	ok := runs.With("ok")
	depth := 3.0
	reg.Value(Gauge, "bosun_test_queue_items", "Items queued.", func() float64 { return depth })
	reg.Func(Gauge, "bosun_test_members", "Members by state.", []string{"state"}, func(emit Emit) {
		emit(2, "alive")
		emit(1, "dead")
	})
	lat := reg.HistogramVec("bosun_test_duration_seconds", "Durations.", nil, "kind")
	lat.With("full").ObserveDuration(20 * time.Millisecond)

	tokPath := filepath.Join(t.TempDir(), TokenFile)
	tok, err := LoadOrCreateToken(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := LoadOrCreateToken(tokPath); err != nil || again != tok {
		t.Fatalf("second load: got %q, %v; want the token made first", again, err)
	}
	if fi, err := os.Stat(tokPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v; want mode 0600", fi.Mode(), err)
	}

	srv, err := Listen("127.0.0.1:0", reg, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	url := "http://" + srv.Addr().String() + "/metrics"
	c := &http.Client{Timeout: 5 * time.Second}

	for _, bad := range []string{"", "wrong", tok + "x"} {
		if _, code, _ := Scrape(ctx, c, url, bad); code != http.StatusUnauthorized {
			t.Errorf("token %q: got status %d, want 401", bad, code)
		}
	}
	ok.Inc()
	ok.Add(2)
	s, _, err := Scrape(ctx, c, url, tok)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bosun_test_runs_total", []string{"outcome", "ok"}, 3},
		{"bosun_test_queue_items", nil, 3},
		{"bosun_test_members", []string{"state", "dead"}, 1},
		{"bosun_test_duration_seconds_count", []string{"kind", "full"}, 1},
	} {
		if got, found := s.Get(w.name, w.labels...); !found || got != w.want {
			t.Errorf("%s%v: got %v (found %v), want %v", w.name, w.labels, got, found, w.want)
		}
	}
	if _, found := s.Get("go_goroutines"); !found {
		t.Error("no go_goroutines: the Go collector is missing")
	}
	problems, err := reg.Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s", p)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
}

// The lint the roles' tests rely on must catch a badly named figure.
func TestLintCatchesBadNames(t *testing.T) {
	reg := NewRegistry()
	reg.Counter("bosun_test_runs", "A counter without _total.")
	reg.Value(Gauge, "bosun_test_latency_milliseconds", "A non-base unit.", func() float64 { return 1 })
	problems, err := reg.Lint()
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) < 2 {
		t.Fatalf("got problems %q, want one for each bad name", problems)
	}
}

func TestReadTokenEmpty(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(p, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadToken(p); err == nil {
		t.Fatal("got no error for an empty token file")
	}
}

func TestReadTokenTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(p, bytes.Repeat([]byte("a"), maxTokenFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadToken(p); !errors.Is(err, ErrTokenTooLarge) {
		t.Fatalf("got %v, want ErrTokenTooLarge", err)
	}
}

func TestTokenOf(t *testing.T) {
	dir := t.TempDir()
	made, err := TokenOf("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := ReadToken(filepath.Join(dir, TokenFile)); err != nil || again != made {
		t.Fatalf("got %q, %v from the data directory's file, want %q", again, err, made)
	}
	p := filepath.Join(t.TempDir(), "given")
	if err := os.WriteFile(p, []byte("given-token\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if got, err := TokenOf(p, dir); err != nil || got != "given-token" {
		t.Fatalf("got %q, %v, want the named file's token", got, err)
	}
	if _, err := TokenOf(filepath.Join(dir, "missing"), dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v for a missing named file, want ErrNotExist (never made)", err)
	}
}
