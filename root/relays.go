package root

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

const bucketRelayStats = "relay-stats" // relay id → its last signed figures (JSON)

// relayStats takes the figures a relay reports about its queue and uplink.
func (r *Root) relayStats(s *wire.RelayStats, path []string) error {
	body, err := s.Peek()
	if err != nil {
		return refused("%v", err)
	}
	if len(path) == 0 || path[0] != body.RelayID {
		return refused("stats of relay %s carried with path %v", body.RelayID, path)
	}
	rec, err := r.reg.record(body.RelayID)
	if err != nil {
		return err
	}
	if rec.Role != wire.RoleRelay.String() {
		return refused("node %s is not a relay", body.RelayID)
	}
	if err := s.Verify(rec.Key); err != nil {
		return refused("relay %s: %v", body.RelayID, err)
	}
	b, err := json.Marshal(toAPIStats(body))
	if err != nil {
		return err
	}
	if err := r.db.Bucket(bucketRelayStats).Put(body.RelayID, b); err != nil {
		return err
	}
	// The directory of relays changes when a relay appears or moves; figures alone wait for
	// the cache to expire.
	r.dirMu.Lock()
	if e, ok := r.dir[body.RelayID]; !ok || e.stats.Zone != body.Zone || e.stats.GossipAddr != body.GossipAddr || e.stats.QUICAddr != body.QUICAddr {
		r.dir = nil
	}
	r.dirMu.Unlock()
	return nil
}

func toAPIStats(b wire.RelayStatsBody) api.RelayStats {
	return api.RelayStats{
		Reported: b.Time, QueueDepth: b.QueueDepth, QueueBytes: b.QueueBytes, OldestQueued: b.OldestQueued,
		BytesSent: b.BytesSent, BytesReceived: b.BytesReceived, Forwarded: b.Forwarded,
		UpstreamUp: b.UpstreamUp, UpstreamSince: b.UpstreamSince, UpstreamError: b.UpstreamError,
		CachedPolicies: b.CachedPolicies,
		Zone:           b.Zone, GossipAddr: b.GossipAddr, QUICAddr: b.QUICAddr,
	}
}

// relays lists the relays with the figures they last reported.
func (r *Root) relays() ([]api.Relay, error) {
	nodes, err := r.reg.Nodes(context.Background())
	if err != nil {
		return nil, err
	}
	behind := map[string]int{}
	for _, n := range nodes {
		for _, hop := range n.Path {
			behind[hop]++
		}
	}
	var out []api.Relay
	for _, n := range nodes {
		if n.Role != wire.RoleRelay.String() {
			continue
		}
		rel := api.Relay{Node: n, Nodes: behind[n.ID]}
		b, err := r.db.Bucket(bucketRelayStats).Get(n.ID)
		switch {
		case err == nil:
			var st api.RelayStats
			if err := json.Unmarshal(b, &st); err != nil {
				return nil, fmt.Errorf("stats of relay %s: %w", n.ID, err)
			}
			rel.Stats = &st
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		out = append(out, rel)
	}
	slices.SortFunc(out, func(a, b api.Relay) int { return compareStrings(a.Node.Hostname, b.Node.Hostname) })
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (r *Root) relayRoutes(route api.RouteFunc, _ api.PublicFunc) {
	route("GET /api/v1/relays", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		rels, err := r.relays()
		if err != nil {
			api.Fail(w, http.StatusInternalServerError, api.CodeInternal, err.Error())
			return
		}
		if rels == nil {
			rels = []api.Relay{}
		}
		api.Reply(w, api.RelayList{SchemaVersion: api.SchemaVersion, Relays: rels})
	})
}
