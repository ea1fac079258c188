package inventory

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// parseOSRelease reads the KEY=value lines of os-release(5), unquoting values.
func parseOSRelease(b []byte) map[string]string {
	m := make(map[string]string)
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
			v = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\$`, `$`, "\\`", "`").Replace(v)
		}
		m[k] = v
	}
	return m
}

// osFamily maps os-release ID and ID_LIKE to a package family.
func osFamily(id, idLike string) string {
	for _, w := range append([]string{id}, strings.Fields(idLike)...) {
		switch w {
		case "debian", "ubuntu", "raspbian", "linuxmint":
			return "debian"
		case "rhel", "fedora", "centos", "rocky", "almalinux", "ol", "amzn":
			return "rhel"
		case "suse", "sles", "opensuse", "opensuse-leap", "opensuse-tumbleweed":
			return "suse"
		case "alpine":
			return "alpine"
		case "arch", "manjaro":
			return "arch"
		}
	}
	return id
}

// goarchToUname maps GOARCH to the uname machine name, for kernels without
// /proc/sys/kernel/arch.
var goarchToUname = map[string]string{
	"amd64": "x86_64", "386": "i686", "arm64": "aarch64", "arm": "armv7l",
	"ppc64le": "ppc64le", "ppc64": "ppc64", "s390x": "s390x", "riscv64": "riscv64",
}

func collectOS(_ context.Context, c *collector) {
	inv := c.inv
	b, err := c.read("/etc/os-release")
	if err != nil {
		b, err = c.read("/usr/lib/os-release")
	}
	if err != nil {
		if runtime.GOOS == "linux" {
			c.note("os", "read os-release: %v", err)
		}
	} else {
		m := parseOSRelease(b)
		inv.OS.Name = m["NAME"]
		inv.OS.ID = m["ID"]
		inv.OS.Version = m["VERSION_ID"]
		inv.OS.FullName = m["PRETTY_NAME"]
		inv.OS.Family = osFamily(m["ID"], m["ID_LIKE"])
		if inv.OS.Name == "" {
			c.note("os.name", "os-release has no NAME")
		}
	}
	inv.OS.Kernel = runtime.GOOS
	if runtime.GOOS == "linux" || !c.live() {
		if inv.OS.KernelVersion = c.readLine("/proc/sys/kernel/osrelease"); inv.OS.KernelVersion == "" {
			c.note("os.kernel_version", "/proc/sys/kernel/osrelease unreadable")
		}
		if inv.OS.Architecture = c.readLine("/proc/sys/kernel/arch"); inv.OS.Architecture == "" {
			inv.OS.Architecture = goarchToUname[runtime.GOARCH]
		}
	} else {
		inv.OS.Architecture = goarchToUname[runtime.GOARCH]
		for _, f := range platformOS(&inv.OS, runtime.GOOS, sysctlString) {
			c.note(f, "not in os-release nor in the %s kernel's sysctl", runtime.GOOS)
		}
	}

	inv.Hostname = c.readLine("/proc/sys/kernel/hostname")
	if inv.Hostname == "" {
		inv.Hostname = c.readLine("/etc/hostname")
	}
	if inv.Hostname == "" && c.live() {
		inv.Hostname, _ = os.Hostname()
	}
	if inv.Hostname == "" {
		c.note("hostname", "neither /proc/sys/kernel/hostname nor /etc/hostname readable")
		return
	}
	inv.FQDN = fqdnFromHosts(c.readLine("/etc/hosts"), inv.Hostname)
	if inv.FQDN == "" {
		// No DNS query: inventory does no network I/O, and a resolver that hangs would stall
		// the run. /etc/hosts is the local truth; otherwise the FQDN stays empty.
		c.note("fqdn", "hostname %q has no dotted alias in /etc/hosts", inv.Hostname)
	}
}

// fqdnFromHosts finds the first dotted name on an /etc/hosts line that names host.
func fqdnFromHosts(hosts, host string) string {
	if strings.Contains(host, ".") {
		return host
	}
	short := host
	for line := range strings.SplitSeq(hosts, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		names := f[1:]
		match := false
		for _, n := range names {
			if n == short || strings.HasPrefix(n, short+".") {
				match = true
			}
		}
		if !match {
			continue
		}
		for _, n := range names {
			if strings.HasPrefix(n, short+".") {
				return n
			}
		}
	}
	return ""
}

func collectMachine(_ context.Context, c *collector) {
	m := &c.inv.Machine
	const dmi = "/sys/class/dmi/id/"
	m.Manufacturer = c.readLine(dmi + "sys_vendor")
	m.Model = c.readLine(dmi + "product_name")
	m.BIOSVendor = c.readLine(dmi + "bios_vendor")
	m.BIOSVersion = c.readLine(dmi + "bios_version")
	m.BIOSDate = c.readLine(dmi + "bios_date")
	// product_serial and product_uuid are root-only; an agent not running as root gets a note.
	m.Serial = c.readLine(dmi + "product_serial")
	m.UUID = strings.ToLower(c.readLine(dmi + "product_uuid"))
	if _, err := os.Stat(c.path(dmi)); err != nil {
		c.note("machine", "no DMI data (%s): not exposed by this kernel or sandbox", dmi)
	} else {
		if m.Serial == "" {
			c.note("machine.serial", "%sproduct_serial unreadable (needs root)", dmi)
		}
		if m.UUID == "" {
			c.note("machine.uuid", "%sproduct_uuid unreadable (needs root)", dmi)
		}
	}
	if m.MachineID = c.readLine("/etc/machine-id"); m.MachineID == "" {
		if m.MachineID = c.readLine("/var/lib/dbus/machine-id"); m.MachineID == "" {
			c.note("machine.machine_id", "/etc/machine-id unreadable")
		}
	}
	m.Container = c.detectContainer()
	m.Virtualization = c.detectVirtualization(m.Manufacturer, m.Model)
}

// detectContainer follows systemd-detect-virt's container checks that need no privilege.
func (c *collector) detectContainer() string {
	if v := c.readLine("/run/systemd/container"); v != "" {
		return v
	}
	if _, err := os.Stat(c.path("/run/.containerenv")); err == nil {
		return "podman"
	}
	if _, err := os.Stat(c.path("/.dockerenv")); err == nil {
		return "docker"
	}
	cg := c.readLine("/proc/1/cgroup")
	for _, k := range []string{"kubepods", "docker", "lxc", "containerd", "podman", "libpod"} {
		if strings.Contains(cg, k) {
			if k == "kubepods" || k == "containerd" {
				return "container"
			}
			if k == "libpod" {
				return "podman"
			}
			return k
		}
	}
	return ""
}

func (c *collector) detectVirtualization(vendor, product string) string {
	s := strings.ToLower(vendor + " " + product)
	for _, v := range []struct{ key, name string }{
		{"qemu", "kvm"}, {"kvm", "kvm"}, {"vmware", "vmware"}, {"virtualbox", "virtualbox"},
		{"innotek", "virtualbox"}, {"xen", "xen"}, {"amazon ec2", "amazon"}, {"google", "google"},
		{"parallels", "parallels"}, {"bochs", "bochs"}, {"openstack", "kvm"},
	} {
		if strings.Contains(s, v.key) {
			return v.name
		}
	}
	if strings.Contains(s, "microsoft") && strings.Contains(s, "virtual") {
		return "hyperv"
	}
	if t := c.readLine("/sys/hypervisor/type"); t != "" {
		return t
	}
	if cpu, err := c.read("/proc/cpuinfo"); err == nil {
		if bytes.Contains(cpu, []byte(" hypervisor")) {
			return "unknown"
		}
		if vendor != "" {
			return "physical"
		}
	}
	return ""
}

func collectUptime(_ context.Context, c *collector) {
	if b, err := c.read("/proc/stat"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "btime "); ok {
				if n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64); err == nil {
					c.inv.BootTime = time.Unix(n, 0).UTC()
				}
				break
			}
		}
	}
	if c.inv.BootTime.IsZero() {
		// Without btime, the boot time is the collection time less the uptime, to the second
		// so that it stays the same from one collection to the next.
		if f := strings.Fields(c.readLine("/proc/uptime")); len(f) > 0 {
			if secs, err := strconv.ParseFloat(f[0], 64); err == nil {
				now := time.Now
				if c.opts.Now != nil {
					now = c.opts.Now
				}
				c.inv.BootTime = now().Add(-time.Duration(secs * float64(time.Second))).Truncate(time.Second).UTC()
			}
		}
	}
	if c.inv.BootTime.IsZero() {
		c.note("boot_time", "/proc/stat and /proc/uptime unreadable")
	}
}

func collectTimezone(_ context.Context, c *collector) {
	if tz := c.readLine("/etc/timezone"); tz != "" {
		c.inv.Timezone = tz
		return
	}
	if target, err := os.Readlink(c.path("/etc/localtime")); err == nil {
		if _, name, ok := strings.Cut(target, "zoneinfo/"); ok {
			c.inv.Timezone = name
			return
		}
	}
	c.note("timezone", "neither /etc/timezone nor an /etc/localtime link into zoneinfo")
}

func collectUsers(_ context.Context, c *collector) {
	if b, err := c.read("/etc/passwd"); err != nil {
		c.note("users", "read /etc/passwd: %v", err)
	} else {
		c.inv.Users = parsePasswd(b)
	}
	if b, err := c.read("/etc/group"); err != nil {
		c.note("groups", "read /etc/group: %v", err)
	} else {
		c.inv.Groups = parseGroup(b)
	}
}

func parsePasswd(b []byte) []User {
	var users []User
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 || f[0] == "" || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], "+") {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		users = append(users, User{Name: f[0], UID: uid, GID: gid, Gecos: f[4], Home: f[5], Shell: f[6]})
	}
	return users
}

func parseGroup(b []byte) []Group {
	var groups []Group
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 4 || f[0] == "" || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], "+") {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		g := Group{Name: f[0], GID: gid}
		if f[3] != "" {
			g.Members = strings.Split(f[3], ",")
		}
		groups = append(groups, g)
	}
	return groups
}

func collectRoutes(_ context.Context, c *collector) {
	n := &c.inv.Network
	if b, err := c.read("/proc/net/route"); err != nil {
		c.note("network.routes", "read /proc/net/route: %v", err)
	} else {
		n.Routes = parseRoute4(b)
	}
	if b, err := c.read("/proc/net/ipv6_route"); err == nil {
		n.Routes = append(n.Routes, parseRoute6(b)...)
	}
	for _, r := range n.Routes {
		if (r.Destination == "0.0.0.0/0" || r.Destination == "::/0") && r.Gateway != "" {
			n.DefaultGateway = r.Gateway
			break
		}
	}
	if b, err := c.read("/etc/resolv.conf"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
				n.DNS = append(n.DNS, f[1])
			}
		}
	}
}

// parseRoute4 reads /proc/net/route, whose addresses are little-endian hex.
func parseRoute4(b []byte) []Route {
	var routes []Route
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		dst, ok1 := hexIPv4LE(f[1])
		gw, ok2 := hexIPv4LE(f[2])
		mask, ok3 := hexIPv4LE(f[7])
		flags, _ := strconv.ParseUint(f[3], 16, 16)
		if !ok1 || !ok2 || !ok3 || flags&1 == 0 { // RTF_UP
			continue
		}
		ones := 0
		for _, by := range mask.As4() {
			for ; by != 0; by <<= 1 {
				ones++
			}
		}
		r := Route{Destination: netip.PrefixFrom(dst, ones).String(), Interface: f[0]}
		if flags&2 != 0 { // RTF_GATEWAY
			r.Gateway = gw.String()
		}
		r.Metric, _ = strconv.Atoi(f[6])
		routes = append(routes, r)
	}
	return routes
}

func hexIPv4LE(s string) (netip.Addr, bool) {
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}), true
}

func hexIPv6(s string) (netip.Addr, bool) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16([16]byte(b)), true
}

// parseRoute6 reads /proc/net/ipv6_route: dst, dst len, src, src len, next hop, metric,
// refcnt, use, flags, device; addresses are big-endian hex.
func parseRoute6(b []byte) []Route {
	var routes []Route
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		dst, ok1 := hexIPv6(f[0])
		plen, err := strconv.ParseUint(f[1], 16, 8)
		gw, ok2 := hexIPv6(f[4])
		flags, _ := strconv.ParseUint(f[8], 16, 32)
		if !ok1 || !ok2 || err != nil || flags&1 == 0 || f[9] == "lo" {
			continue
		}
		r := Route{Destination: netip.PrefixFrom(dst, int(plen)).String(), Interface: f[9]}
		if flags&2 != 0 && !gw.IsUnspecified() {
			r.Gateway = gw.String()
		}
		m, _ := strconv.ParseUint(f[5], 16, 32)
		r.Metric = int(m)
		routes = append(routes, r)
	}
	return routes
}

func collectListening(_ context.Context, c *collector) {
	var out []Listener
	read := 0
	eph := ephemeralPorts(c.readLine("/proc/sys/net/ipv4/ip_local_port_range"))
	for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := c.read("/proc/net/" + proto)
		if err != nil {
			continue
		}
		read++
		out = append(out, parseProcNet(proto, b, eph)...)
	}
	if read == 0 {
		c.note("listening", "/proc/net/{tcp,tcp6,udp,udp6} unreadable")
	}
	c.inv.Listening = out
}

// portRange is the kernel's range of ephemeral ports.
type portRange struct{ lo, hi uint64 }

// ephemeralPorts reads ip_local_port_range, falling back to Linux's default.
func ephemeralPorts(line string) portRange {
	f := strings.Fields(line)
	if len(f) == 2 {
		lo, err1 := strconv.ParseUint(f[0], 10, 16)
		hi, err2 := strconv.ParseUint(f[1], 10, 16)
		if err1 == nil && err2 == nil && lo <= hi {
			return portRange{lo, hi}
		}
	}
	return portRange{32768, 60999}
}

// parseProcNet lists TCP sockets in LISTEN (state 0A) and UDP sockets bound but not
// connected (state 07 with no remote port), without duplicates. A UDP socket on an
// ephemeral port is a client that bound without asking for a port (a resolver, a QUIC
// client, the agent itself): it comes and goes with each exchange and serves nobody, so
// listing it would make the inventory of an unchanged machine change at every collection.
func parseProcNet(proto string, b []byte, eph portRange) []Listener {
	var out []Listener
	seen := make(map[Listener]bool)
	udp := strings.HasPrefix(proto, "udp")
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[0] == "sl" {
			continue
		}
		st := f[3]
		if (!udp && st != "0A") || (udp && st != "07") {
			continue
		}
		local, remote := f[1], f[2]
		if udp && !strings.HasSuffix(remote, ":0000") {
			continue
		}
		ahex, phex, ok := strings.Cut(local, ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(phex, 16, 16)
		if err != nil || udp && port >= eph.lo && port <= eph.hi {
			continue
		}
		var addr netip.Addr
		if len(ahex) == 8 {
			addr, ok = hexIPv4LE(ahex)
		} else {
			addr, ok = hexIPv6Proc(ahex)
		}
		if !ok {
			continue
		}
		l := Listener{Protocol: proto, Address: addr.String(), Port: int(port)}
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

// hexIPv6Proc decodes /proc/net/tcp6 addresses: four 32-bit words, each little-endian.
func hexIPv6Proc(s string) (netip.Addr, bool) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 16 {
		return netip.Addr{}, false
	}
	var a [16]byte
	for w := 0; w < 4; w++ {
		for i := 0; i < 4; i++ {
			a[w*4+i] = b[w*4+3-i]
		}
	}
	return netip.AddrFrom16(a).Unmap(), true
}
