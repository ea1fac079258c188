package root

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDrift: GET /api/v1/drift returns the drift log's latest lines, newest first, the same
// fields the log and the hooks carry.
func TestDrift(t *testing.T) {
	var logDir string
	r := startRootWith(t, func(c *Config) { logDir = filepath.Join(t.TempDir(), "log"); c.LogDir = logDir })
	ctx := context.Background()
	if l, err := r.api.Drift(ctx, 0); err != nil || len(l.Events) != 0 || l.Truncated {
		t.Fatalf("no drift log yet: got %+v, %v", l, err)
	}
	if err := os.MkdirAll(logDir, 0o750); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	var lines bytes.Buffer
	var last driftEvent
	for i := range 120 {
		last = driftEvent{Time: now.Add(time.Duration(i) * time.Second), Kind: "non-compliant", NodeID: "n1", Hostname: "web1",
			RunID: uint64(i + 1), ConfigID: "c1", RunEnd: now, RuleID: "r1", RuleName: "Rule one", DirectiveID: "d1",
			DirectiveName: "Directive one", ComponentIndex: 2, ComponentID: "c", ComponentName: "File", State: "non-compliant",
			Status: "audit-noncompliant", Message: fmt.Sprintf("run %d: %s", i+1, strings.Repeat("x", 900))}
		b, _ := json.Marshal(last)
		lines.Write(append(b, '\n'))
		if i == 60 {
			lines.WriteString("not json\n")
		}
	}
	if err := os.WriteFile(filepath.Join(logDir, DriftLogName), lines.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}

	l, err := r.api.Drift(ctx, 0)
	if err != nil || len(l.Events) != defaultDriftLimit || !l.Truncated || l.Events[0].RunID != 120 || l.Events[49].RunID != 71 {
		t.Fatalf("default limit: got %d events (first %+v), truncated %v, %v", len(l.Events), l.Events[0], l.Truncated, err)
	}
	want, _ := json.Marshal(last)
	got, _ := json.Marshal(l.Events[0])
	if !bytes.Equal(got, want) {
		t.Errorf("newest event:\ngot  %s\nwant %s", got, want)
	}
	if l, err = r.api.Drift(ctx, 1000); err != nil || len(l.Events) != 120 || l.Truncated || l.Events[119].RunID != 1 {
		t.Errorf("limit 1000 on 121 lines, one unreadable: got %d events, truncated %v, %v", len(l.Events), l.Truncated, err)
	}
	for _, bad := range []string{"0", "1001", "many"} {
		if resp, _ := r.getAs(t, r.init.AdminToken, "/api/v1/drift?limit="+bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("limit=%s: got %d, want 400", bad, resp.StatusCode)
		}
	}
}

func TestTailLines(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "line %04d %s\n", i, strings.Repeat("y", 40))
	}
	s := b.String()
	tests := []struct {
		name     string
		text     string
		n        int
		limit    int64
		first    string
		count    int
		wantMore bool
	}{
		{"across chunks", s, 3000, 1 << 20, "line 2000", 3000, true},
		{"all of it", s, 6000, 1 << 20, "line 0000", 5000, false},
		{"bounded scan", s, 3000, 1000, "line 4981", 19, true},
		{"no final newline", "a\nb\nc", 2, 100, "b", 2, true},
		{"empty", "", 5, 100, "", 0, false},
	}
	for _, tt := range tests {
		lines, more, err := tailLines(strings.NewReader(tt.text), int64(len(tt.text)), tt.n, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		first := ""
		if len(lines) > 0 {
			first = string(lines[0])
		}
		if len(lines) != tt.count || !strings.HasPrefix(first, tt.first) || more != tt.wantMore {
			t.Errorf("%s: got %d lines from %q, more %v; want %d from %q, more %v", tt.name, len(lines), first, more, tt.count, tt.first, tt.wantMore)
		}
	}
}
