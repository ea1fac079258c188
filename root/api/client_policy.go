package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Objects lists the objects of a collection: techniques, directives, groups, rules or
// parameters.
func (c *Client) Objects(ctx context.Context, collection string) (ObjectList, error) {
	var l ObjectList
	err := c.do(ctx, http.MethodGet, "/api/v1/"+collection, nil, &l)
	return l, err
}

// Object returns one object of a collection.
func (c *Client) Object(ctx context.Context, collection, id string) (Object, error) {
	var o Object
	err := c.do(ctx, http.MethodGet, "/api/v1/"+collection+"/"+escapeID(id), nil, &o)
	return o, err
}

// DeleteObject deletes one object of a collection.
func (c *Client) DeleteObject(ctx context.Context, collection, id string) (ChangeResult, error) {
	var r ChangeResult
	err := c.do(ctx, http.MethodDelete, "/api/v1/"+collection+"/"+escapeID(id), nil, &r)
	return r, err
}

// Apply applies YAML documents all or nothing.
func (c *Client) Apply(ctx context.Context, req ApplyRequest) (ChangeResult, error) {
	var r ChangeResult
	err := c.do(ctx, http.MethodPost, "/api/v1/apply", req, &r)
	return r, err
}

// Export returns the model as YAML files that apply back to it.
func (c *Client) Export(ctx context.Context) (Files, error) {
	var f Files
	err := c.do(ctx, http.MethodGet, "/api/v1/export", nil, &f)
	return f, err
}

// Events returns the event log, newest first.
func (c *Client) Events(ctx context.Context) ([]Event, error) {
	var l EventList
	err := c.do(ctx, http.MethodGet, "/api/v1/events", nil, &l)
	return l.Events, err
}

// Revert restores what an event changed, as a new event.
func (c *Client) Revert(ctx context.Context, id uint64) (ChangeResult, error) {
	var r ChangeResult
	err := c.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/events/%d/revert", id), nil, &r)
	return r, err
}

// PolicyStatus says whether a generation runs and how the last one went.
func (c *Client) PolicyStatus(ctx context.Context) (GenerationStatus, error) {
	var s GenerationStatus
	err := c.do(ctx, http.MethodGet, "/api/v1/policy/status", nil, &s)
	return s, err
}

// Regenerate recompiles every node's policy.
func (c *Client) Regenerate(ctx context.Context) (GenerationStatus, error) {
	var s GenerationStatus
	err := c.do(ctx, http.MethodPost, "/api/v1/policy/regenerate", nil, &s)
	return s, err
}

// NodePolicy returns a node's applied policy.
func (c *Client) NodePolicy(ctx context.Context, id string) (AppliedPolicy, error) {
	var p AppliedPolicy
	err := c.do(ctx, http.MethodGet, "/api/v1/nodes/"+url.PathEscape(id)+"/policy", nil, &p)
	return p, err
}

// Why explains which rules and groups put each directive on a node.
func (c *Client) Why(ctx context.Context, id, directive string) (Why, error) {
	var w Why
	path := "/api/v1/nodes/" + url.PathEscape(id) + "/policy/why"
	if directive != "" {
		path += "?directive=" + url.QueryEscape(directive)
	}
	err := c.do(ctx, http.MethodGet, path, nil, &w)
	return w, err
}

// escapeID keeps the slash of technique ids (id/version) as a path separator.
func escapeID(id string) string {
	u := url.URL{Path: id}
	return u.EscapedPath()
}
