package root

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/policy"
)

// kindOfPath maps the API's collection names to policy document kinds.
var kindOfPath = map[string]string{
	"techniques": policy.KindTechnique,
	"directives": policy.KindDirective,
	"groups":     policy.KindGroup,
	"rules":      policy.KindRule,
	"parameters": policy.KindParameter,
}

// policyRoutes serves the policy model, its event log and the applied policies.
func (r *Root) policyRoutes(route api.RouteFunc, _ api.PublicFunc) {
	route("GET /api/v1/settings", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		m := r.pol.snapshot()
		api.Reply(w, api.Object{SchemaVersion: api.SchemaVersion, Kind: policy.KindSettings, Object: jsonOf(m.Settings.WithDefaults())})
	})
	for path, kind := range kindOfPath {
		route("GET /api/v1/"+path, api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
			api.Reply(w, api.ObjectList{SchemaVersion: api.SchemaVersion, Kind: kind, Objects: objects(r.pol.snapshot(), kind)})
		})
		route("GET /api/v1/"+path+"/{id...}", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
			id := req.PathValue("id")
			for _, o := range objects(r.pol.snapshot(), kind) {
				if objectID(kind, o) == id || kind == policy.KindTechnique && strings.HasPrefix(objectID(kind, o), id+"/") {
					api.Reply(w, api.Object{SchemaVersion: api.SchemaVersion, Kind: kind, Object: o})
					return
				}
			}
			api.Fail(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("no %s %q", kind, id))
		})
		route("DELETE /api/v1/"+path+"/{id...}", api.RoleOperator, func(w http.ResponseWriter, req *http.Request, p api.Principal) {
			id := req.PathValue("id")
			ev, err := r.pol.change(p.Name, fmt.Sprintf("delete %s %s", kind, id), func(m *policy.Model) ([]policy.Change, error) {
				c, err := m.Delete(kind, id)
				return []policy.Change{c}, err
			})
			replyEvent(w, ev, nil, err)
		})
	}
	route("POST /api/v1/apply", api.RoleOperator, r.apply)
	route("GET /api/v1/export", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		files, err := r.pol.snapshot().Export()
		if err != nil {
			policyFail(w, err)
			return
		}
		out := api.Files{SchemaVersion: api.SchemaVersion}
		for _, f := range files {
			out.Files = append(out.Files, api.File{Name: f.Name, Content: string(f.Data)})
		}
		api.Reply(w, out)
	})
	route("GET /api/v1/events", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		evs, err := r.pol.events()
		if err != nil {
			policyFail(w, err)
			return
		}
		api.Reply(w, api.EventList{SchemaVersion: api.SchemaVersion, Events: evs})
	})
	route("POST /api/v1/events/{id}/revert", api.RoleOperator, func(w http.ResponseWriter, req *http.Request, p api.Principal) {
		id, err := strconv.ParseUint(req.PathValue("id"), 10, 64)
		if err != nil {
			api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, "event ids are numbers")
			return
		}
		ev, err := r.pol.revert(p.Name, id)
		replyEvent(w, ev, nil, err)
	})
	route("GET /api/v1/policy/status", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		st := r.pol.status()
		api.Reply(w, st)
	})
	route("POST /api/v1/policy/regenerate", api.RoleOperator, func(w http.ResponseWriter, req *http.Request, p api.Principal) {
		if err := r.pol.regenerate(); err != nil {
			policyFail(w, err)
			return
		}
		api.Reply(w, r.pol.status())
	})
	route("GET /api/v1/nodes/{id}/policy", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		id := req.PathValue("id")
		if _, err := r.reg.record(id); err != nil {
			policyFail(w, err)
			return
		}
		ap, err := r.pol.appliedPolicy(id)
		if err != nil {
			policyFail(w, err)
			return
		}
		if ap == nil {
			api.Fail(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("node %s has no applied policy (not accepted, or nothing applies to it)", id))
			return
		}
		api.Reply(w, api.AppliedPolicy{SchemaVersion: api.SchemaVersion, Policy: jsonOf(ap)})
	})
	route("GET /api/v1/nodes/{id}/policy/why", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		rec, err := r.reg.record(req.PathValue("id"))
		if err != nil {
			policyFail(w, err)
			return
		}
		n, err := r.pol.node(rec)
		if err != nil {
			policyFail(w, err)
			return
		}
		ex, err := policy.Explain(r.pol.snapshot(), &n)
		if err != nil {
			policyFail(w, err)
			return
		}
		if d := req.URL.Query().Get("directive"); d != "" {
			ex = slices.DeleteFunc(ex, func(e policy.Explanation) bool { return e.DirectiveID != d && e.Directive != d })
		}
		api.Reply(w, api.Why{SchemaVersion: api.SchemaVersion, NodeID: rec.ID, Directives: jsonOf(ex)})
	})
}

// apply takes YAML documents (any mix of objects) and applies them all or nothing.
func (r *Root) apply(w http.ResponseWriter, req *http.Request, p api.Principal) {
	var in api.ApplyRequest
	if err := json.NewDecoder(io.LimitReader(req.Body, 64<<20)).Decode(&in); err != nil {
		api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, "apply: the body must be {\"files\": [{\"name\": ..., \"content\": ...}]}: "+err.Error())
		return
	}
	var docs []policy.Doc
	var loadErrs []error
	for _, f := range in.Files {
		d, err := policy.LoadDocs(f.Name, []byte(f.Content))
		if err != nil {
			loadErrs = append(loadErrs, err)
			continue
		}
		docs = append(docs, d...)
	}
	if len(loadErrs) > 0 {
		policyFail(w, errors.Join(loadErrs...))
		return
	}
	if in.Kind != "" || in.Op != "" {
		if err := checkKindOp(r.pol.snapshot(), docs, in.Kind, in.Op); err != nil {
			policyFail(w, err)
			return
		}
	}
	names := make([]string, 0, len(in.Files))
	for _, f := range in.Files {
		names = append(names, f.Name)
	}
	if in.DryRun {
		changes, err := r.pol.snapshot().DryRun(docs)
		replyEvent(w, api.Event{}, changes, err)
		return
	}
	ev, err := r.pol.change(p.Name, "apply "+strings.Join(names, ", "), func(m *policy.Model) ([]policy.Change, error) {
		return m.Apply(docs)
	})
	replyEvent(w, ev, nil, err)
}

func replyEvent(w http.ResponseWriter, ev api.Event, dry []policy.Change, err error) {
	if err != nil {
		policyFail(w, err)
		return
	}
	out := api.ChangeResult{SchemaVersion: api.SchemaVersion}
	if dry != nil {
		out.DryRun = true
		for _, c := range dry {
			out.Changes = append(out.Changes, api.EventChange{Kind: c.Kind, ID: c.ID, Op: c.Op})
		}
	} else {
		out.Changes = ev.Changes
		if ev.ID != 0 {
			out.Event = &ev
		}
	}
	api.Reply(w, out)
}

// policyFail answers a policy error with the code that fits it.
func policyFail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, policy.ErrInUse):
		api.Fail(w, http.StatusConflict, api.CodeConflict, err.Error())
	case errors.Is(err, policy.ErrNotFound), errors.Is(err, api.ErrNotFound):
		api.Fail(w, http.StatusNotFound, api.CodeNotFound, err.Error())
	case errors.Is(err, policy.ErrInvalid):
		api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, err.Error())
	default:
		api.Fail(w, http.StatusInternalServerError, api.CodeInternal, err.Error())
	}
}

func jsonOf(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

// objects lists the model's objects of one kind; techniques include the library's.
func objects(m *policy.Model, kind string) []json.RawMessage {
	var out []json.RawMessage
	switch kind {
	case policy.KindTechnique:
		for _, t := range policy.Library() {
			out = append(out, jsonOf(t))
		}
		for i := range m.Techniques {
			out = append(out, jsonOf(&m.Techniques[i]))
		}
	case policy.KindDirective:
		for i := range m.Directives {
			out = append(out, jsonOf(&m.Directives[i]))
		}
	case policy.KindGroup:
		for _, g := range policy.BuiltinGroups() {
			out = append(out, jsonOf(g))
		}
		for i := range m.Groups {
			out = append(out, jsonOf(&m.Groups[i]))
		}
	case policy.KindRule:
		for i := range m.Rules {
			out = append(out, jsonOf(&m.Rules[i]))
		}
	case policy.KindParameter:
		for i := range m.Parameters {
			out = append(out, jsonOf(&m.Parameters[i]))
		}
	}
	return out
}

func objectID(kind string, o json.RawMessage) string {
	var v struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	_ = json.Unmarshal(o, &v)
	switch kind {
	case policy.KindTechnique:
		return v.ID + "/" + v.Version
	case policy.KindParameter:
		return v.Name
	}
	return v.ID
}

// checkKindOp enforces what `bosun KIND create|update` promise: only that kind, only new
// (or only existing) objects.
func checkKindOp(m *policy.Model, docs []policy.Doc, kind, op string) error {
	for _, d := range docs {
		if kind != "" && d.Kind != kind {
			return fmt.Errorf("%w: %s:%d is a %s, not a %s", policy.ErrInvalid, d.File, d.Line, d.Kind, kind)
		}
	}
	if op == "" {
		return nil
	}
	changes, err := m.DryRun(docs)
	if err != nil {
		return err
	}
	for _, c := range changes {
		switch {
		case op == policy.OpCreate && c.Op != policy.OpCreate:
			return fmt.Errorf("%s %s already exists; use update: %w", c.Kind, c.ID, errExists)
		case op == policy.OpUpdate && c.Op == policy.OpCreate:
			return fmt.Errorf("%s %s does not exist; use create: %w", c.Kind, c.ID, policy.ErrNotFound)
		}
	}
	return nil
}

var errExists = fmt.Errorf("%w", policy.ErrInUse)
