//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package inventory

import "syscall"

func sysctlString(name string) (string, error) { return syscall.Sysctl(name) }
