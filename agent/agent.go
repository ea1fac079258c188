package agent

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/bosun-io/bosun/agent/host"
	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// Config configures an agent. Zero fields take the defaults named beside them.
type Config struct {
	DataDir           string // required
	Server            string // host:port of the policy server; required
	ServerFingerprint string // pins the server's key; empty: pin on first use
	RootFingerprint   string // pins the key that signs policies; empty: pin on first use
	// GossipListen is where the agent's member of its zone pool binds ("" keeps it out of
	// gossip; ":0" picks a port). GossipProfile chooses the timers (LAN by default).
	GossipListen    string
	GossipProfile   mesh.Profile
	Hostname        string // default: the machine's host name
	SoftwareVersion string
	// ServerTimeout bounds one contact with the policy server: a relay killed without a word
	// would otherwise hold the agent until QUIC's idle timeout. Default 30 s.
	ServerTimeout time.Duration
	// Interval is how often the agent gets in touch with its policy server. Default 5 min.
	Interval time.Duration
	// Backoff bounds for retrying an unreachable server. Defaults 1 s and 5 min.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Now                    func() time.Time
	// RootPrefix is where /etc/os-release and friends are read from; tests only.
	RootPrefix string
	// ApplyPrefix is prepended to every path the policy's methods act on; tests only (so
	// that agents sharing a machine do not share their files).
	ApplyPrefix string
	// RunInterval overrides the run interval of the policy; 0 means the policy's. For
	// tests and trials.
	RunInterval time.Duration
	// MetricsListen is the address of the opt-in Prometheus endpoint (HTTP, /metrics);
	// default "": none.
	MetricsListen string
	// MetricsTokenFile holds the bearer token scrapers must send. Default
	// <data>/metrics.token, created (mode 0600, random) when the endpoint first starts.
	MetricsTokenFile string
}

func (c *Config) fillDefaults() {
	if c.Interval == 0 {
		c.Interval = 5 * time.Minute
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = time.Second
	}
	if c.ServerTimeout == 0 {
		c.ServerTimeout = 30 * time.Second
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Hostname == "" {
		if h, err := os.Hostname(); err == nil {
			c.Hostname = h
		}
	}
}

func (c *Config) validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("agent: no data directory (--data)")
	case c.Server == "":
		return errors.New("agent: no policy server (--server host:port)")
	case c.MinBackoff > c.MaxBackoff:
		return fmt.Errorf("agent: min backoff %v above max backoff %v", c.MinBackoff, c.MaxBackoff)
	}
	if c.RootFingerprint != "" {
		if _, err := mesh.ParseFingerprint(c.RootFingerprint); err != nil {
			return fmt.Errorf("--root-fingerprint: %w", err)
		}
	}
	if c.ServerFingerprint != "" {
		if _, err := mesh.ParseFingerprint(c.ServerFingerprint); err != nil {
			return fmt.Errorf("--server-fingerprint: %w", err)
		}
	}
	return nil
}

// Files of the agent's data directory, besides the identity mesh keeps there.
const (
	pinFile   = "server.pin"
	stateFile = "agent.json"
)

// state is what the agent remembers between runs.
type state struct {
	// EnrolledWith is the policy server the current identity enrolled with; a change of
	// server (or of identity) means enrolling again.
	EnrolledWith string    `json:"enrolledWith,omitempty"`
	EnrolledID   string    `json:"enrolledId,omitempty"`
	EnrolledAt   time.Time `json:"enrolledAt,omitzero"`
	// NodeStatus is how the root last said it saw this node (pending, accepted), when known.
	NodeStatus string    `json:"nodeStatus,omitempty"`
	LastSeen   time.Time `json:"lastContact,omitzero"`
	// InventorySent is when the policy server last took an inventory from this node.
	InventorySent time.Time `json:"inventorySent,omitzero"`
	// RootKey is the root's key as pinned (root.pin holds its fingerprint).
	RootKey []byte `json:"rootKey,omitempty"`
	// ConfigID is the config id of the policy held.
	ConfigID string `json:"configId,omitempty"`
	// ZoneRelays are the relays of the node's zone as the root last vouched for them: where
	// to fail over to, even after a restart while its relay is gone.
	ZoneRelays []wire.ZoneRelay `json:"zoneRelays,omitempty"`
}

// Agent is a running agent.
type Agent struct {
	cfg       Config
	log       *slog.Logger
	id        *mesh.Identity
	client    *mesh.Client
	mu        sync.Mutex
	st        state
	root      ed25519.PublicKey // pinned root key, once known
	zone      zone
	closeOnce sync.Once

	// Runs and reports (run.go, report.go, daemon.go).
	spoolMu  sync.Mutex
	sp       *store.Spool // opened on first use; one process holds it
	hostOnce sync.Once
	hosts    *host.Set
	runKick  chan struct{}
	sendKick chan struct{}

	metrics *agentMetrics // nil unless MetricsListen is set
}

// New loads or creates the node's identity; it contacts nobody until Run.
func New(cfg Config) (*Agent, error) {
	cfg.fillDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if err := store.PrepareDir(cfg.DataDir); err != nil {
		return nil, err
	}
	id, created, err := mesh.LoadOrCreateIdentity(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("role", "agent")
	if created {
		log.Info("agent identity created", "node", id.NodeID, "fingerprint", mesh.Fingerprint(id.Public()))
	}
	a := &Agent{cfg: cfg, log: log, id: id, runKick: make(chan struct{}, 1), sendKick: make(chan struct{}, 1)}
	if err := a.loadState(); err != nil {
		return nil, err
	}
	if len(a.st.RootKey) == ed25519.PublicKeySize {
		a.root = a.st.RootKey
	}
	a.zone.relays = a.st.ZoneRelays
	a.client, err = mesh.NewClient(mesh.ClientConfig{
		Identity:   id,
		PeerPolicy: a.peerPolicy(mesh.FilePin(filepath.Join(cfg.DataDir, pinFile), cfg.ServerFingerprint, log)),
		Logger:     log,
	})
	if err != nil {
		return nil, err
	}
	if err := a.listenMetrics(); err != nil {
		a.client.Close()
		return nil, fmt.Errorf("agent metrics: %w", err)
	}
	return a, nil
}

// MetricsAddr returns the address of the Prometheus endpoint, nil when there is none.
func (a *Agent) MetricsAddr() net.Addr {
	if a.metrics == nil {
		return nil
	}
	return a.metrics.srv.Addr()
}

// Identity returns the node's identity.
func (a *Agent) Identity() *mesh.Identity { return a.id }

// Run enrols if needed, then keeps in touch with the policy server, runs the policy on
// schedule and sends the reports, until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	a.log.Info("agent running", "node", a.id.NodeID, "server", a.cfg.Server)
	// The daemon holds the spool for its lifetime: a second daemon on this data directory
	// stops here, and foreground runs leave their reports in the outbox.
	if _, err := a.spool(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { a.runLoop(ctx) })
	wg.Go(func() { a.sendLoop(ctx) })
	if a.metrics != nil {
		wg.Go(func() {
			if err := a.metrics.srv.Run(ctx); err != nil {
				a.log.Error("metrics endpoint stopped", "err", err)
			}
		})
	}
	backoff := a.cfg.MinBackoff
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, a.cfg.ServerTimeout)
		err := a.contact(cctx)
		cancel()
		if err == nil {
			a.contactSucceeded(ctx)
			backoff = a.cfg.MinBackoff
			sleep(ctx, a.cfg.Interval)
			continue
		}
		var nack *wire.NackError
		if !errors.As(err, &nack) && a.contactFailed(ctx) {
			continue
		}
		if errors.As(err, &nack) && nack.Ack.RetryAfter > backoff {
			backoff = nack.Ack.RetryAfter
		}
		a.log.Warn("policy server unavailable", "server", a.server(), "err", err, "retry_in", backoff)
		sleep(ctx, backoff)
		backoff = min(backoff*2, a.cfg.MaxBackoff)
	}
	return nil
}

// contact enrols when this identity has not enrolled with this server yet, then asks the
// root how it sees the node, and sends an inventory when one is due: right after enrolling
// (the root has none), when the root lost it, and daily at the node's slot.
func (a *Agent) contact(ctx context.Context) error {
	a.mu.Lock()
	st := a.st
	a.mu.Unlock()
	if st.EnrolledWith != a.cfg.Server || st.EnrolledID != a.id.NodeID {
		if err := a.Enrol(ctx); err != nil {
			return err
		}
		st.InventorySent = time.Time{}
	}
	status, err := a.Status(ctx)
	if err != nil {
		return err
	}
	if status.NodeStatus == "accepted" {
		if p, err := a.FetchPolicy(ctx, status.ConfigID); err != nil {
			a.log.Warn("policy not updated", "err", err)
		} else if p != nil && p.ConfigID != st.ConfigID {
			a.kickRun()
		}
	}
	now := a.cfg.Now()
	due := st.InventorySent.IsZero() || !now.Before(inventory.NextRun(a.id.NodeID, st.InventorySent, time.Local))
	// A root holding nothing although an inventory went out means it was lost on the way
	// or refused; resend, but not on every contact while a relay still holds it queued.
	lost := status.InventoryHash == 0 && now.Sub(st.InventorySent) > a.cfg.Interval*3
	if due || lost {
		if _, err := a.sendInventory(ctx, nil, status); err != nil {
			return err
		}
	}
	return nil
}

// Enrol sends the node's signed enrolment stub to its policy server.
func (a *Agent) Enrol(ctx context.Context) error {
	e := wire.NewEnrol(wire.EnrolStub{
		NodeID: a.id.NodeID, Hostname: a.cfg.Hostname, OS: osName(a.cfg.RootPrefix),
		PolicyServer: a.cfg.Server, SoftwareVersion: a.cfg.SoftwareVersion,
		Role: wire.RoleAgent, Time: a.cfg.Now().UTC(),
	}, a.id.Key)
	reply, server, err := a.client.Exchange(ctx, a.cfg.Server, e)
	if err != nil {
		return fmt.Errorf("enrol with %s: %w", a.cfg.Server, err)
	}
	ack, ok := reply.(*wire.Ack)
	if !ok {
		return fmt.Errorf("enrol with %s: answered with %v", a.cfg.Server, reply.Type())
	}
	if err := ack.Err(); err != nil {
		return fmt.Errorf("enrol with %s: %w", a.cfg.Server, err)
	}
	a.log.Info("agent enrolled", "server", a.cfg.Server, "server_node", server.NodeID, "status", ack.NodeStatus)
	now := a.cfg.Now().UTC()
	return a.updateState(func(s *state) {
		s.EnrolledWith, s.EnrolledID, s.EnrolledAt, s.LastSeen = a.cfg.Server, a.id.NodeID, now, now
		if ack.NodeStatus != "" {
			s.NodeStatus = ack.NodeStatus
		}
	})
}

// Close releases the connection to the policy server. Idempotent.
func (a *Agent) Close() error {
	var err error
	a.closeOnce.Do(func() {
		a.closeGossip()
		if a.metrics != nil {
			_ = a.metrics.srv.Close()
		}
		err = a.client.Close()
		a.spoolMu.Lock()
		if a.sp != nil {
			err = errors.Join(err, a.sp.Close())
		}
		a.spoolMu.Unlock()
	})
	return err
}

func (a *Agent) loadState() error {
	b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read agent state: %w", err)
	}
	if err := json.Unmarshal(b, &a.st); err != nil {
		// The state only saves work (an enrolment); starting over is safe, losing the
		// identity would not be, and the identity lives elsewhere.
		a.log.Warn("agent state unreadable; enrolling again", "file", filepath.Join(a.cfg.DataDir, stateFile), "err", err)
		a.st = state{}
	}
	return nil
}

func (a *Agent) updateState(fn func(*state)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	fn(&a.st)
	b, err := json.MarshalIndent(a.st, "", "  ")
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(filepath.Join(a.cfg.DataDir, stateFile), b, 0o600)
}

// osName reads the distribution's pretty name; the full inventory has the details.
func osName(rootPrefix string) string {
	f, err := os.Open(filepath.Join(rootPrefix, "/etc/os-release"))
	if err != nil {
		return runtime.GOOS
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return runtime.GOOS
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// EnrolledServer returns the policy server the agent in dataDir enrolled with, for local
// verbs run beside the daemon.
func EnrolledServer(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%w: no %s in %s; start bosun agent --server host:port first, or pass --server", errNotEnrolled, stateFile, dataDir)
	}
	if err != nil {
		return "", err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return "", fmt.Errorf("read agent state: %w", err)
	}
	if st.EnrolledWith == "" {
		return "", fmt.Errorf("%w; pass --server", errNotEnrolled)
	}
	return st.EnrolledWith, nil
}
