package root

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/wire"
)

// testRoot is a root serving on 127.0.0.1 ports chosen by the kernel.
type testRoot struct {
	*Root
	init InitResult
	api  *api.Client
}

func startRoot(t *testing.T, now func() time.Time) *testRoot {
	t.Helper()
	return startRootWith(t, func(c *Config) { c.Now = now })
}

// testNode is a node with its own identity and QUIC client, pinned to the root.
type testNode struct {
	id     *mesh.Identity
	client *mesh.Client
}

func newNode(t *testing.T, r *testRoot) *testNode {
	t.Helper()
	id, _, err := mesh.LoadOrCreateIdentity(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &testNode{id: id, client: newClient(t, id, r)}
}

func newClient(t *testing.T, id *mesh.Identity, r *testRoot) *mesh.Client {
	t.Helper()
	c, err := mesh.NewClient(mesh.ClientConfig{Identity: id, PeerPolicy: func(p mesh.Peer) error {
		if !p.Key.Equal(r.Identity().Public()) {
			return errors.New("not the root")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (n *testNode) stub(role wire.Role, at time.Time) wire.EnrolStub {
	return wire.EnrolStub{NodeID: n.id.NodeID, Hostname: "host-" + n.id.NodeID[:8], OS: "Debian 12", Role: role, Time: at}
}

func (n *testNode) exchange(t *testing.T, r *testRoot, m wire.Message) (*wire.Ack, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	reply, _, err := n.client.Exchange(ctx, r.QUICAddr().String(), m)
	if err != nil {
		return nil, err
	}
	ack, ok := reply.(*wire.Ack)
	if !ok {
		t.Fatalf("got %T, want an ack", reply)
	}
	return ack, nil
}

func TestEnrolment(t *testing.T) {
	r := startRoot(t, nil)
	ctx := context.Background()
	agent := newNode(t, r)
	other := newNode(t, r)
	now := time.Now().UTC()

	tests := []struct {
		name   string
		from   *testNode
		enrol  *wire.Enrol
		status wire.AckStatus
		reason string
	}{
		{"a new node becomes pending", agent, wire.NewEnrol(agent.stub(wire.RoleAgent, now), agent.id.Key), wire.AckOK, ""},
		{"enrolling again is harmless", agent, wire.NewEnrol(agent.stub(wire.RoleAgent, now), agent.id.Key), wire.AckOK, ""},
		{"a stub three days old", other, wire.NewEnrol(other.stub(wire.RoleAgent, now.Add(-72*time.Hour)), other.id.Key), wire.AckRejected, "out of date"},
		{"a stub from tomorrow", other, wire.NewEnrol(other.stub(wire.RoleAgent, now.Add(24*time.Hour)), other.id.Key), wire.AckRejected, "out of date"},
		{"a stub for another node", other, wire.NewEnrol(agent.stub(wire.RoleAgent, now), other.id.Key), wire.AckRejected, "sent by node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack, err := tt.from.exchange(t, r, tt.enrol)
			if err != nil {
				t.Fatal(err)
			}
			if ack.Status != tt.status || !strings.Contains(ack.Reason, tt.reason) {
				t.Errorf("got %v %q, want %v containing %q", ack.Status, ack.Reason, tt.status, tt.reason)
			}
		})
	}

	n, err := r.api.Node(ctx, agent.id.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	if n.Status != api.StatusPending || n.Hostname != "host-"+agent.id.NodeID[:8] || n.KeyFingerprint != agent.id.Fingerprint() || n.PolicyServer != "root" {
		t.Errorf("got node %+v", n)
	}
	if _, err := r.api.Node(ctx, other.id.NodeID); !isCode(err, api.CodeNotFound) {
		t.Errorf("refused enrolments must create nothing: got %v", err)
	}

	// Someone else claiming the accepted node's id with their own key is turned away.
	if _, err := r.api.SetStatus(ctx, agent.id.NodeID, api.StatusAccepted); err != nil {
		t.Fatal(err)
	}
	impostor := newNode(t, r)
	impostor.id = &mesh.Identity{NodeID: agent.id.NodeID, Key: impostor.id.Key}
	impostor.client = newClient(t, impostor.id, r)
	ack, err := impostor.exchange(t, r, wire.NewEnrol(impostor.stub(wire.RoleAgent, now), impostor.id.Key))
	if err != nil {
		t.Fatal(err)
	}
	if ack.Status != wire.AckRejected || !strings.Contains(ack.Reason, "another key") {
		t.Errorf("impostor: got %v %q", ack.Status, ack.Reason)
	}
	if n, _ := r.api.Node(ctx, agent.id.NodeID); n.Status != api.StatusAccepted || n.KeyFingerprint != agent.id.Fingerprint() {
		t.Errorf("the impostor changed the node: %+v", n)
	}
}

func TestRefusedKeyStaysOut(t *testing.T) {
	r := startRoot(t, nil)
	ctx := context.Background()
	n := newNode(t, r)
	if ack, err := n.exchange(t, r, wire.NewEnrol(n.stub(wire.RoleAgent, time.Now()), n.id.Key)); err != nil || ack.Status != wire.AckOK {
		t.Fatalf("enrol: %v %+v", err, ack)
	}
	if _, err := r.api.SetStatus(ctx, n.id.NodeID, api.StatusRefused); err != nil {
		t.Fatal(err)
	}
	// A fresh connection with the refused key fails at the handshake; so does the same
	// machine under a new node id.
	fresh := newClient(t, n.id, r)
	ctxT, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, _, err := fresh.Exchange(ctxT, r.QUICAddr().String(), wire.NewHello(wire.RoleAgent, n.id.NodeID, "test"))
	if !errors.Is(err, mesh.ErrPeerRejected) {
		t.Errorf("refused key: got %v, want ErrPeerRejected", err)
	}
	renamed := &mesh.Identity{NodeID: "2b0e4c8a-7a1c-4b57-9e3d-0c1f5a6b7c8d", Key: n.id.Key}
	_, _, err = newClient(t, renamed, r).Exchange(ctxT, r.QUICAddr().String(), wire.NewEnrol(wire.EnrolStub{NodeID: renamed.NodeID, Hostname: "again", Role: wire.RoleAgent, Time: time.Now()}, n.id.Key))
	if !errors.Is(err, mesh.ErrPeerRejected) {
		t.Errorf("refused key under a new id: got %v, want ErrPeerRejected", err)
	}
	// The root keeps serving everyone else.
	ok := newNode(t, r)
	if ack, err := ok.exchange(t, r, wire.NewEnrol(ok.stub(wire.RoleAgent, time.Now()), ok.id.Key)); err != nil || ack.Status != wire.AckOK {
		t.Errorf("another node after a refusal: %v %+v", err, ack)
	}
	// Accepting is the explicit action that lets the key back in.
	if _, err := r.api.SetStatus(ctx, n.id.NodeID, api.StatusAccepted); err != nil {
		t.Fatal(err)
	}
	if _, _, err := newClient(t, n.id, r).Exchange(ctxT, r.QUICAddr().String(), wire.NewHello(wire.RoleAgent, n.id.NodeID, "test")); err != nil {
		t.Errorf("after acceptance: %v", err)
	}
}

func TestForwardOnlyFromRelays(t *testing.T) {
	r := startRoot(t, nil)
	agent := newNode(t, r)
	relay := newNode(t, r)
	inner, err := wire.AppendFrame(nil, wire.NewEnrol(agent.stub(wire.RoleAgent, time.Now()), agent.id.Key))
	if err != nil {
		t.Fatal(err)
	}
	fwd := &wire.Forward{Items: []wire.Forwarded{{Seq: 7, Path: []string{relay.id.NodeID}, Frame: inner}}}

	// Not enrolled: told to enrol first, nothing taken.
	ack, err := relay.exchange(t, r, fwd)
	if err != nil || ack.Status != wire.AckRetryLater || ack.Seq != 0 {
		t.Fatalf("forward before enrolling: %v %+v", err, ack)
	}
	// An agent cannot forward either.
	if ack, _ := relay.exchange(t, r, wire.NewEnrol(relay.stub(wire.RoleAgent, time.Now()), relay.id.Key)); ack.Status != wire.AckOK {
		t.Fatal(ack)
	}
	if ack, _ := relay.exchange(t, r, fwd); ack.Status != wire.AckRetryLater {
		t.Errorf("forward from an agent: got %+v", ack)
	}
}

func TestForwardedEnrolment(t *testing.T) {
	r := startRoot(t, nil)
	ctx := context.Background()
	relay := newNode(t, r)
	if ack, _ := relay.exchange(t, r, wire.NewEnrol(relay.stub(wire.RoleRelay, time.Now()), relay.id.Key)); ack.Status != wire.AckOK {
		t.Fatal(ack)
	}
	good := newNode(t, r)
	goodFrame, _ := wire.AppendFrame(nil, wire.NewEnrol(good.stub(wire.RoleAgent, time.Now()), good.id.Key))
	forged := wire.NewEnrol(good.stub(wire.RoleAgent, time.Now()), good.id.Key)
	forged.Signed.Body[len(forged.Signed.Body)-1] ^= 1
	forgedFrame, _ := wire.AppendFrame(nil, forged)
	fwd := &wire.Forward{Items: []wire.Forwarded{
		{Seq: 1, Path: []string{relay.id.NodeID}, Frame: forgedFrame},       // refused for good, acknowledged
		{Seq: 2, Path: []string{"someone-else"}, Frame: goodFrame},          // does not name its relay
		{Seq: 3, Path: []string{relay.id.NodeID}, Frame: []byte{1, 200, 1}}, // garbage
		{Seq: 4, Path: []string{relay.id.NodeID}, Frame: goodFrame},
	}}
	ack, err := relay.exchange(t, r, fwd)
	if err != nil || ack.Status != wire.AckOK || ack.Seq != 4 {
		t.Fatalf("got %v %+v, want ok up to 4", err, ack)
	}
	n, err := r.api.Node(ctx, good.id.NodeID)
	if err != nil {
		t.Fatal(err)
	}
	if n.PolicyServer != relay.id.NodeID || n.Status != api.StatusPending {
		t.Errorf("got %+v", n)
	}
}

func TestAPITokens(t *testing.T) {
	r := startRoot(t, nil)
	ctx := context.Background()
	created, err := r.api.CreateToken(ctx, api.TokenRequest{Name: "dashboard", Role: api.RoleReadOnly.String()})
	if err != nil {
		t.Fatal(err)
	}
	reader := created.Secret
	tests := []struct {
		name  string
		token string
		write bool
		code  string
	}{
		{"no token", "", false, api.CodeUnauthorized},
		{"unknown token", "bosun_nope", false, api.CodeUnauthorized},
		{"not even our format", "Basic abc", false, api.CodeUnauthorized},
		{"read-only reads", reader, false, ""},
		{"read-only cannot change", reader, true, api.CodeForbidden},
		{"admin changes", r.init.AdminToken, true, api.CodeNotFound}, // authorised; the node does not exist
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *r.api
			c.Token = tt.token
			if tt.write {
				_, err = c.SetStatus(ctx, "no-such-node", api.StatusAccepted)
			} else {
				_, err = c.Nodes(ctx, "")
			}
			if tt.code == "" && err != nil || tt.code != "" && !isCode(err, tt.code) {
				t.Errorf("got %v, want code %q", err, tt.code)
			}
		})
	}
}

func TestNotInitialised(t *testing.T) {
	_, err := New(Config{DataDir: filepath.Join(t.TempDir(), "root")})
	if !errors.Is(err, ErrNotInitialised) || !strings.Contains(err.Error(), "bosun root init") {
		t.Errorf("got %v", err)
	}
	dir := filepath.Join(t.TempDir(), "root")
	if _, err := Init(dir, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, InitOptions{}); !errors.Is(err, ErrAlreadyInitialised) {
		t.Errorf("second init: got %v", err)
	}
}

func isCode(err error, code string) bool {
	var he *api.HTTPError
	return errors.As(err, &he) && he.Code == code
}
