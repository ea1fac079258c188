package relay

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// link is what the relay knows of its uplink, for the figures it reports.
type link struct {
	mu        sync.Mutex
	up        bool
	since     time.Time
	lastErr   string
	received  atomic.Uint64 // bytes taken from nodes and relays below
	forwarded atomic.Uint64 // items the upstream acknowledged
}

// set records the upstream's state; a change is logged once, not at every retry.
func (r *Relay) setUpstream(up bool, err error) {
	r.link.mu.Lock()
	defer r.link.mu.Unlock()
	if up != r.link.up || r.link.since.IsZero() {
		r.link.since = r.cfg.Now().UTC()
		if up {
			r.log.Info("upstream reachable", "upstream", r.cfg.Upstream)
		}
	}
	r.link.up = up
	r.link.lastErr = ""
	if err != nil {
		r.link.lastErr = err.Error()
	}
}

// Stats returns the relay's figures as it reports them upstream.
func (r *Relay) Stats() wire.RelayStatsBody {
	qs := r.queue.Stats()
	sent, _ := r.client.Traffic()
	cached := r.cachedPolicies() // before the link's lock, which the forwarder takes
	r.link.mu.Lock()
	defer r.link.mu.Unlock()
	return wire.RelayStatsBody{
		RelayID: r.id.NodeID, Time: r.cfg.Now().UTC(),
		QueueDepth: uint64(qs.Depth), QueueBytes: uint64(qs.Bytes), OldestQueued: qs.Oldest,
		BytesSent: sent, BytesReceived: r.link.received.Load(), Forwarded: r.link.forwarded.Load(),
		UpstreamUp: r.link.up, UpstreamSince: r.link.since, UpstreamError: r.link.lastErr,
		CachedPolicies: uint64(cached),
		Zone:           r.cfg.Zone,
		GossipAddr:     r.GossipAddr(),
		QUICAddr:       r.cfg.AdvertiseAddr,
	}
}

// reportStats sends the relay's figures to the root every interval, through the relays
// above, so operators see every hop's queue and uplink from the root. While the uplink is
// down they are simply not sent: the root shows when it last heard.
func (r *Relay) reportStats(ctx context.Context) {
	t := time.NewTicker(r.cfg.StatsInterval)
	defer t.Stop()
	first := time.After(time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-first:
		case <-t.C:
		}
		// An answer, even a refusal, means the upstream is there; only no answer means down.
		if _, err := r.tellRoot(ctx, wire.NewRelayStats(r.Stats(), r.id.Key)); err != nil {
			r.log.Debug("relay stats not sent", "err", err)
			r.setUpstream(false, err)
		} else {
			r.setUpstream(true, nil)
		}
	}
}

// tellRoot sends one of the relay's own messages (its figures, its zone's membership) up to
// the root, as a Proxy naming this relay, and returns the answer.
func (r *Relay) tellRoot(ctx context.Context, m wire.Message) (wire.Message, error) {
	frame, err := wire.AppendFrame(nil, m)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, min(proxyTimeout, r.cfg.UpstreamTimeout))
	defer cancel()
	reply, _, err := r.client.Exchange(ctx, r.cfg.Upstream, &wire.Proxy{Path: []string{r.id.NodeID}, Frame: frame})
	return reply, err
}
