package mesh

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports keeps mesh below the roles: it may use the standard library, wire, quic-go
// and (later) memberlist, and nothing else.
func TestImports(t *testing.T) {
	pkg, err := build.Default.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{
		"github.com/bosun-io/bosun/wire",
		"github.com/quic-go/quic-go",
		"github.com/hashicorp/memberlist",
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if !strings.Contains(first, ".") {
			continue // standard library
		}
		ok := false
		for _, a := range allowed {
			if imp == a || strings.HasPrefix(imp, a+"/") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("mesh imports %s; it may import only the standard library and %v", imp, allowed)
		}
	}
}
