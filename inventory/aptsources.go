package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// aptListPrefixes returns the file-name prefixes of the apt lists that the configured
// sources (sources.list, sources.list.d/*.list and *.sources) still use. apt leaves the
// lists of a removed or disabled source on disk; counting them would report updates apt
// would never install. ok is false when no source could be read, and then every list
// counts.
func (c *collector) aptListPrefixes() (prefixes []string, ok bool) {
	add := func(uri, suite string) {
		if strings.HasSuffix(suite, "/") { // flat repository: "deb uri dir/"
			prefixes = append(prefixes, aptURIToFileName(uri+"/"+suite))
			return
		}
		prefixes = append(prefixes, aptURIToFileName(uri+"/dists/"+suite)+"_")
	}
	if b, err := c.read("/etc/apt/sources.list"); err == nil {
		ok = true
		parseOneLineSources(string(b), add)
	}
	dir := "/etc/apt/sources.list.d"
	entries, _ := os.ReadDir(c.path(dir))
	for _, e := range entries {
		n := e.Name()
		b, err := c.read(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(n, ".list"):
			ok = true
			parseOneLineSources(string(b), add)
		case strings.HasSuffix(n, ".sources"):
			ok = true
			parseDeb822Sources(string(b), add)
		}
	}
	return prefixes, ok
}

func parseOneLineSources(s string, add func(uri, suite string)) {
	for line := range strings.SplitSeq(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "deb" {
			continue
		}
		f = f[1:]
		if strings.HasPrefix(f[0], "[") { // options: [arch=amd64 signed-by=...]
			for len(f) > 0 && !strings.HasSuffix(f[0], "]") {
				f = f[1:]
			}
			if len(f) > 0 {
				f = f[1:]
			}
		}
		if len(f) >= 2 {
			add(f[0], f[1])
		}
	}
}

func parseDeb822Sources(s string, add func(uri, suite string)) {
	for stanza := range strings.SplitSeq(s, "\n\n") {
		fields := make(map[string]string)
		for line := range strings.SplitSeq(stanza, "\n") {
			if strings.HasPrefix(line, "#") || strings.HasPrefix(line, " ") {
				continue
			}
			if k, v, ok := strings.Cut(line, ":"); ok {
				fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		if !strings.Contains(" "+fields["types"]+" ", " deb ") || strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		for _, uri := range strings.Fields(fields["uris"]) {
			for _, suite := range strings.Fields(fields["suites"]) {
				add(uri, suite)
			}
		}
	}
}

// aptURIToFileName is apt's URItoFileName: drop the scheme and credentials, quote the
// characters apt quotes (as %xx, lower-case hex), then turn slashes into underscores.
func aptURIToFileName(uri string) string {
	if i := strings.Index(uri, "://"); i >= 0 {
		uri = uri[i+3:]
	}
	if at := strings.IndexByte(uri, '@'); at >= 0 && at < strings.IndexByte(uri+"/", '/') {
		uri = uri[at+1:]
	}
	uri = strings.TrimRight(uri, "/")
	const quoted = "\\|{}[]<>\"^~_=!@#$%^&*"
	var b strings.Builder
	for i := 0; i < len(uri); i++ {
		ch := uri[i]
		switch {
		case ch == '/':
			b.WriteByte('_')
		case strings.IndexByte(quoted, ch) >= 0 || ch <= 0x20 || ch >= 0x7F:
			fmt.Fprintf(&b, "%%%02x", ch)
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
