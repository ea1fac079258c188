package method

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func init() {
	register(&method{Spec: Spec{ID: "permissions", Params: []string{"path", "mode", "owner", "group"}, ReportingParam: "path"},
		run: func(_ context.Context, env *Env, a args, mode Mode) outcome { return permissions(env, a, mode, false) }})
	register(&method{Spec: Spec{ID: "permissions_recursive", Params: []string{"path", "mode", "owner", "group"}, ReportingParam: "path",
		ClassPrefix: "permissions"},
		run: func(_ context.Context, env *Env, a args, mode Mode) outcome { return permissions(env, a, mode, true) }})
}

// wantPerms is a permissions call's target; -1 and a zero mode mean "leave alone".
type wantPerms struct {
	mode    fs.FileMode
	setMode bool
	uid     int
	gid     int
}

// parseMode reads Rudder's octal modes ("640", "0640", "4755").
func parseMode(s string) (fs.FileMode, error) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("mode %q: not an octal mode", s)
	}
	m := fs.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m, nil
}

// uid resolves an owner name or number, once per run: a run may check hundreds of files.
func (env *Env) uid(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if id, ok := env.uidCache[name]; ok {
		return id, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("owner %s: %w", name, err)
	}
	id, _ := strconv.Atoi(u.Uid)
	if env.uidCache == nil {
		env.uidCache = map[string]int{}
	}
	env.uidCache[name] = id
	return id, nil
}

func (env *Env) gid(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if id, ok := env.gidCache[name]; ok {
		return id, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("group %s: %w", name, err)
	}
	id, _ := strconv.Atoi(g.Gid)
	if env.gidCache == nil {
		env.gidCache = map[string]int{}
	}
	env.gidCache[name] = id
	return id, nil
}

func (env *Env) wantPerms(a args) (wantPerms, error) {
	w := wantPerms{uid: -1, gid: -1}
	var err error
	if m := strings.TrimSpace(a["mode"]); m != "" {
		if w.mode, err = parseMode(m); err != nil {
			return w, err
		}
		w.setMode = true
	}
	if o := strings.TrimSpace(a["owner"]); o != "" {
		if w.uid, err = env.uid(o); err != nil {
			return w, err
		}
	}
	if g := strings.TrimSpace(a["group"]); g != "" {
		if w.gid, err = env.gid(g); err != nil {
			return w, err
		}
	}
	return w, nil
}

const permBits = fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

// diff says how fi differs from w; empty when it does not.
func (w wantPerms) diff(fi fs.FileInfo) string {
	var d []string
	isLink := fi.Mode()&fs.ModeSymlink != 0
	if w.setMode && !isLink && fi.Mode()&permBits != w.mode {
		d = append(d, fmt.Sprintf("mode %s, want %s", fi.Mode()&permBits, w.mode))
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if w.uid >= 0 && int(st.Uid) != w.uid {
			d = append(d, fmt.Sprintf("owner %d, want %d", st.Uid, w.uid))
		}
		if w.gid >= 0 && int(st.Gid) != w.gid {
			d = append(d, fmt.Sprintf("group %d, want %d", st.Gid, w.gid))
		}
	}
	return strings.Join(d, ", ")
}

// fix changes one file; chown first, as it clears the setuid and setgid bits.
func (w wantPerms) fix(mode Mode, path string, fi fs.FileInfo) error {
	if w.uid >= 0 || w.gid >= 0 {
		if err := chown(mode, path, w.uid, w.gid, fi.Mode()&fs.ModeSymlink == 0); err != nil {
			return err
		}
	}
	if w.setMode && fi.Mode()&fs.ModeSymlink == 0 {
		return chmod(mode, path, w.mode)
	}
	return nil
}

func permissions(env *Env, a args, mode Mode, recursive bool) outcome {
	p := a["path"]
	w, err := env.wantPerms(a)
	if err != nil {
		return failf("permissions of %s: %v", p, err)
	}
	root := env.path(p)
	fi, err := os.Stat(root) // the path itself is followed, as CFEngine does
	if err != nil {
		return failf("permissions of %s: %v", p, err)
	}
	var diffs, errs []string
	var fixed int
	check := func(path string, fi fs.FileInfo) {
		d := w.diff(fi)
		if d == "" {
			return
		}
		rel := p
		if r, err := filepath.Rel(root, path); err == nil && r != "." {
			rel = filepath.Join(p, r)
		}
		diffs = append(diffs, rel+": "+d)
		if mode != Enforce {
			return
		}
		if err := w.fix(mode, path, fi); err != nil {
			errs = append(errs, err.Error())
			return
		}
		after, err := os.Lstat(path)
		if err != nil {
			errs = append(errs, err.Error())
		} else if d := w.diff(after); d != "" {
			errs = append(errs, rel+": still "+d)
		} else {
			fixed++
		}
	}
	if !recursive || !fi.IsDir() {
		check(root, fi)
	} else {
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, err.Error())
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				errs = append(errs, err.Error())
				return nil
			}
			check(path, fi)
			return nil
		})
	}
	want := fmt.Sprintf("mode %q, owner %q, group %q", a["mode"], a["owner"], a["group"])
	switch {
	case len(errs) > 0:
		return failf("permissions of %s (%s): %d to fix, %d fixed, errors: %s", p, want, len(diffs), fixed, quoteFirst(errs))
	case len(diffs) == 0:
		return keptf("permissions of %s are as wanted (%s)", p, want)
	case mode != Enforce:
		return driftf("permissions of %s are not as wanted: %s", p, quoteFirst(diffs))
	}
	return repairedf("permissions of %s were not as wanted (%s) and were fixed", p, quoteFirst(diffs))
}
