#!/usr/bin/env bash
# Makes the throw-away Debian root the real-apt test installs and removes packages in
# (agent/method TestPackagesRealApt), once: debootstrap's minimal bookworm, about 200 MB and
# half a minute. Prints the root's path; prints nothing and exits 0 where it cannot be made
# (not root, no network to Debian's mirror), and the test then says why it skips.
set -u
dir=${BOSUN_DEBROOT:-/var/cache/bosun-test/debroot}
if [ -x "$dir/usr/bin/apt-get" ]; then echo "$dir"; exit 0; fi
[ "$(id -u)" = 0 ] || exit 0
if ! command -v debootstrap >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || exit 0
  apt-get install -y -q debootstrap >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q debootstrap >/dev/null 2>&1; } || exit 0
fi
mkdir -p "$(dirname "$dir")"
if debootstrap --variant=minbase bookworm "$dir.tmp" http://deb.debian.org/debian >"$dir.log" 2>&1; then
  mv "$dir.tmp" "$dir" && echo "$dir"
else
  rm -rf "$dir.tmp"
fi
exit 0
