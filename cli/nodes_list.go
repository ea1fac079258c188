package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/spf13/pflag"
)

var nodesListCommand = &Command{
	Name:  "nodes list",
	Short: "list nodes with their status, filtered and with columns from their inventories",
	Long: `Lists the nodes the root knows: pending nodes waiting for an operator, accepted nodes,
refused and deleted ones, and inventory-only nodes (role "inventory": machines known from an
inventory another agent sent). Deleted nodes are listed only with --status deleted.

--where FIELD OP VALUE keeps the nodes whose inventory satisfies the condition; repeat it
to require several. FIELD is a dotted path into the inventory (os.name, os.version,
machine.virtualization, network.interfaces.ipv4, software.name, ...) or an alias: ram,
swap, cpus, packages, updates, security_updates, os, kernel, arch, ip, mac, package, id,
status, role, policy_server. OP is one of = != > < >= <= ~ (regular expression). Sizes take
units (4GiB, 512M, 2TB); strings compare without regard to case, and with < > as versions.
A path through a list matches when one element does; != when none does.

--columns chooses the table's columns, comma-separated: the node's own (id, hostname, os,
role, status, policy_server, last_seen, last_inventory, agent_version) or any field as
above. --sort orders by a column (a leading - reverses it); numbers and sizes sort as
numbers.

--json prints {"schemaVersion":1,"nodes":[...]}; with --columns, each node comes with the
values of the columns in "values", in their order.`,
	Examples: `# every node
bosun nodes list
# what waits for acceptance
bosun nodes list --status pending
# accept everything pending
bosun nodes list --status pending --quiet | xargs bosun nodes accept
# Debian machines with more than 4 GiB of memory
bosun nodes list --where 'os.name~(?i)debian' --where 'ram>4GiB'
# a fleet overview, biggest memory first
bosun nodes list --columns hostname,os,kernel,ram,cpus,packages,updates --sort -ram
# nodes where nginx is installed, as JSON
bosun nodes list --where package=nginx --columns hostname,ip --json
# for a script
bosun nodes list --json | jq -r '.nodes[].hostname'`,
	New: func() Options { return &nodesListOptions{} },
}

type nodesListOptions struct {
	RootOptions
	Status  string
	Role    string
	Where   []string
	Columns []string
	Sort    string
	JSON    bool
	Quiet   bool
}

func (o *nodesListOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.StringVar(&o.Status, "status", "", "only nodes of this status: pending, accepted, refused or deleted")
	fs.StringVar(&o.Role, "role", "", "only nodes of this role: agent, relay, root or inventory")
	fs.StringArrayVar(&o.Where, "where", nil, "only nodes whose inventory satisfies FIELD OP VALUE (repeatable; all must hold)")
	fs.StringSliceVar(&o.Columns, "columns", nil, "columns of the table, comma-separated (default id,hostname,os,role,status,policy_server,last_seen)")
	fs.StringVar(&o.Sort, "sort", "", "sort by this column; -COLUMN for descending")
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "print node ids only, one a line")
}

// defaultColumns are the table's columns when --columns is not given.
var defaultColumns = []string{"id", "hostname", "os", "role", "status", "policy_server", "last_seen", "compliance", "score"}

// complianceColumns are the columns compliance answers (GET /api/v1/compliance/nodes):
// compliance sorts as a number, score as its letter.
var complianceColumns = map[string]func(n *api.ComplianceNode) any{
	"compliance": func(n *api.ComplianceNode) any {
		if n == nil || n.Compliance == nil {
			return nil
		}
		return *n.Compliance
	},
	"score": func(n *api.ComplianceNode) any {
		if n == nil || n.Score.Score == "" || n.Score.Score == "-" {
			return nil
		}
		return n.Score.Score
	},
}

// nodeColumns are the columns a node's own record answers, with how to print them.
var nodeColumns = map[string]func(n api.Node, now time.Time) string{
	"id":             func(n api.Node, _ time.Time) string { return n.ID },
	"hostname":       func(n api.Node, _ time.Time) string { return n.Hostname },
	"os":             func(n api.Node, _ time.Time) string { return n.OS },
	"role":           func(n api.Node, _ time.Time) string { return n.Role },
	"status":         func(n api.Node, _ time.Time) string { return n.Status },
	"policy_server":  func(n api.Node, _ time.Time) string { return n.PolicyServer },
	"last_seen":      func(n api.Node, now time.Time) string { return ago(now, n.LastSeen) },
	"last_inventory": func(n api.Node, now time.Time) string { return ago(now, n.LastInventory) },
	"agent_version":  func(n api.Node, _ time.Time) string { return n.SoftwareVersion },
	"key":            func(n api.Node, _ time.Time) string { return n.KeyFingerprint },
}

// row is one node with the text of each column and the raw value used to sort.
type row struct {
	node  api.Node
	cells []string
	raw   []any
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
	for _, w := range o.Where {
		if _, err := api.ParseCondition(w); err != nil {
			return Usagef("--where: %v", err)
		}
	}
	columns := defaultColumns
	if len(o.Columns) > 0 {
		columns = nil
		for _, c := range o.Columns {
			if c = strings.TrimSpace(c); c != "" {
				columns = append(columns, c)
			}
		}
	}
	var fields []string // columns the inventory answers
	withCompliance := complianceColumns[strings.TrimPrefix(o.Sort, "-")] != nil
	for _, c := range columns {
		if _, ok := complianceColumns[c]; ok {
			withCompliance = true
			continue
		}
		if _, ok := nodeColumns[c]; ok {
			continue
		}
		if _, err := api.ResolveField(c); err != nil {
			return Usagef("--columns: %v", err)
		}
		fields = append(fields, c)
	}
	sortCol, desc := strings.CutPrefix(o.Sort, "-")
	sortIdx := -1
	if o.Sort != "" {
		if sortIdx = slices.Index(columns, sortCol); sortIdx < 0 {
			if _, ok := nodeColumns[sortCol]; !ok && complianceColumns[sortCol] == nil {
				if _, err := api.ResolveField(sortCol); err != nil {
					return Usagef("--sort: %v", err)
				}
				fields = append(fields, sortCol)
			}
		}
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}

	var rows []row
	now := time.Now()
	plain := len(o.Where) == 0 && len(fields) == 0
	if plain {
		nodes, err := c.Nodes(ctx, o.Status)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			rows = append(rows, row{node: n})
		}
	} else {
		facts, err := c.NodeFacts(ctx, o.Where, fields)
		if err != nil {
			return err
		}
		for _, f := range facts.Nodes {
			r := row{node: f.Node}
			for _, v := range f.Values {
				var x any
				_ = json.Unmarshal(v, &x)
				r.raw = append(r.raw, x)
			}
			rows = append(rows, r)
		}
	}
	kept := rows[:0]
	for _, r := range rows {
		n := r.node
		if (o.Status == "" && n.Status != api.StatusDeleted || n.Status == o.Status) && (o.Role == "" || n.Role == o.Role) {
			kept = append(kept, r)
		}
	}
	rows = kept

	comp := map[string]*api.ComplianceNode{}
	if withCompliance {
		l, err := c.ComplianceNodes(ctx)
		if err != nil && len(o.Columns) > 0 {
			fmt.Fprintf(env.Stderr, "compliance not shown: %v\n", err)
		}
		for i := range l.Nodes {
			comp[l.Nodes[i].NodeID] = &l.Nodes[i]
		}
	}

	// People know relays by name; the id stays in --json.
	names := make(map[string]string, len(rows))
	for _, r := range rows {
		names[r.node.ID] = r.node.Hostname
	}
	for i := range rows {
		r := &rows[i]
		fi := 0
		var raws []any
		for _, col := range columns {
			if f, ok := complianceColumns[col]; ok {
				v := f(comp[r.node.ID])
				r.cells = append(r.cells, complianceCell(v))
				raws = append(raws, v)
				continue
			}
			if f, ok := nodeColumns[col]; ok {
				n := r.node
				if col == "policy_server" {
					if name := names[n.PolicyServer]; name != "" {
						n.PolicyServer = name
					}
				}
				r.cells = append(r.cells, f(n, now))
				raws = append(raws, nodeSortValue(r.node, col))
				continue
			}
			v := r.raw[fi]
			fi++
			r.cells = append(r.cells, cellText(col, v))
			raws = append(raws, v)
		}
		if o.Sort != "" && sortIdx < 0 {
			if f, ok := complianceColumns[sortCol]; ok {
				raws = append(raws, f(comp[r.node.ID]))
			} else if _, ok := nodeColumns[sortCol]; ok {
				raws = append(raws, nodeSortValue(r.node, sortCol))
			} else {
				raws = append(raws, r.raw[fi])
			}
		}
		r.raw = raws
	}
	if o.Sort != "" {
		idx := sortIdx
		if idx < 0 {
			idx = len(columns)
		}
		slices.SortStableFunc(rows, func(a, b row) int {
			c := compareValues(a.raw[idx], b.raw[idx])
			if desc {
				return -c
			}
			return c
		})
	}

	if o.Quiet {
		for _, r := range rows {
			fmt.Fprintln(env.Stdout, r.node.ID)
		}
		return nil
	}
	if o.JSON {
		if len(o.Columns) == 0 {
			nodes := make([]api.Node, 0, len(rows))
			for _, r := range rows {
				nodes = append(nodes, r.node)
			}
			return printJSON(env.Stdout, api.NodeList{SchemaVersion: api.SchemaVersion, Nodes: nodes})
		}
		out := api.NodeFacts{SchemaVersion: api.SchemaVersion, Columns: columns, Nodes: []api.NodeFact{}}
		for _, r := range rows {
			f := api.NodeFact{Node: r.node}
			for _, v := range r.raw[:len(columns)] {
				b, _ := json.Marshal(v)
				f.Values = append(f.Values, b)
			}
			out.Nodes = append(out.Nodes, f)
		}
		return printJSON(env.Stdout, out)
	}
	tw := newTable(env.Stdout)
	heads := make([]string, len(columns))
	for i, c := range columns {
		heads[i] = strings.ToUpper(strings.ReplaceAll(c, "_", " "))
	}
	fmt.Fprintln(tw, strings.Join(heads, "\t"))
	pal := paletteFor(env.Stdout)
	for _, r := range rows {
		cells := slices.Clone(r.cells)
		for i, c := range columns {
			switch c {
			case "status":
				cells[i] = pal.state(cells[i])
			case "score":
				cells[i] = pal.score(cells[i])
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// nodeSortValue is what a node column sorts by, and shows as in JSON: times as RFC 3339.
func nodeSortValue(n api.Node, col string) any {
	var t time.Time
	switch col {
	case "last_seen":
		t = n.LastSeen
	case "last_inventory":
		t = n.LastInventory
	default:
		return nodeColumns[col](n, time.Time{})
	}
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// complianceCell prints a compliance column: a percentage or a score letter.
func complianceCell(v any) string {
	switch t := v.(type) {
	case nil:
		return "-"
	case float64:
		return fmt.Sprintf("%.2f %%", t)
	}
	return fmt.Sprint(v)
}

// sizeFields are inventory fields in bytes, printed with binary units.
func isSizeField(col string) bool {
	p, err := api.ResolveField(col)
	if err != nil {
		return false
	}
	for _, s := range []string{"memory.total", "memory.swap_total", ".size", ".total", ".free"} {
		if p == s || strings.HasSuffix(p, s) {
			return true
		}
	}
	return false
}

// cellText prints a value of the inventory for a table.
func cellText(col string, v any) string {
	switch t := v.(type) {
	case nil:
		return "-"
	case float64:
		if isSizeField(col) {
			return iec(t)
		}
		return strconv.FormatFloat(t, 'f', -1, 64)
	case []any:
		parts := make([]string, 0, len(t))
		for _, e := range t {
			parts = append(parts, cellText(col, e))
		}
		s := strings.Join(parts, ",")
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		return s
	case map[string]any:
		b, _ := json.Marshal(t)
		return string(b)
	}
	return api.Text(v)
}

// iec prints a byte count with binary units: 7.8 GiB.
func iec(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", n)
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

// compareValues orders column values: absent last, numbers as numbers, text as versions.
func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	fa, oka := a.(float64)
	fb, okb := b.(float64)
	if oka && okb {
		switch {
		case fa < fb:
			return -1
		case fa > fb:
			return 1
		}
		return 0
	}
	return api.CompareVersions(strings.ToLower(api.Text(a)), strings.ToLower(api.Text(b)))
}
