package root

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

const (
	bucketMesh = "mesh" // "keyring" → the gossip keyring
	keyKeyring = "keyring"
	coreZone   = "core"
)

// gossipKey is one key of the gossip keyring. A rotation adds a key that every node installs
// first, makes it the one that encrypts once nodes had time to learn it, and drops the old
// one after as long again, so no member is ever cut from its pool by a rotation.
type gossipKey struct {
	Key       []byte    `json:"key"`
	Added     time.Time `json:"added"`
	PrimaryAt time.Time `json:"primaryAt"` // when it starts encrypting
	Retire    time.Time `json:"retire,omitzero"`
}

// membership is what the root knows of who answers gossip: its own core pool for the
// relays, and what each relay reports of its zone. A relay is a member of both pools, so
// members are kept per zone.
type membership struct {
	mu    sync.Mutex
	nodes map[string]map[string]api.Member // node id → zone → member
}

func (m *membership) set(mem api.Member) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nodes == nil {
		m.nodes = map[string]map[string]api.Member{}
	}
	if m.nodes[mem.NodeID] == nil {
		m.nodes[mem.NodeID] = map[string]api.Member{}
	}
	m.nodes[mem.NodeID][mem.Zone] = mem
}

// get returns what gossip last learned of a node, in whichever pool it changed last.
func (m *membership) get(id string) (api.Member, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var latest api.Member
	found := false
	for _, mem := range m.nodes[id] {
		if !found || mem.Since.After(latest.Since) {
			latest, found = mem, true
		}
	}
	return latest, found
}

// countByZoneState counts the members of each zone pool by state, leaving out the pool
// named skip.
func (m *membership) countByZoneState(skip string) map[string]map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]map[string]int{}
	for _, zones := range m.nodes {
		for zone, mem := range zones {
			if zone == skip {
				continue
			}
			if out[zone] == nil {
				out[zone] = map[string]int{}
			}
			out[zone][mem.State]++
		}
	}
	return out
}

func (m *membership) all() []api.Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []api.Member
	for _, zones := range m.nodes {
		for _, mem := range zones {
			out = append(out, mem)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Zone != out[j].Zone {
			return out[i].Zone < out[j].Zone
		}
		return out[i].NodeID < out[j].NodeID
	})
	return out
}

// keyring returns the keyring, made at first use, and the keys as nodes must install them
// now: the encrypting one first.
func (r *Root) keyring() ([][]byte, []gossipKey, error) {
	var keys []gossipKey
	b, err := r.db.Bucket(bucketMesh).Get(keyKeyring)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &keys); err != nil {
			return nil, nil, fmt.Errorf("gossip keyring: %w", err)
		}
	case errors.Is(err, store.ErrNotFound):
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, nil, err
		}
		now := r.cfg.Now().UTC()
		keys = []gossipKey{{Key: k, Added: now, PrimaryAt: now}}
		if err := r.saveKeyring(keys); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, err
	}
	now := r.cfg.Now()
	var primary []byte
	var others [][]byte
	for _, k := range keys {
		if !k.Retire.IsZero() && now.After(k.Retire) {
			continue
		}
		if !now.Before(k.PrimaryAt) && (primary == nil || k.PrimaryAt.After(primaryAt(keys, primary))) {
			if primary != nil {
				others = append(others, primary)
			}
			primary = k.Key
			continue
		}
		others = append(others, k.Key)
	}
	if primary == nil {
		return nil, nil, errors.New("gossip keyring has no key in use")
	}
	return append([][]byte{primary}, others...), keys, nil
}

func primaryAt(keys []gossipKey, k []byte) time.Time {
	for _, g := range keys {
		if string(g.Key) == string(k) {
			return g.PrimaryAt
		}
	}
	return time.Time{}
}

func (r *Root) saveKeyring(keys []gossipKey) error {
	b, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	return r.db.Bucket(bucketMesh).Put(keyKeyring, b)
}

// rotateKeys starts a rotation: a new key, encrypting after step, the current ones
// retired after twice step.
func (r *Root) rotateKeys(step time.Duration) error {
	_, keys, err := r.keyring()
	if err != nil {
		return err
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return err
	}
	now := r.cfg.Now().UTC()
	for i := range keys {
		if keys[i].Retire.IsZero() {
			keys[i].Retire = now.Add(2 * step)
		}
	}
	keys = append(keys, gossipKey{Key: k, Added: now, PrimaryAt: now.Add(step)})
	if err := r.saveKeyring(keys); err != nil {
		return err
	}
	r.log.Info("gossip key rotation started", "encrypting_from", now.Add(step), "old_retired", now.Add(2*step))
	return nil
}

// syncCoreKeys keeps the root's core pool on the current keyring.
func (r *Root) syncCoreKeys() {
	if r.core == nil {
		return
	}
	keys, _, err := r.keyring()
	if err == nil {
		err = r.core.SetKeyring(keys)
	}
	if err != nil {
		r.log.Warn("core pool keyring", "err", err)
	}
}

// meshConfig is what an accepted node needs to gossip and fail over, signed by the root.
// Every status request of every node asks for it, so it reads only the relays' figures (one
// entry per relay), never the whole registry.
func (r *Root) meshConfig(rec nodeRecord) (*wire.MeshConfig, error) {
	keys, _, err := r.keyring()
	if err != nil {
		return nil, err
	}
	rels, err := r.relayDirectory()
	if err != nil {
		return nil, err
	}
	body := wire.MeshConfigBody{NodeID: rec.ID, Time: r.cfg.Now().UTC(), Keys: keys}
	switch {
	case rec.Role == wire.RoleRelay.String():
		body.Zone = rels[rec.ID].stats.Zone
		if r.core != nil {
			body.CoreSeeds = append(body.CoreSeeds, r.core.Addr())
		}
	case len(rec.Path) > 0:
		body.Zone = rels[rec.Path[0]].stats.Zone
	}
	if body.Zone == "" {
		return wire.NewMeshConfig(body, r.id.Key), nil
	}
	ids := make([]string, 0, len(rels))
	for id := range rels {
		ids = append(ids, id)
	}
	sort.Strings(ids) // the same list, in the same order, at every request
	for _, id := range ids {
		rel := rels[id]
		if rel.stats.Zone != body.Zone || rel.rec.Status != api.StatusAccepted {
			continue
		}
		if rel.stats.GossipAddr != "" {
			body.ZoneSeeds = append(body.ZoneSeeds, rel.stats.GossipAddr)
		}
		if rel.stats.QUICAddr != "" && id != rec.ID {
			body.Relays = append(body.Relays, wire.ZoneRelay{NodeID: id, QUICAddr: rel.stats.QUICAddr, Key: rel.rec.Key})
		}
	}
	return wire.NewMeshConfig(body, r.id.Key), nil
}

// directoryEntry is a relay that reported its figures, with its registry record.
type directoryEntry struct {
	rec   nodeRecord
	stats api.RelayStats
}

// directoryTTL is how long relayDirectory's answer is reused: every status request of every
// node asks for it, and reading it costs a read per relay.
const directoryTTL = 5 * time.Second

// relayDirectory returns the relays that reported their figures, by node id, as they were
// at most directoryTTL ago. The map is shared: callers must not change it.
func (r *Root) relayDirectory() (map[string]directoryEntry, error) {
	r.dirMu.Lock()
	defer r.dirMu.Unlock()
	if r.dir != nil && r.cfg.Now().Sub(r.dirAt) < directoryTTL && r.cfg.Now().After(r.dirAt) {
		return r.dir, nil
	}
	out, err := r.readRelayDirectory()
	if err != nil {
		return nil, err
	}
	r.dir, r.dirAt = out, r.cfg.Now()
	return out, nil
}

func (r *Root) readRelayDirectory() (map[string]directoryEntry, error) {
	out := map[string]directoryEntry{}
	err := r.db.Bucket(bucketRelayStats).Scan("", func(id string, v []byte) error {
		var e directoryEntry
		if err := json.Unmarshal(v, &e.stats); err != nil {
			return fmt.Errorf("stats of relay %s: %w", id, err)
		}
		rec, err := r.reg.record(id)
		if err != nil {
			return nil // deleted since it reported
		}
		e.rec = rec
		out[id] = e
		return nil
	})
	return out, err
}

// zoneMembership takes a relay's report of its zone.
func (r *Root) zoneMembership(m *wire.Membership, path []string) error {
	body, err := m.Peek()
	if err != nil {
		return refused("%v", err)
	}
	if len(path) == 0 || path[0] != body.RelayID {
		return refused("membership of relay %s carried with path %v", body.RelayID, path)
	}
	rec, err := r.reg.record(body.RelayID)
	if err != nil {
		return err
	}
	if rec.Role != wire.RoleRelay.String() || rec.Status != api.StatusAccepted {
		return refused("node %s is not an accepted relay", body.RelayID)
	}
	if err := m.Verify(rec.Key); err != nil {
		return refused("relay %s: %v", body.RelayID, err)
	}
	for _, mr := range body.Members {
		if mr.NodeID == body.RelayID {
			continue // the relay's own state comes from the core pool
		}
		prev, _ := r.members.get(mr.NodeID)
		mem := api.Member{NodeID: mr.NodeID, Zone: body.Zone, State: mesh.MemberState(mr.State).String(), Since: mr.Since, Via: body.RelayID}
		if prev.State != mem.State {
			r.log.Info("zone member state", "node", mr.NodeID, "zone", body.Zone, "state", mem.State, "relay", body.RelayID)
		}
		r.members.set(mem)
	}
	return nil
}

// watchCore follows the root's own core pool: the relays' liveness as the root sees it.
func (r *Root) watchCore(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-r.core.Events():
			if !ok {
				return
			}
			r.members.set(api.Member{NodeID: ev.Member.NodeID, Zone: coreZone, State: ev.Member.State.String(), Since: ev.Member.Since, Role: ev.Member.Role.String(), Addr: ev.Member.Addr})
			r.log.Info("core member state", "node", ev.Member.NodeID, "state", ev.Member.State.String())
		}
	}
}

func (r *Root) meshRoutes(route api.RouteFunc, _ api.PublicFunc) {
	route("GET /api/v1/mesh/members", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		members := r.members.all()
		if r.core != nil {
			for _, m := range r.core.Members() {
				if m.Local {
					members = append(members, api.Member{NodeID: m.NodeID, Zone: coreZone, State: m.State.String(), Since: m.Since, Role: "root", Addr: m.Addr})
				}
			}
		}
		if z := req.URL.Query().Get("zone"); z != "" {
			members = slices.DeleteFunc(members, func(m api.Member) bool { return m.Zone != z })
		}
		nodes, _ := r.reg.Nodes(req.Context())
		for i := range members {
			for _, n := range nodes {
				if n.ID == members[i].NodeID {
					members[i].Hostname, members[i].Role = n.Hostname, n.Role
				}
			}
		}
		if members == nil {
			members = []api.Member{}
		}
		api.Reply(w, api.MemberList{SchemaVersion: api.SchemaVersion, Members: members})
	})
	route("GET /api/v1/mesh/keys", api.RoleAdmin, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		_, keys, err := r.keyring()
		if err != nil {
			api.Fail(w, http.StatusInternalServerError, api.CodeInternal, err.Error())
			return
		}
		out := api.KeyList{SchemaVersion: api.SchemaVersion}
		for _, k := range keys {
			sum := sha256.Sum256(k.Key)
			out.Keys = append(out.Keys, api.GossipKey{Fingerprint: "sha256:" + hex.EncodeToString(sum[:8]), Added: k.Added, PrimaryAt: k.PrimaryAt, Retire: k.Retire})
		}
		api.Reply(w, out)
	})
	route("POST /api/v1/mesh/keys/rotate", api.RoleAdmin, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		step := r.cfg.KeyRotationStep
		if s := req.URL.Query().Get("step"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				api.Fail(w, http.StatusBadRequest, api.CodeBadRequest, "step: want a duration such as 15m")
				return
			}
			step = d
		}
		if err := r.rotateKeys(step); err != nil {
			api.Fail(w, http.StatusInternalServerError, api.CodeInternal, err.Error())
			return
		}
		r.syncCoreKeys()
		api.Reply(w, map[string]any{"schemaVersion": api.SchemaVersion, "step": step.String()})
	})
}
