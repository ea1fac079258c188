package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/spf13/pflag"
)

// ErrWaitTimeout means bosun wait gave up: --timeout passed before the condition held. The
// binary exits 5 on it.
var ErrWaitTimeout = errors.New("timed out")

// WaitTimeoutError says what bosun wait waited for and what it saw last.
type WaitTimeoutError struct {
	What    string        // "node 0b5f... accepted"
	Timeout time.Duration // --timeout
	Last    string        // the last observation
}

func (e *WaitTimeoutError) Error() string {
	return fmt.Sprintf("%s after %s waiting for %s; last seen: %s", ErrWaitTimeout, e.Timeout, e.What, e.Last)
}

func (e *WaitTimeoutError) Unwrap() error { return ErrWaitTimeout }

const waitExitStatus = `0  the condition holds
1  the wait failed for another reason than time
2  the command line is wrong
3  no root is configured (a root that does not answer is asked again until --timeout)
4  the token is missing, unknown, or not allowed to do this
5  --timeout passed before the condition held`

func waitCommands() []*Command {
	return []*Command{
		{
			Name: "wait node-accepted", Args: "ID...",
			Short: "wait until nodes are accepted",
			Long: `Waits until every node named is accepted, for scripts that enrol machines and need them
accepted (by an operator, an enrolment token or an acceptance rule) before going on. A node
the root does not know yet is waited for as well: its agent may not have enrolled yet.` + waitLong,
			Examples: `bosun wait node-accepted 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e --timeout 10m
ssh web1 cat /var/lib/bosun/agent/node.id | xargs bosun wait node-accepted`,
			ExitStatus: waitExitStatus,
			New:        func() Options { return &waitOptions{cond: "node-accepted"} },
		},
		{
			Name: "wait config-applied", Args: "NODE [CONFIG-ID]",
			Short: "wait until a node has run a config id, by default the latest generated for it",
			Long: `Waits until the latest run a node reported ran the config id given, or, without one, the
config id the root generated last for that node (looked up again at every poll, so a change
applied meanwhile is waited for too).` + waitLong,
			Examples: `bosun apply -f policy/ && bosun wait config-applied 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e
bosun wait config-applied 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e 6f1c0e2b9a --interval 5s`,
			ExitStatus: waitExitStatus,
			New:        func() Options { return &waitOptions{cond: "config-applied"} },
		},
		{
			Name: "wait rule-compliant", Args: "RULE",
			Short: "wait until a rule's node compliance reaches a percentage",
			Long: `Waits until the share of the nodes a rule applies to that comply with every directive of it
reaches --min percent (default 100).` + waitLong,
			Examples: `bosun wait rule-compliant base --timeout 15m
bosun wait rule-compliant base --min 95 && echo "base is deployed"`,
			ExitStatus: waitExitStatus,
			New:        func() Options { return &waitOptions{cond: "rule-compliant"} },
		},
	}
}

const waitLong = `

The root is asked every --interval until --timeout; a root that does not answer or an object
it does not know yet is asked again, a refused token ends the wait at once. On success the
verb prints what it saw on stdout; on timeout, what it waited for and saw last, and it exits 5.`

type waitOptions struct {
	RootOptions
	cond     string
	Timeout  time.Duration
	Interval time.Duration
	Min      float64
}

func (o *waitOptions) AddFlags(fs *pflag.FlagSet) {
	// The root flags without their --timeout: here --timeout bounds the whole wait.
	rootFlags := pflag.NewFlagSet("root", pflag.ContinueOnError)
	o.RootOptions.AddFlags(rootFlags)
	rootFlags.VisitAll(func(f *pflag.Flag) {
		if f.Name != "timeout" {
			fs.AddFlag(f)
		}
	})
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "give up after this long (exit status 5)")
	fs.DurationVar(&o.Interval, "interval", 2*time.Second, "ask the root this often")
	if o.cond == "rule-compliant" {
		fs.Float64Var(&o.Min, "min", 100, "the node compliance to reach, in percent")
	}
}

// check asks the root once: whether the condition holds, and what it saw.
type check func(ctx context.Context, c *api.Client) (bool, string, error)

func (o *waitOptions) Run(ctx context.Context, env *Env, args []string) error {
	if o.Timeout <= 0 || o.Interval <= 0 {
		return Usagef("--timeout and --interval must be positive")
	}
	var what string
	var ch check
	switch o.cond {
	case "node-accepted":
		if len(args) == 0 {
			return Usagef("want one or more node ids")
		}
		what, ch = "nodes "+strings.Join(args, ", ")+" accepted", nodesAccepted(args)
		if len(args) == 1 {
			what = "node " + args[0] + " accepted"
		}
	case "config-applied":
		if len(args) < 1 || len(args) > 2 {
			return Usagef("want a node id and optionally a config id")
		}
		want := ""
		if len(args) == 2 {
			want = args[1]
		}
		what, ch = fmt.Sprintf("node %s to run config %s", args[0], orLatest(want)), configApplied(args[0], want)
	case "rule-compliant":
		if len(args) != 1 {
			return Usagef("want one rule id")
		}
		if o.Min <= 0 || o.Min > 100 {
			return Usagef("--min %s: want a percentage above 0 and at most 100", strconv.FormatFloat(o.Min, 'f', -1, 64))
		}
		what, ch = fmt.Sprintf("rule %s at %s %% node compliance", args[0], strconv.FormatFloat(o.Min, 'f', -1, 64)), ruleCompliant(args[0], o.Min)
	}
	// Each request gets the time left, and at most the usual 30 s.
	o.RootOptions.Timeout = min(30*time.Second, o.Timeout)
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	last := "no answer from the root yet"
	for {
		ok, seen, err := ch(ctx, c)
		switch {
		case err == nil:
			last = seen
			if ok {
				fmt.Fprintln(env.Stdout, seen)
				return nil
			}
		case fatalWaitError(err):
			return err
		case ctx.Err() == nil:
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &WaitTimeoutError{What: what, Timeout: o.Timeout, Last: last}
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// fatalWaitError says whether asking again cannot help: the token is refused or the
// request is wrong. Anything else (the root down, an object not there yet) may pass.
func fatalWaitError(err error) bool {
	var he *api.HTTPError
	if errors.As(err, &he) {
		return he.Code == api.CodeUnauthorized || he.Code == api.CodeForbidden || he.StatusCode == 400
	}
	var ue *UsageError
	return errors.As(err, &ue)
}

func orLatest(configID string) string {
	if configID == "" {
		return "(the latest generated)"
	}
	return configID
}

// notYet turns "not found" into an observation: the thing may appear while we wait.
func notYet(err error, what string) (bool, string, error) {
	var he *api.HTTPError
	if errors.As(err, &he) && he.Code == api.CodeNotFound {
		return false, what + " not known to the root yet", nil
	}
	return false, "", err
}

func nodesAccepted(ids []string) check {
	return func(ctx context.Context, c *api.Client) (bool, string, error) {
		var waiting []string
		for _, id := range ids {
			n, err := c.Node(ctx, id)
			if err != nil {
				var he *api.HTTPError
				if errors.As(err, &he) && he.Code == api.CodeNotFound {
					waiting = append(waiting, id+" unknown")
					continue
				}
				return false, "", err
			}
			if n.Status != api.StatusAccepted {
				waiting = append(waiting, id+" "+n.Status)
			}
		}
		if len(waiting) > 0 {
			return false, strings.Join(waiting, ", "), nil
		}
		if len(ids) == 1 {
			return true, "node " + ids[0] + " accepted", nil
		}
		return true, fmt.Sprintf("%d nodes accepted", len(ids)), nil
	}
}

func configApplied(node, want string) check {
	return func(ctx context.Context, c *api.Client) (bool, string, error) {
		d, err := c.ComplianceNode(ctx, node, api.ComplianceQuery{})
		if err != nil {
			return notYet(err, "node "+node)
		}
		n := d.Node
		target := want
		if target == "" {
			target = n.ConfigID
		}
		if target == "" {
			return false, "no config generated for node " + node + " yet", nil
		}
		if n.RunID == 0 {
			return false, fmt.Sprintf("node %s has config %s and reported no run yet", node, target), nil
		}
		if n.RunConfigID != target {
			return false, fmt.Sprintf("node %s last ran config %s (run %d), not %s", node, n.RunConfigID, n.RunID, target), nil
		}
		return true, fmt.Sprintf("node %s ran config %s (run %d)", node, target, n.RunID), nil
	}
}

func ruleCompliant(rule string, minPct float64) check {
	return func(ctx context.Context, c *api.Client) (bool, string, error) {
		// The rules' summaries, which the root keeps up to date, not the rule's drill-down: that
		// walks every node under the compliance engine's lock, which a poll every --interval
		// would do all the wait long.
		l, err := c.ComplianceRules(ctx)
		if err != nil {
			return false, "", err
		}
		i := slices.IndexFunc(l.Items, func(s api.ComplianceSummary) bool { return s.ID == rule })
		if i < 0 {
			return false, "rule " + rule + " not known to the root yet", nil
		}
		r := l.Items[i]
		if r.NodeCompliance == nil {
			return false, fmt.Sprintf("rule %s applies to no node with reports yet", rule), nil
		}
		seen := fmt.Sprintf("rule %s: %d of %d nodes compliant (%s)", rule, r.NodesCompliant, r.Nodes, pct(r.NodeCompliance))
		return *r.NodeCompliance >= minPct, seen, nil
	}
}
