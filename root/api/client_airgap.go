package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// doRaw sends a body as it is and returns the answer's body, for bundles.
func (c *Client) doRaw(ctx context.Context, method, path string, body io.Reader) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<30))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e Error
		if json.Unmarshal(b, &e) != nil || e.Err.Code == "" {
			return nil, nil, &HTTPError{StatusCode: resp.StatusCode, Code: CodeInternal, Message: fmt.Sprintf("%s %s: unexpected answer %q", method, path, truncate(b, 200))}
		}
		return nil, nil, &HTTPError{StatusCode: resp.StatusCode, Code: e.Err.Code, Message: e.Err.Message}
	}
	return b, resp.Header, nil
}

// ImportBundle uploads a relay's queue bundle; the root takes each bundle once.
func (c *Client) ImportBundle(ctx context.Context, bundle io.Reader) (ImportResult, error) {
	b, _, err := c.doRaw(ctx, http.MethodPost, "/api/v1/bundles", bundle)
	if err != nil {
		return ImportResult{}, err
	}
	var r ImportResult
	if err := json.Unmarshal(b, &r); err != nil {
		return ImportResult{}, fmt.Errorf("import bundle: decode answer: %w", err)
	}
	return r, nil
}

// ExportPolicies returns a signed bundle of the policies of the nodes behind a relay, and
// how many it holds.
func (c *Client) ExportPolicies(ctx context.Context, relayID string) ([]byte, string, error) {
	b, h, err := c.doRaw(ctx, http.MethodGet, "/api/v1/relays/"+url.PathEscape(relayID)+"/policies-bundle", nil)
	if err != nil {
		return nil, "", err
	}
	return bytes.Clone(b), h.Get("X-Bosun-Policies"), nil
}

// Relays lists the relays with their last figures.
func (c *Client) Relays(ctx context.Context) (RelayList, error) {
	var l RelayList
	err := c.do(ctx, http.MethodGet, "/api/v1/relays", nil, &l)
	return l, err
}
