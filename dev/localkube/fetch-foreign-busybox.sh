#!/usr/bin/env bash
# Fetch Debian's busybox-static for another architecture (default arm64) from the mirror this
# machine already uses, without adding a dpkg architecture: apt runs with a private state, cache
# and lists directory and only that architecture. Prints the path of the static busybox binary.
#   $CACHE/foreign/<arch>/busybox-static_<version>_<arch>.deb   kept, keyed by version
#   $CACHE/foreign/<arch>/<version>/bin/busybox                 extracted
# The multi-arch end-to-end test builds its two-platform base image from it (tests/e2e/multiarch_base.py).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARCH="${1:-arm64}"
case "$ARCH" in arm64|armhf|armel|i386|ppc64el|s390x|riscv64|mips64el) ;; *) die "unknown Debian architecture: $ARCH" ;; esac
DIR="$CACHE/foreign/$ARCH"
mkdir -p "$DIR"

# A version already fetched is used as is: no network on a warm machine.
cached=$(ls "$DIR"/busybox-static_*_"$ARCH".deb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$cached" ]; then
  APT="$DIR/apt"
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial"
  touch "$APT/status"
  opts=(-o "APT::Architecture=$ARCH" -o "APT::Architectures=$ARCH"
    -o "Dir::State=$APT" -o "Dir::State::Lists=$APT/lists" -o "Dir::State::status=$APT/status"
    -o "Dir::Cache=$APT/cache" -o "Debug::NoLocking=1")
  log "fetching busybox-static:$ARCH from the configured Debian mirror (private apt state in $APT)"
  apt-get "${opts[@]}" update >"$DIR/apt-update.log" 2>&1 || { tail -20 "$DIR/apt-update.log" >&2; die "apt-get update ($ARCH) failed"; }
  (cd "$DIR" && apt-get "${opts[@]}" download "busybox-static:$ARCH" >"$DIR/apt-download.log" 2>&1) \
    || { tail -20 "$DIR/apt-download.log" >&2; die "apt-get download busybox-static:$ARCH failed"; }
  rm -rf "$APT"
  cached=$(ls "$DIR"/busybox-static_*_"$ARCH".deb | sort -V | tail -n 1)
  # apt names the file with the epoch's ':' escaped as %3a; keep the name apt gave it.
fi
version=$(dpkg-deb -f "$cached" Version)
[ "$(dpkg-deb -f "$cached" Architecture)" = "$ARCH" ] || die "$cached is not for $ARCH"
out="$DIR/${version//:/_}"
if [ ! -x "$out/bin/busybox" ]; then
  rm -rf "$out.tmp"
  mkdir -p "$out.tmp"
  dpkg-deb -x "$cached" "$out.tmp/root"
  mkdir -p "$out.tmp/bin"
  mv "$out.tmp/root/bin/busybox" "$out.tmp/bin/busybox"
  rm -rf "$out.tmp/root" "$out"
  mv "$out.tmp" "$out"
  log "busybox-static $version ($ARCH) extracted to $out/bin/busybox"
fi
echo "$out/bin/busybox"
