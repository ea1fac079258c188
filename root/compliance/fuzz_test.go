package compliance

import (
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// FuzzIngest feeds the engine reports decoded from arbitrary bytes, as they arrive from
// the network: whatever they hold, the engine must not panic, and the node's counts must
// stay those of its components plus the unexpected results.
func FuzzIngest(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(nil)
	seed := func(b wire.ReportBody) {
		m, err := wire.NewReport(b, key)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.Signed.Body)
	}
	end := t0.Add(time.Minute)
	seed(*report("n1", "c1", 1, end, wire.ReportingFull, all(6, wire.StatusSuccess)...))
	seed(*report("n1", "c1", 2, end, wire.ReportingChangesOnly, res(2, wire.StatusRepaired, "fixed"), res(40, wire.StatusError)))
	seed(*report("n1", "other", 3, end, wire.ReportingFull, res(0, wire.StatusAuditNonCompliant, "differs")))
	seed(*report("n1", "c1", 4, end.Add(48*time.Hour), wire.ReportingFull))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := (&wire.Report{Signed: wire.Signed{Body: body}}).Peek()
		if err != nil {
			return
		}
		r.NodeID = "n1"
		p := policy("n1", "c1", t0, wire.ReportingFull, dir{"r", "d", wire.ModeEnforce, 4}, dir{"r", "a", wire.ModeAudit, 2})
		p.Components[5].NoReport = true
		e := New(Config{})
		e.SetPolicy(p, t0)
		e.Ingest(&r, end)
		d, _ := e.Node("n1", end)
		f := e.Fleet(end)
		if d.Counts != f.Counts {
			t.Fatalf("node counts %v, fleet counts %v", d.Counts, f.Counts)
		}
		if units := d.Counts.Total() - d.Counts[StateUnexpected]; units > 5 {
			t.Fatalf("got %d counted states for 5 reported components: %v", units, d.Counts)
		}
	})
}
