package root

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/wire"
)

// The API reference, root/api/openapi.json, is written by hand. These tests keep it in
// step with the routes the root really registers and with the JSON it really answers.

var restParam = regexp.MustCompile(`\{([^}.]+)\.\.\.\}`)

// openAPIKey turns a ServeMux pattern into the document's "METHOD /path": OpenAPI has no
// multi-segment parameter, so {id...} is written {id} (its description says it may hold
// slashes).
func openAPIKey(pattern string) (string, bool) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		return "", false
	}
	path = strings.TrimSuffix(restParam.ReplaceAllString(path, "{$1}"), "{$}")
	return method + " " + path, true
}

type documented struct {
	role   string // "" for a public route
	public bool
}

func openAPIOperations(t *testing.T) (map[string]any, map[string]documented) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("root/api/openapi.json: %v", err)
	}
	ops := map[string]documented{}
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		for m, op := range item.(map[string]any) {
			op, ok := op.(map[string]any)
			if !ok || m == "parameters" {
				continue
			}
			sec, _ := op["security"].([]any)
			role, _ := op["x-bosun-role"].(string)
			ops[strings.ToUpper(m)+" "+p] = documented{role: role, public: sec != nil && len(sec) == 0}
		}
	}
	return doc, ops
}

// TestOpenAPIMatchesRoutes walks the routes the root registers under /api/v1 and the
// operations openapi.json documents, both ways. Its failure lists what to add or remove.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	r := startRoot(t, nil)
	_, ops := openAPIOperations(t)

	registered := map[string]api.Route{}
	var unmethoded []string
	for _, rt := range api.Routes(r.apiCfg) {
		_, path, _ := strings.Cut(rt.Pattern, " ")
		if !strings.HasPrefix(path, "/api/v1/") && !strings.HasPrefix(rt.Pattern, "/api/v1/") {
			continue // /metrics, /ui/, /ocsinventory and the catch-all are not the API's
		}
		key, ok := openAPIKey(rt.Pattern)
		if !ok {
			unmethoded = append(unmethoded, rt.Pattern)
			continue
		}
		registered[key] = rt
	}
	if len(registered) < 40 {
		t.Fatalf("only %d /api/v1 routes registered; is api.Routes walking the root's configuration?", len(registered))
	}
	for _, p := range unmethoded {
		t.Errorf("route %q has no method: give it one (GET %s) so that it can be documented", p, p)
	}

	var missing, extra, differ []string
	for _, key := range sortedKeys(registered) {
		rt := registered[key]
		d, ok := ops[key]
		switch {
		case !ok:
			missing = append(missing, skeleton(key, rt))
		case rt.Public != d.public:
			differ = append(differ, fmt.Sprintf("  %s: registered %s, documented %s", key, describe(rt.Public, rt.Role.String()), describe(d.public, d.role)))
		case !rt.Public && rt.Role.String() != d.role:
			differ = append(differ, fmt.Sprintf("  %s: registered for role %s, documented \"x-bosun-role\": %q", key, rt.Role, d.role))
		}
	}
	for _, key := range sortedKeys(ops) {
		if _, ok := registered[key]; !ok {
			extra = append(extra, "  "+key)
		}
	}
	if len(missing) > 0 {
		t.Errorf("registered but not in root/api/openapi.json; add each under \"paths\" (merge with the path's other methods), then fill in its summary, description, parameters, body and answers, with the answer's schema under components.schemas:\n%s",
			strings.Join(missing, "\n"))
	}
	if len(extra) > 0 {
		t.Errorf("in root/api/openapi.json but not registered by the root; remove them, or register the route:\n%s", strings.Join(extra, "\n"))
	}
	if len(differ) > 0 {
		t.Errorf("registered and documented differently; make root/api/openapi.json say what the route does:\n%s", strings.Join(differ, "\n"))
	}
}

func describe(public bool, role string) string {
	if public {
		return "public (\"security\": [])"
	}
	if role == "" {
		return "with a token but no \"x-bosun-role\""
	}
	return fmt.Sprintf("for role %s", role)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// skeleton is the JSON to paste into openapi.json for an undocumented route.
func skeleton(key string, rt api.Route) string {
	method, path, _ := strings.Cut(key, " ")
	op := map[string]any{
		"operationId": "TODO",
		"summary":     "TODO",
		"description": "TODO",
		"tags":        []string{"TODO"},
	}
	responses := map[string]any{
		"200": map[string]any{"description": "TODO", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/TODO"}}}},
		"500": map[string]any{"$ref": "#/components/responses/Internal"},
	}
	if rt.Public {
		op["security"] = []any{}
	} else {
		op["security"] = []any{map[string]any{"bearerToken": []any{}}}
		op["x-bosun-role"] = rt.Role.String()
		responses["401"] = map[string]any{"$ref": "#/components/responses/Unauthorized"}
		responses["403"] = map[string]any{"$ref": "#/components/responses/Forbidden"}
	}
	op["responses"] = responses
	var params []any
	for _, m := range regexp.MustCompile(`\{([^}]+)\}`).FindAllStringSubmatch(path, -1) {
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "description": "TODO", "schema": map[string]any{"type": "string"}})
	}
	if params != nil {
		op["parameters"] = params
	}
	b, _ := json.MarshalIndent(map[string]any{path: map[string]any{strings.ToLower(method): op}}, "    ", "  ")
	return fmt.Sprintf("  %s (%s):\n    %s", key, describe(rt.Public, rt.Role.String()), b)
}

// TestOpenAPISchemasMatchResponses decodes real answers of a running root and checks them
// against the schemas the document gives them: every required field is there, every field
// there is documented, and each has the documented type.
func TestOpenAPISchemasMatchResponses(t *testing.T) {
	r := startRootWith(t, func(c *Config) { c.ComplianceSampleInterval = 50 * time.Millisecond })
	ctx := context.Background()
	if _, err := r.api.Apply(ctx, api.ApplyRequest{Files: []api.File{{Name: "m.yml", Content: reportsModel}}}); err != nil {
		t.Fatal(err)
	}
	node := acceptedNode(t, r)
	acceptedNode(t, r) // applying: no run yet
	pending := newNode(t, r)
	if ack, err := pending.exchange(t, r, wire.NewEnrol(pending.stub(wire.RoleAgent, time.Now().UTC()), pending.id.Key)); err != nil || ack.Status != wire.AckOK {
		t.Fatalf("enrol: %v %+v", err, ack)
	}
	var cfg string
	eventually(t, 10*time.Second, "the node's policy", func() bool {
		cfg, _ = r.rep.eng.ConfigID(node.id.NodeID)
		return cfg != ""
	})
	now := time.Now().UTC()
	rep := node.report(t, wire.ReportBody{ConfigID: cfg, RunID: 1, Start: now.Add(-2 * time.Second), End: now, ReportingMode: wire.ReportingFull,
		Results: []wire.ComponentResult{{Index: 0, Status: wire.StatusAuditNonCompliant, Message: "package openssh-server is not installed"}}})
	if ack, err := node.exchange(t, r, rep); err != nil || ack.Status != wire.AckOK {
		t.Fatalf("report: %v %+v", err, ack)
	}

	doc, _ := openAPIOperations(t)
	id := node.id.NodeID
	tests := []struct {
		path, template string
		nonEmpty       string // a list the answer must not leave empty, so that its items are checked
	}{
		{"/api/v1/nodes", "/api/v1/nodes", "nodes"},
		{"/api/v1/nodes/" + id, "/api/v1/nodes/{id}", ""},
		{"/api/v1/nodes?limit=10&offset=0&hostname=&node=" + id, "/api/v1/nodes", "nodes"},
		{"/api/v1/nodes/counts", "/api/v1/nodes/counts", ""},
		{"/api/v1/compliance/nodes?sort=-score&limit=10", "/api/v1/compliance/nodes", "nodes"},
		{"/api/v1/compliance", "/api/v1/compliance", "rules"},
		{"/api/v1/compliance/nodes", "/api/v1/compliance/nodes", "nodes"},
		{"/api/v1/compliance/nodes/" + id, "/api/v1/compliance/nodes/{id}", "components"},
		{"/api/v1/compliance/rules/r-base?components=all", "/api/v1/compliance/rules/{id}", "nodes"},
		{"/api/v1/compliance/directives/d-ssh", "/api/v1/compliance/directives/{id}", "components"},
		{"/api/v1/status", "/api/v1/status", ""},
		{"/api/v1/settings", "/api/v1/settings", ""},
		{"/api/v1/events", "/api/v1/events", "events"},
		{"/api/v1/policy/status", "/api/v1/policy/status", ""},
		{"/api/v1/inventories/queue", "/api/v1/inventories/queue", ""},
		{"/api/v1/inventories/watcher", "/api/v1/inventories/watcher", ""},
		{"/api/v1/compliance/rules", "/api/v1/compliance/rules", "items"},
		{"/api/v1/compliance/directives", "/api/v1/compliance/directives", "items"},
		{"/api/v1/compliance/groups/all-nodes", "/api/v1/compliance/groups/{id}", ""},
		{"/api/v1/compliance/history/nodes/" + id, "/api/v1/compliance/history/{kind}/{id}", ""},
		{"/api/v1/nodes/" + id + "/properties", "/api/v1/nodes/{id}/properties", ""},
		{"/api/v1/nodes/" + id + "/runs", "/api/v1/nodes/{id}/runs", ""},
		{"/api/v1/nodes/" + id + "/policy", "/api/v1/nodes/{id}/policy", ""},
		{"/api/v1/nodes/" + id + "/policy/why", "/api/v1/nodes/{id}/policy/why", ""},
		{"/api/v1/rules", "/api/v1/rules", "objects"},
		{"/api/v1/rules/r-base", "/api/v1/rules/{id}", ""},
		{"/api/v1/techniques", "/api/v1/techniques", "objects"},
		{"/api/v1/export", "/api/v1/export", "files"},
		{"/api/v1/relays", "/api/v1/relays", ""},
		{"/api/v1/mesh/members", "/api/v1/mesh/members", ""},
		{"/api/v1/mesh/keys", "/api/v1/mesh/keys", ""},
		{"/api/v1/tokens", "/api/v1/tokens", "tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.template, func(t *testing.T) {
			body := getRaw(t, r, tt.path)
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("GET %s: %v", tt.path, err)
			}
			if tt.nonEmpty != "" {
				if l, _ := v.(map[string]any)[tt.nonEmpty].([]any); len(l) == 0 {
					t.Fatalf("GET %s: %q is empty; the test needs an item to check: %s", tt.path, tt.nonEmpty, body)
				}
			}
			schema, ok := resolveRef(doc, map[string]any{"$ref": "#/paths/" + strings.ReplaceAll(tt.template, "/", "~1") + "/get/responses/200/content/application~1json/schema"})
			if !ok {
				t.Fatalf("openapi.json documents no JSON answer of GET %s", tt.template)
			}
			for _, e := range checkSchema(doc, schema, v, "$") {
				t.Errorf("GET %s: %s", tt.path, e)
			}
		})
	}
	t.Run("/api/v1/openapi.json", func(t *testing.T) {
		if got := getRaw(t, r, "/api/v1/openapi.json"); string(got) != string(api.OpenAPI()) {
			t.Errorf("the root serves another document than root/api/openapi.json")
		}
	})
}

func getRaw(t *testing.T, r *testRoot, path string) []byte {
	t.Helper()
	code, b := getCode(t, r, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d: %s", path, code, b)
	}
	return b
}

func resolveRef(doc map[string]any, v any) (any, bool) {
	m, _ := v.(map[string]any)
	ref, ok := m["$ref"].(string)
	if !ok {
		return v, true
	}
	var cur any = doc
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		cm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = cm[part]; !ok {
			return nil, false
		}
	}
	return resolveRef(doc, cur)
}

// checkSchema checks v against the part of JSON Schema the document uses: $ref, allOf,
// type, enum, format date-time, properties, required, additionalProperties, propertyNames
// and items. It is stricter than the schema in one way: an object field the schema does
// not name is an error, so that a new field of a Go type cannot go undocumented.
func checkSchema(doc map[string]any, schema, v any, at string) []string {
	s, ok := resolveRef(doc, schema)
	if !ok {
		return []string{at + ": schema " + fmt.Sprint(schema) + " resolves to nothing"}
	}
	sm, _ := s.(map[string]any)
	var errs []string
	if types := schemaTypes(sm); len(types) > 0 && !slices.Contains(types, jsonType(v)) &&
		!(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		return []string{fmt.Sprintf("%s: got %s %s, want %v", at, jsonType(v), abbreviate(v), types)}
	}
	if enum, ok := sm["enum"].([]any); ok && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Sprintf("%s: got %v, want one of %v", at, v, enum))
	}
	if sm["format"] == "date-time" {
		if str, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %q is not a date-time: %v", at, str, err))
			}
		}
	}
	switch v := v.(type) {
	case []any:
		if items, ok := sm["items"]; ok {
			for i, x := range v {
				errs = append(errs, checkSchema(doc, items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case map[string]any:
		props, required, additional, names, closed := objectRules(doc, sm)
		for _, name := range required {
			if _, ok := v[name]; !ok {
				errs = append(errs, fmt.Sprintf("%s: no %q, which the schema requires", at, name))
			}
		}
		for _, k := range sortedKeys(v) {
			x := v[k]
			if names != nil {
				errs = append(errs, checkSchema(doc, names, k, at+" key")...)
			}
			switch {
			case props[k] != nil:
				errs = append(errs, checkSchema(doc, props[k], x, at+"."+k)...)
			case additional != nil:
				errs = append(errs, checkSchema(doc, additional, x, at+"."+k)...)
			case closed:
				errs = append(errs, fmt.Sprintf("%s: field %q is not in the schema; document it in root/api/openapi.json", at, k))
			}
		}
	}
	return errs
}

// objectRules gathers an object schema's rules over its allOf parts, as a Go struct's
// embedded fields are flattened into its JSON.
func objectRules(doc map[string]any, sm map[string]any) (props map[string]any, required []string, additional, names any, closed bool) {
	props = map[string]any{}
	var gather func(s any)
	gather = func(s any) {
		s, _ = resolveRef(doc, s)
		m, _ := s.(map[string]any)
		if p, ok := m["properties"].(map[string]any); ok {
			closed = true
			for k, v := range p {
				props[k] = v
			}
		}
		for _, r := range asList(m["required"]) {
			required = append(required, r.(string))
		}
		if a, ok := m["additionalProperties"].(map[string]any); ok {
			additional = a
		}
		if n, ok := m["propertyNames"]; ok {
			names = n
		}
		for _, part := range asList(m["allOf"]) {
			gather(part)
		}
	}
	gather(sm)
	return props, required, additional, names, closed && additional == nil
}

func asList(v any) []any { l, _ := v.([]any); return l }

func schemaTypes(sm map[string]any) []string {
	switch t := sm["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == float64(int64(v)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func abbreviate(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
