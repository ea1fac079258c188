package api

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Members lists what gossip says of the nodes, all zones or one.
func (c *Client) Members(ctx context.Context, zone string) (MemberList, error) {
	path := "/api/v1/mesh/members"
	if zone != "" {
		path += "?zone=" + url.QueryEscape(zone)
	}
	var l MemberList
	err := c.do(ctx, http.MethodGet, path, nil, &l)
	return l, err
}

// GossipKeys describes the gossip keyring.
func (c *Client) GossipKeys(ctx context.Context) (KeyList, error) {
	var l KeyList
	err := c.do(ctx, http.MethodGet, "/api/v1/mesh/keys", nil, &l)
	return l, err
}

// RotateGossipKeys starts a key rotation whose steps are step apart.
func (c *Client) RotateGossipKeys(ctx context.Context, step time.Duration) error {
	path := "/api/v1/mesh/keys/rotate"
	if step > 0 {
		path += "?step=" + url.QueryEscape(step.String())
	}
	return c.do(ctx, http.MethodPost, path, nil, nil)
}
