package host

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Accounts is the Users and Groups backend: getent reads, the shadow tools change.
type Accounts struct {
	Commands Commands
	// Prefix, when set, makes every read and change use the account files under it (the shadow
	// tools' --prefix): for tests in a throw-away /etc, never in production.
	Prefix string
}

var (
	_ Users  = (*Accounts)(nil)
	_ Groups = (*Accounts)(nil)
)

// entries returns the lines of a passwd or group database whose first field is key, or every
// line when key is empty.
func (a *Accounts) entries(ctx context.Context, db, key string) ([][]string, error) {
	var data []byte
	if a.Prefix != "" {
		b, err := os.ReadFile(filepath.Join(a.Prefix, "etc", db))
		if err != nil {
			return nil, err
		}
		data = b
	} else {
		argv := []string{"getent", db}
		if key != "" {
			argv = append(argv, key)
		}
		res, err := a.Commands.Run(ctx, Cmd{Argv: argv})
		if err != nil {
			return nil, err
		}
		switch res.ExitCode {
		case 0:
			data = res.Output
		case 2: // not found
			return nil, nil
		default:
			return nil, fmt.Errorf("getent %s: exit code %d", db, res.ExitCode)
		}
	}
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || (key != "" && f[0] != key) {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// User implements Users.
func (a *Accounts) User(ctx context.Context, login string) (User, bool, error) {
	pw, err := a.entries(ctx, "passwd", login)
	if err != nil {
		return User{}, false, fmt.Errorf("look up user %s: %w", login, err)
	}
	if len(pw) == 0 || len(pw[0]) < 7 {
		return User{}, false, nil
	}
	f := pw[0]
	u := User{Login: f[0], Home: f[5], Shell: f[6]}
	u.UID, _ = strconv.Atoi(f[2])
	u.GID, _ = strconv.Atoi(f[3])
	groups, err := a.entries(ctx, "group", "")
	if err != nil {
		return User{}, false, fmt.Errorf("look up groups of user %s: %w", login, err)
	}
	for _, g := range groups {
		if g[2] == f[3] {
			u.Groups = append(u.Groups, g[0])
			continue
		}
		for _, m := range strings.Split(g[3], ",") {
			if m == login {
				u.Groups = append(u.Groups, g[0])
				break
			}
		}
	}
	return u, true, nil
}

func (a *Accounts) shadow(ctx context.Context, tool string, args ...string) error {
	argv := []string{tool}
	if a.Prefix != "" {
		argv = append(argv, "--prefix", a.Prefix)
	}
	_, err := run(ctx, a.Commands, []string{"LC_ALL=C"}, append(argv, args...)...)
	return err
}

// AddUser implements Users. Like useradd by default, and like Rudder's user_present, it creates
// no home directory.
func (a *Accounts) AddUser(ctx context.Context, login string) error {
	if err := a.shadow(ctx, "useradd", "--", login); err != nil {
		return fmt.Errorf("add user %s: %w", login, err)
	}
	return nil
}

// ModifyUser implements Users.
func (a *Accounts) ModifyUser(ctx context.Context, login string, ch UserChange) error {
	var args []string
	if ch.Shell != "" {
		args = append(args, "-s", ch.Shell)
	}
	if ch.Home != "" {
		args = append(args, "-d", ch.Home)
	}
	if ch.AddGroup != "" {
		args = append(args, "-a", "-G", ch.AddGroup)
	}
	if len(args) == 0 {
		return nil
	}
	if err := a.shadow(ctx, "usermod", append(args, "--", login)...); err != nil {
		return fmt.Errorf("modify user %s: %w", login, err)
	}
	return nil
}

// DeleteUser implements Users. The home directory is kept, as userdel does by default.
func (a *Accounts) DeleteUser(ctx context.Context, login string) error {
	if err := a.shadow(ctx, "userdel", "--", login); err != nil {
		return fmt.Errorf("delete user %s: %w", login, err)
	}
	return nil
}

// Group implements Groups.
func (a *Accounts) Group(ctx context.Context, name string) (Group, bool, error) {
	gr, err := a.entries(ctx, "group", name)
	if err != nil {
		return Group{}, false, fmt.Errorf("look up group %s: %w", name, err)
	}
	if len(gr) == 0 {
		return Group{}, false, nil
	}
	g := Group{Name: gr[0][0]}
	g.GID, _ = strconv.Atoi(gr[0][2])
	if gr[0][3] != "" {
		g.Members = strings.Split(gr[0][3], ",")
	}
	return g, true, nil
}

// AddGroup implements Groups.
func (a *Accounts) AddGroup(ctx context.Context, name string) error {
	if err := a.shadow(ctx, "groupadd", "--", name); err != nil {
		return fmt.Errorf("add group %s: %w", name, err)
	}
	return nil
}

// DeleteGroup implements Groups.
func (a *Accounts) DeleteGroup(ctx context.Context, name string) error {
	if err := a.shadow(ctx, "groupdel", "--", name); err != nil {
		return fmt.Errorf("delete group %s: %w", name, err)
	}
	return nil
}
