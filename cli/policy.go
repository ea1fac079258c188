package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
)

var eventsCommand = &Command{
	Name:  "events",
	Short: "list the event log: who changed what, when",
	Long: `Lists every change to the policy model, newest first, with who made it and the objects it
changed. bosun events revert ID restores the objects as they were before an event.`,
	Examples: `bosun events
bosun events --json | jq '.events[0].changes'`,
	New: func() Options { return &eventsOptions{} },
}

type eventsOptions struct {
	RootOptions
	JSON  bool
	Limit int
}

func (o *eventsOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
	fs.IntVar(&o.Limit, "limit", 50, "show at most this many events (0: all)")
}

func (o *eventsOptions) Run(ctx context.Context, env *Env, args []string) error {
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	evs, err := c.Events(ctx)
	if err != nil {
		return err
	}
	if o.Limit > 0 && len(evs) > o.Limit {
		evs = evs[:o.Limit]
	}
	if o.JSON {
		return printJSON(env.Stdout, map[string]any{"schemaVersion": 1, "events": evs})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tBY\tWHAT\tCHANGES")
	for _, ev := range evs {
		var ch []string
		for _, c := range ev.Changes {
			ch = append(ch, c.Op+" "+c.Kind+" "+c.ID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", ev.ID, ev.Time.Local().Format(time.DateTime), ev.By, oneLine(ev.What, 40), oneLine(strings.Join(ch, ", "), 80))
	}
	return tw.Flush()
}

var eventsRevertCommand = &Command{
	Name: "events revert", Args: "ID",
	Short: "restore the objects an event changed as they were before it",
	Long: `Reverts one event: objects it created are deleted, objects it changed or deleted come back as
they were before it. The revert is itself a new event, so it can be reverted too.`,
	Examples: `bosun events revert 42`,
	New:      func() Options { return &eventsRevertOptions{} },
}

type eventsRevertOptions struct{ RootOptions }

func (o *eventsRevertOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want one event id")
	}
	id, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil {
		return Usagef("event id %q is not a number", args[0])
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	r, err := c.Revert(ctx, id)
	if err != nil {
		return err
	}
	printChanges(env, r)
	return nil
}

var policyShowCommand = &Command{
	Name: "policy show", Args: "NODE",
	Short: "show a node's applied policy",
	Long: `Prints what a node must do: its config id, its directives with their rule and resolved mode,
and each component (A audit, E enforce) with its method and value.`,
	Examples: `bosun policy show 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e
bosun policy show --json 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e`,
	New: func() Options { return &policyShowOptions{} },
}

type policyShowOptions struct {
	RootOptions
	JSON bool
}

func (o *policyShowOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

// appliedPolicy is the part of an applied policy the CLI prints.
type appliedPolicy struct {
	NodeID, ConfigID string
	Generated        time.Time
	Directives       []struct {
		RuleID, RuleName, DirectiveID, DirectiveName, TechniqueID, TechniqueVersion string
		Mode                                                                        int
	}
	Components []struct {
		Directive                 int
		Name, Method              string
		ReportingValue, Condition string
		Mode                      int
	}
}

func (o *policyShowOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want one node id")
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	p, err := c.NodePolicy(ctx, args[0])
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, p)
	}
	var ap appliedPolicy
	if err := json.Unmarshal(p.Policy, &ap); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "node %s, config id %s, generated %s\n\n", ap.NodeID, ap.ConfigID, ap.Generated.Local().Format(time.DateTime))
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "M\tDIRECTIVE\tRULE\tMETHOD\tVALUE")
	for _, comp := range ap.Components {
		d := ap.Directives[comp.Directive]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", modeLetter(comp.Mode), oneLine(d.DirectiveName, 30), oneLine(d.RuleName, 24), comp.Method, oneLine(comp.ReportingValue, 50))
	}
	return tw.Flush()
}

// modeLetter follows wire.PolicyMode: 1 audit, 2 enforce.
func modeLetter(m int) string {
	if m == 1 {
		return "A"
	}
	return "E"
}

var policyWhyCommand = &Command{
	Name: "policy why", Args: "NODE [DIRECTIVE]",
	Short: "say which rules and groups put each directive on a node, and how its mode was decided",
	Examples: `bosun policy why 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e
bosun policy why 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e motd`,
	New: func() Options { return &policyWhyOptions{} },
}

type policyWhyOptions struct {
	RootOptions
	JSON bool
}

func (o *policyWhyOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *policyWhyOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return Usagef("want a node id and optionally a directive")
	}
	directive := ""
	if len(args) == 2 {
		directive = args[1]
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	w, err := c.Why(ctx, args[0], directive)
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, w)
	}
	var ex []struct {
		DirectiveID string   `json:"directive_id"`
		Directive   string   `json:"directive"`
		RuleID      string   `json:"rule_id"`
		OtherRules  []string `json:"other_rules"`
		Groups      []string `json:"groups"`
		Mode        string   `json:"mode"`
		ModeReason  string   `json:"mode_reason"`
		Skipped     string   `json:"skipped"`
	}
	if err := json.Unmarshal(w.Directives, &ex); err != nil {
		return err
	}
	if len(ex) == 0 {
		fmt.Fprintln(env.Stdout, "no directive applies to this node")
	}
	for _, e := range ex {
		fmt.Fprintf(env.Stdout, "%s (%s)\n  rule:   %s", e.Directive, e.DirectiveID, e.RuleID)
		if len(e.OtherRules) > 0 {
			fmt.Fprintf(env.Stdout, " (also brought by %s, shown there as overridden)", strings.Join(e.OtherRules, ", "))
		}
		fmt.Fprintf(env.Stdout, "\n  groups: %s\n  mode:   %s: %s\n", strings.Join(e.Groups, ", "), e.Mode, e.ModeReason)
		if e.Skipped != "" {
			fmt.Fprintf(env.Stdout, "  skipped: %s\n", e.Skipped)
		}
	}
	return nil
}

var policyStatusCommand = &Command{
	Name:     "policy status",
	Short:    "say whether a policy generation runs, when the last one ended and how long it took",
	Examples: `bosun policy status`,
	New:      func() Options { return &policyStatusOptions{} },
}

type policyStatusOptions struct {
	RootOptions
	JSON bool
}

func (o *policyStatusOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *policyStatusOptions) Run(ctx context.Context, env *Env, args []string) error {
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	s, err := c.PolicyStatus(ctx)
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, s)
	}
	state := "idle"
	if s.Running {
		state = "running"
	}
	fmt.Fprintf(env.Stdout, "generation: %s\nlast ended: %s (took %s)\nnodes compiled: %d, changed: %d\n",
		state, s.LastEnd.Local().Format(time.DateTime), s.Duration, s.Compiled, s.Changed)
	for _, p := range s.Problems {
		fmt.Fprintf(env.Stdout, "problem: %s\n", p)
	}
	if s.Error != "" {
		fmt.Fprintf(env.Stdout, "error: %s\n", s.Error)
	}
	return nil
}

var policyRegenerateCommand = &Command{
	Name:     "policy regenerate",
	Short:    "recompile every node's applied policy now",
	Examples: `bosun policy regenerate`,
	New:      func() Options { return &policyRegenerateOptions{} },
}

type policyRegenerateOptions struct{ RootOptions }

func (o *policyRegenerateOptions) Run(ctx context.Context, env *Env, args []string) error {
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	s, err := c.Regenerate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "regenerated in %s: %d nodes compiled, %d changed\n", s.Duration, s.Compiled, s.Changed)
	return nil
}
