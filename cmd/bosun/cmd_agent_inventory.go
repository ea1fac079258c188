package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/bosun-io/bosun/agent"
	"github.com/bosun-io/bosun/cli"
	"github.com/spf13/pflag"
)

var agentInventoryCommand = &cli.Command{
	Name:  "agent inventory",
	Short: "collect this node's inventory and send it now, or write it to a file",
	Long: `Collects the node's inventory (OS, hardware, network, software, updates, users, custom
properties from the data directory's properties.d/*.json) and sends it to the policy server:
as a small delta when the root holds the last inventory sent, whole otherwise. The daemon does
the same once a day at a time drawn from the node's id inside 00:00-06:00, and after enrolling.
With --local the inventory is written as JSON and nothing is sent.`,
	Examples: `bosun agent inventory
bosun agent inventory -i                     # print each collection step with its duration
bosun agent inventory --local /tmp/inv.json  # collect only
bosun agent inventory --local -              # to stdout`,
	ExitStatus: `0  collected (and sent, without --local)
1  the collection or the upload failed; the reason is printed
2  the command line is wrong`,
	New: func() cli.Options { return &agentInventoryOptions{configFile: configFile{role: "agent"}} },
}

type agentInventoryOptions struct {
	configFile
	Data        string
	Server      string
	Local       string
	Interactive bool
	Hostname    string
}

func (o *agentInventoryOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", "/var/lib/bosun/agent", "the agent's data directory")
	fs.StringVar(&o.Server, "server", "", "policy server host:port (default: the one the agent enrolled with)")
	fs.StringVar(&o.Local, "local", "", "write the inventory to this file (- for stdout) instead of sending it")
	fs.BoolVarP(&o.Interactive, "info", "i", false, "print each step as it happens")
	fs.StringVar(&o.Hostname, "hostname", "", "host name to report (default: the machine's)")
}

func (o *agentInventoryOptions) Run(ctx context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	server := o.Server
	if server == "" && o.Local == "" {
		var err error
		if server, err = agent.EnrolledServer(o.Data); err != nil {
			return err
		}
	}
	if server == "" {
		server = "local" // --local sends nothing; the agent only needs a name to build
	}
	a, err := agent.New(agent.Config{DataDir: o.Data, Server: server, Hostname: o.Hostname, SoftwareVersion: version})
	if err != nil {
		return err
	}
	defer a.Close()
	var progress func(string, time.Duration)
	if o.Interactive {
		progress = func(step string, d time.Duration) {
			fmt.Fprintf(env.Stdout, "  %-14s %8.1f ms\n", step, float64(d.Microseconds())/1000)
		}
	}
	if o.Local != "" {
		start := time.Now()
		inv, err := a.CollectInventory(ctx, progress)
		if err != nil {
			return err
		}
		if o.Hostname != "" {
			inv.Hostname = o.Hostname
		}
		b, err := json.MarshalIndent(inv, "", "  ")
		if err != nil {
			return err
		}
		if o.Local == "-" {
			_, err = env.Stdout.Write(append(b, '\n'))
		} else {
			err = os.WriteFile(o.Local, append(b, '\n'), 0o600)
		}
		if err == nil && o.Interactive {
			fmt.Fprintf(env.Stdout, "collected in %v, %d packages, %d notes\n", time.Since(start).Round(time.Millisecond), len(inv.Software), len(inv.Notes))
		}
		return err
	}
	rep, err := a.SendInventory(ctx, progress)
	if err != nil {
		return err
	}
	kind := "full"
	if rep.Kind == 2 {
		kind = "delta"
	}
	fmt.Fprintf(env.Stdout, "inventory sent to %s: %s, %d bytes on the wire, collected in %v\n", server, kind, rep.WireBytes, rep.Collect.Round(time.Millisecond))
	return nil
}
