package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultMaxOutput is how many bytes of a command's output are kept when Cmd.MaxOutput is 0.
const DefaultMaxOutput = 64 << 10

// ErrTimeout is returned (wrapped) when a command outlives its timeout and is killed.
var ErrTimeout = errors.New("command timed out")

// Cmd is one command to run.
type Cmd struct {
	// Argv is the program and its arguments, run without a shell.
	Argv []string
	// Shell, when set, is run by /bin/sh -c instead of Argv: only for methods whose contract is
	// a shell command line.
	Shell   string
	Env     []string // added to the agent's environment
	Dir     string
	Stdin   string
	Timeout time.Duration // 0: the context's deadline only
	// MaxOutput bounds the combined stdout and stderr kept; the rest is counted and dropped.
	MaxOutput int
}

func (c Cmd) String() string {
	if c.Shell != "" {
		return c.Shell
	}
	return strings.Join(c.Argv, " ")
}

// CmdResult is what a finished command left.
type CmdResult struct {
	ExitCode  int
	Output    []byte // combined stdout and stderr, at most MaxOutput bytes
	Truncated bool
}

// Exec is the real Commands backend.
type Exec struct{}

var _ Commands = (*Exec)(nil)

// Run implements Commands.
func (*Exec) Run(ctx context.Context, c Cmd) (CmdResult, error) {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	var cmd *exec.Cmd
	switch {
	case c.Shell != "":
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", c.Shell)
	case len(c.Argv) > 0:
		cmd = exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	default:
		return CmdResult{}, errors.New("run command: empty command")
	}
	if len(c.Env) > 0 {
		cmd.Env = append(cmd.Environ(), c.Env...)
	}
	cmd.Dir = c.Dir
	if c.Stdin != "" {
		cmd.Stdin = strings.NewReader(c.Stdin)
	}
	// A process group, so that a timeout also kills what a shell started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild holding the pipes open must not hold us past the kill.
	cmd.WaitDelay = time.Second
	max := c.MaxOutput
	if max <= 0 {
		max = DefaultMaxOutput
	}
	out := &boundedBuffer{max: max}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	res := CmdResult{ExitCode: -1, Output: out.buf.Bytes(), Truncated: out.dropped > 0}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return res, fmt.Errorf("run %q: %w", c.String(), ErrTimeout)
		}
		return res, fmt.Errorf("run %q: %w", c.String(), ctx.Err())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return res, fmt.Errorf("run %q: %w", c.String(), err)
	}
	return res, nil
}

// boundedBuffer keeps the first max bytes written to it and counts the rest.
type boundedBuffer struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	room := b.max - b.buf.Len()
	if room >= len(p) {
		return b.buf.Write(p)
	}
	if room > 0 {
		b.buf.Write(p[:room])
	}
	b.dropped += len(p) - max(room, 0)
	return len(p), nil
}

// run is the backends' helper: it runs argv and turns a non-zero exit into an error carrying
// the tool's output, which is what an operator needs to see.
func run(ctx context.Context, cmds Commands, env []string, argv ...string) (CmdResult, error) {
	res, err := cmds.Run(ctx, Cmd{Argv: argv, Env: env})
	if err != nil {
		return res, err
	}
	if res.ExitCode != 0 {
		return res, fmt.Errorf("%s: exit code %d: %s", strings.Join(argv, " "), res.ExitCode, strings.TrimSpace(string(res.Output)))
	}
	return res, nil
}
