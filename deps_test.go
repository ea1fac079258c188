// Package bosun_test keeps the layout of DESIGN.md §4 honest: it fails on an import that
// breaks its rules. It reads the real import graph with `go list`, so a new package is
// checked without being listed here.
package bosun_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/bosun-io/bosun"

// owners names, for each third-party module, the only packages that may import it: the
// rest of the code sees bosun types, so a library can be replaced in one place.
var owners = map[string][]string{
	"github.com/hashicorp/memberlist":     {"mesh"},
	"github.com/quic-go/quic-go":          {"mesh"},
	"github.com/dgraph-io/badger/v4":      {"store"},
	"github.com/shirou/gopsutil/v3":       {"inventory"},
	"github.com/spf13/pflag":              {"cli", "cmd/bosun"},
	"go.yaml.in/yaml/v3":                  {"root/policy", "cli/flagfile"},
	"github.com/cbroglie/mustache":        {"agent/method"},
	"github.com/prometheus/client_golang": {"metrics"},
	"github.com/prometheus/common":        {"metrics"},
	// xxhash is a hash function, not a subsystem to hide: anyone may use it.
}

// roles never import each other: they meet only as wire messages over mesh.
var roles = []string{"agent", "relay", "root"}

// pure packages do no network I/O and import no role.
var pure = []string{"wire", "cond", "inventory", "root/policy", "root/compliance"}

type pkg struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(path string) string {
	return strings.TrimPrefix(strings.TrimPrefix(path, module), "/")
}

// under reports whether package p is dir or below it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

func roleOf(p string) string {
	for _, r := range roles {
		if under(p, r) {
			return r
		}
	}
	return ""
}

func TestLayout(t *testing.T) {
	for _, p := range listPackages(t) {
		from := rel(p.ImportPath)
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, module+"/") {
				to := rel(imp)
				if fr, tr := roleOf(from), roleOf(to); fr != "" && tr != "" && fr != tr {
					t.Errorf("%s imports %s: roles never import each other", from, to)
				}
				if (from == "cli" || under(from, "cli")) && roleOf(to) != "" && to != "root/api" {
					t.Errorf("%s imports %s: the CLI reaches the root only through root/api", from, to)
				}
				if from == "wire" || from == "cond" {
					t.Errorf("%s imports %s: %s is the shared language and imports no bosun package", from, to, from)
				}
				for _, q := range pure {
					if under(from, q) && (roleOf(to) != "" && !under(to, q) || to == "mesh" || to == "store") {
						t.Errorf("%s imports %s: %s does no I/O beyond what it is handed", from, to, q)
					}
				}
				continue
			}
			for _, q := range pure {
				if under(from, q) && (imp == "net/http" || strings.HasPrefix(imp, "github.com/quic-go/")) {
					t.Errorf("%s imports %s: %s does no network I/O", from, imp, q)
				}
			}
			for mod, allowed := range owners {
				if imp != mod && !strings.HasPrefix(imp, mod+"/") {
					continue
				}
				ok := false
				for _, a := range allowed {
					if under(from, a) {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s imports %s: only %v may import %s", from, imp, allowed, mod)
				}
			}
		}
	}
}
