package method

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
)

// need is what a method relies on that not every platform the agent runs on has.
type need struct {
	what string   // for the message: what the method needs
	goos []string // the platforms (GOOS) where bosun has it
}

// Methods whose backends exist on Linux only. Everything else (files, permissions, commands,
// conditions, variables, HTTP checks, schedules) works wherever the agent runs.
var (
	needPackages = need{"a Linux package manager (dpkg and apt, rpm and dnf, or apk)", []string{"linux"}}
	needSystemd  = need{"systemd (systemctl)", []string{"linux"}}
	needShadow   = need{"the shadow tools (useradd, usermod, userdel, groupadd, groupdel)", []string{"linux"}}
	needProcSys  = need{"/proc/sys and /etc/sysctl.d", []string{"linux"}}
	needModules  = need{"/proc/modules and modprobe", []string{"linux"}}
	needPamEnv   = need{"/etc/environment (pam_env)", []string{"linux"}}
)

var platformNeeds = map[string]need{
	"package_present": needPackages, "package_absent": needPackages, "package_state": needPackages,
	"service_started": needSystemd, "service_stopped": needSystemd, "service_enabled": needSystemd,
	"service_disabled": needSystemd, "service_restart": needSystemd, "service_reload": needSystemd,
	"user_present": needShadow, "user_absent": needShadow, "user_group": needShadow, "user_shell": needShadow,
	"user_home": needShadow, "group_present": needShadow, "group_absent": needShadow,
	"sysctl_value":         needProcSys,
	"kernel_module_loaded": needModules,
	"environment_variable": needPamEnv,
}

// supported reports whether method id can work on goos, and when it cannot, why, naming the
// platform: the call is then not applicable there, not an error, so that one technique serves
// a fleet of Linux, FreeBSD and macOS machines.
func supported(id, goos string) (bool, string) {
	n, ok := platformNeeds[id]
	if !ok || slices.Contains(n.goos, goos) {
		return true, ""
	}
	return false, fmt.Sprintf("%s is not applicable on %s: it needs %s, which bosun supports on %s only",
		id, goos, n.what, strings.Join(n.goos, ", "))
}

func (env *Env) goos() string {
	if env.GOOS != "" {
		return env.GOOS
	}
	return runtime.GOOS
}
