package inventory

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir finds /work/shared/corpus/inventories by walking up from the test's directory
// to a directory with a shared/corpus child.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		c := filepath.Join(dir, "shared", "corpus", "inventories")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("shared/corpus/inventories not found above the working directory; corpus tests skipped")
		}
		dir = parent
	}
}

// corpusFiles lists every inventory of the corpus (not README nor signatures).
func corpusFiles(t testing.TB) []string {
	dir := corpusDir(t)
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".sign") {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type fusionWant struct {
	err           error // sentinel, nil for success
	errText       string
	nodeID        string
	hostname      string
	osName        string
	family        string
	inventoryOnly bool
	software      int
	updates       int
	security      int
	agentName     string
}

// fusionExpected is the outcome for every corpus file (README.md of the corpus states the
// <RUDDER> rules). A new corpus file without an entry fails the test.
var fusionExpected = map[string]fusionWant{
	"agent1-f91b7513-e62b-4cfa-8742-31bd09f6aa4e.ocs": {nodeID: "f91b7513-e62b-4cfa-8742-31bd09f6aa4e", hostname: "agent1.rudder.local", osName: "Ubuntu", family: "debian", software: 544, agentName: "cfengine-community"},
	"centos.no_rudder_extension.no_fqdn":              {nodeID: InventoryOnlyNodeID("centos-6-64-2011-09-22-12-02-27"), hostname: "centos-6-64", osName: "CentOS", family: "rhel", inventoryOnly: true, software: 268, agentName: "fusioninventory"},
	"centos8.ocs":                                     {nodeID: "25990bc8-2076-43fa-af76-120bfc9d7ba1", hostname: "node2.rudder.local", osName: "CentOS", family: "rhel", software: 778, updates: 464, security: -1, agentName: "cfengine-community"},
	"cpus-count.ocs":                                  {nodeID: "root", hostname: "server.rudder.local", osName: "Debian", family: "debian", software: 17, agentName: "cfengine-community"},
	"debian-5-32-2011-01-14-11-10-09.ocs":             {nodeID: "0876521e-3c81-4775-85c7-5dd7f9d5d3da", hostname: "debian-5-32.labo.normation.com", osName: "Debian", family: "debian", software: 362, agentName: "Community"},
	"debian12.ocs":                                    {nodeID: "e6cc8e97-01de-48bc-8fee-8f28970116d3", hostname: "node3.rudder.local", osName: "Debian", family: "debian", software: 364, agentName: "cfengine-community"},
	"dsc-agent.ocs":                                   {nodeID: "2C15A03F-782C-4970-AF45-7A75DFBA4F59", hostname: "agent1", osName: "Windows", family: "windows", software: 10, agentName: "dsc"},
	"mint.ocs":                                        {nodeID: "9c92b886-1923-409a-a4bb-b096b2c00a2c", hostname: "test.test.com", osName: "LinuxMint", family: "debian", software: 3, agentName: "cfengine-community"},
	"raspbian.ocs":                                    {nodeID: "2fd55361-a19c-46d6-b1a0-5aac3cf7223b", hostname: "raspberry-2", osName: "Raspbian", family: "debian", software: 453, agentName: "cfengine-community"},
	"sles-11-sp1-64-2011-09-02-12-00-43.ocs":          {nodeID: "41affc17-e432-420c-8f64-b819e96c67fc", hostname: "sles-11-sp1-64.labo.normation.com", osName: "SuSE", family: "suse", software: 720, agentName: "Community"},
	"virtuozzo.ocs":                                   {nodeID: "c1bab9fc-bcf6-4d59-a397-84c8e2fc06c0", hostname: "prod-db-01.lab.rudder.io", osName: "Debian", family: "debian", software: 1, agentName: "cfengine-community"},
	"windows2016-incomplete.ocs":                      {nodeID: "40776675-2e56-4fc9-a7d6-be6d091f6d50", hostname: "WIN-EEE4S1NQ6AS", osName: "Microsoft Windows Server 2016 Datacenter Evaluation", family: "windows", software: 10, agentName: "dsc"},
	"windows2019.ocs":                                 {nodeID: "0b4f14f9-05aa-45a7-9371-7bed002e28a7", hostname: "agent2", osName: "Windows", family: "windows", software: 15, agentName: "dsc"},

	"rudder-tag/invalid-hostname-localhost-alternative-error.ocs": {err: ErrMissingField, errText: "hostname missing or invalid"},
	"rudder-tag/invalid-hostname-localhost.ocs":                   {err: ErrMissingField, errText: "hostname missing or invalid"},
	// README says this one has no <RUDDER> section; it has one, naming no agent. Either way
	// it names no managed agent: inventory-only.
	"rudder-tag/minimal-no-rudder.ocs":                  {nodeID: InventoryOnlyNodeID("foo"), hostname: "debian-6-64.labo.normation.com", osName: "Debian", family: "debian", inventoryOnly: true, agentName: "fusioninventory"},
	"rudder-tag/minimal-one-agent-two-rudder-fails.ocs": {err: ErrMalformed, errText: "2 sections"},
	// The second agent has no certificate: ignored.
	"rudder-tag/minimal-one-agent.ocs": {nodeID: "b9a71482-5030-4699-984d-b03d28bbbf36", hostname: "debian-6-64.labo.normation.com", osName: "Debian", family: "debian", software: 1, agentName: "cfengine-community"},
	// Two agents: the first is taken.
	"rudder-tag/minimal-two-agents-fails.ocs": {nodeID: "b9a71482-5030-4699-984d-b03d28bbbf36", hostname: "debian-6-64.labo.normation.com", osName: "Debian", family: "debian", software: 1, agentName: "cfengine-community"},
	// No agent: refused as a managed node (see TestParseFusionRequireAgent), imported as an
	// inventory-only one.
	"rudder-tag/minimal-zero-agent.ocs": {nodeID: InventoryOnlyNodeID("foo"), hostname: "debian-6-64.labo.normation.com", osName: "Debian", family: "debian", inventoryOnly: true, software: 1, agentName: "fusioninventory"},
	"rudder-tag/one-agent-full.ocs":     {nodeID: "89587531-8649-4f9f-b0e6-1a6202d01576", hostname: "relay.rudder.local", osName: "Debian", family: "debian", software: 1, updates: 1, security: 1, agentName: "cfengine-community"},
}

func TestParseFusionCorpus(t *testing.T) {
	dir := corpusDir(t)
	for _, rel := range corpusFiles(t) {
		t.Run(rel, func(t *testing.T) {
			want, ok := fusionExpected[rel]
			if !ok {
				t.Fatalf("no expected outcome for corpus file %s: add one", rel)
			}
			raw, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write(raw)
			zw.Close()
			for _, in := range []struct {
				name string
				b    []byte
			}{{"plain", raw}, {"gzip", gz.Bytes()}} {
				inv, ri, err := ParseFusion(bytes.NewReader(in.b), Limits{})
				if want.err != nil {
					if !errors.Is(err, want.err) || !strings.Contains(err.Error(), want.errText) {
						t.Errorf("%s: got error %v, want %v containing %q", in.name, err, want.err, want.errText)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: got error %v, want nil", in.name, err)
				}
				checkFusion(t, in.name, inv, ri, want)
			}
		})
	}
}

func checkFusion(t *testing.T, name string, inv *Inventory, ri *RudderInfo, want fusionWant) {
	t.Helper()
	security := 0
	for _, u := range inv.Updates {
		if u.Security {
			security++
		}
	}
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"node_id", inv.NodeID, want.nodeID},
		{"hostname", inv.Hostname, want.hostname},
		{"os.name", inv.OS.Name, want.osName},
		{"os.family", inv.OS.Family, want.family},
		{"inventory_only", inv.InventoryOnly, want.inventoryOnly},
		{"rudder info present", ri != nil, !want.inventoryOnly},
		{"software count", len(inv.Software), want.software},
		{"updates count", len(inv.Updates), want.updates},
		{"agent.name", inv.Agent.Name, want.agentName},
		{"source", inv.Source, SourceFusion},
	} {
		if c.got != c.want {
			t.Errorf("%s: %s: got %v, want %v", name, c.field, c.got, c.want)
		}
	}
	if want.security >= 0 && security != want.security {
		t.Errorf("%s: security updates: got %d, want %d", name, security, want.security)
	}
	if err := inv.Validate(); err != nil {
		t.Errorf("%s: Validate: got %v, want nil", name, err)
	}
	// Every imported inventory survives the encoding unchanged.
	b, err := Marshal(inv)
	if err != nil {
		t.Fatalf("%s: Marshal: %v", name, err)
	}
	back, err := Unmarshal(b)
	if err != nil {
		t.Fatalf("%s: Unmarshal: %v", name, err)
	}
	h1, _ := Hash(inv)
	h2, _ := Hash(back)
	if h1 != h2 {
		t.Errorf("%s: hash after round trip: got %x, want %x", name, h2, h1)
	}
}

// TestParseFusionDetails checks the mapping of one full inventory field by field.
func TestParseFusionDetails(t *testing.T) {
	f, err := os.Open(filepath.Join(corpusDir(t), "debian12.ocs"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inv, ri, err := ParseFusion(f, Limits{})
	if err != nil {
		t.Fatalf("ParseFusion: got %v, want nil", err)
	}
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"fqdn", inv.FQDN, "node3.rudder.local"},
		{"os.version", inv.OS.Version, "12"},
		{"os.kernel_version", inv.OS.KernelVersion, "6.1.0-13-amd64"},
		{"os.arch", inv.OS.Architecture, "x86_64"},
		{"timezone", inv.Timezone, "UTC"},
		{"boot_time", inv.BootTime.Format("2006-01-02 15:04:05"), "2023-11-16 10:45:17"},
		{"machine.uuid", inv.Machine.UUID, "3d92c483-4407-4d8a-a84e-5283ea93fd4e"},
		{"machine.virtualization", inv.Machine.Virtualization, "virtualbox"},
		{"memory.total MiB", inv.Memory.Total >> 20, uint64(205)},
		{"default_gateway", inv.Network.DefaultGateway, "10.0.2.2"},
		{"dns", strings.Join(inv.Network.DNS, ","), "8.8.4.4,8.8.8.8"},
		{"agent.version", inv.Agent.Version, "8.0.3-debian12"},
		{"agent.policy_server", inv.Agent.PolicyServer, "server"},
		{"agent.key_fingerprint set", inv.Agent.KeyFingerprint != "", true},
		{"rudder.policy_server_id", ri.PolicyServerID, "root"},
		{"rudder.agent_cert is PEM", strings.HasPrefix(ri.AgentCert, "-----BEGIN CERTIFICATE-----"), true},
		{"first software", inv.Software[0].Name + " " + inv.Software[0].Version + " " + inv.Software[0].Source, "adduser 3.134 dpkg"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.field, c.got, c.want)
		}
	}
	var eth *Interface
	for i := range inv.Network.Interfaces {
		if len(inv.Network.Interfaces[i].IPv4) > 0 && inv.Network.Interfaces[i].IPv4[0] == "10.0.2.15/24" {
			eth = &inv.Network.Interfaces[i]
		}
	}
	if eth == nil || eth.MAC == "" {
		t.Errorf("interfaces: got %+v, want one with 10.0.2.15/24 and a MAC", inv.Network.Interfaces)
	}
	if len(inv.Users) != 25 || inv.Users[0].Name == "" {
		t.Errorf("users: got %d, first %+v, want 25 named", len(inv.Users), inv.Users[0])
	}
}

func TestParseFusionRequireAgent(t *testing.T) {
	dir := corpusDir(t)
	for _, rel := range []string{"rudder-tag/minimal-zero-agent.ocs", "rudder-tag/minimal-no-rudder.ocs", "centos.no_rudder_extension.no_fqdn"} {
		f, err := os.Open(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = ParseFusion(f, Limits{RequireAgent: true})
		f.Close()
		if !errors.Is(err, ErrMissingField) {
			t.Errorf("%s with RequireAgent: got %v, want ErrMissingField", rel, err)
		}
	}
}

func TestInventoryOnlyNodeID(t *testing.T) {
	a, b := InventoryOnlyNodeID("host-2011-09-22-12-02-27"), InventoryOnlyNodeID("host-2011-09-22-12-02-27")
	if a != b {
		t.Errorf("not stable: got %s then %s", a, b)
	}
	if c := InventoryOnlyNodeID("other"); c == a {
		t.Errorf("two device ids, one node id %s", c)
	}
	if len(a) != 36 || a[14] != '5' || !strings.ContainsAny(a[19:20], "89ab") {
		t.Errorf("got %s, want a version-5 RFC 9562 UUID", a)
	}
}

const minimalFusion = `<?xml version="1.0" encoding="UTF-8"?>
<REQUEST><CONTENT><OPERATINGSYSTEM><NAME>Debian</NAME><FQDN>h.example.org</FQDN></OPERATINGSYSTEM></CONTENT><DEVICEID>h-1</DEVICEID></REQUEST>`

func TestParseFusionRefuses(t *testing.T) {
	deep := "<REQUEST><CONTENT>" + strings.Repeat("<A>", 100) + strings.Repeat("</A>", 100) + "</CONTENT><DEVICEID>x</DEVICEID></REQUEST>"
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zw.Write([]byte("<REQUEST><CONTENT><X>"))
	zw.Write(bytes.Repeat([]byte("a"), 2<<20))
	zw.Close()
	var truncGz bytes.Buffer
	zw = gzip.NewWriter(&truncGz)
	zw.Write([]byte(minimalFusion))
	zw.Close()
	tests := []struct {
		name   string
		in     string
		limits Limits
		err    error
		text   string
	}{
		{"minimal is fine", minimalFusion, Limits{}, nil, ""},
		{"empty", "", Limits{}, ErrMalformed, "no root element"},
		{"not xml", "hello, world", Limits{}, ErrMalformed, "no root element"},
		{"truncated", minimalFusion[:len(minimalFusion)-30], Limits{}, ErrMalformed, "line 2"},
		{"mismatched tag", "<REQUEST><CONTENT></REQUEST>", Limits{}, ErrMalformed, "line 1"},
		{"xxe", `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><REQUEST>&xxe;</REQUEST>`, Limits{}, ErrMalformed, "DOCTYPE with entity declarations"},
		{"billion laughs", `<!DOCTYPE l [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><REQUEST>&b;</REQUEST>`, Limits{}, ErrMalformed, "DOCTYPE"},
		{"undeclared entity", `<REQUEST>&foo;</REQUEST>`, Limits{}, ErrMalformed, "line 1"},
		{"too deep", deep, Limits{}, ErrMalformed, "nested deeper than 32"},
		{"too large", minimalFusion, Limits{MaxInputBytes: 100}, ErrTooLarge, "input over 100 bytes"},
		{"gzip bomb", bomb.String(), Limits{MaxDecompressedBytes: 1 << 20}, ErrTooLarge, "decompressed"},
		{"truncated gzip", truncGz.String()[:truncGz.Len()-10], Limits{}, ErrMalformed, ""},
		{"wrong root", "<INVENTORY/>", Limits{}, ErrMalformed, "want <REQUEST>"},
		{"no content", "<REQUEST><DEVICEID>x</DEVICEID></REQUEST>", Limits{}, ErrMissingField, "REQUEST/CONTENT"},
		{"no os", "<REQUEST><CONTENT><HARDWARE><NAME>h1</NAME></HARDWARE></CONTENT><DEVICEID>x</DEVICEID></REQUEST>", Limits{}, ErrMissingField, "OPERATINGSYSTEM/NAME"},
		{"no device id", "<REQUEST><CONTENT><OPERATINGSYSTEM><NAME>Debian</NAME><FQDN>h.example.org</FQDN></OPERATINGSYSTEM></CONTENT></REQUEST>", Limits{}, ErrMissingField, "DEVICEID"},
		{"two roots", minimalFusion + "<REQUEST/>", Limits{}, ErrMalformed, "second root"},
		{"unknown charset", `<?xml version="1.0" encoding="EBCDIC"?><REQUEST/>`, Limits{}, ErrMalformed, "EBCDIC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseFusion(strings.NewReader(tt.in), tt.limits)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("got %v, want %v containing %q", err, tt.err, tt.text)
			}
		})
	}
}

func TestParseFusionLatin1(t *testing.T) {
	doc := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><REQUEST><CONTENT><OPERATINGSYSTEM><NAME>Debian</NAME><FQDN>caf\xe9.example.org</FQDN></OPERATINGSYSTEM></CONTENT><DEVICEID>d</DEVICEID></REQUEST>"
	inv, _, err := ParseFusion(strings.NewReader(doc), Limits{})
	if err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	if inv.Hostname != "café.example.org" {
		t.Errorf("hostname: got %q, want %q", inv.Hostname, "café.example.org")
	}
}

func TestVerifyRudderSignature(t *testing.T) {
	dir := corpusDir(t)
	signed := []string{"agent1-f91b7513-e62b-4cfa-8742-31bd09f6aa4e.ocs", "centos8.ocs", "debian12.ocs"}
	load := func(name string) ([]byte, []byte, string) {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sig, err := os.ReadFile(filepath.Join(dir, name+".sign"))
		if err != nil {
			t.Fatal(err)
		}
		_, ri, err := ParseFusion(bytes.NewReader(raw), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return raw, sig, ri.AgentCert
	}
	for i, name := range signed {
		raw, sig, cert := load(name)
		if err := VerifyRudderSignature(raw, sig, cert); err != nil {
			t.Errorf("%s: got %v, want nil", name, err)
		}
		// The signature of another file, or of a modified one, is refused.
		_, otherSig, _ := load(signed[(i+1)%len(signed)])
		if err := VerifyRudderSignature(raw, otherSig, cert); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s with the signature of %s: got %v, want ErrBadSignature", name, signed[(i+1)%len(signed)], err)
		}
		tampered := bytes.Replace(raw, []byte("<NAME>"), []byte("<NAME>x"), 1)
		if err := VerifyRudderSignature(tampered, sig, cert); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s modified: got %v, want ErrBadSignature", name, err)
		}
	}
	raw, sig, cert := load("debian12.ocs")
	for _, tt := range []struct {
		name string
		sig  string
		cert string
		err  error
	}{
		{"bad header", strings.Replace(string(sig), "rudder-signature-v1", "rudder-signature-v9", 1), cert, ErrSignatureFormat},
		{"bad algorithm", strings.Replace(string(sig), "sha512", "md5", 1), cert, ErrSignatureFormat},
		{"digest not hex", strings.Replace(string(sig), "digest=", "digest=zz", 1), cert, ErrSignatureFormat},
		{"no certificate", string(sig), "", ErrBadSignature},
		{"garbage certificate", string(sig), "-----BEGIN CERTIFICATE-----\nplop\n-----END CERTIFICATE-----", ErrBadSignature},
	} {
		if err := VerifyRudderSignature(raw, []byte(tt.sig), tt.cert); !errors.Is(err, tt.err) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestParseFusionSections(t *testing.T) {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<REQUEST><CONTENT>
<OPERATINGSYSTEM><NAME>CentOS</NAME><FQDN>db1.example.org</FQDN><TIMEZONE><NAME>Europe/Paris</NAME><OFFSET>+0200</OFFSET></TIMEZONE></OPERATINGSYSTEM>
<ACCESSLOG><LOGDATE>2025-06-10 14:00:00</LOGDATE></ACCESSLOG>
<ACCOUNTINFO><KEYNAME>TAG</KEYNAME><KEYVALUE>prod</KEYVALUE></ACCOUNTINFO>
<VIRTUALMACHINES><NAME>guest1</NAME><UUID>u-1</UUID><VMTYPE>kvm</VMTYPE><STATUS>running</STATUS></VIRTUALMACHINES>
<MEMORIES><CAPTION>DIMM0</CAPTION><CAPACITY>8192</CAPACITY><TYPE>DDR4</TYPE></MEMORIES>
<MEMORIES><CAPTION>DIMM1</CAPTION><CAPACITY>0</CAPACITY></MEMORIES>
<SOFTWAREUPDATES><NAME>openssl</NAME><VERSION>1:3.0.7-27.el9</VERSION><FROM>yum</FROM><SOURCE>baseos</SOURCE><ID>RHSA-2024:1234</ID></SOFTWAREUPDATES>
<SOFTWAREUPDATES><NAME>tzdata</NAME><VERSION>2025b-1.el9</VERSION><FROM>yum</FROM><SOURCE>baseos</SOURCE><ID></ID></SOFTWAREUPDATES>
<RUDDER><UUID>n-1</UUID><HOSTNAME>db1.example.org</HOSTNAME>
<AGENT><AGENT_NAME>cfengine-community</AGENT_NAME><CFENGINE_KEY>k</CFENGINE_KEY><POLICY_SERVER_UUID>root</POLICY_SERVER_UUID></AGENT>
<CUSTOM_PROPERTIES>[{"env":"prod"},{"owner":{"team":"db"}}]</CUSTOM_PROPERTIES></RUDDER>
</CONTENT><DEVICEID>db1-2025</DEVICEID></REQUEST>`
	inv, ri, err := ParseFusion(strings.NewReader(doc), Limits{})
	if err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"collected_at (local +0200)", inv.CollectedAt.Format("2006-01-02T15:04:05Z07:00"), "2025-06-10T12:00:00Z"},
		{"timezone", inv.Timezone, "Europe/Paris"},
		{"vm", fmt.Sprint(inv.VMs), "[{guest1 u-1 kvm running}]"},
		{"memory modules", fmt.Sprint(inv.Memory.Modules), "[{DIMM0 8589934592 DDR4  }]"},
		{"security update", inv.Updates[0].Security, true},
		{"bugfix update", inv.Updates[1].Security, false},
		{"property env", string(inv.Properties["env"]), `"prod"`},
		{"property owner", string(inv.Properties["owner"]), `{"team":"db"}`},
		{"accountinfo", string(inv.Properties["fusion_accountinfo"]), `{"TAG":"prod"}`},
		{"policy server falls back to its id", inv.Agent.PolicyServer, "root"},
		{"rudder agent key", ri.AgentKey, "k"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.field, c.got, c.want)
		}
	}
}
