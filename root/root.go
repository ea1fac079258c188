package root

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/compliance"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// Config configures a root. Zero fields take the defaults named beside them.
type Config struct {
	DataDir         string // required; prepared by Init
	QUICAddr        string // default ":6710"
	APIAddr         string // default ":6711"
	SoftwareVersion string // reported in hellos and the API's status
	// InventoryQueueSize bounds the inventories being ingested at once; past it senders
	// are told to retry later. Default 64.
	InventoryQueueSize int
	// InventoryHistory is how many inventories are kept per node. Default 10.
	InventoryHistory int
	// SharedFilesDir holds the files nodes fetch for file_from_shared_folder.
	// Default <data>/shared-files.
	SharedFilesDir string
	// GossipListen is the address of the core pool, the relays' and the root's (UDP and
	// TCP); "" keeps the root out of gossip.
	GossipListen string
	// GossipProfile chooses the core pool's timers; the WAN profile by default.
	GossipProfile mesh.Profile
	// KeyRotationStep is how long a new gossip key is installed before it encrypts, and the
	// old one kept after: nodes pick keys up at their next status, every run interval.
	// Default 15 min.
	KeyRotationStep time.Duration
	Logger          *slog.Logger // default: discard
	Now             func() time.Time

	// RequireInventorySignature refuses (HTTP 401) imported inventories, sent to
	// /api/v1/inventories or dropped in the drop directory, that come without a Rudder
	// signature. Default false: unsigned ones are taken as inventory-only nodes.
	RequireInventorySignature bool
	// InventoryWatchInterval is how often the drop directory (<data>/inventories) is
	// scanned. Default 1 s; negative: the watcher starts stopped (the API starts it).
	InventoryWatchInterval time.Duration

	// LogDir holds the drift log, non-compliant-reports.log. Default <data>/log.
	LogDir string
	// HooksDir holds the operator's drift hooks: the executables of <hooks>/<event kind>/
	// (repaired, non-compliant, error) run for each such result. Default <data>/hooks.
	HooksDir string
	// CVEFeed is a CVE feed file (format: compliance.Feed); when set, node scores have a
	// vulnerability sub-score. Default none.
	CVEFeed string
	// ComplianceSampleInterval is how often compliance history is sampled. Default 5 min.
	ComplianceSampleInterval time.Duration
}

func (c *Config) fillDefaults() {
	if c.QUICAddr == "" {
		c.QUICAddr = ":6710"
	}
	if c.APIAddr == "" {
		c.APIAddr = ":6711"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SharedFilesDir == "" && c.DataDir != "" {
		c.SharedFilesDir = filepath.Join(c.DataDir, "shared-files")
	}
	if c.KeyRotationStep == 0 {
		c.KeyRotationStep = 15 * time.Minute
	}
	if c.InventoryQueueSize == 0 {
		c.InventoryQueueSize = 64
	}
	if c.InventoryHistory == 0 {
		c.InventoryHistory = 10
	}
	if c.LogDir == "" && c.DataDir != "" {
		c.LogDir = filepath.Join(c.DataDir, "log")
	}
	if c.HooksDir == "" && c.DataDir != "" {
		c.HooksDir = filepath.Join(c.DataDir, "hooks")
	}
	if c.ComplianceSampleInterval <= 0 {
		c.ComplianceSampleInterval = compliance.HistoryStep
	}
}

// storeMaintenance is how often the store reclaims the space of overwritten values.
const storeMaintenance = 10 * time.Minute

// Root is a running root.
type Root struct {
	cfg     Config
	log     *slog.Logger
	id      *mesh.Identity
	db      *store.DB
	reg     *registry
	inv     *inventories
	ingestQ *ingestQueue
	pol     *policies
	rep     *reports
	scores  *scores
	watch   *watcher
	handler *handler
	tokens  *tokens
	metrics *rootMetrics
	core    *mesh.Pool // nil when the root does not gossip
	members membership
	quic    *mesh.Server
	apiLn   net.Listener
	apiSrv  *http.Server
	apiCfg  api.Config // what apiSrv serves, kept for the test that checks openapi.json
	closeMu sync.Once

	// dir caches relayDirectory.
	dirMu sync.Mutex
	dir   map[string]directoryEntry
	dirAt time.Time
}

// New opens the root's store and binds its listeners; it serves nothing until Run.
func New(cfg Config) (*Root, error) {
	cfg.fillDefaults()
	if cfg.DataDir == "" {
		return nil, errors.New("root: no data directory")
	}
	if err := store.PrepareDir(cfg.DataDir); err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(cfg.DataDir, apiCertFile), filepath.Join(cfg.DataDir, apiKeyFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s; run: bosun root init --data %s", ErrNotInitialised, cfg.DataDir, cfg.DataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("load API certificate: %w", err)
	}
	id, created, err := mesh.LoadOrCreateIdentity(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if created {
		return nil, fmt.Errorf("%w: %s had an API certificate but no identity; restore node.key from a backup or start over with bosun root init", ErrNotInitialised, cfg.DataDir)
	}
	db, err := store.Open(filepath.Join(cfg.DataDir, dbDir), store.Options{Profile: store.ProfileRoot, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	r := &Root{cfg: cfg, log: cfg.Logger.With("role", "root"), id: id, db: db, metrics: newRootMetrics()}
	r.reg = &registry{db: db, now: cfg.Now}
	r.inv = &inventories{db: db, keep: cfg.InventoryHistory, now: cfg.Now}
	r.ingestQ = newIngestQueue(cfg.InventoryQueueSize, cfg.Now)
	if r.watch, err = newWatcher(cfg.DataDir, cfg.InventoryWatchInterval, cfg.Now, r.log, r.dropIngest); err != nil {
		db.Close()
		return nil, err
	}
	if r.pol, err = newPolicies(db, r.reg, r.inv, id.Key, r.log, cfg.Now); err != nil {
		db.Close()
		return nil, err
	}
	// A node accepted, refused or deleted, or a new inventory, changes what the node must do.
	r.reg.changed = r.pol.nodeChanged
	r.pol.compiled = r.metrics.compiled
	r.reg.changedMany = r.pol.nodesChanged
	if r.rep, err = newReports(cfg, db, r.reg, r.pol, r.log); err != nil {
		db.Close()
		return nil, err
	}
	r.rep.onDrift = r.metrics.drift
	r.scores = newScores(cfg.CVEFeed, r.inv, r.log)

	r.reg.liveness = r.members.get
	r.handler = &handler{root: r, reg: r.reg, hello: wire.NewHello(wire.RoleRoot, id.NodeID, cfg.SoftwareVersion), log: r.log}
	r.quic, err = mesh.Listen(mesh.ServerConfig{
		Identity:   id,
		Addr:       cfg.QUICAddr,
		Handler:    r.handler,
		PeerPolicy: r.admitPeer,
		Logger:     r.log,
		Traffic:    r.metrics.traffic,
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("listen QUIC on %s: %w", cfg.QUICAddr, err)
	}
	r.apiLn, err = net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		r.quic.Close()
		db.Close()
		return nil, fmt.Errorf("listen API on %s: %w", cfg.APIAddr, err)
	}
	r.tokens = newTokens(db, cfg.Now, r.log)
	r.apiCfg = api.Config{
		Registry: r.reg,
		Tokens:   r.tokens,
		Status:   r.status,
		Logger:   r.log,
		Routes:   []func(api.RouteFunc, api.PublicFunc){r.policyRoutes, r.airgapRoutes, r.relayRoutes, r.nodePropertyRoutes, r.meshRoutes, r.ledgerRoutes, r.complianceGroupRoutes, r.inventoryRoutes, r.complianceRoutes, r.nodeCountRoutes, r.driftRoutes, r.dashboardRoutes, r.metricsRoutes, r.tokenRoutes, r.nodeBatchRoutes},
	}
	r.apiSrv = &http.Server{
		Handler:           r.metrics.instrument(api.NewHandler(r.apiCfg)),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	}
	r.registerFigures()
	if cfg.GossipListen != "" {
		keys, _, err := r.keyring()
		if err == nil {
			r.core, err = mesh.NewPool(mesh.PoolConfig{Zone: coreZone, NodeID: id.NodeID, Role: wire.RoleRoot,
				BindAddr: cfg.GossipListen, Keyring: keys, Profile: cfg.GossipProfile, Logger: r.log})
		}
		if err != nil {
			r.apiLn.Close()
			r.quic.Close()
			db.Close()
			return nil, fmt.Errorf("core gossip on %s: %w", cfg.GossipListen, err)
		}
	}
	return r, nil
}

// admitPeer turns away, at the handshake, keys an operator refused or deleted.
func (r *Root) admitPeer(p mesh.Peer) error {
	st, err := r.reg.keyStatus(p.Key)
	if err != nil {
		return err
	}
	if st != "" {
		return fmt.Errorf("%w: key %s of node %s was %s", errKeyRefused, mesh.Fingerprint(p.Key), p.NodeID, st)
	}
	return nil
}

func (r *Root) status() api.Status {
	return api.Status{
		NodeID:          r.id.NodeID,
		KeyFingerprint:  mesh.Fingerprint(r.id.Public()),
		SoftwareVersion: r.cfg.SoftwareVersion,
		ProtocolVersion: wire.ProtocolVersion,
		QUICAddress:     r.quic.Addr().String(),
	}
}

// QUICAddr and APIAddr return the bound addresses (useful with port 0).
func (r *Root) QUICAddr() net.Addr { return r.quic.Addr() }
func (r *Root) APIAddr() net.Addr  { return r.apiLn.Addr() }

// Identity returns the root's identity.
func (r *Root) Identity() *mesh.Identity { return r.id }

// Run serves until ctx ends, then stops both listeners and waits for them.
func (r *Root) Run(ctx context.Context) error {
	r.log.Info("root serving", "node", r.id.NodeID, "fingerprint", mesh.Fingerprint(r.id.Public()), "quic", r.quic.Addr().String(), "api", r.apiLn.Addr().String())
	if err := r.pol.start(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	if r.core != nil {
		wg.Add(2)
		go func() {
			defer wg.Done()
			r.watchCore(ctx)
		}()
		go func() {
			defer wg.Done()
			// Rotations move on by the clock: apply the keyring as it stands now.
			t := time.NewTicker(time.Minute)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					r.syncCoreKeys()
				}
			}
		}()
	}
	wg.Add(3)
	go func() {
		defer wg.Done()
		r.watch.run(ctx)
	}()
	go func() {
		defer wg.Done()
		if err := r.quic.Serve(ctx); err != nil && ctx.Err() == nil {
			errs <- fmt.Errorf("QUIC: %w", err)
		}
		cancel()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.db.Maintain(ctx, storeMaintenance)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.rep.run(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(seenFlushInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				if err := r.reg.flushSeen(); err != nil {
					r.log.Warn("last-seen times not recorded", "err", err)
				}
				return
			case <-t.C:
				if err := r.reg.flushSeen(); err != nil {
					r.log.Warn("last-seen times not recorded", "err", err)
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		err := r.apiSrv.ServeTLS(r.apiLn, "", "")
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("API: %w", err)
		}
		cancel()
	}()
	<-ctx.Done()
	shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_ = r.apiSrv.Shutdown(shutdown)
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// Close releases the listeners and the store. It is idempotent.
func (r *Root) Close() error {
	var err error
	r.closeMu.Do(func() {
		_ = r.apiSrv.Close()
		if r.core != nil {
			lctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = r.core.Leave(lctx)
			cancel()
			_ = r.core.Close()
		}
		err = errors.Join(r.quic.Close(), r.db.Close())
	})
	return err
}
