package inventory

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// collectPackages fills Software and Updates from every package database present: a
// machine may have dpkg and rpm both (rpm is often installed on Debian for tooling, with an
// empty database).
func collectPackages(ctx context.Context, c *collector) {
	var sw []Package
	found := false
	if f, err := os.Open(c.path("/var/lib/dpkg/status")); err == nil {
		found = true
		pkgs, err := parseDpkgStatus(f)
		f.Close()
		if err != nil {
			c.note("software", "read dpkg status: %v", err)
		}
		sw = append(sw, pkgs...)
	}
	if b, err := c.read("/lib/apk/db/installed"); err == nil {
		found = true
		sw = append(sw, parseApkInstalled(b)...)
	}
	rpmPkgs, rpmFound := c.rpmPackages(ctx)
	found = found || rpmFound
	sw = append(sw, rpmPkgs...)
	if !found {
		c.note("software", "no package database found (dpkg, rpm, apk)")
	}
	sortPackages(sw)
	c.inv.Software = sw

	switch {
	case hasSource(sw, "dpkg"):
		c.inv.Updates = c.aptUpdates(sw)
	case hasSource(sw, "rpm"):
		// dnf/yum metadata is SQLite or XML behind a Python tool that takes seconds even
		// with -C; too slow for the collection budget.
		c.note("updates", "rpm system: available updates not computed (dnf cache not read)")
	case hasSource(sw, "apk"):
		c.note("updates", "apk system: available updates not computed")
	}
}

func hasSource(sw []Package, src string) bool {
	for _, p := range sw {
		if p.Source == src {
			return true
		}
	}
	return false
}

func sortPackages(sw []Package) {
	sort.Slice(sw, func(i, j int) bool { return packageLess(&sw[i], &sw[j]) })
}

func packageLess(a, b *Package) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Architecture != b.Architecture {
		return a.Architecture < b.Architecture
	}
	if a.Version != b.Version {
		return a.Version < b.Version
	}
	return a.Source < b.Source
}

// debStanzas calls fn for each stanza of a deb822 file (dpkg status, apt Packages lists),
// with only the fields named in want. Continuation lines are ignored: none of the fields we
// read span lines. If skip is set and returns true for a stanza's Package value (which must
// come first, as in apt lists), the rest of the stanza is not parsed: most of a 50 MB list
// names packages that are not installed.
func debStanzas(r io.Reader, want []string, skip func(pkg []byte) bool, fn func(fields map[string]string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	cur := make(map[string]string, len(want))
	prefixes := make([][]byte, len(want))
	for i, w := range want {
		prefixes[i] = []byte(w + ":")
	}
	flush := func() {
		if len(cur) > 0 {
			fn(cur)
			clear(cur)
		}
	}
	skipping := false
	pkgPrefix := []byte("Package:")
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			skipping = false
			flush()
			continue
		}
		if skipping || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if skip != nil && bytes.HasPrefix(line, pkgPrefix) && skip(bytes.TrimSpace(line[len(pkgPrefix):])) {
			skipping = true
			clear(cur)
			continue
		}
		for i, p := range prefixes {
			if bytes.HasPrefix(line, p) {
				cur[want[i]] = string(bytes.TrimSpace(line[len(p):]))
				break
			}
		}
	}
	flush()
	return sc.Err()
}

func parseDpkgStatus(r io.Reader) ([]Package, error) {
	var out []Package
	err := debStanzas(r, []string{"Package", "Status", "Version", "Architecture", "Maintainer"}, nil, func(f map[string]string) {
		st := strings.Fields(f["Status"])
		if len(st) != 3 || st[2] != "installed" || f["Package"] == "" {
			return
		}
		out = append(out, Package{
			Name: f["Package"], Version: f["Version"], Architecture: f["Architecture"],
			Source: "dpkg", Publisher: maintainerName(f["Maintainer"]),
		})
	})
	return out, err
}

// maintainerName drops the e-mail address: it changes with people, not with software.
func maintainerName(m string) string {
	if i := strings.IndexByte(m, '<'); i >= 0 {
		m = m[:i]
	}
	return strings.TrimSpace(m)
}

func parseApkInstalled(b []byte) []Package {
	var out []Package
	var p Package
	flush := func() {
		if p.Name != "" {
			p.Source = "apk"
			out = append(out, p)
		}
		p = Package{}
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "P":
			p.Name = v
		case "V":
			p.Version = v
		case "A":
			p.Architecture = v
		case "m":
			p.Publisher = maintainerName(v)
		}
	}
	flush()
	return out
}

// rpmTimeout bounds rpm -qa, which takes about 0.3 s on a 1,000-package system.
const rpmTimeout = 10 * time.Second

func (c *collector) rpmPackages(ctx context.Context) ([]Package, bool) {
	if !c.live() {
		return nil, false
	}
	bin, err := exec.LookPath("rpm")
	if err != nil {
		return nil, false
	}
	if _, err := os.Stat("/var/lib/rpm"); err != nil {
		if _, err := os.Stat("/usr/lib/sysimage/rpm"); err != nil {
			return nil, false // rpm installed as a tool on a non-rpm system
		}
	}
	ctx, cancel := context.WithTimeout(ctx, rpmTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-qa", "--qf",
		`%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\t%{VENDOR}\n`).Output()
	if err != nil {
		c.note("software", "rpm -qa: %v", err)
		return nil, true
	}
	return parseRPMQuery(out), true
}

func parseRPMQuery(b []byte) []Package {
	var out []Package
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 || f[0] == "" || f[0] == "gpg-pubkey" {
			continue
		}
		p := Package{Name: f[0], Version: f[1], Architecture: f[2], Source: "rpm"}
		if len(f) > 3 && f[3] != "(none)" {
			p.Publisher = f[3]
		}
		out = append(out, p)
	}
	return out
}

// aptUpdates compares installed dpkg packages with the candidates of the apt lists already
// on disk (no download: inventory does no network I/O, and the lists are as fresh as the
// last apt update). Only the lists of configured sources count (see aptListPrefixes).
//
// The rule, simpler than apt's pin priorities: a package has an update when a list offers
// it, for the same architecture (or "all"), at a version dpkg orders above the installed
// one; the candidate is the highest such version. Lists whose file name contains
// "backports" are skipped, since apt never upgrades to them unpinned. The update is a
// security update when a list offering the candidate version has "security" in its file
// name (Debian's security archive, Ubuntu's -security pocket).
func (c *collector) aptUpdates(sw []Package) []Update {
	dir := c.path("/var/lib/apt/lists")
	entries, err := os.ReadDir(dir)
	if err != nil {
		c.note("updates", "read apt lists %s: %v", dir, err)
		return nil
	}
	installed := make(map[string]string) // name + "\x00" + arch → version
	names := make(map[string]bool)
	for _, p := range sw {
		if p.Source == "dpkg" {
			installed[p.Name+"\x00"+p.Architecture] = p.Version
			names[p.Name] = true
		}
	}
	notInstalled := func(pkg []byte) bool { return !names[string(pkg)] }
	prefixes, haveSources := c.aptListPrefixes()
	active := func(n string) bool {
		if !haveSources {
			return true
		}
		for _, p := range prefixes {
			if strings.HasPrefix(n, p) {
				return true
			}
		}
		return false
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if strings.Contains(n, "_Packages") && !strings.Contains(n, "backports") && !e.IsDir() && active(n) {
			files = append(files, n)
		}
	}
	if len(files) == 0 {
		c.note("updates", "no apt Packages list in %s (apt update never run)", dir)
		return nil
	}
	// Each list is read by its own goroutine: decompression is CPU-bound and the big main
	// list would otherwise serialise behind the small ones.
	type cand struct {
		version, origin string
		security        bool
	}
	var mu sync.Mutex
	best := make(map[string]*cand)
	var wg sync.WaitGroup
	for _, name := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sec := strings.Contains(name, "security")
			err := readAptList(filepath.Join(dir, name), notInstalled, func(f map[string]string) {
				arch := f["Architecture"]
				key := f["Package"] + "\x00" + arch
				inst, ok := installed[key]
				if !ok {
					return
				}
				v := f["Version"]
				if CompareDebian(v, inst) <= 0 {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				b := best[key]
				switch {
				case b == nil || CompareDebian(v, b.version) > 0:
					best[key] = &cand{version: v, origin: name, security: sec}
				case CompareDebian(v, b.version) == 0 && sec && !b.security:
					b.security, b.origin = true, name
				}
			})
			if err != nil {
				c.note("updates", "read apt list %s: %v", name, err)
			}
		}()
	}
	wg.Wait()
	out := make([]Update, 0, len(best))
	for key, b := range best {
		name, arch, _ := strings.Cut(key, "\x00")
		out = append(out, Update{Name: name, Version: b.version, Architecture: arch, Source: "apt",
			Origin: b.origin, Security: b.security})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Architecture < out[j].Architecture
	})
	return out
}

// readAptList reads one apt list, plain or compressed as apt stores it.
func readAptList(path string, skip func([]byte) bool, fn func(map[string]string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(path, ".lz4"):
		r = newLZ4Reader(f)
	case strings.HasSuffix(path, ".gz"):
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	case strings.HasSuffix(path, "_Packages"):
	default:
		return fmt.Errorf("compression of %s not supported (plain, .gz, .lz4)", filepath.Base(path))
	}
	return debStanzas(r, []string{"Package", "Version", "Architecture"}, skip, fn)
}
