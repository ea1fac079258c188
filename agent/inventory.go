package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// Files of the agent's inventory.
const (
	// lastInventoryFile holds the last inventory the policy server took, the base of the
	// next delta.
	lastInventoryFile = "inventory.last"
	// PropertiesDir holds the node's custom properties, one JSON file each.
	PropertiesDir = "properties.d"
)

// InventoryReport says what one inventory upload did.
type InventoryReport struct {
	Kind      wire.InventoryKind
	WireBytes int // the upload's frame, signature included
	Collect   time.Duration
}

// CollectInventory collects this node's inventory. progress, if not nil, hears of each step.
func (a *Agent) CollectInventory(ctx context.Context, progress func(step string, d time.Duration)) (*inventory.Inventory, error) {
	return inventory.Collect(ctx, inventory.CollectOptions{
		RootPrefix:    a.cfg.RootPrefix,
		PropertiesDir: filepath.Join(a.cfg.DataDir, PropertiesDir),
		NodeID:        a.id.NodeID,
		Agent: inventory.Agent{
			Version:        a.cfg.SoftwareVersion,
			KeyFingerprint: mesh.Fingerprint(a.id.Public()),
			PolicyServer:   a.cfg.Server,
		},
		Progress: progress,
		Logger:   a.log,
		Now:      a.cfg.Now,
	})
}

// SendInventory collects the inventory and sends it: as a delta when the root holds the
// inventory this agent last sent, whole otherwise.
func (a *Agent) SendInventory(ctx context.Context, progress func(step string, d time.Duration)) (InventoryReport, error) {
	return a.sendInventory(ctx, progress, nil)
}

// sendInventory is SendInventory with the root's status, when the caller just asked for it.
func (a *Agent) sendInventory(ctx context.Context, progress func(step string, d time.Duration), st *wire.StatusReply) (InventoryReport, error) {
	start := time.Now()
	inv, err := a.CollectInventory(ctx, progress)
	if err != nil {
		return InventoryReport{}, fmt.Errorf("collect inventory: %w", err)
	}
	if a.cfg.Hostname != "" {
		inv.Hostname = a.cfg.Hostname
	}
	rep := InventoryReport{Collect: time.Since(start)}
	if st == nil {
		if st, err = a.Status(ctx); err != nil {
			return rep, err
		}
	}
	hash, err := inventory.Hash(inv)
	if err != nil {
		return rep, err
	}
	body := wire.InventoryBody{NodeID: a.id.NodeID, Collected: inv.CollectedAt, Kind: wire.InventoryFull, Hash: hash}
	if base := a.lastInventory(st.InventoryHash); base != nil {
		d, err := inventory.Diff(base, inv)
		if err == nil {
			body.Payload, err = inventory.MarshalDelta(d)
		}
		if err == nil {
			body.Kind, body.BaseHash = wire.InventoryDelta, st.InventoryHash
		}
	}
	if body.Kind == wire.InventoryFull {
		if body.Payload, err = inventory.Marshal(inv); err != nil {
			return rep, err
		}
	}
	up := wire.NewInventoryUpload(body, a.id.Key)
	frame, err := wire.AppendFrame(nil, up)
	if err != nil {
		return rep, err
	}
	rep.Kind, rep.WireBytes = body.Kind, len(frame)
	if err := a.expectOK(ctx, up); err != nil {
		return rep, fmt.Errorf("send inventory: %w", err)
	}
	// The server took it (a relay: durably queued). It becomes the base of the next delta
	// once the root confirms holding it, which the next status request tells.
	b, err := inventory.Marshal(inv)
	if err != nil {
		return rep, err
	}
	if err := store.WriteFileAtomic(filepath.Join(a.cfg.DataDir, lastInventoryFile), b, 0o600); err != nil {
		return rep, fmt.Errorf("keep the inventory sent: %w", err)
	}
	a.log.Info("inventory sent", "kind", kindName(body.Kind), "bytes", rep.WireBytes, "collect", rep.Collect)
	return rep, a.updateState(func(s *state) { s.InventorySent = a.cfg.Now().UTC() })
}

func kindName(k wire.InventoryKind) string {
	if k == wire.InventoryDelta {
		return "delta"
	}
	return "full"
}

// lastInventory returns the inventory last sent if the root holds it (its hash is
// rootHash), else nil: a delta is only worth sending against what the root has.
func (a *Agent) lastInventory(rootHash uint64) *inventory.Inventory {
	if rootHash == 0 {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, lastInventoryFile))
	if err != nil {
		return nil
	}
	inv, err := inventory.Unmarshal(b)
	if err != nil {
		a.log.Warn("last inventory unreadable; sending a full one", "err", err)
		return nil
	}
	if h, err := inventory.Hash(inv); err != nil || h != rootHash {
		return nil
	}
	return inv
}

// Status asks the root, through the policy server, how it sees this node.
func (a *Agent) Status(ctx context.Context) (*wire.StatusReply, error) {
	req := wire.NewStatusRequest(wire.StatusQuery{NodeID: a.id.NodeID, Time: a.cfg.Now().UTC()}, a.id.Key)
	server := a.server()
	reply, _, err := a.client.Exchange(ctx, server, req)
	if err != nil {
		return nil, fmt.Errorf("status from %s: %w", server, err)
	}
	switch m := reply.(type) {
	case *wire.StatusReply:
		if err := a.pinRoot(m.RootKey); err != nil {
			return nil, fmt.Errorf("status from %s: %w", a.cfg.Server, err)
		}
		a.mu.Lock()
		a.root = m.RootKey
		a.mu.Unlock()
		a.applyMesh(ctx, m.Mesh)
		prev := a.nodeStatus()
		if m.NodeStatus != prev {
			a.log.Info("node status", "status", m.NodeStatus, "was", prev)
		}
		return m, a.updateState(func(s *state) {
			s.NodeStatus, s.LastSeen, s.RootKey = m.NodeStatus, a.cfg.Now().UTC(), m.RootKey
		})
	case *wire.Ack:
		return nil, fmt.Errorf("status from %s: %w", a.cfg.Server, m.Err())
	default:
		return nil, fmt.Errorf("status from %s: answered with %v", a.cfg.Server, reply.Type())
	}
}

func (a *Agent) nodeStatus() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st.NodeStatus
}

func (a *Agent) expectOK(ctx context.Context, m wire.Message) error {
	reply, _, err := a.client.Exchange(ctx, a.server(), m)
	if err != nil {
		return err
	}
	ack, ok := reply.(*wire.Ack)
	if !ok {
		return fmt.Errorf("answered with %v", reply.Type())
	}
	return ack.Err()
}

// errNotEnrolled is returned by verbs that need an enrolled agent.
var errNotEnrolled = errors.New("this agent has not enrolled yet")
