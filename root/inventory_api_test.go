package root

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bosun-io/bosun/inventory"
	"github.com/bosun-io/bosun/root/api"
	"github.com/bosun-io/bosun/wire"
)

// storeInventories enrols a node and stores the inventories as if it had sent them.
func storeInventories(t *testing.T, r *testRoot, host string, invs ...*inventory.Inventory) string {
	t.Helper()
	n := newNode(t, r)
	stub := n.stub(wire.RoleAgent, r.cfg.Now())
	stub.Hostname = host
	stub.Key = n.id.Public()
	if _, err := r.reg.enrol(stub, nil); err != nil {
		t.Fatal(err)
	}
	for _, inv := range invs {
		inv.NodeID = n.id.NodeID
		inv.Hostname = host
		h, err := inventory.Hash(inv)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.store(inv, h, nil); err != nil {
			t.Fatal(err)
		}
	}
	return n.id.NodeID
}

func sampleInventory(at time.Time, osName, osFamily string, ram uint64, pkgs ...inventory.Package) *inventory.Inventory {
	return &inventory.Inventory{
		SchemaVersion: inventory.SchemaVersion, CollectedAt: at, Source: inventory.SourceAgent,
		OS:       inventory.OS{Name: osName, ID: osFamily, Family: osFamily, Version: "12"},
		Memory:   inventory.Memory{Total: ram},
		CPUs:     []inventory.CPU{{Model: "x", Cores: 2}, {Model: "x", Cores: 2}},
		Software: pkgs,
		Updates:  []inventory.Update{{Name: "openssl", Version: "3.0.15-1", Security: true}},
	}
}

func TestInventoryQueries(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	r := startRootWith(t, nil)
	ctx := context.Background()
	const gib = 1 << 30
	web := storeInventories(t, r, "web1",
		sampleInventory(now.Add(-2*time.Hour), "Debian GNU/Linux", "debian", 8*gib,
			inventory.Package{Name: "openssl", Version: "3.0.11-1~deb12u2", Source: "dpkg"},
			inventory.Package{Name: "curl", Version: "7.88.1-10", Source: "dpkg"}),
		sampleInventory(now.Add(-time.Hour), "Debian GNU/Linux", "debian", 8*gib,
			inventory.Package{Name: "openssl", Version: "3.0.13-1~deb12u1", Source: "dpkg"},
			inventory.Package{Name: "nginx", Version: "1.22.1-9", Source: "dpkg"}))
	db := storeInventories(t, r, "db1",
		sampleInventory(now.Add(-time.Hour), "CentOS Stream", "rhel", 2*gib,
			inventory.Package{Name: "openssl", Version: "1:3.0.7-25.el9", Source: "rpm"}))

	inv, err := r.api.NodeInventory(ctx, web, 0)
	if err != nil {
		t.Fatal(err)
	}
	var cur inventory.Inventory
	if err := json.Unmarshal(inv.Inventory, &cur); err != nil || len(cur.Software) != 2 || cur.Software[0].Version != "3.0.13-1~deb12u1" {
		t.Errorf("current inventory: got %+v %v", cur.Software, err)
	}
	if prev, err := r.api.NodeInventory(ctx, web, 1); err != nil || !json.Valid(prev.Inventory) || prev.Version != 1 {
		t.Errorf("version 1: %+v %v", prev.Version, err)
	}
	var he *api.HTTPError
	if _, err := r.api.NodeInventory(ctx, web, 5); !errors.As(err, &he) || he.StatusCode != 404 {
		t.Errorf("version 5 of 2: got %v, want 404", err)
	}

	h, err := r.api.InventoryHistory(ctx, web)
	if err != nil || len(h.Versions) != 2 || h.Versions[0].Version != 0 || !h.Versions[0].CollectedAt.After(h.Versions[1].CollectedAt) {
		t.Errorf("history: got %+v %v, want 2 versions newest first", h, err)
	}

	d, err := r.api.InventoryDiff(ctx, web, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Added) != 1 || d.Added[0].Name != "nginx" || len(d.Removed) != 1 || d.Removed[0].Name != "curl" ||
		len(d.Upgraded) != 1 || d.Upgraded[0].Before != "3.0.11-1~deb12u2" || len(d.Sections) != 0 {
		t.Errorf("diff: got %+v", d)
	}

	for _, tc := range []struct {
		name, below string
		want        []string
	}{
		{"openssl", "", []string{"db1", "web1"}},
		{"OpenSSL", "3.0.13", []string{}},               // 3.0.13-1~deb12u1 > 3.0.13 for dpkg; rpm's has epoch 1
		{"openssl", "3.0.13-1", []string{"web1"}},       // ~deb12u1 sorts before the end
		{"openssl", "1:3.0.8", []string{"db1", "web1"}}, // the generic comparison reads the epoch as a number
		{"open*", "", []string{"db1", "web1"}},
		{"nothing", "", []string{}},
	} {
		s, err := r.api.Software(ctx, tc.name, tc.below)
		var got []string
		for _, i := range s.Installs {
			got = append(got, i.Hostname)
		}
		if err != nil || len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
			t.Errorf("software %s below %q: got %v %v, want %v", tc.name, tc.below, got, err, tc.want)
		}
	}

	for _, tc := range []struct {
		where []string
		want  []string
	}{
		{[]string{"os.family=debian"}, []string{"web1"}},
		{[]string{"ram>4GiB"}, []string{"web1"}},
		{[]string{"ram<=2GiB", "os~^Cent"}, []string{"db1"}},
		{[]string{"package=nginx"}, []string{"web1"}},
		{[]string{"software.name!=nginx"}, []string{"db1"}},
		{[]string{"cpus=2", "security_updates>=1"}, []string{"db1", "web1"}},
		{[]string{"status=pending", "role=agent"}, []string{"db1", "web1"}},
		{[]string{"os.version>11"}, []string{"db1", "web1"}},
	} {
		f, err := r.api.NodeFacts(ctx, tc.where, []string{"hostname", "ram"})
		var got []string
		for _, n := range f.Nodes {
			got = append(got, n.Node.Hostname)
		}
		if err != nil || len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
			t.Errorf("where %v: got %v %v, want %v", tc.where, got, err, tc.want)
		}
	}
	f, err := r.api.NodeFacts(ctx, []string{"hostname=web1"}, []string{"ram,os.name", "package"})
	if err != nil || len(f.Nodes) != 1 {
		t.Fatalf("columns: got %+v %v", f, err)
	}
	var got []string
	for _, v := range f.Nodes[0].Values {
		var b bytes.Buffer
		json.Compact(&b, v)
		got = append(got, b.String())
	}
	if want := []string{"8589934592", `"Debian GNU/Linux"`, `["openssl","nginx"]`}; !slices.Equal(got, want) {
		t.Errorf("columns: got %v, want %v", got, want)
	}
	if _, err := r.api.NodeFacts(ctx, []string{"ram!"}, nil); !errors.As(err, &he) || he.StatusCode != 400 {
		t.Errorf("bad condition: got %v, want 400", err)
	}

	// node=ID: only the nodes named, in the order given, once each; unknown IDs are skipped.
	resp, b := r.getAs(t, r.init.AdminToken, "/api/v1/inventory/nodes?column=hostname&node="+db+"&node=no-such-node&node="+web+"&node="+db)
	var named api.NodeFacts
	if resp.StatusCode != 200 || json.Unmarshal(b, &named) != nil {
		t.Fatalf("node=: got %d %s", resp.StatusCode, b)
	}
	var hosts []string
	for _, n := range named.Nodes {
		hosts = append(hosts, n.Node.Hostname)
	}
	if want := []string{"db1", "web1"}; !slices.Equal(hosts, want) {
		t.Errorf("node=%s&node=no-such-node&node=%s&node=%s: got %v, want %v", db, web, db, hosts, want)
	}
}
