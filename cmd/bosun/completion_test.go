package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/root/api"
)

// TestMain lets the completion scripts run this test binary as bosun: with BOSUN_TEST_MAIN
// set it is the real main. The roles' default files are looked for in an empty directory, not
// in /etc/bosun, so that an installed bosun's files change nothing here; the processes the
// tests start inherit it.
func TestMain(m *testing.M) {
	if os.Getenv("BOSUN_TEST_MAIN") == "1" {
		main()
		return
	}
	dir, err := os.MkdirTemp("", "bosun-test-etc")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv(configDirEnv, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// completionWorld is a directory with a bosun on PATH that talks to a fake root listing
// two nodes and a rule, and the environment for the shells.
func completionWorld(t *testing.T) (dir string, env []string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/nodes":
			api.Reply(w, api.NodeList{SchemaVersion: 1, Nodes: []api.Node{
				{ID: "0b5f6c1e-aaaa", Status: "accepted"}, {ID: "0b5f6c1e-bbbb", Status: "pending"}, {ID: "0b5f6c1e-gone", Status: "deleted"}}})
		case "/api/v1/rules":
			api.Reply(w, api.ObjectList{SchemaVersion: 1, Kind: "rule", Objects: []json.RawMessage{json.RawMessage(`{"id":"base","name":"Base"}`)}})
		default:
			api.Fail(w, 404, api.CodeNotFound, "no "+r.URL.Path)
		}
	}))
	t.Cleanup(srv.Close)
	dir = t.TempDir()
	cert := filepath.Join(dir, "api.crt")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nBOSUN_TEST_MAIN=1 exec %q \"$@\"\n", self)
	if err := os.WriteFile(filepath.Join(bin, "bosun"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"site.yml", "bundle.bin"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "datadir"), 0o755); err != nil {
		t.Fatal(err)
	}
	env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "BOSUN_ROOT="+srv.URL, "BOSUN_TOKEN=bosun_x",
		"BOSUN_ROOT_CERT="+cert, "BOSUN_CONFIG="+filepath.Join(dir, "none.json"), "HOME="+dir)
	return dir, env
}

// script returns bosun completion SHELL as the binary prints it.
func script(t *testing.T, shell string) string {
	t.Helper()
	var out bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if err := cli.Main(context.Background(), commands(), []string{"completion", shell}, env); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// runShell runs a shell script to completion, bounded.
func runShell(t *testing.T, env []string, dir string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env, cmd.Dir = env, dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", strings.Join(argv[:2], " "), err, stdout.String(), stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("%s wrote on stderr: %s", argv[0], stderr.String())
	}
	return stdout.String()
}

// completionCases are command lines, the last word being completed, and the candidates
// every shell must offer for it.
var completionCases = []struct {
	words []string
	want  []string
}{
	{[]string{"bosun", "no"}, []string{"nodes"}},
	{[]string{"bosun", "he"}, []string{"help"}},
	{[]string{"bosun", "help", "nodes", "li"}, []string{"list"}},
	{[]string{"bosun", "nodes", ""}, []string{"accept", "delete", "list", "properties", "refuse", "runs", "settings", "show"}},
	{[]string{"bosun", "compliance", "ru"}, []string{"rule", "rules"}},
	{[]string{"bosun", "nodes", "list", "--st"}, []string{"--status"}},
	{[]string{"bosun", "nodes", "list", "--status", ""}, []string{"accepted", "deleted", "pending", "refused"}},
	{[]string{"bosun", "tokens", "create", "--role", ""}, []string{"admin", "operator", "read-only"}},
	{[]string{"bosun", "nodes", "list", "--role", "r"}, []string{"relay", "root"}},
	{[]string{"bosun", "compliance", "rule", "base", "--state", "no"}, []string{"no-answer", "non-compliant", "not-applicable"}},
	{[]string{"bosun", "--color", "never", "nodes", "l"}, []string{"list"}},
	{[]string{"bosun", "--colour", "never", "nodes", "l"}, []string{"list"}},
	{[]string{"bosun", "nodes", "list", "--color", "a"}, []string{"always", "auto"}},
	{[]string{"bosun", "completion", ""}, []string{"bash", "fish", "zsh"}},
	{[]string{"bosun", "nodes", "accept", "0b5f"}, []string{"0b5f6c1e-aaaa", "0b5f6c1e-bbbb"}},
	{[]string{"bosun", "wait", "rule-compliant", ""}, []string{"base"}},
	{[]string{"bosun", "apply", "-f", "si"}, []string{"site.yml"}},
	{[]string{"bosun", "root", "import", "bun"}, []string{"bundle.bin"}},
	{[]string{"bosun", "relay", "export", "--data", "dat"}, []string{"datadir"}},
	{[]string{"bosun", "config", "check", "--role", ""}, []string{"agent", "relay", "root"}},
	{[]string{"bosun", "config", "defaults", "r"}, []string{"relay", "root"}},
}

func checkCandidates(t *testing.T, shell, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(completionCases) {
		t.Fatalf("%s: got %d answers for %d cases:\n%s", shell, len(lines), len(completionCases), out)
	}
	for i, tc := range completionCases {
		got := strings.Fields(lines[i])
		for j := range got {
			got[j] = strings.TrimSuffix(got[j], "/")
		}
		slices.Sort(got)
		got = slices.Compact(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q: got %q, want %q", shell, strings.Join(tc.words, " "), got, tc.want)
		}
	}
}

func shWordsOf(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	dir, env := completionWorld(t)
	path := filepath.Join(dir, "bosun.bash")
	if err := os.WriteFile(path, []byte(script(t, "bash")), 0o644); err != nil {
		t.Fatal(err)
	}
	runShell(t, env, dir, bash, "-n", path)
	var s strings.Builder
	fmt.Fprintf(&s, "source %q\nc() { COMP_WORDS=(\"$@\"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _bosun; echo \"${COMPREPLY[*]}\"; }\n", path)
	for _, tc := range completionCases {
		fmt.Fprintf(&s, "c %s\n", shWordsOf(tc.words))
	}
	checkCandidates(t, "bash", runShell(t, env, dir, bash, "--norc", "--noprofile", "-c", s.String()))
}

func TestCompletionZsh(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("zsh is not installed (apt-get install zsh)")
	}
	dir, env := completionWorld(t)
	path := filepath.Join(dir, "_bosun")
	if err := os.WriteFile(path, []byte(script(t, "zsh")), 0o644); err != nil {
		t.Fatal(err)
	}
	runShell(t, env, dir, zsh, "-n", path)
	// Outside a completion widget, compadd and _files are stood in for: they print what
	// the real ones would offer, filtered by the word's prefix as compsys does.
	var s strings.Builder
	fmt.Fprintf(&s, `source %q
__cur=''
compadd() {
	[[ $1 == -- ]] && shift
	local w out=()
	for w in "$@"; do [[ $w == "$__cur"* ]] && out+=("$w"); done
	print -rn -- "${out[*]} "
}
_files() {
	local -a f
	if [[ $1 == -/ ]]; then f=(${__cur}*(N/)); else f=(${__cur}*(N)); fi
	print -rn -- "${f[*]} "
}
c() { words=("$@"); CURRENT=${#words}; __cur=${words[CURRENT]}; _bosun; print; }
`, path)
	for _, tc := range completionCases {
		fmt.Fprintf(&s, "c %s\n", shWordsOf(tc.words))
	}
	checkCandidates(t, "zsh", runShell(t, env, dir, zsh, "-f", "-c", s.String()))
}

func TestCompletionFish(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("fish is not installed (apt-get install fish)")
	}
	dir, env := completionWorld(t)
	path := filepath.Join(dir, "bosun.fish")
	if err := os.WriteFile(path, []byte(script(t, "fish")), 0o644); err != nil {
		t.Fatal(err)
	}
	runShell(t, env, dir, fish, "--no-config", "-n", path)
	var s strings.Builder
	fmt.Fprintf(&s, "source %s\n", fishQuoted(path))
	for _, tc := range completionCases {
		line := strings.Join(tc.words, " ")
		fmt.Fprintf(&s, "set -l r (complete -C %s | string replace -r '\\t.*' ''); echo \"$r\"\n", fishQuoted(line))
	}
	checkCandidates(t, "fish", runShell(t, env, dir, fish, "--no-config", "-c", s.String()))
}

func fishQuoted(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// TestCompleteSilentWithoutRoot: with no root configured, ids complete to nothing, at once,
// without a word on stderr and with status 0.
func TestCompleteSilentWithoutRoot(t *testing.T) {
	var out, errb bytes.Buffer
	env := &cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		return map[string]string{"BOSUN_CONFIG": filepath.Join(t.TempDir(), "none.json")}[k]
	}}
	err := cli.Main(context.Background(), commands(), []string{"__complete", "ids", "node", "rule"}, env)
	if err != nil || out.Len() > 0 || errb.Len() > 0 {
		t.Errorf("got %v, stdout %q, stderr %q; want nothing", err, out.String(), errb.String())
	}
	var help bytes.Buffer
	env.Stdout = &help
	if err := cli.Main(context.Background(), commands(), []string{"help"}, env); err != nil || strings.Contains(help.String(), "__complete") {
		t.Errorf("the overview lists the hidden verb (%v):\n%s", err, help.String())
	}
}
