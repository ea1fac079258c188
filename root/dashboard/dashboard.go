package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// Prefix is where the root mounts the dashboard.
const Prefix = "/ui/"

//go:embed static
var static embed.FS

// securityHeaders are sent with every file of the shell. The policy allows the page's own
// files and its calls to the API of the same origin, nothing inline and no framing, so that
// a hostname or a message crafted by a node cannot run script in an operator's browser.
var securityHeaders = map[string]string{
	"Content-Security-Policy":      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Frame-Options":              "DENY",
	"X-Content-Type-Options":       "nosniff",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	// The shell carries no data, but a browser keeping an old one after an upgrade would
	// call the API with yesterday's script.
	"Cache-Control": "no-cache",
}

// Handler serves the shell under Prefix: index.html for the prefix itself, the embedded
// files by name, 404 for anything else. It serves only GET and HEAD.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(Prefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range securityHeaders {
			w.Header().Set(k, v)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the dashboard is read-only", http.StatusMethodNotAllowed)
			return
		}
		// The file server would answer index.html with a redirect and a directory with a
		// listing; the shell has one page and no directories worth listing.
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		if name == "index.html" || (name != "" && strings.HasSuffix(name, "/")) {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
