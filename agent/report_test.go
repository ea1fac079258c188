package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/store"
	"github.com/bosun-io/bosun/wire"
)

// reportServer is a policy server stand-in that takes reports, answering with answer.
type reportServer struct {
	addr   string
	mu     sync.Mutex
	answer wire.AckStatus
	runs   []uint64 // run ids of the reports taken
	bodies []wire.ReportBody
}

func startReportServer(t *testing.T) *reportServer {
	t.Helper()
	id, _, err := mesh.LoadOrCreateIdentity(filepath.Join(t.TempDir(), "srv"))
	if err != nil {
		t.Fatal(err)
	}
	s := &reportServer{answer: wire.AckError}
	ms, err := mesh.Listen(mesh.ServerConfig{Identity: id, Addr: "127.0.0.1:0", Handler: s})
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ms.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = ms.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done; ms.Close() })
	return s
}

func (s *reportServer) ServeExchange(_ context.Context, peer mesh.Peer, req wire.Message) wire.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := req.(*wire.Report)
	if !ok {
		return &wire.Ack{Status: wire.AckError, Reason: "reports only"}
	}
	body, err := r.Peek()
	if err != nil || r.Verify(peer.Key) != nil {
		return &wire.Ack{Status: wire.AckRejected, Reason: "bad report"}
	}
	if s.answer == wire.AckOK {
		s.runs = append(s.runs, body.RunID)
		s.bodies = append(s.bodies, body)
	}
	return &wire.Ack{Status: s.answer, Reason: "root cannot take reports yet"}
}

func (s *reportServer) set(a wire.AckStatus) {
	s.mu.Lock()
	s.answer = a
	s.mu.Unlock()
}

// received returns the report bodies taken so far: the server's goroutines write them.
func (s *reportServer) received() []wire.ReportBody {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wire.ReportBody(nil), s.bodies...)
}

func (s *reportServer) taken() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint64(nil), s.runs...)
}

// holdPolicy gives the agent a policy signed by the test root, as FetchPolicy would.
func holdPolicy(t *testing.T, a *Agent, p *wire.AppliedPolicy) {
	t.Helper()
	p.NodeID = a.Identity().NodeID
	p.ConfigID = ""
	sp, err := wire.NewSignedPolicy(p, testRootKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wire.AppendFrame(nil, sp)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.WriteFileAtomic(filepath.Join(a.cfg.DataDir, policyFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	a.root = testRootKey.Public().(ed25519.PublicKey)
	a.mu.Unlock()
}

// TestReportsWaitInTheSpool: reports the server does not take stay in the spool and go out
// later in run order, each once; run ids go up across restarts; force-audit shows in the
// report.
func TestReportsWaitInTheSpool(t *testing.T) {
	s := startReportServer(t)
	dir := filepath.Join(t.TempDir(), "agent")
	root := t.TempDir()
	a, err := New(Config{DataDir: dir, Server: s.addr, Hostname: "node1", Interval: time.Hour, ApplyPrefix: root})
	if err != nil {
		t.Fatal(err)
	}
	holdPolicy(t, a, testPolicy(fileComp("/motd", "hello", wire.ModeEnforce, "")))
	ctx := context.Background()
	for range 2 {
		if _, err := a.RunOnce(ctx, RunOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := a.SendReports(ctx); err == nil || n != 0 {
		t.Fatalf("server answering errors: got %d sent, err %v; want 0 and an error", n, err)
	}
	if d := a.openedSpool().Stats().Depth; d != 2 {
		t.Fatalf("spool depth %d after a refused send, want 2", d)
	}
	a.Close()

	// Restarted, forced to audit, one more run: its id follows on.
	if err := SetForceAudit(dir, true); err != nil {
		t.Fatal(err)
	}
	a, err = New(Config{DataDir: dir, Server: s.addr, Hostname: "node1", Interval: time.Hour, ApplyPrefix: root})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	holdPolicy(t, a, testPolicy(fileComp("/motd", "hello", wire.ModeEnforce, "")))
	res, err := a.RunOnce(ctx, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.RunID != 3 || !res.ForceAudit || res.Items[0].Status != wire.StatusAuditCompliant {
		t.Errorf("third run: got id %d force-audit %v status %v, want 3, true, audit-compliant", res.RunID, res.ForceAudit, res.Items[0].Status)
	}
	s.set(wire.AckOK)
	n, err := a.SendReports(ctx)
	if err != nil || n != 3 {
		t.Fatalf("got %d sent, err %v; want 3", n, err)
	}
	if got := s.taken(); len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Errorf("runs taken: got %v, want [1 2 3]", got)
	}
	if b := s.received()[2]; !b.ForceAudit || b.Results[0].Status != wire.StatusAuditCompliant {
		t.Errorf("third report: got %+v, want force-audit and audit-compliant", b)
	}
	if b := s.received()[0]; b.Results[0].Status != wire.StatusRepaired || b.Results[0].Message == "" {
		t.Errorf("first report: got %+v, want repaired with its message", b)
	}
	if n, _ := a.SendReports(ctx); n != 0 {
		t.Errorf("sent %d reports again", n)
	}
	lr := ReadLastRun(dir)
	if lr == nil || lr.RunID != 3 || !lr.ForceAudit || !lr.Reported {
		t.Errorf("last run: got %+v", lr)
	}
}

// TestForegroundRunBesideDaemon: a run in another process while the daemon holds the spool
// leaves its report in the outbox, which the daemon sends first.
func TestForegroundRunBesideDaemon(t *testing.T) {
	s := startReportServer(t)
	s.set(wire.AckOK)
	dir := filepath.Join(t.TempDir(), "agent")
	root := t.TempDir()
	daemon, err := New(Config{DataDir: dir, Server: s.addr, Hostname: "node1", Interval: time.Hour, ApplyPrefix: root})
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	if _, err := daemon.spool(); err != nil {
		t.Fatal(err)
	}
	fg, err := New(Config{DataDir: dir, Server: s.addr, Hostname: "node1", Interval: time.Hour, ApplyPrefix: root})
	if err != nil {
		t.Fatal(err)
	}
	defer fg.Close()
	holdPolicy(t, fg, testPolicy(fileComp("/motd", "hello", wire.ModeEnforce, "")))
	if _, err := fg.RunOnce(context.Background(), RunOptions{}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, outboxDir)); len(ents) != 1 {
		t.Fatalf("outbox holds %d files, want 1", len(ents))
	}
	if _, err := fg.SendReports(context.Background()); !errors.Is(err, ErrSpoolHeld) {
		t.Errorf("sending from beside the daemon: got %v, want ErrSpoolHeld", err)
	}
	if n, err := daemon.SendReports(context.Background()); err != nil || n != 1 {
		t.Fatalf("daemon sent %d, err %v; want 1", n, err)
	}
	if !daemon.outboxHasReports() && len(s.taken()) == 1 {
		return
	}
	t.Errorf("outbox not emptied or report not taken: %v", s.taken())
}

// TestReportingModes: changes-only sends only what is not a success, and an empty report
// (the heartbeat) every HeartbeatRuns runs; disabled sends nothing.
func TestReportingModes(t *testing.T) {
	s := startReportServer(t)
	s.set(wire.AckOK)
	a, err := New(Config{DataDir: filepath.Join(t.TempDir(), "agent"), Server: s.addr, Hostname: "node1", Interval: time.Hour, ApplyPrefix: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	p := testPolicy(fileComp("/motd", "hello", wire.ModeEnforce, ""), fileComp("/other", "x", wire.ModeEnforce, ""))
	p.ReportingMode, p.HeartbeatRuns = wire.ReportingChangesOnly, 2
	holdPolicy(t, a, p)
	var reported []uint64
	for range 4 {
		res, err := a.RunOnce(context.Background(), RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		reported = append(reported, res.RunID)
	}
	// Run 1 repaired both files; runs 2 to 4 found everything as wanted: a heartbeat at run 3.
	if want := []uint64{1, 0, 3, 0}; !slices.Equal(reported, want) {
		t.Errorf("run ids reported: got %v, want %v", reported, want)
	}
	if _, err := a.SendReports(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := s.received(); len(got) != 2 || len(got[0].Results) != 2 || len(got[1].Results) != 0 {
		t.Errorf("got reports %+v, want the repairs then an empty heartbeat", got)
	}

	p.ReportingMode = wire.ReportingDisabled
	holdPolicy(t, a, p)
	if res, err := a.RunOnce(context.Background(), RunOptions{}); err != nil || res.RunID != 0 {
		t.Errorf("reporting disabled: got run id %d, err %v; want not reported", res.RunID, err)
	}
	if d := a.openedSpool().Stats().Depth; d != 0 {
		t.Errorf("reporting disabled: %d reports spooled", d)
	}
}
