package api

import (
	"encoding/json"
	"time"
)

// NodeRoleInventory is the role of an inventory-only node: a machine known from an
// inventory some other agent (FusionInventory, GLPI, Rudder) sent, which runs no bosun
// agent and is never sent a policy. It stays pending until an operator accepts it for
// listing; accepting it sends it nothing.
const NodeRoleInventory = "inventory"

// InventoryAnswer is the answer of POST /api/v1/inventories.
type InventoryAnswer struct {
	SchemaVersion int    `json:"schemaVersion"`
	NodeID        string `json:"nodeId"`
	Hostname      string `json:"hostname"`
	// InventoryOnly is true for a node without a bosun agent.
	InventoryOnly bool `json:"inventoryOnly"`
	// Stored is false when the root held a newer inventory of the node: nothing changed.
	Stored bool `json:"stored"`
	// Signed is true when a signature came with the inventory and verified.
	Signed bool `json:"signed"`
}

// NodeInventory is the answer of GET /api/v1/nodes/{id}/inventory: one inventory of the
// node, as the inventory package models it.
type NodeInventory struct {
	SchemaVersion int `json:"schemaVersion"`
	// Version counts back from the current inventory: 0 is the current one, 1 the one
	// before, and so on up to the history's length minus one.
	Version   int             `json:"version"`
	Node      Node            `json:"node"`
	Inventory json.RawMessage `json:"inventory"`
}

// InventoryVersion describes one stored inventory of a node.
type InventoryVersion struct {
	Version     int       `json:"version"`
	CollectedAt time.Time `json:"collectedAt"`
	Source      string    `json:"source,omitempty"`
	Hostname    string    `json:"hostname"`
	OS          string    `json:"os"`
	Packages    int       `json:"packages"`
	Updates     int       `json:"updates"`
}

// InventoryHistory is the answer of GET /api/v1/nodes/{id}/inventory/history, newest
// first.
type InventoryHistory struct {
	SchemaVersion int                `json:"schemaVersion"`
	NodeID        string             `json:"nodeId"`
	Versions      []InventoryVersion `json:"versions"`
}

// InventoryDiff is the answer of GET /api/v1/nodes/{id}/inventory/diff?from=N&to=M: what
// changed from version From to version To (default: from 1 to 0, the last change).
type InventoryDiff struct {
	SchemaVersion int       `json:"schemaVersion"`
	NodeID        string    `json:"nodeId"`
	From          int       `json:"from"`
	To            int       `json:"to"`
	FromTime      time.Time `json:"fromTime"`
	ToTime        time.Time `json:"toTime"`
	// Sections are the top-level fields of the model that changed, besides software,
	// with their value before and after (absent: the field was empty).
	Sections []SectionChange `json:"sections"`
	// Packages that appeared, disappeared or changed version.
	Added    []PackageRef    `json:"added"`
	Removed  []PackageRef    `json:"removed"`
	Upgraded []PackageChange `json:"upgraded"`
}

// SectionChange is one top-level field of an inventory that changed.
type SectionChange struct {
	Section string          `json:"section"`
	Before  json.RawMessage `json:"before,omitempty"`
	After   json.RawMessage `json:"after,omitempty"`
}

// PackageRef names one installed package.
type PackageRef struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"arch,omitempty"`
}

// PackageChange is a package whose version changed.
type PackageChange struct {
	Name         string `json:"name"`
	Architecture string `json:"arch,omitempty"`
	Before       string `json:"before"`
	After        string `json:"after"`
}

// SoftwareSearch is the answer of GET /api/v1/inventory/software?name=N[&versionBelow=V]:
// every node with that package, one row per installed version, ordered by hostname.
type SoftwareSearch struct {
	SchemaVersion int               `json:"schemaVersion"`
	Name          string            `json:"name"`
	VersionBelow  string            `json:"versionBelow,omitempty"`
	Installs      []SoftwareInstall `json:"installs"`
}

// SoftwareInstall is one package on one node.
type SoftwareInstall struct {
	NodeID       string `json:"nodeId"`
	Hostname     string `json:"hostname"`
	Status       string `json:"status"`
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"arch,omitempty"`
	Source       string `json:"source,omitempty"`
}

// NodeFacts is the answer of GET /api/v1/inventory/nodes?where=...&columns=...: the nodes
// whose inventory matches every condition, each with the requested fields.
type NodeFacts struct {
	SchemaVersion int        `json:"schemaVersion"`
	Columns       []string   `json:"columns"`
	Nodes         []NodeFact `json:"nodes"`
}

// NodeFact is one node with the values of the requested columns, in their order; a
// field the inventory lacks is null. Values are JSON: strings, numbers, lists.
type NodeFact struct {
	Node   Node              `json:"node"`
	Values []json.RawMessage `json:"values"`
}

// Watcher is the state of the root's drop directory watcher, the answer of
// GET /api/v1/inventories/watcher and of its start, stop and restart routes.
type Watcher struct {
	SchemaVersion int       `json:"schemaVersion"`
	Running       bool      `json:"running"`
	Directories   []string  `json:"directories"`
	LastScan      time.Time `json:"lastScan,omitzero"`
	Received      int       `json:"received"`
	Failed        int       `json:"failed"`
	Waiting       int       `json:"waiting"`
}

// Stable error codes of the inventory routes (see errors.go for the others).
const (
	CodeInventoryRefused = "inventory_refused" // malformed, incomplete or out of date (HTTP 412)
	CodeTooLarge         = "too_large"         // over the size the root takes (HTTP 413)
	CodeSaturated        = "saturated"         // the ingestion queue is full; retry later (HTTP 503)
)
