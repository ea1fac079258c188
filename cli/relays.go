package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
)

var relaysListCommand = &Command{
	Name:  "relays list",
	Short: "list relays with their queue, uplink and the nodes behind them",
	Long: `Lists the relays with what each last reported (every 30 s while its uplink works): the items
queued for upstream and the age of the oldest, bytes sent and received, and whether its
upstream answers. A relay cut off stops reporting; REPORTED says since when.`,
	Examples: `bosun relays list
bosun relays list --json`,
	New: func() Options { return &relaysListOptions{} },
}

type relaysListOptions struct {
	RootOptions
	JSON bool
}

func (o *relaysListOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *relaysListOptions) Run(ctx context.Context, env *Env, args []string) error {
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	l, err := c.Relays(ctx)
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, l)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tHOSTNAME\tSTATUS\tNODES\tQUEUED\tOLDEST\tSENT\tUPSTREAM\tREPORTED")
	now := time.Now()
	for _, r := range l.Relays {
		queued, oldest, sent, up, reported := "-", "-", "-", "-", "never"
		if s := r.Stats; s != nil {
			queued = fmt.Sprintf("%d (%s)", s.QueueDepth, ibytes(s.QueueBytes))
			if !s.OldestQueued.IsZero() {
				oldest = ago(now, s.OldestQueued)
			}
			sent = ibytes(s.BytesSent)
			up = "up"
			if !s.UpstreamUp {
				up = "down: " + oneLine(s.UpstreamError, 40)
			}
			reported = ago(now, s.Reported)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.Node.ID, r.Node.Hostname, r.Node.Status, r.Nodes, queued, oldest, sent, up, reported)
	}
	return tw.Flush()
}

// ibytes writes a byte count the way people read it: 1.5 MiB.
func ibytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
