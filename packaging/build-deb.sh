#!/usr/bin/env bash
# Assembles the bosun .deb from a built binary: packaging/build-deb.sh BINARY DEB-ARCH VERSION [OUTDIR]
#   BINARY    a linux bosun binary built for DEB-ARCH (make package builds them)
#   DEB-ARCH  Debian's name of its architecture: amd64, arm64, armhf, armel, i386
#   VERSION   bosun's version (git describe); made into a Debian version
#   OUTDIR    where the .deb goes (default dist); the script prints its path
# The configuration files are packaging/etc/bosun/*.yaml (BOSUN_PKG_ETC names another
# directory: tests only), installed in /etc/bosun as conffiles; there may be none.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage() { echo "usage: $0 BINARY DEB-ARCH VERSION [OUTDIR]" >&2; exit 2; }
[ $# -ge 3 ] && [ $# -le 4 ] || usage
bin=$1 arch=$2 version=$3 out=${4:-dist}
etc=${BOSUN_PKG_ETC:-$here/etc/bosun}

[ -f "$bin" ] && [ -x "$bin" ] || { echo "$0: $bin is not an executable file" >&2; exit 1; }
case "$arch" in
amd64 | arm64 | armhf | armel | i386) ;;
*) echo "$0: architecture '$arch': want amd64, arm64, armhf, armel or i386" >&2; exit 2 ;;
esac
command -v dpkg-deb >/dev/null || { echo "$0: dpkg-deb not found (apt-get install dpkg)" >&2; exit 1; }

# A Debian version holds only [A-Za-z0-9.+~] (anything else becomes +) and starts with a
# digit. A release (v1.2.0, v1.2.0-3-g713c1af) keeps its number; a bare commit (713c1af-dirty,
# what git describe says before the first tag) sorts below every release: 0~713c1af+dirty.
debversion=$(printf '%s' "${version#v}" | tr -c 'A-Za-z0-9.+~' '+')
case "$debversion" in
[0-9]*.[0-9]*) ;;
*) debversion="0~$debversion" ;;
esac

stage=$(mktemp -d -t bosun-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage" # mktemp made it 0700, and it becomes /
install -D -m 0755 "$bin" "$stage/usr/bin/bosun"
for unit in "$here"/systemd/*.service; do
	install -D -m 0644 "$unit" "$stage/usr/lib/systemd/system/$(basename "$unit")"
done
install -D -m 0644 "$here/debian/README.Debian" "$stage/usr/share/doc/bosun/README.Debian"
install -d -m 0755 "$stage/etc/bosun" "$stage/DEBIAN"
: >"$stage/DEBIAN/conffiles"
for conf in "$etc"/*.yaml; do
	[ -e "$conf" ] || continue # an empty glob
	install -m 0644 "$conf" "$stage/etc/bosun/$(basename "$conf")"
	echo "/etc/bosun/$(basename "$conf")" >>"$stage/DEBIAN/conffiles"
done
[ -s "$stage/DEBIAN/conffiles" ] || rm "$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
	install -m 0755 "$here/debian/$script" "$stage/DEBIAN/$script"
done
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: bosun
Version: $debversion
Architecture: $arch
Maintainer: bosun maintainers <maintainers@bosun.invalid>
Installed-Size: $size
Depends: passwd
Section: admin
Priority: optional
Homepage: https://github.com/bosun-io/bosun
Description: configuration management and continuous compliance for fleets
 One static binary with three roles: bosun root (registry, policies, compliance, the
 operator API), bosun relay (store and forward for a zone) and bosun agent (inventory,
 policy runs in audit or enforce, reports), plus the operator CLI. The package installs
 the systemd units bosun-root, bosun-relay and bosun-agent and enables none of them:
 the operator picks the role of each machine.
CONTROL
mkdir -p "$out"
deb="$out/bosun_${debversion}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
