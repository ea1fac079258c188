package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/metrics"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// Config configures a relay. Zero fields take the defaults named beside them.
type Config struct {
	DataDir             string // required
	ListenAddr          string // default ":6710"
	Upstream            string // host:port of the relay or root above; required
	UpstreamFingerprint string // pins the upstream's key; empty: pin on first use
	SoftwareVersion     string
	// QueueBytes bounds the upstream queue on disk; past it agents are told to retry later
	// and keep their items. Default 8 GiB.
	QueueBytes int64
	// BatchSize is how many queued items go upstream in one exchange. Default 512.
	BatchSize int
	// UpstreamTimeout bounds one exchange with the upstream: a link that silently drops
	// everything would otherwise hold the forwarder until QUIC's idle timeout. Default 20 s.
	UpstreamTimeout time.Duration
	// Zone names the relay's zone pool (its agents gossip there); relays of one zone back
	// each other up for their agents. Default: the relay's node id.
	Zone string
	// AdvertiseAddr is the QUIC address agents of the zone reach this relay at, handed to
	// them for failover. Default: ListenAddr when it names a host.
	AdvertiseAddr string
	// GossipListen is the zone pool's address (UDP and TCP); "" turns gossip off.
	// Default ":6712".
	GossipListen string
	// CoreGossipListen is the address for the pool of relays and the root; "" keeps the relay
	// out of it. Default ":6713".
	CoreGossipListen string
	// GossipProfile and CoreGossipProfile choose the pools' timers; defaults LAN and WAN.
	GossipProfile, CoreGossipProfile mesh.Profile
	// StatsInterval is how often the relay reports its queue and uplink upstream. Default 30 s.
	StatsInterval time.Duration
	// MetricsListen is the address of the Prometheus endpoint (HTTP, /metrics); "" serves
	// none (the default here; the command line's is 127.0.0.1:6714).
	MetricsListen string
	// MetricsTokenFile holds the bearer token scrapers must send. Default
	// <data>/metrics.token, created (mode 0600, random) at first start.
	MetricsTokenFile string
	// Backoff bounds for reconnecting to the upstream. Defaults 500 ms and 1 min.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
	Now                    func() time.Time
}

func (c *Config) fillDefaults() {
	if c.ListenAddr == "" {
		c.ListenAddr = ":6710"
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = 8 << 30
	}
	if c.BatchSize == 0 {
		c.BatchSize = 512
	}
	if c.UpstreamTimeout == 0 {
		c.UpstreamTimeout = 20 * time.Second
	}
	if c.Zone == "" {
		c.Zone = "default"
	}
	if c.AdvertiseAddr == "" {
		if host, _, err := net.SplitHostPort(c.ListenAddr); err == nil && host != "" && host != "0.0.0.0" && host != "::" {
			c.AdvertiseAddr = c.ListenAddr
		}
	}
	if c.StatsInterval == 0 {
		c.StatsInterval = 30 * time.Second
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

func (c *Config) validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("relay: no data directory (--data)")
	case c.Upstream == "":
		return errors.New("relay: no upstream (--upstream host:port)")
	case c.BatchSize < 1 || c.BatchSize > wire.MaxForwardItems:
		return fmt.Errorf("relay: batch size %d out of range 1..%d", c.BatchSize, wire.MaxForwardItems)
	case c.MinBackoff > c.MaxBackoff:
		return fmt.Errorf("relay: min backoff %v above max backoff %v", c.MinBackoff, c.MaxBackoff)
	}
	if c.UpstreamFingerprint != "" {
		if _, err := mesh.ParseFingerprint(c.UpstreamFingerprint); err != nil {
			return fmt.Errorf("--upstream-fingerprint: %w", err)
		}
	}
	return nil
}

// storeMaintenance is how often the store reclaims the space of forwarded items.
const storeMaintenance = 5 * time.Minute

const (
	dbDir   = "db"
	pinFile = "upstream.pin"
)

// Relay is a running relay.
type Relay struct {
	cfg    Config
	log    *slog.Logger
	id     *mesh.Identity
	db     *store.DB
	queue  store.Queue
	server *mesh.Server
	client *mesh.Client
	// queued wakes the forwarder when the handler queued something.
	queued    chan struct{}
	link      link
	gossip    gossip
	metrics   *relayMetrics
	metricsLn *metrics.Server // nil without MetricsListen
	closeOnce sync.Once
}

// New opens the relay's store and binds its listener; it serves nothing until Run.
func New(cfg Config) (*Relay, error) {
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
	log := cfg.Logger.With("role", "relay")
	if created {
		log.Info("relay identity created", "node", id.NodeID, "fingerprint", mesh.Fingerprint(id.Public()))
	}
	db, err := store.Open(filepath.Join(cfg.DataDir, dbDir), store.Options{Profile: store.ProfileRelay, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	q, err := db.QueueWithOptions("upstream", store.QueueOptions{MaxBytes: cfg.QueueBytes})
	if err != nil {
		db.Close()
		return nil, err
	}
	r := &Relay{cfg: cfg, log: log, id: id, db: db, queue: q, queued: make(chan struct{}, 1), metrics: newRelayMetrics()}
	r.client, err = mesh.NewClient(mesh.ClientConfig{
		Identity:   id,
		PeerPolicy: mesh.FilePin(filepath.Join(cfg.DataDir, pinFile), cfg.UpstreamFingerprint, log),
		Logger:     log,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	r.server, err = mesh.Listen(mesh.ServerConfig{
		Identity: id,
		Addr:     cfg.ListenAddr,
		Handler:  &handler{r: r, hello: wire.NewHello(wire.RoleRelay, id.NodeID, cfg.SoftwareVersion)},
		Logger:   log,
		Traffic:  r.metrics.traffic,
	})
	if err != nil {
		r.client.Close()
		db.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	r.registerFigures()
	if cfg.MetricsListen != "" {
		tok, err := metrics.TokenOf(cfg.MetricsTokenFile, cfg.DataDir)
		if err == nil {
			r.metricsLn, err = metrics.Listen(cfg.MetricsListen, r.metrics.reg, tok, log)
		}
		if err != nil {
			r.server.Close()
			r.client.Close()
			db.Close()
			return nil, fmt.Errorf("relay metrics: %w", err)
		}
	}
	return r, nil
}

// Addr returns the address agents reach the relay at.
func (r *Relay) Addr() net.Addr { return r.server.Addr() }

// MetricsAddr returns the address of the Prometheus endpoint, nil when there is none.
func (r *Relay) MetricsAddr() net.Addr {
	if r.metricsLn == nil {
		return nil
	}
	return r.metricsLn.Addr()
}

// Identity returns the relay's identity.
func (r *Relay) Identity() *mesh.Identity { return r.id }

// Run serves agents and forwards upstream until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	r.log.Info("relay serving", "node", r.id.NodeID, "fingerprint", mesh.Fingerprint(r.id.Public()), "listen", r.server.Addr().String(), "upstream", r.cfg.Upstream)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var serveErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := r.server.Serve(ctx); err != nil && ctx.Err() == nil {
			serveErr = err
		}
		cancel()
	}()
	go func() {
		defer wg.Done()
		r.forward(ctx)
	}()
	wg.Add(3)
	go func() {
		defer wg.Done()
		r.db.Maintain(ctx, storeMaintenance)
	}()
	go func() {
		defer wg.Done()
		r.meshLoop(ctx)
	}()
	go func() {
		defer wg.Done()
		r.reportStats(ctx)
	}()
	if r.metricsLn != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.metricsLn.Run(ctx); err != nil {
				r.log.Error("metrics endpoint stopped", "err", err)
			}
		}()
	}
	wg.Wait()
	return serveErr
}

// Close releases the listener, the upstream connection and the store. Idempotent.
func (r *Relay) Close() error {
	var err error
	r.closeOnce.Do(func() {
		if r.metricsLn != nil {
			_ = r.metricsLn.Close()
		}
		err = errors.Join(r.server.Close(), r.client.Close(), r.db.Close())
	})
	return err
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}
