//go:build unix

package store

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

func checkAccess(dir string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok {
		if err := checkOwner(dir, st); err != nil {
			return err
		}
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return &DirError{Path: dir, Problem: fmt.Sprintf("has mode %04o", perm),
			Hint: "run: chmod 700 " + dir}
	}
	return nil
}

func checkOwner(dir string, st *syscall.Stat_t) error {
	if uid := os.Getuid(); int(st.Uid) != uid {
		return &DirError{Path: dir,
			Problem: fmt.Sprintf("is owned by uid %d, not by uid %d which runs bosun", st.Uid, uid),
			Hint:    fmt.Sprintf("run: chown %d %s, or run bosun as uid %d", uid, dir, st.Uid)}
	}
	return nil
}
