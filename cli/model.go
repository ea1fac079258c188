package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/bosun-io/bosun/root/api"
	"github.com/spf13/pflag"
)

// collection describes one kind of object of the policy model for the CLI.
type collection struct {
	noun  string // the CLI noun: "directives"
	path  string // the API collection: "directives"
	kind  string // the document kind: "directive"
	extra string // a field worth a column, besides id and name
}

var collections = []collection{
	{"techniques", "techniques", "technique", "category"},
	{"directives", "directives", "directive", "technique"},
	{"groups", "groups", "group", "description"},
	{"rules", "rules", "rule", "category"},
	{"params", "parameters", "parameter", "value"},
}

// modelCommands returns the verbs of the policy model: list/show/create/update/delete per
// kind, apply, export, events.
func modelCommands() []*Command {
	var cmds []*Command
	for _, c := range collections {
		c := c
		cmds = append(cmds,
			&Command{
				Name: c.noun + " list", Short: "list " + c.noun,
				Examples: fmt.Sprintf("bosun %s list\nbosun %s list --json", c.noun, c.noun),
				New:      func() Options { return &modelListOptions{c: c} },
			},
			&Command{
				Name: c.noun + " show", Args: "ID", Short: "show one of the " + c.noun + " as JSON",
				Examples: fmt.Sprintf("bosun %s show ID", c.noun),
				New:      func() Options { return &modelShowOptions{c: c} },
			},
			&Command{
				Name: c.noun + " create", Short: "create " + c.noun + " from a YAML file",
				Long:     fmt.Sprintf("Applies the file's %s documents, refusing if any of them exists already (see bosun apply for the format).", c.kind),
				Examples: fmt.Sprintf("bosun %s create -f new-%s.yml", c.noun, c.kind),
				New:      func() Options { return &modelWriteOptions{c: c, op: "create"} },
			},
			&Command{
				Name: c.noun + " update", Short: "update " + c.noun + " from a YAML file",
				Long:     fmt.Sprintf("Applies the file's %s documents, refusing if any of them does not exist yet.", c.kind),
				Examples: fmt.Sprintf("bosun %s update -f %s.yml", c.noun, c.kind),
				New:      func() Options { return &modelWriteOptions{c: c, op: "update"} },
			},
			&Command{
				Name: c.noun + " delete", Args: "ID...", Short: "delete " + c.noun,
				Long:     "Deletes objects; one still used by another (a directive in a rule, a group in a rule) is refused.",
				Examples: fmt.Sprintf("bosun %s delete ID", c.noun),
				New:      func() Options { return &modelDeleteOptions{c: c} },
			})
	}
	return append(cmds, applyCommand, exportCommand, eventsCommand, eventsRevertCommand,
		policyShowCommand, policyWhyCommand, policyStatusCommand, policyRegenerateCommand)
}

type modelListOptions struct {
	RootOptions
	c    collection
	JSON bool
}

func (o *modelListOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *modelListOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return Usagef("unexpected argument %q", args[0])
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	l, err := c.Objects(ctx, o.c.path)
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, l)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID\tNAME\t%s\n", strings.ToUpper(o.c.extra))
	for _, raw := range l.Objects {
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		id := str(m["id"])
		if o.c.kind == "technique" {
			id += "/" + str(m["version"])
		}
		if o.c.kind == "parameter" {
			id = str(m["name"])
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", id, oneLine(str(m["name"]), 50), oneLine(str(m[o.c.extra]), 50))
	}
	return tw.Flush()
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

type modelShowOptions struct {
	RootOptions
	c collection
}

func (o *modelShowOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want exactly one id")
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	obj, err := c.Object(ctx, o.c.path, args[0])
	if err != nil {
		return err
	}
	return printJSON(env.Stdout, obj)
}

type modelWriteOptions struct {
	RootOptions
	c      collection
	op     string
	Files  []string
	DryRun bool
}

func (o *modelWriteOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.StringSliceVarP(&o.Files, "file", "f", nil, "YAML file or directory (repeatable)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print what would change, change nothing")
}

func (o *modelWriteOptions) Run(ctx context.Context, env *Env, args []string) error {
	return runApply(ctx, env, &o.RootOptions, o.Files, args, api.ApplyRequest{Kind: o.c.kind, Op: o.op, DryRun: o.DryRun})
}

type modelDeleteOptions struct {
	RootOptions
	c collection
}

func (o *modelDeleteOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return Usagef("want one or more ids")
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	for _, id := range args {
		r, err := c.DeleteObject(ctx, o.c.path, id)
		if err != nil {
			return fmt.Errorf("delete %s %s: %w", o.c.kind, id, err)
		}
		printChanges(env, r)
	}
	return nil
}

var applyCommand = &Command{
	Name: "apply", Args: "[-f FILE|DIR]...",
	Short: "apply YAML documents of any kinds, all or nothing",
	Long: `Reads YAML documents (techniques in Rudder's format, directives, groups, rules, parameters,
settings; see docs/techniques.md and examples/) from files and directories (*.yml, *.yaml,
recursively) and applies them as one change: either everything applies or nothing does, with
each error naming its file, line and field. Applying the same files again changes nothing.
Every change is recorded in the event log and can be reverted.`,
	Examples: `bosun apply -f examples/policy/
bosun apply -f directives.yml --dry-run`,
	New: func() Options { return &applyOptions{} },
}

type applyOptions struct {
	RootOptions
	Files  []string
	DryRun bool
}

func (o *applyOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.StringSliceVarP(&o.Files, "file", "f", nil, "YAML file or directory (repeatable)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print what would change, change nothing")
}

func (o *applyOptions) Run(ctx context.Context, env *Env, args []string) error {
	return runApply(ctx, env, &o.RootOptions, o.Files, args, api.ApplyRequest{DryRun: o.DryRun})
}

func runApply(ctx context.Context, env *Env, ro *RootOptions, files, args []string, req api.ApplyRequest) error {
	files = append(files, args...)
	if len(files) == 0 {
		return Usagef("name files or directories with -f")
	}
	var paths []string
	for _, f := range files {
		found, err := yamlPaths(f)
		if err != nil {
			return err
		}
		paths = append(paths, found...)
	}
	if len(paths) == 0 {
		return fmt.Errorf("no *.yml or *.yaml file in %s", strings.Join(files, ", "))
	}
	bar := NewProgress(env.Stderr, "reading files", int64(len(paths)))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			bar.Done()
			return err
		}
		req.Files = append(req.Files, api.File{Name: p, Content: string(b)})
		bar.Add(1)
	}
	bar.Done()
	c, err := ro.Client(env)
	if err != nil {
		return err
	}
	withUploadProgress(c.HTTP, env.Stderr, "sending to the root")
	r, err := c.Apply(ctx, req)
	if err != nil {
		return err
	}
	printChanges(env, r)
	return nil
}

// yamlPaths returns a YAML file, or every YAML file under a directory in name order.
func yamlPaths(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var paths []string
	err = filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	return paths, nil
}

func printChanges(env *Env, r api.ChangeResult) {
	if len(r.Changes) == 0 {
		fmt.Fprintln(env.Stdout, "nothing to change")
		return
	}
	verb := map[string]string{"create": "created", "update": "updated", "delete": "deleted", "unchanged": "unchanged"}
	if r.DryRun {
		verb = map[string]string{"create": "would create", "update": "would update", "delete": "would delete", "unchanged": "unchanged"}
	}
	for _, c := range r.Changes {
		fmt.Fprintf(env.Stdout, "%-13s %s %s\n", verb[c.Op], c.Kind, c.ID)
	}
	if r.Event != nil {
		fmt.Fprintf(env.Stdout, "event %d (bosun events revert %d undoes it)\n", r.Event.ID, r.Event.ID)
	}
}

var exportCommand = &Command{
	Name: "export", Args: "DIR",
	Short:    "write the policy model as YAML files that bosun apply reads back",
	Examples: `bosun export /srv/bosun-policy && git -C /srv/bosun-policy diff`,
	New:      func() Options { return &exportOptions{} },
}

type exportOptions struct{ RootOptions }

func (o *exportOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want one directory")
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	files, err := c.Export(ctx)
	if err != nil {
		return err
	}
	for _, f := range files.Files {
		if strings.Contains(f.Name, "..") || filepath.IsAbs(f.Name) {
			return fmt.Errorf("export: refusing file name %q", f.Name)
		}
		p := filepath.Join(args[0], f.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(f.Content), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(env.Stdout, p)
	}
	return nil
}
