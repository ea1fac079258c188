package inventory

import (
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
)

// sysctlFunc reads one string sysctl by name (kern.osrelease); sysctlString is the running
// kernel's, on the platforms that have sysctl(3).
type sysctlFunc func(name string) (string, error)

var releaseNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*`)

// platformOS fills what os-release and /proc give on Linux from sysctl on the BSDs and macOS,
// where neither may exist; it returns the fields it could not fill, for notes. It leaves a
// field os-release already gave alone.
func platformOS(os *OS, goos string, sysctl sysctlFunc) (missing []string) {
	get := func(name string) string {
		v, err := sysctl(name)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(strings.TrimRight(v, "\x00"))
	}
	release := get("kern.osrelease") // FreeBSD "14.1-RELEASE-p3"; darwin's kernel "23.5.0"
	if os.KernelVersion == "" {
		os.KernelVersion = release
	}
	if machine := get("hw.machine"); machine != "" {
		os.Architecture = machine // uname -m: "amd64" on FreeBSD, "arm64" on macOS
	}
	if os.Name == "" {
		switch goos {
		case "darwin":
			os.Name, os.ID, os.Family = "macOS", "macos", "macos"
			os.Version = get("kern.osproductversion") // "14.5"; absent before 10.13.4
		default:
			os.Name = get("kern.ostype") // "FreeBSD", "OpenBSD"...
			os.ID = strings.ToLower(os.Name)
			os.Family = os.ID
			os.Version = releaseNumber.FindString(release)
		}
		if os.Name != "" {
			os.FullName = strings.TrimSpace(os.Name + " " + os.Version)
		}
	}
	for field, v := range map[string]string{"os.name": os.Name, "os.version": os.Version, "os.kernel_version": os.KernelVersion} {
		if v == "" {
			missing = append(missing, field)
		}
	}
	return missing
}

// protect runs one collector so that a panic (an unexpected format, a platform a library
// does not know) costs that collector's fields, noted, and not the whole inventory.
func (c *collector) protect(name string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			c.opts.Logger.Error("inventory collector panicked", "step", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			c.note(name, "collector failed: %v", p)
		}
	}()
	fn()
}
