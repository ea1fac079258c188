package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
)

var nodesRunsCommand = &Command{
	Name: "nodes runs", Args: "ID",
	Short: "say whether every run of a node reached the root, once and in order",
	Long: `Prints the ledger the root keeps of a node's run reports: how many it took, the first and the
latest run id, the gaps (a run id that was not the previous one plus one: runs lost on the way)
and the refused resends (a run sent again after a lost acknowledgement, never counted twice).`,
	Examples: `bosun nodes runs 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e`,
	New:      func() Options { return &nodesRunsOptions{} },
}

type nodesRunsOptions struct {
	RootOptions
	JSON bool
}

func (o *nodesRunsOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *nodesRunsOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want one node id")
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	l, err := c.Runs(ctx, args[0])
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, l)
	}
	fmt.Fprintf(env.Stdout, "runs taken: %d (ids %d to %d)\ngaps: %d\nresends refused: %d\n", l.Received, l.First, l.Last, l.Gaps, l.Replays)
	return nil
}
