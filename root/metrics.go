package root

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/metrics"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/compliance"
	"github.com/bosun-io/bosun/root/policy"
)

// nodeCountsTTL is how long a count of the registry's nodes serves scrapes: counting reads
// every node record, which for 100,000 nodes is worth doing once per scrape interval, not
// once per scraper.
const nodeCountsTTL = 10 * time.Second

// directLink names, in bytes per link, the exchanges of peers that are not relays: the
// agents and operators' tools that talk to the root directly.
const directLink = "direct"

// rootMetrics is what the root counts as it works; everything else it exposes is read from
// where the root keeps it when Prometheus scrapes.
type rootMetrics struct {
	reg            *metrics.Registry
	reports        *metrics.Counter
	reportsRefused *metrics.Counter
	results        *metrics.Counter
	inventories    *metrics.Counter
	drifts         map[string]*metrics.Counter // by drift kind, all known in advance
	compile        *metrics.HistogramVec
	recompiled     *metrics.CounterVec
	api            *metrics.HistogramVec

	links  sync.Map // relay id → *linkBytes
	direct linkBytes

	countsMu sync.Mutex
	countsAt time.Time
	byStatus map[string]int
	byLive   map[string]int
}

type linkBytes struct{ received, sent atomic.Uint64 }

func newRootMetrics() *rootMetrics {
	reg := metrics.NewRegistry()
	m := &rootMetrics{
		reg:            reg,
		reports:        reg.Counter("bosun_root_reports_ingested_total", "Run reports taken and made durable."),
		reportsRefused: reg.Counter("bosun_root_reports_refused_total", "Run reports refused for good (bad signature, replay, unknown or unaccepted node)."),
		results:        reg.Counter("bosun_root_component_results_ingested_total", "Component results carried by the run reports taken."),
		inventories:    reg.Counter("bosun_root_inventories_ingested_total", "Inventories stored (sent by agents, over the API or dropped in the drop directory)."),
		compile:        reg.HistogramVec("bosun_root_policy_compile_duration_seconds", "Duration of policy compilation passes, full (every node) or incremental.", []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}, "kind"),
		recompiled:     reg.CounterVec("bosun_root_policy_nodes_recompiled_total", "Nodes compiled by policy compilation passes.", "kind"),
		api:            reg.HistogramVec("bosun_root_api_request_duration_seconds", "HTTPS API requests by route pattern and status code.", nil, "route", "code"),
		drifts:         map[string]*metrics.Counter{},
	}
	drifts := reg.CounterVec("bosun_root_drift_events_total", "Drift events fired (drift log line and hooks), by kind.", "kind")
	for _, k := range []string{"repaired", "non-compliant", "error"} {
		m.drifts[k] = drifts.With(k)
	}
	reg.Func(metrics.CounterKind, "bosun_root_link_bytes_total", "Application bytes exchanged over QUIC with each relay (peer=\"direct\": nodes without a relay), by direction.",
		[]string{"peer", "direction"}, func(emit metrics.Emit) {
			emit(float64(m.direct.received.Load()), directLink, "received")
			emit(float64(m.direct.sent.Load()), directLink, "sent")
			m.links.Range(func(k, v any) bool {
				l := v.(*linkBytes)
				emit(float64(l.received.Load()), k.(string), "received")
				emit(float64(l.sent.Load()), k.(string), "sent")
				return true
			})
		})
	return m
}

// drift counts one drift event; a kind the engine may add later is counted nowhere rather
// than adding a series on the hot path.
func (m *rootMetrics) drift(kind string) {
	if c := m.drifts[kind]; c != nil {
		c.Inc()
	}
}

// compiled records one compilation pass.
func (m *rootMetrics) compiled(kind string, st policy.Stats) {
	m.compile.With(kind).ObserveDuration(st.Elapsed)
	m.recompiled.With(kind).Add(st.Compiled)
}

// relay makes the peer's exchanges count as its own link from now on; only relays proven
// by the registry are named, so a link label is never a node's id.
func (m *rootMetrics) relay(id string) {
	if _, ok := m.links.Load(id); !ok {
		m.links.LoadOrStore(id, &linkBytes{})
	}
}

// traffic is the QUIC server's hook: an atomic add per exchange.
func (m *rootMetrics) traffic(p mesh.Peer, received, sent int) {
	l := &m.direct
	if v, ok := m.links.Load(p.NodeID); ok {
		l = v.(*linkBytes)
	}
	l.received.Add(uint64(received))
	l.sent.Add(uint64(sent))
}

// instrument times every API request by the pattern it matched, never by its path, so that
// node ids in paths do not become series.
func (m *rootMetrics) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, req)
		route := req.Pattern // set by the ServeMux on this request
		if route == "" {
			route = "unmatched"
		}
		m.api.With(route, strconv.Itoa(sw.code)).ObserveDuration(time.Since(start))
	})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// registerFigures registers what the root already holds, read at scrape time.
func (r *Root) registerFigures() {
	reg := r.metrics.reg
	reg.Func(metrics.Gauge, "bosun_root_nodes", "Registered nodes by status.", []string{"status"}, func(emit metrics.Emit) {
		byStatus, _ := r.nodeCounts()
		for _, s := range []string{api.StatusPending, api.StatusAccepted, api.StatusRefused, api.StatusDeleted} {
			emit(float64(byStatus[s]), s)
		}
	})
	reg.Func(metrics.Gauge, "bosun_root_nodes_liveness", "Registered nodes by what gossip last said of them (unknown: never heard of in gossip).", []string{"liveness"}, func(emit metrics.Emit) {
		_, byLive := r.nodeCounts()
		for _, s := range []string{"alive", "suspect", "dead", "left", "unknown"} {
			emit(float64(byLive[s]), s)
		}
	})
	// One read of the engine per scrape for the four families: it holds the lock that
	// ingestion needs.
	reg.Funcs([]metrics.Family{
		{Kind: metrics.Gauge, Name: "bosun_root_rule_compliance_ratio", Help: "Share of the nodes a rule applies to where every directive of it is compliant (0 to 1).", Labels: []string{"rule"}},
		{Kind: metrics.Gauge, Name: "bosun_root_rule_component_compliance_ratio", Help: "Share of a rule's counted components that are compliant (0 to 1).", Labels: []string{"rule"}},
		{Kind: metrics.Gauge, Name: "bosun_root_compliance_ratio", Help: "The fleet's compliance: share of counted components that are compliant (0 to 1)."},
		{Kind: metrics.Gauge, Name: "bosun_root_compliance_components", Help: "The fleet's components by compliance state.", Labels: []string{"state"}},
	}, func(emit metrics.EmitTo) {
		rules, fleet := r.rep.eng.Totals(r.cfg.Now())
		for _, s := range rules {
			if p, ok := s.NodeCompliance(); ok {
				emit(0, p/100, s.ID)
			}
			if p, ok := s.Counts.Compliance(); ok {
				emit(1, p/100, s.ID)
			}
		}
		if p, ok := fleet.Compliance(); ok {
			emit(2, p/100)
		}
		for _, s := range compliance.States() {
			if s != compliance.StateNone {
				emit(3, float64(fleet[s]), s.String())
			}
		}
	})
	reg.Value(metrics.Gauge, "bosun_root_inventory_queue_items", "Inventories being ingested.", func() float64 { return float64(r.ingestQ.status().QueueFillCount) })
	reg.Value(metrics.Gauge, "bosun_root_inventory_queue_capacity_items", "Inventories that may be ingested at once; past it senders are told to retry later.", func() float64 { return float64(r.ingestQ.status().QueueMaxSize) })
	reg.Value(metrics.Gauge, "bosun_root_inventory_queue_oldest_age_seconds", "Age of the inventory ingested the longest; 0 when none.", func() float64 { return r.ingestQ.oldestAge().Seconds() })
	reg.Func(metrics.Gauge, "bosun_root_gossip_members", "Members of the gossip pools by state: the core pool (relays and the root) as the root sees it, each zone as its relays report it.", []string{"pool", "state"}, func(emit metrics.Emit) {
		counts := r.members.countByZoneState(coreZone)
		if r.core != nil {
			core := map[string]int{}
			for s, n := range r.core.CountByState() {
				core[s.String()] = n
			}
			counts[coreZone] = core
		}
		for zone, states := range counts {
			for _, s := range mesh.MemberStates {
				emit(float64(states[s.String()]), zone, s.String())
			}
		}
	})
}

// nodeCounts counts the registry's nodes by status and by liveness, at most once per
// nodeCountsTTL.
func (r *Root) nodeCounts() (byStatus, byLive map[string]int) {
	m := r.metrics
	m.countsMu.Lock()
	defer m.countsMu.Unlock()
	if now := time.Now(); m.byStatus == nil || now.Sub(m.countsAt) >= nodeCountsTTL {
		s, l, err := r.reg.counts()
		if err != nil {
			r.log.Warn("nodes not counted for metrics", "err", err)
			return m.byStatus, m.byLive
		}
		m.byStatus, m.byLive, m.countsAt = s, l, now
	}
	return m.byStatus, m.byLive
}

// metricsRoutes serves the Prometheus exposition to any valid API token: a scraper needs no
// more than read-only.
func (r *Root) metricsRoutes(route api.RouteFunc, _ api.PublicFunc) {
	h := r.metrics.reg.Handler()
	route("GET /metrics", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		h.ServeHTTP(w, req)
	})
}
