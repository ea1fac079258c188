// Package packaging turns the bosun binary into operating-system packages. It holds no Go
// code besides its tests; its content is what make package assembles:
//
//   - systemd/: the units bosun-root, bosun-relay (run as the system user bosun, sandboxed)
//     and bosun-agent (runs as root: it manages the machine). None is enabled at install.
//   - debian/: the maintainer scripts (the bosun user, /var/lib/bosun, purge) and the
//     README.Debian installed beside the binary.
//   - build-deb.sh: stages the binary, the units and etc/bosun/*.yaml (conffiles, when
//     present) and runs dpkg-deb --root-owner-group into dist/.
//
// # Tests
//
// The tests build the package and check its control data, file modes, conffiles, units and
// maintainer scripts (syntax, and behaviour under $DPKG_ROOT with stub tools); install it for
// real with dpkg in an overlay over the throw-away Debian root of $BOSUN_TEST_DEBROOT, which
// they never modify, and purge it; and run the linux/arm64 agent's inventory and a technique
// under qemu-user. Each skips, saying why, where its tools are missing.
//
// Nothing imports this package.
package packaging
