package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// ErrNotApplicable is returned by a backend that cannot exist on this machine (no systemd, no
// known package manager): the caller reports not-applicable rather than an error.
var ErrNotApplicable = errors.New("not applicable on this host")

// Package is one installed package as its manager names it.
type Package struct {
	Name    string
	Version string
	Arch    string
}

// Packages queries and changes the node's packages through its package manager.
type Packages interface {
	// Installed reports the installed package of that name (and architecture, unless arch is
	// empty).
	Installed(ctx context.Context, name, arch string) (Package, bool, error)
	// Latest returns the newest version the configured repositories offer.
	Latest(ctx context.Context, name, arch string) (string, error)
	// Install installs or upgrades name; an empty version means the manager's choice. A name
	// that is an absolute path is a local package file.
	Install(ctx context.Context, name, version, arch string) error
	Remove(ctx context.Context, name, arch string) error
}

// ServiceState is what the service manager says about a unit.
type ServiceState struct {
	Active  bool
	Enabled bool
}

// ServiceAction is one change a service manager makes.
type ServiceAction string

const (
	Start   ServiceAction = "start"
	Stop    ServiceAction = "stop"
	Restart ServiceAction = "restart"
	Reload  ServiceAction = "reload"
	Enable  ServiceAction = "enable"
	Disable ServiceAction = "disable"
)

// Services queries and drives the service manager.
type Services interface {
	State(ctx context.Context, name string) (ServiceState, error)
	Do(ctx context.Context, action ServiceAction, name string) error
}

// User is a local (or NSS) account.
type User struct {
	Login string
	UID   int
	GID   int
	Home  string
	Shell string
	// Groups holds the names of every group the user is in, its primary group included.
	Groups []string
}

// UserChange lists what ModifyUser changes; empty fields are left alone.
type UserChange struct {
	Shell    string
	Home     string
	AddGroup string // a supplementary group to add, keeping the others
}

// Users reads and changes accounts.
type Users interface {
	User(ctx context.Context, login string) (User, bool, error)
	AddUser(ctx context.Context, login string) error
	ModifyUser(ctx context.Context, login string, ch UserChange) error
	DeleteUser(ctx context.Context, login string) error
}

// Group is a local (or NSS) group.
type Group struct {
	Name    string
	GID     int
	Members []string
}

// Groups reads and changes groups.
type Groups interface {
	Group(ctx context.Context, name string) (Group, bool, error)
	AddGroup(ctx context.Context, name string) error
	DeleteGroup(ctx context.Context, name string) error
}

// Sysctl reads and sets running kernel parameters, named with dots (vm.swappiness).
type Sysctl interface {
	Value(ctx context.Context, key string) (string, error)
	SetValue(ctx context.Context, key, value string) error
}

// KernelModules reads and loads kernel modules.
type KernelModules interface {
	Loaded(ctx context.Context, name string) (bool, error)
	Load(ctx context.Context, name string) error
}

// Commands runs programs.
type Commands interface {
	// Run runs c and returns its exit code and bounded output. A command that exits non-zero
	// is not an error; one that cannot start or is killed by its timeout is.
	Run(ctx context.Context, c Cmd) (CmdResult, error)
}

// Set is one machine's backends, as agent/method receives them.
type Set struct {
	Packages Packages
	Services Services
	Users    Users
	Groups   Groups
	Sysctl   Sysctl
	Modules  KernelModules
	Commands Commands
}

// Detect returns the real backends of the running machine. root prefixes /proc and
// /run/systemd paths; it is empty in production.
func Detect(root string) *Set { return detect(root, runtime.GOOS) }

func detect(root, goos string) *Set {
	cmds := &Exec{}
	if goos != "linux" {
		// systemd, the shadow tools, /proc and the package managers above are Linux's; the
		// agent still runs elsewhere (FreeBSD, macOS) with files and commands.
		u := Unsupported{GOOS: goos}
		return &Set{Packages: u, Services: u, Users: u, Groups: u, Sysctl: u, Modules: u, Commands: cmds}
	}
	acc := &Accounts{Commands: cmds}
	var svc Services = NoSystemd{}
	if fi, err := os.Stat(filepath.Join(root, "/run/systemd/system")); err == nil && fi.IsDir() {
		svc = &Systemd{Commands: cmds}
	}
	return &Set{
		Packages: DetectPackages(cmds),
		Services: svc,
		Users:    acc,
		Groups:   acc,
		Sysctl:   &ProcSys{Root: root},
		Modules:  &ProcModules{Root: root, Commands: cmds},
		Commands: cmds,
	}
}

// DetectPackages returns the backend of the first package manager found in PATH: dpkg, rpm,
// apk; or NoPackages.
func DetectPackages(cmds Commands) Packages {
	switch {
	case lookPath("dpkg-query"):
		return &Apt{Commands: cmds}
	case lookPath("rpm"):
		return &RPM{Commands: cmds}
	case lookPath("apk"):
		return &APK{Commands: cmds}
	}
	return NoPackages{}
}

func lookPath(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

// Unsupported stands for every backend on a platform bosun has none for: each call returns
// an error that names the platform and wraps ErrNotApplicable.
type Unsupported struct {
	GOOS string
}

var (
	_ Packages      = Unsupported{}
	_ Services      = Unsupported{}
	_ Users         = Unsupported{}
	_ Groups        = Unsupported{}
	_ Sysctl        = Unsupported{}
	_ KernelModules = Unsupported{}
)

func (u Unsupported) err(what, name string) error {
	return fmt.Errorf("%s %s: bosun has no backend for this on %s: %w", what, name, u.GOOS, ErrNotApplicable)
}

func (u Unsupported) Installed(_ context.Context, name, _ string) (Package, bool, error) {
	return Package{}, false, u.err("package", name)
}
func (u Unsupported) Latest(_ context.Context, name, _ string) (string, error) {
	return "", u.err("package", name)
}
func (u Unsupported) Install(_ context.Context, name, _, _ string) error {
	return u.err("package", name)
}
func (u Unsupported) Remove(_ context.Context, name, _ string) error { return u.err("package", name) }
func (u Unsupported) State(_ context.Context, name string) (ServiceState, error) {
	return ServiceState{}, u.err("service", name)
}
func (u Unsupported) Do(_ context.Context, _ ServiceAction, name string) error {
	return u.err("service", name)
}
func (u Unsupported) User(_ context.Context, login string) (User, bool, error) {
	return User{}, false, u.err("user", login)
}
func (u Unsupported) AddUser(_ context.Context, login string) error { return u.err("user", login) }
func (u Unsupported) ModifyUser(_ context.Context, login string, _ UserChange) error {
	return u.err("user", login)
}
func (u Unsupported) DeleteUser(_ context.Context, login string) error { return u.err("user", login) }
func (u Unsupported) Group(_ context.Context, name string) (Group, bool, error) {
	return Group{}, false, u.err("group", name)
}
func (u Unsupported) AddGroup(_ context.Context, name string) error    { return u.err("group", name) }
func (u Unsupported) DeleteGroup(_ context.Context, name string) error { return u.err("group", name) }
func (u Unsupported) Value(_ context.Context, key string) (string, error) {
	return "", u.err("sysctl", key)
}
func (u Unsupported) SetValue(_ context.Context, key, _ string) error { return u.err("sysctl", key) }
func (u Unsupported) Loaded(_ context.Context, name string) (bool, error) {
	return false, u.err("kernel module", name)
}
func (u Unsupported) Load(_ context.Context, name string) error { return u.err("kernel module", name) }
