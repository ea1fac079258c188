package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/spf13/pflag"
)

var nodesPropertiesCommand = &Command{
	Name: "nodes properties", Args: "ID",
	Short: "show a node's properties and where each comes from; set or remove its own",
	Long: `Lists the properties a node's directives see as ${node.properties[name]}: global parameters,
overridden by the node's own properties (from its inventory's properties.d, or set here by an
operator); a JSON object set on the node is merged over a global one. The FROM column says
which. --set and --unset change the node's own properties (values are JSON; a bare word is
taken as a string), record the change in the event log and recompile the node's policy.`,
	Examples: `bosun nodes properties 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e
bosun nodes properties 0b5f6c1e-... --set datacenter=paris --set 'ntp={"servers":["10.0.0.1"]}'
bosun nodes properties 0b5f6c1e-... --unset datacenter`,
	New: func() Options { return &nodesPropertiesOptions{} },
}

type nodesPropertiesOptions struct {
	RootOptions
	Set   []string
	Unset []string
	JSON  bool
}

func (o *nodesPropertiesOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.StringArrayVar(&o.Set, "set", nil, "NAME=VALUE to set on the node (repeatable)")
	fs.StringArrayVar(&o.Unset, "unset", nil, "NAME to remove from the node (repeatable)")
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *nodesPropertiesOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want one node id")
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	var props api.NodeProperties
	if len(o.Set) > 0 || len(o.Unset) > 0 {
		ch := api.PropertyChange{Set: map[string]json.RawMessage{}, Unset: o.Unset}
		for _, kv := range o.Set {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return Usagef("--set %q: want NAME=VALUE", kv)
			}
			raw := json.RawMessage(v)
			if !json.Valid(raw) {
				raw, _ = json.Marshal(v) // a bare word is a string
			}
			ch.Set[k] = raw
		}
		props, err = c.SetNodeProperties(ctx, args[0], ch)
	} else {
		props, err = c.NodeProperties(ctx, args[0])
	}
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, props)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVALUE\tFROM")
	for _, p := range props.Properties {
		from := p.Provenance
		if p.Source != "" {
			from += " (" + p.Source + ")"
		}
		if len(p.Overrides) > 0 {
			from += ", overrides " + oneLine(string(p.Overrides), 30)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, oneLine(string(p.Value), 60), from)
	}
	return tw.Flush()
}

var nodesSettingsCommand = &Command{
	Name: "nodes settings", Args: "ID",
	Short: "override the global settings on one node (policy mode, reporting mode, run interval)",
	Long: `Sets a node's overrides of the global settings; an empty value goes back to the global one. The
node's policy mode counts only where overrides are allowed (see DESIGN.md: if both the node and
a directive override, audit wins). The change is recorded in the event log.`,
	Examples: `bosun nodes settings 0b5f6c1e-... --policy-mode audit
bosun nodes settings 0b5f6c1e-... --reporting-mode changes-only --run-interval 15m
bosun nodes settings 0b5f6c1e-... --policy-mode ""     # back to the global mode`,
	New: func() Options { return &nodesSettingsOptions{} },
}

type nodesSettingsOptions struct {
	RootOptions
	PolicyMode    string
	ReportingMode string
	RunInterval   time.Duration
	HeartbeatRuns int
}

func (o *nodesSettingsOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.StringVar(&o.PolicyMode, "policy-mode", "", "audit, enforce, or empty for the global mode")
	fs.StringVar(&o.ReportingMode, "reporting-mode", "", "full, changes-only, disabled, or empty for the global mode")
	fs.DurationVar(&o.RunInterval, "run-interval", 0, "run interval, or 0 for the global one")
	fs.IntVar(&o.HeartbeatRuns, "heartbeat-runs", 0, "heartbeat every N runs in changes-only mode, or 0 for the global value")
}

func (o *nodesSettingsOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want one node id")
	}
	s := map[string]any{"policy_mode": o.PolicyMode, "reporting_mode": o.ReportingMode, "heartbeat_runs": o.HeartbeatRuns}
	if o.RunInterval > 0 {
		s["run_interval"] = o.RunInterval.String()
	}
	b, _ := json.Marshal(s)
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	props, err := c.SetNodeSettings(ctx, args[0], b)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "node %s settings: %s\n", props.NodeID, props.Settings)
	return nil
}
