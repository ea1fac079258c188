package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"sync"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/wire"
)

// failoverAfter is how many contacts in a row must fail before the agent turns to another
// relay of its zone: one failure may be a blip, two are a relay gone.
const failoverAfter = 2

// primaryProbe bounds the check, while failed over, that the node's own relay is back.
const primaryProbe = 3 * time.Second

// zone is the agent's part in its zone: the relays the root vouched for, which one it
// talks to now, and its member of the zone's gossip pool.
type zone struct {
	mu       sync.Mutex
	relays   []wire.ZoneRelay
	active   string // the relay address used now; "" is the configured server
	failures int
	pool     *mesh.Pool
}

// server is the policy server the agent talks to now: its own, or a relay of its zone
// while its own is gone.
func (a *Agent) server() string {
	a.zone.mu.Lock()
	defer a.zone.mu.Unlock()
	if a.zone.active != "" {
		return a.zone.active
	}
	return a.cfg.Server
}

// peerPolicy accepts the pinned policy server, and the relays of the node's zone that
// the root listed in its signed mesh config.
func (a *Agent) peerPolicy(pin mesh.PeerPolicy) mesh.PeerPolicy {
	return func(p mesh.Peer) error {
		a.zone.mu.Lock()
		for _, r := range a.zone.relays {
			if r.NodeID == p.NodeID && ed25519.PublicKey(r.Key).Equal(p.Key) {
				a.zone.mu.Unlock()
				return nil
			}
		}
		a.zone.mu.Unlock()
		return pin(p)
	}
}

// applyMesh takes the mesh config the root signed for this node.
func (a *Agent) applyMesh(ctx context.Context, mc *wire.MeshConfig) {
	root := a.rootKey()
	if mc == nil || root == nil {
		return
	}
	body, err := mc.Open(root)
	if err != nil || body.NodeID != a.id.NodeID {
		a.log.Warn("mesh config refused", "err", err)
		return
	}
	a.zone.mu.Lock()
	a.zone.relays = body.Relays
	a.zone.mu.Unlock()
	_ = a.updateState(func(s *state) { s.ZoneRelays = body.Relays })
	if a.cfg.GossipListen == "" || body.Zone == "" || len(body.Keys) == 0 || len(body.ZoneSeeds) == 0 {
		return
	}
	a.zone.mu.Lock()
	pool := a.zone.pool
	a.zone.mu.Unlock()
	if pool == nil {
		p, err := mesh.NewPool(mesh.PoolConfig{Zone: body.Zone, NodeID: a.id.NodeID, Role: wire.RoleAgent,
			BindAddr: a.cfg.GossipListen, Keyring: body.Keys, Profile: a.cfg.GossipProfile, Logger: a.log})
		if err != nil {
			a.log.Warn("zone gossip not started", "zone", body.Zone, "err", err)
			return
		}
		a.zone.mu.Lock()
		a.zone.pool = p
		a.zone.mu.Unlock()
		pool = p
		a.log.Info("zone gossip started", "zone", body.Zone, "addr", p.Addr())
	} else if err := pool.SetKeyring(body.Keys); err != nil {
		a.log.Warn("zone gossip keyring", "err", err)
	}
	jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := pool.Join(jctx, body.ZoneSeeds); err != nil {
		a.log.Debug("zone gossip join", "err", err)
	}
}

// contactFailed counts a failed contact and, past failoverAfter, turns to another relay of
// the zone that answers. It reports whether the agent now talks to another server.
func (a *Agent) contactFailed(ctx context.Context) bool {
	a.zone.mu.Lock()
	a.zone.failures++
	failures, current, relays := a.zone.failures, a.zone.active, a.zone.relays
	a.zone.mu.Unlock()
	if failures < failoverAfter || len(relays) == 0 {
		return false
	}
	for _, r := range relays {
		if r.QUICAddr == "" || r.QUICAddr == current || r.QUICAddr == a.cfg.Server {
			continue
		}
		if a.probe(ctx, r.QUICAddr) == nil {
			a.zone.mu.Lock()
			a.zone.active, a.zone.failures = r.QUICAddr, 0
			a.zone.mu.Unlock()
			a.log.Warn("policy server gone; failed over to another relay of the zone", "server", a.cfg.Server, "relay", r.NodeID, "addr", r.QUICAddr)
			return true
		}
	}
	return false
}

// contactSucceeded resets the failure count and, while failed over, returns to the node's
// own relay as soon as it answers again.
func (a *Agent) contactSucceeded(ctx context.Context) {
	a.zone.mu.Lock()
	a.zone.failures = 0
	active := a.zone.active
	a.zone.mu.Unlock()
	if active == "" || a.probe(ctx, a.cfg.Server) != nil {
		return
	}
	a.zone.mu.Lock()
	a.zone.active = ""
	a.zone.mu.Unlock()
	a.log.Info("own policy server back", "server", a.cfg.Server, "was_on", active)
}

// probe asks a server for this node's status, briefly.
func (a *Agent) probe(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, primaryProbe)
	defer cancel()
	req := wire.NewStatusRequest(wire.StatusQuery{NodeID: a.id.NodeID, Time: a.cfg.Now().UTC()}, a.id.Key)
	reply, _, err := a.client.Exchange(ctx, addr, req)
	if err != nil {
		return err
	}
	if _, ok := reply.(*wire.StatusReply); !ok {
		return errors.New("no status")
	}
	return nil
}

// closeGossip leaves the zone pool.
func (a *Agent) closeGossip() {
	a.zone.mu.Lock()
	p := a.zone.pool
	a.zone.pool = nil
	a.zone.mu.Unlock()
	if p != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = p.Leave(ctx)
		cancel()
		_ = p.Close()
	}
}
