package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/bosun-io/bosun/agent"
	"github.com/bosun-io/bosun/cli"
	"github.com/spf13/pflag"
)

var agentPolicyCommand = &cli.Command{
	Name:  "agent policy",
	Short: "show the policy this node holds",
	Long: `Prints the applied policy the agent holds, after checking the root's signature on it: its config
id, and each component with its mode (A audit, E enforce), directive, method and value. With
--fetch it first asks the policy server for anything newer.`,
	Examples: `bosun agent policy
bosun agent policy --fetch
bosun agent policy --json | jq '.Components | length'`,
	ExitStatus: `0  a policy is held and verifies
1  no policy yet, or it does not verify (the reason is printed)
2  the command line is wrong`,
	New: func() cli.Options { return &agentPolicyOptions{configFile: configFile{role: "agent"}} },
}

type agentPolicyOptions struct {
	configFile
	Data  string
	Fetch bool
	JSON  bool
}

func (o *agentPolicyOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", "/var/lib/bosun/agent", "the agent's data directory")
	fs.BoolVar(&o.Fetch, "fetch", false, "ask the policy server for a newer policy first")
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *agentPolicyOptions) Run(ctx context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	server, err := agent.EnrolledServer(o.Data)
	if err != nil {
		return err
	}
	a, err := agent.New(agent.Config{DataDir: o.Data, Server: server, SoftwareVersion: version})
	if err != nil {
		return err
	}
	defer a.Close()
	if o.Fetch {
		st, err := a.Status(ctx)
		if err != nil {
			return err
		}
		if _, err := a.FetchPolicy(ctx, st.ConfigID); err != nil {
			return err
		}
	}
	p, err := a.Policy()
	if err != nil {
		return err
	}
	if o.JSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	fmt.Fprint(env.Stdout, agent.DescribePolicy(p))
	return nil
}
