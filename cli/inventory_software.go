package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/pflag"
)

var inventorySoftwareCommand = &Command{
	Name:  "inventory software",
	Args:  "NAME",
	Short: "which nodes have a package, at which version",
	Long: `Searches the inventories the root holds for a package and prints one line per node and installed
version. NAME matches without regard to case; a NAME with * ? or [ is a shell pattern.
--version-below keeps the installs older than a version: Debian's ordering for dpkg packages
and Debian-family systems (1.0~rc1 < 1.0 < 1.0-1, epochs first), rpm's otherwise. Deleted
nodes are left out.`,
	Examples: `bosun inventory software openssl
# which nodes still run a vulnerable OpenSSL
bosun inventory software openssl --version-below 3.0.13-1~deb12u1
bosun inventory software 'linux-image-*' --json | jq -r '.installs[].hostname' | sort -u`,
	ExitStatus: `0  the search ran (finding nothing is not an error; "no node has ..." goes to stderr)
1  the root refused the search
2  the command line is wrong
3  the root could not be reached, or no root is configured
4  the token is missing, unknown, or not allowed to do this`,
	New: func() Options { return &inventorySoftwareOptions{} },
}

type inventorySoftwareOptions struct {
	RootOptions
	VersionBelow string
	JSON         bool
}

func (o *inventorySoftwareOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.StringVar(&o.VersionBelow, "version-below", "", "only installs older than this version")
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *inventorySoftwareOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return Usagef("want exactly one package name, got %d", len(args))
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	s, err := c.Software(ctx, args[0], o.VersionBelow)
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, s)
	}
	if len(s.Installs) == 0 {
		if o.VersionBelow != "" {
			fmt.Fprintf(env.Stderr, "no node has %s below %s\n", args[0], o.VersionBelow)
		} else {
			fmt.Fprintf(env.Stderr, "no node has %s\n", args[0])
		}
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOSTNAME\tNODE\tSTATUS\tPACKAGE\tVERSION\tARCH\tSOURCE")
	for _, i := range s.Installs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i.Hostname, i.NodeID, i.Status, i.Name, i.Version, i.Architecture, i.Source)
	}
	return tw.Flush()
}
