package inventory

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// RudderInfo is the <RUDDER> section of an inventory written by a Rudder agent.
type RudderInfo struct {
	NodeID               string   `json:"node_id"`
	Hostname             string   `json:"hostname,omitempty"`
	AgentName            string   `json:"agent_name"`
	AgentCert            string   `json:"agent_cert,omitempty"` // PEM certificate
	AgentKey             string   `json:"agent_key,omitempty"`  // PEM RSA public key (CFENGINE_KEY)
	Owner                string   `json:"owner,omitempty"`
	PolicyServerHostname string   `json:"policy_server_hostname,omitempty"`
	PolicyServerID       string   `json:"policy_server_id,omitempty"`
	Capabilities         []string `json:"capabilities,omitempty"`
	ServerRoles          []string `json:"server_roles,omitempty"`
}

// fusionNamespace is the UUIDv5 namespace of inventory-only node ids:
// UUIDv5(URL namespace, "https://bosun.io/ns/fusioninventory-deviceid").
var fusionNamespace = uuidV5([16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8},
	"https://bosun.io/ns/fusioninventory-deviceid")

// uuidV5 is RFC 9562 UUIDv5: SHA-1 of namespace and name, version and variant bits set.
func uuidV5(ns [16]byte, name string) [16]byte {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

func uuidString(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// InventoryOnlyNodeID is the node id of an imported inventory that names no Rudder agent:
// the UUIDv5 of its DEVICEID (which a FusionInventory agent draws once and keeps) in a
// namespace of bosun's own, so the same machine keeps the same id across imports.
func InventoryOnlyNodeID(deviceID string) string {
	return uuidString(uuidV5(fusionNamespace, strings.TrimSpace(deviceID)))
}

// ParseFusion reads a FusionInventory/OCS XML inventory (.ocs or .xml, gzipped or not: the
// gzip magic is sniffed) and maps it into the model.
//
// The <RUDDER> section decides what the node is:
//   - none: an inventory-only node (InventoryOnly, Source "fusion", node id
//     InventoryOnlyNodeID(DEVICEID)) and a nil RudderInfo;
//   - more than one: refused (ErrMalformed);
//   - one, naming at least one agent with a name and a certificate or key: a managed node
//     whose id is RUDDER/UUID; the first such agent is taken, the others ignored;
//   - one naming no usable agent: not a managed node, imported as inventory-only.
//
// Limits.RequireAgent turns the inventory-only cases into ErrMissingField. The hostname is
// the first of RUDDER/HOSTNAME, OPERATINGSYSTEM/FQDN and HARDWARE/NAME that can identify a
// node (not localhost, not an IP address); none: ErrMissingField.
func ParseFusion(r io.Reader, limits Limits) (*Inventory, *RudderInfo, error) {
	limits = limits.withDefaults()
	root, err := readFusionXML(r, limits)
	if err != nil {
		return nil, nil, fmt.Errorf("parse fusion inventory: %w", err)
	}
	inv, ri, err := mapFusion(root, limits)
	if err != nil {
		return nil, nil, fmt.Errorf("parse fusion inventory: %w", err)
	}
	return inv, ri, nil
}

func mapFusion(root *xnode, limits Limits) (*Inventory, *RudderInfo, error) {
	if root.name != "REQUEST" {
		return nil, nil, fmt.Errorf("root element <%s>, want <REQUEST>: %w", root.name, ErrMalformed)
	}
	content := root.child("CONTENT")
	if content == nil {
		return nil, nil, fmt.Errorf("REQUEST/CONTENT: %w", ErrMissingField)
	}
	inv := &Inventory{SchemaVersion: SchemaVersion, Source: SourceFusion}
	deviceID := root.str("DEVICEID")

	// Node identity from <RUDDER>.
	var ri *RudderInfo
	rudders := content.all("RUDDER")
	switch {
	case len(rudders) > 1:
		return nil, nil, fmt.Errorf("REQUEST/CONTENT/RUDDER: %d sections, want at most one: %w", len(rudders), ErrMalformed)
	case len(rudders) == 1:
		ri = rudderInfo(rudders[0])
	}
	if ri != nil {
		if ri.NodeID == "" {
			return nil, nil, fmt.Errorf("RUDDER/UUID: empty for a managed node: %w", ErrMissingField)
		}
		inv.NodeID = ri.NodeID
		inv.Agent = Agent{Name: ri.AgentName, PolicyServer: ri.PolicyServerHostname, KeyFingerprint: keyFingerprint(ri)}
		if inv.Agent.PolicyServer == "" {
			inv.Agent.PolicyServer = ri.PolicyServerID
		}
	} else {
		if limits.RequireAgent {
			return nil, nil, fmt.Errorf("RUDDER/AGENT: no Rudder agent with a name and a certificate or key: %w", ErrMissingField)
		}
		if deviceID == "" {
			return nil, nil, fmt.Errorf("DEVICEID: empty, and no Rudder agent to identify the node: %w", ErrMissingField)
		}
		inv.InventoryOnly = true
		inv.NodeID = InventoryOnlyNodeID(deviceID)
	}

	osn, hw, bios := content.child("OPERATINGSYSTEM"), content.child("HARDWARE"), content.child("BIOS")
	var rudderHost string
	if len(rudders) == 1 {
		rudderHost = rudders[0].str("HOSTNAME")
	}
	candidates := []string{rudderHost, osn.str("FQDN"), hw.str("NAME")}
	for _, h := range candidates {
		if ValidHostname(h) {
			inv.Hostname = h
			break
		}
	}
	if inv.Hostname == "" {
		return nil, nil, fmt.Errorf("hostname missing or invalid (RUDDER/HOSTNAME %q, OPERATINGSYSTEM/FQDN %q, HARDWARE/NAME %q): %w",
			candidates[0], candidates[1], candidates[2], ErrMissingField)
	}
	if ri != nil {
		ri.Hostname = inv.Hostname
	}
	if f := osn.str("FQDN"); ValidHostname(f) && strings.Contains(f, ".") {
		inv.FQDN = f
	} else if strings.Contains(inv.Hostname, ".") {
		inv.FQDN = inv.Hostname
	}

	mapFusionOS(inv, osn, hw)
	if inv.OS.Name == "" {
		return nil, nil, fmt.Errorf("OPERATINGSYSTEM/NAME: empty (and no FULL_NAME, HARDWARE/OSNAME): %w", ErrMissingField)
	}
	tzOffset := parseTZOffset(osn.child("TIMEZONE").str("OFFSET"))
	inv.Timezone = osn.child("TIMEZONE").str("NAME")
	inv.BootTime = parseFusionTime(osn.str("BOOT_TIME"), tzOffset)
	inv.CollectedAt = parseFusionTime(content.child("ACCESSLOG").str("LOGDATE"), tzOffset)
	if inv.CollectedAt.IsZero() {
		inv.CollectedAt = time.Now().UTC()
		inv.Notes = append(inv.Notes, Note{Field: "collected_at", Reason: "no ACCESSLOG/LOGDATE: time of import used"})
	}

	inv.Machine = Machine{
		Manufacturer: bios.str("SMANUFACTURER"), Model: bios.str("SMODEL"), Serial: bios.str("SSN"),
		BIOSVendor: bios.str("BMANUFACTURER"), BIOSVersion: bios.str("BVERSION"), BIOSDate: bios.str("BDATE"),
		UUID: strings.ToLower(hw.str("UUID")), MachineID: osn.str("HOSTID"),
		Virtualization: strings.ToLower(hw.str("VMSYSTEM")),
	}
	if inv.Machine.Manufacturer == "" {
		inv.Machine.Manufacturer = bios.str("MMANUFACTURER")
	}
	mapFusionHardware(inv, content, hw)
	mapFusionNetwork(inv, content, hw)
	mapFusionAccounts(inv, content)
	mapFusionSoftware(inv, content)

	if ri != nil {
		inv.Agent.Version = agentVersion(inv.Software, content.str("VERSIONCLIENT"))
		if cp := rudders[0].str("CUSTOM_PROPERTIES"); cp != "" {
			if err := mergeCustomProperties(inv, cp); err != nil {
				inv.Notes = append(inv.Notes, Note{Field: "properties", Reason: "RUDDER/CUSTOM_PROPERTIES: " + err.Error()})
			}
		}
	} else {
		inv.Agent = Agent{Name: "fusioninventory", Version: content.str("VERSIONCLIENT")}
	}
	if ai := content.all("ACCOUNTINFO"); len(ai) > 0 {
		m := make(map[string]string)
		for _, a := range ai {
			if k := a.str("KEYNAME"); k != "" {
				m[k] = a.str("KEYVALUE")
			}
		}
		if b, err := json.Marshal(m); err == nil && len(m) > 0 {
			if inv.Properties == nil {
				inv.Properties = make(map[string]json.RawMessage)
			}
			inv.Properties["fusion_accountinfo"] = b
		}
	}
	if err := inv.Validate(); err != nil {
		return nil, nil, err
	}
	return inv, ri, nil
}

// rudderInfo returns the section's identity and its first usable agent, nil if it names
// none.
func rudderInfo(r *xnode) *RudderInfo {
	for _, a := range r.all("AGENT") {
		name, cert, key := a.str("AGENT_NAME"), a.str("AGENT_CERT"), a.str("CFENGINE_KEY")
		if name == "" || (cert == "" && key == "") {
			continue
		}
		ri := &RudderInfo{
			NodeID: r.str("UUID"), AgentName: name, AgentCert: cert, AgentKey: key,
			Owner: a.str("OWNER"), PolicyServerHostname: a.str("POLICY_SERVER_HOSTNAME"),
			PolicyServerID: a.str("POLICY_SERVER_UUID"),
		}
		for _, c := range r.child("AGENT_CAPABILITIES").all("AGENT_CAPABILITY") {
			if s := strings.TrimSpace(c.text.String()); s != "" {
				ri.Capabilities = append(ri.Capabilities, s)
			}
		}
		ri.ServerRoles = strings.Fields(strings.ReplaceAll(r.str("SERVER_ROLES"), ",", " "))
		return ri
	}
	return nil
}

// keyFingerprint is the SHA-256 of the agent's public key (DER SubjectPublicKeyInfo), hex.
func keyFingerprint(ri *RudderInfo) string {
	pub, err := rudderPublicKey(ri.AgentCert)
	if err != nil {
		if pub, err = rudderPublicKey(ri.AgentKey); err != nil {
			return ""
		}
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func agentVersion(sw []Package, client string) string {
	for _, p := range sw {
		n := strings.ToLower(p.Name)
		if n == "rudder-agent" || n == "rudder agent" || strings.HasPrefix(n, "rudder agent ") {
			return p.Version
		}
	}
	return client
}

func mergeCustomProperties(inv *Inventory, s string) error {
	var list []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		var one map[string]json.RawMessage
		if err2 := json.Unmarshal([]byte(s), &one); err2 != nil {
			return err
		}
		list = append(list, one)
	}
	for _, m := range list {
		for k, v := range m {
			if inv.Properties == nil {
				inv.Properties = make(map[string]json.RawMessage)
			}
			inv.Properties[k] = compactJSON(v)
		}
	}
	return nil
}

func fusionFamily(name, kernel string) string {
	n := strings.ToLower(name)
	for _, f := range []struct{ key, family string }{
		{"debian", "debian"}, {"ubuntu", "debian"}, {"raspbian", "debian"}, {"mint", "debian"},
		{"centos", "rhel"}, {"red hat", "rhel"}, {"redhat", "rhel"}, {"rhel", "rhel"}, {"fedora", "rhel"},
		{"oracle", "rhel"}, {"rocky", "rhel"}, {"alma", "rhel"}, {"virtuozzo", "rhel"}, {"amazon", "rhel"},
		{"suse", "suse"}, {"sles", "suse"}, {"windows", "windows"}, {"alpine", "alpine"}, {"arch", "arch"},
		{"aix", "aix"}, {"solaris", "solaris"},
	} {
		if strings.Contains(n, f.key) {
			return f.family
		}
	}
	return strings.ToLower(kernel)
}

func mapFusionOS(inv *Inventory, osn, hw *xnode) {
	o := &inv.OS
	o.Name = osn.str("NAME")
	o.FullName = osn.str("FULL_NAME")
	if o.FullName == "" {
		o.FullName = hw.str("OSNAME")
	}
	if o.Name == "" {
		o.Name = o.FullName
	}
	o.Version = osn.str("VERSION")
	if sp := osn.str("SERVICE_PACK"); sp != "" && o.Version != "" {
		if _, err := strconv.Atoi(sp); err == nil {
			sp = "SP" + sp // SLES writes "1" for SP1
		}
		o.Version += " " + sp
	}
	o.Kernel = strings.ToLower(osn.str("KERNEL_NAME"))
	if o.Kernel == "mswin32" {
		o.Kernel = "windows"
	}
	o.KernelVersion = osn.str("KERNEL_VERSION")
	if o.KernelVersion == "" {
		o.KernelVersion = hw.str("OSVERSION")
	}
	o.Architecture = osn.str("ARCH")
	if o.Architecture == "" {
		// HARDWARE/ARCHNAME is Perl's archname: "x86_64-linux-gnu-thread-multi".
		o.Architecture, _, _ = strings.Cut(hw.str("ARCHNAME"), "-")
	}
	o.Family = fusionFamily(o.Name+" "+o.FullName, o.Kernel)
	o.ID = o.Family
}

// parseTZOffset reads "+0200" into a fixed zone; UTC when absent or unreadable.
func parseTZOffset(s string) *time.Location {
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') {
		return time.UTC
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[3:5])
	if err1 != nil || err2 != nil {
		return time.UTC
	}
	off := (h*60 + m) * 60
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone(s, off)
}

// parseFusionTime reads FusionInventory's "2006-01-02 15:04:05" local times.
func parseFusionTime(s string, loc *time.Location) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", strings.TrimSpace(s), loc)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func atoiMB(s string) uint64 {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f < 0 {
		return 0
	}
	return uint64(f * 1024 * 1024)
}

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

func mapFusionHardware(inv *Inventory, content, hw *xnode) {
	for _, c := range content.all("CPUS") {
		cpu := CPU{Model: c.str("NAME"), Vendor: c.str("MANUFACTURER"), Cores: atoi(c.str("CORE")), Architecture: c.str("ARCH")}
		if t := atoi(c.str("THREAD")); t > 0 && cpu.Cores > 0 {
			cpu.Threads = t * cpu.Cores // THREAD is threads per core
		}
		cpu.MHz, _ = strconv.ParseFloat(c.str("SPEED"), 64)
		inv.CPUs = append(inv.CPUs, cpu)
	}
	inv.Memory.Total = atoiMB(hw.str("MEMORY"))
	inv.Memory.SwapTotal = atoiMB(hw.str("SWAP"))
	for _, m := range content.all("MEMORIES") {
		size := atoiMB(m.str("CAPACITY"))
		if size == 0 {
			continue // an empty slot
		}
		inv.Memory.Modules = append(inv.Memory.Modules, MemoryModule{
			Slot: m.str("CAPTION"), Size: size, Type: m.str("TYPE"), SpeedMHz: m.str("SPEED"), Serial: m.str("SERIALNUMBER"),
		})
	}
	for _, s := range content.all("STORAGES") {
		d := Disk{Name: s.str("NAME"), Model: s.str("MODEL"), Manufacturer: s.str("MANUFACTURER"),
			Serial: s.str("SERIALNUMBER"), Size: atoiMB(s.str("DISKSIZE")), Type: strings.ToLower(s.str("TYPE"))}
		if d.Serial == "" {
			d.Serial = s.str("SERIAL")
		}
		inv.Disks = append(inv.Disks, d)
	}
	for _, d := range content.all("DRIVES") {
		fs := Filesystem{Mountpoint: d.str("TYPE"), Device: d.str("VOLUMN"), Type: d.str("FILESYSTEM"),
			Total: atoiMB(d.str("TOTAL")), Free: atoiMB(d.str("FREE")), Label: d.str("LABEL")}
		if l := d.str("LETTER"); l != "" { // Windows: TYPE is "Local Disk"
			fs.Mountpoint = l
		}
		inv.Filesystems = append(inv.Filesystems, fs)
	}
	for _, v := range append(content.all("VIRTUALMACHINES"), content.child("VMS").all("VM")...) {
		vm := VM{Name: v.str("NAME"), UUID: v.str("UUID"), Type: v.str("VMTYPE"), Status: v.str("STATUS")}
		if vm.Name != "" || vm.UUID != "" {
			inv.VMs = append(inv.VMs, vm)
		}
	}
}

// cidr joins an address and a netmask ("255.255.255.0" or a prefix length) into a CIDR.
func cidr(addr, mask string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return ""
	}
	bits := -1
	if n, err := strconv.Atoi(strings.TrimSpace(mask)); err == nil {
		bits = n
	} else if m, err := netip.ParseAddr(strings.TrimSpace(mask)); err == nil {
		bits = 0
		for _, b := range m.AsSlice() {
			for ; b != 0; b <<= 1 {
				bits++
			}
		}
	}
	if bits < 0 || bits > a.BitLen() {
		return a.String()
	}
	return netip.PrefixFrom(a, bits).String()
}

func mapFusionNetwork(inv *Inventory, content, hw *xnode) {
	byName := make(map[string]int)
	for _, n := range content.all("NETWORKS") {
		name := n.str("DESCRIPTION")
		i, ok := byName[name]
		if !ok {
			i = len(inv.Network.Interfaces)
			byName[name] = i
			inv.Network.Interfaces = append(inv.Network.Interfaces, Interface{
				Name: name, MAC: strings.ToLower(n.str("MACADDR")), Up: strings.EqualFold(n.str("STATUS"), "up"),
				Type: n.str("TYPE"), Speed: n.str("SPEED"),
			})
		}
		in := &inv.Network.Interfaces[i]
		if c := cidr(n.str("IPADDRESS"), n.str("IPMASK")); c != "" {
			in.IPv4 = append(in.IPv4, c)
		}
		if c := cidr(n.str("IPADDRESS6"), n.str("IPMASK6")); c != "" {
			in.IPv6 = append(in.IPv6, c)
		}
		if in.MAC == "" {
			in.MAC = strings.ToLower(n.str("MACADDR"))
		}
	}
	inv.Network.DefaultGateway = hw.str("DEFAULTGATEWAY")
	for _, d := range strings.Split(hw.str("DNS"), "/") {
		if d = strings.TrimSpace(d); d != "" {
			inv.Network.DNS = append(inv.Network.DNS, d)
		}
	}
}

func mapFusionAccounts(inv *Inventory, content *xnode) {
	for _, u := range content.all("LOCAL_USERS") {
		login := u.str("LOGIN")
		if login == "" {
			login = u.str("NAME")
		}
		if login == "" {
			continue
		}
		inv.Users = append(inv.Users, User{Name: login, UID: atoi(u.str("ID")), Gecos: u.str("NAME"),
			Home: u.str("HOME"), Shell: u.str("SHELL")})
	}
	if len(inv.Users) == 0 {
		for _, u := range content.child("USERSLIST").all("USER") {
			if s := strings.TrimSpace(u.text.String()); s != "" {
				inv.Users = append(inv.Users, User{Name: s, UID: -1, GID: -1})
			}
		}
	}
	for _, g := range content.all("LOCAL_GROUPS") {
		grp := Group{Name: g.str("NAME"), GID: atoi(g.str("ID"))}
		for _, m := range g.all("MEMBER") {
			if s := strings.TrimSpace(m.text.String()); s != "" {
				grp.Members = append(grp.Members, s)
			}
		}
		if grp.Name != "" {
			inv.Groups = append(inv.Groups, grp)
		}
	}
}

func fusionSource(from string) string {
	if from == "deb" {
		return "dpkg"
	}
	return strings.ToLower(from)
}

// securityUpdate: FusionInventory attaches advisory ids to errata; an id naming a security
// advisory (RHSA, ELSA, CESA, DSA, DLA, USN, SUSE-SU) or a CVE, or a source repository
// named "security", marks the update as a security one.
func securityUpdate(id, source string) bool {
	u := strings.ToUpper(id)
	for _, k := range []string{"RHSA", "ELSA", "CESA", "ALSA", "RLSA", "DSA-", "DLA-", "USN-", "SUSE-SU", "CVE-"} {
		if strings.Contains(u, k) {
			return true
		}
	}
	return strings.Contains(strings.ToLower(source), "security")
}

func mapFusionSoftware(inv *Inventory, content *xnode) {
	for _, s := range content.all("SOFTWARES") {
		name := s.str("NAME")
		if name == "" {
			continue
		}
		inv.Software = append(inv.Software, Package{Name: name, Version: s.str("VERSION"), Architecture: s.str("ARCH"),
			Source: fusionSource(s.str("FROM")), Publisher: s.str("PUBLISHER")})
	}
	sortPackages(inv.Software)
	for _, s := range content.all("SOFTWAREUPDATES") {
		name := s.str("NAME")
		if name == "" {
			continue
		}
		id, src := s.str("ID"), s.str("SOURCE")
		inv.Updates = append(inv.Updates, Update{Name: name, Version: s.str("VERSION"), Architecture: s.str("ARCH"),
			Source: strings.ToLower(s.str("FROM")), Origin: src, ID: id, Security: securityUpdate(id, src)})
	}
}

// rudderPublicKey extracts the RSA or other public key of a PEM certificate or PKCS#1 / PKIX
// public key.
func rudderPublicKey(pemText string) (any, error) {
	blk, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if blk == nil {
		return nil, fmt.Errorf("no PEM block: %w", ErrBadSignature)
	}
	switch blk.Type {
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %v: %w", err, ErrBadSignature)
		}
		return cert.PublicKey, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse RSA public key: %v: %w", err, ErrBadSignature)
		}
		return k, nil
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %v: %w", err, ErrBadSignature)
		}
		return k, nil
	}
	return nil, fmt.Errorf("PEM block %q is neither a certificate nor a public key: %w", blk.Type, ErrBadSignature)
}
