#!/usr/bin/env bash
# Builds the bare Debian root Scripts/package/check-chroot.sh runs Vigil in: debootstrap's minbase
# variant of this host's suite (no Swift anywhere) plus the libnl libraries the .deb depends on.
# Cached under .package-cache/ (gitignored); delete that directory to rebuild.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=${VIGIL_CHROOT:-.package-cache/bookworm-minbase}
. /etc/os-release
SUITE=${SUITE:-${VERSION_CODENAME:-bookworm}}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
if [ -x "$ROOT/usr/bin/dpkg" ] && [ -e "$ROOT/usr/lib/x86_64-linux-gnu/libnl-genl-3.so.200" ]; then
    echo "build-chroot: $ROOT exists"
    exit 0
fi
command -v debootstrap >/dev/null || apt-get install -y debootstrap
mkdir -p "$(dirname "$ROOT")"
rm -rf "$ROOT.tmp"
debootstrap --variant=minbase "$SUITE" "$ROOT.tmp" "$MIRROR"
cp /etc/resolv.conf "$ROOT.tmp/etc/resolv.conf"
chroot "$ROOT.tmp" apt-get update -q
chroot "$ROOT.tmp" apt-get install -y -q --no-install-recommends libnl-3-200 libnl-genl-3-200 libnl-route-3-200
chroot "$ROOT.tmp" apt-get clean
mv "$ROOT.tmp" "$ROOT"
echo "build-chroot: $ROOT built ($SUITE from $MIRROR)"
