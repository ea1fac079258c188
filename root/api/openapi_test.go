package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The checks below read the document as plain JSON rather than through an OpenAPI
// library: the module takes no dependency for a test.

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

// operation is one method of one path of the document.
type operation struct {
	method, path string // "GET", "/api/v1/nodes/{id}"
	op           map[string]any
}

func (o operation) String() string { return o.method + " " + o.path }

func operations(t *testing.T, doc map[string]any) []operation {
	t.Helper()
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("openapi.json has no paths")
	}
	var out []operation
	for p, item := range paths {
		item, _ := item.(map[string]any)
		for _, m := range httpMethods {
			if op, ok := item[m].(map[string]any); ok {
				out = append(out, operation{strings.ToUpper(m), p, op})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// resolve follows a local $ref ("#/components/schemas/Node"); ok is false when it
// leads nowhere.
func resolve(doc map[string]any, v any) (any, bool) {
	m, isMap := v.(map[string]any)
	if !isMap {
		return v, true
	}
	r, has := m["$ref"].(string)
	if !has {
		return v, true
	}
	rest, local := strings.CutPrefix(r, "#/")
	if !local {
		return nil, false
	}
	var cur any = doc
	for _, part := range strings.Split(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		cm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = cm[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func TestOpenAPIDocument(t *testing.T) {
	doc := openAPIDoc(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi: got %q, want 3.1.x", v)
	}
	schemes, _ := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	if _, ok := schemes["bearerToken"]; !ok {
		t.Errorf("components.securitySchemes has no bearerToken")
	}
	ids := map[string]string{}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for _, o := range operations(t, doc) {
		id, _ := o.op["operationId"].(string)
		if id == "" {
			t.Errorf("%v: no operationId", o)
		} else if other, dup := ids[id]; dup {
			t.Errorf("%v: operationId %q is also %s's", o, id, other)
		}
		ids[id] = o.String()
		for _, field := range []string{"summary", "description"} {
			if s, _ := o.op[field].(string); s == "" {
				t.Errorf("%v: no %s", o, field)
			}
		}
		responses, _ := o.op["responses"].(map[string]any)
		var success bool
		for code := range responses {
			success = success || strings.HasPrefix(code, "2")
		}
		if !success {
			t.Errorf("%v: no 2xx response", o)
		}
		sec, has := o.op["security"].([]any)
		role, hasRole := o.op["x-bosun-role"].(string)
		switch {
		case !has:
			t.Errorf("%v: no security: want [{\"bearerToken\": []}] with an x-bosun-role, or [] for a public route", o)
		case len(sec) == 0 && hasRole:
			t.Errorf("%v: public (security: []) but x-bosun-role %q", o, role)
		case len(sec) == 0:
		default:
			if b, _ := json.Marshal(sec); string(b) != `[{"bearerToken":[]}]` {
				t.Errorf("%v: security %s, want [{\"bearerToken\":[]}]", o, b)
			}
			if _, err := ParseRole(role); err != nil {
				t.Errorf("%v: x-bosun-role: %v", o, err)
			}
			for _, code := range []string{"401", "403"} {
				if _, ok := responses[code]; !ok {
					t.Errorf("%v: needs a token but documents no %s answer", o, code)
				}
			}
		}
		// Every {name} of the path is a required path parameter, and nothing else is.
		want := map[string]bool{}
		for _, m := range pathParam.FindAllStringSubmatch(o.path, -1) {
			want[m[1]] = true
		}
		params, _ := o.op["parameters"].([]any)
		for _, p := range params {
			p, ok := resolve(doc, p)
			pm, _ := p.(map[string]any)
			if !ok || pm == nil {
				continue // reported by the $ref walk
			}
			if pm["in"] != "path" {
				continue
			}
			name, _ := pm["name"].(string)
			if !want[name] {
				t.Errorf("%v: path parameter %q is not in the path", o, name)
			}
			if pm["required"] != true {
				t.Errorf("%v: path parameter %q must be required", o, name)
			}
			delete(want, name)
		}
		for name := range want {
			t.Errorf("%v: {%s} has no path parameter", o, name)
		}
	}
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if _, ok := resolve(doc, v); !ok {
					t.Errorf("%s: $ref %q resolves to nothing", at, r)
				}
			}
			for k, x := range v {
				walk(at+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", at, i), x)
			}
		}
	}
	walk("#", doc)
}

// TestOpenAPIErrorCodes keeps the document's ErrorCode enum equal to the Code constants
// of this package, read from its source so that a new code cannot be forgotten.
func TestOpenAPIErrorCodes(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if strings.HasPrefix(name.Name, "Code") && i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						codes = append(codes, strings.Trim(lit.Value, `"`))
					}
				}
			}
			return true
		})
	}
	if len(codes) < 8 {
		t.Fatalf("found only %d Code constants: %v", len(codes), codes)
	}
	doc := openAPIDoc(t)
	s, _ := resolve(doc, map[string]any{"$ref": "#/components/schemas/ErrorCode"})
	var documented []string
	for _, c := range s.(map[string]any)["enum"].([]any) {
		documented = append(documented, c.(string))
	}
	slices.Sort(codes)
	slices.Sort(documented)
	if !slices.Equal(codes, documented) {
		t.Errorf("components.schemas.ErrorCode.enum in openapi.json: got %v, want the Code constants %v", documented, codes)
	}
}

type fixedTokens struct{ p Principal }

func (f fixedTokens) Authenticate(_ context.Context, token string) (Principal, error) {
	if token != "good" {
		return Principal{}, ErrBadToken
	}
	return f.p, nil
}

func TestOpenAPIServed(t *testing.T) {
	h := NewHandler(Config{Tokens: fixedTokens{Principal{Name: "reader", Role: RoleReadOnly}}})
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"a read-only token", "good", http.StatusOK},
		{"no token", "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("got HTTP %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want != http.StatusOK {
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
			if !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
				t.Errorf("the served document differs from the embedded openapi.json")
			}
		})
	}
}

// clientCalls calls every method of Client once. A method missing here fails
// TestClientCallsDocumentedPaths, so that a new one is checked against the document too.
var clientCalls = map[string]func(ctx context.Context, c *Client) error{
	"Status":    func(ctx context.Context, c *Client) error { _, err := c.Status(ctx); return err },
	"Nodes":     func(ctx context.Context, c *Client) error { _, err := c.Nodes(ctx, StatusPending); return err },
	"Node":      func(ctx context.Context, c *Client) error { _, err := c.Node(ctx, "n1"); return err },
	"SetStatus": setStatusAll,
	"SetStatusMany": func(ctx context.Context, c *Client) error {
		_, err := c.SetStatusMany(ctx, StatusAccepted, []string{"n1", "n2"})
		return err
	},
	"ImportBundle": func(ctx context.Context, c *Client) error {
		_, err := c.ImportBundle(ctx, strings.NewReader("b"))
		return err
	},
	"ExportPolicies":       func(ctx context.Context, c *Client) error { _, _, err := c.ExportPolicies(ctx, "r1"); return err },
	"Relays":               func(ctx context.Context, c *Client) error { _, err := c.Relays(ctx); return err },
	"Drift":                func(ctx context.Context, c *Client) error { _, err := c.Drift(ctx, 10); return err },
	"Compliance":           func(ctx context.Context, c *Client) error { _, err := c.Compliance(ctx); return err },
	"ComplianceRules":      func(ctx context.Context, c *Client) error { _, err := c.ComplianceRules(ctx); return err },
	"ComplianceDirectives": func(ctx context.Context, c *Client) error { _, err := c.ComplianceDirectives(ctx); return err },
	"ComplianceRule": func(ctx context.Context, c *Client) error {
		_, err := c.ComplianceRule(ctx, "r1", ComplianceQuery{States: []string{"error"}, All: true})
		return err
	},
	"ComplianceDirective": func(ctx context.Context, c *Client) error {
		_, err := c.ComplianceDirective(ctx, "d1", ComplianceQuery{States: []string{"error"}, All: true})
		return err
	},
	"ComplianceNodes": func(ctx context.Context, c *Client) error { _, err := c.ComplianceNodes(ctx); return err },
	"ComplianceNode": func(ctx context.Context, c *Client) error {
		_, err := c.ComplianceNode(ctx, "n1", ComplianceQuery{States: []string{"error"}})
		return err
	},
	"ComplianceHistory": func(ctx context.Context, c *Client) error {
		_, err := c.ComplianceHistory(ctx, "rules", "r1", time.Unix(1e9, 0))
		return err
	},
	"ComplianceGroup": func(ctx context.Context, c *Client) error { _, err := c.ComplianceGroup(ctx, "g1"); return err },
	"InventoryQueue":  func(ctx context.Context, c *Client) error { _, err := c.InventoryQueue(ctx); return err },
	"Watcher": func(ctx context.Context, c *Client) error {
		if _, err := c.Watcher(ctx, ""); err != nil {
			return err
		}
		_, err := c.Watcher(ctx, "restart")
		return err
	},
	"NodeInventory":    func(ctx context.Context, c *Client) error { _, err := c.NodeInventory(ctx, "n1", 2); return err },
	"InventoryHistory": func(ctx context.Context, c *Client) error { _, err := c.InventoryHistory(ctx, "n1"); return err },
	"InventoryDiff":    func(ctx context.Context, c *Client) error { _, err := c.InventoryDiff(ctx, "n1", 2, 1); return err },
	"Software":         func(ctx context.Context, c *Client) error { _, err := c.Software(ctx, "openssl", "3.0"); return err },
	"NodeFacts": func(ctx context.Context, c *Client) error {
		_, err := c.NodeFacts(ctx, []string{"os.family=debian"}, []string{"memory.total"})
		return err
	},
	"Members":          func(ctx context.Context, c *Client) error { _, err := c.Members(ctx, "core"); return err },
	"GossipKeys":       func(ctx context.Context, c *Client) error { _, err := c.GossipKeys(ctx); return err },
	"RotateGossipKeys": func(ctx context.Context, c *Client) error { return c.RotateGossipKeys(ctx, time.Minute) },
	"NodeProperties":   func(ctx context.Context, c *Client) error { _, err := c.NodeProperties(ctx, "n1"); return err },
	"SetNodeProperties": func(ctx context.Context, c *Client) error {
		_, err := c.SetNodeProperties(ctx, "n1", PropertyChange{Unset: []string{"p"}})
		return err
	},
	"SetNodeSettings": func(ctx context.Context, c *Client) error {
		_, err := c.SetNodeSettings(ctx, "n1", json.RawMessage(`{}`))
		return err
	},
	"Runs":    func(ctx context.Context, c *Client) error { _, err := c.Runs(ctx, "n1"); return err },
	"Objects": eachCollection(func(ctx context.Context, c *Client, coll string) error { _, err := c.Objects(ctx, coll); return err }),
	"Object": eachCollection(func(ctx context.Context, c *Client, coll string) error {
		_, err := c.Object(ctx, coll, "x")
		return err
	}),
	"DeleteObject": eachCollection(func(ctx context.Context, c *Client, coll string) error {
		_, err := c.DeleteObject(ctx, coll, "x")
		return err
	}),
	"Apply":        func(ctx context.Context, c *Client) error { _, err := c.Apply(ctx, ApplyRequest{}); return err },
	"Export":       func(ctx context.Context, c *Client) error { _, err := c.Export(ctx); return err },
	"Events":       func(ctx context.Context, c *Client) error { _, err := c.Events(ctx); return err },
	"Revert":       func(ctx context.Context, c *Client) error { _, err := c.Revert(ctx, 7); return err },
	"PolicyStatus": func(ctx context.Context, c *Client) error { _, err := c.PolicyStatus(ctx); return err },
	"Regenerate":   func(ctx context.Context, c *Client) error { _, err := c.Regenerate(ctx); return err },
	"NodePolicy":   func(ctx context.Context, c *Client) error { _, err := c.NodePolicy(ctx, "n1"); return err },
	"Why":          func(ctx context.Context, c *Client) error { _, err := c.Why(ctx, "n1", "d1"); return err },
	"OpenAPI":      func(ctx context.Context, c *Client) error { _, err := c.OpenAPI(ctx); return err },
	"Tokens":       func(ctx context.Context, c *Client) error { _, err := c.Tokens(ctx); return err },
	"CreateToken": func(ctx context.Context, c *Client) error {
		_, err := c.CreateToken(ctx, TokenRequest{Name: "ci", Role: "operator", Expires: time.Unix(2e9, 0)})
		return err
	},
	"RevokeToken": func(ctx context.Context, c *Client) error { _, err := c.RevokeToken(ctx, "ci"); return err },
}

func setStatusAll(ctx context.Context, c *Client) error {
	for _, s := range []string{StatusAccepted, StatusRefused, StatusDeleted} {
		if _, err := c.SetStatus(ctx, "n1", s); err != nil {
			return err
		}
	}
	return nil
}

// eachCollection calls a collection method with every collection of the policy model.
func eachCollection(call func(ctx context.Context, c *Client, coll string) error) func(context.Context, *Client) error {
	return func(ctx context.Context, c *Client) error {
		for _, coll := range []string{"techniques", "directives", "groups", "rules", "parameters"} {
			if err := call(ctx, c, coll); err != nil {
				return err
			}
		}
		return nil
	}
}

// matchPath matches a request path against a documented path, a parameter matching one
// segment. (Ids with slashes, technique id/version, match ServeMux patterns {id...} that
// the document writes {id}; the calls below use ids without slashes.)
func matchPath(template, path string) bool {
	ts, ps := strings.Split(template, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return false
	}
	for i, seg := range ts {
		if strings.HasPrefix(seg, "{") && ps[i] != "" || seg == ps[i] {
			continue
		}
		return false
	}
	return true
}

// TestClientCallsDocumentedPaths sends every call of the CLI's Client to a loopback
// server and checks each request's method, path and query parameters against the document.
func TestClientCallsDocumentedPaths(t *testing.T) {
	ct := reflect.TypeOf(&Client{})
	for i := range ct.NumMethod() {
		if name := ct.Method(i).Name; clientCalls[name] == nil {
			t.Errorf("Client.%s is not in clientCalls: add a call to it in openapi_test.go", name)
		}
	}
	var mu sync.Mutex
	var got []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	hc := srv.Client()
	hc.Timeout = 10 * time.Second
	c := &Client{BaseURL: srv.URL, Token: "t", HTTP: hc}
	ctx := context.Background()
	for name, call := range clientCalls {
		if err := call(ctx, c); err != nil {
			t.Errorf("Client.%s: %v", name, err)
		}
	}

	doc := openAPIDoc(t)
	ops := operations(t, doc)
	for _, r := range got {
		var found *operation
		for i := range ops {
			if ops[i].method == r.Method && matchPath(ops[i].path, r.URL.EscapedPath()) {
				found = &ops[i]
				break
			}
		}
		if found == nil {
			t.Errorf("the Client calls %s %s, which openapi.json does not document", r.Method, r.URL.EscapedPath())
			continue
		}
		query := map[string]bool{}
		params, _ := found.op["parameters"].([]any)
		for _, p := range params {
			p, _ := resolve(doc, p)
			if pm, _ := p.(map[string]any); pm["in"] == "query" {
				query[pm["name"].(string)] = true
			}
		}
		for k := range r.URL.Query() {
			if !query[k] {
				t.Errorf("the Client calls %s with ?%s=, which openapi.json does not document for %v", r.URL, k, found)
			}
		}
	}
	if len(got) < len(clientCalls) {
		t.Errorf("got %d requests from %d calls", len(got), len(clientCalls))
	}
}

// schemaTypes maps the document's schemas to the Go types they describe. A schema that
// describes no Go type of this package (an enum of names, a body another package
// decodes) is listed with nil.
var schemaTypes = map[string]reflect.Type{
	"AppliedPolicy": reflect.TypeFor[AppliedPolicy](), "ApplyRequest": reflect.TypeFor[ApplyRequest](),
	"ChangeResult": reflect.TypeFor[ChangeResult](), "ComplianceChange": reflect.TypeFor[ComplianceChange](),
	"ComplianceComponent": reflect.TypeFor[ComplianceComponent](), "ComplianceComponentSummary": reflect.TypeFor[ComplianceComponentSummary](),
	"ComplianceCounts": reflect.TypeFor[ComplianceCounts](), "ComplianceDirectiveDetail": reflect.TypeFor[ComplianceDirectiveDetail](),
	"ComplianceFleet": reflect.TypeFor[ComplianceFleet](), "ComplianceGroup": reflect.TypeFor[ComplianceGroup](),
	"ComplianceHistory": reflect.TypeFor[ComplianceHistory](), "ComplianceList": reflect.TypeFor[ComplianceList](),
	"ComplianceNode": reflect.TypeFor[ComplianceNode](), "ComplianceNodeDetail": reflect.TypeFor[ComplianceNodeDetail](),
	"ComplianceNodeDirective": reflect.TypeFor[ComplianceNodeDirective](), "ComplianceNodeList": reflect.TypeFor[ComplianceNodeList](),
	"ComplianceNodeRow": reflect.TypeFor[ComplianceNodeRow](), "CompliancePoint": reflect.TypeFor[CompliancePoint](),
	"ComplianceRuleDetail": reflect.TypeFor[ComplianceRuleDetail](), "ComplianceScore": reflect.TypeFor[ComplianceScore](),
	"ComplianceSummary": reflect.TypeFor[ComplianceSummary](), "Error": reflect.TypeFor[Error](),
	"ErrorBody": reflect.TypeFor[ErrorBody](), "DriftEvent": reflect.TypeFor[DriftEvent](), "NodeBatch": reflect.TypeFor[NodeBatch](), "NodeBatchResult": reflect.TypeFor[NodeBatchResult](), "DriftList": reflect.TypeFor[DriftList](), "Event": reflect.TypeFor[Event](), "EventChange": reflect.TypeFor[EventChange](),
	"EventList": reflect.TypeFor[EventList](), "File": reflect.TypeFor[File](), "Files": reflect.TypeFor[Files](),
	"GenerationStatus": reflect.TypeFor[GenerationStatus](), "GossipKey": reflect.TypeFor[GossipKey](),
	"ImportResult": reflect.TypeFor[ImportResult](), "InventoryAnswer": reflect.TypeFor[InventoryAnswer](),
	"InventoryDiff": reflect.TypeFor[InventoryDiff](), "InventoryHistory": reflect.TypeFor[InventoryHistory](),
	"InventoryQueue": reflect.TypeFor[InventoryQueue](), "InventoryVersion": reflect.TypeFor[InventoryVersion](),
	"KeyList": reflect.TypeFor[KeyList](), "Member": reflect.TypeFor[Member](), "MemberList": reflect.TypeFor[MemberList](),
	"Node": reflect.TypeFor[Node](), "NodeChange": reflect.TypeFor[NodeChange](), "NodeFact": reflect.TypeFor[NodeFact](),
	"NodeFacts": reflect.TypeFor[NodeFacts](), "NodeInventory": reflect.TypeFor[NodeInventory](), "NodeList": reflect.TypeFor[NodeList](), "NodeCounts": reflect.TypeFor[NodeCounts](),
	"NodeProperties": reflect.TypeFor[NodeProperties](), "Object": reflect.TypeFor[Object](), "ObjectList": reflect.TypeFor[ObjectList](),
	"PackageChange": reflect.TypeFor[PackageChange](), "PackageRef": reflect.TypeFor[PackageRef](), "Property": reflect.TypeFor[Property](),
	"PropertyChange": reflect.TypeFor[PropertyChange](), "Relay": reflect.TypeFor[Relay](), "RelayList": reflect.TypeFor[RelayList](),
	"RelayStats": reflect.TypeFor[RelayStats](), "RunLedger": reflect.TypeFor[RunLedger](), "SectionChange": reflect.TypeFor[SectionChange](),
	"SoftwareInstall": reflect.TypeFor[SoftwareInstall](), "SoftwareSearch": reflect.TypeFor[SoftwareSearch](),
	"Status": reflect.TypeFor[Status](), "Watcher": reflect.TypeFor[Watcher](), "Why": reflect.TypeFor[Why](),
	"Token": reflect.TypeFor[Token](), "TokenList": reflect.TypeFor[TokenList](), "TokenRequest": reflect.TypeFor[TokenRequest](),
	"TokenCreated": reflect.TypeFor[TokenCreated](), "TokenRevoked": reflect.TypeFor[TokenRevoked](),

	"ComplianceState": nil, "NodeStatus": nil, "ErrorCode": nil,
	"KeyRotation":  nil, // a map the root answers POST /api/v1/mesh/keys/rotate with
	"NodeSettings": nil, // policy.NodeSettings, the body of PUT /api/v1/nodes/{id}/settings
	"Settings":     nil, // policy.Settings, the object of GET /api/v1/settings
}

// goField is one JSON field of a Go struct.
type goField struct {
	typ      reflect.Type
	required bool // no omitempty or omitzero
}

// jsonFields lists the JSON fields of a struct as encoding/json writes them, embedded
// structs flattened.
func jsonFields(t reflect.Type) map[string]goField {
	out := map[string]goField{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = goField{f.Type, !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero")}
	}
	return out
}

// wantJSONType is the JSON Schema type a Go type encodes to, "" for any JSON, and the
// schema name for a struct of this package.
func wantJSONType(t reflect.Type) (typ, ref string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[json.RawMessage]():
		return "", ""
	case t == reflect.TypeFor[time.Time]():
		return "string", ""
	}
	switch t.Kind() {
	case reflect.String:
		return "string", ""
	case reflect.Bool:
		return "boolean", ""
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer", ""
	case reflect.Float32, reflect.Float64:
		return "number", ""
	case reflect.Slice, reflect.Array:
		return "array", ""
	case reflect.Map:
		return "object", ""
	case reflect.Struct:
		return "object", t.Name()
	}
	return t.Kind().String(), ""
}

// TestOpenAPISchemasMatchGoTypes checks every schema against its Go type: the same JSON
// field names, required exactly when the field is never left out, and the same JSON type.
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	doc := openAPIDoc(t)
	schemas, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name := range schemas {
		if _, ok := schemaTypes[name]; !ok {
			t.Errorf("components.schemas.%s: no Go type in schemaTypes (openapi_test.go); add it, or nil if it has none", name)
		}
	}
	for name, typ := range schemaTypes {
		s, ok := schemas[name].(map[string]any)
		if !ok {
			t.Errorf("Go type %s has no schema components.schemas.%s in openapi.json", typ, name)
			continue
		}
		if typ == nil {
			continue
		}
		props, required := map[string]any{}, map[string]bool{}
		var gather func(s any)
		gather = func(s any) {
			s, _ = resolve(doc, s)
			m, _ := s.(map[string]any)
			ps, _ := m["properties"].(map[string]any)
			for k, v := range ps {
				props[k] = v
			}
			for _, r := range asAnyList(m["required"]) {
				required[r.(string)] = true
			}
			for _, part := range asAnyList(m["allOf"]) {
				gather(part)
			}
		}
		gather(s)
		fields := jsonFields(typ)
		for f, gf := range fields {
			p, ok := props[f]
			if !ok {
				t.Errorf("%s: Go field %q is not in the schema's properties", name, f)
				continue
			}
			if gf.required != required[f] {
				t.Errorf("%s.%s: required is %v in the schema; want %v (omitempty or omitzero: not required)", name, f, required[f], gf.required)
			}
			wantType, wantRef := wantJSONType(gf.typ)
			pm, _ := p.(map[string]any)
			if wantRef != "" {
				if r, _ := pm["$ref"].(string); r != "#/components/schemas/"+wantRef {
					t.Errorf("%s.%s: got %v, want {\"$ref\": \"#/components/schemas/%s\"}", name, f, p, wantRef)
				}
				continue
			}
			rp, _ := resolve(doc, p)
			rpm, _ := rp.(map[string]any)
			var got []string
			switch ty := rpm["type"].(type) {
			case string:
				got = []string{ty}
			case []any:
				for _, x := range ty {
					got = append(got, x.(string))
				}
			}
			if wantType == "" {
				if len(got) != 0 {
					t.Errorf("%s.%s: raw JSON in Go, typed %v in the schema", name, f, got)
				}
				continue
			}
			if !slices.Contains(got, wantType) {
				t.Errorf("%s.%s: schema type %v, want %s", name, f, got, wantType)
			}
		}
		for p := range props {
			if _, ok := fields[p]; !ok {
				t.Errorf("%s: property %q is not a JSON field of %s", name, p, typ)
			}
		}
	}
}

func asAnyList(v any) []any { l, _ := v.([]any); return l }
