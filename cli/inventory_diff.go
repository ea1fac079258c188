package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
)

var inventoryDiffCommand = &Command{
	Name:  "inventory diff",
	Args:  "ID",
	Short: "what changed between two inventories of a node",
	Long: `Compares two inventories the root keeps of a node (see the history with bosun nodes show
--version N, or GET /api/v1/nodes/ID/inventory/history). Versions count back from the current
inventory: 0 is the current one, 1 the one before. By default the last change: --from 1 --to 0.
Prints the sections that changed (system, network, users, ... with their old and new JSON)
and the packages added (+), removed (-) and upgraded (~). The collection time and the uptime,
which change every time, are left out.`,
	Examples: `bosun inventory diff 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e
# what changed over the last five inventories
bosun inventory diff --from 5 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e
bosun inventory diff --json 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e | jq '.upgraded'`,
	ExitStatus: `0  compared (nothing changed is not an error)
1  the node or one of the versions is not known
2  the command line is wrong
3  the root could not be reached, or no root is configured
4  the token is missing, unknown, or not allowed to do this`,
	New: func() Options { return &inventoryDiffOptions{} },
}

type inventoryDiffOptions struct {
	RootOptions
	From, To int
	JSON     bool
}

func (o *inventoryDiffOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.IntVar(&o.From, "from", 1, "the older version: N inventories back from the current one")
	fs.IntVar(&o.To, "to", 0, "the newer version (0: the current inventory)")
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *inventoryDiffOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want exactly one node id, got %d", len(args))
	}
	if o.From < 0 || o.To < 0 {
		return Usagef("--from and --to count inventories back: want 0 or more")
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	d, err := c.InventoryDiff(ctx, args[0], o.From, o.To)
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, d)
	}
	fmt.Fprintf(env.Stdout, "node %s: version %d (%s) → version %d (%s)\n", d.NodeID,
		d.From, d.FromTime.Format(time.RFC3339), d.To, d.ToTime.Format(time.RFC3339))
	if len(d.Sections) == 0 && len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Upgraded) == 0 {
		fmt.Fprintln(env.Stdout, "no change")
		return nil
	}
	for _, s := range d.Sections {
		fmt.Fprintf(env.Stdout, "\n%s\n  before: %s\n  after:  %s\n", s.Section, oneLine(string(orNone(s.Before)), 400), oneLine(string(orNone(s.After)), 400))
	}
	if n := len(d.Added) + len(d.Removed) + len(d.Upgraded); n > 0 {
		fmt.Fprintf(env.Stdout, "\nsoftware (%d changes)\n", n)
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		for _, p := range d.Added {
			fmt.Fprintf(tw, "  +\t%s\t%s\t%s\n", p.Name, p.Version, p.Architecture)
		}
		for _, p := range d.Removed {
			fmt.Fprintf(tw, "  -\t%s\t%s\t%s\n", p.Name, p.Version, p.Architecture)
		}
		for _, p := range d.Upgraded {
			fmt.Fprintf(tw, "  ~\t%s\t%s → %s\t%s\n", p.Name, p.Before, p.After, p.Architecture)
		}
		tw.Flush()
	}
	return nil
}

func orNone(b []byte) []byte {
	if len(b) == 0 {
		return []byte("(none)")
	}
	return b
}
