package relay

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// proxyTimeout bounds how long a node waits on the relay for the root's answer.
const proxyTimeout = 15 * time.Second

// retryAfterFull is what agents are told to wait when the queue's disk budget is reached.
const retryAfterFull = time.Minute

type handler struct {
	r     *Relay
	hello *wire.Hello
}

var _ mesh.Handler = (*handler)(nil)

func (h *handler) ServeExchange(ctx context.Context, peer mesh.Peer, req wire.Message) wire.Message {
	switch m := req.(type) {
	case *wire.Hello:
		return h.hello
	case *wire.Enrol:
		return h.enrol(peer, m)
	case *wire.Forward:
		return h.forwardFromBelow(peer, m)
	case *wire.InventoryUpload:
		return h.inventory(peer, m)
	case *wire.Report:
		return h.report(peer, m)
	case *wire.StatusRequest:
		reply := h.askUp(ctx, peer, m)
		h.r.noteRootKey(reply)
		return reply
	case *wire.PolicyRequest:
		return h.policy(ctx, peer, m)
	case *wire.FileRequest:
		return h.sharedFile(ctx, peer, m)
	case *wire.Proxy:
		if len(m.Path) == 0 || m.Path[len(m.Path)-1] != peer.NodeID {
			return &wire.Ack{Status: wire.AckRejected, Reason: fmt.Sprintf("proxied request does not name relay %s last in its path", peer.NodeID)}
		}
		m.Path = append(slices.Clone(m.Path), h.r.id.NodeID)
		return h.proxyUp(ctx, peer, m)
	default:
		h.r.log.Warn("unexpected message", "peer", peer.NodeID, "addr", peer.Addr, "type", req.Type())
		return &wire.Ack{Status: wire.AckError, Reason: fmt.Sprintf("a relay does not take %v messages", req.Type())}
	}
}

// enrol queues a node's own enrolment. The relay checks what it can (signature, that the
// stub names the connected node) so that junk is refused at the edge rather than carried
// across a costly link; the root checks everything again.
func (h *handler) enrol(peer mesh.Peer, e *wire.Enrol) wire.Message {
	stub, err := e.Open()
	if err == nil && (stub.NodeID != peer.NodeID || !stub.Key.Equal(peer.Key)) {
		err = fmt.Errorf("enrolment of node %s sent by node %s", stub.NodeID, peer.NodeID)
	}
	if err != nil {
		h.r.log.Warn("enrolment refused", "peer", peer.NodeID, "addr", peer.Addr, "err", err)
		return &wire.Ack{Status: wire.AckRejected, Reason: err.Error()}
	}
	frame, err := wire.AppendFrame(nil, e)
	if err != nil {
		return &wire.Ack{Status: wire.AckError, Reason: err.Error()}
	}
	it := wire.Forwarded{Path: []string{h.r.id.NodeID}, Received: h.r.cfg.Now().UTC(), Frame: frame}
	if ack := h.queue(peer, it); ack != nil {
		return ack
	}
	h.r.log.Info("enrolment queued", "node", stub.NodeID, "hostname", stub.Hostname, "addr", peer.Addr)
	return &wire.Ack{Status: wire.AckOK}
}

// fromPeer checks that the connected node signed a request naming itself: the relay cannot
// tell whether the root will take it, but it need not carry forgeries. It returns the
// refusal to answer, nil when the request may go on.
func (h *handler) fromPeer(peer mesh.Peer, what, nodeID string, peekErr error, verify func(ed25519.PublicKey) error) *wire.Ack {
	err := peekErr
	if err == nil && nodeID != peer.NodeID {
		err = fmt.Errorf("%s of node %s sent by node %s", what, nodeID, peer.NodeID)
	}
	if err == nil {
		err = verify(peer.Key)
	}
	if err != nil {
		h.r.log.Warn("request from a node refused", "what", what, "peer", peer.NodeID, "addr", peer.Addr, "err", err)
		return &wire.Ack{Status: wire.AckRejected, Reason: err.Error()}
	}
	return nil
}

// inventory queues a node's own inventory. The relay cannot know whether the root will take
// it, but it can check that the connected node signed it, so it does not carry forgeries.
func (h *handler) inventory(peer mesh.Peer, u *wire.InventoryUpload) wire.Message {
	body, err := u.Peek()
	if ack := h.fromPeer(peer, "inventory", body.NodeID, err, u.Verify); ack != nil {
		return ack
	}
	frame, err := wire.AppendFrame(nil, u)
	if err != nil {
		return &wire.Ack{Status: wire.AckError, Reason: err.Error()}
	}
	if ack := h.queue(peer, wire.Forwarded{Path: []string{h.r.id.NodeID}, Received: h.r.cfg.Now().UTC(), Frame: frame}); ack != nil {
		return ack
	}
	h.r.log.Info("inventory queued", "node", body.NodeID, "bytes", len(frame), "kind", body.Kind)
	return &wire.Ack{Status: wire.AckOK}
}

// report queues a node's signed run report, checked like an inventory.
func (h *handler) report(peer mesh.Peer, r *wire.Report) wire.Message {
	body, err := r.Peek()
	if ack := h.fromPeer(peer, "report", body.NodeID, err, r.Verify); ack != nil {
		return ack
	}
	frame, err := wire.AppendFrame(nil, r)
	if err != nil {
		return &wire.Ack{Status: wire.AckError, Reason: err.Error()}
	}
	if ack := h.queue(peer, wire.Forwarded{Path: []string{h.r.id.NodeID}, Received: h.r.cfg.Now().UTC(), Frame: frame}); ack != nil {
		return ack
	}
	h.r.log.Debug("report queued", "node", body.NodeID, "run", body.RunID, "bytes", len(frame))
	return &wire.Ack{Status: wire.AckOK}
}

// askUp passes a node's own request up to the root, as a Proxy naming this relay, and
// returns the answer.
func (h *handler) askUp(ctx context.Context, peer mesh.Peer, req wire.Message) wire.Message {
	frame, err := wire.AppendFrame(nil, req)
	if err != nil {
		return &wire.Ack{Status: wire.AckError, Reason: err.Error()}
	}
	return h.proxyUp(ctx, peer, &wire.Proxy{Path: []string{h.r.id.NodeID}, Frame: frame})
}

// proxyUp passes a request that needs the root's answer upstream and returns the answer.
// Cut off from the upstream, the relay says so: the node keeps what it has and asks again.
func (h *handler) proxyUp(ctx context.Context, peer mesh.Peer, p *wire.Proxy) wire.Message {
	ctx, cancel := context.WithTimeout(ctx, min(proxyTimeout, h.r.cfg.UpstreamTimeout))
	defer cancel()
	reply, _, err := h.r.client.Exchange(ctx, h.r.cfg.Upstream, p)
	if err != nil {
		h.r.log.Debug("proxied request failed", "peer", peer.NodeID, "err", err)
		return &wire.Ack{Status: wire.AckRetryLater, Reason: "upstream unreachable: " + err.Error(), RetryAfter: time.Minute}
	}
	return reply
}

// forwardFromBelow queues a batch from a relay below this one, adding this relay to each
// item's path, and acknowledges the batch once it is durable here.
func (h *handler) forwardFromBelow(peer mesh.Peer, f *wire.Forward) wire.Message {
	recs := make([][]byte, 0, len(f.Items))
	var last uint64
	for _, it := range f.Items {
		if len(it.Path) == 0 || it.Path[len(it.Path)-1] != peer.NodeID {
			return &wire.Ack{Status: wire.AckRejected, Reason: fmt.Sprintf("item %d does not name relay %s last in its path", it.Seq, peer.NodeID)}
		}
		last = it.Seq
		it.Path = append(slices.Clone(it.Path), h.r.id.NodeID)
		it.Seq = 0
		b, err := it.MarshalBinary()
		if err != nil {
			return &wire.Ack{Status: wire.AckRejected, Reason: err.Error()}
		}
		recs = append(recs, b)
	}
	if _, err := h.r.queue.Append(recs...); err != nil {
		return h.queueFailed(peer, err)
	}
	for _, b := range recs {
		h.r.link.received.Add(uint64(len(b)))
	}
	for i := range f.Items {
		h.r.metrics.received.count(f.Items[i].Frame)
	}
	h.r.wake()
	return &wire.Ack{Status: wire.AckOK, Seq: last}
}

func (h *handler) queue(peer mesh.Peer, it wire.Forwarded) *wire.Ack {
	b, err := it.MarshalBinary()
	if err != nil {
		return &wire.Ack{Status: wire.AckError, Reason: err.Error()}
	}
	if _, err := h.r.queue.Append(b); err != nil {
		return h.queueFailed(peer, err)
	}
	h.r.link.received.Add(uint64(len(b)))
	h.r.metrics.received.count(it.Frame)
	h.r.wake()
	return nil
}

func (h *handler) queueFailed(peer mesh.Peer, err error) *wire.Ack {
	if errors.Is(err, store.ErrQueueFull) {
		h.r.log.Warn("upstream queue full; telling the sender to retry later", "peer", peer.NodeID, "addr", peer.Addr)
		return &wire.Ack{Status: wire.AckRetryLater, Reason: "relay queue full", RetryAfter: retryAfterFull}
	}
	h.r.log.Error("queue append failed", "peer", peer.NodeID, "err", err)
	return &wire.Ack{Status: wire.AckRetryLater, Reason: "relay cannot store right now", RetryAfter: retryAfterFull}
}

func (r *Relay) wake() {
	select {
	case r.queued <- struct{}{}:
	default:
	}
}
