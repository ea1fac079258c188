package root

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/metrics"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/wire"
)

// scrape fetches the root's /metrics as Prometheus would, with token.
func (r *testRoot) scrape(t *testing.T, token string) metrics.Samples {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, _, err := metrics.Scrape(ctx, r.api.HTTP, r.api.BaseURL+"/metrics", token)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMetrics(t *testing.T) {
	r := startRoot(t, nil)
	ctx := context.Background()
	created, err := r.api.CreateToken(ctx, api.TokenRequest{Name: "prometheus", Role: api.RoleReadOnly.String()})
	if err != nil {
		t.Fatal(err)
	}
	ro := created.Secret

	for _, bad := range []string{"", "not-a-token"} {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, code, _ := metrics.Scrape(sctx, r.api.HTTP, r.api.BaseURL+"/metrics", bad)
		cancel()
		if code != http.StatusUnauthorized {
			t.Errorf("token %q: got status %d, want 401", bad, code)
		}
	}

	if _, err := r.api.Apply(ctx, api.ApplyRequest{Files: []api.File{{Name: "m.yml", Content: reportsModel}}}); err != nil {
		t.Fatal(err)
	}
	node := acceptedNode(t, r)
	var cfg string
	eventually(t, 10*time.Second, "the node's policy", func() bool {
		cfg, _ = r.rep.eng.ConfigID(node.id.NodeID)
		return cfg != ""
	})

	s := r.scrape(t, ro)
	for _, w := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bosun_root_nodes", []string{"status", "accepted"}, 1},
		{"bosun_root_nodes", []string{"status", "pending"}, 0},
		{"bosun_root_nodes_liveness", []string{"liveness", "unknown"}, 1},
		{"bosun_root_reports_ingested_total", nil, 0},
		{"bosun_root_inventory_queue_items", nil, 0},
		{"bosun_root_inventory_queue_capacity_items", nil, 64},
		{"bosun_root_api_request_duration_seconds_count", []string{"route", "POST /api/v1/nodes/{id}/accept", "code", "200"}, 1},
	} {
		if got, ok := s.Get(w.name, w.labels...); !ok || got != w.want {
			t.Errorf("before the report: %s%v: got %v (present %v), want %v", w.name, w.labels, got, ok, w.want)
		}
	}
	if n := s.Value("bosun_root_policy_compile_duration_seconds_count", "kind", "incremental"); n < 1 {
		t.Errorf("incremental compilations: got %v, want at least the node's acceptance", n)
	}
	if n := s.Value("bosun_root_policy_nodes_recompiled_total", "kind", "incremental"); n < 1 {
		t.Errorf("nodes recompiled: got %v, want at least 1", n)
	}
	// The QUIC server counts an exchange once its reply is written, which may be just after
	// the node read it.
	eventually(t, 10*time.Second, "bytes of the direct node's exchanges", func() bool {
		s := r.scrape(t, ro)
		return s.Value("bosun_root_link_bytes_total", "peer", "direct", "direction", "received") > 0 &&
			s.Value("bosun_root_link_bytes_total", "peer", "direct", "direction", "sent") > 0
	})

	now := time.Now().UTC()
	body := wire.ReportBody{ConfigID: cfg, RunID: 1, Start: now.Add(-2 * time.Second), End: now, ReportingMode: wire.ReportingFull,
		Results: []wire.ComponentResult{{Index: 0, Status: wire.StatusAuditNonCompliant, Message: "package openssh-server is not installed"}}}
	if ack, err := node.exchange(t, r, node.report(t, body)); err != nil || ack.Status != wire.AckOK {
		t.Fatalf("report: %v %+v", err, ack)
	}
	if ack, err := node.exchange(t, r, node.report(t, body)); err != nil || ack.Status != wire.AckRejected {
		t.Fatalf("replayed report: got %v %+v, want rejected", err, ack)
	}
	// The queue holds an inventory being ingested.
	release, ok := r.ingestQ.tryAcquire()
	if !ok {
		t.Fatal("inventory queue busy")
	}
	s = r.scrape(t, ro)
	release()
	for _, w := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"bosun_root_reports_ingested_total", nil, 1},
		{"bosun_root_reports_refused_total", nil, 1},
		{"bosun_root_component_results_ingested_total", nil, 1},
		{"bosun_root_drift_events_total", []string{"kind", "non-compliant"}, 1},
		{"bosun_root_drift_events_total", []string{"kind", "error"}, 0},
		{"bosun_root_rule_compliance_ratio", []string{"rule", "r-base"}, 0},
		{"bosun_root_rule_component_compliance_ratio", []string{"rule", "r-base"}, 0},
		{"bosun_root_compliance_ratio", nil, 0},
		{"bosun_root_compliance_components", []string{"state", "non-compliant"}, 1},
		{"bosun_root_inventory_queue_items", nil, 1},
	} {
		if got, ok := s.Get(w.name, w.labels...); !ok || got != w.want {
			t.Errorf("after the report: %s%v: got %v (present %v), want %v", w.name, w.labels, got, ok, w.want)
		}
	}
	if _, ok := s.Get("bosun_root_inventory_queue_oldest_age_seconds"); !ok {
		t.Error("no oldest inventory age")
	}
	if _, ok := s.Get("process_resident_memory_bytes"); !ok {
		t.Error("no process collector")
	}

	// A fleet of 100,000 nodes must not make 100,000 series.
	for k := range s {
		if strings.Contains(k, node.id.NodeID) {
			t.Errorf("sample %s names a node", k)
		}
	}

	problems, err := r.metrics.reg.Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s", p)
	}
}

// The core pool's members show by state: a root alone in its pool sees itself alive.
func TestMetricsCorePool(t *testing.T) {
	r := startRootWith(t, func(c *Config) { c.GossipListen, c.GossipProfile = "127.0.0.1:0", mesh.ProfileLocal })
	eventually(t, 10*time.Second, "the root alive in its core pool", func() bool {
		return r.scrape(t, r.init.AdminToken).Value("bosun_root_gossip_members", "pool", coreZone, "state", "alive") == 1
	})
}
