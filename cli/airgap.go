package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/pflag"
)

// airgapCommands are the root's side of air-gapped zones.
func airgapCommands() []*Command {
	return []*Command{rootImportCommand, rootExportPoliciesCommand, relaysListCommand}
}

var rootImportCommand = &Command{
	Name: "root import", Args: "FILE",
	Short: "ingest a bundle a relay exported (bosun relay export), exactly once",
	Long: `Uploads a bundle written by bosun relay export in an air-gapped zone. The root checks that the
relay named in it signed it, then takes its enrolments, inventories and reports as if the relay
had forwarded them. Each bundle is taken once: importing it again changes nothing.`,
	Examples: `bosun root import /media/usb/relay-ship7-2026-11-24.bundle`,
	New:      func() Options { return &rootImportOptions{} },
}

type rootImportOptions struct{ RootOptions }

func (o *rootImportOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want one bundle file")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	bar := NewByteProgress(env.Stderr, "uploading bundle", size)
	r, err := c.ImportBundle(ctx, bar.Reader(f))
	bar.Done()
	if err != nil {
		return err
	}
	if r.AlreadyImported {
		fmt.Fprintf(env.Stdout, "bundle %s from relay %s was imported before; nothing changed\n", r.BundleID, r.Relay)
		return nil
	}
	fmt.Fprintf(env.Stdout, "bundle %s from relay %s: %d items taken\n", r.BundleID, r.Relay, r.Items)
	return nil
}

var rootExportPoliciesCommand = &Command{
	Name:  "root export-policies",
	Short: "write the signed policies of a relay's nodes to a bundle (bosun relay import-policies)",
	Long: `Writes the applied policies of every accepted node behind a relay into a bundle signed by the
root, for a relay cut off from its upstream. The relay imports it with bosun relay
import-policies and serves the policies to its agents, which check the root's signature.`,
	Examples: `bosun root export-policies --relay 3adfed69-6a66-44c8-a45d-3583ac204a71 --to /media/usb/policies.bundle`,
	New:      func() Options { return &rootExportPoliciesOptions{} },
}

type rootExportPoliciesOptions struct {
	RootOptions
	Relay string
	To    string
}

func (o *rootExportPoliciesOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.StringVar(&o.Relay, "relay", "", "the relay's node id (required)")
	fs.StringVar(&o.To, "to", "", "the bundle file to write (required; must not exist)")
}

func (o *rootExportPoliciesOptions) Run(ctx context.Context, env *Env, args []string) error {
	if o.Relay == "" || o.To == "" || len(args) > 0 {
		return Usagef("want --relay ID and --to FILE")
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	b, n, err := c.ExportPolicies(ctx, o.Relay)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(o.To, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s policies for relay %s written to %s (%d bytes)\n", n, o.Relay, o.To, len(b))
	return nil
}
