package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2025, 11, 20, 3, 4, 5, 0, time.UTC)

// collectTestdata collects the fake machine under testdata/root.
func collectTestdata(t testing.TB) *Inventory {
	t.Helper()
	props := t.TempDir()
	for name, content := range map[string]string{
		"datacenter.json": `{ "name": "paris-1", "rack": 12 }`,
		"owner.json":      `"team-web"`,
		"broken.json":     `{"unterminated": `,
		"ignored.txt":     `not a property`,
	} {
		if err := os.WriteFile(filepath.Join(props, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inv, err := Collect(context.Background(), CollectOptions{
		RootPrefix:    "testdata/root",
		PropertiesDir: props,
		NodeID:        "0b4f14f9-05aa-45a7-9371-7bed002e28a7",
		Agent:         Agent{Name: "bosun", Version: "0.1.0", PolicyServer: "relay1"},
		Now:           func() time.Time { return fixedNow },
	})
	if err != nil {
		t.Fatalf("Collect: got %v, want nil", err)
	}
	return inv
}

func TestCollectTestdata(t *testing.T) {
	inv := collectTestdata(t)
	checks := []struct {
		field     string
		got, want any
	}{
		{"node_id", inv.NodeID, "0b4f14f9-05aa-45a7-9371-7bed002e28a7"},
		{"collected_at", inv.CollectedAt, fixedNow},
		{"hostname", inv.Hostname, "web1"},
		{"fqdn", inv.FQDN, "web1.example.org"},
		{"os.name", inv.OS.Name, "Debian GNU/Linux"},
		{"os.version", inv.OS.Version, "12"},
		{"os.full_name", inv.OS.FullName, "Debian GNU/Linux 12 (bookworm)"},
		{"os.family", inv.OS.Family, "debian"},
		{"os.kernel_version", inv.OS.KernelVersion, "6.1.0-13-amd64"},
		{"os.arch", inv.OS.Architecture, "x86_64"},
		{"machine.manufacturer", inv.Machine.Manufacturer, "QEMU"},
		{"machine.serial", inv.Machine.Serial, "SER-123"},
		{"machine.uuid", inv.Machine.UUID, "abcdef01-2345-6789-abcd-ef0123456789"},
		{"machine.bios_date", inv.Machine.BIOSDate, "04/01/2014"},
		{"machine.machine_id", inv.Machine.MachineID, "0123456789abcdef0123456789abcdef"},
		{"machine.virtualization", inv.Machine.Virtualization, "kvm"},
		{"machine.container", inv.Machine.Container, "lxc"},
		{"cpus", inv.CPUs, []CPU{{Model: "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", Vendor: "GenuineIntel", Cores: 2, Threads: 2, MHz: 2400, Architecture: "x86_64"}}},
		{"memory.total", inv.Memory.Total, uint64(4028436 * 1024)},
		{"memory.swap_total", inv.Memory.SwapTotal, uint64(1048572 * 1024)},
		{"disks", inv.Disks, []Disk{{Name: "sda", Model: "QEMU HARDDISK", Manufacturer: "ATA", Size: 41943040 * 512, Type: "ssd"}}},
		{"boot_time", inv.BootTime, time.Unix(1700000000, 0).UTC()},
		{"timezone", inv.Timezone, "Europe/Paris"},
		{"default_gateway", inv.Network.DefaultGateway, "192.0.2.1"},
		{"routes", inv.Network.Routes, []Route{
			{Destination: "0.0.0.0/0", Gateway: "192.0.2.1", Interface: "eth0", Metric: 100},
			{Destination: "192.0.2.0/24", Interface: "eth0"},
			{Destination: "2001:db8::/64", Interface: "eth0", Metric: 256},
			{Destination: "::/0", Gateway: "2001:db8::1", Interface: "eth0", Metric: 1024},
		}},
		{"listening", inv.Listening, []Listener{
			{Protocol: "tcp", Address: "0.0.0.0", Port: 22},
			{Protocol: "tcp", Address: "127.0.0.1", Port: 25},
			{Protocol: "tcp6", Address: "::", Port: 80},
			{Protocol: "tcp6", Address: "::1", Port: 8080},
			{Protocol: "udp", Address: "127.0.0.53", Port: 53},
		}},
		{"users", inv.Users, []User{
			{Name: "root", UID: 0, GID: 0, Gecos: "root", Home: "/root", Shell: "/bin/bash"},
			{Name: "daemon", UID: 1, GID: 1, Gecos: "daemon", Home: "/usr/sbin", Shell: "/usr/sbin/nologin"},
			{Name: "alice", UID: 1000, GID: 1000, Gecos: "Alice Example,,,", Home: "/home/alice", Shell: "/bin/zsh"},
		}},
		{"groups", inv.Groups, []Group{{Name: "root"}, {Name: "sudo", GID: 27, Members: []string{"alice", "bob"}}, {Name: "alice", GID: 1000}}},
		{"software", inv.Software, []Package{
			{Name: "bash", Version: "5.2.15-2+b2", Architecture: "amd64", Source: "dpkg", Publisher: "Matthias Klose"},
			{Name: "libfoo", Version: "1:1.0-1", Architecture: "i386", Source: "dpkg"},
			{Name: "nodejs", Version: "20.10.0-1nodesource1", Architecture: "amd64", Source: "dpkg"},
			{Name: "openssl", Version: "3.0.11-1~deb12u1", Architecture: "amd64", Source: "dpkg", Publisher: "Debian OpenSSL Team"},
			{Name: "tzdata", Version: "2024a-0+deb12u1", Architecture: "all", Source: "dpkg", Publisher: "GNU Libc Maintainers"},
		}},
		{"updates", inv.Updates, []Update{
			{Name: "nodejs", Version: "20.11.0-1nodesource1", Architecture: "amd64", Source: "apt", Origin: "deb.nodesource.com_node%5f20.x_dists_nodistro_main_binary-amd64_Packages"},
			{Name: "openssl", Version: "3.0.15-1~deb12u1", Architecture: "amd64", Source: "apt", Origin: "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages", Security: true},
			{Name: "tzdata", Version: "2025b-0+deb12u1", Architecture: "all", Source: "apt", Origin: "deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages.lz4"},
		}},
		{"properties", inv.Properties, map[string]json.RawMessage{
			"datacenter": json.RawMessage(`{"name":"paris-1","rack":12}`),
			"owner":      json.RawMessage(`"team-web"`),
		}},
		{"agent", inv.Agent, Agent{Name: "bosun", Version: "0.1.0", PolicyServer: "relay1"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.field, c.got, c.want)
		}
	}
	// What a root prefix cannot reach, and the broken property, are notes, not failures.
	notes := map[string]bool{}
	for _, n := range inv.Notes {
		notes[n.Field] = true
	}
	for _, f := range []string{"filesystems", "network.interfaces", "properties.broken"} {
		if !notes[f] {
			t.Errorf("notes: got %+v, want one for %s", inv.Notes, f)
		}
	}
	if err := inv.Validate(); err != nil {
		t.Errorf("Validate: got %v, want nil", err)
	}
}

// TestCollectEmptyRoot: a machine with nothing readable still yields an inventory, with
// notes saying why each field is empty.
func TestCollectEmptyRoot(t *testing.T) {
	inv, err := Collect(context.Background(), CollectOptions{RootPrefix: t.TempDir()})
	if err != nil {
		t.Fatalf("Collect: got %v, want nil", err)
	}
	notes := map[string]bool{}
	for _, n := range inv.Notes {
		notes[n.Field] = true
	}
	for _, f := range []string{"os", "hostname", "software", "users", "groups", "cpus", "memory.total", "timezone", "listening"} {
		if !notes[f] {
			t.Errorf("notes: got %+v, want one for %s", inv.Notes, f)
		}
	}
	if err := inv.Validate(); err == nil {
		t.Errorf("Validate of an empty inventory: got nil, want an error")
	}
}

func TestCollectCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Collect(ctx, CollectOptions{RootPrefix: "testdata/root"}); err == nil {
		t.Errorf("Collect with a canceled context: got nil, want an error")
	}
}

func TestLZ4LinkedBlocks(t *testing.T) {
	f, err := os.Open("testdata/root/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages.lz4")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(newLZ4Reader(f))
	if err != nil {
		t.Fatalf("decode: got %v, want nil", err)
	}
	sum := sha256.Sum256(b)
	// Written by `lz4 -BD -B4` (64 KiB linked blocks, content checksum) from 326,202 bytes.
	if got, want := hex.EncodeToString(sum[:]), "5fc9992e23aed5c6c25cbfeb917ecff9502a5da1fd39ae2736c6fb04144e7335"; got != want || len(b) != 326202 {
		t.Errorf("decoded: got %d bytes sha256 %s, want 326202 bytes %s", len(b), got, want)
	}
	// Garbage and truncation are errors, not panics.
	for _, in := range []string{"", "\x04\x22\x4d\x18\x44\x40", "not lz4 at all", "\x04\x22\x4d\x18\x44\x40\x5e\x10\x00\x00\x00\xff\xff"} {
		if _, err := io.ReadAll(newLZ4Reader(strings.NewReader(in))); err == nil && in != "" {
			t.Errorf("decode %q: got nil error, want one", in)
		}
	}
}

func TestCompareDebian(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.10", "1.9", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0~~", "1.0~", -1},
		{"1.0", "1.0+b1", -1},
		{"1:1.0", "2.0", 1},
		{"0:1.0", "1.0", 0},
		{"1.0-1", "1.0-2", -1},
		{"1.0-10", "1.0-9", 1},
		{"2.30-1ubuntu1", "2.30-1", 1},
		{"3.0.11-1~deb12u1", "3.0.11-1", -1},
		{"3.0.15-1~deb12u1", "3.0.11-1~deb12u1", 1},
		{"1.0a", "1.0", 1},
		{"1.0a", "1.0+", -1}, // letters sort before non-letters
		{"1.001", "1.1", 0},
		{"5.2.15-2+b2", "5.2.15-2+b13", -1},
		{"20.10.0-1nodesource1", "20.11.0-1nodesource1", -1},
		{"1.2.3-4-5", "1.2.3-4-6", -1}, // revision after the last hyphen
	}
	for _, tt := range tests {
		got := CompareDebian(tt.a, tt.b)
		if sign(got) != tt.want {
			t.Errorf("CompareDebian(%q, %q): got %d, want sign %d", tt.a, tt.b, got, tt.want)
		}
		if back := CompareDebian(tt.b, tt.a); sign(back) != -tt.want {
			t.Errorf("CompareDebian(%q, %q): got %d, want sign %d", tt.b, tt.a, back, -tt.want)
		}
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestAptURIToFileName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://deb.debian.org/debian/dists/bookworm", "deb.debian.org_debian_dists_bookworm"},
		{"https://deb.nodesource.com/node_20.x/dists/nodistro", "deb.nodesource.com_node%5f20.x_dists_nodistro"},
		{"http://user:pw@mirror.example/debian/dists/x/", "mirror.example_debian_dists_x"},
		{"http://ppa.example/~team/ubuntu/dists/jammy", "ppa.example_%7eteam_ubuntu_dists_jammy"},
	}
	for _, tt := range tests {
		if got := aptURIToFileName(tt.in); got != tt.want {
			t.Errorf("aptURIToFileName(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	m := parseOSRelease([]byte("# comment\nNAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME='Alpine \\\"x\\\"'\nBROKEN\n"))
	want := map[string]string{"NAME": "Alpine Linux", "ID": "alpine", "VERSION_ID": "3.19.1", "PRETTY_NAME": `Alpine "x"`}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("parseOSRelease: got %v, want %v", m, want)
	}
	for _, tt := range []struct{ id, like, want string }{
		{"ubuntu", "debian", "debian"}, {"rocky", "rhel centos fedora", "rhel"}, {"opensuse-leap", "suse opensuse", "suse"},
		{"alpine", "", "alpine"}, {"nixos", "", "nixos"}, {"pop", "ubuntu debian", "debian"},
	} {
		if got := osFamily(tt.id, tt.like); got != tt.want {
			t.Errorf("osFamily(%q, %q): got %q, want %q", tt.id, tt.like, got, tt.want)
		}
	}
}

func TestParseApkAndRPM(t *testing.T) {
	apk := parseApkInstalled([]byte("C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nm:Timo Teräs <timo@example.org>\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\n"))
	wantApk := []Package{
		{Name: "musl", Version: "1.2.4-r2", Architecture: "x86_64", Source: "apk", Publisher: "Timo Teräs"},
		{Name: "busybox", Version: "1.36.1-r15", Architecture: "x86_64", Source: "apk"},
	}
	if !reflect.DeepEqual(apk, wantApk) {
		t.Errorf("parseApkInstalled: got %+v, want %+v", apk, wantApk)
	}
	rpm := parseRPMQuery([]byte("bash\t5.1.8-6.el9\tx86_64\tRed Hat, Inc.\ngpg-pubkey\tfd431d51-4ae0493b\t(none)\t(none)\nkernel\t1:5.14.0-1.el9\tx86_64\t(none)\n"))
	wantRPM := []Package{
		{Name: "bash", Version: "5.1.8-6.el9", Architecture: "x86_64", Source: "rpm", Publisher: "Red Hat, Inc."},
		{Name: "kernel", Version: "1:5.14.0-1.el9", Architecture: "x86_64", Source: "rpm"},
	}
	if !reflect.DeepEqual(rpm, wantRPM) {
		t.Errorf("parseRPMQuery: got %+v, want %+v", rpm, wantRPM)
	}
}

func TestFQDNFromHosts(t *testing.T) {
	hosts := "127.0.0.1 localhost\n127.0.1.1 db2.corp.example db2 # comment\n10.0.0.5 web1 web1.lan\n"
	for _, tt := range []struct{ host, want string }{
		{"db2", "db2.corp.example"}, {"web1", "web1.lan"}, {"other", ""}, {"already.dotted", "already.dotted"},
	} {
		if got := fqdnFromHosts(hosts, tt.host); got != tt.want {
			t.Errorf("fqdnFromHosts(%q): got %q, want %q", tt.host, got, tt.want)
		}
	}
}
