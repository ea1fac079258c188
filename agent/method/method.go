package method

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// Mode is the policy mode of one call. The zero value is Audit, so that a call nobody set a
// mode on changes nothing.
type Mode int

const (
	Audit Mode = iota
	Enforce
)

func (m Mode) String() string {
	if m == Enforce {
		return "enforce"
	}
	return "audit"
}

// Status is the reported result of one call. Success, Repaired, Error and NotApplicable are
// enforce results; the Audit ones are audit results.
type Status int

const (
	statusUnknown Status = iota // a zero Result must never read as a success
	Success
	Repaired
	Error
	AuditCompliant
	AuditNonCompliant
	AuditError
	AuditNA
	NotApplicable
)

var statusNames = [...]string{"unknown", "success", "repaired", "error", "audit-compliant",
	"audit-noncompliant", "audit-error", "audit-na", "not-applicable"}

func (s Status) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("status(%d)", int(s))
	}
	return statusNames[s]
}

// Param is one parameter of a call, by the method's parameter name.
type Param struct {
	Name  string
	Value string
}

// Call is one method call of an applied policy, its values not yet expanded.
type Call struct {
	Method string
	// Params in the method's order; a parameter left out is empty.
	Params []Param
	// ReportingValue names the component in reports and result conditions; empty means the
	// value of the method's reporting parameter.
	ReportingValue string
	Mode           Mode
	// Timeout bounds the call; 0 means DefaultTimeout.
	Timeout time.Duration
}

// DefaultTimeout bounds a call that sets no timeout. Rudder's commands run up to an hour; a
// package installation over a slow mirror needs minutes.
const DefaultTimeout = 10 * time.Minute

// Result is what one call found, did and defined.
type Result struct {
	Status Status
	// Message says what was found and what was done.
	Message string
	// Conditions are the conditions the result defined (already added to Env.Conditions).
	Conditions []string
}

// Spec describes a method as a technique sees it.
type Spec struct {
	ID             string
	Params         []string
	ReportingParam string
	// ClassPrefix is Rudder's @class_prefix: result conditions are
	// canonify(ClassPrefix + "_" + reporting value) + "_kept" and so on.
	ClassPrefix string
}

// kind is a method's verdict before the mode turns it into a Status.
type kind int

const (
	kept     kind = iota + 1
	repaired      // enforce only: a change was made and the re-check passed
	drift         // not as wanted, and this call may not (audit) or cannot fix it
	failed        // the check itself, or the fix, failed
	notApplicable
)

type outcome struct {
	kind kind
	msg  string
	// conds are conditions the method defines besides its result conditions
	// (condition_from_*: <condition>_true or _false).
	conds []string
}

func keptf(format string, a ...any) outcome {
	return outcome{kind: kept, msg: fmt.Sprintf(format, a...)}
}
func repairedf(format string, a ...any) outcome {
	return outcome{kind: repaired, msg: fmt.Sprintf(format, a...)}
}
func driftf(format string, a ...any) outcome {
	return outcome{kind: drift, msg: fmt.Sprintf(format, a...)}
}
func failf(format string, a ...any) outcome {
	return outcome{kind: failed, msg: fmt.Sprintf(format, a...)}
}
func naf(format string, a ...any) outcome {
	return outcome{kind: notApplicable, msg: fmt.Sprintf(format, a...)}
}

// args are a call's expanded parameters by name.
type args map[string]string

// method is one generic method: its spec and its body. The body checks, and when mode is
// Enforce fixes and checks again; it writes files only through env's guarded helpers.
type method struct {
	Spec
	run func(ctx context.Context, env *Env, a args, mode Mode) outcome
	// classBase, when set, replaces ClassPrefix + "_" + reporting value (report_if_condition).
	classBase func(a args) string
	// raw lists parameters that are not expanded: they name a variable instead of using one.
	raw []string
}

var registry = map[string]*method{}

func register(m *method) {
	if _, dup := registry[m.ID]; dup {
		panic("method registered twice: " + m.ID)
	}
	if m.ClassPrefix == "" {
		m.ClassPrefix = m.ID
	}
	registry[m.ID] = m
}

// Known reports whether bosun implements the method id.
func Known(id string) bool {
	_, ok := registry[id]
	return ok
}

// Methods returns the specs of every implemented method, sorted by id.
func Methods() []Spec {
	out := make([]Spec, 0, len(registry))
	for _, m := range registry {
		s := m.Spec
		s.Params = append([]string(nil), s.Params...)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ErrUnknownMethod is the error of a call to a method bosun does not implement.
var ErrUnknownMethod = errors.New("unknown method")

// Run runs one call: it expands the parameters, applies the timeout, runs the method, turns a
// panic into an error result for this call only, and defines the result conditions in
// env.Conditions.
func Run(ctx context.Context, env *Env, c Call) Result {
	m, ok := registry[c.Method]
	if !ok {
		return Result{Status: status(failed, c.Mode), Message: fmt.Sprintf("%s: %v", c.Method, ErrUnknownMethod)}
	}
	a, reporting, err := m.args(env, c)
	if ok, why := supported(c.Method, env.goos()); !ok {
		return env.finish(m, c, a, reporting, naf("%s", why))
	}
	if err != nil {
		o := failf("%s: %v", c.Method, err)
		return env.finish(m, c, a, reporting, o)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// The body runs on its own goroutine so that a body stuck outside ctx's reach (a hung
	// filesystem) still ends this call at its timeout; such a goroutine is left behind, which
	// the log says.
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				env.logger().Error("method panicked", "method", c.Method, "panic", fmt.Sprint(p),
					"stack", string(debug.Stack()))
				done <- failf("%s panicked: %v", c.Method, p)
			}
		}()
		done <- m.run(ctx, env, a, c.Mode)
	}()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		env.logger().Error("method abandoned at its timeout", "method", c.Method, "timeout", timeout.String())
		o = failf("%s did not finish within %s", c.Method, timeout)
	}
	if o.kind == 0 {
		o = failf("%s returned no result", c.Method)
	}
	return env.finish(m, c, a, reporting, o)
}

func (m *method) args(env *Env, c Call) (args, string, error) {
	a := make(args, len(m.Params))
	for _, p := range c.Params {
		if !m.hasParam(p.Name) {
			return a, c.ReportingValue, fmt.Errorf("no parameter %q (parameters: %s)", p.Name, strings.Join(m.Params, ", "))
		}
		v := p.Value
		if !m.isRaw(p.Name) {
			var err error
			if v, err = env.Expand(v); err != nil {
				return a, c.ReportingValue, fmt.Errorf("parameter %s: %w", p.Name, err)
			}
		}
		a[p.Name] = v
	}
	reporting := c.ReportingValue
	if reporting == "" {
		reporting = a[m.ReportingParam]
	} else if r, err := env.Expand(reporting); err == nil {
		reporting = r
	}
	return a, reporting, nil
}

func (m *method) hasParam(name string) bool {
	for _, p := range m.Params {
		if p == name {
			return true
		}
	}
	return false
}

func (m *method) isRaw(name string) bool {
	for _, p := range m.raw {
		if p == name {
			return true
		}
	}
	return false
}

func status(k kind, mode Mode) Status {
	if mode == Enforce {
		switch k {
		case kept:
			return Success
		case repaired:
			return Repaired
		case notApplicable:
			return NotApplicable
		}
		return Error
	}
	switch k {
	case kept:
		return AuditCompliant
	case drift, repaired: // repaired cannot happen in audit; if it did, say so loudly
		return AuditNonCompliant
	case notApplicable:
		return AuditNA
	}
	return AuditError
}

// Rudder's result condition suffixes (classes_generic_two, _classes_success/_failure/_repaired).
var (
	keptSuffixes     = []string{"kept", "ok", "not_repaired", "reached"}
	repairedSuffixes = []string{"repaired", "ok", "reached", "not_kept"}
	errorSuffixes    = []string{"error", "failed", "not_ok", "not_kept", "not_repaired", "reached"}
)

// ResultConditions returns the conditions Rudder defines for a result of kind k on base, the
// canonified class prefix and reporting value.
func resultConditions(base string, k kind, mode Mode) []string {
	var suffixes []string
	var promise string
	switch status(k, mode) {
	case Success, AuditCompliant:
		suffixes, promise = keptSuffixes, "promise_kept_"
	case Repaired:
		suffixes, promise = repairedSuffixes, "promise_repaired_"
	case NotApplicable, AuditNA:
		return []string{base + "_noop"}
	default:
		suffixes, promise = errorSuffixes, "repair_failed_"
	}
	out := make([]string, 0, len(suffixes)+1)
	for _, s := range suffixes {
		out = append(out, base+"_"+s)
	}
	return append(out, promise+base)
}

func (env *Env) finish(m *method, c Call, a args, reporting string, o outcome) Result {
	base := m.ClassPrefix + "_" + reporting
	if m.classBase != nil {
		base = m.classBase(a)
	}
	res := Result{Status: status(o.kind, c.Mode), Message: o.msg}
	res.Conditions = append(resultConditions(canonify(base), o.kind, c.Mode), o.conds...)
	env.conditions().Define(res.Conditions...)
	return res
}
