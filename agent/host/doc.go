// Package host is the agent's access to the parts of a machine that generic methods change and
// that the standard library does not reach by itself: packages, services, accounts, kernel
// parameters, kernel modules and commands.
//
// Each concern is a small interface ([Packages], [Services], [Users], [Groups], [Sysctl],
// [KernelModules], [Commands]) with one real Linux backend beside it, so that
// agent/method can be tested against a recorded fake where nothing real can run, and so that
// another OS family only adds backends. [Detect] picks the backends of the running machine and
// returns them as a [Set].
//
// Files are not here: agent/method reads and writes them directly with package os, under the
// run's root prefix.
//
// # Backends
//
//   - Packages: dpkg-query/apt-get on Debian and Ubuntu, rpm/dnf (or yum) on RHEL-like systems,
//     apk on Alpine; whichever tool is installed, in that order.
//   - Services: systemd through systemctl. Without a running systemd (no /run/systemd/system)
//     every service call returns [ErrNotApplicable].
//   - Users and groups: getent to read (so NSS sources count), the shadow tools (useradd,
//     usermod, userdel, groupadd, groupdel) to change. With a prefix set, both read and write
//     the account files under that prefix instead (the tools' --prefix option): tests only.
//   - Sysctl: /proc/sys; kernel modules: /proc/modules and modprobe.
//   - Commands: exec without a shell unless the caller asks for one, with a timeout that kills
//     the whole process group and a bound on the output kept.
//   - Other platforms (FreeBSD, macOS): commands only; every other backend is [Unsupported],
//     whose errors name the platform and wrap [ErrNotApplicable]. agent/method says which
//     methods need what, and reports them not applicable there before reaching a backend.
//
// # Caveats
//
// Every backend call that runs a tool blocks; all take a context and honour its deadline.
// The rpm/dnf and apk backends follow the tools' documented output formats but are not
// exercised by this package's tests, which run on Debian.
//
// This package imports only the standard library and must not import any other bosun package:
// it sits below agent/method, its only user.
package host
