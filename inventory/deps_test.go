package inventory

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports keeps the layout honest (DESIGN.md §4): inventory imports no other bosun
// package, does no network I/O, and of the third-party modules uses only gopsutil (which it
// alone may import) and xxhash.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{"github.com/shirou/gopsutil/v3/", "github.com/cespare/xxhash/v2"}
	forbidden := map[string]bool{"net/http": true, "net/rpc": true, "net/smtp": true, "os/signal": true}
	for _, imp := range pkg.Imports {
		if forbidden[imp] {
			t.Errorf("imports %s: inventory does no network I/O", imp)
		}
		if !strings.Contains(strings.Split(imp, "/")[0], ".") {
			continue // standard library
		}
		ok := false
		for _, a := range allowed {
			if strings.HasPrefix(imp, a) || imp == strings.TrimSuffix(a, "/") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("imports %s: only gopsutil and xxhash are allowed here", imp)
		}
	}
}
