package root

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInventoryRefused, fmt.Sprintf(format, args...))
}

// signer returns the registered, not refused, node whose key must have signed a message
// that names nodeID; direct is the connected peer when the node sent it itself.
func (r *Root) signer(nodeID string, direct *mesh.Peer) (nodeRecord, error) {
	if direct != nil && direct.NodeID != nodeID {
		return nodeRecord{}, refused("node %s sent a message of node %s", direct.NodeID, nodeID)
	}
	rec, err := r.reg.record(nodeID)
	if errors.Is(err, api.ErrNotFound) {
		return nodeRecord{}, refused("node %s has not enrolled", nodeID)
	}
	if err != nil {
		return nodeRecord{}, err
	}
	if rec.Status == api.StatusRefused || rec.Status == api.StatusDeleted {
		return nodeRecord{}, refused("node %s is %s", nodeID, rec.Status)
	}
	return rec, nil
}

// verifiedSigner finds the registered node a request names and checks that its pinned key
// signed the request: the first step of every signed request a node sends.
func (r *Root) verifiedSigner(nodeID string, peekErr error, direct *mesh.Peer, verify func(ed25519.PublicKey) error) (nodeRecord, error) {
	if peekErr != nil {
		return nodeRecord{}, refused("%v", peekErr)
	}
	rec, err := r.signer(nodeID, direct)
	if err != nil {
		return nodeRecord{}, err
	}
	if err := verify(rec.Key); err != nil {
		return nodeRecord{}, refused("node %s: %v", nodeID, err)
	}
	return rec, nil
}

// forwardedSlotWait is how long a forwarded inventory waits for a slot of the ingestion
// queue before its relay is told to retry later.
const forwardedSlotWait = 10 * time.Second

// ingestUpload takes an inventory a bosun agent signed, sent directly or through relays.
func (r *Root) ingestUpload(u *wire.InventoryUpload, direct *mesh.Peer) (*inventory.Inventory, error) {
	// A node's own upload is told at once that the queue is full; a relay's batch waits a
	// little for a slot (forwardedSlotWait).
	var release func()
	var ok bool
	if direct != nil {
		release, ok = r.ingestQ.tryAcquire()
	} else {
		release, ok = r.ingestQ.acquireWithin(forwardedSlotWait)
	}
	if !ok {
		return nil, ErrQueueSaturated
	}
	defer release()
	pu, err := r.prepareUpload(u, direct)
	if err != nil {
		return nil, err
	}
	if err := r.store(pu.inv, pu.hash, pu.encoded); err != nil {
		return nil, err
	}
	return pu.inv, nil
}

// preparedUpload is an inventory checked and decoded, ready to store.
type preparedUpload struct {
	inv     *inventory.Inventory
	hash    uint64
	encoded []byte // the stored encoding when the upload carried it, nil otherwise
}

// prepareUpload checks a signed inventory (signature against the registered key, content
// against the hash the node signed, mandatory fields, time) and decodes it; it writes
// nothing. The caller holds a slot of the ingestion queue.
func (r *Root) prepareUpload(u *wire.InventoryUpload, direct *mesh.Peer) (*preparedUpload, error) {
	body, err := u.Peek()
	if err != nil {
		return nil, refused("%v", err)
	}
	rec, err := r.signer(body.NodeID, direct)
	if err != nil {
		return nil, err
	}
	if err := u.Verify(rec.Key); err != nil {
		return nil, refused("node %s: %v", body.NodeID, err)
	}
	var inv *inventory.Inventory
	switch body.Kind {
	case wire.InventoryFull:
		inv, err = inventory.Unmarshal(body.Payload)
		if err != nil {
			return nil, refused("node %s: %v", body.NodeID, err)
		}
	case wire.InventoryDelta:
		if rec.InventoryHash == 0 || rec.InventoryHash != body.BaseHash {
			return nil, fmt.Errorf("node %s: %w (root holds %x, delta applies to %x)", body.NodeID, ErrUnknownBase, rec.InventoryHash, body.BaseHash)
		}
		base, err := r.inv.current(body.NodeID)
		if err != nil {
			return nil, err
		}
		d, err := inventory.UnmarshalDelta(body.Payload)
		if err != nil {
			return nil, refused("node %s: %v", body.NodeID, err)
		}
		if base == nil {
			return nil, fmt.Errorf("node %s: %w (none stored)", body.NodeID, ErrUnknownBase)
		}
		if inv, err = d.Apply(base); err != nil {
			return nil, fmt.Errorf("node %s: %w: %v", body.NodeID, ErrUnknownBase, err)
		}
	}
	if h, err := inventory.Hash(inv); err != nil || h != body.Hash {
		return nil, refused("node %s: the inventory does not hash to what the node signed", body.NodeID)
	}
	if inv.NodeID != body.NodeID {
		return nil, refused("node %s sent an inventory claiming node id %q", body.NodeID, inv.NodeID)
	}
	var encoded []byte
	if body.Kind == wire.InventoryFull && inv.Source == inventory.SourceAgent {
		encoded = body.Payload // checked above: it decodes to inv, which hashes to what the node signed
	}
	inv.Source = inventory.SourceAgent
	if err := r.checkInventory(inv); err != nil {
		return nil, err
	}
	return &preparedUpload{inv: inv, hash: body.Hash, encoded: encoded}, nil
}

// checkInventory refuses an inventory that misses mandatory fields or is out of date.
func (r *Root) checkInventory(inv *inventory.Inventory) error {
	if err := inv.Validate(); err != nil {
		return refused("node %s: %v", inv.NodeID, err)
	}
	if err := inventory.CheckTime(inv.CollectedAt, r.cfg.Now()); err != nil {
		return refused("node %s: %v", inv.NodeID, err)
	}
	return nil
}

// store checks and stores an inventory of a registered node and refreshes the node's facts.
func (r *Root) store(inv *inventory.Inventory, hash uint64, encoded []byte) error {
	if err := r.checkInventory(inv); err != nil {
		return err
	}
	stored, err := r.inv.putEncoded(inv, encoded, r.inventoryFacts(inv, hash))
	if err != nil {
		return fmt.Errorf("store inventory of %s: %w", inv.NodeID, err)
	}
	r.stored(inv, hash, stored)
	return nil
}

// inventoryFacts refreshes, in the inventory's transaction, the node's record from it.
func (r *Root) inventoryFacts(inv *inventory.Inventory, hash uint64) func(tx *store.Txn) error {
	return func(tx *store.Txn) error {
		rec, ok, err := txRecord(tx, inv.NodeID)
		if err != nil || !ok {
			return err
		}
		rec.Hostname = inv.Hostname
		if l := osLabel(inv.OS); l != "" {
			rec.OS = l
		}
		rec.LastInventory = inv.CollectedAt
		rec.InventoryHash = hash
		rec.LastSeen = r.cfg.Now()
		return txPut(tx, rec)
	}
}

// stored is what follows an inventory made durable: the registry's index, the log, and the
// node's recompilation.
func (r *Root) stored(inv *inventory.Inventory, hash uint64, stored bool) {
	r.reg.noteInventory(inv.NodeID, inv.Hostname, hash)
	if stored {
		r.metrics.inventories.Inc()
		r.log.Info("inventory stored", "node", inv.NodeID, "hostname", inv.Hostname, "collected", inv.CollectedAt)
		if r.reg.changed != nil {
			r.reg.changed(inv.NodeID)
		}
	} else {
		r.log.Debug("inventory not newer than the stored one; kept the stored one", "node", inv.NodeID)
	}
}

// nodeStatus answers a node's signed status request.
func (r *Root) nodeStatus(req *wire.StatusRequest, direct *mesh.Peer) (*wire.StatusReply, error) {
	q, err := req.Peek()
	rec, err := r.verifiedSigner(q.NodeID, err, direct, req.Verify)
	if err != nil {
		return nil, err
	}
	// The request verified against the registered key: the node is who it says.
	r.reg.markSeen(rec.ID)
	reply := &wire.StatusReply{
		NodeStatus:    rec.Status,
		InventoryHash: rec.InventoryHash,
		InventoryTime: rec.LastInventory,
		ServerTime:    r.cfg.Now().UTC(),
		RootKey:       r.id.Public(),
	}
	if rec.Status == api.StatusAccepted {
		reply.ConfigID = r.pol.configID(rec.ID)
		mc, err := r.meshConfig(rec)
		if err != nil {
			r.log.Warn("no mesh config for node", "node", rec.ID, "err", err)
		}
		reply.Mesh = mc
	}
	return reply, nil
}

// nodePolicy answers a node's signed policy request: nothing new, a delta against what the
// node holds, or the whole policy.
func (r *Root) nodePolicy(req *wire.PolicyRequest, direct *mesh.Peer) (*wire.PolicyReply, error) {
	q, err := req.Peek()
	rec, err := r.verifiedSigner(q.NodeID, err, direct, req.Verify)
	if err != nil {
		return nil, err
	}
	if rec.Status != api.StatusAccepted {
		return &wire.PolicyReply{Answer: wire.PolicyNone, Reason: "node " + rec.Status + ": only accepted nodes get policies"}, nil
	}
	sp, err := r.pol.signedPolicy(rec.ID)
	if err != nil {
		return nil, err
	}
	if sp == nil {
		return &wire.PolicyReply{Answer: wire.PolicyNone, Reason: "no policy generated for this node yet"}, nil
	}
	cur, err := sp.Open(r.id.Public())
	if err != nil {
		return nil, fmt.Errorf("stored policy of %s: %w", rec.ID, err)
	}
	if q.ConfigID == cur.ConfigID {
		return &wire.PolicyReply{Answer: wire.PolicyUnchanged}, nil
	}
	if q.ConfigID != "" {
		if held := r.pol.held(rec.ID, q.ConfigID); held != nil {
			if d, err := wire.DiffSignedPolicy(held, sp); err == nil {
				return &wire.PolicyReply{Answer: wire.PolicyPatch, Delta: d}, nil
			}
		}
	}
	return &wire.PolicyReply{Answer: wire.PolicyFull, Policy: sp}, nil
}

// ack turns an ingestion error into the wire's answer.
func ingestAck(err error) *wire.Ack {
	switch {
	case err == nil:
		return &wire.Ack{Status: wire.AckOK}
	case errors.Is(err, ErrQueueSaturated):
		return &wire.Ack{Status: wire.AckRetryLater, Reason: err.Error(), RetryAfter: queueRetryAfter}
	case errors.Is(err, ErrInventoryRefused), errors.Is(err, ErrUnknownBase):
		return &wire.Ack{Status: wire.AckRejected, Reason: err.Error()}
	default:
		return &wire.Ack{Status: wire.AckRetryLater, Reason: err.Error(), RetryAfter: queueRetryAfter}
	}
}
