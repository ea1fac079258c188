package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ComplianceQuery narrows drill-downs: States keeps the nodes with a component in one of
// them and lists those components; All lists every component, compliant ones too.
type ComplianceQuery struct {
	States []string
	All    bool
}

func (q ComplianceQuery) encode() string {
	v := url.Values{}
	if len(q.States) > 0 {
		v.Set("state", strings.Join(q.States, ","))
	}
	if q.All {
		v.Set("components", "all")
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// Compliance returns the fleet's compliance with its rules.
func (c *Client) Compliance(ctx context.Context) (ComplianceFleet, error) {
	var f ComplianceFleet
	err := c.do(ctx, http.MethodGet, "/api/v1/compliance", nil, &f)
	return f, err
}

// ComplianceRules returns every rule's compliance.
func (c *Client) ComplianceRules(ctx context.Context) (ComplianceList, error) {
	var l ComplianceList
	err := c.do(ctx, http.MethodGet, "/api/v1/compliance/rules", nil, &l)
	return l, err
}

// ComplianceDirectives returns every directive's compliance.
func (c *Client) ComplianceDirectives(ctx context.Context) (ComplianceList, error) {
	var l ComplianceList
	err := c.do(ctx, http.MethodGet, "/api/v1/compliance/directives", nil, &l)
	return l, err
}

// ComplianceRule returns a rule's compliance per directive and node.
func (c *Client) ComplianceRule(ctx context.Context, id string, q ComplianceQuery) (ComplianceRuleDetail, error) {
	var d ComplianceRuleDetail
	err := c.do(ctx, http.MethodGet, "/api/v1/compliance/rules/"+escapeID(id)+q.encode(), nil, &d)
	return d, err
}

// ComplianceDirective returns a directive's compliance per component and node.
func (c *Client) ComplianceDirective(ctx context.Context, id string, q ComplianceQuery) (ComplianceDirectiveDetail, error) {
	var d ComplianceDirectiveDetail
	err := c.do(ctx, http.MethodGet, "/api/v1/compliance/directives/"+escapeID(id)+q.encode(), nil, &d)
	return d, err
}

// ComplianceNodes returns every node's compliance and score.
func (c *Client) ComplianceNodes(ctx context.Context) (ComplianceNodeList, error) {
	var l ComplianceNodeList
	err := c.do(ctx, http.MethodGet, "/api/v1/compliance/nodes", nil, &l)
	return l, err
}

// ComplianceNode returns a node's compliance per directive and component.
func (c *Client) ComplianceNode(ctx context.Context, id string, q ComplianceQuery) (ComplianceNodeDetail, error) {
	var d ComplianceNodeDetail
	err := c.do(ctx, http.MethodGet, "/api/v1/compliance/nodes/"+escapeID(id)+q.encode(), nil, &d)
	return d, err
}

// ComplianceHistory returns the history of a rule or a node ("rules" or "nodes") since a
// time (zero: all of it).
func (c *Client) ComplianceHistory(ctx context.Context, kind, id string, since time.Time) (ComplianceHistory, error) {
	var h ComplianceHistory
	path := "/api/v1/compliance/history/" + kind + "/" + escapeID(id)
	if !since.IsZero() {
		path += "?since=" + url.QueryEscape(since.UTC().Format(time.RFC3339))
	}
	err := c.do(ctx, http.MethodGet, path, nil, &h)
	return h, err
}

// ComplianceGroup returns the compliance of a group's nodes.
func (c *Client) ComplianceGroup(ctx context.Context, id string) (ComplianceGroup, error) {
	var g ComplianceGroup
	err := c.do(ctx, http.MethodGet, "/api/v1/compliance/groups/"+url.PathEscape(id), nil, &g)
	return g, err
}
