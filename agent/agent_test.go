package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/wire"
)

// server is a policy server stand-in that records enrolments.
type server struct {
	addr   string
	mu     sync.Mutex
	enrols []wire.EnrolStub
	hellos int
	answer wire.AckStatus
}

func startServer(t *testing.T, answer wire.AckStatus) *server {
	t.Helper()
	id, _, err := mesh.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "srv"))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{answer: answer}
	ms, err := mesh.Listen(mesh.ServerConfig{Identity: id, Addr: "127.0.0.1:0", Handler: s})
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ms.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = ms.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done; ms.Close() })
	return s
}

func (s *server) ServeExchange(_ context.Context, _ mesh.Peer, req wire.Message) wire.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m := req.(type) {
	case *wire.Enrol:
		stub, err := m.Open()
		if err != nil {
			return &wire.Ack{Status: wire.AckRejected, Reason: err.Error()}
		}
		s.enrols = append(s.enrols, stub)
		return &wire.Ack{Status: s.answer, NodeStatus: "pending", RetryAfter: time.Second}
	case *wire.Hello:
		s.hellos++
		return wire.NewHello(wire.RoleRelay, "srv", "test")
	}
	return &wire.Ack{Status: wire.AckError}
}

func (s *server) count() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.enrols), s.hellos
}

func newAgent(t *testing.T, dir, addr string) *Agent {
	t.Helper()
	a, err := New(Config{DataDir: dir, Server: addr, Hostname: "node1", Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestEnrolOnceThenHello(t *testing.T) {
	s := startServer(t, wire.AckOK)
	dir := filepath.Join(t.TempDir(), "agent")
	a := newAgent(t, dir, s.addr)
	ctx := context.Background()
	if err := a.contact(ctx); err != nil {
		t.Fatal(err)
	}
	a.Close()
	// A restarted agent with the same server does not enrol again: it says hello.
	a = newAgent(t, dir, s.addr)
	if err := a.contact(ctx); err != nil {
		t.Fatal(err)
	}
	if e, h := s.count(); e != 1 || h != 1 {
		t.Errorf("got %d enrolments and %d hellos, want 1 and 1", e, h)
	}
	if s.enrols[0].NodeID != a.Identity().NodeID || s.enrols[0].Hostname != "node1" || s.enrols[0].Role != wire.RoleAgent {
		t.Errorf("got stub %+v", s.enrols[0])
	}
}

func TestNewServerMeansEnrolAgain(t *testing.T) {
	s1 := startServer(t, wire.AckOK)
	dir := filepath.Join(t.TempDir(), "agent")
	if err := newAgent(t, dir, s1.addr).contact(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The operator moves the node to another policy server: the old pin must go (it is
	// another key), and the node enrols with the new one.
	s2 := startServer(t, wire.AckOK)
	a := newAgent(t, dir, s2.addr)
	err := a.contact(context.Background())
	if !errors.Is(err, mesh.ErrPinMismatch) && !errors.Is(err, mesh.ErrPeerRejected) {
		t.Fatalf("another server key with the old pin: got %v, want a pin mismatch", err)
	}
	if err := removePin(dir); err != nil {
		t.Fatal(err)
	}
	a = newAgent(t, dir, s2.addr)
	if err := a.contact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e, _ := s2.count(); e != 1 {
		t.Errorf("got %d enrolments with the new server, want 1", e)
	}
}

func TestRetryLaterIsNotEnrolled(t *testing.T) {
	s := startServer(t, wire.AckRetryLater)
	a := newAgent(t, filepath.Join(t.TempDir(), "agent"), s.addr)
	err := a.contact(context.Background())
	var nack *wire.NackError
	if !errors.As(err, &nack) || nack.Ack.RetryAfter != time.Second {
		t.Fatalf("got %v, want a retry-later nack", err)
	}
	if a.st.EnrolledWith != "" {
		t.Errorf("a retry-later answer was recorded as an enrolment: %+v", a.st)
	}
}

func removePin(dir string) error { return os.Remove(filepath.Join(dir, pinFile)) }
