package main

import (
	"context"
	"time"

	"github.com/bosun-io/bosun/agent"
	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/mesh"
	"github.com/spf13/pflag"
)

var agentCommand = &cli.Command{
	Name:  "agent",
	Short: "run the agent on a node",
	Long: `Runs the agent until interrupted. On first start it creates the node's key and id in its data
directory, enrols with its policy server (a relay or the root) and waits for an operator to
accept it. The policy server's key is pinned at enrolment, or given with --server-fingerprint.

Once accepted, it runs the policy it holds every run interval of the policy, at a per-node
offset within the policy's splay, and at once when a new policy arrives; each run's signed
report goes to the spool in the data directory and out to the policy server in order. Cut off
from its policy server, it keeps running its last good policy and keeps the reports.`,
	Examples: `bosun agent --server relay1.example.org:6710 --server-fingerprint sha256:3f1c...
# settings in /etc/bosun/agent.yaml (server: relay1.example.org:6710 ...), see bosun config defaults agent
bosun agent
bosun agent --data /tmp/a1 --server 127.0.0.1:16720 --hostname demo-agent-1`,
	ExitStatus: `0  stopped cleanly
1  could not start (data directory, identity)
2  the command line or the configuration file is wrong`,
	New: func() cli.Options { return &agentOptions{configFile: configFile{role: "agent"}} },
}

type agentOptions struct {
	configFile
	logOptions
	Data              string
	Server            string
	ServerFingerprint string
	RootFingerprint   string
	GossipListen      string
	GossipProfile     string
	ServerTimeout     time.Duration
	Hostname          string
	Interval          time.Duration
	RunInterval       time.Duration
	RootPrefix        string
	MetricsListen     string
	MetricsTokenFile  string
}

func (o *agentOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", "/var/lib/bosun/agent", "data directory")
	fs.StringVar(&o.Server, "server", "", "host:port of the policy server (required)")
	fs.StringVar(&o.ServerFingerprint, "server-fingerprint", "", "key fingerprint of the policy server (sha256:...); empty: pinned on first use")
	fs.DurationVar(&o.ServerTimeout, "server-timeout", 30*time.Second, "give up on one contact with the policy server after this long")
	fs.StringVar(&o.GossipListen, "gossip-listen", ":0", "where the agent's member of its zone's gossip pool binds (port 0: any); empty: no gossip")
	fs.Var(newCheckedString(&o.GossipProfile, "lan", checkGossipProfile), "gossip-profile", "timers of the zone pool: lan, wan or local (tests)")
	fs.StringVar(&o.RootFingerprint, "root-fingerprint", "", "key fingerprint of the root, which signs policies (sha256:...); empty: pinned on first use")
	fs.StringVar(&o.Hostname, "hostname", "", "host name to report (default: the machine's)")
	fs.DurationVar(&o.Interval, "interval", 5*time.Minute, "how often to get in touch with the policy server")
	fs.DurationVar(&o.RunInterval, "run-interval", 0, "run the policy this often instead of the policy's run interval (tests and trials)")
	fs.StringVar(&o.MetricsListen, "metrics-listen", "", "serve Prometheus metrics here (HTTP, GET /metrics, bearer token), e.g. 127.0.0.1:6715; default: none")
	fs.StringVar(&o.MetricsTokenFile, "metrics-token-file", "", "file holding the token scrapers must send (default <data>/metrics.token, created at first start)")
	fs.StringVar(&o.RootPrefix, "root-prefix", "", "act on files under this directory instead of / (tests only)")
	_ = fs.MarkHidden("root-prefix")
	o.logOptions.AddFlags(fs)
}

func (o *agentOptions) Run(ctx context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	if o.Server == "" {
		return cli.Usagef("--server is required, on the command line or as server: in %s", o.Path)
	}
	log, err := o.logger()
	if err != nil {
		return cli.Usagef("%v", err)
	}
	profile, err := mesh.ParseProfile(o.GossipProfile)
	if err != nil {
		return cli.Usagef("--gossip-profile: %v", err)
	}
	a, err := agent.New(agent.Config{
		GossipListen: o.GossipListen, GossipProfile: profile, ServerTimeout: o.ServerTimeout,
		DataDir: o.Data, Server: o.Server, ServerFingerprint: o.ServerFingerprint, RootFingerprint: o.RootFingerprint, Hostname: o.Hostname,
		Interval: o.Interval, RunInterval: o.RunInterval, ApplyPrefix: o.RootPrefix, SoftwareVersion: version, Logger: log,
		MetricsListen: o.MetricsListen, MetricsTokenFile: o.MetricsTokenFile,
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Run(ctx); err != nil {
		return err
	}
	log.Info("agent stopped")
	return nil
}
