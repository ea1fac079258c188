package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bosun-io/bosun/cli"
	"github.com/bosun-io/bosun/cli/flagfile"
	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite packaging/etc/bosun/*.yaml and docs/configuration.md from the flags")

// run runs a verb in-process and returns its stdout, stderr and exit status.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cli.Main(context.Background(), commands(), args, &cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	if err != nil {
		fmt.Fprintf(&errb, "bosun: %v\n", err)
	}
	return out.String(), errb.String(), exitCode(err)
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeReference writes docs/configuration.md: the prose of configuration.intro.md, then the
// keys of each role's file as a table, from the same flags as the files.
func writeReference(t *testing.T, w io.Writer) {
	intro, err := os.ReadFile("configuration.intro.md")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(intro)
	for _, role := range roles {
		fmt.Fprintf(w, "\n## bosun %s: `%s`\n\n", role, configPath(role))
		if s := sharers(role); len(s) > 0 {
			fmt.Fprintf(w, "Also read by %s.\n\n", strings.Join(s, ", "))
		}
		if err := flagfile.Reference(w, roleKeys(role)); err != nil {
			t.Fatal(err)
		}
	}
}

// golden compares got with the file at path, or rewrites the file with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, string(got))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with go test ./cmd/bosun -run TestConfigFiles -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with the flags: run go test ./cmd/bosun -run TestConfigFiles -update and commit it\ngot:\n%s", path, got)
	}
}

// TestConfigFiles: the packaged files and the reference are what the flags say, and the
// packaged files pass the check, as written and with every default uncommented.
func TestConfigFiles(t *testing.T) {
	for _, role := range roles {
		t.Run(role, func(t *testing.T) {
			path := filepath.Join("..", "..", "packaging", "etc", "bosun", role+".yaml")
			var b bytes.Buffer
			if err := writeDefaults(&b, role); err != nil {
				t.Fatal(err)
			}
			golden(t, path, b.Bytes())
			if want := "#data: /var/lib/bosun/" + role + "\n"; !strings.Contains(b.String(), want) {
				t.Errorf("the %s file lacks %q", role, want)
			}
			out, stderr, status := run(t, "config", "check", path)
			if status != 0 || !strings.Contains(out, "valid configuration of bosun "+role) {
				t.Errorf("config check %s: status %d\n%s%s", path, status, out, stderr)
			}
			// Prose is "# text", a default "#key: value": uncommented, every default must
			// parse as its flag parses it.
			var set []string
			for _, line := range strings.Split(b.String(), "\n") {
				if strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "# ") && strings.Contains(line, ":") {
					set = append(set, strings.TrimPrefix(line, "#"))
				}
			}
			all := writeFile(t, filepath.Join(t.TempDir(), role+".yaml"), strings.Join(set, "\n")+"\n")
			out, stderr, status = run(t, "config", "check", all)
			if status != 0 {
				t.Errorf("the %s defaults uncommented do not check: status %d\n%s%s", role, status, out, stderr)
			}
			n := 0
			roleKeys(role).VisitAll(func(*pflag.Flag) { n++ })
			if len(set) != n {
				t.Errorf("the %s file has %d keys, the daemon %d flags that are keys", role, len(set), n)
			}
		})
	}
	var b bytes.Buffer
	writeReference(t, &b)
	golden(t, filepath.Join("..", "..", "docs", "configuration.md"), b.Bytes())
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, filepath.Join(dir, "agent.yaml"), "data: /srv/agent\nserver: relay1:6710\ninterval: 10m\n")
	typo := writeFile(t, filepath.Join(dir, "agent-dmz.yaml"), "# a typo\ndata: /srv/agent\n\nsevrer: relay1:6710\n")
	relay := writeFile(t, filepath.Join(dir, "zone-a.yaml"), "upstream: root:6710\nqueue-bytes: 1024\n")
	badValue := writeFile(t, filepath.Join(dir, "relay.yaml"), "upstream: root:6710\nqueue-bytes: 8G\nlog-level: loud\n")
	color := writeFile(t, filepath.Join(dir, "root-color.yaml"), "color: never\n")
	tests := []struct {
		name   string
		args   []string
		status int
		want   []string // lines of stdout or stderr
	}{
		{"valid", []string{good}, 0, []string{good + ": valid configuration of bosun agent, sets data, server, interval"}},
		{"unknown key", []string{typo}, 1, []string{typo + `:4: unknown key "sevrer" (did you mean "server"?)`, "1 of 1 files"}},
		{"role given", []string{"--role", "relay", relay}, 0, []string{relay + ": valid configuration of bosun relay"}},
		{"another role's keys", []string{"--role", "agent", relay}, 1, []string{relay + `:1: unknown key "upstream" (a key of /etc/bosun/relay.yaml)`}},
		{"bad values", []string{badValue}, 1, []string{
			badValue + `:2: key "queue-bytes": "8G" is not a whole number`,
			badValue + `:3: key "log-level": "loud": want debug, info, warn or error`}},
		{"the global --color is no key", []string{color}, 1, []string{color + `:1: unknown key "color" (--color is a flag of every verb, for the command line only)`}},
		{"several files", []string{good, typo}, 1, []string{good + ": valid", typo + ":4:", "1 of 2 files"}},
		{"missing file", []string{filepath.Join(dir, "root.yaml")}, 1, []string{"no such file"}},
		{"role not in the name", []string{relay}, 2, []string{"names no role; pass --role"}},
		{"unknown role", []string{"--role", "leaf", good}, 2, []string{`unknown role "leaf"`}},
		{"no file", nil, 2, []string{"name the configuration files"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, status := run(t, append([]string{"config", "check"}, tt.args...)...)
			if status != tt.status {
				t.Errorf("got status %d, want %d\n%s%s", status, tt.status, out, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+stderr, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, stderr)
				}
			}
		})
	}
	if _, stderr, status := run(t, "config", "defaults", "leaf"); status != 2 || !strings.Contains(stderr, "want root, relay or agent") {
		t.Errorf("config defaults leaf: got status %d, %s", status, stderr)
	}
}

// TestConfigFlagOfVerbs: the file applies to the verbs of its role; a default file that does
// not exist is fine, a named one is not, and a broken one stops the verb with its line.
func TestConfigFlagOfVerbs(t *testing.T) {
	dir := t.TempDir()
	fromFile, fromFlag := filepath.Join(dir, "from-file"), filepath.Join(dir, "from-flag")
	file := writeFile(t, filepath.Join(dir, "agent.yaml"), "data: "+fromFile+"\nserver: relay1:6710\n")
	broken := writeFile(t, filepath.Join(dir, "broken.yaml"), "data: "+fromFile+"\ndat: x\n")

	if _, stderr, status := run(t, "agent", "set-force-audit", "--config", file); status != 0 {
		t.Fatalf("set-force-audit with the file: status %d, %s", status, stderr)
	}
	if _, err := os.Stat(filepath.Join(fromFile, "force-audit")); err != nil {
		t.Errorf("the file's data directory was not used: %v", err)
	}
	if _, stderr, status := run(t, "agent", "set-force-audit", "--config", file, "--data", fromFlag); status != 0 {
		t.Fatalf("set-force-audit with the file and --data: status %d, %s", status, stderr)
	}
	if _, err := os.Stat(filepath.Join(fromFlag, "force-audit")); err != nil {
		t.Errorf("--data did not win over the file: %v", err)
	}

	_, stderr, status := run(t, "agent", "info", "--config", filepath.Join(dir, "none.yaml"))
	if status != 2 || !strings.Contains(stderr, "none.yaml does not exist") {
		t.Errorf("a named file that does not exist: got status %d, %s", status, stderr)
	}
	_, stderr, status = run(t, "agent", "info", "--config", broken)
	if status != 2 || !strings.Contains(stderr, broken+`:2: unknown key "dat" (did you mean "data"?)`) {
		t.Errorf("a broken file: got status %d, %s", status, stderr)
	}
	_, _, status = run(t, "agent", "info", "--config", broken, "--help")
	if status != 0 {
		t.Errorf("--help with a broken file: got status %d, want 0", status)
	}

	// The default file is a fixed path this test cannot remove; point it elsewhere as
	// Prepare sees it, with --config not given.
	o := &agentInfoOptions{configFile: configFile{role: "agent"}}
	fs := pflag.NewFlagSet("agent info", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	o.Path = filepath.Join(dir, "default-that-is-not-there.yaml")
	if err := o.Prepare(fs); err != nil {
		t.Errorf("a missing default file: got %v, want no error", err)
	}
	if o.Data != "/var/lib/bosun/agent" {
		t.Errorf("got data %q, want the flag's default", o.Data)
	}
}

// TestAgentDaemonConfigFile starts the agent daemon in-process with a configuration file:
// the file's server and log format take effect, and --data on the command line wins over
// the file's.
func TestAgentDaemonConfigFile(t *testing.T) {
	dir := t.TempDir()
	fromFile, fromFlag := filepath.Join(dir, "from-file"), filepath.Join(dir, "from-flag")
	// Nothing listens on port 1: the agent keeps trying, which is all this test needs.
	file := writeFile(t, filepath.Join(dir, "agent.yaml"), fmt.Sprintf(`data: %s
server: 127.0.0.1:1
gossip-listen: ""
log-format: json
server-timeout: 2s
`, fromFile))

	// The daemons log to the process's stderr, not to the verb's Env: catch it in a file.
	logPath := filepath.Join(dir, "stderr")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = logFile
	t.Cleanup(func() { os.Stderr = saved; logFile.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- cli.Main(ctx, commands(), []string{"agent", "--config", file, "--data", fromFlag}, &cli.Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }})
	}()

	var running map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for running == nil {
		select {
		case err := <-done:
			t.Fatalf("the agent stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		b, _ := os.ReadFile(logPath)
		for _, line := range strings.Split(string(b), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "agent running" {
				running = rec
			}
		}
		if running == nil && time.Now().After(deadline) {
			t.Fatalf("no JSON \"agent running\" line within 20 s; stderr:\n%s", b)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the agent stopped with %v, want a clean stop", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the agent did not stop within 20 s of its context ending")
	}

	if running["server"] != "127.0.0.1:1" {
		t.Errorf("got server %v in the log, want the file's 127.0.0.1:1", running["server"])
	}
	if _, err := os.Stat(filepath.Join(fromFlag, "node.id")); err != nil {
		t.Errorf("the agent did not use --data: %v", err)
	}
	if _, err := os.Stat(fromFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file's data directory %s was used although --data was given: %v", fromFile, err)
	}
}

// TestConfigDirEnv: BOSUN_ROLE_CONFIG_DIR moves the default file, which is how TestMain keeps
// /etc/bosun out of the tests.
func TestConfigDirEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(configDirEnv, dir)
	data := filepath.Join(dir, "data")
	writeFile(t, filepath.Join(dir, "agent.yaml"), "data: "+data+"\n")
	if _, stderr, status := run(t, "agent", "set-force-audit"); status != 0 {
		t.Fatalf("set-force-audit: status %d, %s", status, stderr)
	}
	if _, err := os.Stat(filepath.Join(data, "force-audit")); err != nil {
		t.Errorf("the data directory of %s/agent.yaml was not used: %v", dir, err)
	}
	if got, want := defaultConfigPath("relay"), filepath.Join(dir, "relay.yaml"); got != want {
		t.Errorf("got default file %s, want %s", got, want)
	}
}
