#!/usr/bin/env bash
# Proves the packaged binaries run without the Swift toolchain: in the bare Debian root of
# build-chroot.sh (checked to hold no Swift runtime) it runs `vigil -t` on a fixture, `ipvsctl --help`,
# installs the .deb with `dpkg --root`, runs the installed binaries, then purges the package again.
# With a network namespace it also starts the installed daemon (VRRP half on a veth pair the
# script makes and deletes) and reads /healthz from its status server.
# Exit 0: all passed; 77: no chroot or no package built (the reason is printed); else: failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=${VIGIL_CHROOT:-.package-cache/bookworm-minbase}
DIST=${DIST:-dist}
DEB=$(ls "$DIST"/vigil_*.deb 2>/dev/null | tail -1 || true)
if [ ! -x "$ROOT/usr/bin/dpkg" ]; then
    echo "check-chroot: skipped: no Debian root at $ROOT (run Scripts/package/build-chroot.sh)"
    exit 77
fi
if [ -z "$DEB" ] || [ ! -x "$DIST/root/usr/sbin/vigil" ]; then
    echo "check-chroot: skipped: no package in $DIST (run make package)"
    exit 77
fi
fail() { echo "check-chroot: FAILED: $*"; exit 1; }
# chroot with /proc mounted in a private mount namespace (gone when the command ends): the static
# Swift runtime reads the command line from /proc/self/cmdline, as every real host and container has it.
in_root() { unshare --mount --propagation private sh -c 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$ROOT" "$@"; }
step() { echo "check-chroot: $*"; }

for dir in /opt/swift /usr/lib/swift /usr/share/swift; do
    [ ! -e "$ROOT$dir" ] || fail "$ROOT$dir exists: the root is meant to have no Swift"
done
if find "$ROOT/usr" -name 'libswiftCore.so*' | grep -q .; then fail "a Swift runtime is in $ROOT"; fi
step "no Swift runtime in $ROOT"

STAGE=$ROOT/tmp/vigil-check
NS=vigil-chroot-$$
cleanup() {
    if [ -n "${DAEMON:-}" ]; then kill "$DAEMON" 2>/dev/null || true; wait "$DAEMON" 2>/dev/null || true; fi
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$STAGE"
    dpkg --root="$ROOT" --purge vigil >/dev/null 2>&1 || true
}
trap cleanup EXIT
rm -rf "$STAGE"; mkdir -p "$STAGE"
cp "$DIST/root/usr/sbin/vigil" "$DIST/root/usr/sbin/ipvsctl" "$STAGE/"
cp Fixtures/config/seeds/001-sealos-master.conf "$STAGE/keepalived.conf"

out=$(chroot "$ROOT" /tmp/vigil-check/vigil -t -f /tmp/vigil-check/keepalived.conf 2>&1) && fail "without /proc, vigil ran anyway: $out"
echo "$out" | grep -q "mount /proc" || fail "without /proc, vigil did not say why it stopped: $out"
step "without /proc: vigil refuses with: $out"
in_root /tmp/vigil-check/vigil -t -f /tmp/vigil-check/keepalived.conf || fail "vigil -t in the chroot"
step "vigil -t -f <sealos fixture>: ok without Swift"
in_root /tmp/vigil-check/ipvsctl --help >/dev/null || fail "ipvsctl --help in the chroot"
step "ipvsctl --help: ok without Swift"

dpkg --root="$ROOT" -i "$DEB" || fail "dpkg --root -i $DEB"
[ -x "$ROOT/usr/sbin/vigil" ] && [ -x "$ROOT/usr/sbin/ipvsctl" ] || fail "binaries not installed"
[ "$(readlink "$ROOT/etc/alternatives/ipvsadm")" = /usr/sbin/ipvsctl ] || fail "ipvsadm alternative not set"
[ -s "$ROOT/etc/keepalived/keepalived.conf" ] || fail "no default /etc/keepalived/keepalived.conf"
in_root /usr/sbin/vigil -t || fail "installed vigil -t on the default configuration"
in_root /usr/sbin/ipvsadm -h > "$STAGE/ipvsadm-h.txt" 2>&1 || true
grep -qE "Usage:|Can.t initialize ipvs" "$STAGE/ipvsadm-h.txt" || { cat "$STAGE/ipvsadm-h.txt"; fail "ipvsadm (the alternative) does not run"; }
step "dpkg --root -i: installed; /usr/sbin/vigil -t on the default config and ipvsadm -> ipvsctl run"

if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns add "$NS" 2>/dev/null; then
    ip -n "$NS" link set lo up
    ip -n "$NS" link add vc0 type veth peer name vc1
    ip -n "$NS" addr add 192.0.2.1/24 dev vc0
    ip -n "$NS" link set vc0 up; ip -n "$NS" link set vc1 up
    cat > "$STAGE/vrrp.conf" <<'CONF'
vrrp_instance VI_CHROOT {
    state MASTER
    interface vc0
    virtual_router_id 77
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.200/32
    }
}
CONF
    ip netns exec "$NS" unshare --mount --propagation private sh -c 'mount -t proc proc "$0/proc" && mount --rbind /sys "$0/sys" && exec chroot "$0" "$@"' "$ROOT" /usr/sbin/vigil -n -l -P -f /tmp/vigil-check/vrrp.conf \
        --control-socket none --status-address 127.0.0.1:9901 > "$STAGE/daemon.log" 2>&1 &
    DAEMON=$!
    ok=
    for _ in $(seq 1 50); do
        if ip netns exec "$NS" curl -fs -m 1 http://127.0.0.1:9901/healthz >/dev/null 2>&1 \
           && ip -n "$NS" addr show vc0 | grep -q 192.0.2.200; then ok=1; break; fi
        sleep 0.2
    done
    [ -n "$ok" ] || { cat "$STAGE/daemon.log"; fail "the installed daemon did not serve /healthz and take the VIP"; }
    step "installed daemon (VRRP half) in the chroot: /healthz 200, VIP 192.0.2.200 on vc0"
else
    step "daemon start not checked: needs root and ip netns"
fi

dpkg --root="$ROOT" --purge vigil || fail "dpkg --purge"
[ ! -e "$ROOT/usr/sbin/vigil" ] && [ ! -e "$ROOT/usr/sbin/ipvsadm" ] || fail "purge left binaries behind"
step "dpkg --purge: binaries and the ipvsadm alternative removed"
echo "check-chroot: all checks passed"
