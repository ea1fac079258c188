package cli

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/bosun-io/bosun/root/api"
)

func TestAPISpec(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	env, seen, out := fakeRoot(t, map[string]any{"/api/v1/openapi.json": doc})
	if err := Main(context.Background(), []*Command{apiSpecCommand}, []string{"api", "spec"}, env); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("bosun api spec printed no JSON: %v\n%.200s", err, out)
	}
	if got["openapi"] != doc["openapi"] || len(*seen) != 1 || (*seen)[0] != "/api/v1/openapi.json" {
		t.Errorf("got openapi %v after requests %v, want %v from /api/v1/openapi.json", got["openapi"], *seen, doc["openapi"])
	}
}
