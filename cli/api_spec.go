package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
)

var apiSpecCommand = &Command{
	Name:  "api spec",
	Short: "print the root's API reference (OpenAPI 3.1, JSON)",
	Long: `Prints the OpenAPI 3.1 document of /api/v1 that the root serves at GET /api/v1/openapi.json:
every route with its parameters, bodies, answers, error codes and the least token role it
needs (x-bosun-role). Feed it to an OpenAPI viewer or a client generator. It comes from the
root, so it describes the version of the root that answers, not the CLI's.`,
	Examples: `bosun api spec > bosun-openapi.json
bosun api spec | jq '.paths | keys'`,
	New: func() Options { return &apiSpecOptions{} },
}

type apiSpecOptions struct{ RootOptions }

func (o *apiSpecOptions) AddFlags(fs *pflag.FlagSet) { o.RootOptions.AddFlags(fs) }

func (o *apiSpecOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return Usagef("takes no arguments")
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	doc, err := c.OpenAPI(ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "%s\n", doc)
	return err
}
