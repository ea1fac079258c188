package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bosun-io/bosun/root/api"
)

// fakeRoot serves canned answers on an HTTPS test server and records the queries.
func fakeRoot(t *testing.T, answers map[string]any) (*Env, *[]string, *bytes.Buffer) {
	t.Helper()
	var seen []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.RequestURI())
		a, ok := answers[r.URL.Path]
		if !ok {
			api.Fail(w, 404, api.CodeNotFound, "no "+r.URL.Path)
			return
		}
		api.Reply(w, a)
	}))
	t.Cleanup(srv.Close)
	cert := filepath.Join(t.TempDir(), "api.crt")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600)
	var out bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &out, Getenv: func(k string) string {
		return map[string]string{"BOSUN_ROOT": srv.URL, "BOSUN_TOKEN": "bosun_x", "BOSUN_ROOT_CERT": cert, "BOSUN_CONFIG": "/nonexistent"}[k]
	}}
	return env, &seen, &out
}

func TestNodesListWhereColumnsSort(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	facts := api.NodeFacts{SchemaVersion: 1, Columns: []string{"ram"}, Nodes: []api.NodeFact{
		{Node: api.Node{ID: "a", Hostname: "small", Status: "accepted", Role: "agent"}, Values: []json.RawMessage{raw("2147483648"), raw(`"Debian"`)}},
		{Node: api.Node{ID: "b", Hostname: "big", Status: "accepted", Role: "agent"}, Values: []json.RawMessage{raw("17179869184"), raw(`"Debian"`)}},
		{Node: api.Node{ID: "c", Hostname: "gone", Status: "deleted", Role: "agent"}, Values: []json.RawMessage{raw("1"), raw("null")}},
	}}
	env, seen, out := fakeRoot(t, map[string]any{"/api/v1/inventory/nodes": facts})
	cmds := []*Command{nodesListCommand}
	err := Main(context.Background(), cmds, []string{"nodes", "list", "--where", "ram>1GiB", "--columns", "hostname,ram,os.name", "--sort", "-ram"}, env)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "big") || !strings.Contains(lines[1], "16.0 GiB") || !strings.HasPrefix(lines[2], "small") {
		t.Errorf("table:\n%s\nwant big (16.0 GiB) then small, deleted left out", out)
	}
	if q := (*seen)[0]; !strings.Contains(q, "where=ram%3E1GiB") || !strings.Contains(q, "column=ram") || !strings.Contains(q, "column=os.name") {
		t.Errorf("query: got %s", q)
	}
	for _, bad := range [][]string{{"--where", "ram"}, {"--columns", "a..b"}, {"--sort", "("}} {
		err := Main(context.Background(), cmds, append([]string{"nodes", "list"}, bad...), env)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("nodes list %v: got %v, want a usage error", bad, err)
		}
	}
}
