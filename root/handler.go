package root

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
	"github.com/cespare/xxhash/v2"
)

// handler answers nodes and relays over QUIC.
type handler struct {
	root  *Root
	reg   *registry
	hello *wire.Hello
	log   *slog.Logger
}

// queueRetryAfter is how long a sender waits when the root cannot take its item now.
const queueRetryAfter = 30 * time.Second

var _ mesh.Handler = (*handler)(nil)

func (h *handler) ServeExchange(ctx context.Context, peer mesh.Peer, req wire.Message) wire.Message {
	switch m := req.(type) {
	case *wire.Hello:
		if _, err := h.reg.touch(peer.NodeID, peer.Key); err != nil && !errors.Is(err, api.ErrNotFound) {
			h.log.Warn("hello from a node with another key", "peer", peer.NodeID, "addr", peer.Addr, "err", err)
		}
		return h.hello
	case *wire.Enrol:
		return h.enrolDirect(peer, m)
	case *wire.Forward:
		ack := h.forward(peer, m)
		// The reports of the batch become durable together, before the acknowledgement.
		if err := h.root.rep.flush(); err != nil {
			h.log.Error("forwarded reports not stored", "peer", peer.NodeID, "err", err)
			// Nothing of the batch is acknowledged; the reports the engine took already will be
			// refused as replays when resent, and count from memory until the root restarts.
			return &wire.Ack{Status: wire.AckRetryLater, Reason: err.Error(), RetryAfter: queueRetryAfter}
		}
		return ack
	case *wire.InventoryUpload:
		_, err := h.root.ingestUpload(m, &peer)
		h.logIngest(peer, nil, err)
		return ingestAck(err)
	case *wire.Report:
		err := h.root.ingestReport(m, &peer)
		h.logReport(peer, nil, err)
		return reportAck(err)
	case *wire.StatusRequest:
		reply, err := h.root.nodeStatus(m, &peer)
		if err != nil {
			h.log.Warn("status request refused", "peer", peer.NodeID, "addr", peer.Addr, "err", err)
			return ingestAck(err)
		}
		return reply
	case *wire.FileRequest:
		reply, err := h.root.sharedFile(m, &peer)
		if err != nil {
			h.log.Warn("shared file refused", "peer", peer.NodeID, "addr", peer.Addr, "err", err)
			return ingestAck(err)
		}
		return reply
	case *wire.PolicyRequest:
		reply, err := h.root.nodePolicy(m, &peer)
		if err != nil {
			h.log.Warn("policy request refused", "peer", peer.NodeID, "addr", peer.Addr, "err", err)
			return ingestAck(err)
		}
		return reply
	case *wire.Proxy:
		return h.proxy(peer, m)
	default:
		h.log.Warn("unexpected message", "peer", peer.NodeID, "addr", peer.Addr, "type", req.Type())
		return &wire.Ack{Status: wire.AckError, Reason: fmt.Sprintf("the root does not take %v messages", req.Type())}
	}
}

// enrolDirect takes an enrolment from the node itself: the key it signed with must be the
// key its TLS certificate proved, so nobody can enrol a stub on someone else's behalf.
func (h *handler) enrolDirect(peer mesh.Peer, e *wire.Enrol) wire.Message {
	stub, err := e.Open()
	if err != nil {
		h.log.Warn("enrolment refused", "peer", peer.NodeID, "addr", peer.Addr, "err", err)
		return &wire.Ack{Status: wire.AckRejected, Reason: err.Error()}
	}
	if stub.NodeID != peer.NodeID || !stub.Key.Equal(peer.Key) {
		h.log.Warn("enrolment refused: stub names another node than the connection", "peer", peer.NodeID, "addr", peer.Addr, "stub_node", stub.NodeID)
		return &wire.Ack{Status: wire.AckRejected, Reason: fmt.Sprintf("enrolment of node %s sent by node %s", stub.NodeID, peer.NodeID)}
	}
	return h.enrol(stub, nil, peer)
}

func (h *handler) enrol(stub wire.EnrolStub, path []string, peer mesh.Peer) *wire.Ack {
	n, err := h.reg.enrol(stub, path)
	if err != nil {
		status := wire.AckRejected
		if !errors.Is(err, errKeyRefused) && !errors.Is(err, errKeyMismatch) && !errors.Is(err, errStaleStub) {
			status = wire.AckRetryLater
		}
		h.log.Warn("enrolment refused", "node", stub.NodeID, "peer", peer.NodeID, "addr", peer.Addr, "err", err)
		return &wire.Ack{Status: status, Reason: err.Error()}
	}
	h.log.Info("node enrolled", "node", n.ID, "hostname", n.Hostname, "status", n.Status, "policy_server", n.PolicyServer)
	return &wire.Ack{Status: wire.AckOK, NodeStatus: n.Status}
}

// forwardWorkers is how many items of one forwarded batch are checked at once (signatures,
// decoding); items of one node stay on one worker, in order.
const forwardWorkers = 8

// writesPerTxn is how many enrolments and inventories of a batch share one transaction:
// one fsync for them all, where one each made enrolment a few dozen nodes a second.
const writesPerTxn = 128

// fwdItem is one item of a forwarded batch as the root works through it.
type fwdItem struct {
	seq   uint64
	path  []string
	msg   wire.Message
	stub  wire.EnrolStub
	inv   *preparedUpload
	enc   []byte
	done  bool      // taken, or refused for good
	retry *wire.Ack // the answer that stops the batch here
}

// forward takes a batch a relay carried. The answer acknowledges every item up to the last
// one the root is done with, which includes items it refused for good (a bad signature will
// not get better by resending it). A failure that might pass (the store, a full queue) stops
// the acknowledgement before that item, so the relay sends it and the rest again; items
// after it may have been taken already, and are taken again idempotently (enrolments and
// inventories refresh, reports are deduplicated by run).
//
// The work goes in three passes: every item is checked (signatures, decoding) on several
// cores; enrolments and inventories are written writesPerTxn to a transaction, in order;
// reports go to the compliance engine, several nodes at once, and are made durable together
// before the answer.
func (h *handler) forward(peer mesh.Peer, f *wire.Forward) wire.Message {
	relay, err := h.reg.record(peer.NodeID)
	if err != nil || relay.Role != wire.RoleRelay.String() || !relay.Key.Equal(peer.Key) {
		h.log.Warn("forward refused", "peer", peer.NodeID, "addr", peer.Addr, "err", errNotARelay)
		return &wire.Ack{Status: wire.AckRetryLater, Reason: fmt.Sprintf("%v: relay %s must enrol (and be accepted) first", errNotARelay, peer.NodeID)}
	}
	h.root.metrics.relay(peer.NodeID)
	items := make([]fwdItem, len(f.Items))
	parts := make([][]int, forwardWorkers)
	hasInventory := false
	for i := range f.Items {
		it := &f.Items[i]
		items[i].seq, items[i].path = it.Seq, it.Path
		if len(it.Path) == 0 || it.Path[len(it.Path)-1] != peer.NodeID {
			h.log.Warn("forwarded item refused", "peer", peer.NodeID, "seq", it.Seq, "err", errWrongForward)
			items[i].done = true
			continue
		}
		m, err := it.Inner()
		if err != nil {
			h.log.Warn("forwarded item refused", "peer", peer.NodeID, "seq", it.Seq, "err", err)
			items[i].done = true
			continue
		}
		items[i].msg = m
		_, isInv := m.(*wire.InventoryUpload)
		hasInventory = hasInventory || isInv
		w := int(xxhash.Sum64String(signerOf(m)) % forwardWorkers)
		parts[w] = append(parts[w], i)
	}
	if hasInventory {
		// The batch's inventories are decoded together: they hold one slot of the queue.
		release, ok := h.root.ingestQ.acquireWithin(forwardedSlotWait)
		if !ok {
			return h.stopAt(items, 0, &wire.Ack{Status: wire.AckRetryLater, Reason: ErrQueueSaturated.Error(), RetryAfter: queueRetryAfter})
		}
		defer release()
	}
	// Enrolments first, then inventories (which need their node registered), then reports:
	// one node's items keep their order.
	parallel(items, parts, func(it *fwdItem) bool { return h.checkEnrol(peer, it) })
	if ack := h.write(peer, items, false); ack != nil {
		return ack
	}
	parallel(items, parts, func(it *fwdItem) bool { return h.checkInventory(peer, it) })
	if ack := h.write(peer, items, true); ack != nil {
		return ack
	}
	if relay.Status != api.StatusAccepted {
		for i := range items {
			if _, ok := items[i].msg.(*wire.Report); ok && !items[i].done {
				return h.stopAt(items, i, &wire.Ack{Status: wire.AckRetryLater, Reason: fmt.Sprintf("relay %s is %s; only enrolments and inventories pass until it is accepted", peer.NodeID, relay.Status)})
			}
		}
	}
	parallel(items, parts, func(it *fwdItem) bool {
		m, ok := it.msg.(*wire.Report)
		if !ok || it.done || it.retry != nil {
			return it.retry == nil
		}
		err := h.root.takeReport(m, nil)
		h.logReport(peer, it.path, err)
		if ack := reportAck(err); ack.Status == wire.AckRetryLater {
			it.retry = ack
			return false
		}
		it.done = true
		return true
	})
	for i := range items {
		if !items[i].done {
			return h.stopAt(items, i, nil)
		}
	}
	return &wire.Ack{Status: wire.AckOK, Seq: items[len(items)-1].seq}
}

// parallel runs fn on each worker's items in order; a worker stops at the first item fn
// returns false for, leaving the rest of its nodes' items for the resend.
func parallel(items []fwdItem, parts [][]int, fn func(*fwdItem) bool) {
	var wg sync.WaitGroup
	for _, part := range parts {
		if len(part) == 0 {
			continue
		}
		wg.Go(func() {
			for _, i := range part {
				if !fn(&items[i]) {
					return
				}
			}
		})
	}
	wg.Wait()
}

// checkEnrol opens a forwarded enrolment: its signature, by the key it states.
func (h *handler) checkEnrol(peer mesh.Peer, it *fwdItem) bool {
	switch m := it.msg.(type) {
	case *wire.Enrol:
		stub, err := m.Open()
		if err != nil {
			h.log.Warn("forwarded enrolment refused", "peer", peer.NodeID, "seq", it.seq, "err", err)
			it.done = true
			return true
		}
		it.stub = stub
	case *wire.InventoryUpload, *wire.Report:
	default:
		h.log.Warn("forwarded item of an unexpected type", "peer", peer.NodeID, "seq", it.seq, "type", it.msg.Type())
		it.done = true
	}
	return true
}

// checkInventory checks and decodes a forwarded inventory, once its node's enrolment is
// written.
func (h *handler) checkInventory(peer mesh.Peer, it *fwdItem) bool {
	m, ok := it.msg.(*wire.InventoryUpload)
	if !ok || it.done {
		return it.retry == nil
	}
	pu, err := h.root.prepareUpload(m, nil)
	if err == nil && pu.encoded == nil {
		pu.encoded, err = inventory.Marshal(pu.inv)
	}
	if err != nil {
		h.logIngest(peer, it.path, err)
		if ack := ingestAck(err); ack.Status == wire.AckRetryLater {
			it.retry = ack
			return false
		}
		it.done = true
		return true
	}
	it.inv = pu
	return true
}

// write writes the checked enrolments (inventories: false) or inventories in queue order,
// writesPerTxn to a transaction. It returns the answer that stops the batch, if any.
func (h *handler) write(peer mesh.Peer, items []fwdItem, inventories bool) *wire.Ack {
	var chunk []int
	flush := func() *wire.Ack {
		if len(chunk) == 0 {
			return nil
		}
		type outcome struct {
			node   nodeRecord
			err    error
			stored bool
		}
		outs := make([]outcome, len(chunk))
		err := h.root.db.Update(func(tx *store.Txn) error {
			for k, i := range chunk {
				it := &items[i]
				outs[k] = outcome{}
				if it.inv != nil {
					stored, err := h.root.inv.putEncodedTx(tx, it.inv.inv, it.inv.encoded, h.root.inventoryFacts(it.inv.inv, it.inv.hash))
					if err != nil {
						return err
					}
					outs[k].stored = stored
					continue
				}
				n, err := h.reg.enrolTx(tx, it.stub, it.path)
				if errors.Is(err, errKeyRefused) || errors.Is(err, errKeyMismatch) || errors.Is(err, errStaleStub) {
					outs[k].err = err
					continue
				}
				if err != nil {
					return err
				}
				outs[k].node = n
			}
			return nil
		})
		if err != nil {
			h.log.Error("forwarded enrolments and inventories not stored", "peer", peer.NodeID, "items", len(chunk), "err", err)
			return h.stopAt(items, chunk[0], &wire.Ack{Status: wire.AckRetryLater, Reason: err.Error(), RetryAfter: queueRetryAfter})
		}
		for k, i := range chunk {
			it := &items[i]
			it.done = true
			switch {
			case it.inv != nil:
				h.root.stored(it.inv.inv, it.inv.hash, outs[k].stored)
			case outs[k].err != nil:
				h.log.Warn("enrolment refused", "node", it.stub.NodeID, "peer", peer.NodeID, "addr", peer.Addr, "err", outs[k].err)
			default:
				n := outs[k].node
				h.reg.note(&n)
				h.log.Info("node enrolled", "node", n.ID, "hostname", n.Hostname, "status", n.Status, "policy_server", n.PolicyServer)
			}
		}
		chunk = chunk[:0]
		return nil
	}
	for i := range items {
		it := &items[i]
		if it.retry != nil {
			if ack := flush(); ack != nil {
				return ack
			}
			return h.stopAt(items, i, nil)
		}
		if it.done || inventories && it.inv == nil || !inventories && it.stub.NodeID == "" {
			continue
		}
		if chunk = append(chunk, i); len(chunk) == writesPerTxn {
			if ack := flush(); ack != nil {
				return ack
			}
		}
	}
	return flush()
}

// stopAt answers a batch stopped at item i: everything before it acknowledged, with the
// reason of the first failure (ack, or the item's own, or any worker's).
func (h *handler) stopAt(items []fwdItem, i int, ack *wire.Ack) *wire.Ack {
	if ack == nil {
		ack = items[i].retry
	}
	if ack == nil {
		for k := range items {
			if items[k].retry != nil {
				ack = items[k].retry
				break
			}
		}
	}
	if ack == nil {
		ack = &wire.Ack{Status: wire.AckRetryLater, Reason: "an earlier item of the batch must be sent again", RetryAfter: queueRetryAfter}
	}
	var last uint64
	for k := 0; k < i; k++ {
		if !items[k].done {
			break
		}
		last = items[k].seq
	}
	ack.Seq = last
	return ack
}

// signerOf names the node whose items must stay in order: the one that signed m.
func signerOf(m wire.Message) string {
	switch m := m.(type) {
	case *wire.Report:
		if b, err := m.Peek(); err == nil {
			return b.NodeID
		}
	case *wire.InventoryUpload:
		if b, err := m.Peek(); err == nil {
			return b.NodeID
		}
	case *wire.Enrol:
		if stub, err := m.Peek(); err == nil {
			return stub.NodeID
		}
	}
	return ""
}

func (h *handler) logIngest(peer mesh.Peer, path []string, err error) {
	if err != nil {
		h.log.Warn("inventory not taken", "peer", peer.NodeID, "addr", peer.Addr, "path", path, "err", err)
	}
}

func (h *handler) logReport(peer mesh.Peer, path []string, err error) {
	if err != nil {
		h.log.Warn("report not taken", "peer", peer.NodeID, "addr", peer.Addr, "path", path, "err", err)
	}
}

// proxy answers a node's request that a relay passed up and waits on.
func (h *handler) proxy(peer mesh.Peer, p *wire.Proxy) wire.Message {
	relay, err := h.reg.record(peer.NodeID)
	if err != nil || relay.Role != wire.RoleRelay.String() || !relay.Key.Equal(peer.Key) {
		return &wire.Ack{Status: wire.AckRejected, Reason: fmt.Sprintf("%v: %s", errNotARelay, peer.NodeID)}
	}
	h.root.metrics.relay(peer.NodeID)
	if len(p.Path) == 0 || p.Path[len(p.Path)-1] != peer.NodeID {
		return &wire.Ack{Status: wire.AckRejected, Reason: errWrongForward.Error()}
	}
	inner, err := p.Inner()
	if err != nil {
		return &wire.Ack{Status: wire.AckError, Reason: err.Error()}
	}
	var reply wire.Message
	switch req := inner.(type) {
	case *wire.StatusRequest:
		reply, err = h.root.nodeStatus(req, nil)
	case *wire.PolicyRequest:
		reply, err = h.root.nodePolicy(req, nil)
	case *wire.FileRequest:
		reply, err = h.root.sharedFile(req, nil)
	case *wire.RelayStats:
		if err = h.root.relayStats(req, p.Path); err == nil {
			reply = &wire.Ack{Status: wire.AckOK}
		}
	case *wire.Membership:
		if err = h.root.zoneMembership(req, p.Path); err == nil {
			reply = &wire.Ack{Status: wire.AckOK}
		}
	default:
		return &wire.Ack{Status: wire.AckError, Reason: fmt.Sprintf("the root does not answer proxied %v messages", inner.Type())}
	}
	if err != nil {
		h.log.Warn("proxied status request refused", "peer", peer.NodeID, "path", p.Path, "err", err)
		return ingestAck(err)
	}
	return reply
}
