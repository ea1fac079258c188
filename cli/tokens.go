package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/spf13/pflag"
)

// tokenCommands are the verbs of API tokens.
func tokenCommands() []*Command {
	return []*Command{tokensListCommand, tokensCreateCommand, tokensRevokeCommand}
}

// TokenRoles are the roles a token may have, least first; each may do what those before it may.
var TokenRoles = []string{api.RoleReadOnly.String(), api.RoleOperator.String(), api.RoleAdmin.String()}

var tokensListCommand = &Command{
	Name:  "tokens list",
	Short: "list the API tokens: name, role, made when and by whom, expiry, last use",
	Long: `Lists the root's API tokens (admin role). Never their secrets: the root keeps only a hash of
each. LAST USED is exact to within 10 minutes; an expired token is listed, marked, until it is
revoked.`,
	Examples: `bosun tokens list
bosun tokens list --json`,
	New: func() Options { return &tokensListOptions{} },
}

type tokensListOptions struct {
	RootOptions
	JSON bool
}

func (o *tokensListOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	fs.BoolVar(&o.JSON, "json", false, "print JSON")
}

func (o *tokensListOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return Usagef("unexpected argument %q", args[0])
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	l, err := c.Tokens(ctx)
	if err != nil {
		return err
	}
	if o.JSON {
		return printJSON(env.Stdout, l)
	}
	tw := newTable(env.Stdout)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tBY\tEXPIRES\tLAST USED")
	now := time.Now()
	for _, t := range l.Tokens {
		expires := "never"
		switch {
		case t.Expires.IsZero():
		case !now.Before(t.Expires):
			expires = "expired " + ago(now, t.Expires)
		default:
			expires = t.Expires.Local().Format("2006-01-02 15:04")
		}
		by := t.CreatedBy
		if by == "" {
			by = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, ago(now, t.Created), by, expires, ago(now, t.LastUsed))
	}
	return tw.Flush()
}

var tokensCreateCommand = &Command{
	Name:  "tokens create",
	Short: "make an API token with a role; its secret is printed once",
	Long: `Makes an API token (admin role): read-only for Prometheus scraping /metrics and for the
dashboard, operator for people and scripts that accept nodes and change the policy model, admin
for those who manage tokens. The secret goes to stdout, alone on its line, so that it can be
written straight to a file; it is shown only this once (the root keeps only its hash). After
--expires the root refuses it. The creation is recorded in the event log (bosun events), never
the secret.

With the root stopped (the admin token lost), bosun root token create makes one on its data
directory.`,
	Examples: `# a token for Prometheus, written where prometheus.yml's credentials_file points, readable
# by Prometheus alone (a shell's > would make it as umask says, often world-readable)
bosun tokens create --name prometheus --role read-only |
  sudo install -m 0640 -o root -g prometheus /dev/stdin /etc/prometheus/bosun-root.token
bosun tokens create --name alice --role operator --expires 90d
bosun tokens create --name ci --role operator --expires 2027-06-30 --json`,
	New: func() Options { return &tokensCreateOptions{} },
}

// TokenFlags are the flags of a token to make, shared with bosun root token create.
type TokenFlags struct {
	Name    string
	Role    string
	Expires string
	JSON    bool
}

// AddFlags adds --name, --role, --expires and --json.
func (o *TokenFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Name, "name", "", "the token's name, unique (required): letters, digits, '.', '_', '@', '-'")
	fs.StringVar(&o.Role, "role", "", "read-only, operator or admin (required)")
	SetFlagWords(fs, "role", TokenRoles...)
	fs.StringVar(&o.Expires, "expires", "", "when the root stops taking it: a duration (90d, 12h) or a date (2027-06-30, RFC 3339); default never")
	fs.BoolVar(&o.JSON, "json", false, "print JSON (the secret included)")
}

// Request checks the flags and returns the request they make.
func (o *TokenFlags) Request(now time.Time) (api.TokenRequest, error) {
	if o.Name == "" || o.Role == "" {
		return api.TokenRequest{}, Usagef("want --name NAME and --role %s", strings.Join(TokenRoles, "|"))
	}
	if _, err := api.ParseRole(o.Role); err != nil {
		return api.TokenRequest{}, Usagef("--role: %v", err)
	}
	req := api.TokenRequest{Name: o.Name, Role: o.Role}
	if o.Expires != "" {
		t, err := ParseExpiry(o.Expires, now)
		if err != nil {
			return api.TokenRequest{}, Usagef("--expires: %v", err)
		}
		req.Expires = t
	}
	return req, nil
}

// PrintCreated prints a token just made: its secret alone on stdout, what it is on stderr.
func (o *TokenFlags) PrintCreated(env *Env, c api.TokenCreated) error {
	if o.JSON {
		return printJSON(env.Stdout, c)
	}
	fmt.Fprintln(env.Stdout, c.Secret)
	expires := "never expires"
	if !c.Token.Expires.IsZero() {
		expires = "expires " + c.Token.Expires.Local().Format(time.RFC3339)
	}
	fmt.Fprintf(env.Stderr, "token %s (%s, %s) created; its secret is shown only this once\n", c.Token.Name, c.Token.Role, expires)
	return nil
}

// ParseExpiry reads an expiry: a duration from now (90d, 36h, 1h30m) or a time (2027-06-30,
// 2027-06-30T12:00:00Z, local midnight for a bare date).
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.AddDate(0, 0, n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q is not in the future", s)
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want a duration (90d, 12h) or a date (2027-06-30, 2027-06-30T12:00:00Z)", s)
}

type tokensCreateOptions struct {
	RootOptions
	TokenFlags
}

func (o *tokensCreateOptions) AddFlags(fs *pflag.FlagSet) {
	o.RootOptions.AddFlags(fs)
	o.TokenFlags.AddFlags(fs)
}

func (o *tokensCreateOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return Usagef("unexpected argument %q (the name goes with --name)", args[0])
	}
	req, err := o.Request(time.Now())
	if err != nil {
		return err
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	created, err := c.CreateToken(ctx, req)
	if err != nil {
		return err
	}
	return o.PrintCreated(env, created)
}

var tokensRevokeCommand = &Command{
	Name: "tokens revoke", Args: "NAME...",
	Short: "revoke API tokens: the root refuses them from the next request on",
	Long: `Revokes API tokens by name (admin role), for a token that leaked or is no longer needed. The
root refuses a revoked token at once (401). Each revocation is recorded in the event log. The
last admin token that has not expired cannot be revoked (exit 1, code conflict), so that someone
can still manage tokens: create another admin token first.`,
	Examples: `bosun tokens revoke prometheus
# every token of a departed colleague
bosun tokens list --json | jq -r '.tokens[] | select(.name | startswith("bob")) | .name' | xargs bosun tokens revoke`,
	New: func() Options { return &tokensRevokeOptions{} },
}

type tokensRevokeOptions struct {
	RootOptions
}

func (o *tokensRevokeOptions) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return Usagef("want one or more token names")
	}
	c, err := o.Client(env)
	if err != nil {
		return err
	}
	var failed error
	for _, name := range args {
		r, err := c.RevokeToken(ctx, name)
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", name, err)
			if failed == nil {
				failed = err
			}
			continue
		}
		fmt.Fprintf(env.Stdout, "%s\t%s\trevoked\n", r.Token.Name, r.Token.Role)
	}
	return failed
}
