package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/bosun-io/bosun/root/api"
)

// Commands returns the operator verbs.
func Commands() []*Command {
	cmds := []*Command{nodesListCommand, nodesShowCommand, nodesAcceptCommand, nodesRefuseCommand, nodesDeleteCommand,
		nodesPropertiesCommand, nodesSettingsCommand, nodesRunsCommand}
	cmds = append(cmds, airgapCommands()...)
	cmds = append(cmds, meshCommands()...)
	cmds = append(cmds, tokenCommands()...)
	cmds = append(cmds, inventorySoftwareCommand, inventoryDiffCommand)
	cmds = append(cmds, complianceCommands()...)
	cmds = append(cmds, apiSpecCommand)
	cmds = append(cmds, comfortCommands()...)
	return append(cmds, modelCommands()...)
}

// ago says how long ago t was, in the coarsest unit that still tells an operator something.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in the future"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func statusCommand(verb, status, short, long, examples string) *Command {
	return &Command{
		Name: "nodes " + verb, Args: "ID...", Short: short, Long: long, Examples: examples,
		New: func() Options { return &nodesStatusOptions{status: status} },
	}
}

var (
	nodesAcceptCommand = statusCommand("accept", api.StatusAccepted, "accept pending nodes",
		`Accepts nodes: their keys are pinned and they start receiving policies. Accepting a refused or
deleted node is the explicit operator action that lets its key back in.`,
		`bosun nodes accept 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e
# everything pending
bosun nodes list --status pending --quiet | xargs bosun nodes accept`)
	nodesRefuseCommand = statusCommand("refuse", api.StatusRefused, "refuse pending nodes",
		`Refuses pending nodes. Their keys stay refused: the same machine cannot come back under a new id
until an operator accepts it explicitly.`,
		`bosun nodes refuse 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e`)
	nodesDeleteCommand = statusCommand("delete", api.StatusDeleted, "delete nodes",
		`Deletes nodes: they get no more policies, and their keys are refused from now on.`,
		`bosun nodes delete 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e`)
)

type nodesStatusOptions struct {
	RootOptions
	status string
}

func (o *nodesStatusOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return Usagef("want one or more node ids")
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	var failed error
	for _, id := range args {
		n, err := c.SetStatus(ctx, id, o.status)
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", id, err)
			if failed == nil {
				failed = err
			}
			continue
		}
		fmt.Fprintf(env.Stdout, "%s\t%s\t%s\n", n.ID, n.Hostname, n.Status)
	}
	return failed
}
