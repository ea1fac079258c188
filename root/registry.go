package root

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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
	// idx holds what lists and counts need of every node, so that a page of nodes or the
	// counts by status cost no scan of the store.
	idx nodeIndex
}

// nodeIndex is the registry's in-memory index: per node its hostname, status and inventory
// hash, and the count of nodes per status. It is loaded by one scan on first use and kept up
// to date by note after every committed change of those fields.
type nodeIndex struct {
	mu       sync.Mutex
	loaded   bool
	byID     map[string]indexEntry
	byStatus map[string]int
	// sorted is every node ID by hostname then ID, nil when a hostname changed or a node
	// came since it was made; NodePage makes it again on its next call.
	sorted []string
}

type indexEntry struct {
	hostname string
	status   string
	invHash  uint64
}

// load fills the index from the store if it is not yet; the caller holds x.mu.
func (r *registry) loadIndex() error {
	x := &r.idx
	if x.loaded {
		return nil
	}
	byID, byStatus := map[string]indexEntry{}, map[string]int{}
	err := r.db.Bucket(bucketNodes).Scan("", func(_ string, v []byte) error {
		var rec struct {
			ID            string `json:"id"`
			Hostname      string `json:"hostname"`
			Status        string `json:"status"`
			InventoryHash uint64 `json:"inventoryHash"`
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		byID[rec.ID] = indexEntry{hostname: rec.Hostname, status: rec.Status, invHash: rec.InventoryHash}
		byStatus[rec.Status]++
		return nil
	})
	if err != nil {
		return fmt.Errorf("index nodes: %w", err)
	}
	x.byID, x.byStatus, x.loaded = byID, byStatus, true
	return nil
}

// note records a node's record in the index, after the transaction that wrote it committed.
func (r *registry) note(rec *nodeRecord) {
	x := &r.idx
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.loaded {
		return // the first use scans the store, which holds the change
	}
	old, ok := x.byID[rec.ID]
	if !ok || old.hostname != rec.Hostname {
		x.sorted = nil
	}
	if ok {
		x.byStatus[old.status]--
		if x.byStatus[old.status] <= 0 {
			delete(x.byStatus, old.status)
		}
	}
	x.byID[rec.ID] = indexEntry{hostname: rec.Hostname, status: rec.Status, invHash: rec.InventoryHash}
	x.byStatus[rec.Status]++
}

// noteInventory records what a stored inventory changed of a known node's index entry: its
// hostname and inventory hash (its status stays).
func (r *registry) noteInventory(id, hostname string, hash uint64) {
	x := &r.idx
	x.mu.Lock()
	defer x.mu.Unlock()
	old, ok := x.byID[id]
	if !x.loaded || !ok {
		return // not loaded: the first use scans the store; unknown: the record was not written
	}
	if old.hostname != hostname {
		x.sorted = nil
	}
	old.hostname, old.invHash = hostname, hash
	x.byID[id] = old
}

// indexed calls fn with the index under its lock (loading it first): fn must only copy.
func (r *registry) indexed(fn func(byID map[string]indexEntry, byStatus map[string]int)) error {
	x := &r.idx
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := r.loadIndex(); err != nil {
		return err
	}
	fn(x.byID, x.byStatus)
	return nil
}

// entry is one node's index entry.
func (r *registry) entry(id string) (indexEntry, bool) {
	var e indexEntry
	var ok bool
	_ = r.indexed(func(byID map[string]indexEntry, _ map[string]int) { e, ok = byID[id] })
	return e, ok
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

var _ api.NodePager = (*registry)(nil)

// NodePage answers a page of nodes in the order of Nodes (hostname, then ID): it selects and
// sorts on the index, then reads only the records of the page.
func (r *registry) NodePage(ctx context.Context, q api.NodeQuery) ([]api.Node, int, error) {
	host := strings.ToLower(q.Hostname)
	var page []string
	total := 0
	err := r.indexed(func(byID map[string]indexEntry, _ map[string]int) {
		if x := &r.idx; x.sorted == nil {
			x.sorted = slices.Collect(maps.Keys(byID))
			slices.SortFunc(x.sorted, func(a, b string) int {
				return cmp.Or(strings.Compare(byID[a].hostname, byID[b].hostname), strings.Compare(a, b))
			})
		}
		// The sorted list is walked under the lock: one map read per node, no more.
		ids := r.idx.sorted
		if len(q.IDs) > 0 {
			ids = slices.DeleteFunc(slices.Clone(q.IDs), func(id string) bool { _, ok := byID[id]; return !ok })
			slices.Sort(ids)
			ids = slices.Compact(ids)
			slices.SortFunc(ids, func(a, b string) int {
				return cmp.Or(strings.Compare(byID[a].hostname, byID[b].hostname), strings.Compare(a, b))
			})
		}
		if q.Status == "" && host == "" {
			total = len(ids)
			page = slices.Clone(ids[min(q.Offset, total):min(q.Offset+min(q.Limit, total), total)])
			return
		}
		for _, id := range ids {
			e := byID[id]
			if !api.NodeMatches(id, e.hostname, e.status, api.NodeQuery{Status: q.Status}, host) {
				continue
			}
			if total >= q.Offset && len(page) < q.Limit {
				page = append(page, id)
			}
			total++
		}
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list nodes: %w", err)
	}
	nodes := make([]api.Node, 0, len(page))
	for _, id := range page {
		rec, err := r.record(id)
		if errors.Is(err, api.ErrNotFound) {
			continue // deleted from the store since: not listed
		}
		if err != nil {
			return nil, 0, fmt.Errorf("list nodes: %w", err)
		}
		n := rec.Node
		if r.liveness != nil {
			if m, ok := r.liveness(n.ID); ok {
				n.Liveness, n.LivenessSince = m.State, m.Since
			}
		}
		nodes = append(nodes, n)
	}
	return nodes, total, nil
}

// counts counts the nodes by status, from the index, and by what gossip says of them.
func (r *registry) counts() (byStatus, byLiveness map[string]int, err error) {
	byStatus, byLiveness = map[string]int{}, map[string]int{}
	var ids []string
	err = r.indexed(func(byID map[string]indexEntry, st map[string]int) {
		for k, v := range st {
			byStatus[k] = v
		}
		if r.liveness != nil {
			ids = make([]string, 0, len(byID))
			for id := range byID {
				ids = append(ids, id)
			}
		} else {
			byLiveness["unknown"] = len(byID)
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("count nodes: %w", err)
	}
	for _, id := range ids {
		live := "unknown"
		if m, ok := r.liveness(id); ok && m.State != "" {
			live = m.State
		}
		byLiveness[live]++
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
	var saved nodeRecord
	err := r.db.Update(func(tx *store.Txn) error {
		var err error
		saved, err = r.setStatusTx(tx, id, status, by)
		return err
	})
	if err != nil {
		return api.Node{}, fmt.Errorf("set node %s %s: %w", id, status, err)
	}
	r.note(&saved)
	if r.changed != nil {
		r.changed(id)
	}
	return saved.Node, nil
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
		var done []nodeRecord
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
		for i := range done {
			r.note(&done[i])
			changed = append(changed, done[i].Node)
		}
		missing = append(missing, absent...)
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
func (r *registry) setStatusTx(tx *store.Txn, id, status, by string) (nodeRecord, error) {
	rec, ok, err := txRecord(tx, id)
	if err != nil {
		return nodeRecord{}, err
	}
	if !ok {
		return nodeRecord{}, fmt.Errorf("node %s: %w", id, api.ErrNotFound)
	}
	fp := mesh.Fingerprint(rec.Key)
	if len(rec.Key) == 0 {
		// An inventory-only node has no key: its refusal is its own, not every keyless node's.
		fp = "node:" + id
	}
	switch status {
	case api.StatusAccepted:
		if err := tx.Delete(bucketKeys, fp); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nodeRecord{}, err
		}
	case api.StatusRefused:
		if rec.Status == api.StatusAccepted {
			return nodeRecord{}, fmt.Errorf("node %s is accepted; delete it instead of refusing it: %w", id, api.ErrConflict)
		}
		fallthrough
	case api.StatusDeleted:
		kb, err := json.Marshal(keyRecord{Status: status, NodeID: id, At: r.now()})
		if err != nil {
			return nodeRecord{}, err
		}
		if err := tx.Put(bucketKeys, fp, kb); err != nil {
			return nodeRecord{}, err
		}
	default:
		return nodeRecord{}, fmt.Errorf("unknown node status %q", status)
	}
	if rec.Status != status {
		before, _ := json.Marshal(map[string]string{"status": rec.Status})
		after, _ := json.Marshal(map[string]string{"status": status})
		err := recordEvent(tx, &api.Event{Time: r.now().UTC(), By: by, What: fmt.Sprintf("%s node %s (%s)", status, id, rec.Hostname),
			Changes: []api.EventChange{{Kind: "node", ID: id, Op: "update", Before: before, After: after}}})
		if err != nil {
			return nodeRecord{}, err
		}
		rec.Status = status
		rec.StatusChanged = r.now()
		rec.StatusChangedBy = by
	}
	return rec, txPut(tx, rec)
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
	var saved nodeRecord
	err := r.db.Update(func(tx *store.Txn) error {
		var err error
		saved, err = r.enrolTx(tx, stub, path)
		return err
	})
	if err != nil {
		return api.Node{}, err
	}
	r.note(&saved)
	return saved.Node, nil
}

// enrolTx is enrol inside tx.
func (r *registry) enrolTx(tx *store.Txn, stub wire.EnrolStub, path []string) (nodeRecord, error) {
	now := r.now()
	if stub.Time.Before(now.Add(-maxStubAge)) || stub.Time.After(now.Add(maxStubFuture)) {
		return nodeRecord{}, fmt.Errorf("node %s: %w: made at %v, root time %v", stub.NodeID, errStaleStub, stub.Time.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if v, err := tx.Get(bucketKeys, mesh.Fingerprint(stub.Key)); err == nil {
		var kr keyRecord
		if err := json.Unmarshal(v, &kr); err != nil {
			return nodeRecord{}, err
		}
		if kr.Status != "" {
			return nodeRecord{}, fmt.Errorf("node %s: %w: the key %s was %s by an operator", stub.NodeID, errKeyRefused, mesh.Fingerprint(stub.Key), kr.Status)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nodeRecord{}, err
	}
	rec, ok, err := txRecord(tx, stub.NodeID)
	if err != nil {
		return nodeRecord{}, err
	}
	if ok && !rec.Key.Equal(stub.Key) {
		return nodeRecord{}, fmt.Errorf("node %s: %w (registered %s, offered %s)", stub.NodeID, errKeyMismatch, mesh.Fingerprint(rec.Key), mesh.Fingerprint(stub.Key))
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
	return rec, txPut(tx, rec)
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
