package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bosun-io/bosun/bench/fleet"
	"github.com/bosun-io/bosun/cli"
	"github.com/spf13/pflag"
)

var benchFleetCommand = &cli.Command{
	Name:  "bench fleet",
	Short: "simulate a fleet against a real root and real relays, and measure them",
	Long: `Starts a root and --relays relays (processes of this binary, in a temporary directory, on
127.0.0.1), then drives --nodes simulated agents through them. Each simulated node has its own
ed25519 key; it enrols, sends a synthesised inventory (Debian, Ubuntu, Rocky, SLES and Alpine
machines with 150-600 packages, a network interface, updates, users), is accepted through the
API, fetches its applied policy (--components components), and then reports every --interval,
at its own splay, with results that follow --mix; each run it also asks the root for its status
and fetches a delta when its policy changed. Half way through the run one directive changes.

The nodes of each relay share one simulated relay below it, which carries their signed frames
as a relay of a relay chain does, so 100,000 nodes fit on one machine beside the root.
--speed compresses time: --speed 10 runs ten intervals in the wall time of one.

While it runs it prints a progress line every --progress-every on stderr; at the end a table
on stdout and the same figures as JSON in --out (bench/results/DATE-NODES.json), with the
machine's description. --profile DIR writes CPU and heap profiles of the root and the first
relay, taken a quarter of the way into the run (pprof on their --debug-listen endpoints).`,
	Examples: `# the design's fleet: 100,000 nodes behind 20 relays, ten minutes of fleet time
bosun bench fleet --nodes 100000 --relays 20 --components 50 --interval 5m --duration 10m
# a day of a 10,000-node fleet in 14 minutes and a half, with profiles
bosun bench fleet --nodes 10000 --relays 4 --duration 24h --speed 100 --profile /tmp/prof
# half the nodes drifting, reporting changes only, nothing written
bosun bench fleet --nodes 2000 --mix compliant=50,drift=50 --changes-only --out ""`,
	ExitStatus: `0  the run finished and its figures were written
1  a process failed to start or died, or the fleet did not get through a step in time
2  the command line is wrong`,
	New: func() cli.Options { return &benchFleetOptions{} },
}

type benchFleetOptions struct {
	Nodes, Relays, Components int
	Interval, Duration        time.Duration
	Speed                     float64
	Mix                       string
	ChangesOnly, NoContacts   bool
	Profile, Out, Work, Bosun string
	Keep                      bool
	Seed                      uint64
	ProgressEvery             time.Duration
}

func (o *benchFleetOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Nodes, "nodes", 1000, "simulated agents")
	fs.IntVar(&o.Relays, "relays", 4, "relay processes; the nodes are spread evenly among them")
	fs.IntVar(&o.Components, "components", 50, "components of each node's applied policy")
	fs.DurationVar(&o.Interval, "interval", 5*time.Minute, "the nodes' run interval, in fleet time")
	fs.DurationVar(&o.Duration, "duration", 10*time.Minute, "how long the fleet runs, in fleet time")
	fs.Float64Var(&o.Speed, "speed", 1, "fleet time per wall time: 10 runs ten intervals in the wall time of one")
	fs.StringVar(&o.Mix, "mix", fleet.DefaultMix.String(), "percent of nodes compliant, drifting (a repair each run), in error, silent")
	fs.BoolVar(&o.ChangesOnly, "changes-only", false, "nodes report in changes-only mode instead of full compliance")
	fs.BoolVar(&o.NoContacts, "no-contacts", false, "nodes send no status request at each run, only their reports")
	fs.StringVar(&o.Profile, "profile", "", "write CPU and heap profiles of the root and the first relay to this directory")
	fs.StringVar(&o.Out, "out", "bench/results", "directory of the JSON result; empty: write none")
	fs.StringVar(&o.Work, "work", "", "directory for the processes' data and logs (default a temporary one, removed at the end)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work directory (data and logs) at the end")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the nodes' keys, inventories and behaviours")
	fs.DurationVar(&o.ProgressEvery, "progress-every", 10*time.Second, "how often a progress line is printed")
	fs.StringVar(&o.Bosun, "bosun", "", "the bosun binary to run the root and the relays (default this one)")
}

func (o *benchFleetOptions) Run(ctx context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	mix, err := fleet.ParseMix(o.Mix)
	if err != nil {
		return cli.Usagef("--mix: %v", err)
	}
	bin := o.Bosun
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return fmt.Errorf("find this binary: %w", err)
		}
	}
	if o.Profile != "" {
		if err := os.MkdirAll(o.Profile, 0o755); err != nil {
			return err
		}
	}
	cfg := fleet.Config{
		Bosun: bin, WorkDir: o.Work, Keep: o.Keep,
		Nodes: o.Nodes, Relays: o.Relays, Components: o.Components, Interval: o.Interval, Duration: o.Duration, Speed: o.Speed,
		Mix: mix, ChangesOnly: o.ChangesOnly, NoContacts: o.NoContacts, Profile: o.Profile, Seed: o.Seed,
		Progress: env.Stderr, ProgressEvery: o.ProgressEvery,
		Bar: func(label string, total int64) fleet.Bar { return cli.NewProgress(env.Stderr, label, total) },
	}
	res, err := fleet.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("bench fleet: %w", err)
	}
	if err := res.WriteTable(env.Stdout); err != nil {
		return err
	}
	if o.Out == "" {
		return nil
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	path := filepath.Join(o.Out, fmt.Sprintf("%s-%d.json", res.Started.Format("2006-01-02T1504"), o.Nodes))
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := res.WriteJSON(fh); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "results written to %s\n", path)
	return nil
}
