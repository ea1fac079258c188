package mesh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bosun-io/bosun/wire"
	"github.com/hashicorp/memberlist"
)

// poolWait bounds every wait for gossip in these tests: the local profile declares a dead
// member dead in about 2 s, and the race detector on 2 busy cores is slow.
const poolWait = 20 * time.Second

var (
	testKey1 = bytes.Repeat([]byte{1}, 32)
	testKey2 = bytes.Repeat([]byte{2}, 32)
	testKey3 = bytes.Repeat([]byte{3}, 16)
)

// eventLog drains a pool's Events so that tests can look at everything it delivered.
type eventLog struct {
	mu     sync.Mutex
	events []MemberEvent
	done   chan struct{}
}

func (l *eventLog) has(kind EventKind, nodeID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e.Kind == kind && e.Member.NodeID == nodeID {
			return true
		}
	}
	return false
}

func (l *eventLog) kinds(nodeID string) []EventKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []EventKind
	for _, e := range l.events {
		if e.Member.NodeID == nodeID {
			out = append(out, e.Kind)
		}
	}
	return out
}

type testPool struct {
	*Pool
	events *eventLog
}

type poolOpt func(*PoolConfig)

func withKeys(keys ...[]byte) poolOpt { return func(c *PoolConfig) { c.Keyring = keys } }
func withZone(z string) poolOpt       { return func(c *PoolConfig) { c.Zone = z } }
func withBind(a string) poolOpt       { return func(c *PoolConfig) { c.BindAddr = a } }

// newTestPool starts a local-profile pool member on 127.0.0.1 with a free port, encrypted
// with testKey1 unless told otherwise, and drains its events into an eventLog.
func newTestPool(t testing.TB, name string, opts ...poolOpt) *testPool {
	t.Helper()
	cfg := PoolConfig{
		Zone:     "test",
		NodeID:   name,
		Role:     wire.RoleAgent,
		BindAddr: "127.0.0.1:0",
		Keyring:  [][]byte{testKey1},
		Profile:  ProfileLocal,
		Meta:     []byte("quic=" + name),
	}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatalf("NewPool %s: %v", name, err)
	}
	l := &eventLog{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for e := range p.Events() {
			l.mu.Lock()
			l.events = append(l.events, e)
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close %s: %v", name, err)
		}
		<-l.done
	})
	return &testPool{Pool: p, events: l}
}

func joinTest(t *testing.T, p *testPool, seeds ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), poolWait)
	defer cancel()
	if n, err := p.Join(ctx, seeds); err != nil || n != len(seeds) {
		t.Fatalf("%s joins %v: got %d, %v; want %d, nil", p.cfg.NodeID, seeds, n, err, len(seeds))
	}
}

// stateOf is what p believes of nodeID, 0 if it does not know it.
func stateOf(p *testPool, nodeID string) MemberState {
	m, ok := p.Member(nodeID)
	if !ok {
		return 0
	}
	return m.State
}

func allSee(pools []*testPool, nodeID string, want MemberState) func() bool {
	return func() bool {
		for _, p := range pools {
			if stateOf(p, nodeID) != want {
				return false
			}
		}
		return true
	}
}

func TestPoolConfigValidate(t *testing.T) {
	good := func() PoolConfig {
		return PoolConfig{Zone: "z", NodeID: "n", Role: wire.RoleRelay, Keyring: [][]byte{testKey1}}
	}
	tests := []struct {
		name string
		edit func(*PoolConfig)
		want string // in the error; "" for none
	}{
		{"good", func(c *PoolConfig) {}, ""},
		{"no zone", func(c *PoolConfig) { c.Zone = "" }, "Zone is required"},
		{"long zone", func(c *PoolConfig) { c.Zone = strings.Repeat("z", 201) }, "at most 200"},
		{"control in zone", func(c *PoolConfig) { c.Zone = "a\nb" }, "control characters"},
		{"no node id", func(c *PoolConfig) { c.NodeID = "" }, "NodeID is required"},
		{"no role", func(c *PoolConfig) { c.Role = 0 }, "Role"},
		{"big meta", func(c *PoolConfig) { c.Meta = make([]byte, MaxPoolMeta+1) }, "Meta is 511 bytes"},
		{"largest meta", func(c *PoolConfig) { c.Meta = make([]byte, MaxPoolMeta) }, ""},
		{"no key on LAN", func(c *PoolConfig) { c.Keyring = nil }, "without a key"},
		{"no key on WAN", func(c *PoolConfig) { c.Keyring, c.Profile = nil, ProfileWAN }, "without a key"},
		{"no key on local", func(c *PoolConfig) { c.Keyring, c.Profile = nil, ProfileLocal }, ""},
		{"bad key", func(c *PoolConfig) { c.Keyring = [][]byte{make([]byte, 15)} }, "Keyring[0]"},
		{"bad second key", func(c *PoolConfig) { c.Keyring = append(c.Keyring, make([]byte, 33)) }, "Keyring[1]"},
		{"unknown profile", func(c *PoolConfig) { c.Profile = 9 }, "unknown gossip profile 9"},
		{"bind to a name", func(c *PoolConfig) { c.BindAddr = "localhost:1" }, "BindAddr"},
		{"bind without port", func(c *PoolConfig) { c.BindAddr = "127.0.0.1" }, "BindAddr"},
		{"advertise without IP", func(c *PoolConfig) { c.AdvertiseAddr = ":7000" }, "AdvertiseAddr"},
		{"advertise port 0", func(c *PoolConfig) { c.AdvertiseAddr = "10.0.0.1:0" }, "needs an IP and a port"},
		{"negative buffer", func(c *PoolConfig) { c.EventBuffer = -1 }, "EventBuffer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.edit(&c)
			c.setDefaults()
			err := c.validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
	c := good()
	c.Keyring = nil
	if _, err := NewPool(c); !errors.Is(err, ErrNoGossipKey) {
		t.Errorf("NewPool without a key: got %v, want ErrNoGossipKey", err)
	}
}

// TestProfiles pins the timers DEPS.md §4 and §10 ask for.
func TestProfiles(t *testing.T) {
	tests := []struct {
		p                                      Profile
		probe, pushPull                        time.Duration
		suspicionMult, handoff, retransmitMult int
	}{
		{ProfileLAN, 500 * time.Millisecond, 15 * time.Second, 3, 1024, 4},
		{ProfileWAN, 5 * time.Second, 60 * time.Second, 6, 1024, 4},
		{ProfileLocal, 200 * time.Millisecond, 2 * time.Second, 3, 1024, 4},
	}
	for _, tt := range tests {
		c, _, err := tt.p.memberlistConfig()
		if err != nil {
			t.Fatalf("%v: %v", tt.p, err)
		}
		got := fmt.Sprint(c.ProbeInterval, c.PushPullInterval, c.SuspicionMult, c.HandoffQueueDepth, c.RetransmitMult)
		want := fmt.Sprint(tt.probe, tt.pushPull, tt.suspicionMult, tt.handoff, tt.retransmitMult)
		if got != want {
			t.Errorf("%v: got probe, push/pull, suspicion mult, handoff, retransmit mult %s, want %s", tt.p, got, want)
		}
	}
}

func TestPoolMeta(t *testing.T) {
	relay := poolMeta{Role: wire.RoleRelay, App: []byte("10.0.0.1:6710")}
	tests := []struct {
		name    string
		in      []byte
		want    poolMeta
		wantErr bool
	}{
		{"relay with meta", encodePoolMeta(relay), relay, false},
		{"agent", encodePoolMeta(poolMeta{Role: wire.RoleAgent}), poolMeta{Role: wire.RoleAgent, App: []byte{}}, false},
		{"empty", nil, poolMeta{}, true},
		{"short", []byte{poolMetaVersion}, poolMeta{}, true},
		{"other version", []byte{2, 1}, poolMeta{}, true},
		{"too long", append([]byte{poolMetaVersion, 1}, make([]byte, 511)...), poolMeta{}, true},
	}
	for _, tt := range tests {
		got, err := decodePoolMeta(tt.in)
		if (err != nil) != tt.wantErr || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: got %+v, %v; want %+v, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzDecodePoolMeta: member meta comes from any holder of the pool key.
func FuzzDecodePoolMeta(f *testing.F) {
	f.Add(encodePoolMeta(poolMeta{Role: wire.RoleRelay, App: []byte("10.0.0.1:6710")}))
	f.Add(encodePoolMeta(poolMeta{Role: wire.RoleAgent}))
	f.Add([]byte{})
	f.Add([]byte{9, 9, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodePoolMeta(b)
		if err != nil {
			return
		}
		if again := encodePoolMeta(m); !bytes.Equal(again, b) {
			t.Fatalf("decode then encode: got %x, want %x", again, b)
		}
	})
}

// FuzzDecodePoolMsg: user messages come from any holder of the pool key.
func FuzzDecodePoolMsg(f *testing.F) {
	f.Add(encodePoolMsg(poolMsgLeaving, "3f0c6b1e-8d4a-4c49-9a57-0d7c1b2e4f60"))
	f.Add([]byte{poolMsgLeaving})
	f.Add(bytes.Repeat([]byte{1}, 200))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, id, err := decodePoolMsg(b)
		if err != nil {
			return
		}
		if again := encodePoolMsg(kind, id); !bytes.Equal(again, b) {
			t.Fatalf("decode then encode: got %x, want %x", again, b)
		}
	})
}

func TestPoolConverges(t *testing.T) {
	a := newTestPool(t, "a")
	b := newTestPool(t, "b")
	c := newTestPool(t, "c")
	d := newTestPool(t, "d")
	if _, port, _ := strings.Cut(a.Addr(), ":"); port == "" || port == "0" {
		t.Fatalf("got address %q, want 127.0.0.1 and the bound port", a.Addr())
	}
	joinTest(t, b, a.Addr())
	joinTest(t, c, a.Addr(), b.Addr())
	joinTest(t, d, b.Addr(), c.Addr())
	pools := []*testPool{a, b, c, d}
	for _, p := range pools {
		eventually(t, poolWait, p.cfg.NodeID+" alive everywhere", allSee(pools, p.cfg.NodeID, MemberAlive))
	}
	got := d.Members()
	if len(got) != 4 {
		t.Fatalf("got %d members, want 4: %+v", len(got), got)
	}
	for i, m := range got {
		want := Member{NodeID: pools[i].cfg.NodeID, Role: wire.RoleAgent, Addr: pools[i].Addr(), State: MemberAlive, Meta: []byte("quic=" + pools[i].cfg.NodeID), Local: m.NodeID == "d"}
		m.Since = time.Time{}
		if fmt.Sprint(m) != fmt.Sprint(want) {
			t.Errorf("member %d: got %+v, want %+v", i, m, want)
		}
	}
	if counts := d.CountByState(); len(counts) != 1 || counts[MemberAlive] != 4 {
		t.Errorf("got counts by state %v, want 4 alive", counts)
	}
	eventually(t, poolWait, "a's join events", func() bool {
		return a.events.has(EventJoin, "b") && a.events.has(EventJoin, "c") && a.events.has(EventJoin, "d")
	})
	if a.events.has(EventJoin, "a") {
		t.Errorf("a got an event about itself")
	}
}

// TestPoolDeath: a member that stops without leaving is suspected, then declared dead by
// all the others; one that leaves is shown as left.
func TestPoolDeath(t *testing.T) {
	a := newTestPool(t, "a")
	b := newTestPool(t, "b")
	c := newTestPool(t, "c")
	victim := newTestPool(t, "victim")
	leaver := newTestPool(t, "leaver")
	for _, p := range []*testPool{b, c, victim, leaver} {
		joinTest(t, p, a.Addr())
	}
	survivors := []*testPool{a, b, c}
	eventually(t, poolWait, "victim alive everywhere", allSee(survivors, "victim", MemberAlive))
	eventually(t, poolWait, "leaver alive everywhere", allSee(survivors, "leaver", MemberAlive))

	if err := victim.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, poolWait, "victim dead everywhere", allSee(survivors, "victim", MemberDead))
	suspected := false
	for _, p := range survivors {
		// The state changes before the event reaches the test's reader.
		eventually(t, poolWait, p.cfg.NodeID+" delivers victim's death", func() bool { return p.events.has(EventDead, "victim") })
		kinds := p.events.kinds("victim")
		if kinds[0] != EventJoin || kinds[len(kinds)-1] != EventDead {
			t.Errorf("%s: got events %v about victim, want join first and dead last", p.cfg.NodeID, kinds)
		}
		suspected = suspected || p.events.has(EventSuspect, "victim")
	}
	// A member is declared dead only after some member's own probe failed and it
	// suspected it, which is the line the pool reads.
	if !suspected {
		t.Errorf("no survivor delivered a suspect event about victim")
	}

	ctx, cancel := context.WithTimeout(context.Background(), poolWait)
	defer cancel()
	if err := leaver.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, poolWait, "leaver left everywhere", allSee(survivors, "leaver", MemberLeft))
	for _, p := range survivors {
		// memberlist's leave message may come before the notice, and then a dead event
		// comes before the leave event (TestPoolLeaveNotice).
		eventually(t, poolWait, p.cfg.NodeID+" delivers leaver's departure", func() bool { return p.events.has(EventLeave, "leaver") })
		if kinds := p.events.kinds("leaver"); kinds[len(kinds)-1] != EventLeave {
			t.Errorf("%s: got events %v about leaver, want leave last", p.cfg.NodeID, kinds)
		}
	}
	if _, err := leaver.Join(ctx, []string{a.Addr()}); !errors.Is(err, ErrLeft) {
		t.Errorf("join after leave: got %v, want ErrLeft", err)
	}
}

// TestPoolRefusesStrangers: a member without the pool's key, or of another zone, cannot
// join, and the pool does not list it.
func TestPoolRefusesStrangers(t *testing.T) {
	a := newTestPool(t, "a", withKeys(testKey1, testKey2))
	tests := []struct {
		name string
		opts []poolOpt
	}{
		{"other key", []poolOpt{withKeys(testKey3)}},
		{"no key", []poolOpt{withKeys()}},
		{"other zone, same key", []poolOpt{withZone("elsewhere")}},
		{"other zone, no key", []poolOpt{withZone("elsewhere"), withKeys()}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stranger := newTestPool(t, fmt.Sprintf("stranger-%d", i), tt.opts...)
			ctx, cancel := context.WithTimeout(context.Background(), poolWait)
			defer cancel()
			if n, err := stranger.Join(ctx, []string{a.Addr()}); err == nil {
				t.Fatalf("join: got %d, nil; want an error", n)
			}
			// A member that does belong joins after the stranger's attempt: once a sees it,
			// a has handled everything the stranger sent first.
			friend := newTestPool(t, fmt.Sprintf("friend-%d", i))
			joinTest(t, friend, a.Addr())
			eventually(t, poolWait, "a sees the friend", func() bool { return stateOf(a, friend.cfg.NodeID) == MemberAlive })
			if s := stateOf(a, stranger.cfg.NodeID); s != 0 {
				t.Errorf("a lists the stranger as %v", s)
			}
			if s := stateOf(stranger, "a"); s != 0 {
				t.Errorf("the stranger lists a as %v", s)
			}
		})
	}
}

// TestPoolKeyRotation: add the new key everywhere, use it everywhere, remove the old one;
// the pool holds together, a member with only the new key joins, one with only the old
// key no longer can.
func TestPoolKeyRotation(t *testing.T) {
	pools := []*testPool{newTestPool(t, "a"), newTestPool(t, "b"), newTestPool(t, "c")}
	for _, p := range pools[1:] {
		joinTest(t, p, pools[0].Addr())
	}
	for _, p := range pools {
		eventually(t, poolWait, p.cfg.NodeID+" alive everywhere", allSee(pools, p.cfg.NodeID, MemberAlive))
	}
	for _, step := range []struct {
		name string
		do   func(*Pool) error
	}{
		{"add", func(p *Pool) error { return p.AddKey(testKey2) }},
		{"use", func(p *Pool) error { return p.UseKey(testKey2) }},
		{"remove", func(p *Pool) error { return p.RemoveKey(testKey1) }},
	} {
		for _, p := range pools {
			if err := step.do(p.Pool); err != nil {
				t.Fatalf("%s on %s: %v", step.name, p.cfg.NodeID, err)
			}
		}
	}
	if err := pools[0].RemoveKey(testKey2); err == nil {
		t.Errorf("removing the key in use: got nil, want an error")
	}
	if err := pools[0].UseKey(testKey3); err == nil {
		t.Errorf("using a key not installed: got nil, want an error")
	}

	late := newTestPool(t, "late", withKeys(testKey2))
	joinTest(t, late, pools[1].Addr())
	all := append(pools, late)
	for _, p := range all {
		eventually(t, poolWait, p.cfg.NodeID+" alive everywhere after rotation", allSee(all, p.cfg.NodeID, MemberAlive))
	}
	old := newTestPool(t, "old", withKeys(testKey1))
	ctx, cancel := context.WithTimeout(context.Background(), poolWait)
	defer cancel()
	if _, err := old.Join(ctx, []string{pools[0].Addr()}); err == nil {
		t.Errorf("join with the removed key: got nil, want an error")
	}

	plain := newTestPool(t, "plain", withKeys())
	if err := plain.AddKey(testKey1); !errors.Is(err, ErrNotEncrypted) {
		t.Errorf("AddKey on a pool without encryption: got %v, want ErrNotEncrypted", err)
	}
}

// TestPoolRejoin: when a seed dies and comes back empty, the member that joined through
// it joins it again on its own.
func TestPoolRejoin(t *testing.T) {
	seed := newTestPool(t, "seed")
	addr := seed.Addr()
	b := newTestPool(t, "b")
	c := newTestPool(t, "c")
	joinTest(t, b, addr)
	joinTest(t, c, b.Addr())
	eventually(t, poolWait, "seed sees b and c", func() bool {
		return stateOf(seed, "b") == MemberAlive && stateOf(seed, "c") == MemberAlive
	})
	if err := seed.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, poolWait, "seed dead for b and c", allSee([]*testPool{b, c}, "seed", MemberDead))

	back := newTestPool(t, "seed", withBind(addr))
	eventually(t, poolWait, "seed back, sees b and c again", func() bool {
		return stateOf(back, "b") == MemberAlive && stateOf(back, "c") == MemberAlive
	})
	eventually(t, poolWait, "b and c see seed again", allSee([]*testPool{b, c}, "seed", MemberAlive))
	if !b.events.has(EventJoin, "seed") || !b.events.has(EventDead, "seed") {
		t.Errorf("b: got events %v about seed, want join and dead", b.events.kinds("seed"))
	}
}

// TestPoolEventsNeverBlock: a reader that does not read loses events, counted, and the
// pool works on.
func TestPoolEventsNeverBlock(t *testing.T) {
	cfg := PoolConfig{Zone: "test", NodeID: "deaf", Role: wire.RoleRelay, BindAddr: "127.0.0.1:0", Profile: ProfileLocal, EventBuffer: 1}
	deaf, err := NewPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer deaf.Close()
	var pools []*testPool
	for i := range 4 {
		p := newTestPool(t, fmt.Sprintf("m%d", i), withKeys())
		joinTest(t, p, deaf.Addr())
		pools = append(pools, p)
	}
	eventually(t, poolWait, "deaf sees all four", func() bool { return deaf.countAlive() == 5 })
	if deaf.Dropped() < 3 {
		t.Errorf("got %d dropped events, want at least 3", deaf.Dropped())
	}
	if e := <-deaf.Events(); e.Kind != EventJoin {
		t.Errorf("got first event %v, want join", e.Kind)
	}
}

func TestPoolClose(t *testing.T) {
	p := newTestPool(t, "a", withKeys())
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second close: got %v, want nil", err)
	}
	ctx := context.Background()
	if _, err := p.Join(ctx, []string{"127.0.0.1:1"}); !errors.Is(err, ErrClosed) {
		t.Errorf("join after close: got %v, want ErrClosed", err)
	}
	if err := p.Leave(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("leave after close: got %v, want ErrClosed", err)
	}
	if _, ok := <-p.Events(); ok {
		t.Errorf("events channel still open after close")
	}
}

func TestPoolJoinFails(t *testing.T) {
	p := newTestPool(t, "a")
	ctx, cancel := context.WithTimeout(context.Background(), poolWait)
	defer cancel()
	if _, err := p.Join(ctx, nil); err == nil {
		t.Errorf("join without seeds: got nil, want an error")
	}
	// A port nobody listens on: the TCP dial is refused at once.
	dead := newTestPool(t, "gone")
	addr := dead.Addr()
	dead.Close()
	n, err := p.Join(ctx, []string{addr})
	if err == nil || n != 0 || !strings.Contains(err.Error(), addr) {
		t.Errorf("join a closed seed: got %d, %v; want 0 and an error naming %s", n, err, addr)
	}
	// One good seed is enough.
	good := newTestPool(t, "good")
	if n, err := p.Join(ctx, []string{addr, good.Addr()}); n != 1 || err != nil {
		t.Errorf("join one closed and one good seed: got %d, %v; want 1, nil", n, err)
	}
}

func TestPoolAllowedNets(t *testing.T) {
	a := newTestPool(t, "a", func(c *PoolConfig) { c.AllowedNets = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	b := newTestPool(t, "b")
	ctx, cancel := context.WithTimeout(context.Background(), poolWait)
	defer cancel()
	if _, err := b.Join(ctx, []string{a.Addr()}); err == nil {
		t.Errorf("join from 127.0.0.1 into a pool allowing 10/8: got nil, want an error")
	}
}

// TestPoolSuspicion drives the suspicion bookkeeping memberlist gives no callback for:
// its log line marks a member suspect, a probe answer or the end of the longest
// suspicion clears it, and memberlist's log levels reach slog.
func TestPoolSuspicion(t *testing.T) {
	var logs logBuffer
	p := newTestPool(t, "a", withKeys(), func(c *PoolConfig) { c.Logger = logs.logger() })
	w := poolLogWriter{p: p.Pool}
	join := func(id string) {
		p.observe(&memberlist.Node{Name: id, Addr: net.IPv4(127, 0, 0, 9), Port: 9, Meta: encodePoolMeta(poolMeta{Role: wire.RoleAgent})}, EventJoin)
	}
	suspect := func(id string) {
		fmt.Fprintf(w, "[INFO] memberlist: Suspect %s has failed, no acks received\n", id)
	}
	join("x")
	join("y")
	suspect("x")
	suspect("nobody") // unknown members are ignored
	suspect("a")      // so is this member itself
	if s := stateOf(p, "x"); s != MemberSuspect {
		t.Fatalf("after the log line: got %v, want suspect", s)
	}
	p.answered("x")
	if s := stateOf(p, "x"); s != MemberAlive {
		t.Errorf("after a probe answer: got %v, want alive", s)
	}

	suspect("y")
	p.mu.Lock()
	until := p.members["y"].suspectUntil
	p.ageSuspectsLocked(until.Add(-time.Millisecond))
	before := p.members["y"].State
	p.ageSuspectsLocked(until.Add(time.Millisecond))
	after := p.members["y"].State
	p.mu.Unlock()
	if before != MemberSuspect || after != MemberAlive {
		t.Errorf("aging the suspicion: got %v then %v, want suspect then alive", before, after)
	}
	p.observe(&memberlist.Node{Name: "y", Addr: net.IPv4(127, 0, 0, 9), Port: 9}, EventDead)
	suspect("y") // a late log line does not revive a dead member as suspect
	if s := stateOf(p, "y"); s != MemberDead {
		t.Errorf("suspect after death: got %v, want dead", s)
	}

	eventually(t, poolWait, "events about x and y", func() bool {
		return len(p.events.kinds("y")) == 4
	})
	for id, want := range map[string][]EventKind{
		"x": {EventJoin, EventSuspect, EventAlive},
		"y": {EventJoin, EventSuspect, EventAlive, EventDead},
	} {
		if got := p.events.kinds(id); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("events about %s: got %v, want %v", id, got, want)
		}
	}
	if m, _ := p.Member("y"); m.Role != 0 || m.Meta != nil {
		t.Errorf("member with unreadable meta: got role %v meta %q, want 0 and nil", m.Role, m.Meta)
	}

	fmt.Fprint(w, "[ERR] memberlist: Failed to send gossip to 10.0.0.1:1: boom\n[DEBUG] memberlist: Stream connection from=x\n")
	for _, want := range [][]string{
		{"level=WARN", "Failed to send gossip", "zone=test"},
		{"level=DEBUG", "Stream connection from=x"},
		{"level=INFO", "Suspect x has failed"},
	} {
		if _, ok := logs.lineWith(want...); !ok {
			t.Errorf("no log line with %q in:\n%s", want, logs.String())
		}
	}
}

// TestPoolLeaveNotice: memberlist's leave message looks like a death, so a leaving member
// also sends a notice; whichever comes first, the member ends as left.
func TestPoolLeaveNotice(t *testing.T) {
	p := newTestPool(t, "a", withKeys())
	node := func(id string) *memberlist.Node {
		return &memberlist.Node{Name: id, Addr: net.IPv4(127, 0, 0, 9), Port: 9, Meta: encodePoolMeta(poolMeta{Role: wire.RoleAgent})}
	}
	// Notice first, then memberlist's leave.
	p.observe(node("first"), EventJoin)
	p.message(encodePoolMsg(poolMsgLeaving, "first"))
	p.observe(node("first"), EventDead)
	// memberlist's leave first, then the notice.
	p.observe(node("late"), EventJoin)
	p.observe(node("late"), EventDead)
	p.message(encodePoolMsg(poolMsgLeaving, "late"))
	// Garbage and notices about unknown members change nothing.
	p.message([]byte{poolMsgLeaving})
	p.message(encodePoolMsg(9, "first"))
	p.message(encodePoolMsg(poolMsgLeaving, "nobody"))

	want := map[string][]EventKind{
		"first": {EventJoin, EventLeave},
		"late":  {EventJoin, EventDead, EventLeave},
	}
	eventually(t, poolWait, "leave events", func() bool { return len(p.events.kinds("late")) == 3 })
	for id, kinds := range want {
		if got := p.events.kinds(id); fmt.Sprint(got) != fmt.Sprint(kinds) {
			t.Errorf("events about %s: got %v, want %v", id, got, kinds)
		}
		if s := stateOf(p, id); s != MemberLeft {
			t.Errorf("%s: got %v, want left", id, s)
		}
	}
	// A member that comes back after leaving is no longer leaving.
	p.observe(node("first"), EventJoin)
	p.observe(node("first"), EventDead)
	if s := stateOf(p, "first"); s != MemberDead {
		t.Errorf("back, then dead: got %v, want dead", s)
	}
}
