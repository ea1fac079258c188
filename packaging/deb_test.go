package packaging

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

var units = []string{"bosun-root.service", "bosun-relay.service", "bosun-agent.service"}

// TestDebContents builds the package with two configuration files and checks its control
// fields, every file with its mode and owner, the conffiles and the maintainer scripts.
func TestDebContents(t *testing.T) {
	etc := t.TempDir()
	for _, f := range []string{"agent.yaml", "root.yaml", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(etc, f), []byte("# "+f+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	deb := buildDeb(t, fakeBinary(t), "arm64", "v1.4.0", etc)
	if got, want := filepath.Base(deb), "bosun_1.4.0_arm64.deb"; got != want {
		t.Errorf("package file: got %s, want %s", got, want)
	}
	for field, want := range map[string]string{"Package": "bosun", "Version": "1.4.0", "Architecture": "arm64", "Depends": "passwd"} {
		if got := strings.TrimSpace(must(t, nil, "dpkg-deb", "-f", deb, field)); got != want {
			t.Errorf("control field %s: got %q, want %q", field, got, want)
		}
	}

	// Every entry, as "mode owner path"; --root-owner-group makes every owner root.
	want := []string{
		"drwxr-xr-x root/root ./",
		"drwxr-xr-x root/root ./etc/",
		"drwxr-xr-x root/root ./etc/bosun/",
		"-rw-r--r-- root/root ./etc/bosun/agent.yaml",
		"-rw-r--r-- root/root ./etc/bosun/root.yaml",
		"drwxr-xr-x root/root ./usr/",
		"drwxr-xr-x root/root ./usr/bin/",
		"-rwxr-xr-x root/root ./usr/bin/bosun",
		"drwxr-xr-x root/root ./usr/lib/",
		"drwxr-xr-x root/root ./usr/lib/systemd/",
		"drwxr-xr-x root/root ./usr/lib/systemd/system/",
		"-rw-r--r-- root/root ./usr/lib/systemd/system/bosun-agent.service",
		"-rw-r--r-- root/root ./usr/lib/systemd/system/bosun-relay.service",
		"-rw-r--r-- root/root ./usr/lib/systemd/system/bosun-root.service",
		"drwxr-xr-x root/root ./usr/share/",
		"drwxr-xr-x root/root ./usr/share/doc/",
		"drwxr-xr-x root/root ./usr/share/doc/bosun/",
		"-rw-r--r-- root/root ./usr/share/doc/bosun/README.Debian",
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(must(t, nil, "dpkg-deb", "-c", deb)), "\n") {
		f := strings.Fields(line) // mode owner size date time path
		if len(f) != 6 {
			t.Fatalf("dpkg-deb -c line %q", line)
		}
		got = append(got, f[0]+" "+f[1]+" "+f[5])
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("contents:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}

	ctrl := t.TempDir()
	must(t, nil, "dpkg-deb", "-e", deb, ctrl)
	if b, _ := os.ReadFile(filepath.Join(ctrl, "conffiles")); string(b) != "/etc/bosun/agent.yaml\n/etc/bosun/root.yaml\n" {
		t.Errorf("conffiles: got %q, want the two yaml files", b)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		p := filepath.Join(ctrl, s)
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("maintainer script %s: %v", s, err)
			continue
		}
		if fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: mode %v, want 0755", s, fi.Mode().Perm())
		}
		b, _ := os.ReadFile(p)
		if !strings.HasPrefix(string(b), "#!/bin/sh\n") {
			t.Errorf("%s does not start with #!/bin/sh: dpkg runs it with a POSIX shell", s)
		}
		if r := run(t, nil, "sh", "-n", p); r.code != 0 {
			t.Errorf("sh -n %s: %s", s, r.stderr)
		}
	}
}

// TestDebRepoConffiles builds from the repository's own packaging/etc/bosun: its yaml files,
// however many the branch has (none is fine), are the conffiles.
func TestDebRepoConffiles(t *testing.T) {
	deb := buildDeb(t, fakeBinary(t), "amd64", "1.0", "")
	ctrl := t.TempDir()
	must(t, nil, "dpkg-deb", "-e", deb, ctrl)
	yamls, _ := filepath.Glob("etc/bosun/*.yaml")
	var want string
	for _, y := range yamls {
		want += "/etc/bosun/" + filepath.Base(y) + "\n"
	}
	got, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("conffiles: got %q, want %q (packaging/etc/bosun/*.yaml)", got, want)
	}
	listing := must(t, nil, "dpkg-deb", "-c", deb)
	for _, y := range yamls {
		if !strings.Contains(listing, "./etc/bosun/"+filepath.Base(y)+"\n") {
			t.Errorf("%s is not installed in /etc/bosun", y)
		}
	}
}

// TestDebVersionAndBadInput: git describe's forms become Debian versions; wrong arguments
// get an error that says what is wrong.
func TestDebVersionAndBadInput(t *testing.T) {
	bin := fakeBinary(t)
	for _, c := range []struct{ version, want string }{
		{"v0.9.1", "bosun_0.9.1_amd64.deb"},
		{"713c1af-dirty", "bosun_0~713c1af+dirty_amd64.deb"},
		{"v1.0-3-g713c1af", "bosun_1.0+3+g713c1af_amd64.deb"},
		{"dev", "bosun_0~dev_amd64.deb"},
		{"2606460", "bosun_0~2606460_amd64.deb"},
	} {
		if got := filepath.Base(buildDeb(t, bin, "amd64", c.version, t.TempDir())); got != c.want {
			t.Errorf("version %s: got %s, want %s", c.version, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown architecture", []string{bin, "x86_64", "1.0"}, 2, "want amd64, arm64"},
		{"no binary", []string{filepath.Join(t.TempDir(), "none"), "amd64", "1.0"}, 1, "is not an executable file"},
		{"too few arguments", []string{bin, "amd64"}, 2, "usage:"},
	} {
		r := run(t, nil, append([]string{"./build-deb.sh"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%s: got exit %d %q, want %d and %q", c.name, r.code, r.stderr, c.code, c.msg)
		}
	}
}

// TestUnits checks the keys each unit must have: the command line, the user, restarts, the
// journal, and the sandbox of the roles that run as the bosun user.
func TestUnits(t *testing.T) {
	for _, name := range units {
		t.Run(name, func(t *testing.T) {
			u := parseUnit(t, filepath.Join("systemd", name))
			role := strings.TrimSuffix(strings.TrimPrefix(name, "bosun-"), ".service")
			want := map[string]string{
				"ExecStart":                "/usr/bin/bosun " + role + " --config /etc/bosun/" + role + ".yaml",
				"Type":                     "simple",
				"Restart":                  "on-failure",
				"RestartPreventExitStatus": "2",
				"StandardOutput":           "journal",
				"StandardError":            "journal",
				"StateDirectory":           "bosun/" + role,
				"StateDirectoryMode":       "0700",
			}
			if role == "agent" {
				want["User"] = "root"
				want["KillMode"] = "process"
			} else {
				for k, v := range map[string]string{"User": "bosun", "Group": "bosun", "NoNewPrivileges": "yes",
					"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "",
					"WorkingDirectory": "/var/lib/bosun/" + role, "SystemCallFilter": "@system-service", "SystemCallErrorNumber": "EPERM"} {
					want[k] = v
				}
			}
			for k, v := range want {
				if _, ok := u["Service"][k]; !ok {
					t.Errorf("[Service] %s missing, want %q", k, v)
				} else if got := u.get("Service", k); got != v {
					t.Errorf("[Service] %s: got %q, want %q", k, got, v)
				}
			}
			if role == "agent" && u.get("Service", "ProtectSystem") != "" {
				t.Error("the agent is sandboxed: it could not manage the machine")
			}
			if got := u.get("Install", "WantedBy"); got != "multi-user.target" {
				t.Errorf("[Install] WantedBy: got %q", got)
			}
			if u.get("Unit", "Description") == "" || u.get("Unit", "After") != "network-online.target" {
				t.Errorf("[Unit]: got %v, want a Description and After=network-online.target", u["Unit"])
			}
		})
	}
	files, _ := filepath.Glob("systemd/*")
	if len(files) != len(units) {
		t.Errorf("systemd/ holds %v, want exactly %v", files, units)
	}
}

// TestUnitsVerify has systemd check the units offline: unknown keys, bad values and
// sandboxing options it does not know all print a warning, which fails the test.
func TestUnitsVerify(t *testing.T) {
	sa := needTool(t, "systemd-analyze", "it checks the units (apt-get install systemd)")
	dir := t.TempDir()
	bin := fakeBinary(t)
	args := []string{sa, "verify", "--man=no"}
	for _, name := range units {
		b, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		// verify wants the program to exist; the test's stand-in does.
		s := strings.ReplaceAll(string(b), "/usr/bin/bosun", bin)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, filepath.Join(dir, name))
	}
	r := run(t, nil, args...)
	if r.code != 0 || strings.TrimSpace(r.stderr+r.stdout) != "" {
		t.Errorf("systemd-analyze verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
