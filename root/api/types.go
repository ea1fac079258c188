package api

import "time"

// SchemaVersion versions the JSON documents of this API as the CLI prints them with --json.
const SchemaVersion = 1

// Node is a node as operators see it.
type Node struct {
	ID              string    `json:"id"`
	Hostname        string    `json:"hostname"`
	OS              string    `json:"os"`
	Role            string    `json:"role"`
	Status          string    `json:"status"`
	KeyFingerprint  string    `json:"keyFingerprint"`
	PolicyServer    string    `json:"policyServer"`
	Path            []string  `json:"path,omitempty"`
	SoftwareVersion string    `json:"softwareVersion"`
	FirstSeen       time.Time `json:"firstSeen"`
	LastSeen        time.Time `json:"lastSeen"`
	StatusChanged   time.Time `json:"statusChanged"`
	LastInventory   time.Time `json:"lastInventory,omitzero"`
	StatusChangedBy string    `json:"statusChangedBy,omitempty"`
}

// Node statuses. Only accepted nodes get policies; refused and deleted are final for the
// node's key until an operator accepts that node explicitly.
const (
	StatusPending  = "pending"
	StatusAccepted = "accepted"
	StatusRefused  = "refused"
	StatusDeleted  = "deleted"
)

// NodeList is the answer of GET /api/v1/nodes.
type NodeList struct {
	SchemaVersion int    `json:"schemaVersion"`
	Nodes         []Node `json:"nodes"`
}

// NodeChange is the answer of the routes that change a node's status.
type NodeChange struct {
	SchemaVersion int  `json:"schemaVersion"`
	Node          Node `json:"node"`
}

// Status is the answer of GET /api/v1/status: who the root is.
type Status struct {
	SchemaVersion   int    `json:"schemaVersion"`
	NodeID          string `json:"nodeId"`
	KeyFingerprint  string `json:"keyFingerprint"`
	SoftwareVersion string `json:"softwareVersion"`
	ProtocolVersion int    `json:"protocolVersion"`
	QUICAddress     string `json:"quicAddress"`
}

// Error is the body of every answer that is not a success.
type Error struct {
	Err ErrorBody `json:"error"`
}

// ErrorBody carries a stable code, for programs, and a message, for people.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// InventoryQueue is the answer of GET /api/v1/inventories/queue: how full the root's
// inventory ingestion is. Saturated means senders are told to retry later.
type InventoryQueue struct {
	QueueMaxSize   int  `json:"queueMaxSize"`
	QueueFillCount int  `json:"queueFillCount"`
	QueueSaturated bool `json:"queueSaturated"`
}
