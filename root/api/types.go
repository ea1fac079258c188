package api

import (
	"encoding/json"
	"time"
)

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
	// Liveness is what gossip says of the node (alive, suspect, dead, left), "" when the
	// node does not gossip.
	Liveness        string    `json:"liveness,omitempty"`
	LivenessSince   time.Time `json:"livenessSince,omitzero"`
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
	// Total is the number of nodes that match, over every page; set only when the request
	// asked for a page (limit=).
	Total *int `json:"total,omitempty"`
}

// NodeCounts is the answer of GET /api/v1/nodes/counts: the registry's nodes counted by
// status and by what gossip says of them ("unknown": never heard of in gossip).
type NodeCounts struct {
	SchemaVersion int            `json:"schemaVersion"`
	Total         int            `json:"total"`
	ByStatus      map[string]int `json:"byStatus"`
	ByLiveness    map[string]int `json:"byLiveness"`
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

// GenerationStatus is the answer of GET /api/v1/policy/status.
type GenerationStatus struct {
	Running   bool      `json:"running"`
	LastStart time.Time `json:"lastStart,omitzero"`
	LastEnd   time.Time `json:"lastEnd,omitzero"`
	Duration  string    `json:"duration,omitempty"`
	Compiled  int       `json:"compiled"`
	Changed   int       `json:"changed"`
	Problems  []string  `json:"problems,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// Event is one entry of the event log: who changed what, when, with every object before
// and after.
type Event struct {
	ID      uint64        `json:"id"`
	Time    time.Time     `json:"time"`
	By      string        `json:"by"`
	What    string        `json:"what"`
	Changes []EventChange `json:"changes,omitempty"`
}

// EventChange is one object an event changed.
type EventChange struct {
	Kind   string          `json:"kind"`
	ID     string          `json:"id"`
	Op     string          `json:"op"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// Object is one object of the policy model, as the API returns it.
type Object struct {
	SchemaVersion int             `json:"schemaVersion"`
	Kind          string          `json:"kind"`
	Object        json.RawMessage `json:"object"`
}

// ObjectList is a list of objects of one kind.
type ObjectList struct {
	SchemaVersion int               `json:"schemaVersion"`
	Kind          string            `json:"kind"`
	Objects       []json.RawMessage `json:"objects"`
}

// File is one YAML file, for apply and export.
type File struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// Files is the answer of GET /api/v1/export.
type Files struct {
	SchemaVersion int    `json:"schemaVersion"`
	Files         []File `json:"files"`
}

// ApplyRequest is the body of POST /api/v1/apply: YAML documents of any kinds, applied all
// or nothing.
type ApplyRequest struct {
	Files  []File `json:"files"`
	DryRun bool   `json:"dryRun,omitempty"`
	// Kind, if set, requires every document to be of that kind; Op "create" requires every
	// object to be new, "update" every object to exist (bosun KIND create|update).
	Kind string `json:"kind,omitempty"`
	Op   string `json:"op,omitempty"`
}

// ChangeResult answers a change to the model: what changed, and the event recording it
// (none on a dry run, or when nothing changed).
type ChangeResult struct {
	SchemaVersion int           `json:"schemaVersion"`
	DryRun        bool          `json:"dryRun,omitempty"`
	Changes       []EventChange `json:"changes"`
	Event         *Event        `json:"event,omitempty"`
}

// EventList is the answer of GET /api/v1/events, newest first.
type EventList struct {
	SchemaVersion int     `json:"schemaVersion"`
	Events        []Event `json:"events"`
}

// AppliedPolicy is the answer of GET /api/v1/nodes/{id}/policy.
type AppliedPolicy struct {
	SchemaVersion int             `json:"schemaVersion"`
	Policy        json.RawMessage `json:"policy"`
}

// Why is the answer of GET /api/v1/nodes/{id}/policy/why: which rules and groups put each
// directive on the node, and how its mode was decided.
type Why struct {
	SchemaVersion int             `json:"schemaVersion"`
	NodeID        string          `json:"nodeId"`
	Directives    json.RawMessage `json:"directives"`
}

// ImportResult is the answer of POST /api/v1/bundles.
type ImportResult struct {
	SchemaVersion   int    `json:"schemaVersion"`
	BundleID        string `json:"bundleId"`
	Relay           string `json:"relay"`
	Items           int    `json:"items"`
	AlreadyImported bool   `json:"alreadyImported,omitempty"`
}

// RelayStats are the figures a relay last reported about its queue and uplink.
type RelayStats struct {
	Reported       time.Time `json:"reported"`
	QueueDepth     uint64    `json:"queueDepth"`
	QueueBytes     uint64    `json:"queueBytes"`
	OldestQueued   time.Time `json:"oldestQueued,omitzero"`
	BytesSent      uint64    `json:"bytesSent"`
	BytesReceived  uint64    `json:"bytesReceived"`
	Forwarded      uint64    `json:"forwarded"`
	UpstreamUp     bool      `json:"upstreamUp"`
	UpstreamSince  time.Time `json:"upstreamSince,omitzero"`
	UpstreamError  string    `json:"upstreamError,omitempty"`
	CachedPolicies uint64    `json:"cachedPolicies"`
	Zone           string    `json:"zone,omitempty"`
	GossipAddr     string    `json:"gossipAddr,omitempty"`
	QUICAddr       string    `json:"quicAddr,omitempty"`
}

// Relay is a relay with the nodes behind it and its last figures (none before it reported).
type Relay struct {
	Node  Node        `json:"node"`
	Nodes int         `json:"nodes"`
	Stats *RelayStats `json:"stats,omitempty"`
}

// RelayList is the answer of GET /api/v1/relays.
type RelayList struct {
	SchemaVersion int     `json:"schemaVersion"`
	Relays        []Relay `json:"relays"`
}

// Property is one property a node sees. Provenance says whether it is a global parameter
// ("global"), the node's own ("node"), or the node's JSON object merged over a global one
// ("node+global"); Source says where a node's own came from ("operator" or "inventory").
type Property struct {
	Name       string          `json:"name"`
	Value      json.RawMessage `json:"value"`
	Provenance string          `json:"provenance"`
	Source     string          `json:"source,omitempty"`
	Overrides  json.RawMessage `json:"overrides,omitempty"`
}

// NodeProperties is the answer of GET /api/v1/nodes/{id}/properties.
type NodeProperties struct {
	SchemaVersion int             `json:"schemaVersion"`
	NodeID        string          `json:"nodeId"`
	Properties    []Property      `json:"properties"`
	Settings      json.RawMessage `json:"settings,omitempty"`
}

// PropertyChange is the body of PATCH /api/v1/nodes/{id}/properties.
type PropertyChange struct {
	Set   map[string]json.RawMessage `json:"set,omitempty"`
	Unset []string                   `json:"unset,omitempty"`
}

// Member is a node as gossip sees it: alive, suspect, dead or left, since when, and through
// which relay's zone (Via) the root heard of it.
type Member struct {
	NodeID   string    `json:"nodeId"`
	Hostname string    `json:"hostname,omitempty"`
	Role     string    `json:"role,omitempty"`
	Zone     string    `json:"zone"`
	State    string    `json:"state"`
	Since    time.Time `json:"since,omitzero"`
	Via      string    `json:"via,omitempty"`
	Addr     string    `json:"addr,omitempty"`
}

// MemberList is the answer of GET /api/v1/mesh/members.
type MemberList struct {
	SchemaVersion int      `json:"schemaVersion"`
	Members       []Member `json:"members"`
}

// GossipKey describes one gossip key without revealing it.
type GossipKey struct {
	Fingerprint string    `json:"fingerprint"`
	Added       time.Time `json:"added"`
	PrimaryAt   time.Time `json:"primaryAt"`
	Retire      time.Time `json:"retire,omitzero"`
}

// KeyList is the answer of GET /api/v1/mesh/keys.
type KeyList struct {
	SchemaVersion int         `json:"schemaVersion"`
	Keys          []GossipKey `json:"keys"`
}

// RunLedger is the answer of GET /api/v1/nodes/{id}/runs: how many of the node's runs the
// root took, and whether any went missing (gaps) or came twice (replays, refused).
type RunLedger struct {
	SchemaVersion int    `json:"schemaVersion"`
	NodeID        string `json:"nodeId"`
	Received      uint64 `json:"received"`
	Gaps          uint64 `json:"gaps"`
	Replays       uint64 `json:"replays"`
	First         uint64 `json:"first"`
	Last          uint64 `json:"last"`
}
