package method

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// errAuditWrite is what every write helper returns in audit: a method body that reaches one
// in audit has a bug, and the write does not happen. This, and not each method's care, is
// what keeps audit from writing outside the data directory.
var errAuditWrite = errors.New("refused to write in audit mode")

// readLines reads a text file as lines, without their newlines.
func readLines(path string) (lines []string, exists bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return splitLines(string(b)), true, nil
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	if s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return strings.Split(s, "\n")
}

func joinLines(lines []string) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// writeFile replaces path's content atomically (a temporary file renamed over it), keeping the
// mode and owner of the file it replaces, and creating missing parent directories. No fsync:
// a crash loses at most a repair that the next run makes again.
func writeFile(mode Mode, path string, data []byte) error {
	if mode != Enforce {
		return fmt.Errorf("write %s: %w", path, errAuditWrite)
	}
	perm := fs.FileMode(0o644)
	uid, gid := -1, -1
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm() | fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".bosun-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if uid >= 0 {
		if err := tmp.Chown(uid, gid); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok = true
	return nil
}

func createEmpty(mode Mode, path string) error {
	if mode != Enforce {
		return fmt.Errorf("create %s: %w", path, errAuditWrite)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return f.Close()
}

func mkdirAll(mode Mode, path string) error {
	if mode != Enforce {
		return fmt.Errorf("create directory %s: %w", path, errAuditWrite)
	}
	return os.MkdirAll(path, 0o755)
}

func remove(mode Mode, path string) error {
	if mode != Enforce {
		return fmt.Errorf("remove %s: %w", path, errAuditWrite)
	}
	return os.Remove(path)
}

func removeAll(mode Mode, path string) error {
	if mode != Enforce {
		return fmt.Errorf("remove %s: %w", path, errAuditWrite)
	}
	return os.RemoveAll(path)
}

func symlink(mode Mode, target, path string) error {
	if mode != Enforce {
		return fmt.Errorf("link %s: %w", path, errAuditWrite)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.Symlink(target, path)
}

func chmod(mode Mode, path string, perm fs.FileMode) error {
	if mode != Enforce {
		return fmt.Errorf("chmod %s: %w", path, errAuditWrite)
	}
	return os.Chmod(path, perm)
}

// chown changes path's owner, or the symlink's own when follow is false.
func chown(mode Mode, path string, uid, gid int, follow bool) error {
	if mode != Enforce {
		return fmt.Errorf("chown %s: %w", path, errAuditWrite)
	}
	if follow {
		return os.Chown(path, uid, gid)
	}
	return os.Lchown(path, uid, gid)
}
