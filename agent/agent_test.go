package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/wire"
)

// testRootKey is the root behind every test server: two relays of one fleet share it.
var testRootKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// server is a policy server stand-in that records enrolments.
type server struct {
	addr    string
	mu      sync.Mutex
	enrols  []wire.EnrolStub
	hellos  int // status requests
	uploads []wire.InventoryBody
	invHash uint64 // what the server says it holds
	rootKey ed25519.PublicKey
	answer  wire.AckStatus
}

func startServer(t *testing.T, answer wire.AckStatus) *server {
	t.Helper()
	id, _, err := mesh.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "srv"))
	if err != nil {
		t.Fatal(err)
	}
	s := &server{answer: answer, rootKey: testRootKey.Public().(ed25519.PublicKey)}
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
	case *wire.StatusRequest:
		s.hellos++
		return &wire.StatusReply{NodeStatus: "pending", InventoryHash: s.invHash, RootKey: s.rootKey}
	case *wire.InventoryUpload:
		body, err := m.Peek()
		if err != nil {
			return &wire.Ack{Status: wire.AckRejected, Reason: err.Error()}
		}
		s.uploads = append(s.uploads, body)
		return &wire.Ack{Status: wire.AckOK}
	}
	return &wire.Ack{Status: wire.AckError}
}

// snapshot copies what the server took: its goroutines write it.
func (s *server) snapshot() ([]wire.EnrolStub, []wire.InventoryBody) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wire.EnrolStub(nil), s.enrols...), append([]wire.InventoryBody(nil), s.uploads...)
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

func TestEnrolOnceThenStatus(t *testing.T) {
	s := startServer(t, wire.AckOK)
	dir := filepath.Join(t.TempDir(), "agent")
	a := newAgent(t, dir, s.addr)
	ctx := context.Background()
	if err := a.contact(ctx); err != nil {
		t.Fatal(err)
	}
	a.Close()
	// A restarted agent with the same server does not enrol again: it asks for its status.
	a = newAgent(t, dir, s.addr)
	if err := a.contact(ctx); err != nil {
		t.Fatal(err)
	}
	if e, h := s.count(); e != 1 || h != 2 {
		t.Errorf("got %d enrolments and %d status requests, want 1 and 2", e, h)
	}
	// The inventory goes out right after enrolling, and not again at the next contact.
	enrols, uploads := s.snapshot()
	if len(uploads) != 1 || uploads[0].Kind != wire.InventoryFull || uploads[0].NodeID != a.Identity().NodeID {
		t.Errorf("got uploads %+v, want one full inventory", uploads)
	}
	if enrols[0].NodeID != a.Identity().NodeID || enrols[0].Hostname != "node1" || enrols[0].Role != wire.RoleAgent {
		t.Errorf("got stub %+v", enrols[0])
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

// TestInventoryDelta: once the server says it holds the inventory last sent, the next one
// is a small delta against it.
func TestInventoryDelta(t *testing.T) {
	s := startServer(t, wire.AckOK)
	a := newAgent(t, filepath.Join(t.TempDir(), "agent"), s.addr)
	ctx := context.Background()
	if _, err := a.SendInventory(ctx, nil); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.invHash = s.uploads[0].Hash
	s.mu.Unlock()
	rep, err := a.SendInventory(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, uploads := s.snapshot()
	t.Logf("full inventory %d payload bytes; unchanged inventory %d bytes on the wire", len(uploads[0].Payload), rep.WireBytes)
	if rep.Kind != wire.InventoryDelta || uploads[1].BaseHash != uploads[0].Hash {
		t.Errorf("second upload: got kind %d base %x, want a delta against %x", rep.Kind, uploads[1].BaseHash, uploads[0].Hash)
	}
	if rep.WireBytes > 300 {
		t.Errorf("an unchanged inventory cost %d bytes on the wire, want at most 300", rep.WireBytes)
	}
}
