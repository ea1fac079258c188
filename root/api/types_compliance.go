package api

import "time"

// Compliance states, from best to worst, as the API and the CLI name them: not-applicable,
// audit-not-applicable, compliant, success, applying, reports-disabled, no-answer, missing,
// repaired, non-compliant, audit-error, error, unexpected, bad-policy-mode.

// ComplianceCounts are counts per state with their rounded percentages; states with no
// count are left out. Compliance is the compliance percentage (success, repaired, compliant
// and not applicable over everything counted but reports-disabled), absent when nothing is
// counted.
type ComplianceCounts struct {
	Counts     map[string]int64   `json:"counts"`
	Percent    map[string]float64 `json:"percent"`
	Total      int64              `json:"total"`
	Compliance *float64           `json:"compliance,omitempty"`
}

// ComplianceSummary is a rule's or a directive's compliance: its components' counts, and
// how many of the nodes it applies to comply with all of it (NodeCompliance, the rule
// compliance of DESIGN.md §1).
type ComplianceSummary struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Nodes          int64    `json:"nodes"`
	NodesCompliant int64    `json:"nodesCompliant"`
	NodeCompliance *float64 `json:"nodeCompliance,omitempty"`
	ComplianceCounts
}

// ComplianceFleet is the answer of GET /api/v1/compliance.
type ComplianceFleet struct {
	SchemaVersion int `json:"schemaVersion"`
	ComplianceCounts
	Nodes          int                 `json:"nodes"`
	NodesCompliant int                 `json:"nodesCompliant"`
	NodesByWorst   map[string]int64    `json:"nodesByWorst"`
	Rules          []ComplianceSummary `json:"rules"`
}

// ComplianceList is the answer of GET /api/v1/compliance/rules and /directives.
type ComplianceList struct {
	SchemaVersion int                 `json:"schemaVersion"`
	Kind          string              `json:"kind"` // rule or directive
	Items         []ComplianceSummary `json:"items"`
}

// ComplianceComponent is one component on one node.
type ComplianceComponent struct {
	Index         int    `json:"index"`
	ID            string `json:"id,omitempty"`
	Name          string `json:"name"`
	Value         string `json:"value,omitempty"`
	DirectiveID   string `json:"directiveId"`
	DirectiveName string `json:"directiveName,omitempty"`
	RuleID        string `json:"ruleId"`
	RuleName      string `json:"ruleName,omitempty"`
	Mode          string `json:"mode"`
	State         string `json:"state"`
	Message       string `json:"message,omitempty"`
	Reported      bool   `json:"reported"` // false: the component does not report
}

// ComplianceNodeRow is one node in a rule's or a directive's drill-down.
type ComplianceNodeRow struct {
	NodeID   string `json:"nodeId"`
	Hostname string `json:"hostname,omitempty"`
	Worst    string `json:"worst"`
	ComplianceCounts
	Components []ComplianceComponent `json:"components,omitempty"`
}

// ComplianceRuleDetail is the answer of GET /api/v1/compliance/rules/{id}.
type ComplianceRuleDetail struct {
	SchemaVersion int                 `json:"schemaVersion"`
	Rule          ComplianceSummary   `json:"rule"`
	Directives    []ComplianceSummary `json:"directives"`
	Nodes         []ComplianceNodeRow `json:"nodes"`
}

// ComplianceComponentSummary counts one component of a directive across nodes.
type ComplianceComponentSummary struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	ComplianceCounts
}

// ComplianceDirectiveDetail is the answer of GET /api/v1/compliance/directives/{id}.
type ComplianceDirectiveDetail struct {
	SchemaVersion int                          `json:"schemaVersion"`
	Directive     ComplianceSummary            `json:"directive"`
	Components    []ComplianceComponentSummary `json:"components"`
	Nodes         []ComplianceNodeRow          `json:"nodes"`
}

// ComplianceScore is a node's score, A (best) to F, and its sub-scores; an absent
// sub-score is empty (vulnerabilities without a CVE feed, updates without an inventory).
type ComplianceScore struct {
	Score            string   `json:"score"`
	Compliance       string   `json:"compliance,omitempty"`
	Updates          string   `json:"updates,omitempty"`
	Vulnerabilities  string   `json:"vulnerabilities,omitempty"`
	VulnerabilityIDs []string `json:"vulnerabilityIds,omitempty"`
}

// ComplianceNode is one node's compliance.
type ComplianceNode struct {
	NodeID        string    `json:"nodeId"`
	Hostname      string    `json:"hostname,omitempty"`
	ConfigID      string    `json:"configId"`
	Generated     time.Time `json:"generated"`
	ReportingMode string    `json:"reportingMode"`
	Worst         string    `json:"worst"`
	ComplianceCounts
	RunID       uint64          `json:"runId,omitempty"`
	RunConfigID string          `json:"runConfigId,omitempty"`
	RunStart    time.Time       `json:"runStart,omitzero"`
	RunEnd      time.Time       `json:"runEnd,omitzero"`
	ForceAudit  bool            `json:"forceAudit,omitempty"`
	Score       ComplianceScore `json:"score"`
}

// ComplianceNodeList is the answer of GET /api/v1/compliance/nodes.
type ComplianceNodeList struct {
	SchemaVersion int              `json:"schemaVersion"`
	Nodes         []ComplianceNode `json:"nodes"`
	// Total is the number of nodes that match, over every page; set only when the request
	// gave sort=, hostname=, node=, limit= or offset=.
	Total *int `json:"total,omitempty"`
}

// ComplianceNodeDirective is one directive on one node.
type ComplianceNodeDirective struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	RuleID          string   `json:"ruleId"`
	RuleName        string   `json:"ruleName,omitempty"`
	OverriddenRules []string `json:"overriddenRules,omitempty"`
	Worst           string   `json:"worst"`
	ComplianceCounts
}

// ComplianceNodeDetail is the answer of GET /api/v1/compliance/nodes/{id}.
type ComplianceNodeDetail struct {
	SchemaVersion int                       `json:"schemaVersion"`
	Node          ComplianceNode            `json:"node"`
	Directives    []ComplianceNodeDirective `json:"directives"`
	Components    []ComplianceComponent     `json:"components"`
}

// CompliancePoint is one point of compliance history: the counts from that time until
// the next point.
type CompliancePoint struct {
	Time time.Time `json:"time"`
	ComplianceCounts
}

// ComplianceChange is one change of state: of a component (ComponentIndex ≥ 0) after a
// run, or of a whole node with time alone (ComponentIndex -1: applying → no answer, ...).
type ComplianceChange struct {
	Time           time.Time `json:"time"`
	NodeID         string    `json:"nodeId"`
	RunID          uint64    `json:"runId,omitempty"`
	ComponentIndex int       `json:"componentIndex"`
	ComponentName  string    `json:"componentName,omitempty"`
	DirectiveID    string    `json:"directiveId,omitempty"`
	RuleID         string    `json:"ruleId,omitempty"`
	From           string    `json:"from"`
	To             string    `json:"to"`
	Message        string    `json:"message,omitempty"`
}

// ComplianceHistory is the answer of GET /api/v1/compliance/history/{rules|nodes}/{id}.
type ComplianceHistory struct {
	SchemaVersion int                `json:"schemaVersion"`
	Kind          string             `json:"kind"` // rule or node
	ID            string             `json:"id"`
	Points        []CompliancePoint  `json:"points"`
	Changes       []ComplianceChange `json:"changes,omitempty"`
}

// ComplianceGroup is the answer of GET /api/v1/compliance/groups/{id}: the components of
// the group's nodes counted by state.
type ComplianceGroup struct {
	SchemaVersion int    `json:"schemaVersion"`
	GroupID       string `json:"groupId"`
	Nodes         int    `json:"nodes"`
	ComplianceCounts
}
