package main

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/cli/flagfile"
	"github.com/spf13/pflag"
)

// roles are the daemons that read a configuration file, /etc/bosun/<role>.yaml.
var roles = []string{"root", "relay", "agent"}

// configDirEnv names the directory of the roles' files in place of /etc/bosun. The test
// harnesses (TestMain of cmd/bosun and e2e) point it at an empty directory, so that the files
// of a bosun package installed on the machine cannot change what the tests see.
const configDirEnv = "BOSUN_ROLE_CONFIG_DIR"

// configPath is where a role's file is documented to be: help, hints, the reference and the
// packaged files name it.
func configPath(role string) string { return "/etc/bosun/" + role + ".yaml" }

// defaultConfigPath is the file a role reads when --config is not given: configPath, or the
// file in $BOSUN_ROLE_CONFIG_DIR.
func defaultConfigPath(role string) string {
	if dir := os.Getenv(configDirEnv); dir != "" {
		return filepath.Join(dir, role+".yaml")
	}
	return configPath(role)
}

// roleCommand is the daemon whose flags are the keys of a role's configuration file.
func roleCommand(role string) *cli.Command {
	switch role {
	case "root":
		return rootCommand
	case "relay":
		return relayCommand
	case "agent":
		return agentCommand
	}
	return nil
}

// roleKeys returns a fresh flag set of the keys of a role's file: every flag of the daemon but
// --config (a file naming another file would be a chain nobody can follow) and hidden ones.
func roleKeys(role string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("bosun "+role, pflag.ContinueOnError)
	roleCommand(role).New().AddFlags(fs)
	return flagfile.Keys(fs, "config")
}

func parseRole(s string) (string, error) {
	for _, r := range roles {
		if s == r {
			return r, nil
		}
	}
	return "", cli.Usagef("unknown role %q: want root, relay or agent", s)
}

// mainFlags are the flags cli.Main gives every verb: they are no role's keys, the colours of
// a terminal being no setting of a daemon.
var mainFlags = map[string]bool{"color": true, "colour": true, "help": true}

// readConfig reads and checks a role's file; an unknown key that another role has is said to
// belong there, for a relay's upstream pasted into agent.yaml.
func readConfig(path, role string) (*flagfile.File, error) {
	f, err := flagfile.Read(path, roleKeys(role))
	var fe *flagfile.Error
	if !errors.As(err, &fe) {
		return f, err
	}
	for i, p := range fe.Problems {
		if !p.Unknown {
			continue
		}
		var in []string
		for _, r := range roles {
			if r != role && roleKeys(r).Lookup(p.Key) != nil {
				in = append(in, configPath(r))
			}
		}
		switch {
		case len(in) > 0:
			fe.Problems[i].Msg += fmt.Sprintf(" (a key of %s)", strings.Join(in, " and "))
		case mainFlags[p.Key]:
			fe.Problems[i].Msg += fmt.Sprintf(" (--%s is a flag of every verb, for the command line only)", p.Key)
		}
	}
	return nil, err
}

// configFile is the --config flag of a daemon and of the verbs that work on its data
// directory: all of a role read the same file, each the keys it has a flag for, so that
// `bosun agent info` finds the data directory the daemon uses without being told.
type configFile struct {
	role string
	Path string
}

func (c *configFile) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Path, "config", defaultConfigPath(c.role),
		"configuration file: YAML, keys are the long flags of bosun "+c.role+"; flags given here win; a missing default file is no error")
}

// configRole names the role whose file this verb reads.
func (c *configFile) configRole() string { return c.role }

// Prepare sets the flags the command line left alone from the file. A default file that does
// not exist means flags and defaults only: a machine need not have one.
func (c *configFile) Prepare(fs *pflag.FlagSet) error {
	f, err := readConfig(c.Path, c.role)
	switch {
	case errors.Is(err, iofs.ErrNotExist) && !fs.Changed("config"):
		return nil
	case errors.Is(err, iofs.ErrNotExist):
		return &exitError{code: 2, err: fmt.Errorf("configuration file %s does not exist: name an existing file, or leave out --config to run on flags and defaults", c.Path)}
	case err == nil:
		err = f.Apply(fs)
	}
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("configuration file %s:\n%w\nfix the file (bosun config defaults %s shows every key with its default), or name another with --config", c.Path, err, c.role)}
	}
	return nil
}

// roleVerb is a verb that reads a role's file.
type roleVerb interface{ configRole() string }

// sharers returns the verbs other than the daemon that read a role's file, each with the keys
// it takes from it, sorted by name.
func sharers(role string) []string {
	keys := roleKeys(role)
	var out []string
	for _, c := range commands() {
		v, ok := c.New().(roleVerb)
		if !ok || v.configRole() != role || c == roleCommand(role) {
			continue
		}
		fs := pflag.NewFlagSet(c.Name, pflag.ContinueOnError)
		c.New().AddFlags(fs)
		var shared []string
		flagfile.Keys(fs, "config").VisitAll(func(f *pflag.Flag) {
			if keys.Lookup(f.Name) != nil {
				shared = append(shared, f.Name)
			}
		})
		out = append(out, fmt.Sprintf("bosun %s (%s)", c.Name, strings.Join(shared, ", ")))
	}
	sort.Strings(out)
	return out
}
