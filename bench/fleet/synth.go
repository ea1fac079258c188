package fleet

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bosun-io/bosun/inventory"
)

// behaviour is what a simulated node does in each run.
type behaviour uint8

const (
	compliant behaviour = iota
	drift
	failing
	silent
)

func (b behaviour) String() string {
	return [...]string{"compliant", "drift", "error", "silent"}[b]
}

// osVariant is one kind of machine in the simulated fleet.
type osVariant struct {
	weight                       int
	name, id, version, full, fam string
	kernel, pkgSource, pkgSuffix string
}

// variants are the fleet's operating systems; the weights are percent of the nodes.
var variants = []osVariant{
	{35, "Debian GNU/Linux", "debian", "12", "Debian GNU/Linux 12 (bookworm)", "debian", "6.1.0-%d-amd64", "dpkg", "+deb12u%d"},
	{25, "Ubuntu", "ubuntu", "24.04", "Ubuntu 24.04.1 LTS", "debian", "6.8.0-%d-generic", "dpkg", "-0ubuntu%d"},
	{20, "Rocky Linux", "rocky", "9.4", "Rocky Linux 9.4 (Blue Onyx)", "redhat", "5.14.0-%d.el9.x86_64", "rpm", "-%d.el9"},
	{10, "SLES", "sles", "15.5", "SUSE Linux Enterprise Server 15 SP5", "suse", "5.14.21-150500.%d-default", "rpm", "-150500.%d"},
	{10, "Alpine Linux", "alpine", "3.20", "Alpine Linux v3.20", "alpine", "6.6.%d-0-lts", "apk", "-r%d"},
}

// families are the OS families the policy model has a group and a rule for.
var families = []string{"debian", "redhat", "suse", "alpine"}

// basePackages are names every machine of every family may have; the rest of a node's
// packages are generated library names.
var basePackages = strings.Fields(`acl adduser apt base-files base-passwd bash bind9-host bsdutils
busybox bzip2 ca-certificates chrony coreutils cpio cron curl dash dbus debconf debianutils
diffutils dmidecode dnsutils e2fsprogs ethtool file findutils gawk gcc-12-base gettext-base gnupg
gpgv grep groff-base gzip hostname htop ifupdown init-system-helpers iproute2 iptables iputils-ping
isc-dhcp-client jq kmod less libacl1 libapparmor1 libattr1 libaudit1 libblkid1 libbz2-1.0 libc6
libcap2 libcom-err2 libcrypt1 libcurl4 libdb5.3 libdebconfclient0 libexpat1 libffi8 libgcc-s1
libgcrypt20 libgmp10 libgnutls30 libgpg-error0 libgssapi-krb5-2 libidn2-0 libk5crypto3 libkeyutils1
libkrb5-3 liblz4-1 liblzma5 libmd0 libmount1 libncursesw6 libnettle8 libnghttp2-14 libp11-kit0
libpam-modules libpam0g libpcre2-8-0 libpsl5 libreadline8 libseccomp2 libselinux1 libsemanage2
libsepol2 libsmartcols1 libsqlite3-0 libss2 libssl3 libstdc++6 libsystemd0 libtasn1-6 libtinfo6
libudev1 libunistring2 libuuid1 libxml2 libxxhash0 libzstd1 locales login logrotate lsb-release
lsof man-db mawk mount nano ncurses-base netbase netcat-openbsd nftables openssh-client
openssh-server openssl passwd perl perl-base procps python3 python3-minimal readline-common rsync
rsyslog sed sensible-utils sudo systemd systemd-sysv sysvinit-utils tar tcpdump tzdata
unattended-upgrades usrmerge util-linux vim-tiny wget whiptail xz-utils zlib1g zstd`)

// simNode is one simulated agent: its identity, what it is and how it behaves.
type simNode struct {
	index   int
	id      string
	key     ed25519.PrivateKey
	host    string
	variant int
	does    behaviour
	offset  time.Duration // where in the interval it runs (its splay)
	zone    *zone

	// Set from the policy the node fetched, under mu: the zone's scheduler reads them while
	// a contact may be fetching a new policy.
	mu       sync.Mutex
	configID string
	shape    *shape
	run      uint64
}

// shape is what a report needs of an applied policy, shared by every node whose policy has
// the same components: their indexes and modes, and a copy of one such policy to rebuild
// another node's from a delta.
type shape struct {
	reported []reportedComponent
	policy   policyTemplate
}

type reportedComponent struct {
	index uint32
	audit bool
}

// makeNodes derives n nodes from seed: keys, ids, host names, OS variants, behaviours and
// splays are reproducible.
func makeNodes(n int, seed uint64, mix Mix, interval time.Duration) []*simNode {
	rng := rand.New(rand.NewPCG(seed, 0x62656e6368))
	nodes := make([]*simNode, n)
	for i := range nodes {
		var s [32]byte
		binary.BigEndian.PutUint64(s[:], seed)
		binary.BigEndian.PutUint64(s[8:], uint64(i))
		seedKey := sha256.Sum256(s[:])
		key := ed25519.NewKeyFromSeed(seedKey[:])
		nodes[i] = &simNode{
			index:   i,
			id:      uuidOf(key.Public().(ed25519.PublicKey)),
			key:     key,
			host:    fmt.Sprintf("sim-%06d", i),
			variant: pickVariant(rng),
			does:    pickBehaviour(rng, mix),
			offset:  time.Duration(rng.Int64N(int64(interval))),
		}
	}
	return nodes
}

// uuidOf makes a version 4 UUID from a key, so that node ids are stable with the seed.
func uuidOf(pub []byte) string {
	h := sha256.Sum256(pub)
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func pickVariant(rng *rand.Rand) int {
	w := rng.IntN(100)
	for i, v := range variants {
		if w < v.weight {
			return i
		}
		w -= v.weight
	}
	return 0
}

func pickBehaviour(rng *rand.Rand, m Mix) behaviour {
	x := rng.Float64() * 100
	switch {
	case x < m.Compliant:
		return compliant
	case x < m.Compliant+m.Drift:
		return drift
	case x < m.Compliant+m.Drift+m.Error:
		return failing
	}
	return silent
}

// synthInventory makes the node's inventory: its OS variant, hardware drawn from its index,
// 150 to 600 packages, a network interface in its zone's subnet, a few updates (some for
// security), local users and a custom property. Real machines send 10-15 kB of it on the
// wire; these send 3-10 kB.
func synthInventory(n *simNode, zone int, now time.Time) *inventory.Inventory {
	v := variants[n.variant]
	rng := rand.New(rand.NewPCG(uint64(n.index), 0x696e76))
	minor := 10 + rng.IntN(20)
	inv := &inventory.Inventory{
		SchemaVersion: 1,
		NodeID:        n.id,
		CollectedAt:   now.UTC(),
		Source:        inventory.SourceAgent,
		Hostname:      n.host,
		FQDN:          n.host + ".sim.example.org",
		OS: inventory.OS{Name: v.name, ID: v.id, Version: v.version, FullName: v.full, Family: v.fam,
			Kernel: "linux", KernelVersion: fmt.Sprintf(v.kernel, minor), Architecture: "x86_64"},
		Machine: inventory.Machine{Manufacturer: "QEMU", Model: "Standard PC (Q35 + ICH9, 2009)", Serial: fmt.Sprintf("SIM%08d", n.index),
			MachineID: strings.ReplaceAll(n.id, "-", ""), UUID: n.id, Virtualization: []string{"kvm", "vmware", "xen", ""}[rng.IntN(4)]},
		Memory:   inventory.Memory{Total: uint64(2+rng.IntN(254)) << 30, SwapTotal: uint64(rng.IntN(8)) << 30},
		Timezone: "UTC",
		BootTime: now.Add(-time.Duration(rng.IntN(90*24)) * time.Hour).UTC().Truncate(time.Second),
		Agent:    inventory.Agent{Name: "bosun", Version: "sim"},
		Properties: map[string]json.RawMessage{
			"rack": json.RawMessage(fmt.Sprintf("%q", fmt.Sprintf("r%02d", n.index%40))),
		},
	}
	cores := []int{1, 2, 4, 8, 16, 32, 64}[rng.IntN(7)]
	inv.CPUs = []inventory.CPU{{Model: "AMD EPYC 7B13", Vendor: "AuthenticAMD", Cores: cores, Threads: cores, MHz: 2450, Architecture: "x86_64"}}
	inv.Disks = []inventory.Disk{{Name: "vda", Model: "QEMU HARDDISK", Size: uint64(20+rng.IntN(980)) << 30, Type: "disk"}}
	inv.Filesystems = []inventory.Filesystem{
		{Mountpoint: "/", Device: "/dev/vda1", Type: "ext4", Total: 40 << 30, Free: uint64(rng.IntN(40)) << 30},
		{Mountpoint: "/boot", Device: "/dev/vda2", Type: "ext4", Total: 1 << 30, Free: 700 << 20},
	}
	ip := fmt.Sprintf("10.%d.%d.%d", zone%250, (n.index/250)%250, n.index%250+1)
	inv.Network = inventory.Network{
		Interfaces: []inventory.Interface{
			{Name: "lo", MTU: 65536, Up: true, IPv4: []string{"127.0.0.1/8"}, IPv6: []string{"::1/128"}, Type: "loopback"},
			{Name: "eth0", MAC: fmt.Sprintf("52:54:00:%02x:%02x:%02x", n.index>>16&0xff, n.index>>8&0xff, n.index&0xff), MTU: 1500, Up: true,
				IPv4: []string{ip + "/16"}, Type: "ethernet", Speed: "10000"},
		},
		Routes:         []inventory.Route{{Destination: "0.0.0.0/0", Gateway: fmt.Sprintf("10.%d.0.1", zone%250), Interface: "eth0"}},
		DefaultGateway: fmt.Sprintf("10.%d.0.1", zone%250),
		DNS:            []string{"10.0.0.53"},
	}
	inv.Users = []inventory.User{{Name: "root", UID: 0, GID: 0, Home: "/root", Shell: "/bin/bash"}}
	for u := range 2 + rng.IntN(5) {
		inv.Users = append(inv.Users, inventory.User{Name: fmt.Sprintf("ops%d", u), UID: 1000 + u, GID: 1000 + u, Home: fmt.Sprintf("/home/ops%d", u), Shell: "/bin/bash"})
	}
	inv.Listening = []inventory.Listener{{Protocol: "tcp", Address: "0.0.0.0", Port: 22}}
	npkg := 150 + rng.IntN(451)
	for p := range npkg {
		name := ""
		if p < len(basePackages) {
			name = basePackages[p]
		} else {
			name = fmt.Sprintf("lib%s%d", basePackages[p%len(basePackages)], p/len(basePackages))
		}
		inv.Software = append(inv.Software, inventory.Package{
			Name: name, Version: fmt.Sprintf("%d.%d.%d%s", 1+p%7, p%13, rng.IntN(20), fmt.Sprintf(v.pkgSuffix, 1+rng.IntN(9))),
			Architecture: "amd64", Source: v.pkgSource,
		})
	}
	slices.SortFunc(inv.Software, func(a, b inventory.Package) int { return strings.Compare(a.Name, b.Name) })
	for u := range rng.IntN(30) {
		p := inv.Software[rng.IntN(len(inv.Software))]
		inv.Updates = append(inv.Updates, inventory.Update{Name: p.Name, Version: p.Version + ".1", Architecture: p.Architecture, Security: u%4 == 0})
	}
	return inv
}
