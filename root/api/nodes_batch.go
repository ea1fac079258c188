package api

import (
	"context"
	"net/http"
)

// MaxBatchNodes bounds the nodes of one NodeBatch.
const MaxBatchNodes = 100_000

// NodeBatch asks for the same decision on many nodes: POST /api/v1/nodes/batch. Status is
// accepted, refused or deleted, as for one node.
type NodeBatch struct {
	Status string   `json:"status"`
	IDs    []string `json:"ids"`
}

// NodeBatchResult answers a NodeBatch: how many nodes changed, and the ids the root does
// not know. A node that cannot take the status (refusing an accepted node) fails the rest
// of the batch with the error; the nodes before it keep their change.
type NodeBatchResult struct {
	SchemaVersion int      `json:"schemaVersion"`
	Status        string   `json:"status"`
	Changed       int      `json:"changed"`
	Missing       []string `json:"missing,omitempty"`
}

// SetStatusMany makes one decision on many nodes in one request.
func (c *Client) SetStatusMany(ctx context.Context, status string, ids []string) (NodeBatchResult, error) {
	var res NodeBatchResult
	err := c.do(ctx, http.MethodPost, "/api/v1/nodes/batch", NodeBatch{Status: status, IDs: ids}, &res)
	return res, err
}
