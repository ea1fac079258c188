package root

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/root/api"
)

// maxSignatureBytes caps a rudder-signature-v1 file: a few key=value lines.
const maxSignatureBytes = 64 << 10

// inventoryRoutes serves inventories: the public routes other agents send them to, the
// queue and the drop directory watcher, and the operator's queries.
func (r *Root) inventoryRoutes(route api.RouteFunc, public api.PublicFunc) {
	public("POST /api/v1/inventories", r.postInventory)
	public("POST /ocsinventory", r.serveOCS)
	public("POST /ocsinventory/", r.serveOCS)

	route("GET /api/v1/inventories/queue", api.RoleReadOnly, func(w http.ResponseWriter, _ *http.Request, _ api.Principal) {
		api.Reply(w, r.ingestQ.status())
	})
	route("GET /api/v1/inventories/watcher", api.RoleReadOnly, func(w http.ResponseWriter, _ *http.Request, _ api.Principal) {
		api.Reply(w, r.watch.state())
	})
	route("POST /api/v1/inventories/watcher/{action}", api.RoleOperator, func(w http.ResponseWriter, req *http.Request, p api.Principal) {
		st, err := r.watch.control(req.PathValue("action"))
		if err != nil {
			api.Fail(w, http.StatusNotFound, api.CodeNotFound, err.Error())
			return
		}
		r.log.Info("inventory watcher changed", "action", req.PathValue("action"), "principal", p.Name)
		api.Reply(w, st)
	})
	route("GET /api/v1/nodes/{id}/inventory", api.RoleReadOnly, r.getNodeInventory)
	route("GET /api/v1/nodes/{id}/inventory/history", api.RoleReadOnly, r.getInventoryHistory)
	route("GET /api/v1/nodes/{id}/inventory/diff", api.RoleReadOnly, r.getInventoryDiff)
	route("GET /api/v1/inventory/software", api.RoleReadOnly, r.getSoftware)
	route("GET /api/v1/inventory/nodes", api.RoleReadOnly, r.getNodeFacts)
}

// postInventory takes an inventory written by another agent: the raw body (.ocs, .xml, or
// gzip of either), or multipart/form-data with the inventory in "file" and a
// rudder-signature-v1 in "signature", as Rudder's endpoint takes them. The slot in the
// ingestion queue is taken before the body is read, so that a flood of uploads cannot
// hold more than the queue's size of them in memory.
func (r *Root) postInventory(w http.ResponseWriter, req *http.Request) {
	release, ok := r.ingestQ.tryAcquire()
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(queueRetryAfter.Seconds())))
		api.Fail(w, http.StatusServiceUnavailable, api.CodeSaturated, ErrQueueSaturated.Error()+"; retry later")
		return
	}
	defer release()
	from := "http " + req.RemoteAddr
	raw, sig, err := readInventoryUpload(w, req)
	if err != nil {
		r.log.Warn("inventory upload refused", "from", from, "err", err)
		code, name := importStatus(err)
		if code == http.StatusInternalServerError {
			code, name = http.StatusBadRequest, api.CodeBadRequest
		}
		api.Fail(w, code, name, err.Error())
		return
	}
	res, err := r.importInventory(raw, sig)
	if err != nil {
		r.log.Warn("inventory refused", "from", from, "err", err)
		code, name := importStatus(err)
		if code == http.StatusInternalServerError {
			r.log.Error("inventory import failed", "from", from, "err", err)
			api.Fail(w, code, name, "internal error; see the root's log")
			return
		}
		api.Fail(w, code, name, err.Error())
		return
	}
	r.log.Info("inventory imported", "from", from, "node", res.inv.NodeID, "hostname", res.inv.Hostname,
		"inventory_only", res.inv.InventoryOnly, "signed", res.signed, "stored", res.stored)
	api.Reply(w, api.InventoryAnswer{
		SchemaVersion: api.SchemaVersion, NodeID: res.inv.NodeID, Hostname: res.inv.Hostname,
		InventoryOnly: true, Stored: res.stored, Signed: res.signed,
	})
}

func readInventoryUpload(w http.ResponseWriter, req *http.Request) (raw, sig []byte, err error) {
	body := http.MaxBytesReader(w, req.Body, maxImportBytes+maxSignatureBytes+64<<10)
	mt, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		raw, err = io.ReadAll(body)
		if err != nil {
			return nil, nil, tooLargeOr(err)
		}
		return raw, nil, nil
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, tooLargeOr(err)
		}
		switch part.FormName() {
		case "file":
			if raw, err = readPart(part, maxImportBytes); err != nil {
				return nil, nil, err
			}
		case "signature":
			if sig, err = readPart(part, maxSignatureBytes); err != nil {
				return nil, nil, err
			}
		}
		part.Close()
	}
	if raw == nil {
		return nil, nil, refused("multipart upload without a \"file\" part")
	}
	return raw, sig, nil
}

func readPart(p *multipart.Part, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(p, max+1))
	if err != nil {
		return nil, tooLargeOr(err)
	}
	if int64(len(b)) > max {
		return nil, refused("part %q over %d bytes: %v", p.FormName(), max, inventory.ErrTooLarge)
	}
	return b, nil
}

func tooLargeOr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return refused("upload over %d bytes: %v", mbe.Limit, inventory.ErrTooLarge)
	}
	return fmt.Errorf("read upload: %w", err)
}

// versions returns a node's stored inventories, newest first (index = version).
func (r *Root) versions(id string) ([]*inventory.Inventory, error) {
	if _, err := r.reg.record(id); err != nil {
		return nil, err
	}
	hist, err := r.inv.history(id)
	if err != nil {
		return nil, err
	}
	slices.Reverse(hist)
	if len(hist) == 0 {
		if cur, err := r.inv.current(id); err != nil {
			return nil, err
		} else if cur != nil {
			hist = append(hist, cur)
		}
	}
	return hist, nil
}

func versionParam(req *http.Request, name string, def int) (int, error) {
	s := req.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s=%q: want 0 (the current inventory), 1 (the one before), ...", name, s)
	}
	return v, nil
}

func pick(hist []*inventory.Inventory, id string, v int) (*inventory.Inventory, error) {
	if len(hist) == 0 {
		return nil, fmt.Errorf("node %s has sent no inventory yet: %w", id, api.ErrNotFound)
	}
	if v >= len(hist) {
		return nil, fmt.Errorf("node %s: version %d not kept; the root holds versions 0 to %d: %w", id, v, len(hist)-1, api.ErrNotFound)
	}
	return hist[v], nil
}

func failErr(w http.ResponseWriter, err error) {
	code, name := api.StatusOf(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		msg = "internal error; see the root's log"
	}
	api.Fail(w, code, name, msg)
}

func (r *Root) getNodeInventory(w http.ResponseWriter, req *http.Request, _ api.Principal) {
	id := req.PathValue("id")
	v, err := versionParam(req, "version", 0)
	if err != nil {
		api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, err.Error())
		return
	}
	hist, err := r.versions(id)
	if err != nil {
		r.logInternal(req, err)
		failErr(w, err)
		return
	}
	inv, err := pick(hist, id, v)
	if err != nil {
		failErr(w, err)
		return
	}
	n, err := r.reg.Node(req.Context(), id)
	if err != nil {
		failErr(w, err)
		return
	}
	b, err := json.Marshal(inv)
	if err != nil {
		r.logInternal(req, err)
		failErr(w, err)
		return
	}
	api.Reply(w, api.NodeInventory{SchemaVersion: api.SchemaVersion, Version: v, Node: n, Inventory: b})
}

func (r *Root) logInternal(req *http.Request, err error) {
	if code, _ := api.StatusOf(err); code == http.StatusInternalServerError {
		r.log.Error("api request failed", "method", req.Method, "path", req.URL.Path, "err", err)
	}
}

func (r *Root) getInventoryHistory(w http.ResponseWriter, req *http.Request, _ api.Principal) {
	id := req.PathValue("id")
	hist, err := r.versions(id)
	if err != nil {
		r.logInternal(req, err)
		failErr(w, err)
		return
	}
	out := api.InventoryHistory{SchemaVersion: api.SchemaVersion, NodeID: id, Versions: []api.InventoryVersion{}}
	for i, inv := range hist {
		out.Versions = append(out.Versions, api.InventoryVersion{
			Version: i, CollectedAt: inv.CollectedAt, Source: inv.Source, Hostname: inv.Hostname,
			OS: osLabel(inv.OS), Packages: len(inv.Software), Updates: len(inv.Updates),
		})
	}
	api.Reply(w, out)
}

func (r *Root) getInventoryDiff(w http.ResponseWriter, req *http.Request, _ api.Principal) {
	id := req.PathValue("id")
	from, err := versionParam(req, "from", 1)
	if err == nil {
		var to int
		if to, err = versionParam(req, "to", 0); err == nil {
			hist, err := r.versions(id)
			if err != nil {
				r.logInternal(req, err)
				failErr(w, err)
				return
			}
			a, err := pick(hist, id, from)
			if err != nil {
				failErr(w, err)
				return
			}
			b, err := pick(hist, id, to)
			if err != nil {
				failErr(w, err)
				return
			}
			d, err := diffInventories(a, b)
			if err != nil {
				r.logInternal(req, err)
				failErr(w, err)
				return
			}
			d.NodeID, d.From, d.To = id, from, to
			api.Reply(w, d)
			return
		}
	}
	api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, err.Error())
}

// noisySections change at every collection and would hide what an operator looks for.
var noisySections = map[string]bool{"collected_at": true, "uptime_seconds": true, "software": true}

// diffInventories says what changed from a to b: sections other than software whole,
// software package by package.
func diffInventories(a, b *inventory.Inventory) (api.InventoryDiff, error) {
	d := api.InventoryDiff{SchemaVersion: api.SchemaVersion, FromTime: a.CollectedAt, ToTime: b.CollectedAt,
		Sections: []api.SectionChange{}, Added: []api.PackageRef{}, Removed: []api.PackageRef{}, Upgraded: []api.PackageChange{}}
	sa, err := sections(a)
	if err != nil {
		return d, err
	}
	sb, err := sections(b)
	if err != nil {
		return d, err
	}
	var keys []string
	for k := range sa {
		keys = append(keys, k)
	}
	for k := range sb {
		if _, ok := sa[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if noisySections[k] || bytes.Equal(sa[k], sb[k]) {
			continue
		}
		d.Sections = append(d.Sections, api.SectionChange{Section: k, Before: sa[k], After: sb[k]})
	}
	type key struct{ name, arch string }
	before := make(map[key][]string)
	for _, p := range a.Software {
		k := key{p.Name, p.Architecture}
		before[k] = append(before[k], p.Version)
	}
	after := make(map[key][]string)
	for _, p := range b.Software {
		k := key{p.Name, p.Architecture}
		after[k] = append(after[k], p.Version)
	}
	for _, p := range b.Software {
		k := key{p.Name, p.Architecture}
		old, ok := before[k]
		switch {
		case !ok:
			d.Added = append(d.Added, api.PackageRef{Name: p.Name, Version: p.Version, Architecture: p.Architecture})
		case !slices.Contains(old, p.Version) && len(old) == 1 && len(after[k]) == 1:
			d.Upgraded = append(d.Upgraded, api.PackageChange{Name: p.Name, Architecture: p.Architecture, Before: old[0], After: p.Version})
		case !slices.Contains(old, p.Version):
			d.Added = append(d.Added, api.PackageRef{Name: p.Name, Version: p.Version, Architecture: p.Architecture})
		}
	}
	for _, p := range a.Software {
		k := key{p.Name, p.Architecture}
		now, ok := after[k]
		if !ok || (!slices.Contains(now, p.Version) && !(len(now) == 1 && len(before[k]) == 1)) {
			d.Removed = append(d.Removed, api.PackageRef{Name: p.Name, Version: p.Version, Architecture: p.Architecture})
		}
	}
	return d, nil
}

func sections(inv *inventory.Inventory) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(inv)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(b, &m)
}

// eachInventory calls fn with every stored current inventory.
func (r *Root) eachInventory(fn func(inv *inventory.Inventory) error) error {
	return r.db.Bucket(bucketInventories).Scan("", func(id string, v []byte) error {
		inv, err := inventory.Unmarshal(v)
		if err != nil {
			r.log.Warn("stored inventory unreadable; skipped", "node", id, "err", err)
			return nil
		}
		return fn(inv)
	})
}

// compareVersion compares a package's version with v under the package's own scheme:
// Debian's for dpkg packages and Debian-family systems, rpm's generic one otherwise.
func compareVersion(inv *inventory.Inventory, p inventory.Package, v string) int {
	if p.Source == "dpkg" || p.Source == "apt" || (p.Source == "" && inv.OS.Family == "debian") {
		return inventory.CompareDebian(p.Version, v)
	}
	return api.CompareVersions(p.Version, v)
}

// nameMatches compares package names without regard to case; a pattern with * ? or [
// is a shell glob.
func nameMatches(pattern, name string) bool {
	if strings.ContainsAny(pattern, "*?[") {
		ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(name))
		return ok
	}
	return strings.EqualFold(pattern, name)
}

func (r *Root) getSoftware(w http.ResponseWriter, req *http.Request, _ api.Principal) {
	q := req.URL.Query()
	name, below := strings.TrimSpace(q.Get("name")), strings.TrimSpace(q.Get("versionBelow"))
	if name == "" {
		api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, "name: the package name (or a glob such as openssl*) is required")
		return
	}
	if _, err := path.Match(name, ""); err != nil {
		api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf("name %q: %v", name, err))
		return
	}
	nodes, err := r.reg.Nodes(req.Context())
	if err != nil {
		r.logInternal(req, err)
		failErr(w, err)
		return
	}
	byID := make(map[string]api.Node, len(nodes))
	for _, n := range nodes {
		byID[n.ID] = n
	}
	out := api.SoftwareSearch{SchemaVersion: api.SchemaVersion, Name: name, VersionBelow: below, Installs: []api.SoftwareInstall{}}
	err = r.eachInventory(func(inv *inventory.Inventory) error {
		n, ok := byID[inv.NodeID]
		if !ok || n.Status == api.StatusDeleted {
			return nil
		}
		for _, p := range inv.Software {
			if !nameMatches(name, p.Name) || (below != "" && compareVersion(inv, p, below) >= 0) {
				continue
			}
			out.Installs = append(out.Installs, api.SoftwareInstall{
				NodeID: n.ID, Hostname: n.Hostname, Status: n.Status, Name: p.Name, Version: p.Version,
				Architecture: p.Architecture, Source: p.Source,
			})
		}
		return nil
	})
	if err != nil {
		r.logInternal(req, err)
		failErr(w, err)
		return
	}
	slices.SortStableFunc(out.Installs, func(a, b api.SoftwareInstall) int {
		if c := strings.Compare(a.Hostname, b.Hostname); c != 0 {
			return c
		}
		if c := strings.Compare(a.NodeID, b.NodeID); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	api.Reply(w, out)
}

// factsDocJSON is the document a node list filters: the inventory as currentDoc decoded it,
// with the node's registry entry under "node".
func factsDocJSON(n api.Node, doc map[string]any) (map[string]any, error) {
	if doc == nil {
		doc = map[string]any{}
	}
	b, err := json.Marshal(n)
	if err != nil {
		return nil, err
	}
	var nm map[string]any
	if err := json.Unmarshal(b, &nm); err != nil {
		return nil, err
	}
	doc["node"] = nm
	if _, ok := doc["hostname"]; !ok {
		doc["hostname"] = n.Hostname
	}
	return doc, nil
}

// factNodes returns the nodes of a fact query: all of them, or with node=ID those named, in
// the order given, skipping IDs that name no node (one deleted since the caller listed it).
// The dashboard's overview names the rows it shows, so that it reads their inventories and
// not the whole fleet's.
func (r *Root) factNodes(req *http.Request, ids []string) ([]api.Node, error) {
	if len(ids) == 0 {
		return r.reg.Nodes(req.Context())
	}
	nodes := make([]api.Node, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		n, err := r.reg.Node(req.Context(), id)
		if errors.Is(err, api.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if r.reg.liveness != nil { // as Nodes fills it
			if m, ok := r.reg.liveness(n.ID); ok {
				n.Liveness, n.LivenessSince = m.State, m.Since
			}
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

func (r *Root) getNodeFacts(w http.ResponseWriter, req *http.Request, _ api.Principal) {
	q := req.URL.Query()
	var conds []api.Condition
	for _, s := range q["where"] {
		c, err := api.ParseCondition(s)
		if err != nil {
			api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, err.Error())
			return
		}
		conds = append(conds, c)
	}
	var columns, paths []string
	for _, s := range q["column"] {
		for c := range strings.SplitSeq(s, ",") {
			if c = strings.TrimSpace(c); c == "" {
				continue
			}
			p, err := api.ResolveField(c)
			if err != nil {
				api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, "column "+err.Error())
				return
			}
			columns, paths = append(columns, c), append(paths, p)
		}
	}
	nodes, err := r.factNodes(req, q["node"])
	if err != nil {
		r.logInternal(req, err)
		failErr(w, err)
		return
	}
	out := api.NodeFacts{SchemaVersion: api.SchemaVersion, Columns: columns, Nodes: []api.NodeFact{}}
	if out.Columns == nil {
		out.Columns = []string{}
	}
	// Each node's inventory is decoded to test the conditions: the workers share the cores,
	// and each decodes the stored JSON once (factsDocJSON) rather than into the struct and back.
	facts := make([]*api.NodeFact, len(nodes))
	var failed atomic.Pointer[error]
	onEveryCore(len(nodes), func(i int) bool {
		n := nodes[i]
		inv, _, err := r.inv.currentDoc(n.ID)
		if err != nil {
			r.log.Warn("stored inventory unreadable; node listed without it", "node", n.ID, "err", err)
		}
		doc, err := factsDocJSON(n, inv)
		if err != nil {
			failed.CompareAndSwap(nil, &err)
			return false
		}
		ok := true
		for _, c := range conds {
			if !c.Match(doc) {
				ok = false
				break
			}
		}
		if !ok {
			return true
		}
		f := api.NodeFact{Node: n, Values: []json.RawMessage{}}
		for _, p := range paths {
			vals := api.Lookup(doc, p)
			var v any
			switch len(vals) {
			case 0:
			case 1:
				v = vals[0]
			default:
				v = vals
			}
			b, _ := json.Marshal(v)
			f.Values = append(f.Values, b)
		}
		facts[i] = &f
		return true
	})
	if p := failed.Load(); p != nil {
		r.logInternal(req, *p)
		failErr(w, *p)
		return
	}
	for _, f := range facts {
		if f != nil {
			out.Nodes = append(out.Nodes, *f)
		}
	}
	api.Reply(w, out)
}
