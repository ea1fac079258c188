package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/cli/flagfile"
	"github.com/spf13/pflag"
)

var configDefaultsCommand = &cli.Command{
	Name: "config defaults", Args: "root|relay|agent",
	Short: "print a role's configuration file with every key, its default and its help",
	Long: `Prints the configuration file of a role (root, relay or agent) as YAML: every key, which is a
long flag of the role's daemon, with its help as a comment and its default commented out.
Remove the # of a line to set it. The files packaged in /etc/bosun are this output, and
docs/configuration.md is written from the same flags.`,
	Examples: `bosun config defaults agent
bosun config defaults relay > /etc/bosun/relay.yaml
# what changed in the defaults since the installed file was written
bosun config defaults root | diff /etc/bosun/root.yaml -`,
	ExitStatus: `0  printed
2  the command line is wrong (no role, or not root, relay or agent)`,
	New: func() cli.Options { return &configDefaultsOptions{} },
}

type configDefaultsOptions struct{}

func (*configDefaultsOptions) AddFlags(*pflag.FlagSet) {}

func (*configDefaultsOptions) Run(_ context.Context, env *cli.Env, args []string) error {
	if len(args) != 1 {
		return cli.Usagef("name one role: root, relay or agent")
	}
	role, err := parseRole(args[0])
	if err != nil {
		return err
	}
	return writeDefaults(env.Stdout, role)
}

func writeDefaults(w io.Writer, role string) error {
	also := ""
	if s := sharers(role); len(s) > 0 {
		also = fmt.Sprintf("\nThe verbs that work on the %s's data directory read the keys they share with it:\n  %s\n", role, strings.Join(s, "\n  "))
	}
	header := fmt.Sprintf(`%[1]s: the configuration of bosun %[2]s.

Every key is a long flag of bosun %[2]s (bosun help %[2]s), and every flag but --config is a
key; a flag given on the command line wins over the file.%[3]s
A line "#key: value" shows a default: remove the # and change the value to set it.
Lists are YAML sequences ([a, b]); durations are Go durations (30s, 5m, 1h30m).
Check this file with: bosun config check %[1]s
Written by bosun config defaults %[2]s.`, configPath(role), role, also)
	return flagfile.Defaults(w, header, roleKeys(role))
}
