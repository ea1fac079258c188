package agent

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/bosun-io/bosun/agent/host"
	"github.com/bosun-io/bosun/agent/method"
	"github.com/bosun-io/bosun/cond"
	"github.com/bosun-io/bosun/wire"
)

// ApplyOptions configures one run of an applied policy.
type ApplyOptions struct {
	// NodeID and Hostname define the node's facts and seed schedule_simple.
	NodeID, Hostname string
	// DataDir is where methods may keep state (schedule_simple): the only place a run in
	// audit writes. Empty: a temporary directory is not made; methods that keep state fail.
	DataDir string
	// RootPrefix is prepended to every path a method touches: tests only.
	RootPrefix string
	// FactsRoot is where /etc/os-release is read for the node's facts; empty means
	// RootPrefix.
	FactsRoot string
	// ForceAudit runs every component in audit, whatever the policy says.
	ForceAudit bool
	// Only, when set, runs only the components of that directive (id or name).
	Only string
	// Host is the OS backends; nil means host.Detect(RootPrefix).
	Host *host.Set
	// Timeout bounds each method call; 0 means method.DefaultTimeout.
	Timeout time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// ItemResult is one component's outcome in a run.
type ItemResult struct {
	Index     int             `json:"index"`
	Mode      wire.PolicyMode `json:"-"`
	Status    wire.ReportStatus
	Directive string `json:"directive"` // the directive's id
	Technique string `json:"technique"`
	Component string `json:"component"` // the item's name in its technique
	Method    string `json:"method"`
	Value     string `json:"value"` // the reporting value
	Message   string `json:"message"`
	// Skipped means the component's condition was false: it did not run.
	Skipped bool `json:"skipped,omitempty"`
	// NoReport means the component ran but is not reported.
	NoReport bool `json:"noReport,omitempty"`
	// Conditions are the result conditions the call defined.
	Conditions []string `json:"conditions,omitempty"`
}

// RunResult is one run of an applied policy.
type RunResult struct {
	NodeID     string
	ConfigID   string
	RunID      uint64 // 0 when the run was not reported
	Start, End time.Time
	ForceAudit bool
	Only       string
	Items      []ItemResult
	// Facts are the conditions defined before the first component ran.
	Facts []string
}

// Apply runs the components of p in order. Every component's condition is evaluated
// against the node's facts and the result conditions of the components before it; a
// component whose condition is false is not applicable. Apply never fails as a whole: a bad
// condition, an unknown method, a panic or a timeout is an error of that component only.
func Apply(ctx context.Context, p *wire.AppliedPolicy, o ApplyOptions) *RunResult {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := o.Host
	if h == nil {
		h = host.Detect(o.RootPrefix)
	}
	factsRoot := o.FactsRoot
	if factsRoot == "" {
		factsRoot = o.RootPrefix
	}
	facts := Facts(factsRoot, o.Hostname)
	env := &method.Env{
		RootPrefix: o.RootPrefix,
		Host:       h,
		Vars:       method.NewVars(),
		Conditions: method.NewConditions(facts...),
		NodeID:     o.NodeID,
		Now:        now,
		Logger:     log,
	}
	if o.DataDir != "" {
		env.DataDir = filepath.Join(o.DataDir, "method-state")
		env.SharedDir = filepath.Join(o.DataDir, "shared-files")
	}
	defineSysVars(env.Vars, o.Hostname, o.DataDir)

	r := &RunResult{NodeID: p.NodeID, ConfigID: p.ConfigID, Start: now().UTC(), ForceAudit: o.ForceAudit, Only: o.Only, Facts: facts,
		Items: make([]ItemResult, 0, len(p.Components))}
	for i := range p.Components {
		c := &p.Components[i]
		var d wire.PolicyDirective
		if c.Directive >= 0 && c.Directive < len(p.Directives) {
			d = p.Directives[c.Directive]
		}
		if o.Only != "" && d.DirectiveID != o.Only && d.DirectiveName != o.Only {
			continue
		}
		mode := c.Mode
		if o.ForceAudit || mode != wire.ModeEnforce {
			mode = wire.ModeAudit
		}
		it := ItemResult{Index: i, Mode: mode, Directive: d.DirectiveID, Technique: d.TechniqueID,
			Component: c.Name, Method: c.Method, Value: c.ReportingValue, NoReport: c.NoReport}
		if it.Component == "" {
			it.Component = c.Method
		}
		if ctx.Err() != nil {
			it.Status, it.Message = errorStatus(mode), "run interrupted before this component: "+ctx.Err().Error()
			r.Items = append(r.Items, it)
			continue
		}
		holds, err := evalCondition(env, c.Condition)
		switch {
		case err != nil:
			it.Status, it.Message = errorStatus(mode), err.Error()
		case !holds:
			it.Skipped = true
			it.Status = wire.StatusNotApplicable
			if mode == wire.ModeAudit {
				it.Status = wire.StatusAuditNA
			}
			it.Message = fmt.Sprintf("not applicable: condition %q is false on this node", c.Condition)
		default:
			call := method.Call{Method: c.Method, ReportingValue: c.ReportingValue, Timeout: o.Timeout, Mode: method.Audit}
			if mode == wire.ModeEnforce {
				call.Mode = method.Enforce
			}
			call.Params = make([]method.Param, len(c.Params))
			for j, pp := range c.Params {
				call.Params[j] = method.Param{Name: pp.Name, Value: pp.Value}
			}
			res := method.Run(ctx, env, call)
			it.Status, it.Message, it.Conditions = reportStatus(res.Status), res.Message, res.Conditions
		}
		logResult(log, &it)
		r.Items = append(r.Items, it)
	}
	r.End = now().UTC()
	return r
}

func logResult(log *slog.Logger, it *ItemResult) {
	lvl := slog.LevelDebug
	switch it.Status {
	case wire.StatusRepaired, wire.StatusAuditNonCompliant:
		lvl = slog.LevelInfo
	case wire.StatusError, wire.StatusAuditError:
		lvl = slog.LevelWarn
	}
	log.Log(context.Background(), lvl, "component result", "index", it.Index, "mode", it.Mode.String(), "status", it.Status.String(),
		"directive", it.Directive, "component", it.Component, "value", it.Value, "message", it.Message)
}

// evalCondition expands a component's condition and evaluates it against the conditions
// defined so far. Variables are expanded before parsing: a variable may hold a whole
// expression.
func evalCondition(env *method.Env, expr string) (bool, error) {
	if expr == "" {
		return true, nil
	}
	s, err := env.Expand(expr)
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", expr, err)
	}
	e, err := cond.Parse(s)
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", expr, err)
	}
	return e.Eval(env.Conditions.Has), nil
}

func errorStatus(mode wire.PolicyMode) wire.ReportStatus {
	if mode == wire.ModeAudit {
		return wire.StatusAuditError
	}
	return wire.StatusError
}

func reportStatus(s method.Status) wire.ReportStatus {
	switch s {
	case method.Success:
		return wire.StatusSuccess
	case method.Repaired:
		return wire.StatusRepaired
	case method.NotApplicable:
		return wire.StatusNotApplicable
	case method.AuditCompliant:
		return wire.StatusAuditCompliant
	case method.AuditNonCompliant:
		return wire.StatusAuditNonCompliant
	case method.AuditNA:
		return wire.StatusAuditNA
	case method.AuditError:
		return wire.StatusAuditError
	}
	return wire.StatusError
}

// Facts returns the conditions a node defines before any component runs, as Rudder's agent
// does: any, the kernel (linux), the architecture (x86_64, 64_bit), the distribution and its
// family from os-release (debian, debian_12, debian_12_5, ubuntu_22_04, redhat, rhel_9) and
// the host name.
func Facts(rootPrefix, hostname string) []string {
	out := []string{"any", runtime.GOOS}
	add := func(s string) {
		if s = cond.Canonify(strings.ToLower(s)); s != "" && s != "_" {
			out = append(out, s)
		}
	}
	switch runtime.GOARCH {
	case "amd64":
		out = append(out, "x86_64", "64_bit")
	case "arm64":
		out = append(out, "aarch64", "64_bit")
	case "386":
		out = append(out, "i686", "32_bit")
	default:
		add(runtime.GOARCH)
	}
	if hostname != "" {
		add(hostname)
		if short, _, ok := strings.Cut(hostname, "."); ok {
			add(short)
		}
	}
	osr := readOSRelease(rootPrefix)
	id, version := osr["ID"], osr["VERSION_ID"]
	families := append([]string{id}, strings.Fields(osr["ID_LIKE"])...)
	for _, f := range families {
		add(f)
		switch f {
		case "rhel", "centos", "fedora":
			add("redhat")
		case "sles", "suse", "opensuse":
			add("suse")
		}
	}
	if id != "" && version != "" {
		parts := strings.Split(version, ".")
		for i := range parts {
			add(id + "_" + strings.Join(parts[:i+1], "_"))
		}
	}
	return dedupe(out)
}

func dedupe(s []string) []string {
	seen := make(map[string]bool, len(s))
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func readOSRelease(rootPrefix string) map[string]string {
	out := map[string]string{}
	f, err := os.Open(filepath.Join(rootPrefix, "/etc/os-release"))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			out[k] = strings.Trim(v, `"'`)
		}
	}
	return out
}

// defineSysVars defines the few sys.* and const.* variables techniques written for Rudder
// use most.
func defineSysVars(v *method.Vars, hostname, dataDir string) {
	short, _, _ := strings.Cut(hostname, ".")
	for name, val := range map[string]string{
		"host": short, "uqhost": short, "fqhost": hostname, "arch": runtime.GOARCH,
		"os": runtime.GOOS, "workdir": dataDir,
	} {
		v.Set("sys", name, val)
	}
	for name, val := range map[string]string{"n": "\n", "r": "\r", "t": "\t", "dollar": "$", "endl": "\n"} {
		v.Set("const", name, val)
	}
}

// ModeSummary counts one mode's results.
type ModeSummary struct {
	Total    int                       `json:"total"`
	Counts   map[wire.ReportStatus]int `json:"-"`
	ByStatus map[string]int            `json:"byStatus"`
	// Compliance is the percentage of components compliant, repaired or not applicable,
	// rounded down to a tenth so that a single failure never reads as 100.
	Compliance float64 `json:"compliance"`
}

// Summary is a run's results split by mode.
type Summary struct {
	Audit   ModeSummary `json:"audit"`
	Enforce ModeSummary `json:"enforce"`
}

// Summary counts the reported results by mode.
func (r *RunResult) Summary() Summary {
	s := Summary{
		Audit:   ModeSummary{Counts: map[wire.ReportStatus]int{}, ByStatus: map[string]int{}},
		Enforce: ModeSummary{Counts: map[wire.ReportStatus]int{}, ByStatus: map[string]int{}},
	}
	for i := range r.Items {
		it := &r.Items[i]
		if it.NoReport {
			continue
		}
		m := &s.Enforce
		if it.Mode == wire.ModeAudit {
			m = &s.Audit
		}
		m.Total++
		m.Counts[it.Status]++
		m.ByStatus[it.Status.String()]++
	}
	for _, m := range []*ModeSummary{&s.Audit, &s.Enforce} {
		if m.Total == 0 {
			continue
		}
		good := 0
		for st, n := range m.Counts {
			if compliant(st) {
				good += n
			}
		}
		m.Compliance = math.Floor(float64(good)*1000/float64(m.Total)) / 10
	}
	return s
}

// compliant reports whether a result counts as compliant (DESIGN.md §1).
func compliant(s wire.ReportStatus) bool {
	switch s {
	case wire.StatusSuccess, wire.StatusRepaired, wire.StatusNotApplicable, wire.StatusAuditCompliant, wire.StatusAuditNA:
		return true
	}
	return false
}

// OK reports whether every reported result is compliant or repaired.
func (r *RunResult) OK() bool {
	for i := range r.Items {
		if !r.Items[i].NoReport && !compliant(r.Items[i].Status) {
			return false
		}
	}
	return true
}

// ReportBody is the run's report as its node signs it, with the results reportingMode
// sends: all of them in full mode, only those that are not successes in changes-only mode.
func (r *RunResult) ReportBody(runID uint64, reportingMode wire.ReportingMode) wire.ReportBody {
	b := wire.ReportBody{NodeID: r.NodeID, ConfigID: r.ConfigID, RunID: runID, Start: r.Start, End: r.End,
		ReportingMode: reportingMode, ForceAudit: r.ForceAudit}
	for i := range r.Items {
		it := &r.Items[i]
		if it.NoReport || reportingMode == wire.ReportingChangesOnly && it.Status.IsSuccess() {
			continue
		}
		cr := wire.ComponentResult{Index: uint32(it.Index), Status: it.Status}
		if !it.Status.IsSuccess() {
			cr.Message = it.Message
		}
		b.Results = append(b.Results, cr)
	}
	return b
}
