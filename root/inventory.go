package root

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/store"
)

const (
	bucketInventories = "inventories"       // node id → current inventory (inventory.Marshal)
	bucketInvHistory  = "inventory-history" // node id "/" collected (unix nanos, 20 digits) → inventory
	bucketInvIndex    = "inventory-index"   // node id → collection times in the history (JSON)
)

// Errors of inventory ingestion; the QUIC and HTTP front ends map them to their answers.
var (
	// ErrQueueSaturated: every ingestion slot is busy; the sender keeps its inventory and
	// retries later (HTTP 503, wire retry-later).
	ErrQueueSaturated = errors.New("inventory queue saturated")
	// ErrInventoryRefused: the inventory will never be taken as it is (HTTP 412 or 401,
	// wire rejected). It wraps the reason.
	ErrInventoryRefused = errors.New("inventory refused")
	// ErrUnknownBase: a delta applies to an inventory the root does not hold; the node
	// learns the root's base from its next status request and sends a full inventory.
	ErrUnknownBase = errors.New("inventory delta against an unknown base")
)

// ingestQueue bounds how many inventories are being parsed and stored at once. An
// inventory holds a slot until it is durable, so nothing in the queue is lost when the root
// stops: the sender was not yet told it was taken.
type ingestQueue struct {
	slots chan struct{}
	fill  atomic.Int64
	now   func() time.Time
	// started holds when each inventory being ingested came in, for the age of the oldest;
	// a mutex is cheap at the rate inventories come (a fleet's nodes once a day).
	mu      sync.Mutex
	seq     uint64
	started map[uint64]time.Time
}

func newIngestQueue(size int, now func() time.Time) *ingestQueue {
	return &ingestQueue{slots: make(chan struct{}, size), now: now, started: map[uint64]time.Time{}}
}

// tryAcquire takes a place in the queue, if there is one; release gives it back.
func (q *ingestQueue) tryAcquire() (release func(), ok bool) {
	select {
	case q.slots <- struct{}{}:
		return q.taken(), true
	default:
		return nil, false
	}
}

// acquireWithin waits up to d for a slot: a relay's batch is already in flight, and telling
// it to come back in 30 s for want of a slot that frees in milliseconds would stall its
// whole queue.
func (q *ingestQueue) acquireWithin(d time.Duration) (release func(), ok bool) {
	if release, ok := q.tryAcquire(); ok {
		return release, true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case q.slots <- struct{}{}:
		return q.taken(), true
	case <-t.C:
		return nil, false
	}
}

// taken records a slot just taken and returns what gives it back.
func (q *ingestQueue) taken() (release func()) {
	q.fill.Add(1)
	q.mu.Lock()
	q.seq++
	id := q.seq
	q.started[id] = q.now()
	q.mu.Unlock()
	return func() {
		q.mu.Lock()
		delete(q.started, id)
		q.mu.Unlock()
		q.fill.Add(-1)
		<-q.slots
	}
}

// oldestAge is how long the inventory ingested the longest has been at it; 0 for none.
func (q *ingestQueue) oldestAge() time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	var oldest time.Time
	for _, t := range q.started {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return max(q.now().Sub(oldest), 0)
}

func (q *ingestQueue) status() api.InventoryQueue {
	fill := int(q.fill.Load())
	return api.InventoryQueue{QueueMaxSize: cap(q.slots), QueueFillCount: fill, QueueSaturated: fill >= cap(q.slots)}
}

// inventories stores inventories with a bounded history per node.
type inventories struct {
	db   registryStore
	keep int // versions of history kept per node, the current one included
	now  func() time.Time
}

func historyKey(nodeID string, t time.Time) string {
	return fmt.Sprintf("%s/%020d", nodeID, t.UnixNano())
}

// current returns the node's stored inventory, or nil when there is none.
func (s *inventories) current(nodeID string) (*inventory.Inventory, error) {
	b, err := s.db.Bucket(bucketInventories).Get(nodeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inventory of %s: %w", nodeID, err)
	}
	inv, err := inventory.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("inventory of %s: %w", nodeID, err)
	}
	return inv, nil
}

// currentDoc returns the node's stored inventory as a JSON document (its facts), nil when it
// has none: one decoding of the stored JSON instead of a decoding into the struct and an
// encoding back, which is what compiling a fleet's policies spent most of its time on.
// The JSON itself comes along, for what must keep its exact bytes (properties).
func (s *inventories) currentDoc(nodeID string) (map[string]any, []byte, error) {
	b, err := s.db.Bucket(bucketInventories).Get(nodeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("inventory of %s: %w", nodeID, err)
	}
	js, err := inventory.DecodeJSON(b)
	if err != nil {
		return nil, nil, fmt.Errorf("inventory of %s: %w", nodeID, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, nil, fmt.Errorf("inventory of %s: %w", nodeID, err)
	}
	return doc, js, nil
}

// history returns the node's stored inventories, oldest first.
func (s *inventories) history(nodeID string) ([]*inventory.Inventory, error) {
	var out []*inventory.Inventory
	err := s.db.Bucket(bucketInvHistory).Scan(nodeID+"/", func(_ string, v []byte) error {
		inv, err := inventory.Unmarshal(v)
		if err != nil {
			return err
		}
		out = append(out, inv)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inventory history of %s: %w", nodeID, err)
	}
	return out, nil
}

// put stores inv as the node's current inventory, records it in the history and forgets
// the oldest versions beyond the bound. An inventory not newer than the stored one is a
// resend (a lost acknowledgement, a relay replaying its queue) and changes nothing.
func (s *inventories) put(inv *inventory.Inventory, facts func(tx *store.Txn) error) (stored bool, err error) {
	return s.putEncoded(inv, nil, facts)
}

// putEncoded is put with the inventory already encoded by inventory.Marshal, as a full
// upload arrives: encoding it again is most of what ingestion costs.
func (s *inventories) putEncoded(inv *inventory.Inventory, b []byte, facts func(tx *store.Txn) error) (stored bool, err error) {
	if b == nil {
		if b, err = inventory.Marshal(inv); err != nil {
			return false, err
		}
	}
	err = s.db.Update(func(tx *store.Txn) error {
		var err error
		stored, err = s.putEncodedTx(tx, inv, b, facts)
		return err
	})
	return stored, err
}

// putEncodedTx is putEncoded inside tx, with b encoded already.
func (s *inventories) putEncodedTx(tx *store.Txn, inv *inventory.Inventory, b []byte, facts func(tx *store.Txn) error) (stored bool, err error) {
	err = func() error {
		// The index lists the history's collection times, oldest first: what a resend is
		// compared with and what is trimmed, without decoding any stored inventory.
		var index []int64
		if ib, err := tx.Get(bucketInvIndex, inv.NodeID); err == nil {
			if err := json.Unmarshal(ib, &index); err != nil {
				return fmt.Errorf("inventory index of %s: %w", inv.NodeID, err)
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		at := inv.CollectedAt.UnixNano()
		if len(index) > 0 && at <= index[len(index)-1] {
			return nil
		}
		stored = true
		if err := tx.Put(bucketInventories, inv.NodeID, b); err != nil {
			return err
		}
		if err := tx.Put(bucketInvHistory, historyKey(inv.NodeID, inv.CollectedAt), b); err != nil {
			return err
		}
		index = append(index, at)
		for len(index) > s.keep {
			if err := tx.Delete(bucketInvHistory, historyKey(inv.NodeID, time.Unix(0, index[0]))); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			index = index[1:]
		}
		ib, err := json.Marshal(index)
		if err != nil {
			return err
		}
		if err := tx.Put(bucketInvIndex, inv.NodeID, ib); err != nil {
			return err
		}
		if facts != nil {
			return facts(tx)
		}
		return nil
	}()
	return stored, err
}

// osLabel is how a node's OS shows in lists.
func osLabel(o inventory.OS) string {
	if o.FullName != "" {
		return o.FullName
	}
	return strings.TrimSpace(o.Name + " " + o.Version)
}
