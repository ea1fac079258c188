package root

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/bosun-io/bosun/root/api"
)

// bucketLedger counts, per node, the runs the root took: the proof that every run of a
// node arrived once and in order (run ids go up by one per run), whatever links and relays
// were lost on the way.
const bucketLedger = "run-ledger"

type runLedger struct {
	Received uint64 `json:"received"` // runs taken
	Gaps     uint64 `json:"gaps"`     // times a run id was not the previous one plus one
	Replays  uint64 `json:"replays"`  // resends refused because the run was taken already
	First    uint64 `json:"first"`    // the first run id taken
	Last     uint64 `json:"last"`     // the latest run id taken
}

type ledgers struct {
	mu   sync.Mutex
	byID map[string]*runLedger
}

func (l *ledgers) load(c *reports) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byID = map[string]*runLedger{}
	return c.db.Bucket(bucketLedger).Scan("", func(id string, v []byte) error {
		var rl runLedger
		if err := json.Unmarshal(v, &rl); err != nil {
			return fmt.Errorf("run ledger of %s: %w", id, err)
		}
		l.byID[id] = &rl
		return nil
	})
}

// note records a taken run (replay false) or a refused resend, to be made durable with the
// report itself.
func (l *ledgers) note(c *reports, nodeID string, runID uint64, replay bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rl := l.byID[nodeID]
	if rl == nil {
		rl = &runLedger{}
		l.byID[nodeID] = rl
	}
	switch {
	case replay:
		rl.Replays++
	default:
		if rl.Last != 0 && runID != rl.Last+1 {
			rl.Gaps++
		}
		if rl.First == 0 {
			rl.First = runID
		}
		rl.Received++
		rl.Last = runID
	}
	b, _ := json.Marshal(rl)
	c.defer_(bucketLedger, nodeID, b)
}

func (l *ledgers) get(nodeID string) runLedger {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rl := l.byID[nodeID]; rl != nil {
		return *rl
	}
	return runLedger{}
}

func (r *Root) ledgerRoutes(route api.RouteFunc, _ api.PublicFunc) {
	route("GET /api/v1/nodes/{id}/runs", api.RoleReadOnly, func(w http.ResponseWriter, req *http.Request, _ api.Principal) {
		id := req.PathValue("id")
		if _, err := r.reg.record(id); err != nil {
			code, name := api.StatusOf(err)
			api.Fail(w, code, name, err.Error())
			return
		}
		rl := r.rep.ledger.get(id)
		api.Reply(w, api.RunLedger{SchemaVersion: api.SchemaVersion, NodeID: id, Received: rl.Received, Gaps: rl.Gaps,
			Replays: rl.Replays, First: rl.First, Last: rl.Last})
	})
}
