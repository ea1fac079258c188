package api

import (
	"context"
	"fmt"
)

// Drift returns the latest drift events, newest first; limit 0 takes the root's default.
func (c *Client) Drift(ctx context.Context, limit int) (DriftList, error) {
	var out DriftList
	path := "/api/v1/drift"
	if limit > 0 {
		path += fmt.Sprintf("?limit=%d", limit)
	}
	return out, c.do(ctx, "GET", path, nil, &out)
}
