package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bosunBin is the binary under test, built once by TestMain.
var bosunBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bosun-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bosunBin = filepath.Join(dir, "bosun")
	// The daemons look for their default files in an empty directory rather than /etc/bosun,
	// so that an installed bosun's files change nothing here (every process inherits it).
	etc := filepath.Join(dir, "etc")
	if err := os.Mkdir(etc, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("BOSUN_ROLE_CONFIG_DIR", etc)
	build := exec.Command("go", "build", "-o", bosunBin, "../cmd/bosun")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build bosun:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// eventually polls cond until it holds or timeout passes; every wait in these tests goes
// through it. cond returns a description of what it saw, for the failure message.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, seen := cond()
		if ok {
			return
		}
		last = seen
		if time.Now().After(deadline) {
			t.Fatalf("after %v, still not %s; last seen: %s", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort returns a port free on 127.0.0.1 for both UDP and TCP at the time of the call.
// It picks below the kernel's ephemeral range (32768 and up by default): a port the kernel
// hands out by itself (the ":0" of every client socket) could otherwise take it between this
// check and the process that binds it.
func freePort(t *testing.T) int {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// fleet is a test's world: a directory, the CLI configuration and the processes it started.
type fleet struct {
	t     *testing.T
	dir   string
	env   []string
	mu    sync.Mutex
	procs []*proc
}

func newFleet(t *testing.T) *fleet {
	dir := t.TempDir()
	f := &fleet{t: t, dir: dir, env: append(os.Environ(), "BOSUN_CONFIG="+filepath.Join(dir, "cli.json"))}
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, p := range f.procs {
			p.kill()
		}
		if t.Failed() {
			for _, p := range f.procs {
				b, _ := os.ReadFile(p.logPath)
				t.Logf("--- log of %s ---\n%s", p.name, b)
			}
		}
	})
	return f
}

// proc is one running bosun process.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

// start runs bosun with args in the background; its output goes to a log file shown when
// the test fails.
func (f *fleet) start(name string, args ...string) *proc {
	f.t.Helper()
	return f.startCmd(name, append([]string{bosunBin}, args...)...)
}

// startCmd runs any command in the background the way start runs bosun: for bosun started
// through a wrapper such as ip netns exec.
func (f *fleet) startCmd(name string, argv ...string) *proc {
	f.t.Helper()
	logPath := filepath.Join(f.dir, name+".log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		f.t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = f.env
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	f.mu.Lock()
	f.procs = append(f.procs, p)
	f.mu.Unlock()
	return p
}

// stop asks the process to stop (SIGTERM) and requires a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.kill()
		t.Fatalf("%s did not stop within 15 s of SIGTERM", p.name)
	}
	if p.err != nil {
		b, _ := os.ReadFile(p.logPath)
		t.Fatalf("%s did not stop cleanly: %v\n%s", p.name, p.err, b)
	}
}

// kill stops the process the hard way, as a crash or a power cut would.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

func (p *proc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// run runs a bosun verb to completion and returns its stdout, stderr and exit status.
func (f *fleet) run(args ...string) (string, string, int) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bosunBin, args...)
	cmd.Env = f.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	default:
		f.t.Fatalf("run bosun %s: %v", strings.Join(args, " "), err)
		return "", "", -1
	}
}

// must runs a verb and fails the test unless it exits 0.
func (f *fleet) must(args ...string) string {
	f.t.Helper()
	out, errOut, code := f.run(args...)
	if code != 0 {
		f.t.Fatalf("bosun %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

type node struct {
	ID           string   `json:"id"`
	Hostname     string   `json:"hostname"`
	Role         string   `json:"role"`
	Status       string   `json:"status"`
	PolicyServer string   `json:"policyServer"`
	Path         []string `json:"path"`
}

// nodes lists the nodes through the CLI, as an operator's script would.
func (f *fleet) nodes() ([]node, error) {
	out, errOut, code := f.run("nodes", "list", "--json", "--timeout", "5s")
	if code != 0 {
		return nil, fmt.Errorf("nodes list: exit %d: %s", code, errOut)
	}
	var l struct {
		SchemaVersion int    `json:"schemaVersion"`
		Nodes         []node `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, fmt.Errorf("nodes list: %w: %s", err, out)
	}
	if l.SchemaVersion != 1 {
		return nil, fmt.Errorf("nodes list: schema version %d", l.SchemaVersion)
	}
	return l.Nodes, nil
}

func (f *fleet) nodeByHostname(host string) (node, bool, string) {
	nodes, err := f.nodes()
	if err != nil {
		return node{}, false, err.Error()
	}
	for _, n := range nodes {
		if n.Hostname == host {
			return n, true, fmt.Sprintf("%+v", nodes)
		}
	}
	return node{}, false, fmt.Sprintf("%+v", nodes)
}

// waitNode waits until a node of that hostname is listed with that status.
func (f *fleet) waitNode(host, status string) node {
	f.t.Helper()
	var got node
	eventually(f.t, 30*time.Second, host+" "+status, func() (bool, string) {
		n, ok, seen := f.nodeByHostname(host)
		got = n
		return ok && n.Status == status, seen
	})
	return got
}
