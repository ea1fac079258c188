package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/spf13/pflag"
)

// Commands returns the operator verbs.
func Commands() []*Command {
	cmds := []*Command{nodesListCommand, nodesShowCommand, nodesAcceptCommand, nodesRefuseCommand, nodesDeleteCommand}
	cmds = append(cmds, airgapCommands()...)
	return append(cmds, modelCommands()...)
}

var nodesListCommand = &Command{
	Name:  "nodes list",
	Short: "list nodes with their status",
	Long: `Lists the nodes the root knows: pending nodes waiting for an operator, accepted nodes,
refused and deleted ones. Deleted nodes are listed only with --status deleted.`,
	Examples: `# every node
bosun nodes list
# what waits for acceptance
bosun nodes list --status pending
# accept everything pending
bosun nodes list --status pending --quiet | xargs bosun nodes accept
# for a script
bosun nodes list --json | jq -r '.nodes[].hostname'`,
	New: func() Options { return &nodesListOptions{} },
}

type nodesListOptions struct {
	RootOptions
	Status string
	Role   string
	JSON   bool
	Quiet  bool
}

func (o *nodesListOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.StringVar(&o.Status, "status", "", "only nodes of this status: pending, accepted, refused or deleted")
	fs.StringVar(&o.Role, "role", "", "only nodes of this role: agent, relay or root")
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "print node ids only, one a line")
}

func (o *nodesListOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return Usagef("unexpected argument %q", args[0])
	}
	switch o.Status {
	case "", api.StatusPending, api.StatusAccepted, api.StatusRefused, api.StatusDeleted:
	default:
		return Usagef("--status %q: want pending, accepted, refused or deleted", o.Status)
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	nodes, err := c.Nodes(ctx, o.Status)
	if err != nil {
		return err
	}
	kept := nodes[:0]
	for _, n := range nodes {
		if (o.Status != "" || n.Status != api.StatusDeleted) && (o.Role == "" || n.Role == o.Role) {
			kept = append(kept, n)
		}
	}
	nodes = kept
	if o.Quiet {
		for _, n := range nodes {
			fmt.Fprintln(env.Stdout, n.ID)
		}
		return nil
	}
	if o.JSON {
		return printJSON(env.Stdout, api.NodeList{SchemaVersion: api.SchemaVersion, Nodes: nodes})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tHOSTNAME\tOS\tROLE\tSTATUS\tPOLICY SERVER\tLAST SEEN")
	now := time.Now()
	// People know relays by name; the id stays in --json.
	names := make(map[string]string, len(nodes))
	for _, n := range nodes {
		names[n.ID] = n.Hostname
	}
	for _, n := range nodes {
		server := n.PolicyServer
		if name, ok := names[server]; ok && name != "" {
			server = name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.Hostname, n.OS, n.Role, n.Status, server, ago(now, n.LastSeen))
	}
	return tw.Flush()
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

var nodesShowCommand = &Command{
	Name:  "nodes show",
	Args:  "ID",
	Short: "show one node",
	Long:  `Prints what the root knows of one node: identity, key fingerprint, status and who set it, policy server and relay path.`,
	Examples: `bosun nodes show 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e
bosun nodes show --json 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e`,
	New: func() Options { return &nodesShowOptions{} },
}

type nodesShowOptions struct {
	RootOptions
	JSON bool
}

func (o *nodesShowOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *nodesShowOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want exactly one node id, got %d", len(args))
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	n, err := c.Node(ctx, args[0])
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, api.NodeChange{SchemaVersion: api.SchemaVersion, Node: n})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("ID", n.ID)
	row("Hostname", n.Hostname)
	row("OS", n.OS)
	row("Role", n.Role)
	row("Status", n.Status)
	if n.StatusChangedBy != "" {
		row("Status set by", fmt.Sprintf("%s at %s", n.StatusChangedBy, n.StatusChanged.Format(time.RFC3339)))
	}
	row("Key", n.KeyFingerprint)
	row("Policy server", n.PolicyServer)
	if len(n.Path) > 0 {
		row("Relay path", strings.Join(n.Path, " → "))
	}
	row("Agent version", n.SoftwareVersion)
	row("First seen", n.FirstSeen.Format(time.RFC3339))
	row("Last seen", n.LastSeen.Format(time.RFC3339))
	return tw.Flush()
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
