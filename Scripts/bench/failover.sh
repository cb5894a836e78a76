#!/usr/bin/env bash
# make bench-failover: VRRP failover time, Vigil vs keepalived, same configuration, same run.
#
# Lab: namespaces on one bridge (Scripts/netns/lab.sh); node 1 = master (priority 200), node 2 =
# backup (priority 100), node 0 = observer running tshark. For each run both nodes start fresh,
# the master is elected, then the master is stopped:
#   kill   SIGKILL of the master (every process in its namespace)
#   stop   SIGTERM of the master (graceful: priority 0 advertisement)
# Measured on the observer's capture: from the master's last advertisement to the backup's first
# gratuitous ARP for the VIP (the backup adds the VIP before it sends GARP), and from the kill
# itself. The RFC's Master_Down_Interval counts from the last advertisement heard. "Last" is the
# master's last advertisement the observer saw before that GARP, not its last one before the shell
# read the clock: the signal lands a few ms later (longer on a loaded machine: `ip netns pids`,
# fork, exec), and with advert_int 0.05 the master still sends one or two adverts meanwhile, which
# used to add 50-100 ms "outliers" to both implementations' p99.
# Usage: RUNS=10 FAST_RUNS=30 Scripts/bench/failover.sh   (needs root, iproute2, tshark, keepalived)
# RUNS applies to advert_int >= 1, FAST_RUNS to shorter intervals (cheap runs: a p99 over more
# samples); both implementations always get the same number of runs in the same bench.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-10}
FAST_RUNS=${FAST_RUNS:-30}
VIGIL=${VIGIL:-.build/release/vigil}
[[ -x $VIGIL ]] || VIGIL=.build/debug/vigil
[[ -x $VIGIL ]] || { echo "build vigil first (swift build -c release)" >&2; exit 1; }
command -v keepalived >/dev/null || { echo "keepalived not installed (make setup)" >&2; exit 1; }
command -v tshark >/dev/null || { echo "tshark not installed (make setup)" >&2; exit 1; }
source Scripts/netns/lab.sh

P=vbf$$
DIR=$(mktemp -d /tmp/vigil-bench.XXXXXX)
VIP=192.0.2.100
cleanup() {
    lab_down "$P"
    [[ -n ${KEEP:-} ]] && echo "kept $DIR" >&2 || rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

lab_up "$P" 2 || exit 1
MAC1=$(ip -n "${P}n1" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
MAC2=$(ip -n "${P}n2" -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)

# One capture for the whole bench: epoch, source MAC, ARP sender IP (empty for VRRP).
ip netns exec "${P}n0" tshark -i eth0 -n -l -f "arp or ip proto 112" \
    -T fields -e frame.time_epoch -e eth.src -e arp.src.proto_ipv4 > "$DIR/capture" 2>/dev/null &
disown
for _ in $(seq 50); do [[ -s $DIR/capture ]] && break; ip netns exec "${P}n1" ping -c1 -W0.1 192.0.2.12 >/dev/null 2>&1; sleep 0.1; done
sleep 1

config() { # version advert priority
    cat <<EOF
global_defs {
    router_id bench
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $3
    advert_int $2
    version $1
    garp_master_delay 0
    virtual_ipaddress {
        $VIP/32
    }
}
EOF
}

start_node() { # impl node version advert priority tag
    local impl=$1 n=$2 conf="$DIR/$6-n$2.conf"
    config "$3" "$4" "$5" > "$conf"
    # NODE_NICE (unset by default) runs both implementations at that nice level: with the CPU shared
    # with other work it shows how much of the tail is the host's scheduler rather than the daemon.
    local nice=()
    [[ -n ${NODE_NICE:-} ]] && nice=(nice -n "$NODE_NICE")
    if [[ $impl == vigil ]]; then
        lab_exec "$P" "$n" "${nice[@]}" "$VIGIL" -P -n -f "$conf" > "$DIR/$6-n$n.log" 2>&1 &
    else
        lab_exec "$P" "$n" "${nice[@]}" keepalived -n -P -f "$conf" -p "$DIR/$6-n$n.pid" -r "$DIR/$6-n$n.vpid" > "$DIR/$6-n$n.log" 2>&1 &
    fi
}

kill_node() { # node signal
    local pid
    for pid in $(ip netns pids "${P}n$1"); do kill "-$2" "$pid" 2>/dev/null; done
}

wait_gone() { # node
    for _ in $(seq 100); do [[ -z $(ip netns pids "${P}n$1") ]] && return; sleep 0.05; done
    kill_node "$1" KILL
}

holds() { ip -n "${P}n$1" -o addr show dev eth0 | grep -q " $VIP/"; }

# One measurement; prints "from_last_advert_ms from_stop_ms" or "fail".
measure() { # impl version advert signal tag
    local impl=$1 tag=$5
    ip -n "${P}n1" addr del $VIP/32 dev eth0 2>/dev/null
    ip -n "${P}n2" addr del $VIP/32 dev eth0 2>/dev/null
    start_node "$impl" 2 "$2" "$3" 100 "$tag"
    start_node "$impl" 1 "$2" "$3" 200 "$tag"
    local ok=0
    for _ in $(seq 200); do holds 1 && ! holds 2 && { ok=1; break; }; sleep 0.05; done
    sleep 1.5  # the backup has heard several advertisements
    local t0
    t0=$(date +%s.%N)
    if [[ $4 == kill ]]; then kill_node 1 KILL; else kill_node 1 TERM; fi
    for _ in $(seq 200); do holds 2 && break; sleep 0.025; done
    sleep 0.3
    kill_node 2 TERM
    [[ $4 == kill ]] || wait_gone 1
    wait_gone 2
    kill_node 1 KILL
    wait_gone 1
    [[ $ok == 1 ]] || { echo "fail-election $tag" >> "$DIR/failures"; echo fail; return; }
    python3 - "$DIR/capture" "$t0" "${MAC1}" "${MAC2}" "$VIP" "$4" <<'EOF'
import sys
path, t0, mac1, mac2, vip, sig = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
import time
last_advert, garp, own_advert = None, None, None
# tshark can lag behind on a loaded machine: wait (bounded) for the backup's GARP to show up.
for _ in range(100):
    if any(l.split("\t")[1:2] == [mac2] and float(l.split("\t")[0]) > t0 for l in open(path) if l.count("\t") >= 2 and l.rstrip("\n").split("\t")[2] == vip):
        break
    time.sleep(0.1)
late = 0  # master adverts sent after t0: the signal lands some time after the shell read the clock
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if len(f) < 3: continue
    t, mac, arp_ip = float(f[0]), f[1], f[2]
    # SIGKILL: the master's last advertisement is its last one before the backup's GARP. Not "before
    # t0": killing takes a moment after the clock is read, and adverts sent in between still count.
    if sig == "kill" and mac == mac1 and not arp_ip and t > t0 - 30:
        last_advert = t
        late += t > t0
    # Graceful stop: count from the master's priority-0 advertisement (its first packet after the signal).
    if sig == "stop" and t > t0 and mac == mac1 and not arp_ip and last_advert is None: last_advert = t
    # The backup's own first advertisement after the signal: splits the wait (timer) from the takeover's effects.
    if t > t0 and mac == mac2 and not arp_ip and own_advert is None: own_advert = t
    if t > t0 and mac == mac2 and arp_ip == vip:
        garp = t
        break
if last_advert is None or garp is None: print("fail")
else:
    effects = (garp - own_advert) * 1000 if own_advert is not None else 0.0
    first = (own_advert - last_advert) * 1000 if own_advert is not None else 0.0
    print(f"{(garp - last_advert) * 1000:.3f} {(garp - t0) * 1000:.1f} {late} {effects:.3f} {first:.3f}")
EOF
}

stats() { # file column [precision] -> "n median p99 max fails" over that column of the file
    python3 - "$1" "$2" "${3:-1}" <<'EOF'
import sys
vals = sorted(float(l.split()[int(sys.argv[2])]) for l in open(sys.argv[1]) if l.strip() and l.strip() != "fail")
d = int(sys.argv[3])
fails = sum(1 for l in open(sys.argv[1]) if l.strip() == "fail")
if not vals: print("0 - - - %d" % fails); sys.exit()
def pct(p):
    k = (len(vals) - 1) * p
    lo = int(k); hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (k - lo)
print(f"{len(vals)} {pct(0.5):.{d}f} {pct(0.99):.{d}f} {vals[-1]:.{d}f} {fails}")
EOF
}

mdi() { # version advert priority signal -> expected ms
    python3 -c "
v, a, p, s = $1, $2, $3, '$4'
skew = (256 - p) / 256 * (1.0 if v == 2 else a)
print(f'{(3 * a + skew) * 1000 if s == \"kill\" else skew * 1000:.1f}')"
}

printf '%-9s %-10s %-5s %-9s %5s %12s %12s %12s %13s %13s %11s %6s\n' "impl" "config" "stop" "expected" "runs" "median" "p99" "max" "median(kill)" "first advert" "advert>ARP" "fails"
for cfg in ${CONFIGS:-2:1 3:0.05}; do
    version=${cfg%%:*} advert=${cfg#*:}
    runs=$RUNS
    python3 -c "import sys; sys.exit(0 if $advert < 1 else 1)" && runs=$FAST_RUNS
    for sig in ${SIGNALS:-kill stop}; do
        expected=$(mdi "$version" "$advert" 100 "$sig")
        for impl in ${IMPLS:-vigil keepalived}; do
            out="$DIR/result-$impl-$version-$sig"
            : > "$out"
            for r in $(seq "$runs"); do measure "$impl" "$version" "$advert" "$sig" "$impl-$version-$sig-$r" >> "$out"; done
            read -r n med p99 max fails < <(stats "$out" 0 2)
            read -r _ kmed _ _ _ < <(stats "$out" 1)
            read -r _ emed _ _ _ < <(stats "$out" 3 3)
            read -r _ amed _ _ _ < <(stats "$out" 4 2)
            printf '%-9s %-10s %-5s %7sms %5s %10sms %10sms %10sms %11sms %11sms %9sms %6s\n' "$impl" "v$version/$advert" "$sig" "$expected" "$n" "$med" "$p99" "$max" "$kmed" "$amed" "$emed" "$fails"
        done
    done
done
[[ -s $DIR/failures ]] && { echo; cat "$DIR/failures"; }
echo
echo "expected: Master_Down_Interval (kill) or Skew_Time (stop) for the priority-100 backup."
echo "median/p99/max: master's last advertisement (kill) or its priority-0 advertisement (stop) -> backup's"
echo "first gratuitous ARP, both seen by an observer. p99 interpolates between the two largest samples."
echo "runs: $RUNS for advert_int >= 1, $FAST_RUNS for shorter intervals. load average: $(cut -d' ' -f1-3 /proc/loadavg)${NODE_NICE:+. both daemons at nice $NODE_NICE}"
echo "first advert: median from the master's last (or priority-0) advertisement to the backup's first one as master."
echo "advert>ARP: median from the backup's first advertisement as master to its first gratuitous ARP."
echo "median(kill): from the signal itself (a kill lands anywhere in the advertisement interval)."
