#!/usr/bin/env bash
# `make package`: release vigil and ipvsctl with the Swift runtime linked statically, stripped, man
# pages from their --help texts, and dist/vigil_VERSION_ARCH.deb built by dpkg-deb (Docs/packaging.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFT=${SWIFT:-swift}
SCRATCH=${SCRATCH:-.build-package}
DIST=${DIST:-dist}
VERSION=${VERSION:-0.6}
ARCH=$(dpkg --print-architecture)

$SWIFT build -c release --static-swift-stdlib --product vigil --scratch-path "$SCRATCH"
$SWIFT build -c release --static-swift-stdlib --product ipvsctl --scratch-path "$SCRATCH"
BIN=$($SWIFT build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --show-bin-path)

ROOT=$DIST/root
rm -rf "$ROOT"
install -d "$ROOT/DEBIAN" "$ROOT/usr/sbin" "$ROOT/lib/systemd/system" "$ROOT/etc/default" \
    "$ROOT/usr/share/doc/vigil/examples" "$ROOT/usr/share/man/man8"
for b in vigil ipvsctl; do
    install -m 0755 "$BIN/$b" "$ROOT/usr/sbin/$b"
    strip --strip-all "$ROOT/usr/sbin/$b"
done
if ldd "$ROOT/usr/sbin/vigil" | grep -q libswift; then
    echo "build-deb: vigil still links a shared Swift runtime" >&2
    exit 1
fi
install -m 0644 Packaging/systemd/vigil.service "$ROOT/lib/systemd/system/vigil.service"
install -m 0644 Packaging/debian/default "$ROOT/etc/default/vigil"
install -m 0644 Packaging/debian/keepalived.conf "$ROOT/usr/share/doc/vigil/examples/keepalived.conf"
install -m 0644 README.md "$ROOT/usr/share/doc/vigil/README.md"
for d in doctor packaging daemon ipvsctl configuration; do
    [ -f "Docs/$d.md" ] && install -m 0644 "Docs/$d.md" "$ROOT/usr/share/doc/vigil/$d.md"
done
for s in postinst prerm postrm; do install -m 0755 "Packaging/debian/$s" "$ROOT/DEBIAN/$s"; done
echo /etc/default/vigil > "$ROOT/DEBIAN/conffiles"

# Man pages from the --help texts (help2man; `vigil -v` gives the version line).
help2man --no-info --section 8 --no-discard-stderr --name "IPVS load balancing and VRRP from keepalived.conf" \
    --version-string "$VERSION" "$ROOT/usr/sbin/vigil" | gzip -9n > "$ROOT/usr/share/man/man8/vigil.8.gz"
help2man --no-info --section 8 --no-discard-stderr --name "inspect and edit the kernel's IPVS tables (ipvsadm-compatible)" \
    --version-string "$VERSION" "$ROOT/usr/sbin/ipvsctl" | gzip -9n > "$ROOT/usr/share/man/man8/ipvsctl.8.gz"

WRAP=$(mktemp -d)
printf '#!/bin/sh\nexec "%s" doctor "$@"\n' "$PWD/$ROOT/usr/sbin/vigil" > "$WRAP/vigil-doctor"
chmod +x "$WRAP/vigil-doctor"
help2man --no-info --section 8 --no-discard-stderr --name "check this host for a keepalived.conf before running vigil" \
    --version-string "$VERSION" "$WRAP/vigil-doctor" | gzip -9n > "$ROOT/usr/share/man/man8/vigil-doctor.8.gz"
rm -rf "$WRAP"

SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: vigil
Version: $VERSION
Architecture: $ARCH
Maintainer: Vigil developers <vigil@example.invalid>
Section: net
Priority: optional
Installed-Size: $SIZE
Depends: libc6 (>= 2.34), libstdc++6, libgcc-s1, libnl-3-200, libnl-genl-3-200, libnl-route-3-200
Recommends: kmod, iproute2
Description: Layer-4 load balancer controller configured by keepalived.conf
 Vigil programs IPVS over generic netlink, health-checks real servers, adjusts weights, falls back
 to a sorry server and holds the VIP with VRRP, reading keepalived.conf. ipvsctl inspects and edits
 the IPVS tables and, invoked as ipvsadm, takes ipvsadm's command line.
CONTROL
# The Swift runtime is linked in: no Swift package is needed.
DEB=$DIST/vigil_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group --build "$ROOT" "$DEB" >/dev/null
echo "build-deb: $DEB ($(du -k "$DEB" | cut -f1) KiB)"
for b in vigil ipvsctl; do echo "build-deb: /usr/sbin/$b $(stat -c %s "$ROOT/usr/sbin/$b") bytes (stripped, static Swift runtime)"; done
dpkg-deb --contents "$DEB"
