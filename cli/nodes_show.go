package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/root/api"
	"github.com/spf13/pflag"
)

var nodesShowCommand = &Command{
	Name:  "nodes show",
	Args:  "ID",
	Short: "show one node and its inventory",
	Long: `Prints what the root knows of one node: identity, key fingerprint, status and who set it, policy
server and relay path, then its inventory section by section (system, hardware, storage,
network, accounts, listening ports, software, updates, properties, and notes on what could
not be collected). --version N shows the inventory N versions back (bosun inventory diff
compares two). --json prints {"schemaVersion":1,"version":0,"node":{...},"inventory":{...}}
with the inventory as bosun models it (null when the node sent none).`,
	Examples: `bosun nodes show 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e
bosun nodes show --json 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e | jq '.inventory.os'
# the inventory before the last one
bosun nodes show --version 1 0b5f6c1e-4c36-4b6f-9a3e-2f1d0c9b8a7e`,
	New: func() Options { return &nodesShowOptions{} },
}

type nodesShowOptions struct {
	RootOptions
	JSON    bool
	Version int
}

func (o *nodesShowOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
	fs.IntVar(&o.Version, "version", 0, "inventory version: 0 the current one, 1 the one before, ...")
}

func (o *nodesShowOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want exactly one node id, got %d", len(args))
	}
	if o.Version < 0 {
		return Usagef("--version %d: want 0 or more", o.Version)
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	n, err := c.Node(ctx, args[0])
	if err != nil {
		return err
	}
	ni, err := c.NodeInventory(ctx, args[0], o.Version)
	var he *api.HTTPError
	switch {
	case err == nil:
	case errors.As(err, &he) && he.StatusCode == 404 && o.Version == 0:
		ni = api.NodeInventory{Node: n, Inventory: json.RawMessage("null")}
	default:
		return err
	}
	ni.SchemaVersion, ni.Node = api.SchemaVersion, n
	if o.JSON {
		return printJSON(env.Stdout, ni)
	}
	printNode(env.Stdout, n)
	var inv *inventory.Inventory
	if err := json.Unmarshal(ni.Inventory, &inv); err != nil {
		return fmt.Errorf("node %s: inventory: %w", n.ID, err)
	}
	if inv == nil {
		fmt.Fprintln(env.Stdout, "\nNo inventory received yet.")
		return nil
	}
	printInventory(env.Stdout, inv, ni.Version)
	return nil
}

func printNode(w io.Writer, n api.Node) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("ID", n.ID)
	row("Hostname", n.Hostname)
	row("OS", n.OS)
	row("Role", n.Role)
	// The value is the last cell: its escape codes cannot push a column out of line.
	row("Status", paletteFor(w).state(n.Status))
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
	if !n.LastInventory.IsZero() {
		row("Last inventory", n.LastInventory.Format(time.RFC3339))
	}
	tw.Flush()
}

// section prints a heading and a table whose rows are the non-empty pairs.
func section(w io.Writer, title string, pairs ...string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "\n%s\n", title)
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			fmt.Fprintf(tw, "  %s:\t%s\n", pairs[i], pairs[i+1])
		}
	}
	tw.Flush()
}

// table prints a heading and rows under column heads.
func table(w io.Writer, title string, heads []string, rows [][]string) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s (%d)\n", title, len(rows))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\n", strings.Join(heads, "\t"))
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\n", strings.Join(r, "\t"))
	}
	tw.Flush()
}

func size(n uint64) string {
	if n == 0 {
		return ""
	}
	return iec(float64(n))
}

func printInventory(w io.Writer, inv *inventory.Inventory, version int) {
	src := inv.Source
	if inv.InventoryOnly {
		src += ", inventory only"
	}
	section(w, fmt.Sprintf("Inventory (version %d)", version),
		"Collected", inv.CollectedAt.Format(time.RFC3339), "Source", src,
		"Agent", strings.TrimSpace(inv.Agent.Name+" "+inv.Agent.Version), "Agent key", inv.Agent.KeyFingerprint)
	boot := ""
	if !inv.BootTime.IsZero() {
		boot = inv.BootTime.Format(time.RFC3339)
	}
	uptime := ""
	if up := inv.Uptime(); up > 0 {
		uptime = up.Round(time.Second).String()
	}
	section(w, "System",
		"Hostname", inv.Hostname, "FQDN", inv.FQDN, "OS", inv.OS.Name, "Version", inv.OS.Version,
		"Full name", inv.OS.FullName, "Family", inv.OS.Family, "Kernel", strings.TrimSpace(inv.OS.Kernel+" "+inv.OS.KernelVersion),
		"Architecture", inv.OS.Architecture, "Timezone", inv.Timezone, "Boot time", boot, "Uptime", uptime)
	m := inv.Machine
	virt := m.Virtualization
	if m.Container != "" {
		virt = strings.TrimSpace(virt + " (container: " + m.Container + ")")
	}
	section(w, "Machine",
		"Manufacturer", m.Manufacturer, "Model", m.Model, "Serial", m.Serial, "UUID", m.UUID, "Machine id", m.MachineID,
		"BIOS", strings.TrimSpace(strings.Join([]string{m.BIOSVendor, m.BIOSVersion, m.BIOSDate}, " ")), "Virtualization", virt,
		"Memory", size(inv.Memory.Total), "Swap", size(inv.Memory.SwapTotal))
	var rows [][]string
	for _, c := range inv.CPUs {
		rows = append(rows, []string{c.Model, c.Vendor, fmt.Sprint(c.Cores), fmt.Sprint(c.Threads), fmt.Sprintf("%.0f", c.MHz), c.Architecture})
	}
	table(w, "CPUs", []string{"MODEL", "VENDOR", "CORES", "THREADS", "MHZ", "ARCH"}, rows)
	rows = nil
	for _, mm := range inv.Memory.Modules {
		rows = append(rows, []string{mm.Slot, size(mm.Size), mm.Type, mm.SpeedMHz, mm.Serial})
	}
	table(w, "Memory modules", []string{"SLOT", "SIZE", "TYPE", "SPEED", "SERIAL"}, rows)
	rows = nil
	for _, d := range inv.Disks {
		rows = append(rows, []string{d.Name, size(d.Size), d.Type, d.Model, d.Manufacturer, d.Serial})
	}
	table(w, "Disks", []string{"NAME", "SIZE", "TYPE", "MODEL", "MANUFACTURER", "SERIAL"}, rows)
	rows = nil
	for _, f := range inv.Filesystems {
		used := ""
		if f.Total > 0 {
			used = fmt.Sprintf("%.0f%%", 100*float64(f.Total-min(f.Free, f.Total))/float64(f.Total))
		}
		rows = append(rows, []string{f.Mountpoint, f.Device, f.Type, size(f.Total), size(f.Free), used})
	}
	table(w, "Filesystems", []string{"MOUNTPOINT", "DEVICE", "TYPE", "SIZE", "FREE", "USED"}, rows)
	rows = nil
	for _, i := range inv.Network.Interfaces {
		up := "down"
		if i.Up {
			up = "up"
		}
		rows = append(rows, []string{i.Name, i.MAC, up, strings.Join(append(slices.Clone(i.IPv4), i.IPv6...), " ")})
	}
	table(w, "Network interfaces", []string{"NAME", "MAC", "STATE", "ADDRESSES"}, rows)
	section(w, "Network", "Default gateway", inv.Network.DefaultGateway, "DNS", strings.Join(inv.Network.DNS, " "))
	rows = nil
	for _, r := range inv.Network.Routes {
		rows = append(rows, []string{r.Destination, r.Gateway, r.Interface, fmt.Sprint(r.Metric)})
	}
	table(w, "Routes", []string{"DESTINATION", "GATEWAY", "DEVICE", "METRIC"}, rows)
	rows = nil
	for _, l := range inv.Listening {
		rows = append(rows, []string{l.Protocol, l.Address, fmt.Sprint(l.Port)})
	}
	table(w, "Listening", []string{"PROTO", "ADDRESS", "PORT"}, rows)
	rows = nil
	for _, u := range inv.Users {
		rows = append(rows, []string{u.Name, fmt.Sprint(u.UID), fmt.Sprint(u.GID), u.Home, u.Shell})
	}
	table(w, "Users", []string{"NAME", "UID", "GID", "HOME", "SHELL"}, rows)
	rows = nil
	for _, g := range inv.Groups {
		rows = append(rows, []string{g.Name, fmt.Sprint(g.GID), strings.Join(g.Members, ",")})
	}
	table(w, "Groups", []string{"NAME", "GID", "MEMBERS"}, rows)
	rows = nil
	for _, v := range inv.VMs {
		rows = append(rows, []string{v.Name, v.Type, v.Status, v.UUID})
	}
	table(w, "Virtual machines", []string{"NAME", "TYPE", "STATUS", "UUID"}, rows)
	rows = nil
	for _, p := range inv.Software {
		rows = append(rows, []string{p.Name, p.Version, p.Architecture, p.Source})
	}
	table(w, "Software", []string{"NAME", "VERSION", "ARCH", "SOURCE"}, rows)
	rows = nil
	for _, u := range inv.Updates {
		sec := ""
		if u.Security {
			sec = "security"
		}
		rows = append(rows, []string{u.Name, u.Version, u.Architecture, sec, u.Origin})
	}
	table(w, "Available updates", []string{"NAME", "VERSION", "ARCH", "KIND", "ORIGIN"}, rows)
	rows = nil
	keys := make([]string, 0, len(inv.Properties))
	for k := range inv.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		rows = append(rows, []string{k, string(inv.Properties[k])})
	}
	table(w, "Properties", []string{"NAME", "VALUE"}, rows)
	rows = nil
	for _, n := range inv.Notes {
		rows = append(rows, []string{n.Field, n.Reason})
	}
	table(w, "Notes", []string{"FIELD", "WHY IT IS EMPTY"}, rows)
}
