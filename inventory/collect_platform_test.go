package inventory

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func fakeSysctl(m map[string]string) sysctlFunc {
	return func(name string) (string, error) {
		if v, ok := m[name]; ok {
			return v, nil
		}
		return "", errors.New("no such sysctl")
	}
}

func TestPlatformOS(t *testing.T) {
	for _, c := range []struct {
		name    string
		goos    string
		start   OS
		sysctl  map[string]string
		want    OS
		missing []string
	}{
		{"freebsd", "freebsd", OS{Kernel: "freebsd"},
			map[string]string{"kern.ostype": "FreeBSD", "kern.osrelease": "14.1-RELEASE-p3\x00", "hw.machine": "amd64"},
			OS{Name: "FreeBSD", ID: "freebsd", Version: "14.1", FullName: "FreeBSD 14.1", Family: "freebsd", Kernel: "freebsd",
				KernelVersion: "14.1-RELEASE-p3", Architecture: "amd64"}, nil},
		{"freebsd with os-release", "freebsd", OS{Name: "FreeBSD", ID: "freebsd", Version: "14.1", Kernel: "freebsd"},
			map[string]string{"kern.ostype": "ignored", "kern.osrelease": "14.1-RELEASE"},
			OS{Name: "FreeBSD", ID: "freebsd", Version: "14.1", Kernel: "freebsd", KernelVersion: "14.1-RELEASE"}, nil},
		{"macos", "darwin", OS{Kernel: "darwin"},
			map[string]string{"kern.ostype": "Darwin", "kern.osrelease": "23.5.0", "kern.osproductversion": "14.5", "hw.machine": "arm64"},
			OS{Name: "macOS", ID: "macos", Version: "14.5", FullName: "macOS 14.5", Family: "macos", Kernel: "darwin",
				KernelVersion: "23.5.0", Architecture: "arm64"}, nil},
		{"old macos", "darwin", OS{Kernel: "darwin"}, map[string]string{"kern.osrelease": "17.0.0"},
			OS{Name: "macOS", ID: "macos", FullName: "macOS", Family: "macos", Kernel: "darwin", KernelVersion: "17.0.0"},
			[]string{"os.version"}},
		{"no sysctl", "freebsd", OS{Kernel: "freebsd"}, nil, OS{Kernel: "freebsd"},
			[]string{"os.kernel_version", "os.name", "os.version"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.start
			missing := platformOS(&got, c.goos, fakeSysctl(c.sysctl))
			slices.Sort(missing)
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
			if !slices.Equal(missing, c.missing) {
				t.Errorf("missing: got %v, want %v", missing, c.missing)
			}
		})
	}
}

// TestCollectorPanicIsANote: a collector that panics costs its own fields, noted, not the
// inventory.
func TestCollectorPanicIsANote(t *testing.T) {
	c := &collector{opts: CollectOptions{Logger: slog.New(slog.DiscardHandler)}, inv: &Inventory{}}
	c.run(t.Context(), step{"cpu", func(context.Context, *collector) {}})
	c.run(t.Context(), step{"disks", nil})
	if len(c.inv.Notes) != 1 || c.inv.Notes[0].Field != "disks" || !strings.Contains(c.inv.Notes[0].Reason, "collector failed") {
		t.Errorf("notes: got %+v, want one for disks", c.inv.Notes)
	}
}
