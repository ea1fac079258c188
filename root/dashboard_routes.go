package root

import (
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/dashboard"
)

// dashboardRoutes mounts the dashboard's static shell, the one public route that is not a
// node's: it holds no fleet data, and the page reads everything through the authenticated
// API with the token a person gives it.
func (r *Root) dashboardRoutes(_ api.RouteFunc, public api.PublicFunc) {
	public("GET "+dashboard.Prefix, dashboard.Handler().ServeHTTP)
}
