package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/wire"
	"github.com/spf13/pflag"
)

var versionCommand = &cli.Command{
	Name:     "version",
	Short:    "print the version of this binary and of its protocol",
	Examples: `bosun version`,
	New:      func() cli.Options { return &versionOptions{} },
}

type versionOptions struct{}

func (*versionOptions) AddFlags(*pflag.FlagSet) {}

func (*versionOptions) Run(_ context.Context, env *cli.Env, args []string) error {
	if len(args) > 0 {
		return cli.Usagef("unexpected argument %q", args[0])
	}
	fmt.Fprintf(env.Stdout, "bosun %s (protocol %d, %s, %s/%s)\n", version, wire.ProtocolVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
