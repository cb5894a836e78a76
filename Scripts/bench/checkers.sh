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
#   NTCP=2000 NHTTP=500 WARM=20 MEASURE=20 ROUNDS=5 LIGHT_TCP=400 LIGHT_HTTP=100 bash Scripts/bench/checkers.sh
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
dir=/tmp/vigil-bench-checkers
# Release build folder (kept apart from the debug .build).
SCRATCH=${SCRATCH:-.build-release}
export NTCP NHTTP WARM MEASURE ROUNDS BASE SCRATCH LIGHT_TCP LIGHT_HTTP

if [ "${VIGIL_BENCH_INNER:-}" != 1 ]; then
  mkdir -p "$dir"
  swift build -c release --product vigil --scratch-path "$SCRATCH" >&2
  gcc -O2 -Wall -o "$dir/listener" Scripts/bench/checkers_listener.c
  for load in full light; do
  python3 - "$dir/bench-$load.conf" "$load" <<'PY'
import os, sys
ntcp, nhttp, base = int(os.environ["NTCP"]), int(os.environ["NHTTP"]), int(os.environ["BASE"])
if sys.argv[2] == "light":
    ntcp, nhttp = int(os.environ["LIGHT_TCP"]), int(os.environ["LIGHT_HTTP"])
per_vs = 100
out = ["global_defs {\n    router_id bench\n}\n"]
ports = [(base + i, "tcp") for i in range(ntcp)] + [(base + ntcp + i, "http") for i in range(nhttp)]
for v in range(0, len(ports), per_vs):
    vip = f"192.0.2.{v // per_vs + 1}"
    out.append(f"virtual_server {vip} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n")
    for port, kind in ports[v:v + per_vs]:
        out.append(f"    real_server 127.0.0.1 {port} {{\n        weight 1\n")
        if kind == "tcp":
            out.append("        TCP_CHECK {\n            connect_timeout 3\n        }\n")
        else:
            out.append("        HTTP_GET {\n            url {\n              path /\n              status_code 200\n            }\n            connect_timeout 3\n        }\n")
        out.append("    }\n")
    out.append("}\n")
open(sys.argv[1], "w").write("".join(out))
PY
  done
  VM_MEM=${VM_MEM:-4G} VM_TIMEOUT=${VM_TIMEOUT:-1200} Scripts/vm/run.sh "VIGIL_BENCH_INNER=1 SCRATCH=$SCRATCH NTCP=$NTCP NHTTP=$NHTTP WARM=$WARM MEASURE=$MEASURE ROUNDS=$ROUNDS BASE=$BASE LIGHT_TCP=$LIGHT_TCP LIGHT_HTTP=$LIGHT_HTTP bash Scripts/bench/checkers.sh"
  exit $?
fi

# ---- inside the lab VM ----
ulimit -n 65536
mono() { python3 -c 'import time; print(f"{time.monotonic():.6f}")'; }
# CPU seconds (utime+stime) and RSS KiB of a process and all its descendants.
tree_usage() {
  python3 - "$1" <<'PY'
import os, sys
root = int(sys.argv[1]); tck = os.sysconf("SC_CLK_TCK")
procs = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            s = open(f"/proc/{p}/stat").read(); f = s[s.rindex(")") + 2:].split()
            rss = 0
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"): rss = int(line.split()[1])
            procs[int(p)] = (int(f[1]), (int(f[11]) + int(f[12])) / tck, rss)
        except (OSError, ValueError, IndexError):
            pass
tree, grew = {root}, True
while grew:
    grew = False
    for pid, (ppid, _, _) in procs.items():
        if ppid in tree and pid not in tree: tree.add(pid); grew = True
print(f"{sum(procs[p][1] for p in tree if p in procs):.2f} {sum(procs[p][2] for p in tree if p in procs)}")
PY
}

# Sockets in TIME_WAIT in namespace $1.
timewait() { ip netns exec "$1" awk '/^TCP:/ { for (i = 2; i < NF; i++) if ($i == "tw") print $(i + 1) }' /proc/net/sockstat; }

phase() { # name ntcp nhttp command...
  local name=$1 ntcp=$2 nhttp=$3; shift 3
  local ns=vbc-$name tw
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" taskset -c 1 "$dir/listener" "$BASE" "$ntcp" "$nhttp" "$dir/$name.events" 2>/dev/null &
  local lpid=$!
  sleep 1
  ip netns exec "$ns" taskset -c 0 "$@" > "$dir/$name.log" 2>&1 &
  local pid=$!
  sleep "$WARM"
  local u0 t0 u1 t1 dests
  u0=$(tree_usage "$pid"); t0=$(mono)
  sleep "$MEASURE"
  u1=$(tree_usage "$pid"); t1=$(mono)
  tw=$(timewait "$ns")
  dests=$(ip netns exec "$ns" ipvsadm -Ln | grep -c -- '->.*127\.0\.0\.1' || true)
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  kill -TERM "$lpid"; wait "$lpid" 2>/dev/null || true
  echo "$name $t0 $t1 ${u0% *} ${u1% *} ${u1#* } $dests $tw" >> "$dir/phases"
  ip netns del "$ns"
}

rm -f "$dir/phases"
for round in $(seq 1 "$ROUNDS"); do
  rm -f "$dir"/k*.pid
  phase "keepalived-$round" "$NTCP" "$NHTTP" keepalived -C -n -l -f "$dir/bench-full.conf" -p "$dir/k.pid" -c "$dir/kc.pid" -r "$dir/kr.pid"
  phase "vigil-$round" "$NTCP" "$NHTTP" "$SCRATCH/release/vigil" -C -n -l -f "$dir/bench-full.conf"
done
if [ "$LIGHT_TCP$LIGHT_HTTP" != 00 ]; then
  rm -f "$dir"/k*.pid
  phase "keepalived-light" "$LIGHT_TCP" "$LIGHT_HTTP" keepalived -C -n -l -f "$dir/bench-light.conf" -p "$dir/k.pid" -c "$dir/kc.pid" -r "$dir/kr.pid"
  phase "vigil-light" "$LIGHT_TCP" "$LIGHT_HTTP" "$SCRATCH/release/vigil" -C -n -l -f "$dir/bench-light.conf"
fi

python3 - "$dir" <<'PY'
import sys, collections
d = sys.argv[1]
rows = []
for line in open(f"{d}/phases"):
    name, t0, t1, u0, u1, rss, dests, tw = line.split()
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
    rows.append((name, cps, cpu, q(0.5), q(0.99), int(rss) / 1024, len(per_port), int(dests), tw))
print(f"checkers bench: {__import__('os').environ['NTCP']} TCP_CHECK + {__import__('os').environ['NHTTP']} HTTP_GET on loopback, delay_loop 1 s, "
      f"{__import__('os').environ['MEASURE']} s measured after {__import__('os').environ['WARM']} s warm-up, lab VM (2 vCPU, TCG)")
print(f"{'tool':<12}{'checks/s':>10}{'CPU s/1000':>12}{'p50 late ms':>13}{'p99 late ms':>13}{'RSS MiB':>9}{'ports seen':>12}{'IPVS dests':>12}{'TIME_WAIT':>11}")
for r in rows:
    print(f"{r[0]:<12}{r[1]:>10.0f}{r[2]:>12.3f}{r[3]:>13.1f}{r[4]:>13.1f}{r[5]:>9.1f}{r[6]:>12}{r[7]:>12}{r[8]:>11}")
import statistics
print("median over rounds:")
for tool in ("keepalived", "vigil"):
    rs = [r for r in rows if r[0].rsplit("-", 1)[0] == tool and r[0].rsplit("-", 1)[1].isdigit()]
    if rs:
        m = [statistics.median(r[i] for r in rs) for i in range(1, 8)]
        print(f"{tool:<12}{m[0]:>10.0f}{m[1]:>12.3f}{m[2]:>13.1f}{m[3]:>13.1f}{m[4]:>9.1f}{m[5]:>12.0f}{m[6]:>12.0f}")
print("TIME_WAIT: the phase's TCP sockets in TIME_WAIT when its measurement ended (each phase has a fresh network namespace)")
print("lateness = interval between consecutive checks of one listener minus delay_loop (1 s)")
print(f"-light rows: {__import__('os').environ['LIGHT_TCP']} TCP_CHECK + {__import__('os').environ['LIGHT_HTTP']} HTTP_GET, one round; "
      "listener on vCPU 1, tool on vCPU 0")
PY
