package store

import (
	"errors"
	"io/fs"
	"os"
)

// DirError is returned by [PrepareDir] when a data directory cannot be
// used as it is. Its message tells the operator what to do.
type DirError struct {
	Path    string
	Problem string // what is wrong, e.g. "has mode 0755"
	Hint    string // what to do, e.g. "run: chmod 700 /var/lib/bosun"
	Err     error  // the underlying error, if any
}

func (e *DirError) Error() string {
	msg := "data directory " + e.Path + " " + e.Problem
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (e *DirError) Unwrap() error { return e.Err }

// PrepareDir creates dir (and its parents) with mode 0700, or checks that
// an existing dir is a directory owned by the current user and closed to
// group and others. Node keys, queued reports and the registry live
// there, so a directory others can read is refused rather than fixed
// behind the operator's back.
func PrepareDir(dir string) error {
	if dir == "" {
		return &DirError{Path: `""`, Problem: "is empty", Hint: "set a data directory"}
	}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return &DirError{Path: dir, Problem: "cannot be created", Err: err,
				Hint: "create it with mode 0700 as the user running bosun, or choose another data directory"}
		}
		fi, err = os.Stat(dir)
	}
	if err != nil {
		return &DirError{Path: dir, Problem: "cannot be examined", Err: err,
			Hint: "check the permissions of its parent directories"}
	}
	if !fi.IsDir() {
		return &DirError{Path: dir, Problem: "is not a directory",
			Hint: "remove it or choose another data directory"}
	}
	return checkAccess(dir, fi)
}
