package root

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bosun-io/bosun/metrics"
	"github.com/bosun-io/bosun/root/api"
)

// as returns a client of r's API with another token.
func (r *testRoot) as(secret string) *api.Client {
	c := *r.api
	c.Token = secret
	return &c
}

// TestTokenLifecycle: an admin makes a read-only token, which reads the API and /metrics
// but changes nothing; revoked, it is refused; every change is in the event log, and no
// secret (nor its hash) is in any answer but the creation's.
func TestTokenLifecycle(t *testing.T) {
	r := startRoot(t, nil)
	ctx := context.Background()
	created, err := r.api.CreateToken(ctx, api.TokenRequest{Name: "prometheus", Role: "read-only"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.Secret, tokenPrefix) || created.Token.Name != "prometheus" || created.Token.Role != "read-only" || created.Token.CreatedBy != "admin" {
		t.Fatalf("got %+v", created)
	}
	ro := r.as(created.Secret)
	if !created.Token.Expires.IsZero() || !created.Token.LastUsed.IsZero() {
		t.Errorf("a new token without expiry: got %+v", created.Token)
	}

	if _, err := ro.Nodes(ctx, ""); err != nil {
		t.Errorf("read-only GET /api/v1/nodes: %v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, code, err := metrics.Scrape(sctx, r.api.HTTP, r.api.BaseURL+"/metrics", created.Secret)
	cancel()
	if err != nil || code != http.StatusOK {
		t.Errorf("read-only GET /metrics: status %d, %v", code, err)
	}
	if _, err := ro.SetStatus(ctx, "no-such-node", api.StatusAccepted); !isCode(err, api.CodeForbidden) {
		t.Errorf("read-only POST accept: got %v, want forbidden", err)
	}
	if _, err := ro.Tokens(ctx); !isCode(err, api.CodeForbidden) {
		t.Errorf("read-only GET /api/v1/tokens: got %v, want forbidden", err)
	}
	op, err := r.api.CreateToken(ctx, api.TokenRequest{Name: "ci", Role: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.as(op.Secret).CreateToken(ctx, api.TokenRequest{Name: "more", Role: "admin"}); !isCode(err, api.CodeForbidden) {
		t.Errorf("an operator made a token: got %v, want forbidden", err)
	}

	l, err := r.api.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tok := range l.Tokens {
		names = append(names, tok.Name+"="+tok.Role)
	}
	if got := strings.Join(names, " "); got != "admin=admin ci=operator prometheus=read-only" {
		t.Errorf("tokens: got %s", got)
	}
	for _, tok := range l.Tokens {
		if tok.Name == "prometheus" && tok.LastUsed.IsZero() {
			t.Errorf("prometheus: no last use after it was used: %+v", tok)
		}
	}

	revoked, err := r.api.RevokeToken(ctx, "prometheus")
	if err != nil || revoked.Token.Name != "prometheus" {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	if _, err := ro.Nodes(ctx, ""); !isCode(err, api.CodeUnauthorized) {
		t.Errorf("revoked token: got %v, want unauthorized", err)
	}
	if _, err := r.api.RevokeToken(ctx, "prometheus"); !isCode(err, api.CodeNotFound) {
		t.Errorf("revoke again: got %v, want not_found", err)
	}

	evs, err := r.api.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var what []string
	for _, ev := range evs {
		if len(ev.Changes) == 1 && ev.Changes[0].Kind == eventKindToken {
			what = append(what, ev.By+": "+ev.What)
		}
	}
	want := "admin: revoke read-only token prometheus|admin: create operator token ci|admin: create read-only token prometheus|bosun root init: create admin token admin"
	if got := strings.Join(what, "|"); got != want {
		t.Errorf("token events, newest first:\n got %s\nwant %s", got, want)
	}
	if _, err := r.api.Revert(ctx, evs[0].ID); !isCode(err, api.CodeBadRequest) {
		t.Errorf("revert of a revocation: got %v, want bad_request", err)
	}

	// No answer holds a secret or its hash, but the creation's.
	lb, _ := json.Marshal(l)
	eb, _ := json.Marshal(evs)
	for _, secret := range []string{created.Secret, op.Secret, r.init.AdminToken} {
		for _, leak := range []string{secret, strings.TrimPrefix(secret, tokenPrefix), hashToken(secret)} {
			if strings.Contains(string(lb), leak) || strings.Contains(string(eb), leak) {
				t.Errorf("a secret or its hash is in the token list or the event log:\n%s\n%s", lb, eb)
			}
		}
	}
}

func TestTokenRequestsRefused(t *testing.T) {
	r := startRoot(t, nil)
	ctx := context.Background()
	tests := []struct {
		name string
		req  api.TokenRequest
		code string
	}{
		{"no name", api.TokenRequest{Role: "read-only"}, api.CodeBadRequest},
		{"a name with a space", api.TokenRequest{Name: "my token", Role: "read-only"}, api.CodeBadRequest},
		{"a name with a slash", api.TokenRequest{Name: "a/b", Role: "read-only"}, api.CodeBadRequest},
		{"a name too long", api.TokenRequest{Name: strings.Repeat("a", 65), Role: "read-only"}, api.CodeBadRequest},
		{"an unknown role", api.TokenRequest{Name: "x", Role: "root"}, api.CodeBadRequest},
		{"no role", api.TokenRequest{Name: "x"}, api.CodeBadRequest},
		{"an expiry past", api.TokenRequest{Name: "x", Role: "operator", Expires: time.Now().Add(-time.Minute)}, api.CodeBadRequest},
		{"a name taken", api.TokenRequest{Name: "admin", Role: "operator"}, api.CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := r.api.CreateToken(ctx, tt.req); !isCode(err, tt.code) {
				t.Errorf("got %v, want %s", err, tt.code)
			}
		})
	}
	if l, err := r.api.Tokens(ctx); err != nil || len(l.Tokens) != 1 {
		t.Errorf("refused requests made tokens: %+v %v", l, err)
	}
}

// TestLastAdminToken: the last admin token that works cannot be revoked, by itself or
// anyone; an expired admin token does not count.
func TestLastAdminToken(t *testing.T) {
	var offset atomic.Int64
	r := startRoot(t, func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
	ctx := context.Background()
	if _, err := r.api.RevokeToken(ctx, "admin"); !isCode(err, api.CodeConflict) {
		t.Fatalf("revoke the only admin token: got %v, want conflict", err)
	}
	brief, err := r.api.CreateToken(ctx, api.TokenRequest{Name: "brief", Role: "admin", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.api.CreateToken(ctx, api.TokenRequest{Name: "second", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.as(second.Secret).RevokeToken(ctx, "admin"); err != nil {
		t.Fatalf("revoke admin with another admin token: %v", err)
	}
	if _, err := r.as(brief.Secret).Tokens(ctx); err != nil {
		t.Fatalf("a token before its expiry: %v", err)
	}

	offset.Store(int64(2 * time.Hour))
	_, err = r.as(brief.Secret).Tokens(ctx)
	if !isCode(err, api.CodeUnauthorized) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired token: got %v, want unauthorized, expired", err)
	}
	if _, err := r.as(second.Secret).RevokeToken(ctx, "second"); !isCode(err, api.CodeConflict) {
		t.Errorf("revoke the last admin token, another expired: got %v, want conflict", err)
	}
	if _, err := r.as(second.Secret).RevokeToken(ctx, "brief"); err != nil {
		t.Errorf("revoke an expired token: %v", err)
	}
}

// TestCreateTokenOffline: bosun root token create works on a stopped root's data directory,
// and says to stop the root while it runs.
func TestCreateTokenOffline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "root")
	if _, err := CreateToken(dir, api.TokenRequest{Name: "x", Role: "admin"}); err == nil || !strings.Contains(err.Error(), "bosun root init") {
		t.Errorf("no root: got %v", err)
	}
	if _, err := Init(dir, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	created, err := CreateToken(dir, api.TokenRequest{Name: "rescue", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.Token.CreatedBy, "offline") {
		t.Errorf("created by %q, want offline:USER", created.Token.CreatedBy)
	}
	if _, err := CreateToken(dir, api.TokenRequest{Name: "rescue", Role: "admin"}); !strings.Contains(err.Error(), "already") {
		t.Errorf("a name taken: got %v", err)
	}

	r, err := New(Config{DataDir: dir, QUICAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", InventoryWatchInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, err := r.tokens.Authenticate(context.Background(), created.Secret)
	if err != nil || p.Name != "rescue" || p.Role != api.RoleAdmin {
		t.Errorf("the offline token: got %+v, %v", p, err)
	}
	_, err = CreateToken(dir, api.TokenRequest{Name: "other", Role: "admin"})
	if err == nil || !strings.Contains(err.Error(), "stop the root first") {
		t.Errorf("with the root running: got %v, want a hint to stop it", err)
	}
	evs, err := r.pol.events()
	if err != nil || len(evs) == 0 || !strings.HasPrefix(evs[0].By, "offline") || evs[0].What != "create admin token rescue" {
		t.Errorf("the event log's latest: %+v, %v", evs, err)
	}
}

// TestCreateTokenAnswer: the creation is 201 with a JSON body.
func TestCreateTokenAnswer(t *testing.T) {
	r := startRoot(t, nil)
	req, err := http.NewRequest(http.MethodPost, r.api.BaseURL+"/api/v1/tokens", strings.NewReader(`{"name":"ci","role":"operator"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.init.AdminToken)
	resp, err := r.api.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got api.TokenCreated
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusCreated ||
		resp.Header.Get("Content-Type") != "application/json" || got.Secret == "" {
		t.Errorf("got HTTP %d, Content-Type %q, %+v, %v", resp.StatusCode, resp.Header.Get("Content-Type"), got, err)
	}
	for _, body := range []string{`{"name":"x","role":"operator","rol":"admin"}`, `not json`} {
		req, _ := http.NewRequest(http.MethodPost, r.api.BaseURL+"/api/v1/tokens", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+r.init.AdminToken)
		resp, err := r.api.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("body %s: got HTTP %d, want 400", body, resp.StatusCode)
		}
	}
}
