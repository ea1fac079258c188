package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const bannerPolicy = `id: banner
name: Banner from the shared folder
version: "1.0"
items:
  - id: banner-file
    name: "Banner"
    method: file_from_shared_folder
    params:
      source: "banners/welcome.txt"
      path: "/etc/banner"
      hash_type: "sha256"
---
kind: directive
id: banner
name: Banner
technique: banner
---
kind: rule
id: banner
name: Banner
directives: [banner]
targets:
  include: [all-nodes]
`

// TestSharedFiles: a file in the root's shared folder reaches the agents whose policy uses
// it, signed by the root; the relay caches it and serves it while the root is down.
func TestSharedFiles(t *testing.T) {
	f := newFleet(t)
	addrs := f.initRoot()
	root := f.startRoot(addrs)
	shared := filepath.Join(f.dir, "root", "shared-files", "banners")
	if err := os.MkdirAll(shared, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shared, "welcome.txt"), []byte("Welcome, from the root.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	relayAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	f.startRelay("relay1", relayAddr, addrs.quic)
	tree := filepath.Join(f.dir, "tree")
	f.start("agent1", "agent", "--data", filepath.Join(f.dir, "agent1"), "--server", relayAddr, "--hostname", "agent1",
		"--interval", "1s", "--run-interval", "1s", "--root-prefix", tree, "--gossip-listen", "", "--log-level", "debug")
	f.must("nodes", "accept", f.waitNode(hostnameOf(t), "pending").ID)
	f.must("nodes", "accept", f.waitNode("agent1", "pending").ID)
	policy := filepath.Join(f.dir, "banner.yml")
	if err := os.WriteFile(policy, []byte(bannerPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	f.must("apply", "-f", policy)

	banner := filepath.Join(tree, "etc", "banner")
	want := "Welcome, from the root.\n"
	eventually(t, 60*time.Second, "the banner on the node", func() (bool, string) {
		b, err := os.ReadFile(banner)
		return string(b) == want, fmt.Sprint(string(b), err)
	})

	// The root goes; the node loses its copies; the relay still has the signed file.
	root.stop(t)
	for _, p := range []string{banner, filepath.Join(f.dir, "agent1", "shared-files", "banners", "welcome.txt")} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 60*time.Second, "the banner back from the relay's cache", func() (bool, string) {
		b, err := os.ReadFile(banner)
		return string(b) == want, fmt.Sprint(string(b), err)
	})
}
