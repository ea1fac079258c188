package inventory

import (
	"encoding/json"
	"time"
)

// SchemaVersion is the version of the [Inventory] JSON model. It changes only when a field
// changes meaning or is removed; adding a field does not change it.
//
// History:
//   - 1 (2025-11): first model.
const SchemaVersion = 1

// Source tells where an inventory came from.
const (
	SourceAgent  = "agent"  // collected by a bosun agent on the node
	SourceFusion = "fusion" // imported from a FusionInventory/OCS XML document
)

// Inventory is what a node is. Field names are part of the wire and store formats: never
// rename one; add new ones instead.
type Inventory struct {
	SchemaVersion int       `json:"schema_version"`
	NodeID        string    `json:"node_id"`
	CollectedAt   time.Time `json:"collected_at"`
	// Source is SourceAgent or SourceFusion.
	Source string `json:"source,omitempty"`
	// InventoryOnly marks a node known only through an imported inventory: it runs no bosun
	// agent and gets no policy.
	InventoryOnly bool `json:"inventory_only,omitempty"`

	Hostname string  `json:"hostname"`
	FQDN     string  `json:"fqdn,omitempty"`
	OS       OS      `json:"os"`
	Machine  Machine `json:"machine"`

	CPUs        []CPU        `json:"cpus,omitempty"`
	Memory      Memory       `json:"memory"`
	Disks       []Disk       `json:"disks,omitempty"`
	Filesystems []Filesystem `json:"filesystems,omitempty"`
	Network     Network      `json:"network"`

	BootTime time.Time `json:"boot_time,omitzero"`
	Timezone string    `json:"timezone,omitempty"`

	Users     []User     `json:"users,omitempty"`
	Groups    []Group    `json:"groups,omitempty"`
	Listening []Listener `json:"listening,omitempty"`

	// Software is sorted by name, architecture, version and source.
	Software []Package `json:"software,omitempty"`
	Updates  []Update  `json:"updates,omitempty"`
	VMs      []VM      `json:"vms,omitempty"`

	Agent Agent `json:"agent"`
	// Properties are the node's custom properties, one per *.json file of the properties
	// directory (key = file name without .json), or Rudder's CUSTOM_PROPERTIES on import.
	Properties map[string]json.RawMessage `json:"properties,omitempty"`

	// Notes say what could not be collected and why; an empty field with no note means the
	// node has none (no swap, no update).
	Notes []Note `json:"notes,omitempty"`
}

// OS describes the operating system.
type OS struct {
	Name     string `json:"name"`                // "Debian GNU/Linux", "CentOS Stream", "Microsoft Windows Server 2019"
	ID       string `json:"id,omitempty"`        // os-release ID: "debian", "centos"
	Version  string `json:"version,omitempty"`   // "12", "8.9"
	FullName string `json:"full_name,omitempty"` // "Debian GNU/Linux 12 (bookworm)"
	// Family is the package family: "debian", "rhel", "suse", "alpine", "arch", "windows"...
	Family        string `json:"family,omitempty"`
	Kernel        string `json:"kernel,omitempty"`         // "linux", "windows"
	KernelVersion string `json:"kernel_version,omitempty"` // "6.1.0-13-amd64"
	Architecture  string `json:"arch,omitempty"`           // uname machine: "x86_64", "aarch64"
}

// Machine describes the hardware or virtual machine.
type Machine struct {
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	Serial       string `json:"serial,omitempty"`
	BIOSVendor   string `json:"bios_vendor,omitempty"`
	BIOSVersion  string `json:"bios_version,omitempty"`
	BIOSDate     string `json:"bios_date,omitempty"`
	MachineID    string `json:"machine_id,omitempty"` // /etc/machine-id
	UUID         string `json:"uuid,omitempty"`       // SMBIOS product UUID
	// Virtualization is the hypervisor ("kvm", "vmware", "virtualbox", "xen", "hyperv",
	// "physical") and Container the container runtime ("docker", "podman", "lxc") if any.
	Virtualization string `json:"virtualization,omitempty"`
	Container      string `json:"container,omitempty"`
}

// CPU is one physical processor (socket) or, when sockets are unknown, one model line.
type CPU struct {
	Model        string  `json:"model,omitempty"`
	Vendor       string  `json:"vendor,omitempty"`
	Cores        int     `json:"cores,omitempty"`
	Threads      int     `json:"threads,omitempty"`
	MHz          float64 `json:"mhz,omitempty"`
	Architecture string  `json:"arch,omitempty"`
}

// Memory sizes are in bytes.
type Memory struct {
	Total     uint64 `json:"total,omitempty"`
	SwapTotal uint64 `json:"swap_total,omitempty"`
	// Modules are the memory slots, when known (FusionInventory import).
	Modules []MemoryModule `json:"modules,omitempty"`
}

// MemoryModule is one memory slot.
type MemoryModule struct {
	Slot     string `json:"slot,omitempty"`
	Size     uint64 `json:"size,omitempty"`
	Type     string `json:"type,omitempty"`
	SpeedMHz string `json:"speed,omitempty"`
	Serial   string `json:"serial,omitempty"`
}

// Disk is a block device.
type Disk struct {
	Name         string `json:"name"`
	Model        string `json:"model,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Serial       string `json:"serial,omitempty"`
	Size         uint64 `json:"size,omitempty"`
	Type         string `json:"type,omitempty"` // "disk", "cdrom", "ssd", "hdd"
}

// Filesystem is a mounted filesystem with its usage in bytes.
type Filesystem struct {
	Mountpoint string `json:"mountpoint"`
	Device     string `json:"device,omitempty"`
	Type       string `json:"type,omitempty"`
	Total      uint64 `json:"total,omitempty"`
	Free       uint64 `json:"free,omitempty"`
	Label      string `json:"label,omitempty"`
}

// Network gathers interfaces, routes and name resolution.
type Network struct {
	Interfaces     []Interface `json:"interfaces,omitempty"`
	Routes         []Route     `json:"routes,omitempty"`
	DefaultGateway string      `json:"default_gateway,omitempty"`
	DNS            []string    `json:"dns,omitempty"`
}

// Interface is a network interface; addresses are CIDR strings ("192.0.2.4/24").
type Interface struct {
	Name  string   `json:"name"`
	MAC   string   `json:"mac,omitempty"`
	MTU   int      `json:"mtu,omitempty"`
	Up    bool     `json:"up,omitempty"`
	IPv4  []string `json:"ipv4,omitempty"`
	IPv6  []string `json:"ipv6,omitempty"`
	Type  string   `json:"type,omitempty"`
	Speed string   `json:"speed,omitempty"`
}

// Route is one entry of the kernel routing table.
type Route struct {
	Destination string `json:"dst"` // CIDR
	Gateway     string `json:"gw,omitempty"`
	Interface   string `json:"dev,omitempty"`
	Metric      int    `json:"metric,omitempty"`
}

// User is a local account.
type User struct {
	Name  string `json:"name"`
	UID   int    `json:"uid"`
	GID   int    `json:"gid"`
	Gecos string `json:"gecos,omitempty"`
	Home  string `json:"home,omitempty"`
	Shell string `json:"shell,omitempty"`
}

// Group is a local group.
type Group struct {
	Name    string   `json:"name"`
	GID     int      `json:"gid"`
	Members []string `json:"members,omitempty"`
}

// Listener is a listening socket (TCP LISTEN or bound UDP).
type Listener struct {
	Protocol string `json:"proto"` // "tcp", "tcp6", "udp", "udp6"
	Address  string `json:"addr"`
	Port     int    `json:"port"`
}

// Package is an installed software package.
type Package struct {
	Name         string `json:"name"`
	Version      string `json:"version,omitempty"`
	Architecture string `json:"arch,omitempty"`
	// Source is the package manager or origin: "dpkg", "rpm", "apk", "msi", "registry".
	Source    string `json:"source,omitempty"`
	Publisher string `json:"publisher,omitempty"`
}

// Update is an available update of an installed package.
type Update struct {
	Name         string `json:"name"`
	Version      string `json:"version"` // the candidate version
	Architecture string `json:"arch,omitempty"`
	Source       string `json:"source,omitempty"` // "apt", "yum", "dnf", "zypper"
	// Origin is where the candidate comes from: an apt list file name, a yum repository.
	Origin   string `json:"origin,omitempty"`
	Security bool   `json:"security,omitempty"`
	ID       string `json:"id,omitempty"` // advisory ids: "RHSA-2020-4566,CVE-2021-4034"
}

// VM is a virtual machine or container hosted by the node.
type VM struct {
	Name   string `json:"name"`
	UUID   string `json:"uuid,omitempty"`
	Type   string `json:"type,omitempty"`
	Status string `json:"status,omitempty"`
}

// Agent holds the facts of the agent that produced the inventory.
type Agent struct {
	Name    string `json:"name,omitempty"` // "bosun", "cfengine-community", "dsc"
	Version string `json:"version,omitempty"`
	// KeyFingerprint identifies the node's key (SHA-256 of the public key, hex).
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
	PolicyServer   string `json:"policy_server,omitempty"`
}

// Note records why a field is empty.
type Note struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Uptime is how long the machine had been up when the inventory was collected. It is
// derived from BootTime rather than stored, so that an inventory of an unchanged machine
// stays unchanged: a stored uptime would make every daily delta carry a new value.
func (inv *Inventory) Uptime() time.Duration {
	if inv.BootTime.IsZero() || inv.CollectedAt.Before(inv.BootTime) {
		return 0
	}
	return inv.CollectedAt.Sub(inv.BootTime)
}
