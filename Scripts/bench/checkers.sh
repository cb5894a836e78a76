#!/usr/bin/env bash
# make bench-checkers: 2,000 loopback TCP listeners checked with TCP_CHECK and 500 HTTP listeners
# checked with HTTP_GET at delay_loop 1 s, by Debian's `keepalived -C` and by release-built
# `vigil -C`, one after the other in the same lab-VM boot (both program IPVS). Every figure is
# measured the same way for both: checks counted and timed at the listeners (accepted
# connections), CPU and RSS read from /proc for the tool's whole process tree.
#
# The VM runs under software emulation on a shared host, so one measurement is noisy: the tools
# take turns for ROUNDS rounds (keepalived, vigil, keepalived, vigil, ...) and the table shows
# every round and the median per tool.
#
# The listeners stand in for remote real servers, so they run on the VM's second vCPU and the
# tool under test on the first (taskset): otherwise where the scheduler happened to put the
# listener and the tool's busy thread changed a run's result by up to 40%.
#
# Each phase runs in a network namespace of its own, deleted afterwards: a tool that closes its
# checks with FIN (keepalived) leaves up to tcp_max_tw_buckets sockets in TIME_WAIT for 60 s, and
# in one shared namespace the next phase started among them.
#
# The emulated CPU cannot carry 2,500 checks a second with either tool: both run behind and their
# lateness is the length of their backlog. A last round at a fifth of the load (LIGHT_TCP +
# LIGHT_HTTP servers, both tools) shows each scheduler's lateness when the CPU keeps up.
#
# A third row per round, `floor`, is the least any checker can do for the same checks
# (checkers_floor.c: one epoll loop, a socket per server reconnected each second, nothing else:
# no timeouts, retries, IPVS or logging). It runs with the tools' IPVS table installed
# (`ipvsadm -R`), because that table costs every packet in the namespace IPVS's hooks and runs
# the kernel's rate estimators. Its lateness is what the lab itself allows; FLOOR=0 leaves it out.
#
#   NTCP=2000 NHTTP=500 WARM=20 MEASURE=20 ROUNDS=5 LIGHT_TCP=400 LIGHT_HTTP=100 FLOOR=1 bash Scripts/bench/checkers.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
NTCP=${NTCP:-2000}
NHTTP=${NHTTP:-500}
WARM=${WARM:-20}
MEASURE=${MEASURE:-20}
ROUNDS=${ROUNDS:-5}
BASE=${BASE:-20000}
LIGHT_TCP=${LIGHT_TCP:-400}
LIGHT_HTTP=${LIGHT_HTTP:-100}
FLOOR=${FLOOR:-1}
dir=/tmp/vigil-bench-checkers
# Release build folder (kept apart from the debug .build).
SCRATCH=${SCRATCH:-.build-release}
export NTCP NHTTP WARM MEASURE ROUNDS BASE SCRATCH LIGHT_TCP LIGHT_HTTP FLOOR

if [ "${VIGIL_BENCH_INNER:-}" != 1 ]; then
  mkdir -p "$dir"
  swift build -c release --product vigil --scratch-path "$SCRATCH" >&2
  gcc -O2 -Wall -o "$dir/listener" Scripts/bench/checkers_listener.c
  gcc -O2 -Wall -o "$dir/floor" Scripts/bench/checkers_floor.c -lm
  for load in full light; do
  python3 - "$dir/bench-$load.conf" "$load" <<'PY'
import os, sys
ntcp, nhttp, base = int(os.environ["NTCP"]), int(os.environ["NHTTP"]), int(os.environ["BASE"])
if sys.argv[2] == "light":
    ntcp, nhttp = int(os.environ["LIGHT_TCP"]), int(os.environ["LIGHT_HTTP"])
per_vs = 100
out = ["global_defs {\n    router_id bench\n}\n"]
rules = []
ports = [(base + i, "tcp") for i in range(ntcp)] + [(base + ntcp + i, "http") for i in range(nhttp)]
for v in range(0, len(ports), per_vs):
    vip = f"192.0.2.{v // per_vs + 1}"
    out.append(f"virtual_server {vip} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n")
    rules.append(f"-A -t {vip}:80 -s rr\n")
    for port, kind in ports[v:v + per_vs]:
        rules.append(f"-a -t {vip}:80 -r 127.0.0.1:{port} -m -w 1\n")
        out.append(f"    real_server 127.0.0.1 {port} {{\n        weight 1\n")
        if kind == "tcp":
            out.append("        TCP_CHECK {\n            connect_timeout 3\n        }\n")
        else:
            out.append("        HTTP_GET {\n            url {\n              path /\n              status_code 200\n            }\n            connect_timeout 3\n        }\n")
        out.append("    }\n")
    out.append("}\n")
open(sys.argv[1], "w").write("".join(out))
# The same table as ipvsadm rules, for the floor (below).
open(sys.argv[1].removesuffix(".conf") + ".rules", "w").write("".join(rules))
PY
  done
  # The host's CPU counters, sampled for the guest (which shares /tmp): in a round during which
  # the host was short of CPU (its own hypervisor stealing it) every tool is slow, and the table
  # says so.
  ( while :; do head -n1 /proc/stat > "$dir/hoststat.tmp" && mv "$dir/hoststat.tmp" "$dir/hoststat"; sleep 0.5; done ) &
  sampler=$!
  trap 'kill $sampler 2>/dev/null' EXIT
  VM_MEM=${VM_MEM:-4G} VM_TIMEOUT=${VM_TIMEOUT:-1800} Scripts/vm/run.sh "VIGIL_BENCH_INNER=1 SCRATCH=$SCRATCH NTCP=$NTCP NHTTP=$NHTTP WARM=$WARM MEASURE=$MEASURE ROUNDS=$ROUNDS BASE=$BASE LIGHT_TCP=$LIGHT_TCP LIGHT_HTTP=$LIGHT_HTTP FLOOR=$FLOOR bash Scripts/bench/checkers.sh"
  exit $?
fi

# ---- inside the lab VM ----
ulimit -n 65536
# The measurement must not disturb what it measures. The helpers below are a shell builtin and
# one awk: python's start-up, used before, cost up to a second of emulated CPU at each end of the
# window, often on the tool's vCPU. The script itself stays off the tool's vCPU (taskset, below).
TCK=$(getconf CLK_TCK)
PAGE_KIB=$(( $(getconf PAGESIZE) / 1024 ))
# CLOCK_BOOTTIME, 10 ms resolution: the listeners' CLOCK_MONOTONIC in a VM that never suspends.
mono() { local up _; read -r up _ < /proc/uptime; echo "$up"; }
# CPU seconds (utime+stime) and RSS KiB of a process and all its descendants.
tree_usage() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" -v tck="$TCK" -v page="$PAGE_KIB" '
    { s = $0; pid = $1; sub(/^.*\) /, "", s); split(s, f, " ")
      ppid[pid] = f[2]; cpu[pid] = (f[12] + f[13]) / tck; rss[pid] = f[22] * page }
    END {
      tree[root] = 1
      for (grew = 1; grew;) { grew = 0; for (p in ppid) if (!(p in tree) && (ppid[p] in tree)) { tree[p] = 1; grew = 1 } }
      for (p in tree) if (p in cpu) { c += cpu[p]; r += rss[p] }
      printf "%.2f %d\n", c, r
    }'
}
taskset -pc 1 $$ > /dev/null

# Real servers (127.0.0.1 destinations) in namespace $1's IPVS table.
destinations() { ip netns exec "$1" ipvsadm -Ln | grep -c -- '->.*127\.0\.0\.1' || true; }

# The host's busy and stolen CPU share between two of its /proc/stat "cpu" lines ("- -" without them).
host_share() {
  echo "$1" "$2" | awk 'NF == 22 {
      for (i = 2; i <= 9; i++) { d[i] = $(i + 11) - $i; t += d[i] }
      if (t > 0) { printf "%.0f %.0f\n", 100 * (t - d[5] - d[6] - d[9]) / t, 100 * d[9] / t; exit }
    } { print "- -" }'
}

# Sockets in TIME_WAIT in namespace $1, as the kernel counts them: orphaned FIN_WAIT2 sockets too.
timewait() { ip netns exec "$1" awk '/^TCP:/ { for (i = 2; i < NF; i++) if ($i == "tw") print $(i + 1) }' /proc/net/sockstat; }

phase() { # name ntcp nhttp command...
  local name=$1 ntcp=$2 nhttp=$3; shift 3
  local ns=vbc-$name tw
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # The floor programs no IPVS, but the table the tools program costs every packet in the
  # namespace IPVS's hooks and runs its rate estimators: the floor gets the same table.
  case $name in
    floor-light) ip netns exec "$ns" ipvsadm -R < "$dir/bench-light.rules" ;;
    floor-*) ip netns exec "$ns" ipvsadm -R < "$dir/bench-full.rules" ;;
  esac
  ip netns exec "$ns" taskset -c 1 "$dir/listener" "$BASE" "$ntcp" "$nhttp" "$dir/$name.events" 2>/dev/null &
  local lpid=$!
  sleep 1
  local launched; launched=$(mono)
  ip netns exec "$ns" taskset -c 0 "$@" > "$dir/$name.log" 2>&1 &
  local pid=$!
  # The warm-up counts from the moment the tool's IPVS table is complete, not from its launch:
  # start-up (reading a 17,000-line file; paging a binary in through the VM's shared file system
  # on its first run in a boot) differs between the tools, and the measured window must not
  # catch either one still starting.
  local ready=-1
  case $name in
    floor-*) ;;
    *)
      for _ in $(seq 1 240); do
        if [ "$(destinations "$ns")" -ge $((ntcp + nhttp)) ]; then
          ready=$(awk -v a="$launched" -v b="$(mono)" 'BEGIN { printf "%.1f", b - a }')
          break
        fi
        sleep 0.5
      done
      ;;
  esac
  sleep "$WARM"
  local u0 t0 u1 t1 dests
  local h0 h1
  u0=$(tree_usage "$pid"); t0=$(mono); h0=$(cat "$dir/hoststat" 2>/dev/null || true)
  sleep "$MEASURE"
  u1=$(tree_usage "$pid"); t1=$(mono); h1=$(cat "$dir/hoststat" 2>/dev/null || true)
  tw=$(timewait "$ns")
  dests=$(destinations "$ns")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  kill -TERM "$lpid"; wait "$lpid" 2>/dev/null || true
  echo "$name $t0 $t1 ${u0% *} ${u1% *} ${u1#* } $dests $tw $ready $(host_share "$h0" "$h1")" >> "$dir/phases"
  ip netns del "$ns"
}

rm -f "$dir/phases"
for round in $(seq 1 "$ROUNDS"); do
  rm -f "$dir"/k*.pid
  phase "keepalived-$round" "$NTCP" "$NHTTP" keepalived -C -n -l -f "$dir/bench-full.conf" -p "$dir/k.pid" -c "$dir/kc.pid" -r "$dir/kr.pid"
  phase "vigil-$round" "$NTCP" "$NHTTP" "$SCRATCH/release/vigil" -C -n -l -f "$dir/bench-full.conf"
  if [ "$FLOOR" = 1 ]; then phase "floor-$round" "$NTCP" "$NHTTP" "$dir/floor" "$BASE" "$NTCP" "$NHTTP"; fi
done
if [ "$LIGHT_TCP$LIGHT_HTTP" != 00 ]; then
  rm -f "$dir"/k*.pid
  phase "keepalived-light" "$LIGHT_TCP" "$LIGHT_HTTP" keepalived -C -n -l -f "$dir/bench-light.conf" -p "$dir/k.pid" -c "$dir/kc.pid" -r "$dir/kr.pid"
  phase "vigil-light" "$LIGHT_TCP" "$LIGHT_HTTP" "$SCRATCH/release/vigil" -C -n -l -f "$dir/bench-light.conf"
  if [ "$FLOOR" = 1 ]; then phase "floor-light" "$LIGHT_TCP" "$LIGHT_HTTP" "$dir/floor" "$BASE" "$LIGHT_TCP" "$LIGHT_HTTP"; fi
fi

python3 - "$dir" <<'PY'
import sys, collections
d = sys.argv[1]
rows = []
for line in open(f"{d}/phases"):
    name, t0, t1, u0, u1, rss, dests, tw, ready, host_busy, host_steal = line.split()
    t0, t1, u0, u1 = float(t0), float(t1), float(u0), float(u1)
    per_port = collections.defaultdict(list)
    n = 0
    for ev in open(f"{d}/{name}.events"):
        port, t = ev.split(); t = float(t)
        if t0 <= t <= t1:
            per_port[int(port)].append(t); n += 1
    late = []
    for ts in per_port.values():
        ts.sort()
        late += [b - a - 1.0 for a, b in zip(ts, ts[1:])]
    late.sort()
    q = lambda p: late[min(len(late) - 1, int(p * (len(late) - 1) + 0.999))] * 1000 if late else float("nan")
    cps = n / (t1 - t0)
    cpu = (u1 - u0) / n * 1000 if n else float("nan")
    rows.append((name, cps, cpu, q(0.5), q(0.99), int(rss) / 1024, len(per_port), int(dests), tw, "-" if ready == "-1" else ready,
                 host_busy, host_steal))
print(f"checkers bench: {__import__('os').environ['NTCP']} TCP_CHECK + {__import__('os').environ['NHTTP']} HTTP_GET on loopback, delay_loop 1 s, "
      f"{__import__('os').environ['MEASURE']} s measured after {__import__('os').environ['WARM']} s warm-up, lab VM (2 vCPU, TCG)")
print(f"{'tool':<12}{'checks/s':>10}{'CPU s/1000':>12}{'p50 late ms':>13}{'p99 late ms':>13}{'RSS MiB':>9}{'ports seen':>12}{'IPVS dests':>12}{'TIME_WAIT':>11}{'table s':>9}{'host busy %':>13}{'host steal %':>14}")
for r in rows:
    print(f"{r[0]:<12}{r[1]:>10.0f}{r[2]:>12.3f}{r[3]:>13.1f}{r[4]:>13.1f}{r[5]:>9.1f}{r[6]:>12}{r[7]:>12}{r[8]:>11}{r[9]:>9}{r[10]:>13}{r[11]:>14}")
import statistics
print("median over rounds:")
for tool in ("keepalived", "vigil", "floor"):
    rs = [r for r in rows if r[0].rsplit("-", 1)[0] == tool and r[0].rsplit("-", 1)[1].isdigit()]
    if rs:
        m = [statistics.median(r[i] for r in rs) for i in range(1, 8)]
        print(f"{tool:<12}{m[0]:>10.0f}{m[1]:>12.3f}{m[2]:>13.1f}{m[3]:>13.1f}{m[4]:>9.1f}{m[5]:>12.0f}{m[6]:>12.0f}")
print("floor: the least any checker can do for these checks on this lab (Scripts/bench/checkers_floor.c), with the same IPVS table installed by ipvsadm -R")
print("table s: seconds from the tool's launch to its complete IPVS table; the warm-up counts from then")
print("TIME_WAIT: the phase's TCP sockets in TIME_WAIT when its measurement ended, as /proc/net/sockstat counts them (with closed listener sockets in FIN_WAIT2); each phase has a fresh network namespace")
print("lateness = interval between consecutive checks of one listener minus delay_loop (1 s)")
print("host busy/steal %: the host's CPU (both cores) in use, and taken by its own hypervisor, during the measured window")
print(f"-light rows: {__import__('os').environ['LIGHT_TCP']} TCP_CHECK + {__import__('os').environ['LIGHT_HTTP']} HTTP_GET, one round; "
      "listener on vCPU 1, tool on vCPU 0")
PY
