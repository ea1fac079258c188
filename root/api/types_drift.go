package api

import "time"

// DriftEvent is one line of the root's drift log: a repaired, non-compliant or error result
// of a node's run, as the drift hooks receive it.
type DriftEvent struct {
	Time           time.Time `json:"time"`
	Kind           string    `json:"kind"` // repaired, non-compliant or error
	NodeID         string    `json:"nodeId"`
	Hostname       string    `json:"hostname,omitempty"`
	RunID          uint64    `json:"runId"`
	ConfigID       string    `json:"configId"`
	RunEnd         time.Time `json:"runEnd"`
	RuleID         string    `json:"ruleId"`
	RuleName       string    `json:"ruleName,omitempty"`
	DirectiveID    string    `json:"directiveId"`
	DirectiveName  string    `json:"directiveName,omitempty"`
	ComponentIndex int       `json:"componentIndex"`
	ComponentID    string    `json:"componentId,omitempty"`
	ComponentName  string    `json:"componentName,omitempty"`
	State          string    `json:"state"`
	Status         string    `json:"status"`
	Message        string    `json:"message,omitempty"`
}

// DriftList is the answer of GET /api/v1/drift?limit=N: the latest drift events, newest
// first. Truncated is true when the log holds older events than those returned.
type DriftList struct {
	SchemaVersion int          `json:"schemaVersion"`
	Events        []DriftEvent `json:"events"`
	Truncated     bool         `json:"truncated"`
}
