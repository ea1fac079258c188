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

// maxAnswer bounds an answer the client reads.
const maxAnswer = 1 << 30

// Client calls the API; the CLI is its user.
type Client struct {
	BaseURL string // https://host:port
	Token   string
	HTTP    *http.Client
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// A node list of 100,000 nodes is about 80 MiB of JSON.
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e Error
		if json.Unmarshal(b, &e) != nil || e.Err.Code == "" {
			return &HTTPError{StatusCode: resp.StatusCode, Code: CodeInternal, Message: fmt.Sprintf("%s %s: unexpected answer %q", method, path, truncate(b, 200))}
		}
		return &HTTPError{StatusCode: resp.StatusCode, Code: e.Err.Code, Message: e.Err.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// Status returns who the root is.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.do(ctx, http.MethodGet, "/api/v1/status", nil, &s)
	return s, err
}

// Nodes lists nodes, all of them or those of one status.
func (c *Client) Nodes(ctx context.Context, status string) ([]Node, error) {
	path := "/api/v1/nodes"
	if status != "" {
		path += "?status=" + url.QueryEscape(status)
	}
	var l NodeList
	err := c.do(ctx, http.MethodGet, path, nil, &l)
	return l.Nodes, err
}

// Node returns one node.
func (c *Client) Node(ctx context.Context, id string) (Node, error) {
	var ch NodeChange
	err := c.do(ctx, http.MethodGet, "/api/v1/nodes/"+url.PathEscape(id), nil, &ch)
	return ch.Node, err
}

// SetStatus accepts, refuses or deletes a node.
func (c *Client) SetStatus(ctx context.Context, id, status string) (Node, error) {
	var ch NodeChange
	var err error
	switch status {
	case StatusAccepted:
		err = c.do(ctx, http.MethodPost, "/api/v1/nodes/"+url.PathEscape(id)+"/accept", nil, &ch)
	case StatusRefused:
		err = c.do(ctx, http.MethodPost, "/api/v1/nodes/"+url.PathEscape(id)+"/refuse", nil, &ch)
	case StatusDeleted:
		err = c.do(ctx, http.MethodDelete, "/api/v1/nodes/"+url.PathEscape(id), nil, &ch)
	default:
		return Node{}, fmt.Errorf("unknown node status %q", status)
	}
	return ch.Node, err
}
