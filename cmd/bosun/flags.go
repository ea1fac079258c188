package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/bosun-io/bosun/mesh"
	"github.com/spf13/pflag"
)

// logOptions are the logging flags of the daemons.
type logOptions struct {
	Level  string
	Format string
}

func (o *logOptions) AddFlags(fs *pflag.FlagSet) {
	fs.Var(newCheckedString(&o.Level, "info", checkLogLevel), "log-level", "debug, info, warn or error")
	fs.Var(newCheckedString(&o.Format, "text", checkLogFormat), "log-format", "text or json")
}

func (o *logOptions) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.Level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", o.Level)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch o.Format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, hopts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", o.Format)
}

// checkedString is a string flag checked when it is set, so that a bad value is refused where
// it was written: on the command line, or in the configuration file with its line, which
// bosun config check then finds before the daemon is restarted.
type checkedString struct {
	p     *string
	check func(string) error // says what it wants: "want lan, wan or local"
}

func newCheckedString(p *string, def string, check func(string) error) *checkedString {
	*p = def
	return &checkedString{p: p, check: check}
}

func (c *checkedString) String() string {
	if c.p == nil {
		return ""
	}
	return *c.p
}

// Type is string, so that help and the configuration reference call it what it is.
func (c *checkedString) Type() string { return "string" }

func (c *checkedString) Set(s string) error {
	if err := c.check(s); err != nil {
		return err
	}
	*c.p = s
	return nil
}

func checkLogLevel(s string) error {
	var level slog.Level
	if level.UnmarshalText([]byte(s)) != nil {
		return errors.New("want debug, info, warn or error")
	}
	return nil
}

func checkLogFormat(s string) error {
	if s != "text" && s != "json" {
		return errors.New("want text or json")
	}
	return nil
}

func checkGossipProfile(s string) error {
	if _, err := mesh.ParseProfile(s); err != nil {
		return errors.New("want lan, wan or local")
	}
	return nil
}
