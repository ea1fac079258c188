package main

import (
	"context"
	"time"

	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/mesh"
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
# settings in /etc/bosun/relay.yaml (upstream: root.example.org:6710 ...), see bosun config defaults relay
bosun relay
# a relay below another one
bosun relay --data /var/lib/bosun/relay --upstream relay-dmz.example.org:6710`,
	ExitStatus: `0  stopped cleanly
1  could not start (data directory, listener) or failed while running
2  the command line or the configuration file is wrong`,
	New: func() cli.Options { return &relayOptions{configFile: configFile{role: "relay"}} },
}

type relayOptions struct {
	configFile
	logOptions
	debugOptions
	Data                string
	Listen              string
	Upstream            string
	UpstreamFingerprint string
	QueueBytes          int64
	StatsInterval       time.Duration
	UpstreamTimeout     time.Duration
	Zone                string
	Advertise           string
	GossipListen        string
	CoreGossipListen    string
	GossipProfile       string
	CoreGossipProfile   string
	MetricsListen       string
	MetricsTokenFile    string
}

func (o *relayOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", "/var/lib/bosun/relay", "data directory")
	fs.StringVar(&o.Listen, "listen", ":6710", "QUIC address (UDP) for agents and relays below")
	fs.StringVar(&o.Upstream, "upstream", "", "host:port of the root or relay above (required)")
	fs.StringVar(&o.UpstreamFingerprint, "upstream-fingerprint", "", "key fingerprint of the upstream (sha256:...); empty: pinned on first use")
	fs.Int64Var(&o.QueueBytes, "queue-bytes", 8<<30, "disk budget of the upstream queue; past it agents are told to retry later")
	fs.StringVar(&o.Zone, "zone", "default", "the relay's zone: its agents gossip in the zone's pool and fail over between its relays")
	fs.StringVar(&o.Advertise, "advertise", "", "the QUIC address the zone's agents reach this relay at (default: --listen when it names a host)")
	fs.StringVar(&o.GossipListen, "gossip-listen", ":6712", "the zone pool's gossip address (UDP and TCP); empty: no gossip")
	fs.StringVar(&o.CoreGossipListen, "core-gossip-listen", ":6713", "the address for the pool of relays and the root; empty: stay out of it")
	fs.Var(newCheckedString(&o.GossipProfile, "lan", checkGossipProfile), "gossip-profile", "timers of the zone pool: lan, wan or local (tests)")
	fs.Var(newCheckedString(&o.CoreGossipProfile, "wan", checkGossipProfile), "core-gossip-profile", "timers of the core pool: lan, wan or local (tests)")
	fs.DurationVar(&o.UpstreamTimeout, "upstream-timeout", 20*time.Second, "give up on one exchange with the upstream after this long (a link that drops everything)")
	fs.DurationVar(&o.StatsInterval, "stats-interval", 30*time.Second, "how often to report the queue and uplink figures to the root")
	fs.StringVar(&o.MetricsListen, "metrics-listen", "127.0.0.1:6714", "Prometheus endpoint (HTTP, GET /metrics, bearer token); empty: none")
	fs.StringVar(&o.MetricsTokenFile, "metrics-token-file", "", "file holding the token scrapers must send (default <data>/metrics.token, created at first start)")
	o.logOptions.AddFlags(fs)
	o.debugOptions.AddFlags(fs)
}

func (o *relayOptions) Run(ctx context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	if o.Upstream == "" {
		return cli.Usagef("--upstream is required, on the command line or as upstream: in %s", o.Path)
	}
	log, err := o.logger()
	if err != nil {
		return cli.Usagef("%v", err)
	}
	zoneProfile, err := mesh.ParseProfile(o.GossipProfile)
	if err != nil {
		return cli.Usagef("--gossip-profile: %v", err)
	}
	coreProfile, err := mesh.ParseProfile(o.CoreGossipProfile)
	if err != nil {
		return cli.Usagef("--core-gossip-profile: %v", err)
	}
	r, err := relay.New(relay.Config{
		Zone: o.Zone, AdvertiseAddr: o.Advertise, GossipListen: o.GossipListen, CoreGossipListen: o.CoreGossipListen,
		GossipProfile: zoneProfile, CoreGossipProfile: coreProfile,
		DataDir: o.Data, ListenAddr: o.Listen, Upstream: o.Upstream, UpstreamFingerprint: o.UpstreamFingerprint,
		MetricsListen: o.MetricsListen, MetricsTokenFile: o.MetricsTokenFile,
		QueueBytes: o.QueueBytes, StatsInterval: o.StatsInterval, UpstreamTimeout: o.UpstreamTimeout, SoftwareVersion: version, Logger: log,
	})
	if err != nil {
		return err
	}
	defer r.Close()
	waitDebug, err := o.debugOptions.start(ctx, log)
	if err != nil {
		return err
	}
	defer waitDebug()
	if err := r.Run(ctx); err != nil {
		return err
	}
	log.Info("relay stopped")
	return nil
}
