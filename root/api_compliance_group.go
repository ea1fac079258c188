package root

import (
	"fmt"
	"net/http"

	"github.com/bosun-io/bosun/root/api"
)

// complianceGroupRoutes serves a group's compliance: the components of every node the
// group holds, counted by state.
func (r *Root) complianceGroupRoutes(route api.RouteFunc, _ api.PublicFunc) {
	route("GET /api/v1/compliance/groups/{id}", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		id := req.PathValue("id")
		members, ok := r.pol.groupMembers(id)
		if !ok {
			api.Fail(w, http.StatusNotFound, api.CodeNotFound, fmt.Sprintf("no group %q (or no accepted node compiled yet)", id))
			return
		}
		counts, n := r.rep.eng.Group(members, r.cfg.Now())
		api.Reply(w, api.ComplianceGroup{SchemaVersion: api.SchemaVersion, GroupID: id, Nodes: n, ComplianceCounts: countsOf(&counts)})
	})
}
