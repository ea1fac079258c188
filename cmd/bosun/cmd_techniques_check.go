package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/root/policy"
	"github.com/spf13/pflag"
)

var techniquesCheckCommand = &cli.Command{
	Name: "techniques check", Args: "FILE|DIR...",
	Short: "validate technique files offline, without a root",
	Long: `Loads each technique file (Rudder's YAML format, see docs/techniques.md) and checks it as the
root would: known methods and their parameters, parameter types, conditions, blocks and their
reporting logic. Nothing is sent anywhere. Made for technique authors and CI jobs.`,
	Examples: `bosun techniques check my-technique.yml
bosun techniques check techniques/      # every *.yml below`,
	ExitStatus: `0  every file is valid
1  at least one file has an error; each is printed with its file, line and field
2  the command line is wrong`,
	New: func() cli.Options { return &techniquesCheckOptions{} },
}

type techniquesCheckOptions struct{}

func (*techniquesCheckOptions) AddFlags(*pflag.FlagSet) {}

// errCheckFailed says the errors were printed already.
var errCheckFailed = errors.New("technique check failed")

func (*techniquesCheckOptions) Run(_ context.Context, env *cli.Env, args []string) error {
	if len(args) == 0 {
		return cli.Usagef("name technique files or directories")
	}
	failed := 0
	for _, path := range args {
		docs, err := policy.LoadPath(path)
		if err == nil {
			m := &policy.Model{}
			_, err = m.DryRun(docs)
			if err == nil {
				for _, d := range docs {
					if d.Kind == policy.KindTechnique {
						fmt.Fprintf(env.Stdout, "ok      %s (%s %s)\n", d.File, d.Technique.ID, d.Technique.Version)
					}
				}
			}
		}
		if err != nil {
			failed++
			fmt.Fprintf(env.Stdout, "error   %v\n", err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d paths", errCheckFailed, failed, len(args))
	}
	return nil
}
