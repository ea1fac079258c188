package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// NodeProperties returns the properties a node sees, with their provenance.
func (c *Client) NodeProperties(ctx context.Context, id string) (NodeProperties, error) {
	var p NodeProperties
	err := c.do(ctx, http.MethodGet, "/api/v1/nodes/"+url.PathEscape(id)+"/properties", nil, &p)
	return p, err
}

// SetNodeProperties sets and removes a node's own properties.
func (c *Client) SetNodeProperties(ctx context.Context, id string, ch PropertyChange) (NodeProperties, error) {
	var p NodeProperties
	err := c.do(ctx, http.MethodPatch, "/api/v1/nodes/"+url.PathEscape(id)+"/properties", ch, &p)
	return p, err
}

// SetNodeSettings replaces a node's overrides of the global settings.
func (c *Client) SetNodeSettings(ctx context.Context, id string, settings json.RawMessage) (NodeProperties, error) {
	var p NodeProperties
	err := c.do(ctx, http.MethodPut, "/api/v1/nodes/"+url.PathEscape(id)+"/settings", settings, &p)
	return p, err
}

// Runs returns the ledger of a node's runs the root took.
func (c *Client) Runs(ctx context.Context, id string) (RunLedger, error) {
	var l RunLedger
	err := c.do(ctx, http.MethodGet, "/api/v1/nodes/"+url.PathEscape(id)+"/runs", nil, &l)
	return l, err
}
