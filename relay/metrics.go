package relay

import (
	"sync/atomic"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/metrics"
	"github.com/bosun-io/bosun/wire"
)

// relayMetrics is what the relay counts as it works; queue, uplink and pool figures are
// read from where the relay keeps them when Prometheus scrapes.
type relayMetrics struct {
	reg *metrics.Registry
	// received counts the items queued, forwarded the items the upstream acknowledged, by
	// what they are: rate(forwarded) is the drain rate.
	received, forwarded kindCounters
	// policy answers by where they came from: upstream, or the cache when it was cut off.
	policyUpstream, policyHit, policyMiss *metrics.Counter
	// downstream is the traffic of nodes and relays below, from the QUIC server's hook.
	downReceived, downSent atomic.Uint64
}

func newRelayMetrics() *relayMetrics {
	reg := metrics.NewRegistry()
	received := reg.CounterVec("bosun_relay_received_items_total", "Items made durable in the upstream queue (from nodes and from relays below), by kind.", "kind")
	forwarded := reg.CounterVec("bosun_relay_forwarded_items_total", "Queued items the upstream acknowledged, by kind.", "kind")
	policies := reg.CounterVec("bosun_relay_policy_requests_total", "Policy requests of the zone's nodes by answer: from upstream, or from the cache (hit) or not at all (miss) while the upstream was unreachable.", "source")
	return &relayMetrics{
		reg:            reg,
		received:       newKindCounters(received),
		forwarded:      newKindCounters(forwarded),
		policyUpstream: policies.With("upstream"), policyHit: policies.With("cache_hit"), policyMiss: policies.With("cache_miss"),
	}
}

// kindCounters count carried items by the message they hold.
type kindCounters struct{ report, inventory, enrolment, other *metrics.Counter }

func newKindCounters(v *metrics.CounterVec) kindCounters {
	return kindCounters{report: v.With("report"), inventory: v.With("inventory"), enrolment: v.With("enrolment"), other: v.With("other")}
}

// count counts one item by its frame's type: a peek at its first bytes, no decoding.
func (k *kindCounters) count(frame []byte) {
	t, _ := wire.FrameType(frame)
	switch t {
	case wire.TypeReport:
		k.report.Inc()
	case wire.TypeInventory:
		k.inventory.Inc()
	case wire.TypeEnrol:
		k.enrolment.Inc()
	default:
		k.other.Inc()
	}
}

func (m *relayMetrics) traffic(_ mesh.Peer, received, sent int) {
	m.downReceived.Add(uint64(received))
	m.downSent.Add(uint64(sent))
}

// registerFigures registers what the relay already holds, read at scrape time.
func (r *Relay) registerFigures() {
	reg := r.metrics.reg
	reg.Value(metrics.Gauge, "bosun_relay_queue_items", "Items waiting in the upstream queue.", func() float64 { return float64(r.queue.Stats().Depth) })
	reg.Value(metrics.Gauge, "bosun_relay_queue_bytes", "Bytes of the items waiting in the upstream queue.", func() float64 { return float64(r.queue.Stats().Bytes) })
	reg.Value(metrics.Gauge, "bosun_relay_queue_capacity_bytes", "Disk budget of the upstream queue; past it senders are told to retry later.", func() float64 { return float64(r.cfg.QueueBytes) })
	reg.Value(metrics.Gauge, "bosun_relay_queue_oldest_age_seconds", "Age of the oldest item waiting in the upstream queue; 0 when empty.", func() float64 {
		oldest := r.queue.Stats().Oldest
		if oldest.IsZero() {
			return 0
		}
		return max(r.cfg.Now().Sub(oldest).Seconds(), 0)
	})
	reg.Value(metrics.Gauge, "bosun_relay_upstream_up", "1 while the upstream answers, 0 while it does not.", func() float64 {
		r.link.mu.Lock()
		defer r.link.mu.Unlock()
		if r.link.up {
			return 1
		}
		return 0
	})
	reg.Value(metrics.Gauge, "bosun_relay_upstream_state_since_timestamp_seconds", "When the upstream last went up or down (Unix time); 0 before the first attempt.", func() float64 {
		r.link.mu.Lock()
		defer r.link.mu.Unlock()
		if r.link.since.IsZero() {
			return 0
		}
		return float64(r.link.since.UnixNano()) / 1e9
	})
	reg.Func(metrics.CounterKind, "bosun_relay_link_bytes_total", "Application bytes over QUIC: with the upstream, and with the nodes and relays below, by direction.", []string{"link", "direction"}, func(emit metrics.Emit) {
		sent, received := r.client.Traffic()
		emit(float64(sent), "upstream", "sent")
		emit(float64(received), "upstream", "received")
		emit(float64(r.metrics.downReceived.Load()), "downstream", "received")
		emit(float64(r.metrics.downSent.Load()), "downstream", "sent")
	})
	reg.Func(metrics.Gauge, "bosun_relay_gossip_members", "Members of the zone's gossip pool, as this relay sees them, by state.", []string{"state"}, func(emit metrics.Emit) {
		r.gossip.mu.Lock()
		zone := r.gossip.zone
		r.gossip.mu.Unlock()
		if zone == nil {
			return
		}
		counts := zone.CountByState()
		for _, s := range mesh.MemberStates {
			emit(float64(counts[s]), s.String())
		}
	})
	reg.Value(metrics.Gauge, "bosun_relay_cached_policies", "Signed policies cached for the zone's nodes.", func() float64 {
		return float64(r.cachedPolicies())
	})
}
