package mesh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bosun-io/bosun/wire"
	"github.com/hashicorp/memberlist"
)

// DefaultGossipPort is the UDP and TCP port memberlist listens on unless told otherwise. It
// is not the QUIC port: gossip keeps its own socket (DEPS.md §10).
const DefaultGossipPort = 6712

// Pool defaults; see PoolConfig.
const (
	DefaultEventBuffer = 1024
	// MaxPoolMeta is the most application meta a member may carry: memberlist's 512-byte
	// limit less the two bytes of bosun's own header.
	MaxPoolMeta = memberlist.MetaMaxSize - poolMetaHeader
	// forgetAfter is how long Members keeps showing a dead or departed member. memberlist
	// itself forgets it sooner (GossipToTheDeadTime); the roles record states from Events.
	forgetAfter       = 24 * time.Hour
	defaultLeaveWait  = 5 * time.Second
	maxZoneLen        = 200 // the label "bosun/" + zone must fit memberlist's 255 bytes
	maxPoolNodeIDLen  = 128
	poolMetaVersion   = 1
	poolMetaHeader    = 2 // version, role
	poolMsgLeaving    = 1 // user message: the node id that follows is leaving
	labelPrefix       = "bosun/"
	suspectLogPrefix  = "Suspect "
	suspectLogSuffix  = " has failed, no acks received"
	memberlistLogHead = "memberlist: "
)

var (
	// ErrNoGossipKey means a production profile was asked to gossip in the clear. Give the
	// pool the keyring the root handed out at enrolment; only ProfileLocal (tests) may run
	// without one.
	ErrNoGossipKey = errors.New("mesh: gossip pool without a key")
	// ErrNotEncrypted is returned by key rotation on a pool started without a keyring: such a
	// pool cannot switch encryption on while running.
	ErrNotEncrypted = errors.New("mesh: gossip pool is not encrypted")
	// ErrLeft is returned by Join on a pool that has left.
	ErrLeft = errors.New("mesh: left the gossip pool")
)

// Profile chooses memberlist's timers, as its DefaultLANConfig, DefaultWANConfig and
// DefaultLocalConfig do.
type Profile int

const (
	// ProfileLAN is for a zone pool (a relay and its agents on one site): memberlist's LAN
	// configuration with the faster failure detection DEPS.md §4 measured (about 3.5 s to
	// declare a crashed member dead at 50 members, against about 9 s with the LAN defaults),
	// and push/pull every 15 s so that alive messages lost in a join storm are repaired
	// soon. It costs more packets than memberlist's LAN defaults; agents behind costly links
	// should not gossip at all.
	ProfileLAN Profile = iota
	// ProfileWAN is for the pool of relays and the root: memberlist's WAN configuration
	// (probe every 5 s, 3 s probe timeout), about 31 B/s per member. Push/pull stays at
	// memberlist's 60 s: the pool is small, joins are rare and the links may be costly.
	ProfileWAN
	// ProfileLocal is for tests on loopback: short timers, and the only profile that may run
	// without encryption.
	ProfileLocal
)

func (p Profile) String() string {
	switch p {
	case ProfileLAN:
		return "lan"
	case ProfileWAN:
		return "wan"
	case ProfileLocal:
		return "local"
	}
	return "profile(" + strconv.Itoa(int(p)) + ")"
}

// profileTimers are the parts of a profile that are not memberlist's.
type profileTimers struct {
	rejoinEvery time.Duration // mean interval between checks that every seed is a member
}

// memberlistConfig is the memberlist configuration of a profile, before the pool's own
// fields are filled in.
func (p Profile) memberlistConfig() (*memberlist.Config, profileTimers, error) {
	switch p {
	case ProfileLAN:
		c := memberlist.DefaultLANConfig()
		c.ProbeInterval = 500 * time.Millisecond
		c.ProbeTimeout = 250 * time.Millisecond
		c.SuspicionMult = 3
		c.SuspicionMaxTimeoutMult = 4
		c.GossipInterval = 100 * time.Millisecond
		c.GossipNodes = 4
		c.PushPullInterval = 15 * time.Second
		return c, profileTimers{rejoinEvery: 30 * time.Second}, nil
	case ProfileWAN:
		return memberlist.DefaultWANConfig(), profileTimers{rejoinEvery: 60 * time.Second}, nil
	case ProfileLocal:
		c := memberlist.DefaultLocalConfig()
		// memberlist's local profile halves RetransmitMult; shrinking it is what made
		// convergence slow in DEPS.md §4, so it stays at the LAN value.
		c.RetransmitMult = memberlist.DefaultLANConfig().RetransmitMult
		c.ProbeInterval = 200 * time.Millisecond
		c.ProbeTimeout = 100 * time.Millisecond
		c.GossipInterval = 50 * time.Millisecond
		c.SuspicionMaxTimeoutMult = 4
		c.PushPullInterval = 2 * time.Second
		c.GossipToTheDeadTime = 5 * time.Second
		return c, profileTimers{rejoinEvery: 500 * time.Millisecond}, nil
	}
	return nil, profileTimers{}, fmt.Errorf("unknown gossip profile %d", int(p))
}

// PoolConfig configures a Pool. Zero fields take the documented defaults.
type PoolConfig struct {
	// Zone names the pool. It is bound into every packet and stream (memberlist's Label, and
	// the encryption's associated data), so pools of different zones never merge even when
	// they share a key. Required.
	Zone string
	// NodeID is this member's name, unique in the pool: the node's id. Required.
	NodeID string
	// Role is what this member is; other members see it in Member.Role. Required.
	Role wire.Role
	// BindAddr is the host:port memberlist binds for both UDP and TCP; default
	// ":6712" (DefaultGossipPort). Port 0 picks a free port: read it back with Pool.Addr.
	BindAddr string
	// AdvertiseAddr is the ip:port other members reach this one at, when it is not
	// BindAddr (NAT). Default: the bound address, or a private address of the host when
	// bound to all interfaces.
	AdvertiseAddr string
	// Keyring holds the pool's AES keys (16, 24 or 32 bytes); the first is the one that
	// encrypts, all of them decrypt. Required except with ProfileLocal.
	Keyring [][]byte
	// Profile chooses the timers; default ProfileLAN.
	Profile Profile
	// Meta is application data other members see in Member.Meta, such as this node's QUIC
	// address; at most MaxPoolMeta bytes.
	Meta []byte
	// AllowedNets, when not empty, limits the addresses memberlist accepts members and
	// gossip from.
	AllowedNets []netip.Prefix
	// EventBuffer is the capacity of the Events channel; default DefaultEventBuffer.
	EventBuffer int
	// Logger receives memberlist's log lines at their level (memberlist's errors as
	// warnings: for a hint, none is an error of this process); default discards.
	Logger *slog.Logger
}

func (c *PoolConfig) setDefaults() {
	if c.BindAddr == "" {
		c.BindAddr = ":" + strconv.Itoa(DefaultGossipPort)
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func (c *PoolConfig) validate() error {
	switch {
	case c.Zone == "":
		return errors.New("pool config: Zone is required")
	case len(c.Zone) > maxZoneLen:
		return fmt.Errorf("pool config: Zone %.20q... is %d bytes, at most %d", c.Zone, len(c.Zone), maxZoneLen)
	case strings.ContainsFunc(c.Zone, isControl):
		return fmt.Errorf("pool config: Zone %q has control characters", c.Zone)
	case c.NodeID == "":
		return fmt.Errorf("pool %s config: NodeID is required", c.Zone)
	case len(c.NodeID) > maxPoolNodeIDLen:
		return fmt.Errorf("pool %s config: NodeID %.20q... is %d bytes, at most %d", c.Zone, c.NodeID, len(c.NodeID), maxPoolNodeIDLen)
	case c.Role < wire.RoleAgent || c.Role > wire.RoleRoot:
		return fmt.Errorf("pool %s config: Role %v is not agent, relay or root", c.Zone, c.Role)
	case len(c.Meta) > MaxPoolMeta:
		return fmt.Errorf("pool %s config: Meta is %d bytes, at most %d", c.Zone, len(c.Meta), MaxPoolMeta)
	case c.EventBuffer < 0:
		return fmt.Errorf("pool %s config: EventBuffer %d is negative", c.Zone, c.EventBuffer)
	case len(c.Keyring) == 0 && c.Profile != ProfileLocal:
		return fmt.Errorf("pool %s config: profile %v: %w", c.Zone, c.Profile, ErrNoGossipKey)
	}
	if _, _, err := c.Profile.memberlistConfig(); err != nil {
		return fmt.Errorf("pool %s config: %w", c.Zone, err)
	}
	for i, k := range c.Keyring {
		if err := memberlist.ValidateKey(k); err != nil {
			return fmt.Errorf("pool %s config: Keyring[%d]: %w", c.Zone, i, err)
		}
	}
	if _, _, err := splitIPPort(c.BindAddr, true); err != nil {
		return fmt.Errorf("pool %s config: BindAddr: %w", c.Zone, err)
	}
	if c.AdvertiseAddr != "" {
		ip, port, err := splitIPPort(c.AdvertiseAddr, false)
		if err != nil {
			return fmt.Errorf("pool %s config: AdvertiseAddr: %w", c.Zone, err)
		}
		if ip == "" || port == 0 {
			return fmt.Errorf("pool %s config: AdvertiseAddr %q needs an IP and a port", c.Zone, c.AdvertiseAddr)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// splitIPPort splits host:port where host is an IP literal (memberlist gossips IPs, not
// names) or, when empty is true, empty for all interfaces.
func splitIPPort(addr string, empty bool) (string, int, error) {
	host, sport, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.ParseUint(sport, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port of %q: %w", addr, err)
	}
	if host == "" && empty {
		return "", int(port), nil
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return "", 0, fmt.Errorf("host of %q is not an IP address", addr)
	}
	return host, int(port), nil
}

// MemberState is what a pool believes of a member.
type MemberState int

const (
	// MemberAlive answers gossip.
	MemberAlive MemberState = iota + 1
	// MemberSuspect failed this member's own probe and may be declared dead soon. memberlist
	// raises no event when it learns a suspicion from others, so a member can also go
	// straight from alive to dead.
	MemberSuspect
	// MemberDead stopped answering and was declared dead by the pool.
	MemberDead
	// MemberLeft left the pool on purpose (Pool.Leave).
	MemberLeft
)

func (s MemberState) String() string {
	switch s {
	case MemberAlive:
		return "alive"
	case MemberSuspect:
		return "suspect"
	case MemberDead:
		return "dead"
	case MemberLeft:
		return "left"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Member is one member of a pool as this pool sees it: a hint, never proof (see the
// package documentation).
type Member struct {
	NodeID string
	// Role is the role the member claims; 0 when its meta could not be read.
	Role wire.Role
	// Addr is the member's gossip address, ip:port.
	Addr  string
	State MemberState
	// Meta is the member's application meta (PoolConfig.Meta).
	Meta []byte
	// Since is when this pool last saw the member change state.
	Since time.Time
	// Local marks the pool's own member.
	Local bool
}

// EventKind says what changed in a MemberEvent.
type EventKind int

const (
	// EventJoin: a member appeared, or came back after being dead or gone.
	EventJoin EventKind = iota + 1
	// EventUpdate: a member changed its meta or address.
	EventUpdate
	// EventSuspect: this pool's probe of a member failed.
	EventSuspect
	// EventAlive: a suspect member answered again.
	EventAlive
	// EventDead: the pool declared a member dead.
	EventDead
	// EventLeave: a member left on purpose.
	EventLeave
)

func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventUpdate:
		return "update"
	case EventSuspect:
		return "suspect"
	case EventAlive:
		return "alive"
	case EventDead:
		return "dead"
	case EventLeave:
		return "leave"
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// MemberEvent is a change of another member, with the member as it is after the change.
type MemberEvent struct {
	Kind   EventKind
	Member Member
}

// Pool is this process's membership in one memberlist pool. Its methods are safe for
// concurrent use.
type Pool struct {
	cfg      PoolConfig
	log      *slog.Logger
	ml       *memberlist.Memberlist
	keyring  *memberlist.Keyring // nil when not encrypted
	delegate *poolDelegate
	timers   profileTimers
	// suspectFor bounds a suspicion: memberlist declares a suspect dead within its maximum
	// suspicion timeout unless the suspect refutes, which raises no event; past it, a
	// member still suspect here answered again.
	suspectFor func(members int) time.Duration
	events     chan MemberEvent
	dropped    atomic.Uint64
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	lifeMu     sync.Mutex // serialises Leave and Close: memberlist panics on Leave after Shutdown

	mu      sync.Mutex
	members map[string]*poolMember
	seeds   []string
	closed  bool
	left    bool
}

type poolMember struct {
	Member
	suspectUntil time.Time
	leaving      bool // it announced it is leaving
}

// NewPool binds memberlist's sockets and starts it, alone in the pool until Join. It also
// starts one goroutine of its own, which ages suspicions and rejoins missing seeds; Close
// stops it.
func NewPool(cfg PoolConfig) (*Pool, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	mc, timers, _ := cfg.Profile.memberlistConfig()
	cfg.Meta = bytes.Clone(cfg.Meta)
	keyring := cfg.Keyring
	cfg.Keyring = nil // the memberlist keyring holds the keys from here on
	p := &Pool{
		cfg:     cfg,
		log:     cfg.Logger.With("zone", cfg.Zone),
		timers:  timers,
		events:  make(chan MemberEvent, cfg.EventBuffer),
		members: make(map[string]*poolMember),
	}
	suspicionMult, maxMult, probe := mc.SuspicionMult, mc.SuspicionMaxTimeoutMult, mc.ProbeInterval
	p.suspectFor = func(n int) time.Duration {
		return time.Duration(maxMult)*suspicionTimeout(suspicionMult, n, probe) + 2*probe
	}

	host, port, _ := splitIPPort(cfg.BindAddr, true)
	if host == "" {
		host = "0.0.0.0"
	}
	mc.Name = cfg.NodeID
	mc.Label = labelPrefix + cfg.Zone
	mc.BindAddr, mc.BindPort = host, port
	mc.AdvertisePort = port
	if cfg.AdvertiseAddr != "" {
		ip, aport, _ := splitIPPort(cfg.AdvertiseAddr, false)
		mc.AdvertiseAddr, mc.AdvertisePort = ip, aport
	}
	if len(keyring) > 0 {
		keys := make([][]byte, len(keyring))
		for i, k := range keyring {
			keys[i] = bytes.Clone(k)
		}
		kr, err := memberlist.NewKeyring(keys, keys[0])
		if err != nil {
			return nil, fmt.Errorf("pool %s keyring: %w", cfg.Zone, err)
		}
		mc.Keyring, p.keyring = kr, kr
	}
	for _, n := range cfg.AllowedNets {
		mc.CIDRsAllowed = append(mc.CIDRsAllowed, net.IPNet{IP: n.Masked().Addr().AsSlice(), Mask: net.CIDRMask(n.Bits(), n.Addr().BitLen())})
	}
	d := &poolDelegate{p: p}
	meta := encodePoolMeta(poolMeta{Role: cfg.Role, App: cfg.Meta})
	d.meta.Store(&meta)
	p.delegate = d
	mc.Delegate, mc.Events, mc.Ping = d, d, d
	mc.Logger = log.New(poolLogWriter{p: p}, "", 0)

	ml, err := memberlist.Create(mc)
	if err != nil {
		return nil, fmt.Errorf("start gossip pool %s on %s: %w", cfg.Zone, cfg.BindAddr, err)
	}
	p.ml = ml
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.maintain(ctx)
	}()
	return p, nil
}

// suspicionTimeout is memberlist's own formula (util.go): the base time a suspect has to
// refute, growing with the log of the pool's size.
func suspicionTimeout(mult, n int, interval time.Duration) time.Duration {
	scale := math.Max(1, math.Log10(float64(max(1, n))))
	return time.Duration(float64(mult) * scale * float64(interval))
}

// Zone is the pool's zone.
func (p *Pool) Zone() string { return p.cfg.Zone }

// Addr is this member's gossip address as other members see it, ip:port: with BindAddr
// port 0, the port the kernel chose.
func (p *Pool) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m, ok := p.members[p.cfg.NodeID]; ok {
		return m.Addr
	}
	return ""
}

// Join contacts the seeds (gossip addresses, host:port; a missing port means this pool's
// own) all at once and merges their view of the pool. It returns how many answered, and an
// error only if none did. Give several seeds: one unreachable seed then costs nothing.
//
// The seeds are remembered: while the pool runs, a seed that is no longer a live member
// is joined again at intervals drawn at random around the profile's rejoin interval
// (30 s for LAN, 60 s for WAN), so that when a relay comes back its agents return without
// all knocking at once (DEPS.md §4: join storms stall convergence).
func (p *Pool) Join(ctx context.Context, seeds []string) (int, error) {
	if len(seeds) == 0 {
		return 0, fmt.Errorf("join pool %s: no seeds", p.cfg.Zone)
	}
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return 0, fmt.Errorf("join pool %s: %w", p.cfg.Zone, ErrClosed)
	case p.left:
		p.mu.Unlock()
		return 0, fmt.Errorf("join pool %s: %w", p.cfg.Zone, ErrLeft)
	}
	p.seeds = slices.Clone(seeds)
	p.mu.Unlock()
	return p.join(ctx, seeds)
}

// join runs one memberlist join per seed, in parallel. A join blocks for up to the
// profile's TCP timeout and memberlist cannot cancel it, so when ctx ends first the
// goroutines finish on their own; Close waits for them.
func (p *Pool) join(ctx context.Context, seeds []string) (int, error) {
	type result struct {
		seed string
		err  error
	}
	results := make(chan result, len(seeds))
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, fmt.Errorf("join pool %s: %w", p.cfg.Zone, ErrClosed)
	}
	p.wg.Add(len(seeds))
	p.mu.Unlock()
	for _, s := range seeds {
		go func() {
			defer p.wg.Done()
			_, err := p.ml.Join([]string{s})
			results <- result{s, err}
		}()
	}
	var errs []error
	joined := 0
	for range seeds {
		select {
		case r := <-results:
			if r.err != nil {
				errs = append(errs, fmt.Errorf("seed %s: %w", r.seed, r.err))
				continue
			}
			joined++
		case <-ctx.Done():
			return joined, fmt.Errorf("join pool %s: %w", p.cfg.Zone, ctx.Err())
		}
	}
	if joined == 0 {
		return 0, fmt.Errorf("join pool %s: no seed answered: %w", p.cfg.Zone, errors.Join(errs...))
	}
	for _, err := range errs {
		p.log.Warn("gossip seed did not answer", "err", err)
	}
	return joined, nil
}

// Members is every member this pool knows, itself included, sorted by node id. Dead and
// departed members stay listed for a day.
func (p *Pool) Members() []Member {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forgetLocked(time.Now())
	out := make([]Member, 0, len(p.members))
	for _, m := range p.members {
		out = append(out, m.clone())
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.NodeID, b.NodeID) })
	return out
}

// MemberStates lists the states a member can be in, best first: the label values of a
// count by state.
var MemberStates = []MemberState{MemberAlive, MemberSuspect, MemberDead, MemberLeft}

// CountByState counts the members Members would list by their state, without copying or
// sorting them: what a metrics scrape needs of a zone of thousands.
func (p *Pool) CountByState() map[MemberState]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.forgetLocked(time.Now())
	out := make(map[MemberState]int, len(MemberStates))
	for _, m := range p.members {
		out[m.State]++
	}
	return out
}

// Member is one member by node id.
func (p *Pool) Member(nodeID string) (Member, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.members[nodeID]
	if !ok {
		return Member{}, false
	}
	return m.clone(), true
}

// countAlive is the number of members alive or suspect, itself included.
func (p *Pool) countAlive() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.members {
		if m.State == MemberAlive || m.State == MemberSuspect {
			n++
		}
	}
	return n
}

func (m *poolMember) clone() Member {
	c := m.Member
	c.Meta = bytes.Clone(m.Meta)
	return c
}

// Events delivers changes of other members, in the order memberlist saw them. The channel
// is bounded: when the reader falls behind, events are dropped (and counted by Dropped)
// rather than stalling memberlist, so a reader that sees drops should resynchronise from
// Members. It is closed by Close.
func (p *Pool) Events() <-chan MemberEvent { return p.events }

// Dropped is how many events did not fit in the Events channel.
func (p *Pool) Dropped() uint64 { return p.dropped.Load() }

// AddKey installs a key that decrypts, so that members can receive it before any member
// encrypts with it. Rotation is AddKey everywhere, then UseKey everywhere, then RemoveKey
// of the old key everywhere.
func (p *Pool) AddKey(k []byte) error {
	if p.keyring == nil {
		return fmt.Errorf("add key to pool %s: %w", p.cfg.Zone, ErrNotEncrypted)
	}
	if err := p.keyring.AddKey(bytes.Clone(k)); err != nil {
		return fmt.Errorf("add key to pool %s: %w", p.cfg.Zone, err)
	}
	return nil
}

// UseKey makes an installed key the one that encrypts.
func (p *Pool) UseKey(k []byte) error {
	if p.keyring == nil {
		return fmt.Errorf("use key in pool %s: %w", p.cfg.Zone, ErrNotEncrypted)
	}
	if err := p.keyring.UseKey(k); err != nil {
		return fmt.Errorf("use key in pool %s: %w", p.cfg.Zone, err)
	}
	return nil
}

// RemoveKey uninstalls a key; the key that encrypts cannot be removed. Removing a key
// that is not installed does nothing.
func (p *Pool) RemoveKey(k []byte) error {
	if p.keyring == nil {
		return fmt.Errorf("remove key from pool %s: %w", p.cfg.Zone, ErrNotEncrypted)
	}
	// memberlist's RemoveKey closes the gap in place, in the very array its decryption may
	// be reading (GetKeys hands it out); re-installing the primary first gives the keyring
	// a fresh array, so only a reader arriving in between could see the shift.
	if err := p.keyring.UseKey(p.keyring.GetPrimaryKey()); err != nil {
		return fmt.Errorf("remove key from pool %s: %w", p.cfg.Zone, err)
	}
	if err := p.keyring.RemoveKey(k); err != nil {
		return fmt.Errorf("remove key from pool %s: %w", p.cfg.Zone, err)
	}
	return nil
}

// Leave tells the pool this member is going, so that others show it as left rather than
// dead, and waits until the message is out or ctx ends (default 5 s). The pool stops
// rejoining its seeds; Close still has to be called.
func (p *Pool) Leave(ctx context.Context) error {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return fmt.Errorf("leave pool %s: %w", p.cfg.Zone, ErrClosed)
	}
	p.left = true
	p.mu.Unlock()
	deadline := time.Now().Add(defaultLeaveWait)
	if dl, ok := ctx.Deadline(); ok {
		deadline = dl
	}
	p.announceLeave()
	wait := time.Until(deadline)
	if wait <= 0 {
		return fmt.Errorf("leave pool %s: %w", p.cfg.Zone, context.DeadlineExceeded)
	}
	if err := p.ml.Leave(wait); err != nil {
		return fmt.Errorf("leave pool %s: %w", p.cfg.Zone, err)
	}
	return nil
}

// Close stops gossiping at once, without a word to the pool (which will declare this
// member dead unless Leave came first), waits for the goroutines the pool started and
// closes the Events channel. memberlist's own goroutines end with its sockets. Close is
// idempotent.
func (p *Pool) Close() error {
	p.lifeMu.Lock()
	defer p.lifeMu.Unlock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	err := p.ml.Shutdown()
	p.wg.Wait()
	p.mu.Lock()
	close(p.events)
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("close pool %s: %w", p.cfg.Zone, err)
	}
	return nil
}

// maintain ages suspicions, forgets long-dead members and rejoins missing seeds until ctx
// ends.
func (p *Pool) maintain(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	rejoin := time.NewTimer(jitter(p.timers.rejoinEvery))
	defer rejoin.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			p.mu.Lock()
			p.ageSuspectsLocked(now)
			p.forgetLocked(now)
			p.mu.Unlock()
		case <-rejoin.C:
			p.rejoin(ctx)
			rejoin.Reset(jitter(p.timers.rejoinEvery))
		}
	}
}

// jitter draws uniformly in [d/2, 3d/2).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d)
}

// rejoin joins the seeds that are not live members.
func (p *Pool) rejoin(ctx context.Context) {
	p.mu.Lock()
	if p.left || p.closed || len(p.seeds) == 0 {
		p.mu.Unlock()
		return
	}
	live := make(map[string]bool, len(p.members))
	for _, m := range p.members {
		if m.State == MemberAlive || m.State == MemberSuspect {
			live[m.Addr] = true
		}
	}
	seeds := slices.Clone(p.seeds)
	p.mu.Unlock()

	var missing []string
	for _, s := range seeds {
		if !p.seedLive(ctx, s, live) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := p.join(ctx, missing)
	if err != nil {
		p.log.Debug("gossip rejoin failed", "seeds", missing, "err", err)
		return
	}
	p.log.Info("gossip rejoined seeds", "seeds", missing, "answered", n)
}

// seedLive says whether seed's address is one of the live addresses.
func (p *Pool) seedLive(ctx context.Context, seed string, live map[string]bool) bool {
	host, port, err := net.SplitHostPort(seed)
	if err != nil {
		host, port = seed, ""
	}
	if port == "" {
		_, self, _ := net.SplitHostPort(p.Addr())
		port = self
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return live[net.JoinHostPort(host, port)]
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		return false
	}
	for _, ip := range ips {
		if live[net.JoinHostPort(ip, port)] {
			return true
		}
	}
	return false
}

// ageSuspectsLocked turns back to alive the suspects that outlived memberlist's longest
// suspicion: they must have refuted it.
func (p *Pool) ageSuspectsLocked(now time.Time) {
	for _, m := range p.members {
		if m.State == MemberSuspect && now.After(m.suspectUntil) {
			m.State, m.Since = MemberAlive, now
			p.emitLocked(EventAlive, m)
		}
	}
}

func (p *Pool) forgetLocked(now time.Time) {
	for id, m := range p.members {
		if (m.State == MemberDead || m.State == MemberLeft) && now.Sub(m.Since) > forgetAfter {
			delete(p.members, id)
		}
	}
}

// emitLocked queues an event for a member other than this one, never blocking.
func (p *Pool) emitLocked(kind EventKind, m *poolMember) {
	if p.closed || m.Local {
		return
	}
	select {
	case p.events <- MemberEvent{Kind: kind, Member: m.clone()}:
	default:
		p.dropped.Add(1)
	}
}

// poolDelegate receives memberlist's callbacks. memberlist calls the event methods with its
// node lock held and in order, so copying the node there is safe and the pool's view
// follows memberlist's; none of them may block or call back into memberlist.
type poolDelegate struct {
	p    *Pool
	meta atomic.Pointer[[]byte]
}

var (
	_ memberlist.Delegate      = (*poolDelegate)(nil)
	_ memberlist.EventDelegate = (*poolDelegate)(nil)
	_ memberlist.PingDelegate  = (*poolDelegate)(nil)
)

func (d *poolDelegate) NodeMeta(limit int) []byte         { return *d.meta.Load() }
func (d *poolDelegate) NotifyMsg(b []byte)                { d.p.message(b) }
func (d *poolDelegate) GetBroadcasts(_, _ int) [][]byte   { return nil }
func (d *poolDelegate) LocalState(bool) []byte            { return nil }
func (d *poolDelegate) MergeRemoteState(_ []byte, _ bool) {}
func (d *poolDelegate) AckPayload() []byte                { return nil }
func (d *poolDelegate) NotifyJoin(n *memberlist.Node)     { d.p.observe(n, EventJoin) }
func (d *poolDelegate) NotifyUpdate(n *memberlist.Node)   { d.p.observe(n, EventUpdate) }
func (d *poolDelegate) NotifyLeave(n *memberlist.Node)    { d.p.observe(n, EventDead) }
func (d *poolDelegate) NotifyPingComplete(n *memberlist.Node, _ time.Duration, _ []byte) {
	d.p.answered(n.Name)
}

// observe records a memberlist event about n.
func (p *Pool) observe(n *memberlist.Node, kind EventKind) {
	now := time.Now()
	meta, err := decodePoolMeta(n.Meta)
	if err != nil {
		p.log.Debug("gossip member meta unreadable", "node", n.Name, "err", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.members[n.Name]
	if !ok {
		m = &poolMember{Member: Member{NodeID: n.Name, Local: n.Name == p.cfg.NodeID}}
		p.members[n.Name] = m
	}
	m.Role, m.Meta = meta.Role, meta.App
	m.Addr = net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
	state := MemberAlive
	switch {
	case kind == EventDead && m.leaving:
		kind, state = EventLeave, MemberLeft
	case kind == EventDead:
		state = MemberDead
	case kind == EventJoin:
		m.leaving = false // back after leaving
	}
	if m.State != state {
		m.State, m.Since = state, now
	}
	p.emitLocked(kind, m)
}

// suspected records that this member's probe of nodeID failed.
func (p *Pool) suspected(nodeID string) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.members[nodeID]
	if !ok || m.Local {
		return
	}
	switch m.State {
	case MemberAlive:
		m.State, m.Since = MemberSuspect, now
		m.suspectUntil = now.Add(p.suspectFor(len(p.members)))
		p.emitLocked(EventSuspect, m)
	case MemberSuspect:
		m.suspectUntil = now.Add(p.suspectFor(len(p.members)))
	}
}

// answered records that nodeID acknowledged this member's probe.
func (p *Pool) answered(nodeID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m, ok := p.members[nodeID]; ok && m.State == MemberSuspect {
		m.State, m.Since = MemberAlive, time.Now()
		p.emitLocked(EventAlive, m)
	}
}

// announceLeave tells every live member, directly and best effort, that this one is
// leaving. memberlist's own leave message reaches the others' event delegate looking just
// like a death (it never sets Node.State), and gossip may bring it before or after this
// notice; either order ends as "left" (see message and observe). One small UDP packet per
// member, once.
func (p *Pool) announceLeave() {
	msg := encodePoolMsg(poolMsgLeaving, p.cfg.NodeID)
	p.mu.Lock()
	var to []memberlist.Address
	for _, m := range p.members {
		if !m.Local && (m.State == MemberAlive || m.State == MemberSuspect) {
			to = append(to, memberlist.Address{Addr: m.Addr, Name: m.NodeID})
		}
	}
	p.mu.Unlock()
	for _, a := range to {
		if err := p.ml.SendToAddress(a, msg); err != nil {
			p.log.Debug("gossip leave notice not sent", "node", a.Name, "err", err)
		}
	}
}

// message handles a user message from another member.
func (p *Pool) message(b []byte) {
	kind, nodeID, err := decodePoolMsg(b)
	if err != nil || kind != poolMsgLeaving {
		p.log.Debug("gossip message ignored", "err", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m, ok := p.members[nodeID]
	if !ok || m.Local {
		return
	}
	switch m.State {
	case MemberAlive, MemberSuspect:
		m.leaving = true
	case MemberDead:
		// The leave message outran this notice: the member left, it did not die.
		m.leaving = true
		m.State = MemberLeft
		p.emitLocked(EventLeave, m)
	}
}

// encodePoolMsg is a user message: its kind, then a node id.
func encodePoolMsg(kind byte, nodeID string) []byte {
	return append([]byte{kind}, nodeID...)
}

// decodePoolMsg reads a user message. It crosses the network, from any holder of the
// pool key.
func decodePoolMsg(b []byte) (byte, string, error) {
	switch {
	case len(b) < 2:
		return 0, "", fmt.Errorf("gossip message of %d bytes, want at least 2", len(b))
	case len(b) > 1+maxPoolNodeIDLen:
		return 0, "", fmt.Errorf("gossip message of %d bytes, at most %d", len(b), 1+maxPoolNodeIDLen)
	}
	return b[0], string(b[1:]), nil
}

// poolLogWriter turns memberlist's log lines ("[LEVEL] memberlist: text") into slog
// records, and reads this member's suspicions from them: memberlist has no callback for
// a failed probe, only this line.
type poolLogWriter struct{ p *Pool }

func (w poolLogWriter) Write(b []byte) (int, error) {
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\r\n")
		level, text := slog.LevelInfo, line
		if rest, ok := strings.CutPrefix(line, "["); ok {
			if tag, after, ok := strings.Cut(rest, "] "); ok {
				text = after
				switch tag {
				case "DEBUG", "TRACE":
					level = slog.LevelDebug
				case "WARN", "ERR", "ERROR":
					level = slog.LevelWarn
				}
			}
		}
		text = strings.TrimPrefix(text, memberlistLogHead)
		if rest, ok := strings.CutPrefix(text, suspectLogPrefix); ok {
			if name, ok := strings.CutSuffix(rest, suspectLogSuffix); ok {
				w.p.suspected(name)
			}
		}
		w.p.log.Log(context.Background(), level, "memberlist", "detail", text)
	}
	return len(b), nil
}

// poolMeta is what bosun puts in memberlist's node meta.
type poolMeta struct {
	Role wire.Role
	App  []byte
}

// encodePoolMeta is the meta memberlist gossips for a member: a version byte, the role
// byte, then the application meta.
func encodePoolMeta(m poolMeta) []byte {
	return append([]byte{poolMetaVersion, byte(m.Role)}, m.App...)
}

// decodePoolMeta reads another member's meta. It crosses the network, from any holder of
// the pool key.
func decodePoolMeta(b []byte) (poolMeta, error) {
	switch {
	case len(b) < poolMetaHeader:
		return poolMeta{}, fmt.Errorf("member meta of %d bytes, want at least %d", len(b), poolMetaHeader)
	case b[0] != poolMetaVersion:
		return poolMeta{}, fmt.Errorf("member meta version %d, want %d", b[0], poolMetaVersion)
	case len(b) > memberlist.MetaMaxSize:
		return poolMeta{}, fmt.Errorf("member meta of %d bytes, at most %d", len(b), memberlist.MetaMaxSize)
	}
	return poolMeta{Role: wire.Role(b[1]), App: bytes.Clone(b[poolMetaHeader:])}, nil
}
