package agent

import (
	"github.com/bosun-io/bosun/metrics"
)

// Outcomes of a scheduled run, as metrics count them.
const (
	runCompliant    = "compliant"     // every reported result compliant or repaired
	runNonCompliant = "non_compliant" // some error or non-compliance: exit status 1 of bosun agent run
	runFailed       = "failed"        // the run could not be made or recorded
	runNoPolicy     = "no_policy"     // nothing to run yet
)

// agentMetrics is the agent's opt-in Prometheus endpoint: runs are counted as they happen;
// the last run, the spool and the policy are read from where the agent keeps them.
type agentMetrics struct {
	reg  *metrics.Registry
	runs map[string]*metrics.Counter
	srv  *metrics.Server
}

// listenMetrics binds the endpoint when the configuration asks for one; Run serves it.
func (a *Agent) listenMetrics() error {
	if a.cfg.MetricsListen == "" {
		return nil
	}
	tok, err := metrics.TokenOf(a.cfg.MetricsTokenFile, a.cfg.DataDir)
	if err != nil {
		return err
	}
	reg := metrics.NewRegistry()
	m := &agentMetrics{reg: reg, runs: map[string]*metrics.Counter{}}
	runs := reg.CounterVec("bosun_agent_runs_total", "Scheduled runs by outcome.", "outcome")
	for _, o := range []string{runCompliant, runNonCompliant, runFailed, runNoPolicy} {
		m.runs[o] = runs.With(o)
	}
	// One read of the last run's file per scrape for its three families, so that they
	// describe the same run even when one ends during the scrape.
	reg.Funcs([]metrics.Family{
		{Kind: metrics.Gauge, Name: "bosun_agent_last_run_duration_seconds", Help: "Duration of the last run."},
		{Kind: metrics.Gauge, Name: "bosun_agent_last_run_timestamp_seconds", Help: "When the last run ended (Unix time)."},
		{Kind: metrics.Gauge, Name: "bosun_agent_last_run_components", Help: "Components of the last run by policy mode and result.", Labels: []string{"mode", "result"}},
	}, func(emit metrics.EmitTo) {
		lr := ReadLastRun(a.cfg.DataDir)
		if lr == nil {
			return
		}
		emit(0, lr.End.Sub(lr.Start).Seconds())
		emit(1, float64(lr.End.UnixNano())/1e9)
		for mode, s := range map[string]ModeSummary{"audit": lr.Summary.Audit, "enforce": lr.Summary.Enforce} {
			for result, n := range s.ByStatus {
				emit(2, float64(n), mode, result)
			}
		}
	})
	reg.Func(metrics.Gauge, "bosun_agent_spool_items", "Reports waiting in the spool for the policy server.", nil, func(emit metrics.Emit) {
		if sp := a.openedSpool(); sp != nil {
			emit(float64(sp.Stats().Depth))
		}
	})
	reg.Func(metrics.Gauge, "bosun_agent_policy_info", "The policy the agent holds: always 1, its config id as a label.", []string{"config_id"}, func(emit metrics.Emit) {
		if p, err := a.Policy(); err == nil {
			emit(1, p.ConfigID)
		}
	})
	m.srv, err = metrics.Listen(a.cfg.MetricsListen, reg, tok, a.log)
	if err != nil {
		return err
	}
	a.metrics = m
	return nil
}

// countRun counts a scheduled run's outcome; a no-op without the endpoint.
func (a *Agent) countRun(outcome string) {
	if a.metrics != nil {
		a.metrics.runs[outcome].Inc()
	}
}
