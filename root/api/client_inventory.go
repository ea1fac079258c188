package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// InventoryQueue returns how full the root's inventory ingestion is.
func (c *Client) InventoryQueue(ctx context.Context) (InventoryQueue, error) {
	var q InventoryQueue
	err := c.do(ctx, http.MethodGet, "/api/v1/inventories/queue", nil, &q)
	return q, err
}

// Watcher returns the state of the drop directory watcher; action "start", "stop" or
// "restart" changes it first.
func (c *Client) Watcher(ctx context.Context, action string) (Watcher, error) {
	var w Watcher
	if action == "" {
		err := c.do(ctx, http.MethodGet, "/api/v1/inventories/watcher", nil, &w)
		return w, err
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/inventories/watcher/"+url.PathEscape(action), nil, &w)
	return w, err
}

// NodeInventory returns a node's inventory, version versions back from the current one.
func (c *Client) NodeInventory(ctx context.Context, id string, version int) (NodeInventory, error) {
	path := "/api/v1/nodes/" + url.PathEscape(id) + "/inventory"
	if version != 0 {
		path += "?version=" + strconv.Itoa(version)
	}
	var inv NodeInventory
	err := c.do(ctx, http.MethodGet, path, nil, &inv)
	return inv, err
}

// InventoryHistory lists a node's stored inventories, newest first.
func (c *Client) InventoryHistory(ctx context.Context, id string) (InventoryHistory, error) {
	var h InventoryHistory
	err := c.do(ctx, http.MethodGet, "/api/v1/nodes/"+url.PathEscape(id)+"/inventory/history", nil, &h)
	return h, err
}

// InventoryDiff says what changed between two versions of a node's inventory.
func (c *Client) InventoryDiff(ctx context.Context, id string, from, to int) (InventoryDiff, error) {
	q := url.Values{"from": {strconv.Itoa(from)}, "to": {strconv.Itoa(to)}}
	var d InventoryDiff
	err := c.do(ctx, http.MethodGet, "/api/v1/nodes/"+url.PathEscape(id)+"/inventory/diff?"+q.Encode(), nil, &d)
	return d, err
}

// Software finds the nodes with a package, optionally only below a version.
func (c *Client) Software(ctx context.Context, name, versionBelow string) (SoftwareSearch, error) {
	q := url.Values{"name": {name}}
	if versionBelow != "" {
		q.Set("versionBelow", versionBelow)
	}
	var s SoftwareSearch
	err := c.do(ctx, http.MethodGet, "/api/v1/inventory/software?"+q.Encode(), nil, &s)
	return s, err
}

// NodeFacts lists the nodes matching every condition, with the values of the columns.
func (c *Client) NodeFacts(ctx context.Context, where, columns []string) (NodeFacts, error) {
	q := url.Values{"where": where, "column": columns}
	var f NodeFacts
	err := c.do(ctx, http.MethodGet, "/api/v1/inventory/nodes?"+q.Encode(), nil, &f)
	return f, err
}
