package main

import (
	"context"
	"time"

	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/relay"
	"github.com/spf13/pflag"
)

var relayCommand = &cli.Command{
	Name:  "relay",
	Short: "run a relay: store and forward for an isolated zone",
	Long: `Runs a relay until interrupted. Agents of its zone (and relays below it) connect to --listen;
the relay makes what they send durable in its store before acknowledging, and forwards it
to --upstream (the root or another relay) in order, deleting each item only once the
upstream acknowledged it. The relay enrols with its upstream as a node of role relay, and
must be accepted there (bosun nodes accept) before anything but enrolments passes.`,
	Examples: `bosun relay --data /var/lib/bosun/relay --upstream root.example.org:6710 \
    --upstream-fingerprint sha256:3f1c...
# a relay below another one
bosun relay --data /var/lib/bosun/relay --upstream relay-dmz.example.org:6710`,
	ExitStatus: `0  stopped cleanly
1  could not start (data directory, listener) or failed while running
2  the command line is wrong`,
	New: func() cli.Options { return &relayOptions{} },
}

type relayOptions struct {
	logOptions
	Data                string
	Listen              string
	Upstream            string
	UpstreamFingerprint string
	QueueBytes          int64
	StatsInterval       time.Duration
	UpstreamTimeout     time.Duration
}

func (o *relayOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Data, "data", "/var/lib/bosun/relay", "data directory")
	fs.StringVar(&o.Listen, "listen", ":6710", "QUIC address (UDP) for agents and relays below")
	fs.StringVar(&o.Upstream, "upstream", "", "host:port of the root or relay above (required)")
	fs.StringVar(&o.UpstreamFingerprint, "upstream-fingerprint", "", "key fingerprint of the upstream (sha256:...); empty: pinned on first use")
	fs.Int64Var(&o.QueueBytes, "queue-bytes", 8<<30, "disk budget of the upstream queue; past it agents are told to retry later")
	fs.DurationVar(&o.UpstreamTimeout, "upstream-timeout", 20*time.Second, "give up on one exchange with the upstream after this long (a link that drops everything)")
	fs.DurationVar(&o.StatsInterval, "stats-interval", 30*time.Second, "how often to report the queue and uplink figures to the root")
	o.logOptions.AddFlags(fs)
}

func (o *relayOptions) Run(ctx context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	if o.Upstream == "" {
		return cli.Usagef("--upstream is required")
	}
	log, err := o.logger()
	if err != nil {
		return cli.Usagef("%v", err)
	}
	r, err := relay.New(relay.Config{
		DataDir: o.Data, ListenAddr: o.Listen, Upstream: o.Upstream, UpstreamFingerprint: o.UpstreamFingerprint,
		QueueBytes: o.QueueBytes, StatsInterval: o.StatsInterval, UpstreamTimeout: o.UpstreamTimeout, SoftwareVersion: version, Logger: log,
	})
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.Run(ctx); err != nil {
		return err
	}
	log.Info("relay stopped")
	return nil
}
