package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Role is what a token may do. Each role may do everything the roles below it may.
type Role int

const (
	RoleReadOnly Role = 1
	RoleOperator Role = 2
	RoleAdmin    Role = 3
)

func (r Role) String() string {
	switch r {
	case RoleReadOnly:
		return "read-only"
	case RoleOperator:
		return "operator"
	case RoleAdmin:
		return "admin"
	}
	return fmt.Sprintf("role(%d)", int(r))
}

// ParseRole is the inverse of Role.String.
func ParseRole(s string) (Role, error) {
	for _, r := range []Role{RoleReadOnly, RoleOperator, RoleAdmin} {
		if r.String() == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown token role %q (want read-only, operator or admin)", s)
}

// Principal is who a token belongs to.
type Principal struct {
	Name string
	Role Role
}

// ErrBadToken is returned by a TokenStore for a token it does not know, or wrapped, with
// what to do, for one it will not take any more (expired). The caller is told the message.
var ErrBadToken = errors.New("unknown token")

// TokenStore authenticates bearer tokens.
type TokenStore interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// Registry is the root's node registry as the API needs it.
type Registry interface {
	Nodes(ctx context.Context) ([]Node, error)
	Node(ctx context.Context, id string) (Node, error)
	// SetStatus accepts, refuses or deletes a node; by names who did it, for the event log.
	SetStatus(ctx context.Context, id, status, by string) (Node, error)
}

// NodeQuery selects a page of nodes, in the registry's order (hostname, then ID).
type NodeQuery struct {
	Status   string   // only nodes of this status, if set
	Hostname string   // only nodes whose hostname contains this, ignoring case, if set
	IDs      []string // only these nodes, if set
	Offset   int      // nodes skipped
	Limit    int      // nodes returned at most
}

// NodePager is a Registry that answers a page of nodes without reading every node record.
// The handler uses it when the registry has it and the request asks for a page or names
// nodes.
type NodePager interface {
	NodePage(ctx context.Context, q NodeQuery) (nodes []Node, total int, err error)
}

// Paging limits of the list routes: limit= takes 1 to MaxPageLimit; offset= takes 0 and
// more (past the end, the page is empty and total still counts every match).
const MaxPageLimit = 1000

// ParsePage reads limit= and offset= of a list route. paged is false when neither is
// given; an error says which value is wrong and what is taken.
func ParsePage(q url.Values) (offset, limit int, paged bool, err error) {
	ls, offs := q.Get("limit"), q.Get("offset")
	if ls == "" && offs == "" {
		return 0, 0, false, nil
	}
	limit = MaxPageLimit
	if ls != "" {
		if limit, err = strconv.Atoi(ls); err != nil || limit < 1 || limit > MaxPageLimit {
			return 0, 0, false, fmt.Errorf("limit=%q: want a number of items from 1 to %d", ls, MaxPageLimit)
		}
	}
	if offs != "" {
		if offset, err = strconv.Atoi(offs); err != nil || offset < 0 {
			return 0, 0, false, fmt.Errorf("offset=%q: want a number of items to skip, 0 or more", offs)
		}
	}
	return offset, limit, true, nil
}

// Config is what the handler serves from. Each group of routes is served when its
// interface is set, so the root wires capabilities in one at a time.
type Config struct {
	Registry Registry
	Tokens   TokenStore
	Status   func() Status
	Logger   *slog.Logger
	// Routes registers more routes, each through the given function, which authenticates
	// the caller and checks its role before calling the handler. Routes without a token
	// (a node sending its inventory) go through Public.
	Routes []func(route RouteFunc, public PublicFunc)
}

// RouteFunc registers an authenticated route (a Go 1.22 ServeMux pattern).
type RouteFunc func(pattern string, role Role, h func(http.ResponseWriter, *http.Request, Principal))

// PublicFunc registers a route served without a token. Only the paths by which a node enrols
// or sends an inventory may be public, and they only ever create pending or inventory-only
// nodes; besides them, the dashboard's static shell, which carries no data.
type PublicFunc func(pattern string, h http.HandlerFunc)

// NewHandler returns the API's handler. Every route needs a token but those registered
// through a PublicFunc.
func NewHandler(cfg Config) http.Handler {
	s := newServer(cfg)
	mux := http.NewServeMux()
	s.register(func(rt Route, h http.Handler) { mux.Handle(rt.Pattern, h) })
	return mux
}

// Route is one registered route as the API reference (openapi.json) documents it.
type Route struct {
	Pattern string // as given to the ServeMux: "GET /api/v1/nodes/{id}"
	Role    Role   // the least role it needs; 0 when Public
	Public  bool
}

// Routes lists what NewHandler(cfg) registers, in order, without serving anything: the
// test that keeps openapi.json in step with the handler walks it.
func Routes(cfg Config) []Route {
	var out []Route
	newServer(cfg).register(func(rt Route, _ http.Handler) { out = append(out, rt) })
	return out
}

func newServer(cfg Config) *server {
	s := &server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// register is the one list of routes, so that Routes cannot drift from NewHandler.
func (s *server) register(add func(Route, http.Handler)) {
	route := func(pattern string, role Role, h func(http.ResponseWriter, *http.Request, Principal)) {
		add(Route{Pattern: pattern, Role: role}, s.authenticated(role, h))
	}
	public := func(pattern string, h http.HandlerFunc) {
		add(Route{Pattern: pattern, Public: true}, h)
	}
	route("GET /api/v1/status", RoleReadOnly, s.status)
	route("GET /api/v1/openapi.json", RoleReadOnly, s.openAPI)
	route("GET /api/v1/nodes", RoleReadOnly, s.listNodes)
	route("GET /api/v1/nodes/{id}", RoleReadOnly, s.showNode)
	route("POST /api/v1/nodes/{id}/accept", RoleOperator, s.changeNode(StatusAccepted))
	route("POST /api/v1/nodes/{id}/refuse", RoleOperator, s.changeNode(StatusRefused))
	route("DELETE /api/v1/nodes/{id}", RoleOperator, s.changeNode(StatusDeleted))
	for _, more := range s.cfg.Routes {
		more(route, public)
	}
	// Anything else under the API is authenticated first, so that probing for routes tells
	// an anonymous caller nothing.
	route("/", RoleReadOnly, func(w http.ResponseWriter, r *http.Request, _ Principal) {
		s.fail(w, r, http.StatusNotFound, CodeNotFound, fmt.Sprintf("no route %s %s", r.Method, r.URL.Path))
	})
}

type server struct {
	cfg Config
	log *slog.Logger
}

func (s *server) authenticated(need Role, h func(http.ResponseWriter, *http.Request, Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// Answers carry fleet data for one token's eyes: no browser or proxy may keep them.
		w.Header().Set("Cache-Control", "no-store")
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			s.fail(w, r, http.StatusUnauthorized, CodeUnauthorized, "missing bearer token: pass --token, set BOSUN_TOKEN, or run bosun root init for a CLI configuration")
			return
		}
		p, err := s.cfg.Tokens.Authenticate(r.Context(), token)
		if err != nil {
			if errors.Is(err, ErrBadToken) {
				s.fail(w, r, http.StatusUnauthorized, CodeUnauthorized, err.Error())
			} else {
				s.internal(w, r, err)
			}
			return
		}
		if p.Role < need {
			s.fail(w, r, http.StatusForbidden, CodeForbidden, fmt.Sprintf("token %s has role %v; this needs %v", p.Name, p.Role, need))
			return
		}
		h(w, r, p)
		s.log.Debug("api request", "method", r.Method, "path", r.URL.Path, "principal", p.Name, "duration", time.Since(start))
	})
}

func (s *server) status(w http.ResponseWriter, r *http.Request, _ Principal) {
	st := s.cfg.Status()
	st.SchemaVersion = SchemaVersion
	s.reply(w, st)
}

func (s *server) listNodes(w http.ResponseWriter, r *http.Request, _ Principal) {
	q := r.URL.Query()
	offset, limit, paged, err := ParsePage(q)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, CodeBadRequest, err.Error())
		return
	}
	nq := NodeQuery{Status: q.Get("status"), Hostname: q.Get("hostname"), IDs: q["node"], Offset: offset, Limit: limit}
	if pager, ok := s.cfg.Registry.(NodePager); ok && (paged || nq.Hostname != "" || len(nq.IDs) > 0) {
		if !paged {
			nq.Limit = int(^uint(0) >> 1)
		}
		nodes, total, err := pager.NodePage(r.Context(), nq)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		out := NodeList{SchemaVersion: SchemaVersion, Nodes: nodes}
		if out.Nodes == nil {
			out.Nodes = []Node{}
		}
		if paged {
			out.Total = &total
		}
		s.reply(w, out)
		return
	}
	nodes, err := s.cfg.Registry.Nodes(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	nodes = FilterNodes(nodes, nq)
	if paged {
		total := len(nodes)
		out := NodeList{SchemaVersion: SchemaVersion, Nodes: append([]Node{}, nodes[min(offset, total):min(offset+limit, total)]...), Total: &total}
		s.reply(w, out)
		return
	}
	if nodes == nil {
		nodes = []Node{}
	}
	s.reply(w, NodeList{SchemaVersion: SchemaVersion, Nodes: nodes})
}

// FilterNodes keeps the nodes that q's status, hostname and IDs select (not its page).
func FilterNodes(nodes []Node, q NodeQuery) []Node {
	kept := nodes[:0]
	host := strings.ToLower(q.Hostname)
	for _, n := range nodes {
		if NodeMatches(n.ID, n.Hostname, n.Status, q, host) {
			kept = append(kept, n)
		}
	}
	return kept
}

// NodeMatches says whether a node is selected by q; lowerHost is strings.ToLower(q.Hostname).
func NodeMatches(id, hostname, status string, q NodeQuery, lowerHost string) bool {
	if q.Status != "" && status != q.Status {
		return false
	}
	if lowerHost != "" && !strings.Contains(strings.ToLower(hostname), lowerHost) {
		return false
	}
	if len(q.IDs) > 0 && !slices.Contains(q.IDs, id) {
		return false
	}
	return true
}

func (s *server) showNode(w http.ResponseWriter, r *http.Request, _ Principal) {
	n, err := s.cfg.Registry.Node(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.reply(w, NodeChange{SchemaVersion: SchemaVersion, Node: n})
}

func (s *server) changeNode(status string) func(http.ResponseWriter, *http.Request, Principal) {
	return func(w http.ResponseWriter, r *http.Request, p Principal) {
		n, err := s.cfg.Registry.SetStatus(r.Context(), r.PathValue("id"), status, p.Name)
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.log.Info("node status changed", "node", n.ID, "status", status, "principal", p.Name)
		s.reply(w, NodeChange{SchemaVersion: SchemaVersion, Node: n})
	}
}

// Reply writes v as the JSON answer.
func Reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Fail writes an error answer with a stable code.
func Fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Error{Err: ErrorBody{Code: code, Message: msg}})
}

// StatusOf maps an error of the root's state to an HTTP status and a code: ErrNotFound,
// ErrConflict and ErrBadRequest to theirs, anything else to 500.
func StatusOf(err error) (int, string) { return statusOf(err) }

func (s *server) reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *server) error(w http.ResponseWriter, r *http.Request, err error) {
	code, name := statusOf(err)
	if code == http.StatusInternalServerError {
		s.internal(w, r, err)
		return
	}
	s.fail(w, r, code, name, err.Error())
}

func (s *server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	s.fail(w, r, http.StatusInternalServerError, CodeInternal, "internal error; see the root's log")
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		s.log.Warn("api request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "code", code)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Error{Err: ErrorBody{Code: code, Message: msg}})
}
