package root

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/root/policy"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

const (
	bucketModel    = "model"    // "current" → the policy model (JSON)
	bucketPolicies = "policies" // node id → the node's signed applied policy (wire frame)
	// bucketPrevious keeps each node's policy before the current one: the base of the delta
	// sent to a node one change behind, the usual case.
	bucketPrevious = "policies-previous"
	bucketEvents   = "events" // 20-digit sequence → event (JSON)
	keyModel       = "current"
)

// policies owns the policy model, its event log, and the applied policies compiled from
// it. Every change to the model goes through change(), which applies it all or nothing,
// records the event, stores the model and recompiles what the change reaches.
type policies struct {
	db       *store.DB
	reg      *registry
	inv      *inventories
	key      ed25519.PrivateKey
	log      *slog.Logger
	now      func() time.Time
	mu       sync.Mutex // serialises changes and compilations
	model    *policy.Model
	compiler *policy.Compiler
	gen      api.GenerationStatus
	genMu    sync.Mutex
	// ids caches the config id of each node's stored policy (see configID).
	ids sync.Map
	// factPaths are the facts the model's groups read, every fact when allFacts: what
	// the compiler keeps of each node's inventory (see node).
	factPaths [][]string
	allFacts  bool
	// stored and removed, if set, hear of every policy stored and every node whose
	// policy was removed (compliance follows them); called with mu held.
	stored  func(*wire.AppliedPolicy)
	removed func(nodeID string)
	// compiled, if set, hears of every compilation pass: full (every node) or incremental.
	compiled func(kind string, st policy.Stats)
}

// Kinds of compilation pass, as metrics tell them apart.
const (
	passFull        = "full"
	passIncremental = "incremental"
)

// Event is one change to the model or to a node's status, as the event log keeps it.
type Event = api.Event

func newPolicies(db *store.DB, reg *registry, inv *inventories, key ed25519.PrivateKey, log *slog.Logger, now func() time.Time) (*policies, error) {
	p := &policies{db: db, reg: reg, inv: inv, key: key, log: log, now: now, model: &policy.Model{}, compiler: policy.NewCompiler()}
	b, err := db.Bucket(bucketModel).Get(keyModel)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, p.model); err != nil {
			return nil, fmt.Errorf("load policy model: %w", err)
		}
	case !errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("load policy model: %w", err)
	}
	p.setFactPaths(p.model)
	return p, nil
}

// nodes returns the accepted nodes as the compiler sees them. Their inventories are decoded
// on every core: at startup and at a regeneration, that is most of the time a fleet takes.
func (p *policies) nodes() ([]policy.Node, error) {
	var recs []nodeRecord
	err := p.db.Bucket(bucketNodes).Scan("", func(_ string, v []byte) error {
		var rec nodeRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if getsPolicy(rec) {
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out, errs := p.loadNodes(recs)
	return out, errors.Join(errs...)
}

// loadNodes makes the compiler's nodes of registry records, their inventories decoded on
// every core; errs[i] is record i's error, if any.
func (p *policies) loadNodes(recs []nodeRecord) ([]policy.Node, []error) {
	out := make([]policy.Node, len(recs))
	errs := make([]error, len(recs))
	onEveryCore(len(recs), func(i int) bool {
		out[i], errs[i] = p.node(recs[i])
		return true
	})
	return out, errs
}

// getsPolicy says whether a node is compiled a policy: accepted, and running an agent (an
// inventory-only node, imported from another tool's inventory, has nothing to fetch one).
func getsPolicy(rec nodeRecord) bool {
	return rec.Status == api.StatusAccepted && rec.Role != api.NodeRoleInventory
}

func (p *policies) node(rec nodeRecord) (policy.Node, error) {
	n := policy.Node{ID: rec.ID, Hostname: rec.Hostname, OS: "linux", Relay: rec.Role == wire.RoleRelay.String(), Settings: rec.Settings}
	doc, js, err := p.inv.currentDoc(rec.ID)
	if err != nil {
		return n, err
	}
	var invProps map[string]json.RawMessage
	if doc != nil {
		if osDoc, ok := doc["os"].(map[string]any); ok {
			if k, ok := osDoc["kernel"].(string); ok && k != "" {
				n.OS = k
			}
		}
		if props, ok := doc["properties"].(map[string]any); ok && len(props) > 0 {
			// Properties keep their bytes (a number too large for a float64 stays exact).
			var withProps struct {
				Properties map[string]json.RawMessage `json:"properties"`
			}
			if err := json.Unmarshal(js, &withProps); err != nil {
				return n, fmt.Errorf("inventory of %s: %w", rec.ID, err)
			}
			invProps = withProps.Properties
		}
		// Only the facts the groups read are kept: whole inventories of a fleet would be
		// most of the root's memory (DESIGN.md §5; docs/performance.md).
		if p.allFacts {
			n.Facts = doc
		} else {
			n.Facts = policy.ProjectFacts(doc, p.factPaths)
		}
	}
	// The inventory's properties (the node's properties.d), then the operator's over them.
	if len(invProps) > 0 || len(rec.Properties) > 0 {
		n.Properties = map[string]json.RawMessage{}
		maps.Copy(n.Properties, invProps)
		maps.Copy(n.Properties, rec.Properties)
	}
	return n, nil
}

// setFactPaths records which facts the model's groups read; it reports whether nodes
// compiled for the previous paths lack some the new model reads.
func (p *policies) setFactPaths(m *policy.Model) (widened bool) {
	paths, all := policy.FactPaths(m)
	have := map[string]bool{}
	for _, q := range p.factPaths {
		have[strings.Join(q, ".")] = true
	}
	if !p.allFacts {
		widened = all
		for _, q := range paths {
			widened = widened || !have[strings.Join(q, ".")]
		}
	}
	p.factPaths, p.allFacts = paths, all
	return widened
}

// start compiles every accepted node's policy; nodes whose stored policy has the same
// content keep it.
func (p *policies) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setFactPaths(p.model)
	nodes, err := p.nodes()
	if err != nil {
		return fmt.Errorf("policy generation: %w", err)
	}
	return p.generate(passFull, func(emit policy.Emit) ([]policy.Problem, policy.Stats, error) {
		return p.compiler.Load(p.model, nodes, emit)
	})
}

// generate runs one compilation pass and records it for `bosun policy status`.
func (p *policies) generate(kind string, pass func(policy.Emit) ([]policy.Problem, policy.Stats, error)) error {
	p.genMu.Lock()
	p.gen.Running, p.gen.LastStart = true, p.now()
	p.genMu.Unlock()
	// Policies are stored policiesPerTxn at a time: one synced transaction each costs an
	// fsync, and one per node made a fleet's generation take minutes of disk waits.
	var storeErr error
	batch := make([]*wire.AppliedPolicy, 0, policiesPerTxn)
	flush := func() {
		if storeErr == nil && len(batch) > 0 {
			storeErr = p.storePolicies(batch)
		}
		batch = batch[:0]
	}
	probs, st, err := pass(func(ap *wire.AppliedPolicy) {
		if storeErr == nil {
			if batch = append(batch, ap); len(batch) == policiesPerTxn {
				flush()
			}
		}
	})
	flush()
	if err == nil {
		err = storeErr
	}
	if p.compiled != nil {
		p.compiled(kind, st)
	}
	p.genMu.Lock()
	defer p.genMu.Unlock()
	p.gen.Running, p.gen.LastEnd = false, p.now()
	p.gen.Duration = st.Elapsed.String()
	p.gen.Compiled, p.gen.Changed = st.Compiled, st.Changed
	p.gen.Problems = p.gen.Problems[:0]
	for _, pr := range probs {
		p.gen.Problems = append(p.gen.Problems, pr.String())
	}
	if err != nil {
		p.gen.Error = err.Error()
		return err
	}
	p.gen.Error = ""
	p.log.Info("policies generated", "compiled", st.Compiled, "changed", st.Changed, "problems", len(probs), "duration", st.Elapsed)
	return nil
}

// policiesPerTxn is how many compiled policies go into one transaction.
const policiesPerTxn = 256

// storePolicy signs and stores a node's applied policy, unless the stored one has the same
// config id (after a restart the compiler emits every node once).
func (p *policies) storePolicy(ap *wire.AppliedPolicy) error {
	return p.storePolicies([]*wire.AppliedPolicy{ap})
}

// storePolicies signs and stores applied policies in one transaction, skipping those whose
// stored policy has the same config id; each node's current policy becomes its previous one.
func (p *policies) storePolicies(aps []*wire.AppliedPolicy) error {
	type signed struct {
		ap    *wire.AppliedPolicy
		frame []byte
	}
	todo := make([]signed, 0, len(aps))
	for _, ap := range aps {
		if p.configID(ap.NodeID) == ap.ConfigID {
			continue
		}
		sp, err := wire.NewSignedPolicy(ap, p.key)
		if err != nil {
			return fmt.Errorf("sign policy of %s: %w", ap.NodeID, err)
		}
		b, err := wire.AppendFrame(nil, sp)
		if err != nil {
			return err
		}
		todo = append(todo, signed{ap, b})
	}
	if len(todo) == 0 {
		return nil
	}
	err := p.db.Update(func(tx *store.Txn) error {
		for _, s := range todo {
			prev, err := tx.Get(bucketPolicies, s.ap.NodeID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if prev != nil {
				if err := tx.Put(bucketPrevious, s.ap.NodeID, prev); err != nil {
					return err
				}
			}
			if err := tx.Put(bucketPolicies, s.ap.NodeID, s.frame); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store %d policies (%s...): %w", len(todo), todo[0].ap.NodeID, err)
	}
	for _, s := range todo {
		p.ids.Store(s.ap.NodeID, s.ap.ConfigID)
		p.log.Debug("policy stored", "node", s.ap.NodeID, "config_id", s.ap.ConfigID)
		if p.stored != nil {
			p.stored(s.ap)
		}
	}
	return nil
}

// signedPolicy returns the node's stored signed policy, nil when it has none.
func (p *policies) signedPolicy(nodeID string) (*wire.SignedPolicy, error) {
	b, err := p.db.Bucket(bucketPolicies).Get(nodeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeSignedPolicy(nodeID, b)
}

// configID returns the config id of the node's stored policy, "" for none. Every status
// request asks for it, so it is kept in memory once read, and updated as policies are stored
// and removed, rather than decoded from the store each time.
func (p *policies) configID(nodeID string) string {
	if id, ok := p.ids.Load(nodeID); ok {
		return id.(string)
	}
	id := ""
	if sp, err := p.signedPolicy(nodeID); err == nil && sp != nil {
		var ap wire.AppliedPolicy
		if ap.UnmarshalBinary(sp.Signed.Body) == nil {
			id = ap.ConfigID
		}
	}
	p.ids.Store(nodeID, id)
	return id
}

// held returns the node's current or previous policy if its config id is configID.
func (p *policies) held(nodeID, configID string) *wire.AppliedPolicy {
	for _, bucket := range []string{bucketPrevious, bucketPolicies} {
		b, err := p.db.Bucket(bucket).Get(nodeID)
		if err != nil {
			continue
		}
		sp, err := decodeSignedPolicy(nodeID, b)
		if err != nil {
			continue
		}
		if ap, err := sp.Open(p.key.Public().(ed25519.PublicKey)); err == nil && ap.ConfigID == configID {
			return ap
		}
	}
	return nil
}

func decodeSignedPolicy(nodeID string, b []byte) (*wire.SignedPolicy, error) {
	m, _, err := wire.DecodeFrame(b, wire.MaxFrameSize)
	if err != nil {
		return nil, fmt.Errorf("stored policy of %s: %w", nodeID, err)
	}
	sp, ok := m.(*wire.SignedPolicy)
	if !ok {
		return nil, fmt.Errorf("stored policy of %s is a %v", nodeID, m.Type())
	}
	return sp, nil
}

// appliedPolicy returns the node's applied policy, nil when it has none.
func (p *policies) appliedPolicy(nodeID string) (*wire.AppliedPolicy, error) {
	sp, err := p.signedPolicy(nodeID)
	if err != nil || sp == nil {
		return nil, err
	}
	return sp.Open(p.key.Public().(ed25519.PublicKey))
}

// nodeChanged recompiles one node after its status or inventory changed.
func (p *policies) nodeChanged(id string) {
	// A pending node's inventory comes here too: with no policy to remove and none to
	// compile, it need not wait for a compilation in progress.
	if rec, err := p.reg.record(id); err == nil && !getsPolicy(rec) {
		if _, known := p.compiler.ConfigID(id); !known && p.configID(id) == "" {
			return
		}
	}
	p.nodesChanged([]string{id})
}

// nodesChanged recompiles nodes after their status or inventory changed, in one pass: a
// batch of acceptances compiles and stores its policies together.
func (p *policies) nodesChanged(ids []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var recs []nodeRecord
	for _, id := range ids {
		rec, err := p.reg.record(id)
		if err != nil {
			p.log.Warn("policy update skipped", "node", id, "err", err)
			continue
		}
		if !getsPolicy(rec) {
			p.removePolicy(id)
			continue
		}
		recs = append(recs, rec)
	}
	loaded, errs := p.loadNodes(recs)
	upsert := loaded[:0]
	for i, n := range loaded {
		if errs[i] != nil {
			p.log.Warn("policy update skipped", "node", recs[i].ID, "err", errs[i])
			continue
		}
		upsert = append(upsert, n)
	}
	if len(upsert) == 0 {
		return
	}
	err := p.generate(passIncremental, func(emit policy.Emit) ([]policy.Problem, policy.Stats, error) {
		probs, st := p.compiler.UpsertNodes(upsert, emit)
		return probs, st, nil
	})
	if err != nil {
		p.log.Error("policy generation failed", "nodes", len(upsert), "first", upsert[0].ID, "err", err)
	}
}

// removePolicy forgets the policy of a node that no longer gets one. A pending node, whose
// every inventory comes here, has none: nothing is written for it.
func (p *policies) removePolicy(id string) {
	p.compiler.RemoveNodes([]string{id})
	had := p.configID(id) != ""
	p.ids.Store(id, "")
	if had {
		err := p.db.Update(func(tx *store.Txn) error {
			for _, bucket := range []string{bucketPolicies, bucketPrevious} {
				if err := tx.Delete(bucket, id); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			return nil
		})
		if err != nil {
			p.log.Warn("policy removal failed", "node", id, "err", err)
		}
	}
	if p.removed != nil {
		p.removed(id)
	}
}

// change applies fn to a copy of the model; if it succeeds, the event is recorded, the
// model stored and the affected policies regenerated. by is who asked.
func (p *policies) change(by, what string, fn func(m *policy.Model) ([]policy.Change, error)) (Event, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := p.model.Clone()
	changes, err := fn(next)
	if err != nil {
		return Event{}, err
	}
	ev := Event{Time: p.now().UTC(), By: by, What: what}
	for _, c := range changes {
		if c.Op == policy.OpUnchanged {
			continue
		}
		ec := api.EventChange{Kind: c.Kind, ID: c.ID, Op: c.Op}
		if c.Before != nil {
			ec.Before, _ = json.Marshal(c.Before)
		}
		if c.After != nil {
			ec.After, _ = json.Marshal(c.After)
		}
		ev.Changes = append(ev.Changes, ec)
	}
	if len(ev.Changes) == 0 {
		return ev, nil // idempotent: applying the same thing again records nothing
	}
	mb, err := json.Marshal(next)
	if err != nil {
		return Event{}, err
	}
	err = p.db.Update(func(tx *store.Txn) error {
		seq, err := nextEventSeq(tx)
		if err != nil {
			return err
		}
		ev.ID = seq
		eb, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if err := tx.Put(bucketEvents, fmt.Sprintf("%020d", seq), eb); err != nil {
			return err
		}
		return tx.Put(bucketModel, keyModel, mb)
	})
	if err != nil {
		return Event{}, fmt.Errorf("store policy model: %w", err)
	}
	p.model = next
	kind, pass := passIncremental, func(emit policy.Emit) ([]policy.Problem, policy.Stats, error) {
		return p.compiler.SetModel(next, emit)
	}
	if p.setFactPaths(next) {
		// A group reads facts the compiler did not keep: load every node's again.
		nodes, err := p.nodes()
		if err != nil {
			p.log.Error("policy generation failed", "event", ev.ID, "err", err)
			return ev, nil
		}
		kind, pass = passFull, func(emit policy.Emit) ([]policy.Problem, policy.Stats, error) {
			return p.compiler.Load(next, nodes, emit)
		}
	}
	if err := p.generate(kind, pass); err != nil {
		p.log.Error("policy generation failed", "event", ev.ID, "err", err)
	}
	return ev, nil
}

func nextEventSeq(tx *store.Txn) (uint64, error) {
	var seq uint64
	b, err := tx.Get(bucketModel, "event-seq")
	if err == nil {
		if err := json.Unmarshal(b, &seq); err != nil {
			return 0, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	seq++
	b, _ = json.Marshal(seq)
	return seq, tx.Put(bucketModel, "event-seq", b)
}

// regenerate recompiles every node, as `bosun policy regenerate` asks.
func (p *policies) regenerate() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setFactPaths(p.model)
	nodes, err := p.nodes()
	if err != nil {
		return err
	}
	return p.generate(passFull, func(emit policy.Emit) ([]policy.Problem, policy.Stats, error) {
		return p.compiler.Load(p.model, nodes, emit)
	})
}

func (p *policies) status() api.GenerationStatus {
	p.genMu.Lock()
	defer p.genMu.Unlock()
	s := p.gen
	s.Problems = append([]string(nil), p.gen.Problems...)
	return s
}

// snapshot returns a copy of the model for reading.
func (p *policies) snapshot() *policy.Model {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.model.Clone()
}

// events returns the event log, newest first.
func (p *policies) events() ([]Event, error) {
	var evs []Event
	err := p.db.Bucket(bucketEvents).Scan("", func(_ string, v []byte) error {
		var ev Event
		if err := json.Unmarshal(v, &ev); err != nil {
			return err
		}
		evs = append(evs, ev)
		return nil
	})
	slices.Reverse(evs)
	return evs, err
}

// revert restores the objects an event changed as they were before it, as a new event.
func (p *policies) revert(by string, id uint64) (Event, error) {
	b, err := p.db.Bucket(bucketEvents).Get(fmt.Sprintf("%020d", id))
	if errors.Is(err, store.ErrNotFound) {
		return Event{}, fmt.Errorf("event %d: %w", id, policy.ErrNotFound)
	}
	if err != nil {
		return Event{}, err
	}
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return Event{}, fmt.Errorf("event %d: %w", id, err)
	}
	for _, c := range ev.Changes {
		if c.Kind == eventKindToken {
			return Event{}, fmt.Errorf("%w: event %d changed API token %s, not the policy model; a revoked token cannot come back: make a new one with bosun tokens create", policy.ErrInvalid, id, c.ID)
		}
		if strings.HasPrefix(c.Kind, "node") {
			return Event{}, fmt.Errorf("%w: event %d changed node %s, not the policy model; set it back with bosun nodes accept|refuse|properties|settings", policy.ErrInvalid, id, c.ID)
		}
	}
	return p.change(by, fmt.Sprintf("revert event %d", id), func(m *policy.Model) ([]policy.Change, error) {
		var all []policy.Change
		for i := len(ev.Changes) - 1; i >= 0; i-- {
			c := ev.Changes[i]
			if c.Op == policy.OpCreate {
				ch, err := m.Delete(c.Kind, c.ID)
				if err != nil {
					return nil, fmt.Errorf("revert event %d: %w", id, err)
				}
				all = append(all, ch)
				continue
			}
			doc, err := policy.DocFromJSON(c.Kind, c.Before)
			if err != nil {
				return nil, fmt.Errorf("revert event %d: %w", id, err)
			}
			ch, err := m.Apply([]policy.Doc{doc})
			if err != nil {
				return nil, fmt.Errorf("revert event %d: %w", id, err)
			}
			all = append(all, ch...)
		}
		return all, nil
	})
}

// groupMembers lists the accepted nodes in a group, as last compiled.
func (p *policies) groupMembers(id string) ([]string, bool) {
	return p.compiler.GroupMembers(id)
}
