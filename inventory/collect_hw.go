package inventory

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/shirou/gopsutil/v3/disk"
	psnet "github.com/shirou/gopsutil/v3/net"
)

// collectCPU reads /proc/cpuinfo itself: gopsutil's cpu package needs
// github.com/tklauser/go-sysconf, which go.mod does not carry.
func collectCPU(_ context.Context, c *collector) {
	b, err := c.read("/proc/cpuinfo")
	if err != nil {
		c.note("cpus", "read /proc/cpuinfo: %v", err)
		return
	}
	c.inv.CPUs = parseCPUInfo(b, c.inv.OS.Architecture)
	if len(c.inv.CPUs) == 0 {
		c.note("cpus", "/proc/cpuinfo lists no processor")
	}
}

// parseCPUInfo folds the per-logical-CPU blocks of /proc/cpuinfo into one entry per
// physical package and model.
func parseCPUInfo(b []byte, arch string) []CPU {
	type key struct{ phys, model string }
	var out []CPU
	idx := make(map[key]int)
	cores := make(map[key]map[string]bool)
	var cur map[string]string
	flush := func() {
		if cur == nil {
			return
		}
		model := cur["model name"]
		if model == "" {
			model = cur["Model"] // arm
		}
		k := key{cur["physical id"], model}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			cores[k] = make(map[string]bool)
			mhz, _ := strconv.ParseFloat(cur["cpu MHz"], 64)
			vendor := cur["vendor_id"]
			if vendor == "" {
				vendor = cur["CPU implementer"]
			}
			out = append(out, CPU{Model: model, Vendor: vendor, MHz: mhz, Architecture: arch})
		}
		out[i].Threads++
		core := cur["core id"]
		if core == "" {
			core = cur["processor"]
		}
		cores[k][core] = true
		cur = nil
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "processor" {
			flush()
			cur = make(map[string]string)
		}
		if cur != nil {
			cur[k] = v
		}
	}
	flush()
	for k, i := range idx {
		out[i].Cores = len(cores[k])
	}
	return out
}

// collectMemory reads /proc/meminfo itself: gopsutil's SwapMemory asks sysinfo(2), which
// ignores the root prefix, and hides a missing meminfo behind zero values.
func collectMemory(_ context.Context, c *collector) {
	b, err := c.read("/proc/meminfo")
	if err != nil {
		c.note("memory.total", "read /proc/meminfo: %v", err)
		return
	}
	total, swap, ok := parseMeminfo(b)
	if !ok {
		c.note("memory.total", "/proc/meminfo has no MemTotal")
	}
	c.inv.Memory.Total, c.inv.Memory.SwapTotal = total, swap
}

func parseMeminfo(b []byte) (total, swap uint64, ok bool) {
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		switch k {
		case "MemTotal":
			total, ok = n, true
		case "SwapTotal":
			swap = n
		}
	}
	return total, swap, ok
}

// collectDisks reads /sys/block directly: gopsutil knows partitions and counters, not the
// devices' model and size.
func collectDisks(_ context.Context, c *collector) {
	dir := c.path("/sys/block")
	entries, err := os.ReadDir(dir)
	if err != nil {
		c.note("disks", "read /sys/block: %v", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") ||
			strings.HasPrefix(name, "zram") || strings.HasPrefix(name, "dm-") {
			continue
		}
		base := "/sys/block/" + name + "/"
		d := Disk{Name: name}
		if s, err := strconv.ParseUint(c.readLine(base+"size"), 10, 64); err == nil {
			d.Size = s * 512 // always 512-byte sectors, whatever the device's block size
		}
		d.Model = c.readLine(base + "device/model")
		d.Manufacturer = c.readLine(base + "device/vendor")
		d.Serial = c.readLine(base + "device/serial")
		switch {
		case c.readLine(base+"removable") == "1" && strings.HasPrefix(name, "sr"):
			d.Type = "cdrom"
		case c.readLine(base+"queue/rotational") == "0":
			d.Type = "ssd"
		case c.readLine(base+"queue/rotational") == "1":
			d.Type = "hdd"
		default:
			d.Type = "disk"
		}
		c.inv.Disks = append(c.inv.Disks, d)
	}
}

// pseudoFS are filesystems without storage of their own, left out of the inventory.
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "cgroup": true,
	"cgroup2": true, "securityfs": true, "pstore": true, "bpf": true, "tracefs": true,
	"debugfs": true, "mqueue": true, "hugetlbfs": true, "configfs": true, "fusectl": true,
	"autofs": true, "binfmt_misc": true, "efivarfs": true, "nsfs": true, "rpc_pipefs": true,
	"squashfs": true, "overlay": false,
}

func collectFilesystems(_ context.Context, c *collector) {
	if !c.live() {
		c.note("filesystems", "not collected under a root prefix")
		return
	}
	parts, err := disk.PartitionsWithContext(c.psctx, false)
	if err != nil {
		c.note("filesystems", "list mounts: %v", err)
		return
	}
	seen := make(map[string]bool)
	for _, p := range parts {
		if pseudoFS[p.Fstype] || seen[p.Mountpoint] {
			continue
		}
		seen[p.Mountpoint] = true
		fs := Filesystem{Mountpoint: p.Mountpoint, Device: p.Device, Type: p.Fstype}
		if u, err := disk.UsageWithContext(c.psctx, p.Mountpoint); err == nil {
			fs.Total, fs.Free = u.Total, roundFree(u.Free, u.Total)
		}
		if fs.Type == "tmpfs" && fs.Mountpoint != "/tmp" {
			continue // /run, /dev/shm and friends: memory, not storage
		}
		c.inv.Filesystems = append(c.inv.Filesystems, fs)
	}
	sort.Slice(c.inv.Filesystems, func(i, j int) bool {
		return c.inv.Filesystems[i].Mountpoint < c.inv.Filesystems[j].Mountpoint
	})
}

func collectInterfaces(_ context.Context, c *collector) {
	if !c.live() {
		c.note("network.interfaces", "not collected under a root prefix")
		return
	}
	ifs, err := psnet.InterfacesWithContext(c.psctx)
	if err != nil {
		c.note("network.interfaces", "list interfaces: %v", err)
		return
	}
	for _, in := range ifs {
		if in.Name == "lo" {
			continue
		}
		i := Interface{Name: in.Name, MAC: in.HardwareAddr, MTU: in.MTU}
		for _, f := range in.Flags {
			if f == "up" {
				i.Up = true
			}
		}
		for _, a := range in.Addrs {
			if strings.Contains(a.Addr, ":") {
				i.IPv6 = append(i.IPv6, a.Addr)
			} else {
				i.IPv4 = append(i.IPv4, a.Addr)
			}
		}
		if t := c.readLine(filepath.Join("/sys/class/net", in.Name, "type")); t == "1" {
			i.Type = "ethernet"
		}
		if s := c.readLine(filepath.Join("/sys/class/net", in.Name, "speed")); s != "" && s != "-1" {
			i.Speed = s
		}
		c.inv.Network.Interfaces = append(c.inv.Network.Interfaces, i)
	}
}

// roundFree rounds free space down to 1 % of the filesystem (at least 1 MiB): enough to see a
// filesystem fill up, without making every inventory of an idle machine a new one because
// a log grew by a few kilobytes.
func roundFree(free, total uint64) uint64 {
	step := max(total/100, 1<<20)
	return free / step * step
}
