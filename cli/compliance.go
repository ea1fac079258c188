package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/spf13/pflag"
)

// complianceStates are the states from best to worst, as --state takes them.
var complianceStates = []string{"not-applicable", "audit-not-applicable", "compliant", "success", "applying",
	"reports-disabled", "no-answer", "missing", "repaired", "non-compliant", "audit-error", "error", "unexpected",
	"bad-policy-mode"}

const complianceStatesHelp = `States, from best to worst: not-applicable, audit-not-applicable, compliant, success,
applying (a new policy, within its grace period), reports-disabled, no-answer (no run within
run interval + grace), missing (expected, not in the run), repaired, non-compliant (audit),
audit-error, error, unexpected (not expected, received twice, or a run on an unknown
policy), bad-policy-mode. The compliance percentage is success + repaired + compliant + not
applicable over everything counted but reports-disabled; rule compliance is the share of
the nodes a rule applies to that comply with every directive of it.`

func complianceCommands() []*Command {
	return []*Command{
		{
			Name: "compliance", Short: "show the fleet's compliance: states, nodes and rules",
			Long: "Shows the compliance of the whole fleet: the count and share of every state over every\ncomponent, how many nodes comply fully, and each rule's compliance.\n\n" + complianceStatesHelp,
			Examples: `bosun compliance
bosun compliance --json | jq '.compliance'`,
			New: func() Options { return &complianceOptions{verb: "fleet"} },
		},
		{
			Name: "compliance rules", Short: "list rules with their node and component compliance",
			Examples: `bosun compliance rules
# the worst rules first
bosun compliance rules --json | jq -r '.items | sort_by(.nodeCompliance) | .[] | "\(.nodeCompliance) \(.id)"'`,
			New: func() Options { return &complianceOptions{verb: "rules"} },
		},
		{
			Name: "compliance directives", Short: "list directives with their node and component compliance",
			Examples: `bosun compliance directives`,
			New:      func() Options { return &complianceOptions{verb: "directives"} },
		},
		{
			Name: "compliance rule", Args: "ID", Short: "show a rule's compliance per directive and node, down to components and messages",
			Long: "Shows a rule's compliance per directive, then per node with the components that are not\ncompliant and their messages (--all: every component; --state: only nodes and components in\nthose states).\n\n" + complianceStatesHelp,
			Examples: `bosun compliance rule base
# only what failed
bosun compliance rule base --state error,non-compliant`,
			New: func() Options { return &complianceOptions{verb: "rule"} },
		},
		{
			Name: "compliance directive", Args: "ID", Short: "show a directive's compliance per component and node",
			Examples: `bosun compliance directive motd
bosun compliance directive motd --state repaired`,
			New: func() Options { return &complianceOptions{verb: "directive"} },
		},
		{
			Name: "compliance node", Args: "ID", Short: "show a node's compliance, score, directives and components",
			Examples: `bosun compliance node 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e
bosun compliance node 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e --state non-compliant --json`,
			New: func() Options { return &complianceOptions{verb: "node"} },
		},
		{
			Name: "compliance group", Args: "GROUP", Short: "show the compliance of the nodes of a group",
			Examples: `bosun compliance group all-linux
bosun compliance group webservers --json`,
			New: func() Options { return &complianceOptions{verb: "group"} },
		},
		{
			Name: "compliance history", Args: "RULE|NODE", Short: "show the compliance of a rule or a node over time, and a node's changes of state",
			Long: `Shows the points of compliance history of a rule or a node: one every 5 minutes at most,
written when the counts change, kept at full resolution for 30 days, then one per hour up to
90 days and one per day up to 400 days. For a node, every change of a component's state
follows.`,
			Examples: `bosun compliance history base
bosun compliance history 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e --since 24h`,
			New: func() Options { return &complianceOptions{verb: "history"} },
		},
	}
}

type complianceOptions struct {
	RootOptions
	verb   string
	States []string
	All    bool
	Since  time.Duration
	JSON   bool
}

func (o *complianceOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	switch o.verb {
	case "rule", "directive", "node":
		fs.StringSliceVar(&o.States, "state", nil, "only nodes and components in these states, comma-separated")
		if o.verb != "node" {
			fs.BoolVar(&o.All, "all", false, "list every component, compliant ones too")
		}
	case "history":
		fs.DurationVar(&o.Since, "since", 0, "only the history of this last while (24h, 168h); default all")
	}
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *complianceOptions) Run(ctx context.Context, env *Env, args []string) error {
	want := 0
	if o.verb == "rule" || o.verb == "directive" || o.verb == "node" || o.verb == "history" || o.verb == "group" {
		want = 1
	}
	if len(args) != want {
		if want == 0 {
			return Usagef("unexpected argument %q", args[0])
		}
		return Usagef("want one ID")
	}
	for _, s := range o.States {
		if !contains(complianceStates, s) {
			return Usagef("--state %q: want one of %s", s, strings.Join(complianceStates, ", "))
		}
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	q := api.ComplianceQuery{States: o.States, All: o.All}
	var v any
	var print func(w io.Writer)
	switch o.verb {
	case "group":
		g, err := c.ComplianceGroup(ctx, args[0])
		if err != nil {
			return err
		}
		v = g
		print = func(w io.Writer) {
			fmt.Fprintf(w, "Group %s: compliance %s, %d components on %d nodes\n%s\n", g.GroupID, pct(g.Compliance), g.Total, g.Nodes, paintedStateList(paletteFor(w), g.ComplianceCounts))
		}
	case "fleet":
		f, err := c.Compliance(ctx)
		if err != nil {
			return err
		}
		v, print = f, func(w io.Writer) { printFleet(w, f) }
	case "rules", "directives":
		get := c.ComplianceRules
		if o.verb == "directives" {
			get = c.ComplianceDirectives
		}
		l, err := get(ctx)
		if err != nil {
			return err
		}
		v, print = l, func(w io.Writer) { printSummaries(w, strings.ToUpper(l.Kind), l.Items) }
	case "rule":
		d, err := c.ComplianceRule(ctx, args[0], q)
		if err != nil {
			return err
		}
		v, print = d, func(w io.Writer) {
			printHeadline(w, "Rule", d.Rule)
			fmt.Fprintln(w)
			printSummaries(w, "DIRECTIVE", d.Directives)
			fmt.Fprintln(w)
			printRows(w, d.Nodes)
		}
	case "directive":
		d, err := c.ComplianceDirective(ctx, args[0], q)
		if err != nil {
			return err
		}
		v, print = d, func(w io.Writer) {
			printHeadline(w, "Directive", d.Directive)
			fmt.Fprintln(w)
			tw := newTable(w)
			fmt.Fprintln(tw, "COMPONENT\tCOMPLIANCE\tSTATES")
			for _, cs := range d.Components {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", cs.Name, pct(cs.Compliance), paintedStateList(paletteFor(w), cs.ComplianceCounts))
			}
			tw.Flush()
			fmt.Fprintln(w)
			printRows(w, d.Nodes)
		}
	case "node":
		d, err := c.ComplianceNode(ctx, args[0], q)
		if err != nil {
			return err
		}
		v, print = d, func(w io.Writer) { printComplianceNode(w, d) }
	case "history":
		var since time.Time
		if o.Since > 0 {
			since = time.Now().Add(-o.Since)
		}
		h, err := c.ComplianceHistory(ctx, "rules", args[0], since)
		if err != nil {
			return err
		}
		if len(h.Points) == 0 {
			hn, err := c.ComplianceHistory(ctx, "nodes", args[0], since)
			if err != nil {
				return err
			}
			if len(hn.Points) > 0 || len(hn.Changes) > 0 {
				h = hn
			}
		}
		v, print = h, func(w io.Writer) { printHistory(w, h) }
	}
	if o.JSON {
		return printJSON(env.Stdout, v)
	}
	print(env.Stdout)
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func pct(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f %%", *p)
}

// stateList prints the counts of a set of states, worst first: "error 2, success 48".
func stateList(c api.ComplianceCounts) string { return paintedStateList(palette{}, c) }

// paintedStateList is stateList with each state in its colour.
func paintedStateList(pal palette, c api.ComplianceCounts) string {
	var parts []string
	for i := len(complianceStates) - 1; i >= 0; i-- {
		s := complianceStates[i]
		if n := c.Counts[s]; n != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", pal.state(s), n))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func printFleet(w io.Writer, f api.ComplianceFleet) {
	fmt.Fprintf(w, "Compliance %s: %d components on %d nodes, %d nodes fully compliant\n\n", pct(f.Compliance), f.Total, f.Nodes, f.NodesCompliant)
	tw := newTable(w)
	fmt.Fprintln(tw, "STATE\tCOMPONENTS\tSHARE\tNODES (BY WORST STATE)")
	for _, s := range complianceStates {
		if f.Counts[s] == 0 && f.NodesByWorst[s] == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f %%\t%d\n", paletteFor(w).state(s), f.Counts[s], f.Percent[s], f.NodesByWorst[s])
	}
	tw.Flush()
	fmt.Fprintln(w)
	printSummaries(w, "RULE", f.Rules)
}

func printSummaries(w io.Writer, kind string, items []api.ComplianceSummary) {
	pal := paletteFor(w)
	tw := newTable(w)
	fmt.Fprintf(tw, "%s\tNAME\tNODES\tCOMPLIANT NODES\tNODE COMPLIANCE\tCOMPONENTS\tSTATES\n", kind)
	for _, s := range items {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", s.ID, s.Name, s.Nodes, s.NodesCompliant, pct(s.NodeCompliance), pct(s.Compliance), paintedStateList(pal, s.ComplianceCounts))
	}
	tw.Flush()
}

func printHeadline(w io.Writer, kind string, s api.ComplianceSummary) {
	fmt.Fprintf(w, "%s %s (%s): %d of %d nodes compliant (%s); components %s compliant\n", kind, s.Name, s.ID, s.NodesCompliant, s.Nodes, pct(s.NodeCompliance), pct(s.Compliance))
}

func printRows(w io.Writer, rows []api.ComplianceNodeRow) {
	pal := paletteFor(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "NODE\tHOSTNAME\tWORST\tCOMPLIANCE\tSTATES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.NodeID, r.Hostname, pal.state(r.Worst), pct(r.Compliance), paintedStateList(pal, r.ComplianceCounts))
		for _, c := range r.Components {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", pal.state(c.State), c.DirectiveID, componentLabel(c), c.Mode, oneLine(c.Message, 100))
		}
	}
	tw.Flush()
}

func componentLabel(c api.ComplianceComponent) string {
	if c.Value != "" {
		return fmt.Sprintf("%s (%s)", c.Name, c.Value)
	}
	return c.Name
}

func printComplianceNode(w io.Writer, d api.ComplianceNodeDetail) {
	n := d.Node
	pal := paletteFor(w)
	fmt.Fprintf(w, "Node %s (%s): %s compliant, worst %s, score %s\n", n.NodeID, n.Hostname, pct(n.Compliance), pal.state(n.Worst), paintedScore(pal, n.Score))
	run := "no run received"
	if n.RunID != 0 {
		run = fmt.Sprintf("latest run %d on config %s, ended %s", n.RunID, n.RunConfigID, ago(time.Now(), n.RunEnd))
		if n.ForceAudit {
			run += ", forced to audit"
		}
	}
	fmt.Fprintf(w, "Config %s generated %s, reporting %s; %s\n\n", n.ConfigID, ago(time.Now(), n.Generated), n.ReportingMode, run)
	tw := newTable(w)
	fmt.Fprintln(tw, "RULE\tDIRECTIVE\tWORST\tCOMPLIANCE\tSTATES")
	for _, x := range d.Directives {
		rule := x.RuleID
		if len(x.OverriddenRules) > 0 {
			rule += " (overrides " + strings.Join(x.OverriddenRules, ", ") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", rule, x.ID, pal.state(x.Worst), pct(x.Compliance), paintedStateList(pal, x.ComplianceCounts))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "#\tSTATE\tDIRECTIVE\tCOMPONENT\tMODE\tMESSAGE")
	for _, c := range d.Components {
		state := pal.state(c.State)
		if !c.Reported {
			state += " (not reported)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", c.Index, state, c.DirectiveID, componentLabel(c), c.Mode, oneLine(c.Message, 100))
	}
	tw.Flush()
}

func scoreText(s api.ComplianceScore) string { return paintedScore(palette{}, s) }

// paintedScore is scoreText with the letters in their colours.
func paintedScore(pal palette, s api.ComplianceScore) string {
	if s.Score == "" || s.Score == "-" {
		return "-"
	}
	var parts []string
	for _, p := range [][2]string{{"compliance", s.Compliance}, {"updates", s.Updates}, {"vulnerabilities", s.Vulnerabilities}} {
		if p[1] != "" {
			parts = append(parts, p[0]+" "+pal.score(p[1]))
		}
	}
	return fmt.Sprintf("%s (%s)", pal.score(s.Score), strings.Join(parts, ", "))
}

func printHistory(w io.Writer, h api.ComplianceHistory) {
	pal := paletteFor(w)
	if len(h.Points) == 0 && len(h.Changes) == 0 {
		fmt.Fprintf(w, "No compliance history for %s.\n", h.ID)
		return
	}
	fmt.Fprintf(w, "Compliance history of %s %s\n\n", h.Kind, h.ID)
	tw := newTable(w)
	fmt.Fprintln(tw, "TIME\tCOMPLIANCE\tSTATES")
	for _, p := range h.Points {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Time.Local().Format(time.DateTime), pct(p.Compliance), paintedStateList(pal, p.ComplianceCounts))
	}
	tw.Flush()
	if len(h.Changes) == 0 {
		return
	}
	changes := append([]api.ComplianceChange(nil), h.Changes...)
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Time.Before(changes[j].Time) })
	fmt.Fprintln(w)
	tw = newTable(w)
	fmt.Fprintln(tw, "TIME\tRUN\tCOMPONENT\tDIRECTIVE\tFROM\tTO\tMESSAGE")
	for _, c := range changes {
		comp, run := c.ComponentName, fmt.Sprint(c.RunID)
		if c.ComponentIndex < 0 {
			comp, run = "(whole node)", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Time.Local().Format(time.DateTime), run, comp, c.DirectiveID, pal.state(c.From), pal.state(c.To), oneLine(c.Message, 80))
	}
	tw.Flush()
}
