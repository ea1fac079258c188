package root

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/compliance"
)

// Sort orders of GET /api/v1/compliance/nodes?sort=; a leading "-" reverses each.
//   - hostname: by hostname, then node ID.
//   - compliance: lowest compliance percentage first (nodes with nothing counted last).
//   - score: best score first (A … F, nodes without a score last); -score is worst first.
var complianceSorts = []string{"hostname", "compliance", "score"}

// complianceRow is one node of the list while it is filtered, sorted and paged.
type complianceRow struct {
	sum        *compliance.NodeSummary
	hostname   string
	entry      indexEntry
	registered bool
	pct        float64
	counted    bool
	score      *api.ComplianceScore
}

// listNodeCompliance answers GET /api/v1/compliance/nodes: every node's compliance and
// score, or, with sort=, hostname=, limit= or offset=, the page asked for and the total. The
// engine's lock is held only to copy the nodes' summaries; the hostnames come from the
// registry's index; filtering, sorting and scoring happen outside both locks, and scores are
// computed only for the page (every matching node's with sort=score).
func (r *Root) listNodeCompliance(w http.ResponseWriter, req *http.Request, _ api.Principal) {
	q := req.URL.Query()
	offset, limit, paged, err := api.ParsePage(q)
	if err != nil {
		api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, err.Error())
		return
	}
	sortBy := q.Get("sort")
	desc := strings.HasPrefix(sortBy, "-")
	if key := strings.TrimPrefix(sortBy, "-"); sortBy != "" && !slices.Contains(complianceSorts, key) {
		api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf("sort=%q: want hostname, compliance or score, with a leading - to reverse", sortBy))
		return
	}
	host := strings.ToLower(q.Get("hostname"))
	ids := q["node"]

	r.scores.refreshFeed()
	sums := r.rep.eng.Nodes(r.cfg.Now())
	rows := make([]complianceRow, len(sums))
	_ = r.reg.indexed(func(byID map[string]indexEntry, _ map[string]int) {
		for i := range sums {
			e, ok := byID[sums[i].ID]
			rows[i] = complianceRow{sum: &sums[i], hostname: e.hostname, entry: e, registered: ok}
		}
	})
	if host != "" || len(ids) > 0 {
		named := make(map[string]bool, len(ids))
		for _, id := range ids {
			named[id] = true
		}
		rows = slices.DeleteFunc(rows, func(row complianceRow) bool {
			return (len(ids) > 0 && !named[row.sum.ID]) || (host != "" && !strings.Contains(strings.ToLower(row.hostname), host))
		})
	}
	byHost := func(a, b *complianceRow) int {
		return cmp.Or(strings.Compare(a.hostname, b.hostname), strings.Compare(a.sum.ID, b.sum.ID))
	}
	var order func(a, b *complianceRow) int
	switch strings.TrimPrefix(sortBy, "-") {
	case "hostname":
		order = byHost
	case "compliance":
		for i := range rows {
			rows[i].pct, rows[i].counted = rows[i].sum.Counts.Ratio()
		}
		order = func(a, b *complianceRow) int {
			if a.counted != b.counted { // nothing counted: last either way
				if a.counted {
					return -1
				}
				return 1
			}
			c := cmp.Compare(a.pct, b.pct)
			if desc {
				c = -c
			}
			return cmp.Or(c, byHost(a, b))
		}
	case "score":
		for i := range rows {
			s := r.scoreWith(rows[i].sum, rows[i].entry, rows[i].registered)
			rows[i].score = &s
		}
		grade := func(s string) int { // A..F, then "-" (nothing to grade)
			if len(s) == 1 && s[0] >= 'A' && s[0] <= 'F' {
				return int(s[0])
			}
			return 'Z'
		}
		order = func(a, b *complianceRow) int {
			ga, gb := grade(a.score.Score), grade(b.score.Score)
			if (ga == 'Z') != (gb == 'Z') {
				return cmp.Compare(ga, gb)
			}
			c := cmp.Compare(ga, gb)
			if desc {
				c = -c
			}
			return cmp.Or(c, byHost(a, b))
		}
	}
	total := len(rows)
	sorted := make([]*complianceRow, len(rows))
	for i := range rows {
		sorted[i] = &rows[i]
	}
	if order != nil {
		if sortBy == "-hostname" {
			order = func(a, b *complianceRow) int { return byHost(b, a) }
		}
		if keep := offset + limit; paged && keep < len(sorted)/8 {
			sorted = smallest(sorted, keep, order)
		} else {
			slices.SortFunc(sorted, order)
		}
	}
	if paged {
		sorted = sorted[min(offset, len(sorted)):min(offset+limit, len(sorted))]
	}
	out := api.ComplianceNodeList{SchemaVersion: api.SchemaVersion, Nodes: make([]api.ComplianceNode, 0, len(sorted))}
	for _, row := range sorted {
		cn := nodeOf(row.sum)
		cn.Hostname = row.hostname
		if row.score != nil {
			cn.Score = *row.score
		} else {
			cn.Score = r.scoreWith(row.sum, row.entry, row.registered)
		}
		out.Nodes = append(out.Nodes, cn)
	}
	if paged || sortBy != "" || host != "" || len(ids) > 0 {
		out.Total = &total
	}
	api.Reply(w, out)
}

// smallest returns the k first rows in order, sorted: a page near the top of a long list
// (the overview's 10, the first pages of #/nodes) costs one comparison for most rows instead
// of a sort of them all.
func smallest(rows []*complianceRow, k int, order func(a, b *complianceRow) int) []*complianceRow {
	if k <= 0 {
		return nil
	}
	top := make([]*complianceRow, 0, k+1)
	for _, row := range rows {
		if len(top) == k && order(row, top[k-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, row, order)
		top = slices.Insert(top, i, row)
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}

// nodeCountRoutes serves GET /api/v1/nodes/counts: the registry's nodes by status (from its
// index, no scan of the store) and by liveness (one lookup in the gossip table per node).
func (r *Root) nodeCountRoutes(route api.RouteFunc, _ api.PublicFunc) {
	route("GET /api/v1/nodes/counts", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		byStatus, byLive, err := r.reg.counts()
		if err != nil {
			r.log.Error("nodes not counted", "err", err)
			api.Fail(w, http.StatusInternalServerError, api.CodeInternal, "internal error; see the root's log")
			return
		}
		out := api.NodeCounts{SchemaVersion: api.SchemaVersion, ByStatus: byStatus, ByLiveness: byLive}
		for _, n := range byStatus {
			out.Total += n
		}
		api.Reply(w, out)
	})
}
