package root

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/bosun-io/bosun/root/api"
)

// nodeBatchRoutes serves POST /api/v1/nodes/batch: one decision on many nodes, so that a
// fleet is accepted in a few transactions and one compilation pass (registry.SetStatusMany).
func (r *Root) nodeBatchRoutes(route api.RouteFunc, _ api.PublicFunc) {
	route("POST /api/v1/nodes/batch", api.RoleOperator, func(w http.ResponseWriter, req *http.Request, p api.Principal) {
		var b api.NodeBatch
		dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, 64<<20))
		if err := dec.Decode(&b); err != nil {
			api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, "node batch: "+err.Error())
			return
		}
		switch {
		case b.Status != api.StatusAccepted && b.Status != api.StatusRefused && b.Status != api.StatusDeleted:
			api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf("node batch: status %q: want accepted, refused or deleted", b.Status))
			return
		case len(b.IDs) > api.MaxBatchNodes:
			api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, fmt.Sprintf("node batch of %d nodes, limit %d", len(b.IDs), api.MaxBatchNodes))
			return
		}
		changed, missing, err := r.reg.SetStatusMany(req.Context(), b.IDs, b.Status, p.Name)
		if err != nil {
			code, name := api.StatusOf(err)
			api.Fail(w, code, name, err.Error())
			return
		}
		r.log.Info("node statuses changed", "status", b.Status, "nodes", len(changed), "missing", len(missing), "principal", p.Name)
		api.Reply(w, api.NodeBatchResult{SchemaVersion: api.SchemaVersion, Status: b.Status, Changed: len(changed), Missing: missing})
	})
}
