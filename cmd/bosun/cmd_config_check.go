package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/bosun-io/bosun/cli"
	"github.com/spf13/pflag"
)

var configCheckCommand = &cli.Command{
	Name: "config check", Args: "FILE...",
	Short: "validate role configuration files (/etc/bosun/<role>.yaml) offline",
	Long: `Checks each file as its daemon would read it: YAML syntax, that every key is a flag of the
role (with a suggestion for a near miss), and that every value parses as that flag would parse
it on the command line (durations, numbers, booleans, lists, log levels, gossip profiles).
Each problem is printed as file:line: message. The role is guessed from the file name
(agent.yaml, relay-dmz.yaml) unless --role names it. Nothing is started or contacted.`,
	Examples: `bosun config check /etc/bosun/agent.yaml
bosun config check /etc/bosun/*.yaml
bosun config check --role relay /srv/zone-a/bosun.yaml`,
	ExitStatus: `0  every file is valid
1  at least one file is invalid or unreadable; each problem is printed with file, line and key
2  the command line is wrong (no file, an unknown role, or a file name that names no role
   and no --role)`,
	New: func() cli.Options { return &configCheckOptions{} },
}

type configCheckOptions struct {
	Role string
}

func (o *configCheckOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Role, "role", "", "root, relay or agent (default: guessed from each file's name)")
	cli.SetFlagWords(fs, "role", roles...) // not the node roles of nodes list --role
}

// errConfigInvalid says the problems were printed already.
var errConfigInvalid = errors.New("configuration check failed")

func (o *configCheckOptions) Run(_ context.Context, env *cli.Env, args []string) error {
	if len(args) == 0 {
		return cli.Usagef("name the configuration files to check")
	}
	roleOf := make([]string, len(args))
	for i, path := range args {
		role, err := o.role(path)
		if err != nil {
			return err
		}
		roleOf[i] = role
	}
	failed := 0
	for i, path := range args {
		f, err := readConfig(path, roleOf[i])
		if err != nil {
			failed++
			fmt.Fprintln(env.Stdout, err)
			continue
		}
		sets := "sets nothing: flags and defaults only"
		if keys := f.Keys(); len(keys) > 0 {
			sets = "sets " + strings.Join(keys, ", ")
		}
		fmt.Fprintf(env.Stdout, "%s: valid configuration of bosun %s, %s\n", path, roleOf[i], sets)
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d files", errConfigInvalid, failed, len(args))
	}
	return nil
}

// role is --role, or the role the file's name starts with: agent.yaml, relay-dmz.yaml, and
// root.yaml.dpkg-dist all tell.
func (o *configCheckOptions) role(path string) (string, error) {
	if o.Role != "" {
		return parseRole(o.Role)
	}
	name := filepath.Base(path)
	for _, r := range roles {
		if rest, ok := strings.CutPrefix(name, r); ok && (rest == "" || strings.ContainsRune(".-_", rune(rest[0]))) {
			return r, nil
		}
	}
	return "", cli.Usagef("%s: the file name names no role; pass --role root, relay or agent", path)
}
