package api

import (
	"context"
	"net/http"
	"net/url"
)

// Tokens lists the API tokens, without their secrets.
func (c *Client) Tokens(ctx context.Context) (TokenList, error) {
	var l TokenList
	err := c.do(ctx, http.MethodGet, "/api/v1/tokens", nil, &l)
	return l, err
}

// CreateToken makes a token; the answer holds its secret, which the root shows only once.
func (c *Client) CreateToken(ctx context.Context, req TokenRequest) (TokenCreated, error) {
	var out TokenCreated
	err := c.do(ctx, http.MethodPost, "/api/v1/tokens", req, &out)
	return out, err
}

// RevokeToken deletes a token: the root refuses it from then on.
func (c *Client) RevokeToken(ctx context.Context, name string) (TokenRevoked, error) {
	var out TokenRevoked
	err := c.do(ctx, http.MethodDelete, "/api/v1/tokens/"+url.PathEscape(name), nil, &out)
	return out, err
}
