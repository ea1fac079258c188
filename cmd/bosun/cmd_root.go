package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/mesh"
	"github.com/bosun-io/bosun/root"
	"github.com/spf13/pflag"
)

const defaultRootData = "/var/lib/bosun/root"

var rootCommand = &cli.Command{
	Name:  "root",
	Short: "run the root: the registry, the API, the centre of the fleet",
	Long: `Runs the root until interrupted (SIGINT or SIGTERM stop it cleanly). Nodes and relays reach it
over QUIC (UDP, --listen); operators over the HTTPS API (TCP, --api-listen) with a token.
The data directory must have been prepared by bosun root init.`,
	Examples: `bosun root init --data /var/lib/bosun/root
bosun root --data /var/lib/bosun/root
bosun root --config /etc/bosun/root.yaml --log-level debug   # the file's settings, one changed
bosun root --data /tmp/r --listen 127.0.0.1:16710 --api-listen 127.0.0.1:16711`,
	ExitStatus: `0  stopped cleanly
1  could not start (data directory, listeners) or failed while running
2  the command line or the configuration file is wrong`,
	New: func() cli.Options { return &rootOptions{configFile: configFile{role: "root"}} },
}

type rootOptions struct {
	configFile
	logOptions
	debugOptions
	Data      string
	Listen    string
	APIListen string
	// RequireSignature refuses imported inventories without a Rudder signature.
	RequireSignature bool
	GossipListen     string
	GossipProfile    string
	LogDir           string
	HooksDir         string
	CVEFeed          string
	SharedFiles      string
}

func (o *rootOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", defaultRootData, "data directory")
	fs.StringVar(&o.Listen, "listen", ":6710", "QUIC address (UDP) for nodes and relays")
	fs.StringVar(&o.APIListen, "api-listen", ":6711", "HTTPS API address (TCP) for operators")
	fs.StringVar(&o.LogDir, "log-dir", "", "where the drift log non-compliant-reports.log goes (default <data>/log)")
	fs.StringVar(&o.HooksDir, "hooks-dir", "", "drift hooks: executables in <dir>/<event kind>/ (default <data>/hooks)")
	fs.StringVar(&o.SharedFiles, "shared-files", "", "the files nodes fetch for file_from_shared_folder (default <data>/shared-files)")
	fs.StringVar(&o.CVEFeed, "cve-feed", "", "a CVE feed file (JSON, see README): node scores then have a vulnerability sub-score")
	fs.StringVar(&o.GossipListen, "gossip-listen", ":6713", "the pool of relays and the root (UDP and TCP); empty: no gossip")
	fs.Var(newCheckedString(&o.GossipProfile, "wan", checkGossipProfile), "gossip-profile", "timers of that pool: lan, wan or local (tests)")
	fs.BoolVar(&o.RequireSignature, "require-inventory-signature", false, "refuse inventories imported over HTTP or from the drop directory without a valid Rudder signature")
	o.logOptions.AddFlags(fs)
	o.debugOptions.AddFlags(fs)
}

func (o *rootOptions) Run(ctx context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	log, err := o.logger()
	if err != nil {
		return cli.Usagef("%v", err)
	}
	profile, err := mesh.ParseProfile(o.GossipProfile)
	if err != nil {
		return cli.Usagef("--gossip-profile: %v", err)
	}
	r, err := root.New(root.Config{DataDir: o.Data, QUICAddr: o.Listen, APIAddr: o.APIListen, SoftwareVersion: version, Logger: log,
		RequireInventorySignature: o.RequireSignature, GossipListen: o.GossipListen, GossipProfile: profile,
		LogDir: o.LogDir, HooksDir: o.HooksDir, CVEFeed: o.CVEFeed, SharedFilesDir: o.SharedFiles})
	if err != nil {
		return err
	}
	defer r.Close()
	waitDebug, err := o.debugOptions.start(ctx, log)
	if err != nil {
		return err
	}
	defer waitDebug()
	if err := r.Run(ctx); err != nil {
		return err
	}
	log.Info("root stopped")
	return nil
}

var rootInitCommand = &cli.Command{
	Name:  "root init",
	Short: "prepare a root's data directory and the operator's CLI configuration",
	Long: `Creates the data directory (mode 0700), the root's key and node id, the certificate of its
HTTPS API and a first admin token. The token is printed once and stored only as a hash.
The CLI configuration (API address, token, certificate to trust) is written for the user
who runs this, so that bosun nodes list works at once on this machine.`,
	Examples: `bosun root init --data /var/lib/bosun/root
# an API reachable as root.example.org, configuration for another user
bosun root init --data /var/lib/bosun/root --api-name root.example.org --cli-config /home/ops/.config/bosun/cli.json`,
	New: func() cli.Options { return &rootInitOptions{configFile: configFile{role: "root"}} },
}

type rootInitOptions struct {
	configFile
	Data      string
	APIURL    string
	APINames  []string
	CLIConfig string
}

func (o *rootInitOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", defaultRootData, "data directory")
	fs.StringVar(&o.APIURL, "api-url", "https://127.0.0.1:6711", "the API's URL, as written in the CLI configuration")
	fs.StringSliceVar(&o.APINames, "api-name", nil, "extra host name or address the API certificate is valid for (repeatable)")
	fs.StringVar(&o.CLIConfig, "cli-config", "", "where to write the CLI configuration (default $BOSUN_CONFIG, then ~/.config/bosun/cli.json)")
}

func (o *rootInitOptions) Run(ctx context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	names := append([]string(nil), o.APINames...)
	if host, _, err := net.SplitHostPort(strings.TrimPrefix(o.APIURL, "https://")); err == nil {
		names = append(names, host)
	}
	res, err := root.Init(o.Data, root.InitOptions{APINames: names})
	if err != nil {
		return err
	}
	path := o.CLIConfig
	if path == "" {
		path = cli.DefaultConfigPath(env.Getenv)
	}
	fmt.Fprintf(env.Stdout, "root initialised in %s\n  node id:      %s\n  fingerprint:  %s\n  admin token:  %s\n",
		o.Data, res.NodeID, res.KeyFingerprint, res.AdminToken)
	fmt.Fprintln(env.Stdout, "The admin token is shown only this once; keep it somewhere safe.")
	if path == "" {
		fmt.Fprintln(env.Stdout, "No home directory: no CLI configuration written; use --root, --token and --root-cert.")
		return nil
	}
	if err := cli.WriteConfig(path, cli.Config{Root: o.APIURL, Token: res.AdminToken, RootCert: string(res.APICertPEM)}); err != nil {
		return fmt.Errorf("write CLI configuration: %w", err)
	}
	fmt.Fprintf(env.Stdout, "CLI configuration written to %s\n", path)
	fmt.Fprintf(env.Stdout, "Agents and relays pin the root with --server-fingerprint %s\n", res.KeyFingerprint)
	return nil
}

var rootTokenCreateCommand = &cli.Command{
	Name:  "root token create",
	Short: "make an API token on a stopped root's data directory (a lost admin token)",
	Long: `Makes an API token directly in the root's data directory, for when the API cannot be used: the
admin token was lost, or every admin token expired. Stop the root first: it holds its store
locked while it runs (with the root running and an admin token, use bosun tokens create). The
secret goes to stdout, alone on its line, and is shown only this once; the event log records
the creation as made offline by the user who ran this.`,
	Examples: `# as the user the root runs as (the package's: bosun), whose files the store's must stay
sudo systemctl stop bosun-root
sudo -u bosun bosun root token create --data /var/lib/bosun/root --name rescue --role admin --expires 1d
sudo systemctl start bosun-root
# then, with that token: make a lasting one, and revoke the rescue token
bosun tokens create --name ops --role admin --token "$RESCUE" && bosun tokens revoke rescue`,
	ExitStatus: `0  the token was made
1  it could not be (the root is running, the name is taken, no root in the directory)
2  the command line or the configuration file is wrong`,
	New: func() cli.Options { return &rootTokenCreateOptions{configFile: configFile{role: "root"}} },
}

type rootTokenCreateOptions struct {
	configFile
	cli.TokenFlags
	Data string
}

func (o *rootTokenCreateOptions) AddFlags(fs *pflag.FlagSet) {
	o.configFile.AddFlags(fs)
	fs.StringVar(&o.Data, "data", defaultRootData, "data directory")
	o.TokenFlags.AddFlags(fs)
}

func (o *rootTokenCreateOptions) Run(_ context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q (the name goes with --name)", args[0])
	}
	req, err := o.Request(time.Now())
	if err != nil {
		return err
	}
	created, err := root.CreateToken(o.Data, req)
	if err != nil {
		return err
	}
	return o.PrintCreated(env, created)
}
