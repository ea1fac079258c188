package host

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ProcSys is the Sysctl backend: /proc/sys, read and written directly.
type ProcSys struct {
	Root string // prefixes /proc/sys; tests only
}

var _ Sysctl = (*ProcSys)(nil)

func (p *ProcSys) path(key string) (string, error) {
	if key == "" || strings.Contains(key, "..") || strings.ContainsRune(key, 0) {
		return "", fmt.Errorf("sysctl key %q: not a key", key)
	}
	// Keys use dots, or slashes as sysctl(8) also accepts; in the slash form a dot belongs to
	// a name (an interface called eth0.100).
	rel := key
	if !strings.Contains(key, "/") {
		rel = strings.ReplaceAll(key, ".", "/")
	}
	return filepath.Join(p.Root, "/proc/sys", rel), nil
}

// Value implements Sysctl. Runs of blanks are folded to one space, as sysctl -n prints them.
func (p *ProcSys) Value(_ context.Context, key string) (string, error) {
	path, err := p.path(key)
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read sysctl %s: %w", key, err)
	}
	return strings.Join(strings.Fields(string(b)), " "), nil
}

// SetValue implements Sysctl.
func (p *ProcSys) SetValue(_ context.Context, key, value string) error {
	path, err := p.path(key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("set sysctl %s: %w", key, err)
	}
	if _, err := f.WriteString(value + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("set sysctl %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("set sysctl %s: %w", key, err)
	}
	return nil
}

// ProcModules is the KernelModules backend: /proc/modules to read, modprobe to load.
type ProcModules struct {
	Root     string // prefixes /proc/modules; tests only
	Commands Commands
}

var _ KernelModules = (*ProcModules)(nil)

// Loaded implements KernelModules. The kernel lists names with underscores where modprobe also
// accepts dashes.
func (m *ProcModules) Loaded(_ context.Context, name string) (bool, error) {
	f, err := os.Open(filepath.Join(m.Root, "/proc/modules"))
	if err != nil {
		return false, fmt.Errorf("list kernel modules: %w", err)
	}
	defer f.Close()
	want := strings.ReplaceAll(name, "-", "_")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if n, _, _ := strings.Cut(sc.Text(), " "); n == want {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("list kernel modules: %w", err)
	}
	return false, nil
}

// Load implements KernelModules.
func (m *ProcModules) Load(ctx context.Context, name string) error {
	if _, err := run(ctx, m.Commands, nil, "modprobe", "--", name); err != nil {
		return fmt.Errorf("load kernel module %s: %w", name, err)
	}
	return nil
}
