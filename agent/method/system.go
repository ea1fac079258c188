package method

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/bosun-io/bosun/agent/host"
)

func init() {
	pkg := []string{"name", "version", "architecture", "provider"}
	register(&method{Spec: Spec{ID: "package_present", Params: pkg, ReportingParam: "name"},
		run: func(ctx context.Context, env *Env, a args, mode Mode) outcome {
			return packageState(ctx, env, a, mode, true)
		}})
	register(&method{Spec: Spec{ID: "package_absent", Params: pkg, ReportingParam: "name"},
		run: func(ctx context.Context, env *Env, a args, mode Mode) outcome {
			return packageState(ctx, env, a, mode, false)
		}})
	register(&method{Spec: Spec{ID: "package_state", Params: append(slices.Clone(pkg), "state"), ReportingParam: "name"},
		run: func(ctx context.Context, env *Env, a args, mode Mode) outcome {
			switch strings.ToLower(strings.TrimSpace(a["state"])) {
			case "", "present":
				return packageState(ctx, env, a, mode, true)
			case "absent":
				return packageState(ctx, env, a, mode, false)
			}
			return failf("package state %q: want present or absent", a["state"])
		}})

	for _, s := range []struct {
		id             string
		want           func(host.ServiceState) bool
		action         host.ServiceAction
		is, isNot, did string
	}{
		{"service_started", func(s host.ServiceState) bool { return s.Active }, host.Start, "running", "not running", "started"},
		{"service_stopped", func(s host.ServiceState) bool { return !s.Active }, host.Stop, "stopped", "running", "stopped"},
		{"service_enabled", func(s host.ServiceState) bool { return s.Enabled }, host.Enable, "enabled", "not enabled", "enabled"},
		{"service_disabled", func(s host.ServiceState) bool { return !s.Enabled }, host.Disable, "disabled", "enabled", "disabled"},
	} {
		register(&method{Spec: Spec{ID: s.id, Params: []string{"name"}, ReportingParam: "name"},
			run: func(ctx context.Context, env *Env, a args, mode Mode) outcome {
				name := a["name"]
				svc := env.Host.Services
				st, err := svc.State(ctx, name)
				if err != nil {
					return hostErr(err)
				}
				if s.want(st) {
					return keptf("service %s is %s", name, s.is)
				}
				if mode != Enforce {
					return driftf("service %s is %s", name, s.isNot)
				}
				if err := svc.Do(ctx, s.action, name); err != nil {
					return failf("service %s is %s, and the change failed: %v", name, s.isNot, err)
				}
				if st, err = svc.State(ctx, name); err != nil || !s.want(st) {
					return failf("service %s was %s but the re-check says otherwise (%v)", name, s.did, err)
				}
				return repairedf("service %s was %s and has been %s", name, s.isNot, s.did)
			}})
	}
	for _, s := range []struct {
		id     string
		action host.ServiceAction
	}{{"service_restart", host.Restart}, {"service_reload", host.Reload}} {
		register(&method{Spec: Spec{ID: s.id, Params: []string{"name"}, ReportingParam: "name"},
			run: func(ctx context.Context, env *Env, a args, mode Mode) outcome {
				if mode != Enforce {
					return naf("service %s: %s is an action, not run in audit", a["name"], s.action)
				}
				if err := env.Host.Services.Do(ctx, s.action, a["name"]); err != nil {
					return hostErr(err)
				}
				return repairedf("service %s: %s done", a["name"], s.action)
			}})
	}

	register(&method{Spec: Spec{ID: "user_present", Params: []string{"login"}, ReportingParam: "login"}, run: userPresent})
	register(&method{Spec: Spec{ID: "user_absent", Params: []string{"login"}, ReportingParam: "login"}, run: userAbsent})
	register(&method{Spec: Spec{ID: "user_group", Params: []string{"login", "group_name"}, ReportingParam: "login"}, run: userGroup})
	register(&method{Spec: Spec{ID: "user_shell", Params: []string{"login", "shell"}, ReportingParam: "login"},
		run: func(ctx context.Context, env *Env, a args, mode Mode) outcome {
			return userField(ctx, env, a["login"], "shell", a["shell"], func(u host.User) string { return u.Shell },
				host.UserChange{Shell: a["shell"]}, mode)
		}})
	register(&method{Spec: Spec{ID: "user_home", Params: []string{"login", "home"}, ReportingParam: "login"},
		run: func(ctx context.Context, env *Env, a args, mode Mode) outcome {
			return userField(ctx, env, a["login"], "home", a["home"], func(u host.User) string { return u.Home },
				host.UserChange{Home: a["home"]}, mode)
		}})
	register(&method{Spec: Spec{ID: "group_present", Params: []string{"name"}, ReportingParam: "name"}, run: groupPresent})
	register(&method{Spec: Spec{ID: "group_absent", Params: []string{"name"}, ReportingParam: "name"}, run: groupAbsent})
}

// hostErr reports a backend error: not-applicable when the backend cannot exist here.
func hostErr(err error) outcome {
	if errors.Is(err, host.ErrNotApplicable) {
		return naf("%v", err)
	}
	return failf("%v", err)
}

func packageState(ctx context.Context, env *Env, a args, mode Mode, present bool) outcome {
	name := a["name"]
	version := strings.TrimSpace(a["version"])
	if version == "any" {
		version = ""
	}
	arch := strings.TrimSpace(a["architecture"])
	if arch == "default" {
		arch = ""
	}
	switch p := strings.TrimSpace(a["provider"]); p {
	case "", "default":
	default:
		if !providerMatches(env.Host.Packages, p) {
			return failf("package %s: provider %q is not this node's package manager", name, p)
		}
	}
	pk := env.Host.Packages
	inst, ok, err := pk.Installed(ctx, name, arch)
	if err != nil {
		return hostErr(err)
	}
	if !present {
		if !ok || (version != "" && inst.Version != version) {
			return keptf("package %s is not installed", describePkg(name, version, arch))
		}
		if mode != Enforce {
			return driftf("package %s %s is installed", name, inst.Version)
		}
		if err := pk.Remove(ctx, name, arch); err != nil {
			return failf("package %s %s is installed, and removing it failed: %v", name, inst.Version, err)
		}
		if _, ok, err := pk.Installed(ctx, name, arch); err != nil || ok {
			return failf("package %s was removed but the re-check says otherwise (%v)", name, err)
		}
		return repairedf("package %s %s was installed and has been removed", name, inst.Version)
	}

	want := version
	if version == "latest" {
		if want, err = pk.Latest(ctx, name, arch); err != nil {
			return hostErr(err)
		}
	}
	if ok && (want == "" || inst.Version == want) {
		return keptf("package %s %s is installed", name, inst.Version)
	}
	found := "not installed"
	if ok {
		found = "installed in version " + inst.Version
	}
	if mode != Enforce {
		return driftf("package %s is %s", describePkg(name, want, arch), found)
	}
	if err := pk.Install(ctx, name, want, arch); err != nil {
		return failf("package %s is %s, and installing it failed: %v", describePkg(name, want, arch), found, err)
	}
	after, ok, err := pk.Installed(ctx, name, arch)
	if err != nil || !ok || (want != "" && after.Version != want) {
		return failf("package %s was installed but the re-check says otherwise (%v)", describePkg(name, want, arch), err)
	}
	return repairedf("package %s was %s; %s is now installed", name, found, after.Version)
}

func describePkg(name, version, arch string) string {
	s := name
	if arch != "" {
		s += ":" + arch
	}
	if version != "" {
		s += " " + version
	}
	return s
}

// providerMatches accepts a technique's provider when it names this node's manager.
func providerMatches(p host.Packages, provider string) bool {
	switch p.(type) {
	case *host.Apt:
		return provider == "apt"
	case *host.RPM:
		return provider == "yum" || provider == "dnf" || provider == "rpm"
	case *host.APK:
		return provider == "apk"
	}
	return true // a fake or another backend decides for itself
}

func userPresent(ctx context.Context, env *Env, a args, mode Mode) outcome {
	login := a["login"]
	if _, ok, err := env.Host.Users.User(ctx, login); err != nil {
		return hostErr(err)
	} else if ok {
		return keptf("user %s exists", login)
	}
	// useradd makes a group of the same name, and fails if it exists.
	if _, ok, err := env.Host.Groups.Group(ctx, login); err != nil {
		return hostErr(err)
	} else if ok {
		return failf("user %s does not exist and cannot be created as group %s already exists", login, login)
	}
	if mode != Enforce {
		return driftf("user %s does not exist", login)
	}
	if err := env.Host.Users.AddUser(ctx, login); err != nil {
		return failf("user %s does not exist, and creating it failed: %v", login, err)
	}
	if _, ok, err := env.Host.Users.User(ctx, login); err != nil || !ok {
		return failf("user %s was created but the re-check says otherwise (%v)", login, err)
	}
	return repairedf("user %s did not exist and was created", login)
}

func userAbsent(ctx context.Context, env *Env, a args, mode Mode) outcome {
	login := a["login"]
	if _, ok, err := env.Host.Users.User(ctx, login); err != nil {
		return hostErr(err)
	} else if !ok {
		return keptf("user %s does not exist", login)
	}
	if mode != Enforce {
		return driftf("user %s exists", login)
	}
	if err := env.Host.Users.DeleteUser(ctx, login); err != nil {
		return failf("user %s exists, and deleting it failed: %v", login, err)
	}
	if _, ok, err := env.Host.Users.User(ctx, login); err != nil || ok {
		return failf("user %s was deleted but the re-check says otherwise (%v)", login, err)
	}
	return repairedf("user %s existed and was deleted", login)
}

func userGroup(ctx context.Context, env *Env, a args, mode Mode) outcome {
	login, group := a["login"], a["group_name"]
	u, ok, err := env.Host.Users.User(ctx, login)
	if err != nil {
		return hostErr(err)
	}
	if !ok {
		return failf("user %s does not exist", login)
	}
	if _, ok, err := env.Host.Groups.Group(ctx, group); err != nil {
		return hostErr(err)
	} else if !ok {
		return failf("group %s does not exist", group)
	}
	if slices.Contains(u.Groups, group) {
		return keptf("user %s is in group %s", login, group)
	}
	if mode != Enforce {
		return driftf("user %s is not in group %s", login, group)
	}
	if err := env.Host.Users.ModifyUser(ctx, login, host.UserChange{AddGroup: group}); err != nil {
		return failf("user %s is not in group %s, and adding it failed: %v", login, group, err)
	}
	if u, _, err := env.Host.Users.User(ctx, login); err != nil || !slices.Contains(u.Groups, group) {
		return failf("user %s was added to group %s but the re-check says otherwise (%v)", login, group, err)
	}
	return repairedf("user %s was not in group %s and was added", login, group)
}

func userField(ctx context.Context, env *Env, login, field, want string, get func(host.User) string, ch host.UserChange, mode Mode) outcome {
	if want == "" {
		return failf("user %s: empty %s", login, field)
	}
	u, ok, err := env.Host.Users.User(ctx, login)
	if err != nil {
		return hostErr(err)
	}
	if !ok {
		return failf("user %s does not exist; cannot set its %s to %s", login, field, want)
	}
	if get(u) == want {
		return keptf("user %s %s is %s", login, field, want)
	}
	if mode != Enforce {
		return driftf("user %s %s is %s, want %s", login, field, get(u), want)
	}
	if err := env.Host.Users.ModifyUser(ctx, login, ch); err != nil {
		return failf("user %s %s is %s, and setting %s failed: %v", login, field, get(u), want, err)
	}
	if after, _, err := env.Host.Users.User(ctx, login); err != nil || get(after) != want {
		return failf("user %s %s was set but the re-check says otherwise (%v)", login, field, err)
	}
	return repairedf("user %s %s was %s and is now %s", login, field, get(u), want)
}

func groupPresent(ctx context.Context, env *Env, a args, mode Mode) outcome {
	name := a["name"]
	if _, ok, err := env.Host.Groups.Group(ctx, name); err != nil {
		return hostErr(err)
	} else if ok {
		return keptf("group %s exists", name)
	}
	if mode != Enforce {
		return driftf("group %s does not exist", name)
	}
	if err := env.Host.Groups.AddGroup(ctx, name); err != nil {
		return failf("group %s does not exist, and creating it failed: %v", name, err)
	}
	if _, ok, err := env.Host.Groups.Group(ctx, name); err != nil || !ok {
		return failf("group %s was created but the re-check says otherwise (%v)", name, err)
	}
	return repairedf("group %s did not exist and was created", name)
}

func groupAbsent(ctx context.Context, env *Env, a args, mode Mode) outcome {
	name := a["name"]
	if _, ok, err := env.Host.Groups.Group(ctx, name); err != nil {
		return hostErr(err)
	} else if !ok {
		return keptf("group %s does not exist", name)
	}
	if mode != Enforce {
		return driftf("group %s exists", name)
	}
	if err := env.Host.Groups.DeleteGroup(ctx, name); err != nil {
		return failf("group %s exists, and deleting it failed: %v", name, err)
	}
	if _, ok, err := env.Host.Groups.Group(ctx, name); err != nil || ok {
		return failf("group %s was deleted but the re-check says otherwise (%v)", name, err)
	}
	return repairedf("group %s existed and was deleted", name)
}
