package method

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bosun-io/bosun/agent/host"
)

// call builds a call of id with values in the method's parameter order.
func call(t testing.TB, id string, mode Mode, values ...string) Call {
	t.Helper()
	m, ok := registry[id]
	if !ok {
		t.Fatalf("method %s not registered", id)
	}
	if len(values) > len(m.Params) {
		t.Fatalf("%s takes %d parameters, got %d values", id, len(m.Params), len(values))
	}
	c := Call{Method: id, Mode: mode}
	for i, v := range values {
		c.Params = append(c.Params, Param{Name: m.Params[i], Value: v})
	}
	return c
}

func newEnv(t testing.TB, root string) *Env {
	t.Helper()
	return &Env{RootPrefix: root, DataDir: t.TempDir(), Host: &host.Set{Commands: &host.Exec{}}}
}

func write(t testing.TB, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t testing.TB, root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// snapshot records everything about a tree that a write would change.
type entry struct {
	mode     fs.FileMode
	uid, gid uint32
	mtime    int64
	sum      [32]byte
	link     string
}

func snapshot(t testing.TB, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := entry{mode: fi.Mode(), uid: st.Uid, gid: st.Gid, mtime: fi.ModTime().UnixNano()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.link, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.sum = sha256.Sum256(b)
		}
		out[strings.TrimPrefix(p, root)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t testing.TB, before, after map[string]entry) {
	t.Helper()
	for p, b := range before {
		a, ok := after[p]
		if !ok {
			t.Errorf("audit removed %s", p)
		} else if a != b {
			t.Errorf("audit changed %s: got %+v, want %+v", p, a, b)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("audit created %s", p)
		}
	}
}

func run(t testing.TB, env *Env, c Call) Result {
	t.Helper()
	return Run(context.Background(), env, c)
}
