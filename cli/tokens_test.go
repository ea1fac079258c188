package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/root/api"
)

func TestTokensVerbs(t *testing.T) {
	now := time.Now()
	list := api.TokenList{SchemaVersion: 1, Tokens: []api.Token{
		{Name: "admin", Role: "admin", Created: now.Add(-72 * time.Hour), CreatedBy: "bosun root init", LastUsed: now.Add(-time.Minute)},
		{Name: "old", Role: "operator", Created: now.Add(-96 * time.Hour), CreatedBy: "admin", Expires: now.Add(-48 * time.Hour)},
	}}
	created := api.TokenCreated{SchemaVersion: 1, Token: api.Token{Name: "prometheus", Role: "read-only", Created: now}, Secret: "bosun_s3cret"}
	env, seen, out := fakeRoot(t, map[string]any{
		"/api/v1/tokens":            created,
		"/api/v1/tokens/prometheus": api.TokenRevoked{SchemaVersion: 1, Token: created.Token},
	})
	cmds := tokenCommands()
	ctx := context.Background()

	var stderr bytes.Buffer
	split := *env
	split.Stderr = &stderr
	if err := Main(ctx, cmds, []string{"tokens", "create", "--name", "prometheus", "--role", "read-only", "--expires", "30d"}, &split); err != nil {
		t.Fatal(err)
	}
	if out.String() != "bosun_s3cret\n" || !strings.Contains(stderr.String(), "shown only this once") {
		t.Errorf("create: stdout %q (want the secret alone), stderr %q", out, &stderr)
	}
	out.Reset()
	if err := Main(ctx, cmds, []string{"tokens", "revoke", "prometheus"}, env); err != nil || !strings.Contains(out.String(), "prometheus\tread-only\trevoked") {
		t.Errorf("revoke: %v %q", err, out)
	}
	if got := strings.Join(*seen, " "); got != "/api/v1/tokens /api/v1/tokens/prometheus" {
		t.Errorf("requests: %s", got)
	}
	for _, bad := range [][]string{
		{"tokens", "create", "--name", "x"},
		{"tokens", "create", "--name", "x", "--role", "root"},
		{"tokens", "create", "--name", "x", "--role", "admin", "--expires", "soon"},
		{"tokens", "revoke"},
	} {
		var ue *UsageError
		if err := Main(ctx, cmds, bad, env); !errors.As(err, &ue) {
			t.Errorf("%v: got %v, want a usage error", bad, err)
		}
	}

	env, _, out = fakeRoot(t, map[string]any{"/api/v1/tokens": list})
	if err := Main(ctx, cmds, []string{"tokens", "list"}, env); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[1], "bosun root init") ||
		!strings.Contains(lines[1], "never") || !strings.Contains(lines[2], "expired 2d ago") {
		t.Errorf("list:\n%s", out)
	}
	out.Reset()
	if err := Main(ctx, cmds, []string{"tokens", "list", "--json"}, env); err != nil {
		t.Fatal(err)
	}
	var back api.TokenList
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || back.SchemaVersion != 1 || len(back.Tokens) != 2 {
		t.Errorf("list --json: %v\n%s", err, out)
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "90d", want: now.AddDate(0, 0, 90)},
		{in: "12h", want: now.Add(12 * time.Hour)},
		{in: "2027-06-30T12:00:00Z", want: time.Date(2027, 6, 30, 12, 0, 0, 0, time.UTC)},
		{in: "2027-06-30", want: time.Date(2027, 6, 30, 0, 0, 0, 0, time.Local)},
		{in: "-1h", bad: true},
		{in: "0d", bad: true},
		{in: "tomorrow", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseExpiry(tt.in, now)
		if tt.bad != (err != nil) || !tt.bad && !got.Equal(tt.want) {
			t.Errorf("ParseExpiry(%q): got %v, %v; want %v (error: %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}
