#!/usr/bin/env bash
# Cross-compiles bosun: scripts/cross-build.sh OUTDIR TARGET... where TARGET is OS-ARCH with
# Go's names, except armv7 and armv6 (GOARCH=arm with that GOARM). Each binary goes to
# OUTDIR/bosun-$VERSION-TARGET: static (CGO_ENABLED=0; darwin links libSystem, as every
# darwin binary must), -trimpath, with $LDFLAGS (make passes both).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 OUTDIR OS-ARCH..." >&2; exit 2; }
out=$1
shift
: "${VERSION:?set VERSION}" "${LDFLAGS:=-s -w -X main.version=$VERSION}"
mkdir -p "$out"
for target in "$@"; do
	os=${target%%-*} arch=${target#*-} goarm=
	case "$arch" in
	armv7) arch=arm goarm=7 ;;
	armv6) arch=arm goarm=6 ;;
	esac
	case "$os/$arch" in
	linux/amd64 | linux/arm64 | linux/arm | linux/386 | freebsd/amd64 | darwin/arm64) ;;
	*) echo "$0: target '$target' is not one bosun releases (see RELEASE_TARGETS in the Makefile)" >&2; exit 2 ;;
	esac
	echo "  $target" >&2
	env CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" ${goarm:+GOARM=$goarm} \
		"${GO:-go}" build -trimpath -ldflags "$LDFLAGS" -o "$out/bosun-$VERSION-$target" ./cmd/bosun
done
