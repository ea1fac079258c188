package root

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/policy"
	"github.com/bosun-io/bosun/store"
)

// recordEvent appends an event to the log within tx: changes to nodes are recorded like
// changes to the model.
func recordEvent(tx *store.Txn, ev *api.Event) error {
	seq, err := nextEventSeq(tx)
	if err != nil {
		return err
	}
	ev.ID = seq
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return tx.Put(bucketEvents, fmt.Sprintf("%020d", seq), b)
}

// updateNode changes a node's record, records the event in the same transaction with the
// changed part (part) before and after, and recompiles the node.
func (r *Root) updateNode(id, by, kind, what string, part func(rec *nodeRecord) any, change func(rec *nodeRecord)) (api.Node, error) {
	var out api.Node
	err := r.db.Update(func(tx *store.Txn) error {
		rec, ok, err := txRecord(tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("node %s: %w", id, api.ErrNotFound)
		}
		before, _ := json.Marshal(part(&rec))
		change(&rec)
		after, _ := json.Marshal(part(&rec))
		out = rec.Node
		if err := txPut(tx, rec); err != nil {
			return err
		}
		return recordEvent(tx, &api.Event{Time: r.cfg.Now().UTC(), By: by, What: what,
			Changes: []api.EventChange{{Kind: kind, ID: id, Op: policy.OpUpdate, Before: before, After: after}}})
	})
	if err != nil {
		return api.Node{}, err
	}
	r.pol.nodeChanged(id)
	return out, nil
}

// setNodeProperties sets and removes a node's operator properties and records the change.
func (r *Root) setNodeProperties(id, by string, set map[string]json.RawMessage, unset []string) (api.Node, error) {
	for k, v := range set {
		if k == "" || !json.Valid(v) {
			return api.Node{}, fmt.Errorf("%w: property %q: the value must be JSON (a string is \"quoted\")", api.ErrBadRequest, k)
		}
	}
	return r.updateNode(id, by, "node-properties", "set properties of node "+id,
		func(rec *nodeRecord) any { return rec.Properties },
		func(rec *nodeRecord) {
			if rec.Properties == nil {
				rec.Properties = map[string]json.RawMessage{}
			}
			maps.Copy(rec.Properties, set)
			for _, k := range unset {
				delete(rec.Properties, k)
			}
		})
}

// setNodeSettings sets a node's overrides of the global settings (policy mode, reporting
// mode, run interval, heartbeat).
func (r *Root) setNodeSettings(id, by string, s policy.NodeSettings) (api.Node, error) {
	switch s.PolicyMode {
	case "", policy.Mode("audit"), policy.Mode("enforce"):
	default:
		return api.Node{}, fmt.Errorf("%w: policy mode %q: want audit, enforce or empty (the global mode)", api.ErrBadRequest, s.PolicyMode)
	}
	switch s.ReportingMode {
	case "", "full", "changes-only", "disabled":
	default:
		return api.Node{}, fmt.Errorf("%w: reporting mode %q: want full, changes-only, disabled or empty", api.ErrBadRequest, s.ReportingMode)
	}
	return r.updateNode(id, by, "node-settings", "set settings of node "+id,
		func(rec *nodeRecord) any { return rec.Settings },
		func(rec *nodeRecord) { rec.Settings = s })
}

// nodeProperties lists what a node sees, with where each value came from.
func (r *Root) nodeProperties(id string) (api.NodeProperties, error) {
	rec, err := r.reg.record(id)
	if err != nil {
		return api.NodeProperties{}, err
	}
	n, err := r.pol.node(rec)
	if err != nil {
		return api.NodeProperties{}, err
	}
	out := api.NodeProperties{SchemaVersion: api.SchemaVersion, NodeID: id, Settings: jsonOf(rec.Settings)}
	for _, p := range policy.EffectiveProperties(r.pol.snapshot().Parameters, &n) {
		prop := api.Property{Name: p.Name, Value: p.Value, Provenance: p.Provenance, Overrides: p.Overrides}
		if p.Provenance != policy.FromGlobal {
			prop.Source = "inventory"
			if _, ok := rec.Properties[p.Name]; ok {
				prop.Source = "operator"
			}
		}
		out.Properties = append(out.Properties, prop)
	}
	return out, nil
}

func (r *Root) nodePropertyRoutes(route api.RouteFunc, _ api.PublicFunc) {
	fail := func(w http.ResponseWriter, err error) {
		code, name := api.StatusOf(err)
		api.Fail(w, code, name, err.Error())
	}
	route("GET /api/v1/nodes/{id}/properties", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		props, err := r.nodeProperties(req.PathValue("id"))
		if err != nil {
			fail(w, err)
			return
		}
		api.Reply(w, props)
	})
	route("PATCH /api/v1/nodes/{id}/properties", api.RoleOperator, func(w http.ResponseWriter, req *http.Request, p api.Principal) {
		var in api.PropertyChange
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&in); err != nil {
			fail(w, fmt.Errorf("%w: %v", api.ErrBadRequest, err))
			return
		}
		if _, err := r.setNodeProperties(req.PathValue("id"), p.Name, in.Set, in.Unset); err != nil {
			fail(w, err)
			return
		}
		props, err := r.nodeProperties(req.PathValue("id"))
		if err != nil {
			fail(w, err)
			return
		}
		api.Reply(w, props)
	})
	route("PUT /api/v1/nodes/{id}/settings", api.RoleOperator, func(w http.ResponseWriter, req *http.Request, p api.Principal) {
		var s policy.NodeSettings
		if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&s); err != nil {
			fail(w, fmt.Errorf("%w: %v", api.ErrBadRequest, err))
			return
		}
		if _, err := r.setNodeSettings(req.PathValue("id"), p.Name, s); err != nil {
			fail(w, err)
			return
		}
		props, err := r.nodeProperties(req.PathValue("id"))
		if err != nil {
			fail(w, err)
			return
		}
		api.Reply(w, props)
	})
}
