package root

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func (r *testRoot) getAs(t *testing.T, token, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", r.api.BaseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := *r.api.HTTP
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestDashboardNeedsToken: the shell is served to anyone and holds nothing of the fleet;
// every route the page reads answers 401 without a token and is not cached with one.
func TestDashboardNeedsToken(t *testing.T) {
	r := startRoot(t, nil)
	n := acceptedNode(t, r)
	host := "host-" + n.id.NodeID[:8]

	resp, body := r.getAs(t, "", "/ui/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `src="app.js"`) {
		t.Fatalf("GET /ui/ without a token: got %d %q", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET /ui/: security headers %v", resp.Header)
	}
	for _, f := range []string{"/ui/", "/ui/app.js", "/ui/app.css"} {
		_, b := r.getAs(t, "", f)
		if bytes.Contains(b, []byte(n.id.NodeID)) || bytes.Contains(b, []byte(host)) {
			t.Errorf("%s without a token names a node", f)
		}
	}
	if resp, _ := r.getAs(t, "", "/ui"); resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /ui: got %d to %q, want a redirect to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}

	// What the page reads, as it reads it.
	paths := []string{
		"/api/v1/status", "/api/v1/compliance", "/api/v1/compliance/nodes", "/api/v1/compliance/rules",
		"/api/v1/nodes", "/api/v1/relays", "/api/v1/drift?limit=10",
		"/api/v1/inventory/nodes?column=os,kernel,ip,packages,updates,security_updates",
		"/api/v1/inventory/nodes?column=os,kernel,ip,packages,updates,security_updates&node=" + n.id.NodeID,
		"/api/v1/nodes/" + n.id.NodeID, "/api/v1/compliance/nodes/" + n.id.NodeID,
		"/api/v1/nodes/" + n.id.NodeID + "/inventory", "/api/v1/compliance/rules/r-base?components=all",
	}
	for _, p := range paths {
		for _, tok := range []string{"", "bosun_not-a-token"} {
			resp, b := r.getAs(t, tok, p)
			if resp.StatusCode != http.StatusUnauthorized || bytes.Contains(b, []byte(host)) {
				t.Errorf("GET %s with token %q: got %d %s, want 401", p, tok, resp.StatusCode, b)
			}
		}
		resp, _ := r.getAs(t, r.init.AdminToken, p)
		if resp.StatusCode == http.StatusUnauthorized || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s with the token: got %d, Cache-Control %q; want an answer marked no-store", p, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
}
