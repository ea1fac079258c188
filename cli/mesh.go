package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
)

// meshCommands are the verbs of gossip membership.
func meshCommands() []*Command {
	return []*Command{meshMembersCommand, meshKeysCommand, meshKeysRotateCommand}
}

var meshMembersCommand = &Command{
	Name:  "mesh members",
	Short: "who is alive, suspect or dead, by zone, as gossip says",
	Long: `Lists the members of the gossip pools: the core pool of relays and the root, as the root sees it,
and each zone's pool (a relay and its agents) as its relays report it, within a second of a
change. Gossip is a hint: a node alive in gossip but not reporting is shown as such by bosun
compliance; a dead one is shown dead in bosun nodes list within seconds.`,
	Examples: `bosun mesh members
bosun mesh members --zone paris
bosun mesh members --json`,
	New: func() Options { return &meshMembersOptions{} },
}

type meshMembersOptions struct {
	RootOptions
	Zone string
	JSON bool
}

func (o *meshMembersOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.StringVar(&o.Zone, "zone", "", "only this zone (core: relays and the root)")
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *meshMembersOptions) Run(ctx context.Context, env *Env, args []string) error {
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	l, err := c.Members(ctx, o.Zone)
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, l)
	}
	tw := newTable(env.Stdout)
	fmt.Fprintln(tw, "ZONE\tID\tHOSTNAME\tROLE\tSTATE\tSINCE\tVIA")
	now := time.Now()
	pal := paletteFor(env.Stdout)
	for _, m := range l.Members {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Zone, m.NodeID, m.Hostname, m.Role, pal.state(m.State), ago(now, m.Since), m.Via)
	}
	return tw.Flush()
}

var meshKeysCommand = &Command{
	Name:     "mesh keys",
	Short:    "show the gossip keyring (fingerprints, not keys)",
	Examples: `bosun mesh keys`,
	New:      func() Options { return &meshKeysOptions{} },
}

type meshKeysOptions struct{ RootOptions }

func (o *meshKeysOptions) Run(ctx context.Context, env *Env, args []string) error {
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	l, err := c.GossipKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tADDED\tENCRYPTS FROM\tRETIRED AT")
	for _, k := range l.Keys {
		retire := "-"
		if !k.Retire.IsZero() {
			retire = k.Retire.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Fingerprint, k.Added.Local().Format(time.DateTime), k.PrimaryAt.Local().Format(time.DateTime), retire)
	}
	return tw.Flush()
}

var meshKeysRotateCommand = &Command{
	Name:  "mesh keys rotate",
	Short: "rotate the gossip key, in steps no member misses",
	Long: `Starts a rotation of the gossip key: every node installs the new key at its next status (every
run interval), the new key starts encrypting after --step, and the old one is dropped after
twice --step. Nodes that have not picked up the new key by then fall out of gossip until their
next status, which is all gossip costs them: it is a hint, their QUIC links are not affected.`,
	Examples: `bosun mesh keys rotate
bosun mesh keys rotate --step 1h`,
	New: func() Options { return &meshKeysRotateOptions{} },
}

type meshKeysRotateOptions struct {
	RootOptions
	Step time.Duration
}

func (o *meshKeysRotateOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.DurationVar(&o.Step, "step", 0, "time between the steps of the rotation (default: the root's, 15m)")
}

func (o *meshKeysRotateOptions) Run(ctx context.Context, env *Env, args []string) error {
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	if err := c.RotateGossipKeys(ctx, o.Step); err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "rotation started; bosun mesh keys shows its steps")
	return nil
}
