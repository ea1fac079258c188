package compliance

import (
	"fmt"

	"github.com/bosun-io/bosun/wire"
)

// State is the compliance state of one component on one node. The values follow Rudder's
// order from best to worst, so the worse of two states is the greater.
type State uint8

const (
	StateNone            State = iota // no state (not counted)
	StateNotApplicable                // enforce: does not apply here
	StateAuditNA                      // audit: does not apply here
	StateCompliant                    // audit: as it should be
	StateSuccess                      // enforce: as it should be, or fixed before this run
	StateApplying                     // new config id, within the grace period
	StateReportsDisabled              // the node sends no reports
	StateNoAnswer                     // no run within run interval + grace
	StateMissing                      // expected, not received in a run that should have it
	StateRepaired                     // enforce: fixed by this run
	StateNonCompliant                 // audit: not as it should be
	StateAuditError                   // audit: could not be checked
	StateError                        // enforce: could not be checked or fixed
	StateUnexpected                   // received and not expected, or received twice
	StateBadPolicyMode                // reported in another mode than the expected one
	numStates
)

var stateNames = [numStates]string{"", "not-applicable", "audit-not-applicable", "compliant", "success",
	"applying", "reports-disabled", "no-answer", "missing", "repaired", "non-compliant", "audit-error",
	"error", "unexpected", "bad-policy-mode"}

// States lists every state from best to worst.
func States() []State {
	out := make([]State, 0, numStates-1)
	for s := StateNotApplicable; s < numStates; s++ {
		out = append(out, s)
	}
	return out
}

func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState is the inverse of String.
func ParseState(name string) (State, error) {
	for s := StateNotApplicable; s < numStates; s++ {
		if stateNames[s] == name {
			return s, nil
		}
	}
	return StateNone, fmt.Errorf("unknown compliance state %q (want one of %v)", name, States())
}

// OK reports whether s counts as compliant: the numerator of the compliance percentage
// (success, repaired, not applicable, compliant, audit not applicable).
func (s State) OK() bool {
	switch s {
	case StateSuccess, StateRepaired, StateNotApplicable, StateCompliant, StateAuditNA:
		return true
	}
	return false
}

// Counted reports whether s is part of the denominator of the compliance percentage. A
// node whose reports are disabled has no compliance, not a bad one.
func (s State) Counted() bool { return s != StateNone && s != StateReportsDisabled }

// Worst returns the worse of two states.
func Worst(a, b State) State { return max(a, b) }

// classify maps a reported status to a state, given the mode the component was expected to
// run in. A status of the other mode's family is a bad policy mode; not-applicable belongs to
// both families.
func classify(st wire.ReportStatus, mode wire.PolicyMode) State {
	audit := mode == wire.ModeAudit
	switch st {
	case wire.StatusNotApplicable:
		if audit {
			return StateAuditNA
		}
		return StateNotApplicable
	case wire.StatusSuccess, wire.StatusRepaired, wire.StatusError:
		if audit {
			return StateBadPolicyMode
		}
		return [...]State{wire.StatusSuccess: StateSuccess, wire.StatusRepaired: StateRepaired, wire.StatusError: StateError}[st]
	case wire.StatusAuditCompliant, wire.StatusAuditNonCompliant, wire.StatusAuditError, wire.StatusAuditNA:
		if !audit {
			return StateBadPolicyMode
		}
		switch st {
		case wire.StatusAuditCompliant:
			return StateCompliant
		case wire.StatusAuditNonCompliant:
			return StateNonCompliant
		case wire.StatusAuditError:
			return StateAuditError
		}
		return StateAuditNA
	}
	return StateUnexpected
}

// successOf is the state a changes-only run leaves implicit for a component of this mode.
func successOf(mode wire.PolicyMode) State {
	if mode == wire.ModeAudit {
		return StateCompliant
	}
	return StateSuccess
}

// DriftKind names the drift event a state fires, "" for none: each repaired, non-compliant
// or error result (audit errors included) is one.
func DriftKind(s State) string {
	switch s {
	case StateRepaired:
		return "repaired"
	case StateNonCompliant:
		return "non-compliant"
	case StateError, StateAuditError:
		return "error"
	}
	return ""
}

// Counts holds a number per state, indexed by State.
type Counts [numStates]int64

// Total is the sum of every state's count.
func (c *Counts) Total() int64 {
	var t int64
	for _, n := range c {
		t += n
	}
	return t
}

// Compliance returns the compliance percentage (OK states over counted states, rounded
// like [Percentages] would round the OK share) and false when nothing is counted.
func (c *Counts) Compliance() (float64, bool) {
	ok, counted := c.okCounted()
	if counted == 0 {
		return 0, false
	}
	p := Percentages([]int64{ok, counted - ok})
	return p[0], true
}

// Ratio is the share of compliant components, unrounded and without Compliance's
// allocation (for sorting many nodes), and false when nothing is counted.
func (c *Counts) Ratio() (float64, bool) {
	ok, counted := c.okCounted()
	if counted == 0 {
		return 0, false
	}
	return float64(ok) / float64(counted), true
}

func (c *Counts) okCounted() (ok, counted int64) {
	for s := StateNotApplicable; s < numStates; s++ {
		if s.Counted() {
			counted += c[s]
			if s.OK() {
				ok += c[s]
			}
		}
	}
	return ok, counted
}

// Worst returns the worst state with a non-zero count, StateNone for none.
func (c *Counts) Worst() State {
	for s := numStates - 1; s > StateNone; s-- {
		if c[s] != 0 {
			return s
		}
	}
	return StateNone
}

// Percent returns the share of each state in the total, rounded by [Percentages].
func (c *Counts) Percent() [numStates]float64 {
	var out [numStates]float64
	p := Percentages(c[:])
	copy(out[:], p)
	return out
}

// Add adds o to c.
func (c *Counts) Add(o *Counts) {
	for i := range c {
		c[i] += o[i]
	}
}
