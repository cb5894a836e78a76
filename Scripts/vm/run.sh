#!/usr/bin/env bash
# Boots the IPVS lab VM (Debian's stock kernel under virtme-ng, host root file system shared in),
# runs one shell command inside it from the current directory, prints its output and exits with
# its status. vng's own exit status is unreliable, so the guest writes the status to a shared folder.
#
#   Scripts/vm/run.sh 'ipvsadm -Ln'
#   VM_MEM=2G VM_TIMEOUT=1800 Scripts/vm/run.sh \
#     '.build/debug/VigilPackageTests.xctest --testing-library swift-testing --filter IPVSKernelTests'
# Run test binaries directly: `swift test` inside the guest spends many minutes loading manifests.
# VM_STREAM=1 prints the command's output as it runs (make demo) instead of once it has finished.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 'COMMAND'" >&2; exit 2; }
cmd="$1"
kernel=$(ls /var/lib/vigil/kernel/vmlinuz-* 2>/dev/null | head -n1 || true)
[ -n "$kernel" ] || { echo "vm: no lab kernel in /var/lib/vigil/kernel: run 'make setup'" >&2; exit 2; }
command -v vng >/dev/null || { echo "vm: virtme-ng (vng) is not installed: run 'make setup'" >&2; exit 2; }

share=$(mktemp -d /tmp/vigil-vm.XXXXXX)
# vng starts qemu in a process group of its own: find it by the shared folder on its command line.
cleanup() { pkill -f -- "$share" 2>/dev/null || true; rm -rf "$share"; }
trap cleanup EXIT INT TERM
cwd=$(pwd)
cat > "$share/guest.sh" <<GUEST
#!/bin/bash
export PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root VIGIL_LAB=vm NO_COLOR=1
cd "$cwd"
for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh \
         ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_twos ip_vs_ftp ip_vs_pe_sip; do
  modprobe \$m 2>/dev/null || true
done
ip link set lo up
( $cmd ) > "$share/out" 2>&1
echo \$? > "$share/rc"
GUEST
chmod +x "$share/guest.sh"
# VM_APPEND: extra kernel command-line options, e.g. VM_APPEND="clocksource=tsc tsc=reliable".
append=()
for opt in ${VM_APPEND:-}; do append+=(--append "$opt"); done
tailer=
if [ -n "${VM_STREAM:-}" ]; then
  : > "$share/out"
  tail -n +1 -F "$share/out" 2>/dev/null &
  tailer=$!
fi
timeout "${VM_TIMEOUT:-1800}" vng -r "$kernel" --disable-kvm -m "${VM_MEM:-2G}" --cpus 2 "${append[@]}" \
  --rwdir "$share" --rwdir "$cwd" --rwdir /tmp --exec "$share/guest.sh" > "$share/console" 2>&1 || true
if [ ! -f "$share/rc" ]; then
  echo "vm: the guest did not finish; console output follows" >&2
  tail -n 40 "$share/console" >&2
  exit 3
fi
if [ -n "$tailer" ]; then
  sleep 1
  kill "$tailer" 2>/dev/null || true
else
  cat "$share/out"
fi
exit "$(cat "$share/rc")"
