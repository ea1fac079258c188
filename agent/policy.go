package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// Files of the agent's policy.
const (
	// policyFile holds the last good signed policy, as received (a wire frame): the agent
	// keeps running it when cut off, and checks its signature again at every start.
	policyFile  = "policy.bin"
	rootPinFile = "root.pin"
)

// ErrNoPolicy means the agent holds no policy yet.
var ErrNoPolicy = errors.New("no policy received yet")

// pinRoot checks the root's key against the pinned one, pinning it at first sight unless
// the operator gave its fingerprint.
func (a *Agent) pinRoot(key ed25519.PublicKey) error {
	if len(key) != ed25519.PublicKeySize {
		return fmt.Errorf("the server did not say which key signs policies")
	}
	return mesh.FilePin(filepath.Join(a.cfg.DataDir, rootPinFile), a.cfg.RootFingerprint, a.log)(mesh.Peer{NodeID: "root", Key: key})
}

// rootKey returns the pinned root key, nil when none is pinned yet.
func (a *Agent) rootKey() ed25519.PublicKey {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.root
}

// Policy returns the policy the agent holds, checked against the pinned root key.
func (a *Agent) Policy() (*wire.AppliedPolicy, error) {
	b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, policyFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNoPolicy
	}
	if err != nil {
		return nil, err
	}
	m, _, err := wire.DecodeFrame(b, wire.MaxFrameSize)
	if err != nil {
		return nil, fmt.Errorf("stored policy: %w", err)
	}
	sp, ok := m.(*wire.SignedPolicy)
	if !ok {
		return nil, fmt.Errorf("stored policy is a %v", m.Type())
	}
	root := a.rootKey()
	if root == nil {
		return nil, fmt.Errorf("%w: the root's key is not known yet", ErrNoPolicy)
	}
	return sp.Open(root)
}

// FetchPolicy brings the held policy up to date with the root's, when the root's config id
// differs. A policy that does not verify against the pinned root key is refused and the
// last good one kept.
func (a *Agent) FetchPolicy(ctx context.Context, rootConfigID string) (*wire.AppliedPolicy, error) {
	held, err := a.Policy()
	if err != nil && !errors.Is(err, ErrNoPolicy) {
		a.log.Warn("held policy unusable; fetching a whole one", "err", err)
		held = nil
	}
	if held != nil && held.ConfigID == rootConfigID {
		return held, nil
	}
	q := wire.PolicyQuery{NodeID: a.id.NodeID, Time: a.cfg.Now().UTC()}
	if held != nil {
		q.ConfigID = held.ConfigID
	}
	reply, _, err := a.client.Exchange(ctx, a.server(), wire.NewPolicyRequest(q, a.id.Key))
	if err != nil {
		return held, fmt.Errorf("fetch policy: %w", err)
	}
	var pr *wire.PolicyReply
	switch m := reply.(type) {
	case *wire.PolicyReply:
		pr = m
	case *wire.Ack:
		return held, fmt.Errorf("fetch policy: %w", m.Err())
	default:
		return held, fmt.Errorf("fetch policy: answered with %v", reply.Type())
	}
	root := a.rootKey()
	if root == nil {
		return held, errors.New("fetch policy: the root's key is not pinned yet")
	}
	var sp *wire.SignedPolicy
	var next *wire.AppliedPolicy
	switch pr.Answer {
	case wire.PolicyUnchanged:
		return held, nil
	case wire.PolicyNone:
		a.log.Info("no policy for this node", "reason", pr.Reason)
		return held, nil
	case wire.PolicyFull:
		sp = pr.Policy
		next, err = sp.Open(root)
	case wire.PolicyPatch:
		if held == nil {
			return nil, errors.New("fetch policy: got a delta without holding a policy")
		}
		sp, next, err = pr.Delta.Open(held, root)
	}
	if err != nil {
		a.log.Error("policy refused: it does not verify against the root's key; keeping the last good one", "err", err)
		return held, fmt.Errorf("policy refused: %w", err)
	}
	if next.NodeID != a.id.NodeID {
		return held, fmt.Errorf("policy refused: it is node %s's", next.NodeID)
	}
	b, err := wire.AppendFrame(nil, sp)
	if err != nil {
		return held, err
	}
	if err := store.WriteFileAtomic(filepath.Join(a.cfg.DataDir, policyFile), b, 0o600); err != nil {
		return held, fmt.Errorf("keep policy: %w", err)
	}
	kind := "full"
	if pr.Answer == wire.PolicyPatch {
		kind = "delta"
	}
	a.log.Info("policy received", "config_id", next.ConfigID, "as", kind, "bytes", len(b), "components", len(next.Components))
	return next, a.updateState(func(s *state) { s.ConfigID = next.ConfigID })
}

// modeLetter is the first column of the agent's output: A for audit, E for enforce.
func modeLetter(m wire.PolicyMode) string {
	if m == wire.ModeAudit {
		return "A"
	}
	return "E"
}

// DescribePolicy writes a readable summary of a policy.
func DescribePolicy(p *wire.AppliedPolicy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "config id %s, generated %s, %d directives, %d components, reporting %v, run every %v\n",
		p.ConfigID, p.Generated.Format("2006-01-02 15:04:05Z07:00"), len(p.Directives), len(p.Components), p.ReportingMode, p.RunInterval)
	for i, c := range p.Components {
		d := p.Directives[c.Directive]
		fmt.Fprintf(&b, "%s %3d  %-28s %-24s %s\n", modeLetter(c.Mode), i, trunc(d.DirectiveName, 28), c.Method, trunc(c.ReportingValue, 60))
	}
	return b.String()
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}
