//go:build !(darwin || freebsd || netbsd || openbsd || dragonfly)

package inventory

import "errors"

// Linux has no sysctl(3): its kernel parameters are files under /proc/sys.
func sysctlString(string) (string, error) { return "", errors.New("no sysctl(3) on this platform") }
