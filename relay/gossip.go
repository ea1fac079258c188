package relay

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/wire"
)

// membershipDelay gathers the zone's membership changes for this long before sending
// them up, so a burst of deaths (a switch failing) goes as one message.
const membershipDelay = 200 * time.Millisecond

// gossip is the relay's part in the mesh: the pool of its zone (itself and its agents),
// the core pool (the relays and the root), and the zone's membership sent up to the root.
type gossip struct {
	mu      sync.Mutex
	zone    *mesh.Pool
	core    *mesh.Pool
	keys    [][]byte
	pending map[string]wire.MemberReport
	wg      sync.WaitGroup
}

// meshLoop asks the root for the relay's mesh config every stats interval and keeps the
// pools in step with it: keys rotate, seeds change, a relay joins or leaves the zone.
func (r *Relay) meshLoop(ctx context.Context) {
	defer r.gossip.close()
	t := time.NewTicker(r.cfg.StatsInterval)
	defer t.Stop()
	for {
		if err := r.refreshMesh(ctx); err != nil {
			r.log.Debug("mesh config not refreshed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshMesh fetches the relay's own status from the root and applies its mesh config.
func (r *Relay) refreshMesh(ctx context.Context) error {
	ectx, cancel := context.WithTimeout(ctx, r.cfg.UpstreamTimeout)
	defer cancel()
	req := wire.NewStatusRequest(wire.StatusQuery{NodeID: r.id.NodeID, Time: r.cfg.Now().UTC()}, r.id.Key)
	reply, _, err := r.client.Exchange(ectx, r.cfg.Upstream, req)
	if err != nil {
		return err
	}
	st, ok := reply.(*wire.StatusReply)
	if !ok {
		if ack, isAck := reply.(*wire.Ack); isAck {
			return ack.Err()
		}
		return fmt.Errorf("status: answered with %v", reply.Type())
	}
	root, err := r.rootKey(st.RootKey)
	if err != nil {
		return err
	}
	if st.Mesh == nil {
		return nil // not accepted yet: no keys
	}
	body, err := st.Mesh.Open(root)
	if err != nil {
		return err
	}
	return r.applyMesh(ctx, body)
}

// rootKey pins the root's key the first time a status reply names it.
func (r *Relay) rootKey(offered ed25519.PublicKey) (ed25519.PublicKey, error) {
	if b, err := r.db.Bucket(bucketState).Get(keyRootKey); err == nil {
		if !ed25519.PublicKey(b).Equal(offered) {
			return nil, fmt.Errorf("the upstream names root key %s, but this relay pinned %s", mesh.Fingerprint(offered), mesh.Fingerprint(b))
		}
		return b, nil
	}
	if len(offered) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("the upstream names no root key")
	}
	if err := r.db.Bucket(bucketState).Put(keyRootKey, offered); err != nil {
		return nil, err
	}
	return offered, nil
}

// applyMesh starts or updates the pools; ctx is the relay's lifetime, which the zone
// watcher lives as long as.
func (r *Relay) applyMesh(ctx context.Context, body wire.MeshConfigBody) error {
	if len(body.Keys) == 0 {
		return nil
	}
	g := &r.gossip
	g.mu.Lock()
	defer g.mu.Unlock()
	g.keys = body.Keys
	if g.zone == nil && r.cfg.GossipListen != "" {
		p, err := mesh.NewPool(mesh.PoolConfig{
			Zone: r.cfg.Zone, NodeID: r.id.NodeID, Role: wire.RoleRelay, BindAddr: r.cfg.GossipListen,
			Keyring: body.Keys, Profile: r.cfg.GossipProfile, Meta: []byte(r.cfg.AdvertiseAddr), Logger: r.log,
		})
		if err != nil {
			return fmt.Errorf("zone pool: %w", err)
		}
		g.zone = p
		g.pending = map[string]wire.MemberReport{}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			r.watchZone(ctx, p)
		}()
		r.log.Info("zone gossip started", "zone", r.cfg.Zone, "addr", p.Addr())
	} else if g.zone != nil {
		if err := g.zone.SetKeyring(body.Keys); err != nil {
			return err
		}
	}
	if len(body.CoreSeeds) > 0 && r.cfg.CoreGossipListen != "" {
		if g.core == nil {
			p, err := mesh.NewPool(mesh.PoolConfig{
				Zone: CoreZone, NodeID: r.id.NodeID, Role: wire.RoleRelay, BindAddr: r.cfg.CoreGossipListen,
				Keyring: body.Keys, Profile: r.cfg.CoreGossipProfile, Logger: r.log,
			})
			if err != nil {
				return fmt.Errorf("core pool: %w", err)
			}
			g.core = p
			r.log.Info("core gossip started", "addr", p.Addr())
		} else if err := g.core.SetKeyring(body.Keys); err != nil {
			return err
		}
		jctx, cancel := context.WithTimeout(ctx, r.cfg.UpstreamTimeout)
		_, err := g.core.Join(jctx, body.CoreSeeds)
		cancel()
		if err != nil {
			r.log.Debug("core pool join", "err", err)
		}
	}
	return nil
}

// CoreZone names the pool of the relays and the root.
const CoreZone = "core"

// watchZone sends the zone's membership changes up as they happen, and the whole zone at
// every stats interval so the root recovers from a restart or a lost message.
func (r *Relay) watchZone(ctx context.Context, p *mesh.Pool) {
	g := &r.gossip
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	full := time.NewTicker(r.cfg.StatsInterval)
	defer full.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-p.Events():
			if !ok {
				return
			}
			g.mu.Lock()
			g.pending[ev.Member.NodeID] = report(ev.Member)
			g.mu.Unlock()
			flush.Reset(membershipDelay)
		case <-flush.C:
			g.mu.Lock()
			changed := make([]wire.MemberReport, 0, len(g.pending))
			for _, m := range g.pending {
				changed = append(changed, m)
			}
			g.mu.Unlock()
			err := r.sendMembership(ctx, changed, false)
			if err != nil {
				r.log.Debug("zone membership not sent", "err", err)
			}
			if err == nil {
				g.mu.Lock()
				for _, m := range changed {
					if cur, ok := g.pending[m.NodeID]; ok && cur == m {
						delete(g.pending, m.NodeID)
					}
				}
				g.mu.Unlock()
			} else {
				flush.Reset(time.Second)
			}
		case <-full.C:
			var all []wire.MemberReport
			for _, m := range p.Members() {
				all = append(all, report(m))
			}
			_ = r.sendMembership(ctx, all, true)
		}
	}
}

func report(m mesh.Member) wire.MemberReport {
	return wire.MemberReport{NodeID: m.NodeID, State: uint8(m.State), Since: m.Since.UTC()}
}

func (r *Relay) sendMembership(ctx context.Context, members []wire.MemberReport, full bool) error {
	m := wire.NewMembership(wire.MembershipBody{RelayID: r.id.NodeID, Zone: r.cfg.Zone, Time: r.cfg.Now().UTC(), Full: full, Members: members}, r.id.Key)
	reply, err := r.tellRoot(ctx, m)
	if err != nil {
		return err
	}
	if ack, ok := reply.(*wire.Ack); ok {
		return ack.Err()
	}
	return nil
}

// Members returns the relay's zone pool as it sees it, nil before it gossips.
func (r *Relay) Members() []mesh.Member {
	r.gossip.mu.Lock()
	defer r.gossip.mu.Unlock()
	if r.gossip.zone == nil {
		return nil
	}
	return r.gossip.zone.Members()
}

// GossipAddr is the zone pool's address, "" before it gossips.
func (r *Relay) GossipAddr() string {
	r.gossip.mu.Lock()
	defer r.gossip.mu.Unlock()
	if r.gossip.zone == nil {
		return ""
	}
	return r.gossip.zone.Addr()
}

func (g *gossip) close() {
	g.mu.Lock()
	zone, core := g.zone, g.core
	g.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, p := range []*mesh.Pool{zone, core} {
		if p != nil {
			_ = p.Leave(ctx)
			_ = p.Close()
		}
	}
	g.wg.Wait()
}
