package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bosun-io/bosun/root/api"
	"github.com/spf13/pflag"
)

// Config is the CLI's configuration file, written by `bosun root init` for the user who
// ran it.
type Config struct {
	Root     string `json:"root"`     // https://host:port of the root's API
	Token    string `json:"token"`    // bearer token
	RootCert string `json:"rootCert"` // PEM of the API certificate to pin; empty: system roots
}

// ErrNoRoot means nothing told the CLI where the root is.
var ErrNoRoot = errors.New("no root configured")

// DefaultConfigPath is where `bosun root init` writes the CLI configuration.
func DefaultConfigPath(getenv func(string) string) string {
	if p := getenv("BOSUN_CONFIG"); p != "" {
		return p
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "bosun", "cli.json")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "bosun", "cli.json")
	}
	return ""
}

// WriteConfig writes a CLI configuration, readable by its owner only: it holds a token.
func WriteConfig(path string, c Config) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// RootOptions are the flags of every verb that talks to the root.
type RootOptions struct {
	Root     string
	Token    string
	RootCert string
	Config   string
	Timeout  time.Duration
}

func (o *RootOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Root, "root", "", "root API URL, https://host:6711 (default $BOSUN_ROOT, then the CLI config file)")
	fs.StringVar(&o.Token, "token", "", "API token (default $BOSUN_TOKEN, then the CLI config file)")
	fs.StringVar(&o.RootCert, "root-cert", "", "PEM file of the root's API certificate to trust (default $BOSUN_ROOT_CERT, then the CLI config file)")
	fs.StringVar(&o.Config, "config", "", "CLI config file (default $BOSUN_CONFIG, then ~/.config/bosun/cli.json)")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "give up on the root after this long")
}

// Client resolves the root, token and certificate (flags, then environment, then the
// config file) and returns an API client.
func (o *RootOptions) Client(env *Env) (*api.Client, error) {
	c := Config{Root: o.Root, Token: o.Token}
	certPEM := []byte(nil)
	if o.RootCert != "" {
		b, err := os.ReadFile(o.RootCert)
		if err != nil {
			return nil, fmt.Errorf("read --root-cert: %w", err)
		}
		certPEM = b
	}
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&c.Root, env.Getenv("BOSUN_ROOT"))
	fill(&c.Token, env.Getenv("BOSUN_TOKEN"))
	if certPEM == nil {
		if p := env.Getenv("BOSUN_ROOT_CERT"); p != "" {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("read $BOSUN_ROOT_CERT: %w", err)
			}
			certPEM = b
		}
	}
	path := o.Config
	if path == "" {
		path = DefaultConfigPath(env.Getenv)
	}
	if path != "" && (c.Root == "" || c.Token == "" || certPEM == nil) {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			var fc Config
			if err := json.Unmarshal(b, &fc); err != nil {
				return nil, fmt.Errorf("CLI config %s: %w", path, err)
			}
			// The file's certificate belongs to the file's root: do not pin it for a root
			// given by flag or environment.
			if certPEM == nil && (c.Root == "" || c.Root == fc.Root) && fc.RootCert != "" {
				certPEM = []byte(fc.RootCert)
			}
			fill(&c.Root, fc.Root)
			fill(&c.Token, fc.Token)
		case !errors.Is(err, os.ErrNotExist) || o.Config != "":
			return nil, fmt.Errorf("CLI config: %w", err)
		}
	}
	if c.Root == "" {
		return nil, fmt.Errorf("%w: pass --root, set BOSUN_ROOT, or run bosun root init on this machine", ErrNoRoot)
	}
	if !strings.HasPrefix(c.Root, "https://") {
		return nil, Usagef("--root %q: the API is served over HTTPS only; use https://host:port", c.Root)
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if certPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(certPEM) {
			return nil, errors.New("the root certificate to trust is not PEM")
		}
		tlsConf.RootCAs = pool
	}
	return &api.Client{
		BaseURL: strings.TrimRight(c.Root, "/"),
		Token:   c.Token,
		HTTP: &http.Client{
			Timeout:   o.Timeout,
			Transport: &http.Transport{TLSClientConfig: tlsConf, Proxy: http.ProxyFromEnvironment},
		},
	}, nil
}
