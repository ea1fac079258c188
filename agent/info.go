package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bosun-io/bosun/wire"
)

// Info is what `bosun agent info` shows: who the node is, whom it talks to, what it holds
// and how its last run went.
type Info struct {
	NodeID       string    `json:"nodeId"`
	Fingerprint  string    `json:"fingerprint"`
	PolicyServer string    `json:"policyServer,omitempty"`
	NodeStatus   string    `json:"nodeStatus,omitempty"`
	EnrolledAt   time.Time `json:"enrolledAt,omitzero"`
	LastContact  time.Time `json:"lastContact,omitzero"`
	ConfigID     string    `json:"configId,omitempty"`
	// PolicyError says why no policy is usable, when none is.
	PolicyError string `json:"policyError,omitempty"`
	// Mode is enforce, audit or mixed, from the directives of the policy held; audit when
	// force-audit is set.
	Mode              string   `json:"mode,omitempty"`
	EnforceDirectives int      `json:"enforceDirectives"`
	AuditDirectives   int      `json:"auditDirectives"`
	ForceAudit        bool     `json:"forceAudit"`
	RunInterval       string   `json:"runInterval,omitempty"`
	LastRun           *LastRun `json:"lastRun,omitempty"`
}

// ReadInfo reads what the agent in dataDir knows of itself. It contacts nobody.
func ReadInfo(dataDir string) (Info, error) {
	if _, err := os.Stat(filepath.Join(dataDir, stateFile)); err != nil {
		return Info{}, fmt.Errorf("%w: no %s in %s; start bosun agent --server host:port first", errNotEnrolled, stateFile, dataDir)
	}
	server, err := EnrolledServer(dataDir)
	if err != nil {
		server = "(none)"
	}
	a, err := New(Config{DataDir: dataDir, Server: server})
	if err != nil {
		return Info{}, err
	}
	defer a.Close()
	a.mu.Lock()
	st := a.st
	a.mu.Unlock()
	in := Info{
		NodeID: a.id.NodeID, Fingerprint: a.id.Fingerprint(), PolicyServer: st.EnrolledWith, NodeStatus: st.NodeStatus,
		EnrolledAt: st.EnrolledAt, LastContact: st.LastSeen, ForceAudit: ForceAudit(dataDir), LastRun: ReadLastRun(dataDir),
	}
	p, err := a.Policy()
	switch {
	case errors.Is(err, ErrNoPolicy):
		in.PolicyError = err.Error()
	case err != nil:
		in.PolicyError = err.Error()
	default:
		in.ConfigID = p.ConfigID
		in.RunInterval = p.RunInterval.String()
		for _, d := range p.Directives {
			if d.Mode == wire.ModeEnforce {
				in.EnforceDirectives++
			} else {
				in.AuditDirectives++
			}
		}
		switch {
		case in.ForceAudit || in.EnforceDirectives == 0 && in.AuditDirectives > 0:
			in.Mode = "audit"
		case in.AuditDirectives == 0:
			in.Mode = "enforce"
		default:
			in.Mode = "mixed"
		}
	}
	return in, nil
}
