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
func platformOS(o *OS, goos string, sysctl sysctlFunc) (missing []string) {
	get := func(name string) string {
		v, err := sysctl(name)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(strings.TrimRight(v, "\x00"))
	}
	release := get("kern.osrelease") // FreeBSD "14.1-RELEASE-p3"; darwin's kernel "23.5.0"
	if o.KernelVersion == "" {
		o.KernelVersion = release
	}
	if machine := get("hw.machine"); machine != "" {
		o.Architecture = machine // uname -m: "amd64" on FreeBSD, "arm64" on macOS
	}
	if o.Name == "" {
		switch goos {
		case "darwin":
			o.Name, o.ID, o.Family = "macOS", "macos", "macos"
			o.Version = get("kern.osproductversion") // "14.5"; absent before 10.13.4
		default:
			o.Name = get("kern.ostype") // "FreeBSD", "OpenBSD"...
			o.ID = strings.ToLower(o.Name)
			o.Family = o.ID
			o.Version = releaseNumber.FindString(release)
		}
		if o.Name != "" {
			o.FullName = strings.TrimSpace(o.Name + " " + o.Version)
		}
	}
	for field, v := range map[string]string{"os.name": o.Name, "os.version": o.Version, "os.kernel_version": o.KernelVersion} {
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
