package root

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/compliance"
	"github.com/bosun-io/bosun/wire"
)

// complianceRoutes serves compliance under /api/v1/compliance.
func (r *Root) complianceRoutes(route api.RouteFunc, _ api.PublicFunc) {
	route("GET /api/v1/compliance", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		now := r.cfg.Now()
		f := r.rep.eng.Fleet(now)
		out := api.ComplianceFleet{
			SchemaVersion: api.SchemaVersion, ComplianceCounts: countsOf(&f.Counts),
			Nodes: f.Nodes, NodesCompliant: f.NodesCompliant, NodesByWorst: map[string]int64{},
			Rules: summariesOf(r.rep.eng.Rules(now)),
		}
		for _, s := range compliance.States() {
			if f.NodesByWorst[s] != 0 {
				out.NodesByWorst[s.String()] = f.NodesByWorst[s]
			}
		}
		api.Reply(w, out)
	})
	route("GET /api/v1/compliance/rules", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		api.Reply(w, api.ComplianceList{SchemaVersion: api.SchemaVersion, Kind: "rule", Items: summariesOf(r.rep.eng.Rules(r.cfg.Now()))})
	})
	route("GET /api/v1/compliance/directives", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		api.Reply(w, api.ComplianceList{SchemaVersion: api.SchemaVersion, Kind: "directive", Items: summariesOf(r.rep.eng.Directives(r.cfg.Now()))})
	})
	route("GET /api/v1/compliance/rules/{id...}", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		f, ok := filterOf(w, req)
		if !ok {
			return
		}
		d, found := r.rep.eng.Rule(req.PathValue("id"), f, r.cfg.Now())
		if !found {
			api.Fail(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("rule %q applies to no node", req.PathValue("id")))
			return
		}
		out := api.ComplianceRuleDetail{SchemaVersion: api.SchemaVersion, Rule: summaryOf(&d.Summary), Directives: summariesOf(d.Directives)}
		out.Nodes = r.rowsOf(req, d.Nodes)
		api.Reply(w, out)
	})
	route("GET /api/v1/compliance/directives/{id...}", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		f, ok := filterOf(w, req)
		if !ok {
			return
		}
		d, found := r.rep.eng.Directive(req.PathValue("id"), f, r.cfg.Now())
		if !found {
			api.Fail(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("directive %q applies to no node", req.PathValue("id")))
			return
		}
		out := api.ComplianceDirectiveDetail{SchemaVersion: api.SchemaVersion, Directive: summaryOf(&d.Summary), Components: []api.ComplianceComponentSummary{}}
		for _, c := range d.Components {
			out.Components = append(out.Components, api.ComplianceComponentSummary{ID: c.ID, Name: c.Name, ComplianceCounts: countsOf(&c.Counts)})
		}
		out.Nodes = r.rowsOf(req, d.Nodes)
		api.Reply(w, out)
	})
	route("GET /api/v1/compliance/nodes", api.RoleReadOnly, r.listNodeCompliance)
	route("GET /api/v1/compliance/nodes/{id}", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		f, ok := filterOf(w, req)
		if !ok {
			return
		}
		id := req.PathValue("id")
		d, found := r.rep.eng.Node(id, r.cfg.Now())
		if !found {
			api.Fail(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("node %q has no applied policy", id))
			return
		}
		r.scores.refreshFeed()
		out := api.ComplianceNodeDetail{SchemaVersion: api.SchemaVersion, Node: nodeOf(&d.NodeSummary), Directives: []api.ComplianceNodeDirective{}, Components: []api.ComplianceComponent{}}
		out.Node.Score = r.scoreOf(&d.NodeSummary)
		if rec, err := r.reg.record(id); err == nil {
			out.Node.Hostname = rec.Hostname
		}
		for _, nd := range d.Directives {
			out.Directives = append(out.Directives, api.ComplianceNodeDirective{ID: nd.ID, Name: nd.Name, RuleID: nd.RuleID, RuleName: nd.RuleName,
				OverriddenRules: nd.OverriddenRules, Worst: nd.Worst.String(), ComplianceCounts: countsOf(&nd.Counts)})
		}
		// The reporting values live in the policy, not in the engine.
		var ap *wire.AppliedPolicy
		if p, err := r.pol.appliedPolicy(id); err == nil && p != nil && p.ConfigID == d.ConfigID {
			ap = p
		}
		filtered := len(f.States) > 0
		for _, c := range d.Components {
			if filtered && !containsState(f.States, c.State) {
				continue
			}
			cc := componentOf(&c)
			if ap != nil && c.Index < len(ap.Components) {
				cc.Value = ap.Components[c.Index].ReportingValue
			}
			out.Components = append(out.Components, cc)
		}
		api.Reply(w, out)
	})
	route("GET /api/v1/compliance/history/{kind}/{id...}", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		kind := map[string]string{"rules": "r", "nodes": "n"}[req.PathValue("kind")]
		if kind == "" {
			api.Fail(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("no compliance history of %q: want rules or nodes", req.PathValue("kind")))
			return
		}
		var since time.Time
		if s := req.URL.Query().Get("since"); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf("since=%q: want an RFC 3339 time", s))
				return
			}
			since = t
		}
		id := req.PathValue("id")
		points, changes, err := r.rep.history(kind, id, since)
		if err != nil {
			r.log.Error("compliance history failed", "id", id, "err", err)
			api.Fail(w, http.StatusInternalServerError, api.CodeInternal, "internal error; see the root's log")
			return
		}
		out := api.ComplianceHistory{SchemaVersion: api.SchemaVersion, Kind: strings.TrimSuffix(req.PathValue("kind"), "s"), ID: id, Points: points, Changes: changes}
		if out.Points == nil {
			out.Points = []api.CompliancePoint{}
		}
		api.Reply(w, out)
	})
}

func containsState(states []compliance.State, s compliance.State) bool {
	for _, x := range states {
		if x == s {
			return true
		}
	}
	return false
}

// filterOf reads ?state=a,b and ?components=all.
func filterOf(w http.ResponseWriter, req *http.Request) (compliance.Filter, bool) {
	var f compliance.Filter
	q := req.URL.Query()
	for _, s := range strings.Split(q.Get("state"), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		st, err := compliance.ParseState(s)
		if err != nil {
			api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, err.Error())
			return f, false
		}
		f.States = append(f.States, st)
	}
	f.All = q.Get("components") == "all"
	return f, true
}

func summaryOf(s *compliance.Summary) api.ComplianceSummary {
	out := api.ComplianceSummary{ID: s.ID, Name: s.Name, Nodes: s.Nodes, NodesCompliant: s.NodesCompliant, ComplianceCounts: countsOf(&s.Counts)}
	if p, ok := s.NodeCompliance(); ok {
		out.NodeCompliance = &p
	}
	return out
}

func summariesOf(ss []compliance.Summary) []api.ComplianceSummary {
	out := make([]api.ComplianceSummary, 0, len(ss))
	for i := range ss {
		out = append(out, summaryOf(&ss[i]))
	}
	return out
}

func componentOf(c *compliance.ComponentState) api.ComplianceComponent {
	return api.ComplianceComponent{Index: c.Index, ID: c.ID, Name: c.Name, DirectiveID: c.DirectiveID, DirectiveName: c.DirectiveName,
		RuleID: c.RuleID, RuleName: c.RuleName, Mode: c.Mode.String(), State: c.State.String(), Message: c.Message, Reported: c.Counted}
}

func nodeOf(n *compliance.NodeSummary) api.ComplianceNode {
	return api.ComplianceNode{NodeID: n.ID, ConfigID: n.ConfigID, Generated: n.Generated, ReportingMode: n.ReportingMode.String(),
		Worst: n.Worst.String(), ComplianceCounts: countsOf(&n.Counts), RunID: n.RunID, RunConfigID: n.RunConfigID,
		RunStart: n.RunStart, RunEnd: n.RunEnd, ForceAudit: n.ForceAudit}
}

// hostnames maps every registered node to its hostname, from the registry's index.
func (r *Root) hostnames(req *http.Request) map[string]string {
	names := map[string]string{}
	_ = r.reg.indexed(func(byID map[string]indexEntry, _ map[string]int) {
		names = make(map[string]string, len(byID))
		for id, e := range byID {
			names[id] = e.hostname
		}
	})
	return names
}

func (r *Root) rowsOf(req *http.Request, rows []compliance.NodeRow) []api.ComplianceNodeRow {
	out := make([]api.ComplianceNodeRow, 0, len(rows))
	if len(rows) == 0 {
		return out
	}
	names := r.hostnames(req)
	for _, row := range rows {
		ar := api.ComplianceNodeRow{NodeID: row.NodeID, Hostname: names[row.NodeID], Worst: row.Worst.String(), ComplianceCounts: countsOf(&row.Counts)}
		for i := range row.Components {
			ar.Components = append(ar.Components, componentOf(&row.Components[i]))
		}
		out = append(out, ar)
	}
	return out
}

func (r *Root) scoreOf(n *compliance.NodeSummary) api.ComplianceScore {
	e, ok := r.reg.entry(n.ID)
	return r.scoreWith(n, e, ok)
}

// scoreWith scores a node whose index entry (for its inventory hash) the caller has.
func (r *Root) scoreWith(n *compliance.NodeSummary, e indexEntry, registered bool) api.ComplianceScore {
	pct, has := n.Counts.Compliance()
	var upd *compliance.Updates
	var vul *compliance.Vulnerabilities
	if registered {
		var rec nodeRecord
		rec.ID, rec.InventoryHash = n.ID, e.invHash
		upd, vul = r.scores.inputs(rec)
	}
	s := compliance.NodeScore(pct, has, upd, vul)
	out := api.ComplianceScore{Score: s.Grade.String()}
	if s.Compliance != 0 {
		out.Compliance = s.Compliance.String()
	}
	if s.Updates != 0 {
		out.Updates = s.Updates.String()
	}
	if s.Vulnerability != 0 {
		out.Vulnerabilities = s.Vulnerability.String()
		out.VulnerabilityIDs = vul.IDs
	}
	return out
}

// scores keeps what node scores need of each node's inventory (update counts, and
// vulnerabilities when a CVE feed is configured), recomputed when the inventory changes.
type scores struct {
	feedPath string
	inv      *inventories
	log      *slog.Logger

	mu      sync.Mutex
	feed    *compliance.Feed
	feedMod time.Time
	cache   map[string]scoreInput
}

type scoreInput struct {
	hash    uint64
	updates *compliance.Updates
	vulns   *compliance.Vulnerabilities
}

func newScores(feedPath string, inv *inventories, log *slog.Logger) *scores {
	s := &scores{feedPath: feedPath, inv: inv, log: log, cache: map[string]scoreInput{}}
	s.refreshFeed()
	return s
}

// refreshFeed reloads the CVE feed when its file changed; a feed that does not load
// leaves the previous one in place.
func (s *scores) refreshFeed() {
	if s.feedPath == "" {
		return
	}
	fi, err := os.Stat(s.feedPath)
	if err != nil {
		s.log.Warn("CVE feed not read", "path", s.feedPath, "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if fi.ModTime().Equal(s.feedMod) && s.feed != nil {
		return
	}
	b, err := os.ReadFile(s.feedPath)
	if err == nil {
		var f *compliance.Feed
		if f, err = compliance.ParseFeed(b); err == nil {
			s.feed, s.feedMod = f, fi.ModTime()
			clear(s.cache)
			s.log.Info("CVE feed loaded", "path", s.feedPath, "vulnerabilities", len(f.Vulnerabilities))
			return
		}
	}
	s.log.Warn("CVE feed not loaded", "path", s.feedPath, "err", err)
}

func (s *scores) inputs(rec nodeRecord) (*compliance.Updates, *compliance.Vulnerabilities) {
	s.mu.Lock()
	in, ok := s.cache[rec.ID]
	feed := s.feed
	s.mu.Unlock()
	if ok && in.hash == rec.InventoryHash {
		return in.updates, in.vulns
	}
	in = scoreInput{hash: rec.InventoryHash}
	inv, err := s.inv.current(rec.ID)
	if err != nil || inv == nil {
		return nil, nil
	}
	u := compliance.Updates{Total: len(inv.Updates)}
	for _, up := range inv.Updates {
		if up.Security {
			u.Security++
		}
	}
	in.updates = &u
	if feed != nil {
		pkgs := make([]compliance.Package, 0, len(inv.Software))
		for _, p := range inv.Software {
			pkgs = append(pkgs, compliance.Package{Name: p.Name, Version: p.Version})
		}
		v := feed.Match(pkgs)
		in.vulns = &v
	}
	s.mu.Lock()
	s.cache[rec.ID] = in
	s.mu.Unlock()
	return in.updates, in.vulns
}
