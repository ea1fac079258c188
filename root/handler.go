package root

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
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

// forwardWorkers is how many items of one forwarded batch are processed at once. Items of
// one node stay in order on one worker; across nodes, concurrent transactions share their
// fsyncs in Badger's write pipeline, where one after the other each waited for its own.
const forwardWorkers = 8

// forward takes a batch a relay carried. The answer acknowledges every item up to the last
// one the root is done with, which includes items it refused for good (a bad signature will
// not get better by resending it). A failure that might pass (the store, a full queue) stops
// the acknowledgement before that item, so the relay sends it and the rest again; items
// after it may have been taken already, and are taken again idempotently (enrolments and
// inventories refresh, reports are deduplicated by run).
func (h *handler) forward(peer mesh.Peer, f *wire.Forward) wire.Message {
	relay, err := h.reg.record(peer.NodeID)
	if err != nil || relay.Role != wire.RoleRelay.String() || !relay.Key.Equal(peer.Key) {
		h.log.Warn("forward refused", "peer", peer.NodeID, "addr", peer.Addr, "err", errNotARelay)
		return &wire.Ack{Status: wire.AckRetryLater, Reason: fmt.Sprintf("%v: relay %s must enrol (and be accepted) first", errNotARelay, peer.NodeID)}
	}
	acks := make([]*wire.Ack, len(f.Items)) // the answer of an item that stops the batch
	done := make([]bool, len(f.Items))      // taken, or refused for good
	inner := make([]wire.Message, len(f.Items))
	parts := make([][]int, forwardWorkers)
	for i := range f.Items {
		it := &f.Items[i]
		if len(it.Path) == 0 || it.Path[len(it.Path)-1] != peer.NodeID {
			h.log.Warn("forwarded item refused", "peer", peer.NodeID, "seq", it.Seq, "err", errWrongForward)
			done[i] = true
			continue
		}
		m, err := it.Inner()
		if err != nil {
			h.log.Warn("forwarded item refused", "peer", peer.NodeID, "seq", it.Seq, "err", err)
			done[i] = true
			continue
		}
		inner[i] = m
		w := int(xxhash.Sum64String(signerOf(m)) % forwardWorkers)
		parts[w] = append(parts[w], i)
	}
	var wg sync.WaitGroup
	for _, part := range parts {
		if len(part) == 0 {
			continue
		}
		wg.Go(func() {
			for _, i := range part {
				acks[i] = h.forwardItem(peer, relay, f.Items[i].Path, f.Items[i].Seq, inner[i])
				if acks[i] != nil {
					return // the rest of this worker's items wait for the resend
				}
				done[i] = true
			}
		})
	}
	wg.Wait()
	var last uint64
	for i := range f.Items {
		if !done[i] {
			ack := acks[i]
			if ack == nil {
				ack = &wire.Ack{Status: wire.AckRetryLater, Reason: "an earlier item of the batch must be sent again", RetryAfter: queueRetryAfter}
			}
			for _, a := range acks { // the reason of the first failure, whichever worker had it
				if a != nil {
					ack = a
					break
				}
			}
			ack.Seq = last
			return ack
		}
		last = f.Items[i].Seq
	}
	return &wire.Ack{Status: wire.AckOK, Seq: last}
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

// forwardItem takes one item of a forwarded batch: nil when the root is done with it
// (taken, or refused for good), the answer to stop the batch with otherwise.
func (h *handler) forwardItem(peer mesh.Peer, relay nodeRecord, path []string, seq uint64, inner wire.Message) *wire.Ack {
	switch m := inner.(type) {
	case *wire.Enrol:
		stub, err := m.Open()
		if err != nil {
			h.log.Warn("forwarded enrolment refused", "peer", peer.NodeID, "seq", seq, "err", err)
			return nil
		}
		if ack := h.enrol(stub, path, peer); ack.Status == wire.AckRetryLater {
			return &wire.Ack{Status: wire.AckRetryLater, Reason: ack.Reason}
		}
	case *wire.InventoryUpload:
		// An inventory only refreshes a node that enrolled; a relay that is not yet
		// accepted may carry it like an enrolment.
		_, err := h.root.ingestUpload(m, nil)
		h.logIngest(peer, path, err)
		if ack := ingestAck(err); ack.Status == wire.AckRetryLater {
			return ack
		}
	case *wire.Report:
		if relay.Status != api.StatusAccepted {
			return &wire.Ack{Status: wire.AckRetryLater, Reason: fmt.Sprintf("relay %s is %s; only enrolments and inventories pass until it is accepted", peer.NodeID, relay.Status)}
		}
		err := h.root.takeReport(m, nil)
		h.logReport(peer, path, err)
		if ack := reportAck(err); ack.Status == wire.AckRetryLater {
			return ack
		}
	default:
		if relay.Status != api.StatusAccepted {
			return &wire.Ack{Status: wire.AckRetryLater, Reason: fmt.Sprintf("relay %s is %s; only enrolments and inventories pass until it is accepted", peer.NodeID, relay.Status)}
		}
		h.log.Warn("forwarded item of an unexpected type", "peer", peer.NodeID, "seq", seq, "type", inner.Type())
	}
	return nil
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
