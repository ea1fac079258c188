// Package compliance turns what nodes must do (their applied policies) and what they said
// they did (their run reports) into compliance: a state per node and component, counts and
// percentages per component, directive, rule, node, group and fleet, rule compliance, drift
// events, node scores and the points of compliance history.
//
// # Basics
//
// An [Engine] holds every node's expected components and the states of its latest run. The
// root hands it policies ([Engine.SetPolicy]) and reports ([Engine.Ingest]); it answers
// queries ([Engine.Fleet], [Engine.Rules], [Engine.Rule], [Engine.Node], [Engine.Directive],
// [Engine.Nodes]) from running aggregates, so the fleet's summary costs the same for ten
// nodes as for a hundred thousand. Time is always a parameter: states that change with time
// alone (applying → no answer, a node that stopped reporting) change when a call passes a
// later time, through [Engine.Advance].
//
// The states, their order from best to worst and the formulas are those of DESIGN.md §1:
// see [State]. Percentages are rounded by [Percentages]: no non-zero count shows as 0 %, and
// the shares of one total sum to exactly 100 %.
//
// Policies with the same shape (the same directives, rules, blocks and components, which is
// the case of every node of a group) share one layout, and a node's own state is a byte per
// component plus the messages of the results that carry one.
//
// # Caveats
//
// compliance does no I/O: no store, no network, no clock, no files. It imports wire (the
// report and applied policy types) and the standard library only; the root persists what
// the engine needs to be rebuilt ([Engine.Restore]) and runs the hooks of drift events.
// Used by package root.
package compliance
