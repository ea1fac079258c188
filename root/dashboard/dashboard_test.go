package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, method, path string) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, httptest.NewRequest(method, path, nil))
	resp := w.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestShell(t *testing.T) {
	tests := []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/ui/", 200, "text/html"},
		{"HEAD", "/ui/", 200, "text/html"},
		{"GET", "/ui/app.js", 200, "text/javascript"},
		{"GET", "/ui/app.css", 200, "text/css"},
		{"GET", "/ui/favicon.svg", 200, "image/svg+xml"},
		{"GET", "/ui/index.html", 404, ""},
		{"GET", "/ui/nothing.js", 404, ""},
		{"POST", "/ui/", 405, ""},
	}
	for _, tt := range tests {
		resp, _ := get(t, tt.method, tt.path)
		if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.contentType) {
			t.Errorf("%s %s: got %d %q, want %d %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, tt.contentType)
		}
		// Every answer, errors included, carries the headers: a 404 page is framed as easily
		// as the shell. (Go's file server drops Cache-Control from errors, which is fine.)
		for k, v := range securityHeaders {
			if k == "Cache-Control" && resp.StatusCode != 200 {
				continue
			}
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s %s: header %s = %q, want %q", tt.method, tt.path, k, got, v)
			}
		}
	}
	csp := securityHeaders["Content-Security-Policy"]
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("Content-Security-Policy %q allows something unsafe", csp)
	}
}

// TestShellRunsUnderItsPolicy: the policy forbids inline script and style, so the shell
// must have none, and the script must not turn data into markup.
func TestShellRunsUnderItsPolicy(t *testing.T) {
	_, html := get(t, "GET", "/ui/")
	if m := regexp.MustCompile(`<script[^>]*>\s*[^<\s]`).FindString(html); m != "" {
		t.Errorf("index.html has inline script: %q", m)
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, `src="`) {
			t.Errorf("index.html: %s runs inline script", tag)
		}
	}
	if m := regexp.MustCompile(`(?i)\s(style|on[a-z]+)=`).FindString(html); m != "" {
		t.Errorf("index.html has an inline %q attribute, which the policy blocks", m)
	}
	_, js := get(t, "GET", "/ui/app.js")
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s: values from nodes must be set as text", bad)
		}
	}
}
