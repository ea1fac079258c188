package host

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Apt is the Debian and Ubuntu backend: dpkg-query reads, apt-get changes, dpkg installs local
// .deb files.
type Apt struct {
	Commands Commands
}

var _ Packages = (*Apt)(nil)

var aptEnv = []string{"DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"}

func aptName(name, arch string) string {
	if arch != "" {
		return name + ":" + arch
	}
	return name
}

// Installed implements Packages.
func (a *Apt) Installed(ctx context.Context, name, arch string) (Package, bool, error) {
	res, err := a.Commands.Run(ctx, Cmd{Env: aptEnv, Argv: []string{"dpkg-query", "-W",
		"-f", "${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n", aptName(name, arch)}})
	if err != nil {
		return Package{}, false, fmt.Errorf("query package %s: %w", name, err)
	}
	// dpkg-query exits 1 for a package it has never heard of.
	if res.ExitCode != 0 {
		return Package{}, false, nil
	}
	for _, line := range strings.Split(string(res.Output), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || !strings.HasPrefix(f[0], "ii") {
			continue
		}
		if arch == "" || f[3] == arch || f[3] == "all" {
			return Package{Name: f[1], Version: f[2], Arch: f[3]}, true, nil
		}
	}
	return Package{}, false, nil
}

// Latest implements Packages.
func (a *Apt) Latest(ctx context.Context, name, arch string) (string, error) {
	res, err := run(ctx, a.Commands, aptEnv, "apt-cache", "policy", aptName(name, arch))
	if err != nil {
		return "", fmt.Errorf("latest version of %s: %w", name, err)
	}
	for _, line := range strings.Split(string(res.Output), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate:"); ok {
			v = strings.TrimSpace(v)
			if v == "(none)" {
				return "", fmt.Errorf("latest version of %s: no candidate in the repositories", name)
			}
			return v, nil
		}
	}
	return "", fmt.Errorf("latest version of %s: not known to apt", name)
}

// Install implements Packages.
func (a *Apt) Install(ctx context.Context, name, version, arch string) error {
	if filepath.IsAbs(name) {
		_, err := run(ctx, a.Commands, aptEnv, "dpkg", "--force-confold", "-i", name)
		return wrapPkg("install", name, err)
	}
	spec := aptName(name, arch)
	if version != "" {
		spec += "=" + version
	}
	_, err := run(ctx, a.Commands, aptEnv, "apt-get", "-y", "-q", "-o", "Dpkg::Options::=--force-confold",
		"--allow-downgrades", "install", spec)
	return wrapPkg("install", name, err)
}

// Remove implements Packages.
func (a *Apt) Remove(ctx context.Context, name, arch string) error {
	_, err := run(ctx, a.Commands, aptEnv, "apt-get", "-y", "-q", "remove", aptName(name, arch))
	return wrapPkg("remove", name, err)
}

func wrapPkg(op, name string, err error) error {
	if err != nil {
		return fmt.Errorf("%s package %s: %w", op, name, err)
	}
	return nil
}

// RPM is the RHEL-like backend: rpm reads, dnf (or yum where dnf is absent) changes.
type RPM struct {
	Commands Commands
}

var _ Packages = (*RPM)(nil)

func (r *RPM) tool() string {
	if lookPath("dnf") {
		return "dnf"
	}
	return "yum"
}

func rpmName(name, arch string) string {
	if arch != "" {
		return name + "." + arch
	}
	return name
}

// Installed implements Packages.
func (r *RPM) Installed(ctx context.Context, name, arch string) (Package, bool, error) {
	res, err := r.Commands.Run(ctx, Cmd{Env: []string{"LC_ALL=C"}, Argv: []string{"rpm", "-q", "--qf",
		"%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\n", rpmName(name, arch)}})
	if err != nil {
		return Package{}, false, fmt.Errorf("query package %s: %w", name, err)
	}
	if res.ExitCode != 0 { // "package x is not installed"
		return Package{}, false, nil
	}
	for _, line := range strings.Split(string(res.Output), "\n") {
		if f := strings.Split(line, "\t"); len(f) == 3 {
			return Package{Name: f[0], Version: f[1], Arch: f[2]}, true, nil
		}
	}
	return Package{}, false, nil
}

// Latest implements Packages.
func (r *RPM) Latest(ctx context.Context, name, arch string) (string, error) {
	res, err := run(ctx, r.Commands, []string{"LC_ALL=C"}, r.tool(), "-q", "repoquery", "--latest-limit", "1",
		"--qf", "%{epoch}:%{version}-%{release}", rpmName(name, arch))
	if err != nil {
		return "", fmt.Errorf("latest version of %s: %w", name, err)
	}
	v := strings.TrimSpace(string(res.Output))
	if v == "" {
		return "", fmt.Errorf("latest version of %s: no candidate in the repositories", name)
	}
	return strings.TrimPrefix(v, "0:"), nil
}

// Install implements Packages.
func (r *RPM) Install(ctx context.Context, name, version, arch string) error {
	spec := name
	if version != "" {
		spec += "-" + version
	}
	if arch != "" {
		spec += "." + arch
	}
	_, err := run(ctx, r.Commands, nil, r.tool(), "-y", "-q", "install", spec)
	return wrapPkg("install", name, err)
}

// Remove implements Packages.
func (r *RPM) Remove(ctx context.Context, name, arch string) error {
	_, err := run(ctx, r.Commands, nil, r.tool(), "-y", "-q", "remove", rpmName(name, arch))
	return wrapPkg("remove", name, err)
}

// APK is the Alpine backend: the installed database is read directly, apk changes.
type APK struct {
	Commands Commands
	Root     string // prefixes /lib/apk/db/installed; tests only
}

var _ Packages = (*APK)(nil)

// Installed implements Packages.
func (p *APK) Installed(_ context.Context, name, arch string) (Package, bool, error) {
	f, err := os.Open(filepath.Join(p.Root, "/lib/apk/db/installed"))
	if err != nil {
		return Package{}, false, fmt.Errorf("query package %s: %w", name, err)
	}
	defer f.Close()
	var cur Package
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	match := func() bool { return cur.Name == name && (arch == "" || cur.Arch == arch) }
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if match() {
				return cur, true, nil
			}
			cur = Package{}
			continue
		}
		if len(line) < 2 || line[1] != ':' {
			continue
		}
		switch line[0] {
		case 'P':
			cur.Name = line[2:]
		case 'V':
			cur.Version = line[2:]
		case 'A':
			cur.Arch = line[2:]
		}
	}
	if err := sc.Err(); err != nil {
		return Package{}, false, fmt.Errorf("query package %s: %w", name, err)
	}
	return cur, match(), nil
}

// Latest implements Packages.
func (p *APK) Latest(ctx context.Context, name, _ string) (string, error) {
	res, err := run(ctx, p.Commands, nil, "apk", "policy", name)
	if err != nil {
		return "", fmt.Errorf("latest version of %s: %w", name, err)
	}
	// "name policy:\n  1.2-r0:\n    lib/apk/db/installed\n  1.3-r0:\n ..." lists versions oldest first.
	var last string
	for _, line := range strings.Split(string(res.Output), "\n") {
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "    ") && strings.HasSuffix(line, ":") {
			last = strings.TrimSuffix(strings.TrimSpace(line), ":")
		}
	}
	if last == "" {
		return "", fmt.Errorf("latest version of %s: no candidate in the repositories", name)
	}
	return last, nil
}

// Install implements Packages.
func (p *APK) Install(ctx context.Context, name, version, _ string) error {
	spec := name
	if version != "" {
		spec += "=" + version
	}
	_, err := run(ctx, p.Commands, nil, "apk", "add", "-q", spec)
	return wrapPkg("install", name, err)
}

// Remove implements Packages.
func (p *APK) Remove(ctx context.Context, name, _ string) error {
	_, err := run(ctx, p.Commands, nil, "apk", "del", "-q", name)
	return wrapPkg("remove", name, err)
}

// NoPackages stands for a machine without a known package manager.
type NoPackages struct{}

var _ Packages = NoPackages{}

func (NoPackages) Installed(context.Context, string, string) (Package, bool, error) {
	return Package{}, false, fmt.Errorf("no known package manager: %w", ErrNotApplicable)
}
func (NoPackages) Latest(context.Context, string, string) (string, error) {
	return "", fmt.Errorf("no known package manager: %w", ErrNotApplicable)
}
func (NoPackages) Install(context.Context, string, string, string) error {
	return fmt.Errorf("no known package manager: %w", ErrNotApplicable)
}
func (NoPackages) Remove(context.Context, string, string) error {
	return fmt.Errorf("no known package manager: %w", ErrNotApplicable)
}
