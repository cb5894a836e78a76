#!/usr/bin/env bash
# make demo [MODE=dr]: the whole product on one machine, narrated. Two directors run `vigil` in
# front of three web backends and a sorry server, a client sends HTTP requests through the VIP
# (10 a second) and holds one long-lived echo session, and the demo breaks things one at a time:
# a backend, all backends, a weight changed by reload, a broken file reloaded, the master
# director killed and restarted. Each step says what it expects and what the client and the
# kernel showed; a summary table ends the run. Docs/demo.md has the topology and the steps.
#
#   Scripts/demo/demo.sh [--mode nat|dr] [--check] [--summary FILE] [--keep]
#     --check     quiet: no table dumps, only each step's verdict (the lab test uses it)
#     --summary   also write the machine-readable summary (one JSON object per step) to FILE
#     --keep      keep the logs (always kept, under /tmp, when a step fails)
#   VIGIL=path/to/vigil (default: the release build make demo makes)
#
# Where the kernel has no IPVS (this lab's host), the script boots the lab VM and runs itself
# there. Every namespace and process it made goes on exit, also on failure or Ctrl-C.
# Exit status: 0 when every step passed (or is marked "not yet"), 1 when one failed.
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
MODE=${MODE:-nat}
CHECK=0
SUMMARY_OUT=""
KEEP=${KEEP:-0}
while (($#)); do
    case $1 in
        --mode) MODE=$2; shift ;;
        --check) CHECK=1 ;;
        --summary) SUMMARY_OUT=$2; shift ;;
        --keep) KEEP=1 ;;
        *) echo "usage: $0 [--mode nat|dr] [--check] [--summary FILE] [--keep]" >&2; exit 2 ;;
    esac
    shift
done
case $MODE in nat|NAT) MODE=nat ;; dr|DR) MODE=dr ;; *) echo "demo: MODE must be nat or dr, not $MODE" >&2; exit 2 ;; esac
VIGIL=${VIGIL:-.build-release/release/vigil}
[[ -x $VIGIL ]] || { echo "demo: no vigil at $VIGIL: run 'make demo' (it builds one)" >&2; exit 2; }
VIGIL=$(realpath "$VIGIL")
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)

has_ipvs() { [[ -e /proc/net/ip_vs ]] || { modprobe ip_vs 2>/dev/null && [[ -e /proc/net/ip_vs ]]; }; }
if [[ -z ${DEMO_INNER:-} ]] && ! has_ipvs; then
    echo "demo: this kernel has no IPVS: running in the lab VM (Debian's kernel under QEMU; boot takes 10-20 s)"
    args=(--mode "$MODE")
    ((CHECK)) && args+=(--check)
    ((KEEP)) && args+=(--keep)
    [[ -n $SUMMARY_OUT ]] && args+=(--summary "$(realpath -m "$SUMMARY_OUT")")
    VM_STREAM=1 exec Scripts/vm/run.sh "DEMO_INNER=1 VIGIL=$VIGIL bash Scripts/demo/demo.sh ${args[*]}"
fi
for tool in ip ipvsadm busybox; do
    command -v $tool >/dev/null || { echo "demo: $tool is missing: run 'make setup'" >&2; exit 2; }
done

# ---------------------------------------------------------------- names and addresses
P=vd$$                       # namespace prefix
W=/run/vigil-demo.$$         # tmpfs (in the VM /tmp is 9p: no sockets, slow for timed binaries)
VIP=192.0.2.100
GW=198.51.100.1              # the backends' default gateway: a VIP of the back-side instance
CLIENT=192.0.2.10
DIR_FRONT=(192.0.2.2 192.0.2.3)
DIR_BACK=(198.51.100.2 198.51.100.3)
WEB=(198.51.100.11 198.51.100.12 198.51.100.13)
SORRY=198.51.100.20
ECHO_PORT=9000
PRIORITY=(150 100)
LB_KIND=NAT; [[ $MODE == dr ]] && LB_KIND=DR
T_START=$(date +%s)

say() { ((CHECK)) && [[ ${2:-} == detail ]] && return; echo "$1"; }
detail() { ((CHECK)) || sed 's/^/      /'; }
now() { date +%s.%N; }

cleanup() {
    local status=$? ns pid
    [[ -f $W/client/stop ]] || touch "$W/client/stop" 2>/dev/null
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${P}"); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    done
    sleep 0.2
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${P}"); do ip netns del "$ns" 2>/dev/null; done
    if [[ -d $W ]]; then
        if ((KEEP)) || [[ ${FAILED:-0} != 0 ]]; then
            local keep=/tmp/vigil-demo-logs.$$
            mkdir -p "$keep" && cp -r "$W"/*.log "$W"/*.conf "$W"/client "$W"/summary.jsonl "$keep"/ 2>/dev/null
            echo "demo: logs kept in $keep"
        fi
        rm -rf "$W"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$W/client" "$W/www"
cp "$VIGIL" "$W/vigil"
SUMMARY=$W/summary.jsonl
: > "$SUMMARY"

# ---------------------------------------------------------------- topology
# One switch namespace with two bridges: front (client, directors' eth0) and back (directors'
# eth1, backends, sorry server).
link() { # namespace ifname bridge address
    local port="${1#${P}}-$2"
    ip link add "$2" netns "$1" type veth peer name "$port" netns "${P}sw"
    ip -n "${P}sw" link set "$port" master "$3" up
    ip -n "$1" addr add "$4/24" dev "$2"
    ip -n "$1" link set "$2" up
}
node() { # name
    ip netns add "${P}$1"
    ip -n "${P}$1" link set lo up
}
build_topology() {
    node sw
    for br in front back; do
        ip -n "${P}sw" link add "$br" type bridge
        ip -n "${P}sw" link set "$br" up
    done
    node client
    link "${P}client" eth0 front $CLIENT
    for i in 1 2; do
        node "dir$i"
        link "${P}dir$i" eth0 front "${DIR_FRONT[$((i - 1))]}"
        link "${P}dir$i" eth1 back "${DIR_BACK[$((i - 1))]}"
        ip netns exec "${P}dir$i" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
            net.ipv4.conf.eth1.rp_filter=0
        # DR: the backends' replies come from the VIP, which the master holds itself.
        [[ $MODE == dr ]] && ip netns exec "${P}dir$i" sysctl -qw net.ipv4.conf.all.accept_local=1 net.ipv4.conf.eth1.accept_local=1
    done
    local names=(web1 web2 web3 sorry) addrs=("${WEB[@]}" "$SORRY") n
    for n in 0 1 2 3; do
        node "${names[$n]}"
        link "${P}${names[$n]}" eth0 back "${addrs[$n]}"
        ip -n "${P}${names[$n]}" route add default via $GW
        if [[ $MODE == dr ]]; then
            ip -n "${P}${names[$n]}" addr add $VIP/32 dev lo
            ip netns exec "${P}${names[$n]}" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
                net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
        fi
        mkdir -p "$W/www/${names[$n]}"
        echo "${names[$n]}" > "$W/www/${names[$n]}/index.html"
    done
}

# ---------------------------------------------------------------- processes
start_web() { # name
    ip netns exec "${P}$1" busybox httpd -f -p 80 -h "$W/www/$1" > /dev/null 2>&1 &
    echo $! > "$W/$1.httpd.pid"
    disown
}
stop_web() { # name
    kill -9 "$(cat "$W/$1.httpd.pid")" 2>/dev/null
}
start_echo() { # name
    ip netns exec "${P}$1" "$PY" "$ROOT/Scripts/demo/demo.py" echo "$1" $ECHO_PORT > "$W/$1.echo.log" 2>&1 &
    disown
}

config() { # director(1|2) web3-weight
    local d=$1 p=${PRIORITY[$(($1 - 1))]} w
    cat <<EOF
! Generated by Scripts/demo/demo.sh for director $d ($LB_KIND).
global_defs {
    router_id dir$d
    lvs_sync_daemon eth1 VI_FRONT id 51
}
vrrp_sync_group VG_DEMO {
    group {
        VI_FRONT
        VI_BACK
    }
}
vrrp_instance VI_FRONT {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $p
    advert_int 1
    virtual_ipaddress {
        $VIP/32
    }
}
vrrp_instance VI_BACK {
    state BACKUP
    interface eth1
    virtual_router_id 52
    priority $p
    advert_int 1
    virtual_ipaddress {
        $GW/32
    }
}
virtual_server $VIP 80 {
    delay_loop 1
    lvs_sched wrr
    lvs_method $LB_KIND
    protocol TCP
    sorry_server $SORRY 80
EOF
    for n in 0 1 2; do
        w=1; ((n == 2)) && w=$2
        cat <<EOF
    real_server ${WEB[$n]} 80 {
        weight $w
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 1
            retry 0
            delay_before_retry 0
        }
    }
EOF
    done
    cat <<EOF
}
virtual_server $VIP $ECHO_PORT {
    delay_loop 1
    lvs_sched wrr
    lvs_method $LB_KIND
    protocol TCP
EOF
    for n in 0 1 2; do
        cat <<EOF
    real_server ${WEB[$n]} $ECHO_PORT {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
            delay_before_retry 0
        }
    }
EOF
    done
    echo "}"
}

start_vigil() { # director
    ip netns exec "${P}dir$1" "$W/vigil" -n -l -G -f "$W/dir$1.conf" -p "$W/dir$1.pid" >> "$W/dir$1.log" 2>&1 &
    echo $! > "$W/dir$1.vigil.pid"
    disown
}
vigil_pid() { cat "$W/dir$1.vigil.pid"; }
running() { kill -0 "$(vigil_pid "$1")" 2>/dev/null; }

# ---------------------------------------------------------------- observations
holds() { # director -> 0 when it has both VIPs
    ip -n "${P}dir$1" -o addr show dev eth0 | grep -q " $VIP/" && ip -n "${P}dir$1" -o addr show dev eth1 | grep -q " $GW/"
}
holder() { # directors whose vigil runs and which hold both VIPs
    local out=() d
    for d in 1 2; do running "$d" && holds "$d" && out+=("dir$d"); done
    echo "${out[*]:-nobody}"
}
table() { ip netns exec "${P}dir$1" ipvsadm -Ln; }
table_json() { table "$1" | "$PY" "$ROOT/Scripts/demo/demo.py" table; }
transitions() { echo "$(grep -c 'VRRP_Instance(.*) .* -> ' "$W/dir1.log")/$(grep -c 'VRRP_Instance(.*) .* -> ' "$W/dir2.log")"; }
log_count() { grep -c -- "$2" "$W/dir$1.log" 2>/dev/null || true; }
wait_until() { # seconds command... -> 0 when the command succeeded in time
    local limit=$1 t
    shift
    t=$(($(date +%s) + limit))
    until "$@"; do (($(date +%s) >= t)) && return 1; sleep 0.2; done
}
log_grew() { (($(log_count "$1" "$2") > $3)); }
dests_are() { # director "addr:port ..." (80 service only): the table lists exactly these
    local want got
    want=$(tr ' ' '\n' <<< "$2" | sort | xargs)
    got=$(table "$1" | awk -v s="$VIP:80" '$1 == "TCP" {cur = $2} cur == s && $1 == "->" && $2 ~ /^[0-9]/ {print $2}' | sort | xargs)
    [[ $want == "$got" ]]
}
judge() { # step t0 t1 facts...
    local step=$1 t0=$2 t1=$3
    shift 3
    "$PY" "$ROOT/Scripts/demo/demo.py" judge "$step" "$SUMMARY" "$W/client" "$t0" "$t1" vip=$VIP \
        web1=${WEB[0]} web2=${WEB[1]} web3=${WEB[2]} sorry=$SORRY "table=$(table_json "${TABLE_FROM:-1}")" "$@"
}
window() { # seconds of traffic to judge, after a pause to let in-flight requests finish
    sleep "$1"
}
step() { echo; echo "== Step $1: $2"; echo "   expected: $3"; }

# ---------------------------------------------------------------- run
echo "Vigil demo ($LB_KIND): client $CLIENT -> VIP $VIP -> web1..3 ${WEB[*]} (sorry server $SORRY)"
echo "   directors dir1 (priority ${PRIORITY[0]}) and dir2 (priority ${PRIORITY[1]}) run $(basename "$VIGIL") $("$W/vigil" -v 2>&1 | head -n1)"
build_topology
for n in web1 web2 web3 sorry; do start_web $n; done
for n in web1 web2 web3; do start_echo $n; done
for d in 1 2; do config $d 1 > "$W/dir$d.conf"; done
for d in 1 2; do start_vigil $d; done
say "-- set-up: namespaces built, vigil started on both directors; waiting for dir1 to become master"
if ! wait_until 60 bash -c "ip -n ${P}dir1 -o addr show dev eth0 | grep -q ' $VIP/'" || \
   ! wait_until 30 dests_are 1 "${WEB[0]}:80 ${WEB[1]}:80 ${WEB[2]}:80"; then
    FAILED=1
    echo "demo: the directors did not come up; dir1's log:" >&2
    tail -n 30 "$W/dir1.log" >&2
    exit 1
fi
say "   dir1 holds $VIP and $GW; its IPVS table:"
table 1 | detail
SYNC=no
sync_master() { ip netns exec "${P}dir1" ipvsadm -L --daemon 2>/dev/null | grep -q "master sync daemon"; }
wait_until 10 sync_master && SYNC=yes
if [[ $SYNC == yes ]]; then
    say "   connection sync: $(ip netns exec "${P}dir1" ipvsadm -L --daemon | xargs) on dir1, $(ip netns exec "${P}dir2" ipvsadm -L --daemon | xargs) on dir2"
else
    say "   connection sync: vigil runs no IPVS sync daemon yet (lvs_sync_daemon): step 7's session check is 'not yet'"
fi
ip netns exec "${P}client" "$PY" "$ROOT/Scripts/demo/demo.py" client $VIP 80 $ECHO_PORT "$W/client" > "$W/client.log" 2>&1 &
disown
wait_until 20 grep -q ' ok ' "$W/client/session" 2>/dev/null
# Warm-up: the first requests race the directors' start (the checkers' first round).
warm() { [[ $(tail -n 10 "$W/client/requests" 2>/dev/null | grep -vc FAIL) == 10 ]]; }
wait_until 20 warm
say "   client: 10 HTTP requests a second to $VIP:80, one echo exchange every 100 ms on $VIP:$ECHO_PORT"
sleep 1

step 1 "all three backends share the traffic" "about a third each (wrr, weights 1/1/1), no failed request"
t0=$(now); window 4; judge 1 "$t0" "$(now)"

step 2 "web1's web server stops" "the HTTP_GET checker marks it down; IPVS drops it; web2/web3 answer"
before=$(log_count 1 "${WEB[0]}:80 down")
t_kill=$(now)
stop_web web1
wait_until 15 log_grew 1 "${WEB[0]}:80 down" "$before"
say "   dir1's log:" detail
grep -- "${WEB[0]}:80 down" "$W/dir1.log" | tail -n 2 | detail
sleep 0.5
t0=$(now)
early=$("$PY" -c "import sys; sys.path.insert(0, '$ROOT/Scripts/demo'); import demo; print(demo.share(demo.read_requests('$W/client', $t_kill, $t0))[1])")
say "   dir1's IPVS table:" detail
table 1 | detail
window 4; judge 2 "$t0" "$(now)" "log_line=$(grep -- "${WEB[0]}:80 down" "$W/dir1.log" | tail -n 1)" "early_failures=$early"

step 3 "web2 and web3 stop too" "quorum lost: the sorry server is the only destination and answers every request"
stop_web web2; stop_web web3
wait_until 15 dests_are 1 "$SORRY:80"
say "   dir1's log:" detail
grep -E 'quorum lost|sorry' "$W/dir1.log" | tail -n 3 | detail
sleep 1.5
t0=$(now)
table 1 | detail
window 3; judge 3 "$t0" "$(now)"

step 4 "all three web servers start again" "each is checked up and re-added; the sorry server leaves"
for n in web1 web2 web3; do start_web $n; done
wait_until 20 dests_are 1 "${WEB[0]}:80 ${WEB[1]}:80 ${WEB[2]}:80"
say "   dir1's log:" detail
grep -E 'quorum gained|:80 up' "$W/dir1.log" | tail -n 4 | detail
sleep 1
t0=$(now)
window 4; judge 4 "$t0" "$(now)"

step 5 "reload (SIGHUP) with web3's weight 1 -> 3 on both directors" "web3 gets ~3/5; one IPVS operation; VRRP untouched"
trans=$(transitions)
for d in 1 2; do
    reloads[$d]=$(log_count $d "Reload finished")
    config $d 3 > "$W/dir$d.conf"
    kill -HUP "$(vigil_pid $d)"
done
wait_until 20 log_grew 1 "Reload finished" "${reloads[1]}"
wait_until 20 log_grew 2 "Reload finished" "${reloads[2]}"
line=$(grep "Reload finished" "$W/dir1.log" | tail -n 1)
say "   dir1's log:" detail
grep -E "Reload|reload:" "$W/dir1.log" | tail -n 4 | detail
say "   dir2's log: $(grep "Reload finished" "$W/dir2.log" | tail -n 1 | sed 's/.*Reload/Reload/')"
table 1 | detail
sleep 0.5
t0=$(now)
window 5; judge 5 "$t0" "$(now)" "reload_line=$line" "transitions_before=$trans" "transitions_after=$(transitions)"

step 6 "reload a broken file on dir1" "refused with file:line; table, VIPs and traffic unchanged"
trans=$(transitions)
before=$(table_json 1)
refusals=$(log_count 1 "Reload refused")
cp "$W/dir1.conf" "$W/dir1.good"
sed -i "s/real_server ${WEB[0]} 80 {/real_server ${WEB[0]} eighty {/" "$W/dir1.conf"
t0=$(now)
kill -HUP "$(vigil_pid 1)"
wait_until 20 log_grew 1 "Reload refused" "$refusals"
say "   dir1's log:" detail
grep -B3 "Reload refused" "$W/dir1.log" | tail -n 4 | detail
line=$(grep "Reload refused" "$W/dir1.log" | tail -n 1)
window 3
alive=no; running 1 && alive=yes
judge 6 "$t0" "$(now)" "reload_line=$line" "table_before=$before" "running=$alive" \
    "transitions_before=$trans" "transitions_after=$(transitions)"
mv "$W/dir1.good" "$W/dir1.conf"

# A SIGKILL of vigil alone leaves the VIPs and the IPVS table in dir1's kernel, which would go
# on forwarding the client's traffic: the director dies here as a machine does, its vigil killed
# and its links cut at the same moment.
step 7 "the master director dies: SIGKILL of dir1's vigil, dir1's links cut" \
    "dir2 takes both VIPs after Master_Down_Interval (~3.6 s); the echo session carries on"
if [[ $SYNC == yes ]]; then
    say "   dir2's IPVS connection table (synced from dir1) before the kill:" detail
    ip netns exec "${P}dir2" ipvsadm -Lnc | grep -E "^pro|:$ECHO_PORT" | head -n 3 | detail
fi
t0=$(now)
kill -9 "$(vigil_pid 1)"
ip -n "${P}dir1" link set eth0 down
ip -n "${P}dir1" link set eth1 down
wait_until 20 holds 2
wait_until 20 bash -c "tail -n 1 '$W/client/requests' | grep -qv FAIL"
say "   dir2's log:" detail
grep 'VRRP_Instance' "$W/dir2.log" | tail -n 2 | detail
window 3
TABLE_FROM=2 judge 7 "$t0" "$(now)" "holder=$(holder)" "expected_holder=dir2" "sync_daemon=$SYNC"

step 8 "dir1 comes back: links up, vigil restarted" \
    "dir1 removes the VIPs its killed vigil left, starts as backup, preempts (priority 150 > 100): both VIPs move back"
t0=$(now)
ip -n "${P}dir1" link set eth0 up
ip -n "${P}dir1" link set eth1 up
start_vigil 1
dir1_back() { holds 1 && ! holds 2; }
wait_until 40 dir1_back
wait_until 20 bash -c "tail -n 1 '$W/client/requests' | grep -qv FAIL"
say "   dir1's log:" detail
grep 'VRRP_Instance' "$W/dir1.log" | tail -n 2 | detail
say "   dir2's log:" detail
grep 'VRRP_Instance' "$W/dir2.log" | tail -n 2 | detail
window 3
judge 8 "$t0" "$(now)" "holder=$(holder)" "expected_holder=dir1" "sync_daemon=$SYNC" preempt=yes

touch "$W/client/stop"
echo
echo "== Summary ($LB_KIND, $(($(date +%s) - T_START)) s)"
"$PY" "$ROOT/Scripts/demo/demo.py" summary "$SUMMARY"
FAILED=$?
[[ -n $SUMMARY_OUT ]] && cp "$SUMMARY" "$SUMMARY_OUT"
exit $FAILED
