package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/store"
)

// version is set at build time: -ldflags "-X main.version=..."
var version = "dev"

func commands() []*cli.Command {
	cmds := []*cli.Command{
		versionCommand,
		rootCommand, rootInitCommand, rootTokenCreateCommand,
		relayCommand, relayExportCommand, relayImportPoliciesCommand, techniquesCheckCommand,
		agentCommand, agentInventoryCommand, agentPolicyCommand,
		agentRunCommand, agentInfoCommand, agentSetForceAuditCommand, agentUnsetForceAuditCommand,
		configCheckCommand, configDefaultsCommand,
		benchFleetCommand,
	}
	return append(cmds, cli.Commands()...)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Main(ctx, commands(), os.Args[1:], cli.OSEnv())
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bosun: %v\n", err)
	}
	os.Exit(exitCode(err))
}

// exitCode is the one place errors become exit statuses (cli.StandardExitStatus documents
// them).
func exitCode(err error) int {
	var (
		usage   *cli.UsageError
		httpErr *api.HTTPError
		urlErr  *url.Error
		netErr  *net.OpError
		dirErr  *store.DirError
		exitErr *exitError
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		return exitErr.code
	case errors.As(err, &usage):
		return 2
	case errors.Is(err, cli.ErrWaitTimeout):
		return 5
	case errors.As(err, &httpErr):
		if httpErr.Code == api.CodeUnauthorized || httpErr.Code == api.CodeForbidden {
			return 4
		}
		return 1
	case errors.Is(err, cli.ErrNoRoot), errors.As(err, &urlErr), errors.As(err, &netErr):
		return 3
	case errors.As(err, &dirErr):
		return 1
	default:
		return 1
	}
}
