package policy

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"sync"
)

//go:embed library/*.yml
var libraryFS embed.FS

var (
	libraryOnce  sync.Once
	libraryTechs []*Technique
)

// Library returns the techniques built into bosun, sorted by id and version. They are
// loaded once; callers must not change them.
func Library() []*Technique {
	libraryOnce.Do(func() {
		names, err := fs.Glob(libraryFS, "library/*.yml")
		if err != nil {
			panic(err)
		}
		for _, n := range names {
			data, _ := libraryFS.ReadFile(n)
			t, err := LoadTechnique(n, data)
			if err != nil {
				panic(fmt.Sprintf("built-in technique %s: %v", n, err))
			}
			libraryTechs = append(libraryTechs, t)
		}
		sort.Slice(libraryTechs, func(i, j int) bool {
			a, b := libraryTechs[i], libraryTechs[j]
			if a.ID != b.ID {
				return a.ID < b.ID
			}
			return compareVersions(a.Version, b.Version) < 0
		})
	})
	return libraryTechs
}

func isLibrary(id, version string) bool {
	for _, t := range Library() {
		if t.ID == id && t.Version == version {
			return true
		}
	}
	return false
}
