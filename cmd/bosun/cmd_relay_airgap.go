package main

import (
	"context"
	"fmt"

	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/relay"
	"github.com/spf13/pflag"
)

var relayExportCommand = &cli.Command{
	Name:  "relay export",
	Short: "write everything a stopped relay holds for its upstream into a signed bundle",
	Long: `For zones whose uplink is a person with a USB stick: writes every enrolment, inventory and report
the relay has queued for its upstream into a bundle signed with the relay's key, to be carried to
the root and imported with bosun root import. Stop the relay first (its store is locked while it
runs). The exported items leave the queue once the bundle is on disk, unless --keep; the root
takes each bundle and each report once, so a bundle imported after the link came back is harmless.`,
	Examples: `systemctl stop bosun-relay
bosun relay export --data /var/lib/bosun/relay --to /media/usb/ship7.bundle
systemctl start bosun-relay`,
	New: func() cli.Options { return &relayExportOptions{configFile: configFile{role: "relay"}} },
}

type relayExportOptions struct {
	configFile
	Data string
	To   string
	Keep bool
}

func (o *relayExportOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", "/var/lib/bosun/relay", "the relay's data directory")
	fs.StringVar(&o.To, "to", "", "the bundle file to write (required; must not exist)")
	fs.BoolVar(&o.Keep, "keep", false, "leave the exported items in the queue as well")
}

func (o *relayExportOptions) Run(_ context.Context, env *cli.Env, args []string) error {
	if o.To == "" || len(args) > 0 {
		return cli.Usagef("want --to FILE")
	}
	bar := cli.NewProgress(env.Stderr, "exporting items", 0)
	res, err := relay.ExportQueueProgress(o.Data, o.To, o.Keep, func(done, total int) {
		bar.SetTotal(int64(total))
		bar.Set(int64(done))
	})
	bar.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "bundle %s: %d items, %d bytes, written to %s\n", res.BundleID, res.Items, res.Bytes, o.To)
	return nil
}

var relayImportPoliciesCommand = &cli.Command{
	Name: "relay import-policies", Args: "FILE",
	Short: "load a policies bundle from the root (bosun root export-policies) into a stopped relay",
	Long: `Loads the policies the root exported for this relay into its policy cache, from which it serves
its agents while cut off. The bundle must be signed by the root: by the key given with
--root-fingerprint, or the one the relay learned from the root's answers. Stop the relay first.`,
	Examples: `bosun relay import-policies --data /var/lib/bosun/relay /media/usb/policies.bundle`,
	New:      func() cli.Options { return &relayImportPoliciesOptions{configFile: configFile{role: "relay"}} },
}

type relayImportPoliciesOptions struct {
	configFile
	Data            string
	RootFingerprint string
}

func (o *relayImportPoliciesOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", "/var/lib/bosun/relay", "the relay's data directory")
	fs.StringVar(&o.RootFingerprint, "root-fingerprint", "", "the root's key fingerprint (sha256:...), if the relay never heard from the root")
}

func (o *relayImportPoliciesOptions) Run(_ context.Context, env *cli.Env, args []string) error {
	if len(args) != 1 {
		return cli.Usagef("want one bundle file")
	}
	bar := cli.NewProgress(env.Stderr, "loading policies", 0)
	n, err := relay.ImportPoliciesProgress(o.Data, args[0], o.RootFingerprint, func(done, total int) {
		bar.SetTotal(int64(total))
		bar.Set(int64(done))
	})
	bar.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d policies loaded into the relay's cache\n", n)
	return nil
}
