package relay

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/wire"
)

// upstream is a stand-in for the root: it records what relays forward and acknowledges it.
type upstream struct {
	id     *mesh.Identity
	server *mesh.Server
	mu     sync.Mutex
	items  []wire.Forwarded
	enrols []string
	stop   func()
}

func startUpstream(t *testing.T, addr string) *upstream {
	t.Helper()
	id, _, err := mesh.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "up"))
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{id: id}
	u.server, err = mesh.Listen(mesh.ServerConfig{Identity: id, Addr: addr, Handler: u})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = u.server.Serve(ctx) }()
	u.stop = func() { cancel(); <-done; u.server.Close() }
	t.Cleanup(u.stop)
	return u
}

func (u *upstream) ServeExchange(_ context.Context, peer mesh.Peer, req wire.Message) wire.Message {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch m := req.(type) {
	case *wire.Enrol:
		u.enrols = append(u.enrols, peer.NodeID)
		return &wire.Ack{Status: wire.AckOK, NodeStatus: "pending"}
	case *wire.Forward:
		u.items = append(u.items, m.Items...)
		return &wire.Ack{Status: wire.AckOK, Seq: m.Items[len(m.Items)-1].Seq}
	}
	return &wire.Ack{Status: wire.AckError, Reason: "unexpected"}
}

// received describes the enrolments forwarded so far, in order: hostname and path length.
func (u *upstream) received(t *testing.T) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, it := range u.items {
		m, err := it.Inner()
		if err != nil {
			t.Errorf("item %d: %v", it.Seq, err)
			continue
		}
		stub, err := m.(*wire.Enrol).Open()
		if err != nil {
			t.Errorf("item %d: %v", it.Seq, err)
			continue
		}
		out = append(out, fmt.Sprintf("%s via %v", stub.Hostname, len(it.Path)))
	}
	return out
}

func startRelay(t *testing.T, dir, upstreamAddr string, queueBytes int64) (*Relay, func()) {
	t.Helper()
	r, err := New(Config{DataDir: dir, ListenAddr: "127.0.0.1:0", Upstream: upstreamAddr, QueueBytes: queueBytes,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done; r.Close() }) }
	t.Cleanup(stop)
	return r, stop
}

// enrolAgent enrols a fresh agent named host through the relay at addr.
func enrolAgent(t *testing.T, addr, host string) *wire.Ack {
	t.Helper()
	id, _, err := mesh.LoadOrCreateIdentity(filepath.Join(t.TempDir(), host))
	if err != nil {
		t.Fatal(err)
	}
	c, err := mesh.NewClient(mesh.ClientConfig{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, _, err := c.Exchange(ctx, addr, wire.NewEnrol(wire.EnrolStub{NodeID: id.NodeID, Hostname: host, Role: wire.RoleAgent, Time: time.Now()}, id.Key))
	if err != nil {
		t.Fatalf("enrol %s: %v", host, err)
	}
	return reply.(*wire.Ack)
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v, still not %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStoreAndForwardAcrossRestart: with the upstream down, enrolments are acknowledged once
// durable; the relay restarts; the upstream comes up and gets each one, once, in order.
func TestStoreAndForwardAcrossRestart(t *testing.T) {
	upAddr := reserveUDP(t)
	dir := filepath.Join(t.TempDir(), "relay")
	r, stop := startRelay(t, dir, upAddr, 0)
	for i := range 5 {
		if ack := enrolAgent(t, r.Addr().String(), fmt.Sprintf("agent%d", i)); ack.Status != wire.AckOK {
			t.Fatalf("agent%d: %+v", i, ack)
		}
	}
	stop()
	r, _ = startRelay(t, dir, upAddr, 0)
	up := startUpstream(t, upAddr)
	eventually(t, 20*time.Second, "five enrolments upstream", func() bool { return len(up.received(t)) >= 5 })
	eventually(t, 5*time.Second, "the queue drained", func() bool { return r.queue.Stats().Depth == 0 })
	want := []string{"agent0 via 1", "agent1 via 1", "agent2 via 1", "agent3 via 1", "agent4 via 1"}
	if got := up.received(t); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if len(up.enrols) == 0 || up.enrols[0] != r.Identity().NodeID {
		t.Errorf("the relay did not enrol itself upstream: %v", up.enrols)
	}
}

// TestChain: agent → relay2 → relay1 → upstream, with the path growing at each hop.
func TestChain(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	r1, _ := startRelay(t, filepath.Join(t.TempDir(), "r1"), up.server.Addr().String(), 0)
	r2, _ := startRelay(t, filepath.Join(t.TempDir(), "r2"), r1.Addr().String(), 0)
	enrolAgent(t, r2.Addr().String(), "far-agent")
	eventually(t, 20*time.Second, "the far agent upstream", func() bool {
		for _, s := range up.received(t) {
			if s == "far-agent via 2" {
				return true
			}
		}
		return false
	})
	up.mu.Lock()
	defer up.mu.Unlock()
	for _, it := range up.items {
		if len(it.Path) == 2 && (it.Path[0] != r2.Identity().NodeID || it.Path[1] != r1.Identity().NodeID) {
			t.Errorf("path: got %v, want [relay2 relay1]", it.Path)
		}
	}
}

// TestQueueFull: past the disk budget the relay says retry later and keeps what it had.
func TestQueueFull(t *testing.T) {
	upAddr := reserveUDP(t)
	r, _ := startRelay(t, filepath.Join(t.TempDir(), "relay"), upAddr, 600)
	var full bool
	accepted := 0
	for i := 0; i < 20 && !full; i++ {
		ack := enrolAgent(t, r.Addr().String(), fmt.Sprintf("a%d", i))
		switch ack.Status {
		case wire.AckOK:
			accepted++
		case wire.AckRetryLater:
			full = ack.RetryAfter > 0
		default:
			t.Fatalf("got %+v", ack)
		}
	}
	if !full || accepted == 0 {
		t.Fatalf("got %d accepted and full=%v, want some accepted then retry-later", accepted, full)
	}
	up := startUpstream(t, upAddr)
	eventually(t, 20*time.Second, "every accepted enrolment upstream", func() bool { return len(up.received(t)) == accepted })
}

// reserveUDP returns a loopback address nothing listens on yet, below the kernel's
// ephemeral range so that no client socket is handed it before the test binds it.
func reserveUDP(t *testing.T) string {
	t.Helper()
	for range 200 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		if u, err := net.ListenPacket("udp", addr); err == nil {
			u.Close()
			return addr
		}
	}
	t.Fatal("no free UDP port")
	return ""
}
