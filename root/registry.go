package root

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/policy"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// Buckets of the registry.
const (
	bucketNodes = "nodes" // node id → nodeRecord
	bucketKeys  = "keys"  // key fingerprint → keyRecord, for keys that must stay out
)

// Inventories older than this or dated further in the future are refused (DESIGN.md §1).
const (
	maxStubAge    = 48 * time.Hour
	maxStubFuture = 12 * time.Hour
)

var (
	errKeyRefused   = errors.New("key refused")
	errKeyMismatch  = errors.New("node id already registered with another key")
	errStaleStub    = errors.New("enrolment stub out of date")
	errNotARelay    = errors.New("peer is not a relay known to the root")
	errWrongForward = errors.New("forwarded item does not name its relay")
)

// nodeRecord is a node as the registry stores it.
type nodeRecord struct {
	api.Node
	Key ed25519.PublicKey `json:"key"`
	// InventoryHash is inventory.Hash of the stored inventory: the base of the node's next
	// delta, kept here so a status request costs one read.
	InventoryHash uint64 `json:"inventoryHash,omitempty"`
	// Properties are the node's properties set by operators; they override the global
	// parameters and the properties the node's inventory brings.
	Properties map[string]json.RawMessage `json:"properties,omitempty"`
	// Settings override the global settings for this node.
	Settings policy.NodeSettings `json:"settings,omitzero"`
}

// keyRecord remembers a key an operator refused or deleted, so that the same machine cannot
// come back as a fresh pending node under a new id.
type keyRecord struct {
	Status string    `json:"status"`
	NodeID string    `json:"nodeId"`
	At     time.Time `json:"at"`
}

// registry is the node registry on top of the store.
type registry struct {
	db  registryStore
	now func() time.Time
	// changed, if set, hears of every node whose status changed, after the change is durable;
	// changedMany, of a batch of them.
	changed     func(nodeID string)
	changedMany func(nodeIDs []string)
	// liveness, if set, says what gossip knows of a node.
	liveness func(nodeID string) (api.Member, bool)

	// seen holds when nodes were last heard from, until flushSeen writes it.
	seenMu sync.Mutex
	seen   map[string]time.Time
}

// registryStore is what the registry needs of the store.
type registryStore interface {
	Bucket(name string) *store.Bucket
	Update(fn func(tx *store.Txn) error) error
}

var _ api.Registry = (*registry)(nil)

func (r *registry) Nodes(ctx context.Context) ([]api.Node, error) {
	var nodes []api.Node
	err := r.db.Bucket(bucketNodes).Scan("", func(_ string, v []byte) error {
		var rec nodeRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		n := rec.Node
		r.lastSeen(&n)
		if r.liveness != nil {
			if m, ok := r.liveness(n.ID); ok {
				n.Liveness, n.LivenessSince = m.State, m.Since
			}
		}
		nodes = append(nodes, n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	slices.SortFunc(nodes, func(a, b api.Node) int {
		if c := strings.Compare(a.Hostname, b.Hostname); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return nodes, nil
}

// counts counts the nodes by status and by what gossip says of them, reading only those
// two fields of each record.
func (r *registry) counts() (byStatus, byLiveness map[string]int, err error) {
	byStatus, byLiveness = map[string]int{}, map[string]int{}
	err = r.db.Bucket(bucketNodes).Scan("", func(_ string, v []byte) error {
		var rec struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		byStatus[rec.Status]++
		live := "unknown"
		if r.liveness != nil {
			if m, ok := r.liveness(rec.ID); ok && m.State != "" {
				live = m.State
			}
		}
		byLiveness[live]++
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("count nodes: %w", err)
	}
	return byStatus, byLiveness, nil
}

func (r *registry) Node(ctx context.Context, id string) (api.Node, error) {
	rec, err := r.record(id)
	r.lastSeen(&rec.Node)
	return rec.Node, err
}

func (r *registry) record(id string) (nodeRecord, error) {
	v, err := r.db.Bucket(bucketNodes).Get(id)
	if errors.Is(err, store.ErrNotFound) {
		return nodeRecord{}, fmt.Errorf("node %s: %w", id, api.ErrNotFound)
	}
	if err != nil {
		return nodeRecord{}, fmt.Errorf("node %s: %w", id, err)
	}
	var rec nodeRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nodeRecord{}, fmt.Errorf("node %s: decode: %w", id, err)
	}
	return rec, nil
}

func txRecord(tx *store.Txn, id string) (nodeRecord, bool, error) {
	v, err := tx.Get(bucketNodes, id)
	if errors.Is(err, store.ErrNotFound) {
		return nodeRecord{}, false, nil
	}
	if err != nil {
		return nodeRecord{}, false, err
	}
	var rec nodeRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nodeRecord{}, false, fmt.Errorf("node %s: decode: %w", id, err)
	}
	return rec, true, nil
}

func txPut(tx *store.Txn, rec nodeRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return tx.Put(bucketNodes, rec.ID, b)
}

// SetStatus is the operator's decision on a node. Accepting pins the node's key and lifts a
// refusal of that key: it is the explicit operator action the design requires.
func (r *registry) SetStatus(ctx context.Context, id, status, by string) (api.Node, error) {
	var out api.Node
	err := r.db.Update(func(tx *store.Txn) error {
		var err error
		out, err = r.setStatusTx(tx, id, status, by)
		return err
	})
	if err != nil {
		return api.Node{}, fmt.Errorf("set node %s %s: %w", id, status, err)
	}
	if r.changed != nil {
		r.changed(id)
	}
	return out, nil
}

// statusPerTxn is how many nodes one transaction of SetStatusMany changes.
const statusPerTxn = 500

// SetStatusMany makes the same decision on many nodes, statusPerTxn to a transaction, and
// recompiles them together: accepting a fleet costs a few transactions and one compilation
// pass rather than one of each per node. Nodes that are not registered are returned apart;
// any other error stops the batch, after the chunks already committed.
func (r *registry) SetStatusMany(ctx context.Context, ids []string, status, by string) (changed []api.Node, missing []string, err error) {
	for start := 0; start < len(ids); start += statusPerTxn {
		if err := ctx.Err(); err != nil {
			return changed, missing, err
		}
		chunk := ids[start:min(start+statusPerTxn, len(ids))]
		var done []api.Node
		var absent []string
		err := r.db.Update(func(tx *store.Txn) error {
			done, absent = done[:0], absent[:0]
			for _, id := range chunk {
				n, err := r.setStatusTx(tx, id, status, by)
				if errors.Is(err, api.ErrNotFound) {
					absent = append(absent, id)
					continue
				}
				if err != nil {
					return err
				}
				done = append(done, n)
			}
			return nil
		})
		if err != nil {
			return changed, missing, fmt.Errorf("set %d nodes %s: %w", len(chunk), status, err)
		}
		changed, missing = append(changed, done...), append(missing, absent...)
		if r.changedMany != nil && len(done) > 0 {
			touched := make([]string, len(done))
			for i, n := range done {
				touched[i] = n.ID
			}
			r.changedMany(touched)
		}
	}
	return changed, missing, nil
}

// setStatusTx records the decision on one node inside tx.
func (r *registry) setStatusTx(tx *store.Txn, id, status, by string) (api.Node, error) {
	rec, ok, err := txRecord(tx, id)
	if err != nil {
		return api.Node{}, err
	}
	if !ok {
		return api.Node{}, fmt.Errorf("node %s: %w", id, api.ErrNotFound)
	}
	fp := mesh.Fingerprint(rec.Key)
	if len(rec.Key) == 0 {
		// An inventory-only node has no key: its refusal is its own, not every keyless node's.
		fp = "node:" + id
	}
	switch status {
	case api.StatusAccepted:
		if err := tx.Delete(bucketKeys, fp); err != nil && !errors.Is(err, store.ErrNotFound) {
			return api.Node{}, err
		}
	case api.StatusRefused:
		if rec.Status == api.StatusAccepted {
			return api.Node{}, fmt.Errorf("node %s is accepted; delete it instead of refusing it: %w", id, api.ErrConflict)
		}
		fallthrough
	case api.StatusDeleted:
		kb, err := json.Marshal(keyRecord{Status: status, NodeID: id, At: r.now()})
		if err != nil {
			return api.Node{}, err
		}
		if err := tx.Put(bucketKeys, fp, kb); err != nil {
			return api.Node{}, err
		}
	default:
		return api.Node{}, fmt.Errorf("unknown node status %q", status)
	}
	if rec.Status != status {
		before, _ := json.Marshal(map[string]string{"status": rec.Status})
		after, _ := json.Marshal(map[string]string{"status": status})
		err := recordEvent(tx, &api.Event{Time: r.now().UTC(), By: by, What: fmt.Sprintf("%s node %s (%s)", status, id, rec.Hostname),
			Changes: []api.EventChange{{Kind: "node", ID: id, Op: "update", Before: before, After: after}}})
		if err != nil {
			return api.Node{}, err
		}
		rec.Status = status
		rec.StatusChanged = r.now()
		rec.StatusChangedBy = by
	}
	return rec.Node, txPut(tx, rec)
}

// keyStatus returns "refused" or "deleted" for a key that must stay out, "" otherwise.
func (r *registry) keyStatus(key ed25519.PublicKey) (string, error) {
	v, err := r.db.Bucket(bucketKeys).Get(mesh.Fingerprint(key))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var kr keyRecord
	if err := json.Unmarshal(v, &kr); err != nil {
		return "", err
	}
	return kr.Status, nil
}

// enrol records a node's enrolment: a new node becomes pending, a known node with the same
// key has its facts refreshed, anything else is refused with the reason. path lists the
// relays it came through, nearest the node first.
func (r *registry) enrol(stub wire.EnrolStub, path []string) (api.Node, error) {
	var out api.Node
	err := r.db.Update(func(tx *store.Txn) error {
		var err error
		out, err = r.enrolTx(tx, stub, path)
		return err
	})
	return out, err
}

// enrolTx is enrol inside tx.
func (r *registry) enrolTx(tx *store.Txn, stub wire.EnrolStub, path []string) (api.Node, error) {
	now := r.now()
	if stub.Time.Before(now.Add(-maxStubAge)) || stub.Time.After(now.Add(maxStubFuture)) {
		return api.Node{}, fmt.Errorf("node %s: %w: made at %v, root time %v", stub.NodeID, errStaleStub, stub.Time.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if v, err := tx.Get(bucketKeys, mesh.Fingerprint(stub.Key)); err == nil {
		var kr keyRecord
		if err := json.Unmarshal(v, &kr); err != nil {
			return api.Node{}, err
		}
		if kr.Status != "" {
			return api.Node{}, fmt.Errorf("node %s: %w: the key %s was %s by an operator", stub.NodeID, errKeyRefused, mesh.Fingerprint(stub.Key), kr.Status)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return api.Node{}, err
	}
	rec, ok, err := txRecord(tx, stub.NodeID)
	if err != nil {
		return api.Node{}, err
	}
	if ok && !rec.Key.Equal(stub.Key) {
		return api.Node{}, fmt.Errorf("node %s: %w (registered %s, offered %s)", stub.NodeID, errKeyMismatch, mesh.Fingerprint(rec.Key), mesh.Fingerprint(stub.Key))
	}
	if !ok {
		rec = nodeRecord{Key: stub.Key}
		rec.ID = stub.NodeID
		rec.Status = api.StatusPending
		rec.FirstSeen = now
		rec.StatusChanged = now
		rec.KeyFingerprint = mesh.Fingerprint(stub.Key)
	}
	rec.Hostname = stub.Hostname
	rec.OS = stub.OS
	rec.Role = stub.Role.String()
	rec.SoftwareVersion = stub.SoftwareVersion
	rec.Path = slices.Clone(path)
	rec.PolicyServer = "root"
	if len(path) > 0 {
		rec.PolicyServer = path[0]
	}
	rec.LastSeen = now
	return rec.Node, txPut(tx, rec)
}

// touch records that an accepted or pending node was heard from, if its key matches.
func (r *registry) touch(id string, key ed25519.PublicKey) (api.Node, error) {
	rec, err := r.record(id)
	if err != nil {
		return api.Node{}, err
	}
	if !rec.Key.Equal(key) {
		return api.Node{}, fmt.Errorf("node %s: %w", id, errKeyMismatch)
	}
	r.markSeen(id)
	rec.LastSeen = r.now()
	return rec.Node, nil
}

// seenFlushInterval is how often the times nodes were last heard from are written down.
const seenFlushInterval = 30 * time.Second

// markSeen notes that a node was heard from now. The time is kept in memory and written by
// flushSeen: writing it at every contact cost the root one synced transaction per node and
// run, the first thing to break with 10,000 nodes (docs/performance.md). The API shows the
// noted time at once; a root killed loses at most the last seenFlushInterval of them.
func (r *registry) markSeen(id string) {
	now := r.now()
	r.seenMu.Lock()
	if r.seen == nil {
		r.seen = map[string]time.Time{}
	}
	r.seen[id] = now
	r.seenMu.Unlock()
}

// lastSeen overlays the noted time on a stored record's.
func (r *registry) lastSeen(n *api.Node) {
	r.seenMu.Lock()
	t, ok := r.seen[n.ID]
	r.seenMu.Unlock()
	if ok && t.After(n.LastSeen) {
		n.LastSeen = t
	}
}

// flushSeen writes the noted times, statusPerTxn nodes to a transaction.
func (r *registry) flushSeen() error {
	r.seenMu.Lock()
	seen := r.seen
	r.seen = nil
	r.seenMu.Unlock()
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	for start := 0; start < len(ids); start += statusPerTxn {
		chunk := ids[start:min(start+statusPerTxn, len(ids))]
		err := r.db.Update(func(tx *store.Txn) error {
			for _, id := range chunk {
				rec, ok, err := txRecord(tx, id)
				if err != nil {
					return err
				}
				if !ok || !seen[id].After(rec.LastSeen) {
					continue
				}
				rec.LastSeen = seen[id]
				if err := txPut(tx, rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			// Keep what was not written for the next flush.
			r.seenMu.Lock()
			for _, id := range ids[start:] {
				if t, ok := r.seen[id]; !ok || seen[id].After(t) {
					if r.seen == nil {
						r.seen = map[string]time.Time{}
					}
					r.seen[id] = seen[id]
				}
			}
			r.seenMu.Unlock()
			return fmt.Errorf("record when %d nodes were last seen: %w", len(ids)-start, err)
		}
	}
	return nil
}
