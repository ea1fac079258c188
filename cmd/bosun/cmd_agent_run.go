package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bosun-io/bosun/agent"
	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/root/policy"
	"github.com/bosun-io/bosun/wire"
	"github.com/spf13/pflag"
)

// Exit statuses of `bosun agent run`.
const (
	runExitNotCompliant = 1 // an error or a non-compliance
	runExitCannotRun    = 2 // no policy, a bad technique file, a bad command line
	runExitBusy         = 3 // another run holds the lock, or the run was interrupted
)

// exitError carries the exit status a verb chose; main's exitCode honours it.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

var errNotCompliant = errors.New("not every component is compliant")

var agentRunCommand = &cli.Command{
	Name:  "agent run",
	Short: "run the node's policy once, in the foreground",
	Long: `Runs the policy this node holds once and prints one line per component: the mode (A audit,
E enforce), the status, the technique, the component, its value and the message; then a
summary for each mode with counts and the compliance percentage. The run is reported like the
daemon's: its signed report goes to the spool and out to the policy server. Runs never
overlap: a run waits up to 30 s for one in progress (the daemon's, say).

Before running, the agent asks its policy server for a newer policy (10 s at most; --offline
skips it); cut off, it runs the last good policy it holds.

With --technique FILE the agent runs one technique file (Rudder's YAML format) locally,
without a root and without reporting: the technique is compiled for this node with the
parameters given with --param, in enforce (or audit with --audit). This is how a technique
author tries a technique on a test machine.

When force-audit is set (bosun agent set-force-audit), every component runs in audit, and the
output and the report say so.`,
	Examples: `bosun agent run
bosun agent run -i                      # full messages and the directive of each line
bosun agent run --only demo-motd        # one directive (not reported)
bosun agent run --json | jq '.summary'
bosun agent run --technique motd.yml --param path=/tmp/motd --param content='hello'
bosun agent run --technique motd.yml --param path=/etc/motd --param content=hi --audit`,
	ExitStatus: `0  every component is compliant, repaired or not applicable
1  at least one component is in error or non-compliant
2  could not run: no policy held (not enrolled or accepted yet), a technique file or a
   parameter is wrong, or the command line is wrong
3  could not run now: another run did not finish within 30 s, or the run was interrupted`,
	New: func() cli.Options { return &agentRunOptions{configFile: configFile{role: "agent"}} },
}

type agentRunOptions struct {
	configFile
	Data       string
	Info       bool
	Verbose    bool
	JSON       bool
	Only       string
	Technique  string
	Params     []string
	Audit      bool
	Offline    bool
	Hostname   string
	RootPrefix string
}

func (o *agentRunOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", "/var/lib/bosun/agent", "the agent's data directory")
	fs.BoolVarP(&o.Info, "info", "i", false, "full messages, and the directive of each line")
	fs.BoolVarP(&o.Verbose, "verbose", "v", false, "also components not reported, result conditions, facts and the run's log")
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
	fs.StringVar(&o.Only, "only", "", "run only this directive (id or name); such a run is not reported")
	fs.StringVar(&o.Technique, "technique", "", "run this technique file locally instead of the node's policy")
	fs.StringArrayVar(&o.Params, "param", nil, "NAME=VALUE: a parameter of --technique (repeat)")
	fs.BoolVar(&o.Audit, "audit", false, "with --technique: run in audit")
	fs.BoolVar(&o.Offline, "offline", false, "do not contact the policy server")
	fs.StringVar(&o.Hostname, "hostname", "", "host name for the node's facts (default: the machine's)")
	fs.StringVar(&o.RootPrefix, "root-prefix", "", "act on files under this directory instead of / (tests only)")
	_ = fs.MarkHidden("root-prefix")
}

func (o *agentRunOptions) Run(ctx context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	if o.Technique == "" && (len(o.Params) > 0 || o.Audit) {
		return cli.Usagef("--param and --audit go with --technique")
	}
	if o.Technique != "" && o.Only != "" {
		return cli.Usagef("--only and --technique do not go together")
	}
	log := slog.New(slog.DiscardHandler)
	if o.Verbose {
		log = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var res *agent.RunResult
	var runErr error
	note := ""
	if o.Technique != "" {
		res, runErr = o.runTechnique(ctx, log)
		note = "technique run: not reported"
	} else {
		res, note, runErr = o.runPolicy(ctx, env, log)
	}
	if runErr != nil {
		return runErr
	}
	if o.JSON {
		if err := writeRunJSON(env.Stdout, res, note); err != nil {
			return err
		}
	} else {
		writeRunTable(env.Stdout, res, o.Info || o.Verbose, o.Verbose)
		writeRunSummary(env.Stdout, res, note)
	}
	if ctx.Err() != nil {
		return &exitError{runExitBusy, fmt.Errorf("run interrupted: %w", ctx.Err())}
	}
	if !res.OK() {
		return &exitError{runExitNotCompliant, errNotCompliant}
	}
	return nil
}

// runPolicy runs the policy the node holds, as the daemon would, and reports it.
func (o *agentRunOptions) runPolicy(ctx context.Context, env *cli.Env, log *slog.Logger) (*agent.RunResult, string, error) {
	server, err := agent.EnrolledServer(o.Data)
	if err != nil {
		return nil, "", &exitError{runExitCannotRun, err}
	}
	a, err := agent.New(agent.Config{DataDir: o.Data, Server: server, Hostname: o.Hostname, ApplyPrefix: o.RootPrefix,
		SoftwareVersion: version, Logger: log})
	if err != nil {
		return nil, "", &exitError{runExitCannotRun, err}
	}
	defer a.Close()
	if !o.Offline {
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := a.Status(fctx)
		if err == nil && st.NodeStatus == "accepted" {
			_, err = a.FetchPolicy(fctx, st.ConfigID)
		}
		cancel()
		if err != nil {
			fmt.Fprintf(env.Stderr, "bosun: policy not refreshed (%v); running the policy held\n", err)
		}
	}
	res, err := a.RunOnce(ctx, agent.RunOptions{Only: o.Only})
	switch {
	case errors.Is(err, agent.ErrNoPolicy):
		return nil, "", &exitError{runExitCannotRun, fmt.Errorf("%w (is the node accepted? see bosun agent info)", err)}
	case errors.Is(err, agent.ErrRunBusy), errors.Is(err, context.Canceled):
		return nil, "", &exitError{runExitBusy, err}
	case err != nil:
		return nil, "", err
	}
	note := "not reported (--only)"
	if res.RunID != 0 {
		note = fmt.Sprintf("report of run %d spooled", res.RunID)
		if !o.Offline {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			n, err := a.SendReports(sctx)
			cancel()
			switch {
			case err == nil && n > 0:
				note = fmt.Sprintf("report of run %d sent", res.RunID)
			case errors.Is(err, agent.ErrSpoolHeld):
				note += "; the daemon sends it"
			case err != nil:
				note += "; not sent yet: " + err.Error()
			}
		}
	} else if o.Only == "" {
		note = "not reported (reporting mode)"
	}
	return res, note, nil
}

// runTechnique compiles one technique file for this node and runs it without reporting.
func (o *agentRunOptions) runTechnique(ctx context.Context, log *slog.Logger) (*agent.RunResult, error) {
	p, err := compileTechniqueFile(o.Technique, o.Params, o.Audit, o.Hostname)
	if err != nil {
		return nil, &exitError{runExitCannotRun, err}
	}
	state, err := os.MkdirTemp("", "bosun-technique-run")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(state)
	hostname := o.Hostname
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	return agent.Apply(ctx, p, agent.ApplyOptions{NodeID: p.NodeID, Hostname: hostname, DataDir: state, RootPrefix: o.RootPrefix, FactsRoot: "/",
		ForceAudit: agent.ForceAudit(o.Data), Logger: log}), nil
}

// localNodeID names the node a technique file is compiled for: the run is never reported.
const localNodeID = "local"

// compileTechniqueFile turns a technique file and parameter values into an applied policy
// of one directive, validated as the root would.
func compileTechniqueFile(file string, params []string, audit bool, hostname string) (*wire.AppliedPolicy, error) {
	docs, err := policy.LoadPath(file)
	if err != nil {
		return nil, err
	}
	var t *policy.Technique
	for _, d := range docs {
		if d.Kind == policy.KindTechnique {
			if t != nil {
				return nil, fmt.Errorf("%s: more than one technique; give a file with one", file)
			}
			t = d.Technique
		}
	}
	if t == nil {
		return nil, fmt.Errorf("%s: no technique in this file", file)
	}
	values := map[string]string{}
	for _, kv := range params {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, cli.Usagef("--param %q: want NAME=VALUE", kv)
		}
		values[k] = v
	}
	tech := *t
	if lib, ok := (&policy.Model{}).Technique(t.ID, t.Version); ok && lib.Version == t.Version {
		// A copy of a built-in technique: the model refuses a second definition of the
		// same version, and the built-in one may differ from the file tried.
		tech.Version += ".local"
	}
	mode := policy.ModeEnforce
	if audit {
		mode = policy.ModeAudit
	}
	name := tech.Name
	if name == "" {
		name = tech.ID
	}
	m := &policy.Model{}
	_, err = m.Apply([]policy.Doc{
		{Kind: policy.KindTechnique, File: file, Technique: &tech},
		{Kind: policy.KindDirective, File: file, Directive: &policy.Directive{ID: tech.ID, Name: name, Technique: tech.ID,
			TechniqueVersion: tech.Version, Params: values, PolicyMode: mode}},
		{Kind: policy.KindRule, File: file, Rule: &policy.Rule{ID: "local", Name: "local", Directives: []string{tech.ID},
			Targets: policy.Targets{Include: []string{policy.GroupAllNodes}}}},
		{Kind: policy.KindSettings, File: file, Settings: &policy.Settings{PolicyMode: mode}},
	})
	if err != nil {
		return nil, err
	}
	pols, probs, err := policy.Compile(m, []policy.Node{{ID: localNodeID, Hostname: hostname, OS: "linux"}})
	if err != nil {
		return nil, err
	}
	for _, pr := range probs {
		return nil, fmt.Errorf("%s: %s", file, pr.String())
	}
	p, ok := pols[localNodeID]
	if !ok || len(p.Components) == 0 {
		return nil, fmt.Errorf("%s: the technique compiled to no component", file)
	}
	return p, nil
}

func modeLetter(m wire.PolicyMode) string {
	if m == wire.ModeAudit {
		return "A"
	}
	return "E"
}

// writeRunTable prints one line per component; detail adds the directive and full messages,
// verbose the components not reported, their result conditions and the node's facts.
func writeRunTable(w io.Writer, r *agent.RunResult, detail, verbose bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if detail {
		fmt.Fprintln(tw, "M\tSTATUS\tDIRECTIVE\tTECHNIQUE\tCOMPONENT\tVALUE\tMESSAGE")
	} else {
		fmt.Fprintln(tw, "M\tSTATUS\tTECHNIQUE\tCOMPONENT\tVALUE\tMESSAGE")
	}
	for _, it := range r.Items {
		if it.NoReport && !verbose {
			continue
		}
		status := it.Status.String()
		if it.NoReport {
			status += " (not reported)"
		}
		msg := oneLine(it.Message)
		if !detail {
			msg = clip(msg, 70)
		}
		if detail {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", modeLetter(it.Mode), status, it.Directive, it.Technique,
				clip(it.Component, 40), clip(oneLine(it.Value), 50), msg)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", modeLetter(it.Mode), status, clip(it.Technique, 24),
				clip(it.Component, 32), clip(oneLine(it.Value), 40), msg)
		}
		if verbose && len(it.Conditions) > 0 {
			fmt.Fprintf(tw, "\t\t\t\t\t  defines %s\n", strings.Join(it.Conditions, " "))
		}
	}
	tw.Flush()
	if verbose {
		fmt.Fprintf(w, "facts: %s\n", strings.Join(r.Facts, " "))
	}
}

func writeRunSummary(w io.Writer, r *agent.RunResult, note string) {
	s := r.Summary()
	fmt.Fprintln(w)
	for _, m := range []struct {
		name string
		s    agent.ModeSummary
	}{{"enforce", s.Enforce}, {"audit", s.Audit}} {
		if m.s.Total == 0 {
			continue
		}
		fmt.Fprintf(w, "%-8s %4d components  %5.1f%% compliant  (%s)\n", m.name+":", m.s.Total, m.s.Compliance, countsLine(m.s))
	}
	if s.Enforce.Total+s.Audit.Total == 0 {
		fmt.Fprintln(w, "no component ran")
	}
	if r.ForceAudit {
		fmt.Fprintln(w, "force-audit is set: every component ran in audit (bosun agent unset-force-audit to stop)")
	}
	cfg := r.ConfigID
	if len(cfg) > 12 {
		cfg = cfg[:12]
	}
	fmt.Fprintf(w, "config %s, ran in %s, %s\n", cfg, roundDuration(r.End.Sub(r.Start)), note)
}

func countsLine(s agent.ModeSummary) string {
	names := make([]string, 0, len(s.ByStatus))
	for n := range s.ByStatus {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d", n, s.ByStatus[n]))
	}
	return strings.Join(parts, ", ")
}

// runJSON is the --json output; SchemaVersion changes when a field changes meaning.
type runJSON struct {
	SchemaVersion int             `json:"schemaVersion"`
	NodeID        string          `json:"nodeId"`
	ConfigID      string          `json:"configId"`
	RunID         uint64          `json:"runId,omitempty"`
	Start         time.Time       `json:"start"`
	End           time.Time       `json:"end"`
	ForceAudit    bool            `json:"forceAudit"`
	Only          string          `json:"only,omitempty"`
	Note          string          `json:"note"`
	Results       []runJSONResult `json:"results"`
	Summary       agent.Summary   `json:"summary"`
	OK            bool            `json:"ok"`
}

type runJSONResult struct {
	agent.ItemResult
	Mode   string `json:"mode"`
	Status string `json:"status"`
}

func writeRunJSON(w io.Writer, r *agent.RunResult, note string) error {
	out := runJSON{SchemaVersion: 1, NodeID: r.NodeID, ConfigID: r.ConfigID, RunID: r.RunID, Start: r.Start, End: r.End,
		ForceAudit: r.ForceAudit, Only: r.Only, Note: note, Summary: r.Summary(), OK: r.OK(), Results: []runJSONResult{}}
	for _, it := range r.Items {
		out.Results = append(out.Results, runJSONResult{ItemResult: it, Mode: it.Mode.String(), Status: it.Status.String()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\t") {
		return s
	}
	return strings.NewReplacer("\n", `\n`, "\t", " ").Replace(s)
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// roundDuration keeps three significant figures or so: 1.23ms, 45.6ms, 2.1s.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}
