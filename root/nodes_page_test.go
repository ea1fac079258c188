package root

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/compliance"
	"github.com/bosun-io/bosun/wire"
)

// getCode answers a GET's status and body, whatever the status.
func getCode(t *testing.T, r *testRoot, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.api.BaseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.init.AdminToken)
	resp, err := r.api.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func getJSON(t *testing.T, r *testRoot, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(getRaw(t, r, path), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func hostnamesOf(nodes []api.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Hostname)
	}
	return out
}

// TestNodePages checks the pages of GET /api/v1/nodes and /api/v1/compliance/nodes, their
// totals, sorts and filters, the refusal of bad limits and offsets, and GET
// /api/v1/nodes/counts as the registry's nodes change.
func TestNodePages(t *testing.T) {
	r := startRoot(t, time.Now)
	ctx := context.Background()
	if _, err := r.api.Apply(ctx, api.ApplyRequest{Files: []api.File{{Name: "m.yml", Content: reportsModel}}}); err != nil {
		t.Fatal(err)
	}
	var accepted []*testNode
	for range 3 {
		accepted = append(accepted, acceptedNode(t, r))
	}
	// Seven pending nodes, enrolled in an order their hostnames do not follow.
	var pending []string
	for _, i := range []int{4, 0, 6, 2, 5, 1, 3} {
		pub, _, _ := ed25519.GenerateKey(nil)
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		stub := wire.EnrolStub{NodeID: id, Hostname: fmt.Sprintf("Pend-%02d", i), OS: "Debian 12", Role: wire.RoleAgent, Time: time.Now().UTC(), Key: pub}
		if _, err := r.reg.enrol(stub, nil); err != nil {
			t.Fatal(err)
		}
		pending = append(pending, id)
	}
	const all = 10

	// Without the new parameters, the answer is the one the CLI always had: no total.
	code, body := getCode(t, r, "/api/v1/nodes")
	if code != http.StatusOK || strings.Contains(string(body), `"total"`) {
		t.Fatalf("GET /api/v1/nodes: HTTP %d, total in %s; want 200 without total", code, body)
	}
	var full api.NodeList
	getJSON(t, r, "/api/v1/nodes", &full)
	if len(full.Nodes) != all {
		t.Fatalf("GET /api/v1/nodes: %d nodes, want %d", len(full.Nodes), all)
	}

	for _, tt := range []struct {
		query     string
		from, to  int // the slice of the full list the page must be
		wantTotal int
	}{
		{"limit=3", 0, 3, all},
		{"limit=3&offset=3", 3, 6, all},
		{"limit=4&offset=8", 8, 10, all},
		{"offset=9", 9, 10, all}, // offset alone: limit 1000
		{"limit=5&offset=10", 10, 10, all},
		{"limit=5&offset=1000", 10, 10, all},
		{"limit=1000", 0, 10, all},
	} {
		var l api.NodeList
		getJSON(t, r, "/api/v1/nodes?"+tt.query, &l)
		if got, want := hostnamesOf(l.Nodes), hostnamesOf(full.Nodes[tt.from:tt.to]); !slices.Equal(got, want) || l.Total == nil || *l.Total != tt.wantTotal {
			t.Errorf("GET /api/v1/nodes?%s: got %q total %v, want %q total %d", tt.query, got, l.Total, want, tt.wantTotal)
		}
		if l.Nodes == nil {
			t.Errorf("GET /api/v1/nodes?%s: nodes null, want a list", tt.query)
		}
	}
	for _, path := range []string{
		"/api/v1/nodes?limit=0", "/api/v1/nodes?limit=1001", "/api/v1/nodes?limit=-1", "/api/v1/nodes?limit=ten", "/api/v1/nodes?offset=-1",
		"/api/v1/compliance/nodes?limit=0", "/api/v1/compliance/nodes?limit=5000", "/api/v1/compliance/nodes?offset=x", "/api/v1/compliance/nodes?sort=worst",
	} {
		code, body := getCode(t, r, path)
		var e api.Error
		_ = json.Unmarshal(body, &e)
		if code != http.StatusBadRequest || e.Err.Code != api.CodeBadRequest || e.Err.Message == "" {
			t.Errorf("GET %s: HTTP %d %s; want 400 bad_request saying what is wrong", path, code, body)
		}
	}

	// Filters: hostname (part, any case), status, node=.
	var l api.NodeList
	getJSON(t, r, "/api/v1/nodes?hostname=pEND-0&limit=50", &l)
	if want := []string{"Pend-00", "Pend-01", "Pend-02", "Pend-03", "Pend-04", "Pend-05", "Pend-06"}; !slices.Equal(hostnamesOf(l.Nodes), want) || *l.Total != 7 {
		t.Errorf("hostname=pEND-0: got %q total %d, want %q", hostnamesOf(l.Nodes), *l.Total, want)
	}
	l = api.NodeList{}
	getJSON(t, r, "/api/v1/nodes?status=accepted&limit=2", &l)
	if len(l.Nodes) != 2 || *l.Total != 3 || l.Nodes[0].Status != api.StatusAccepted {
		t.Errorf("status=accepted&limit=2: got %d nodes total %v, want 2 of 3 accepted", len(l.Nodes), l.Total)
	}
	l = api.NodeList{}
	getJSON(t, r, "/api/v1/nodes?node="+pending[0]+"&node="+pending[1]+"&node=no-such-node", &l)
	if want := []string{"Pend-00", "Pend-04"}; !slices.Equal(hostnamesOf(l.Nodes), want) || l.Total != nil {
		t.Errorf("node=…: got %q total %v, want %q by hostname without total", hostnamesOf(l.Nodes), l.Total, want)
	}

	// Counts, kept up to date as statuses change.
	var c api.NodeCounts
	getJSON(t, r, "/api/v1/nodes/counts", &c)
	if c.Total != all || c.ByStatus[api.StatusPending] != 7 || c.ByStatus[api.StatusAccepted] != 3 {
		t.Errorf("counts: %+v, want 10: 7 pending, 3 accepted", c)
	}
	if _, err := r.api.SetStatus(ctx, pending[0], api.StatusAccepted); err != nil {
		t.Fatal(err)
	}
	if _, err := r.api.SetStatus(ctx, pending[1], api.StatusRefused); err != nil {
		t.Fatal(err)
	}
	c = api.NodeCounts{}
	getJSON(t, r, "/api/v1/nodes/counts", &c)
	if c.Total != all || c.ByStatus[api.StatusPending] != 5 || c.ByStatus[api.StatusAccepted] != 4 || c.ByStatus[api.StatusRefused] != 1 {
		t.Errorf("counts after accepting one and refusing one: %+v, want 5 pending, 4 accepted, 1 refused", c)
	}
	if _, ok := c.ByStatus[api.StatusDeleted]; ok {
		t.Errorf("counts: a status without nodes is listed: %+v", c)
	}

	// Compliance: the four accepted nodes have a policy; one reports a non-compliant result.
	eventually(t, 10*time.Second, "four nodes with a policy", func() bool { return len(r.rep.eng.Nodes(time.Now())) == 4 })
	cfg, _ := r.rep.eng.ConfigID(accepted[0].id.NodeID)
	now := time.Now().UTC()
	rep := accepted[0].report(t, wire.ReportBody{ConfigID: cfg, RunID: 1, Start: now.Add(-time.Second), End: now, ReportingMode: wire.ReportingFull,
		Results: []wire.ComponentResult{{Index: 0, Status: wire.StatusAuditNonCompliant, Message: "not installed"}}})
	if ack, err := accepted[0].exchange(t, r, rep); err != nil || ack.Status != wire.AckOK {
		t.Fatalf("report: %v %+v", err, ack)
	}
	// The second reports every component compliant.
	ap, err := r.pol.appliedPolicy(accepted[1].id.NodeID)
	if err != nil || ap == nil {
		t.Fatalf("policy: %v", err)
	}
	var okResults []wire.ComponentResult
	for i := range ap.Components {
		okResults = append(okResults, wire.ComponentResult{Index: uint32(i), Status: wire.StatusAuditCompliant})
	}
	rep = accepted[1].report(t, wire.ReportBody{ConfigID: ap.ConfigID, RunID: 1, Start: now.Add(-time.Second), End: now, ReportingMode: wire.ReportingFull, Results: okResults})
	if ack, err := accepted[1].exchange(t, r, rep); err != nil || ack.Status != wire.AckOK {
		t.Fatalf("report: %v %+v", err, ack)
	}
	code, body = getCode(t, r, "/api/v1/compliance/nodes")
	var top map[string]json.RawMessage
	_ = json.Unmarshal(body, &top)
	if _, ok := top["total"]; code != http.StatusOK || ok {
		t.Errorf("GET /api/v1/compliance/nodes: HTTP %d, total in the answer; want the CLI's answer unchanged", code)
	}
	var cl api.ComplianceNodeList
	getJSON(t, r, "/api/v1/compliance/nodes?sort=hostname", &cl)
	var hosts []string
	for _, n := range cl.Nodes {
		hosts = append(hosts, n.Hostname)
	}
	if len(hosts) != 4 || !slices.IsSorted(hosts) || cl.Total == nil || *cl.Total != 4 {
		t.Fatalf("sort=hostname: got %q total %v, want 4 hostnames in order", hosts, cl.Total)
	}
	for _, tt := range []struct{ query string }{{"sort=hostname&limit=2"}, {"sort=hostname&limit=2&offset=2"}, {"sort=hostname&offset=3"}, {"sort=hostname&limit=2&offset=4"}} {
		var p api.ComplianceNodeList
		getJSON(t, r, "/api/v1/compliance/nodes?"+tt.query, &p)
		var got []string
		for _, n := range p.Nodes {
			got = append(got, n.Hostname)
		}
		var off, lim int
		for _, kv := range strings.Split(tt.query, "&") {
			fmt.Sscanf(kv, "offset=%d", &off)
			fmt.Sscanf(kv, "limit=%d", &lim)
		}
		if lim == 0 {
			lim = 1000
		}
		if want := hosts[min(off, 4):min(off+lim, 4)]; !slices.Equal(got, want) || *p.Total != 4 {
			t.Errorf("%s: got %q total %d, want %q total 4", tt.query, got, *p.Total, want)
		}
	}
	pcts := func(q string) ([]float64, []string) {
		var p api.ComplianceNodeList
		getJSON(t, r, "/api/v1/compliance/nodes?"+q, &p)
		var out []float64
		var ids []string
		for _, n := range p.Nodes {
			v := -1.0 // nothing counted
			if n.Compliance != nil {
				v = *n.Compliance
			}
			out = append(out, v)
			ids = append(ids, n.NodeID)
		}
		return out, ids
	}
	asc, ascIDs := pcts("sort=compliance")
	desc, _ := pcts("sort=-compliance")
	if len(asc) != 4 || len(desc) != 4 {
		t.Fatalf("sort=compliance: %v, -compliance: %v; want 4 nodes each", asc, desc)
	}
	t.Logf("sort=compliance: %v; -compliance: %v", asc, desc)
	counted := func(v []float64) []float64 {
		return slices.DeleteFunc(slices.Clone(v), func(x float64) bool { return x < 0 })
	}
	if a := counted(asc); !slices.IsSorted(a) || slices.Index(asc, -1) >= 0 && slices.IndexFunc(asc[slices.Index(asc, -1):], func(x float64) bool { return x >= 0 }) >= 0 {
		t.Errorf("sort=compliance: %v, want lowest first and nothing counted last", asc)
	}
	if d := counted(desc); !slices.IsSortedFunc(d, func(a, b float64) int { return -cmpFloat(a, b) }) {
		t.Errorf("sort=-compliance: %v, want highest first", desc)
	}
	if asc[slices.Index(ascIDs, accepted[1].id.NodeID)] != 100 {
		t.Errorf("sort=compliance: %v %v, want the compliant node at 100 %%", asc, ascIDs)
	}
	if slices.Index(ascIDs, accepted[0].id.NodeID) > slices.Index(ascIDs, accepted[1].id.NodeID) {
		t.Errorf("sort=compliance: %v, want the non-compliant node before the compliant one", ascIDs)
	}
	var worst api.ComplianceNodeList
	getJSON(t, r, "/api/v1/compliance/nodes?sort=-score&limit=2", &worst)
	if len(worst.Nodes) != 2 || *worst.Total != 4 || worst.Nodes[0].Score.Score < worst.Nodes[1].Score.Score && worst.Nodes[1].Score.Score != "-" {
		t.Errorf("sort=-score&limit=2: %+v, want the 2 worst scores of 4", worst.Nodes)
	}
	var one api.ComplianceNodeList
	getJSON(t, r, "/api/v1/compliance/nodes?node="+accepted[1].id.NodeID+"&node="+pending[1], &one)
	if len(one.Nodes) != 1 || one.Nodes[0].NodeID != accepted[1].id.NodeID || one.Nodes[0].Hostname == "" || one.Nodes[0].Score.Score == "" {
		t.Errorf("node=…: %+v, want the one node with a policy, its hostname and score", one.Nodes)
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestSmallest checks the selection of a page near the top against a full sort.
func TestSmallest(t *testing.T) {
	rows := make([]*complianceRow, 200)
	for i := range rows {
		rows[i] = &complianceRow{hostname: fmt.Sprintf("h%03d", (i*37)%50), sum: &compliance.NodeSummary{ID: fmt.Sprintf("n%03d", i)}}
	}
	order := func(a, b *complianceRow) int {
		if c := strings.Compare(a.hostname, b.hostname); c != 0 {
			return c
		}
		return strings.Compare(a.sum.ID, b.sum.ID)
	}
	all := slices.Clone(rows)
	slices.SortFunc(all, order)
	for _, k := range []int{0, 1, 7, 24, 199, 200, 300} {
		got := smallest(slices.Clone(rows), k, order)
		if want := all[:min(k, len(all))]; !slices.Equal(got, want) {
			t.Errorf("smallest %d: got %d rows, not the first %d of the sorted list", k, len(got), len(want))
		}
	}
}

// TestNodeCountsFollowBatches: a batch of acceptances (POST /api/v1/nodes/batch) moves the
// index's counts and names like one node's acceptance does.
func TestNodeCountsFollowBatches(t *testing.T) {
	r := startRoot(t, time.Now)
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		pub, _, _ := ed25519.GenerateKey(nil)
		id := fmt.Sprintf("00000000-0000-4000-9000-%012d", i)
		stub := wire.EnrolStub{NodeID: id, Hostname: fmt.Sprintf("batch-%02d", i), OS: "Debian 12", Role: wire.RoleAgent, Time: time.Now().UTC(), Key: pub}
		if _, err := r.reg.enrol(stub, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var c api.NodeCounts
	getJSON(t, r, "/api/v1/nodes/counts", &c) // loads the index before the batch
	if c.ByStatus[api.StatusPending] != 5 {
		t.Fatalf("before the batch: %v pending, want 5", c.ByStatus)
	}
	res, err := r.api.SetStatusMany(ctx, api.StatusAccepted, ids[:3])
	if err != nil || res.Changed != 3 {
		t.Fatalf("batch: %+v, %v; want 3 changed", res, err)
	}
	c = api.NodeCounts{}
	getJSON(t, r, "/api/v1/nodes/counts", &c)
	if c.ByStatus[api.StatusAccepted] != 3 || c.ByStatus[api.StatusPending] != 2 {
		t.Fatalf("after the batch: %v; want 3 accepted, 2 pending", c.ByStatus)
	}
}
