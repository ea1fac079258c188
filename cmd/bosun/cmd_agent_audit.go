package main

import (
	"context"
	"fmt"

	"github.com/bosun-io/bosun/agent"
	"github.com/bosun-io/bosun/cli"
	"github.com/spf13/pflag"
)

var agentSetForceAuditCommand = &cli.Command{
	Name:  "agent set-force-audit",
	Short: "run everything in audit on this node, whatever the root says",
	Long: `Forces this node to audit: from the next run on, every component runs in audit (check only,
change nothing), whatever the policy modes the root resolved. Every run's output and every
report says so, so that the root shows it. The flag is a file in the agent's data directory
and stays until bosun agent unset-force-audit.`,
	Examples: `bosun agent set-force-audit
bosun agent run            # every line starts with A`,
	ExitStatus: `0  force-audit is set
1  the data directory cannot be written
2  the command line is wrong`,
	New: func() cli.Options { return &forceAuditOptions{configFile: configFile{role: "agent"}, on: true} },
}

var agentUnsetForceAuditCommand = &cli.Command{
	Name:     "agent unset-force-audit",
	Short:    "let this node run the policy modes the root resolved",
	Long:     `Clears what bosun agent set-force-audit set: runs use the policy's modes again.`,
	Examples: `bosun agent unset-force-audit`,
	ExitStatus: `0  force-audit is not set
1  the data directory cannot be written
2  the command line is wrong`,
	New: func() cli.Options { return &forceAuditOptions{configFile: configFile{role: "agent"}, on: false} },
}

type forceAuditOptions struct {
	configFile
	on   bool
	Data string
}

func (o *forceAuditOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", "/var/lib/bosun/agent", "the agent's data directory")
}

func (o *forceAuditOptions) Run(_ context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	if err := agent.SetForceAudit(o.Data, o.on); err != nil {
		return err
	}
	if o.on {
		fmt.Fprintln(env.Stdout, "force-audit set: every run of this node is in audit")
	} else {
		fmt.Fprintln(env.Stdout, "force-audit unset: runs use the policy's modes")
	}
	return nil
}
