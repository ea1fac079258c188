package host

import (
	"context"
	"fmt"
	"strings"
)

// Systemd is the systemctl backend.
type Systemd struct {
	Commands Commands
}

var _ Services = (*Systemd)(nil)

// State implements Services. A unit systemd does not know is an error, not a stopped service:
// a typo in a service name must not pass as compliant.
func (s *Systemd) State(ctx context.Context, name string) (ServiceState, error) {
	res, err := run(ctx, s.Commands, []string{"LC_ALL=C"}, "systemctl", "show",
		"--property=LoadState,ActiveState,UnitFileState", "--", name)
	if err != nil {
		return ServiceState{}, fmt.Errorf("state of service %s: %w", name, err)
	}
	props := map[string]string{}
	for _, line := range strings.Split(string(res.Output), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			props[k] = strings.TrimSpace(v)
		}
	}
	if props["LoadState"] == "not-found" {
		return ServiceState{}, fmt.Errorf("state of service %s: no such unit", name)
	}
	st := ServiceState{
		Active: props["ActiveState"] == "active" || props["ActiveState"] == "reloading",
	}
	switch props["UnitFileState"] {
	case "enabled", "enabled-runtime", "alias", "static", "indirect", "generated":
		st.Enabled = true
	}
	return st, nil
}

// Do implements Services.
func (s *Systemd) Do(ctx context.Context, action ServiceAction, name string) error {
	if _, err := run(ctx, s.Commands, []string{"LC_ALL=C"}, "systemctl", string(action), "--", name); err != nil {
		return fmt.Errorf("%s service %s: %w", action, name, err)
	}
	return nil
}

// NoSystemd stands for a machine where systemd does not run.
type NoSystemd struct{}

var _ Services = NoSystemd{}

func (NoSystemd) State(_ context.Context, name string) (ServiceState, error) {
	return ServiceState{}, fmt.Errorf("service %s: systemd is not running: %w", name, ErrNotApplicable)
}
func (NoSystemd) Do(_ context.Context, action ServiceAction, name string) error {
	return fmt.Errorf("%s service %s: systemd is not running: %w", action, name, ErrNotApplicable)
}
