#!/usr/bin/env bash
# Installs every system dependency Vigil's build and tests need on a fresh Debian machine.
# Idempotent: each step checks whether its result is already there.
set -euo pipefail

need_apt=()
for pkg in pkg-config libnl-3-dev libnl-genl-3-dev libnl-route-3-dev libpcre2-dev kmod qemu-system-x86 \
           keepalived ipvsadm iproute2 tshark busybox-static python3-pip openssl procps psmisc curl chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if ((${#need_apt[@]})); then
  echo "setup: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# keepalived must not run as a system service on a lab machine: tests start their own.
systemctl disable --now keepalived >/dev/null 2>&1 || true
pkill -x keepalived 2>/dev/null || true

# The status server's tests read it as users' tools do: a JSON Schema validator, Prometheus's parser.
if ! python3 -c 'import jsonschema, prometheus_client' 2>/dev/null; then
  echo "setup: pip install jsonschema prometheus_client"
  pip install -q jsonschema prometheus_client
fi

if ! command -v vng >/dev/null 2>&1; then
  echo "setup: pip install virtme-ng"
  pip install -q virtme-ng
fi

# Debian's stock kernel, which ships the ip_vs modules, for the IPVS test VM.
kdir=/var/lib/vigil/kernel
if ! ls "$kdir"/vmlinuz-* >/dev/null 2>&1; then
  echo "setup: fetching Debian's stock kernel for the IPVS lab"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  [ -n "$(ls /var/lib/apt/lists 2>/dev/null | grep -v lock)" ] || apt-get update -qq
  meta=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  chmod 777 "$tmp"
  (cd "$tmp" && apt-get download -qq "$meta" 2>/dev/null)
  dpkg-deb -x "$tmp"/"$meta"_*.deb "$tmp/root"
  ver=$(ls "$tmp/root/lib/modules" | head -n1)
  mkdir -p "$kdir"
  mkdir -p /lib/modules
  rm -rf "/lib/modules/$ver"
  cp -a "$tmp/root/lib/modules/$ver" /lib/modules/
  depmod "$ver"
  cp "$tmp/root/boot/vmlinuz-$ver" "$kdir/vmlinuz-$ver.tmp"
  mv "$kdir/vmlinuz-$ver.tmp" "$kdir/vmlinuz-$ver"
fi
echo "setup: done (kernel: $(ls "$kdir"))"
