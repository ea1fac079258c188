package root

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// BenchmarkDashboardRequests measures, with 100,000 accepted nodes in the registry and in the
// compliance engine (-short: 2,000), each request the dashboard's views make on a refresh,
// through the API's HTTPS listener: the overview's (fleet compliance, node counts, the 10
// least compliant nodes and their records) and a page of #/nodes, and for comparison the
// whole-fleet lists the page asked for before (GET /api/v1/nodes, /api/v1/compliance/nodes).
// It reports the answer's size as B/answer.
func BenchmarkDashboardRequests(b *testing.B) {
	loaded := 100_000
	if testing.Short() {
		loaded = 2_000
	}
	r := benchFleet(b, loaded)
	get := func(b *testing.B, path string) int {
		req, _ := http.NewRequest(http.MethodGet, r.api.BaseURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+r.init.AdminToken)
		resp, err := r.api.HTTP.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: HTTP %d", path, resp.StatusCode)
		}
		return int(n)
	}
	var ten []string
	for i := range 10 {
		ten = append(ten, "node="+benchNodeID(i*977))
	}
	for _, bc := range []struct{ name, path string }{
		{"overview/compliance", "/api/v1/compliance"},
		{"overview/nodes-counts", "/api/v1/nodes/counts"},
		{"overview/compliance-nodes-worst10", "/api/v1/compliance/nodes?sort=compliance&limit=10"},
		{"overview/nodes-named10", "/api/v1/nodes?" + strings.Join(ten, "&")},
		{"nodes-page/by-compliance", "/api/v1/compliance/nodes?sort=compliance&limit=50&offset=500"},
		{"nodes-page/by-hostname", "/api/v1/nodes?limit=50&offset=500"},
		{"nodes-page/hostname-filter", "/api/v1/nodes?limit=50&hostname=bench-0042"},
		{"nodes-page/by-score", "/api/v1/compliance/nodes?sort=-score&limit=50"},
		{"whole-fleet/nodes", "/api/v1/nodes"},
		{"whole-fleet/compliance-nodes", "/api/v1/compliance/nodes"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			size := get(b, bc.path) // the first use loads the registry's index: not timed
			for b.Loop() {
				size = get(b, bc.path)
			}
			b.ReportMetric(float64(size), "B/answer")
		})
	}
}

func benchNodeID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// benchFleet starts a root whose registry holds n accepted agents (written in batches, as
// enrolment and acceptance would leave them) and whose compliance engine holds a policy for
// each (copies of the first node's).
func benchFleet(b *testing.B, n int) *testRoot {
	b.Helper()
	r := startRootWith(b, nil)
	ctx := context.Background()
	if _, err := r.pol.change("bench", "model", applyYAML(reportsModel)); err != nil {
		b.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	stub := wire.EnrolStub{NodeID: benchNodeID(0), Hostname: "bench-000000", OS: "Debian 12", Role: wire.RoleAgent, Time: now, Key: pub}
	if _, err := r.reg.enrol(stub, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := r.reg.SetStatus(ctx, stub.NodeID, api.StatusAccepted, "bench"); err != nil {
		b.Fatal(err)
	}
	tmpl, err := r.pol.appliedPolicy(stub.NodeID)
	if err != nil || tmpl == nil {
		b.Fatalf("policy of %s: %v", stub.NodeID, err)
	}
	const batch = 1000
	for start := 1; start < n; start += batch {
		err := r.reg.db.Update(func(tx *store.Txn) error {
			for i := start; i < min(start+batch, n); i++ {
				pub, _, _ := ed25519.GenerateKey(nil)
				rec := nodeRecord{Key: pub}
				rec.ID, rec.Hostname, rec.OS, rec.Role = benchNodeID(i), fmt.Sprintf("bench-%06d", (i*7919)%n), "Debian 12", wire.RoleAgent.String()
				rec.Status, rec.FirstSeen, rec.StatusChanged, rec.LastSeen = api.StatusAccepted, now, now, now
				rec.KeyFingerprint, rec.PolicyServer = mesh.Fingerprint(pub), "root"
				if err := txPut(tx, rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := 1; i < n; i++ {
		p := *tmpl
		p.NodeID = benchNodeID(i)
		r.rep.eng.SetPolicy(&p, now)
	}
	r.api.HTTP.Timeout = time.Minute
	return r
}
