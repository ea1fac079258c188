package mesh

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// eventually fails the test unless cond holds within timeout, polling it.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logBuffer collects log lines so that tests can assert what a side logged. It is not
// tied to testing.T, since quic-go may report a closed connection after the test returns.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lineWith returns the first log line containing every one of parts.
func (b *logBuffer) lineWith(parts ...string) (string, bool) {
	for line := range strings.Lines(b.String()) {
		ok := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				ok = false
				break
			}
		}
		if ok {
			return line, true
		}
	}
	return "", false
}

func newIdentity(t *testing.T) *Identity {
	t.Helper()
	id, _, err := LoadOrCreateIdentity(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// echo answers a Hello with a Hello naming the server and the peer it saw, and an Ack with
// an OK Ack carrying the same reason. An Ack whose reason is "panic" makes it panic.
type echo struct{ id *Identity }

func (e echo) ServeExchange(ctx context.Context, peer Peer, req wire.Message) wire.Message {
	switch m := req.(type) {
	case *wire.Hello:
		return &wire.Hello{ProtocolVersion: m.ProtocolVersion, Role: wire.RoleRelay, NodeID: e.id.NodeID, SoftwareVersion: "peer " + peer.NodeID}
	case *wire.Ack:
		if m.Reason == "panic" {
			panic("handler blew up")
		}
		if m.Reason == "block" {
			<-ctx.Done()
			return &wire.Ack{Status: wire.AckError, Reason: "cancelled"}
		}
		return &wire.Ack{Status: wire.AckOK, Reason: m.Reason}
	}
	return &wire.Ack{Status: wire.AckError, Reason: "unexpected " + req.Type().String()}
}

type testServer struct {
	*Server
	id   *Identity
	logs *logBuffer
	stop func() error // cancels Serve and waits for it
	// crashed: the test pulled the socket away, so Serve and Close may report errors.
	crashed bool
}

// startServer listens on cfg.Addr (default 127.0.0.1:0) and serves until the test ends.
func startServer(t *testing.T, cfg ServerConfig) *testServer {
	t.Helper()
	if cfg.Identity == nil {
		cfg.Identity = newIdentity(t)
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Handler == nil {
		cfg.Handler = echo{cfg.Identity}
	}
	logs := &logBuffer{}
	cfg.Logger = logs.logger()
	s, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	var once sync.Once
	var serveErr error
	ts := &testServer{Server: s, id: cfg.Identity, logs: logs}
	ts.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("Serve did not return within 10 s of its context ending")
			}
			if err := s.Close(); err != nil && !ts.crashed {
				t.Errorf("close server: %v", err)
			}
		})
		return serveErr
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil && !ts.crashed {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

type testClient struct {
	*Client
	id   *Identity
	logs *logBuffer
}

func startClient(t *testing.T, cfg ClientConfig) *testClient {
	t.Helper()
	if cfg.Identity == nil {
		cfg.Identity = newIdentity(t)
	}
	logs := &logBuffer{}
	cfg.Logger = logs.logger()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close client: %v", err)
		}
	})
	return &testClient{Client: c, id: cfg.Identity, logs: logs}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
