package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/bosun-io/bosun/agent"
	"github.com/bosun-io/bosun/cli"
	"github.com/spf13/pflag"
)

var agentInfoCommand = &cli.Command{
	Name:  "agent info",
	Short: "show who this node is, whom it talks to, what it holds and its last run",
	Long: `Prints the node's id and key fingerprint, its policy server and how the root last saw it, the
config id of the policy it holds and its mode (enforce, audit or mixed), whether force-audit
is set, and the last run with its summary. It reads the agent's data directory and contacts
nobody.`,
	Examples: `bosun agent info
bosun agent info --json | jq -r .configId`,
	ExitStatus: `0  printed
1  the agent has not started yet in this data directory, or it is unreadable
2  the command line is wrong`,
	New: func() cli.Options { return &agentInfoOptions{configFile: configFile{role: "agent"}} },
}

type agentInfoOptions struct {
	configFile
	Data string
	JSON bool
}

func (o *agentInfoOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", "/var/lib/bosun/agent", "the agent's data directory")
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *agentInfoOptions) Run(_ context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	in, err := agent.ReadInfo(o.Data)
	if err != nil {
		return err
	}
	if o.JSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			SchemaVersion int `json:"schemaVersion"`
			agent.Info
		}{1, in})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("node id:", in.NodeID)
	row("key fingerprint:", in.Fingerprint)
	row("policy server:", orDash(in.PolicyServer))
	status := orDash(in.NodeStatus)
	if !in.LastContact.IsZero() {
		status += " (last contact " + in.LastContact.Local().Format(time.DateTime) + ")"
	}
	row("node status:", status)
	if in.ConfigID != "" {
		row("config id:", in.ConfigID)
		row("mode:", fmt.Sprintf("%s (%d enforce, %d audit directives), runs every %s", in.Mode, in.EnforceDirectives, in.AuditDirectives, in.RunInterval))
	} else {
		row("config id:", "- ("+in.PolicyError+")")
	}
	force := "no"
	if in.ForceAudit {
		force = "yes: every component runs in audit"
	}
	row("force-audit:", force)
	if lr := in.LastRun; lr != nil {
		rep := "not reported"
		if lr.Reported {
			rep = fmt.Sprintf("reported, %d unsent in the spool", lr.Unsent)
		}
		row("last run:", fmt.Sprintf("%d at %s, %s, %s", lr.RunID, lr.End.Local().Format(time.DateTime), roundDuration(lr.End.Sub(lr.Start)), rep))
		if s := lr.Summary.Enforce; s.Total > 0 {
			row("  enforce:", fmt.Sprintf("%d components, %.1f%% compliant (%s)", s.Total, s.Compliance, countsLine(s)))
		}
		if s := lr.Summary.Audit; s.Total > 0 {
			row("  audit:", fmt.Sprintf("%d components, %.1f%% compliant (%s)", s.Total, s.Compliance, countsLine(s)))
		}
	} else {
		row("last run:", "-")
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
