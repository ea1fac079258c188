package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/agent"
	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/root/policy"
	"github.com/bosun-io/bosun/wire"
)

// demoPolicy compiles the example policy of the demo for one agent node.
func demoPolicy(t *testing.T) *wire.AppliedPolicy {
	t.Helper()
	docs, err := policy.LoadPath("../../examples/demo-policy.yml")
	if err != nil {
		t.Fatal(err)
	}
	m := &policy.Model{}
	if _, err := m.Apply(docs); err != nil {
		t.Fatal(err)
	}
	pols, probs, err := policy.Compile(m, []policy.Node{{ID: "node-1", Hostname: "agent1", OS: "linux", Facts: map[string]any{"relay": false}}})
	if err != nil || len(probs) > 0 {
		t.Fatalf("compile the demo policy: %v %v", err, probs)
	}
	p := pols["node-1"]
	if p == nil || len(p.Components) == 0 {
		t.Fatalf("the demo policy compiled to nothing for an agent: %+v", pols)
	}
	return p
}

// fileState is what a write would change: content, mode and modification time.
type fileState struct {
	content string
	mode    fs.FileMode
	mtime   time.Time
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fileState{mode: fi.Mode(), mtime: fi.ModTime()}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			st.content = string(b)
		}
		out[p] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDemoPolicyAuditWritesNothing runs the whole example policy in audit (force-audit)
// over a tree where the motd drifted, twice, and checks that no file or directory of the
// tree changed in content, mode or time, and that nothing appeared; then runs it in
// enforce and sees the motd fixed.
func TestDemoPolicyAuditWritesNothing(t *testing.T) {
	p := demoPolicy(t)
	tree := t.TempDir()
	for path, content := range map[string]string{
		"tmp/bosun-demo/motd":     "tampered\n",
		"tmp/bosun-demo/other":    "left alone\n",
		"etc/os-release":          "ID=debian\nVERSION_ID=\"12\"\n",
		"etc/passwd":              "root:x:0:0:root:/root:/bin/sh\n",
		"var/lib/dpkg/status":     "",
		"run/systemd/placeholder": "",
	} {
		full := filepath.Join(tree, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Old times, so that a rewrite with the same content would still show.
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	_ = filepath.WalkDir(tree, func(p string, _ fs.DirEntry, _ error) error { return os.Chtimes(p, old, old) })
	before := snapshot(t, tree)

	motd := -1
	for i, c := range p.Components {
		if c.Method == "file_content" {
			motd = i
		}
	}
	if motd < 0 {
		t.Fatalf("no file_content in the demo policy: %+v", p.Components)
	}
	data := t.TempDir()
	for range 2 {
		r := agent.Apply(context.Background(), p, agent.ApplyOptions{NodeID: p.NodeID, Hostname: "agent1", RootPrefix: tree,
			DataDir: data, ForceAudit: true})
		for _, it := range r.Items {
			if it.Mode != wire.ModeAudit {
				t.Errorf("component %d ran in %v under force-audit", it.Index, it.Mode)
			}
			if it.Status == wire.StatusSuccess || it.Status == wire.StatusRepaired || it.Status == wire.StatusError {
				t.Errorf("component %d: enforce status %v under force-audit", it.Index, it.Status)
			}
		}
		if r.Items[motd].Status != wire.StatusAuditNonCompliant {
			t.Errorf("the tampered motd: got %v (%s), want audit-noncompliant", r.Items[motd].Status, r.Items[motd].Message)
		}
	}
	after := snapshot(t, tree)
	for path, b := range before {
		a, ok := after[path]
		switch {
		case !ok:
			t.Errorf("%s disappeared", path)
		case a != b:
			t.Errorf("%s changed: got %+v, want %+v", path, a, b)
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("%s appeared", path)
		}
	}

	r := agent.Apply(context.Background(), p, agent.ApplyOptions{NodeID: p.NodeID, Hostname: "agent1", RootPrefix: tree, DataDir: data})
	if r.Items[motd].Mode != wire.ModeEnforce || r.Items[motd].Status != wire.StatusRepaired {
		t.Errorf("enforce: got %v %v (%s), want E repaired", r.Items[motd].Mode, r.Items[motd].Status, r.Items[motd].Message)
	}
	if b, _ := os.ReadFile(filepath.Join(tree, "tmp/bosun-demo/motd")); !strings.Contains(string(b), "Welcome to bosun demo.") {
		t.Errorf("motd after enforce: %q", b)
	}
}

// TestAgentRunTechnique runs technique files through the verb, as an author would, and
// checks the table, the summary and the exit statuses.
func TestAgentRunTechnique(t *testing.T) {
	dir := t.TempDir()
	motd := filepath.Join(dir, "motd")
	lib := "../../root/policy/library/motd.yml"
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"enforce fixes", []string{"--technique", lib, "--param", "path=" + motd, "--param", "content=hello"}, 0,
			[]string{"E  repaired", "enforce:", "100.0% compliant", "not reported"}},
		{"enforce again", []string{"--technique", lib, "--param", "path=" + motd, "--param", "content=hello"}, 0,
			[]string{"E  success"}},
		{"audit drift", []string{"--technique", lib, "--param", "path=" + motd, "--param", "content=bye", "--audit"}, 1,
			[]string{"A  audit-noncompliant", "audit:", "50.0% compliant"}},
		{"missing parameter", []string{"--technique", lib, "--param", "path=" + motd}, 2, nil},
		{"bad parameter", []string{"--technique", lib, "--param", "nope"}, 2, nil},
		{"no technique file", []string{"--technique", filepath.Join(dir, "none.yml")}, 2, nil},
		{"no policy held", []string{"--data", filepath.Join(dir, "data")}, 2, nil},
		{"param without technique", []string{"--param", "a=b"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"agent", "run", "--data", filepath.Join(dir, "data")}, tt.args...)
			err := cli.Main(context.Background(), commands(), args, &cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
			if got := exitCode(err); got != tt.wantCode {
				t.Fatalf("got exit %d (%v), want %d\n%s", got, err, tt.wantCode, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	if b, _ := os.ReadFile(motd); strings.TrimSpace(string(b)) != "hello" {
		t.Errorf("motd: got %q, want hello (audit must not have written bye)", b)
	}
}
