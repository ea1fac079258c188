package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
)

// openAPIDocument is the API reference. It is written by hand; TestOpenAPIMatchesRoutes in
// the root package fails, naming what to add, when it and the registered routes disagree.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the API reference, an OpenAPI 3.1 document of every /api/v1 route.
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }

func (s *server) openAPI(w http.ResponseWriter, _ *http.Request, _ Principal) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDocument)
}

// OpenAPI returns the root's API reference as the root serves it.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	var doc json.RawMessage
	err := c.do(ctx, http.MethodGet, "/api/v1/openapi.json", nil, &doc)
	return doc, err
}
