#!/usr/bin/env bash
# make bench-reload: a configuration of NVS virtual servers x NRS real servers with TCP_CHECKs,
# loaded by Debian's keepalived and by release-built vigil in turn (ROUNDS alternating rounds, one
# lab-VM boot, each phase in a network namespace of its own). Once the tool's table is complete
# and WARM seconds have passed, the file is rewritten with one real server's weight changed and
# the tool gets SIGHUP. Measured for both the same way:
#   reload ms     SIGHUP until `ipvsadm -Ln` shows the new weight (polled every ~10 ms)
#   IPVS ops      IPVS set commands the kernel received from the SIGHUP to WINDOW s later: a kprobe
#                 on ip_vs_genl_set_cmd (generic netlink) and one on do_ip_vs_set_ctl (the
#                 setsockopt interface), counted in kprobe_profile; the goal is exactly 1
#   checks before / after   checks the listeners accepted in the WINDOW s before and after SIGHUP
#   RSS MiB       resident memory of the tool's whole process tree after the reload
#
#   NVS=1000 NRS=10 DELAY=30 WARM=15 WINDOW=10 ROUNDS=3 bash Scripts/bench/reload.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
NVS=${NVS:-1000}
NRS=${NRS:-10}
DELAY=${DELAY:-30}
WARM=${WARM:-15}
WINDOW=${WINDOW:-10}
ROUNDS=${ROUNDS:-3}
BASE=${BASE:-20000}
dir=/tmp/vigil-bench-reload
SCRATCH=${SCRATCH:-.build-release}
export NVS NRS DELAY WARM WINDOW ROUNDS BASE SCRATCH

if [ "${VIGIL_BENCH_INNER:-}" != 1 ]; then
  mkdir -p "$dir"
  swift build -c release --product vigil --scratch-path "$SCRATCH" >&2
  gcc -O2 -Wall -o "$dir/listener" Scripts/bench/checkers_listener.c
  for variant in before after; do
    python3 - "$dir/bench-$variant.conf" "$variant" <<'PY'
import os, sys
nvs, nrs, base, delay = (int(os.environ[k]) for k in ("NVS", "NRS", "BASE", "DELAY"))
changed = sys.argv[2] == "after"
out = ["global_defs {\n    router_id bench\n}\n"]
for v in range(nvs):
    vip = f"203.0.113.{v % 250 + 1}"
    port = 80 + v // 250
    out.append(f"virtual_server {vip} {port} {{\n    delay_loop {delay}\n    lvs_sched wrr\n    lvs_method NAT\n    protocol TCP\n")
    for r in range(nrs):
        weight = 7 if changed and v == nvs // 2 and r == 3 else 1
        out.append(f"    real_server 127.0.0.1 {base + v * nrs + r} {{\n        weight {weight}\n"
                   "        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n")
    out.append("}\n")
open(sys.argv[1], "w").write("".join(out))
PY
  done
  VM_MEM=${VM_MEM:-4G} VM_TIMEOUT=${VM_TIMEOUT:-1800} Scripts/vm/run.sh "VIGIL_BENCH_INNER=1 SCRATCH=$SCRATCH NVS=$NVS NRS=$NRS DELAY=$DELAY WARM=$WARM WINDOW=$WINDOW ROUNDS=$ROUNDS BASE=$BASE bash Scripts/bench/reload.sh"
  exit $?
fi

# ---- inside the lab VM ----
ulimit -n 65536
TCK=$(getconf CLK_TCK)
PAGE_KIB=$(( $(getconf PAGESIZE) / 1024 ))
TOTAL=$((NVS * NRS))
# The changed real server: virtual server NVS/2, real server 3 (see the generator above).
CV=$((NVS / 2))
CHANGED_VIP="203.0.113.$((CV % 250 + 1)):$((80 + CV / 250))"
CHANGED_RS="127.0.0.1:$((BASE + CV * NRS + 3))"
run=/run/vigil-bench-reload
mkdir -p "$run"
cp "$SCRATCH/release/vigil" "$run/vigil"   # off the 9p share: no page cache there

mono() { local up _; read -r up _ < /proc/uptime; echo "$up"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
tree_rss() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" -v page="$PAGE_KIB" '
    { s = $0; pid = $1; sub(/^.*\) /, "", s); split(s, f, " "); ppid[pid] = f[2]; rss[pid] = f[22] * page }
    END {
      tree[root] = 1
      for (grew = 1; grew;) { grew = 0; for (p in ppid) if (!(p in tree) && (ppid[p] in tree)) { tree[p] = 1; grew = 1 } }
      for (p in tree) if (p in rss) r += rss[p]
      printf "%.1f\n", r / 1024
    }'
}
T=/sys/kernel/tracing
[ -d "$T/events" ] || mount -t tracefs nodev "$T"
grep -q vbr_genl "$T/kprobe_events" 2>/dev/null || echo 'p:vbr_genl ip_vs_genl_set_cmd' >> "$T/kprobe_events"
grep -q vbr_sockopt "$T/kprobe_events" 2>/dev/null || echo 'p:vbr_sockopt do_ip_vs_set_ctl' >> "$T/kprobe_events" 2>/dev/null || true
echo 1 > "$T/events/kprobes/enable"
ipvs_sets() { awk '/vbr_/ { n += $2 } END { print n + 0 }' "$T/kprobe_profile"; }

phase() { # name command...
  local name=$1; shift
  local ns=vbr-$name
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" taskset -c 1 "$dir/listener" "$BASE" "$TOTAL" 0 "$dir/$name.events" 2>/dev/null &
  local lpid=$!
  cp "$dir/bench-before.conf" "$run/live.conf"
  sleep 1
  ip netns exec "$ns" taskset -c 0 "$@" > "$dir/$name.log" 2>&1 &
  local pid=$!
  local ready=no
  for _ in $(seq 1 480); do
    if [ "$(ip netns exec "$ns" ipvsadm -Ln | grep -c -- '->.*127\.0\.0\.1' || true)" -ge "$TOTAL" ]; then ready=yes; break; fi
    sleep 0.5
  done
  sleep "$WARM"
  cp "$dir/bench-after.conf" "$run/live.conf"
  local sets0 t_hup t_seen=- ms=-
  sets0=$(ipvs_sets)
  t_hup=$(mono)
  local start; start=$(now_ms)
  kill -HUP "$pid"
  for _ in $(seq 1 6000); do
    if ip netns exec "$ns" ipvsadm -Ln -t "$CHANGED_VIP" 2>/dev/null | grep -q -- "-> $CHANGED_RS .* 7 "; then
      ms=$(( $(now_ms) - start )); break
    fi
  done
  sleep "$WINDOW"
  local sets1 rss
  sets1=$(ipvs_sets)
  rss=$(tree_rss "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  kill -TERM "$lpid"; wait "$lpid" 2>/dev/null || true
  echo "$name $ready $ms $((sets1 - sets0)) $t_hup $rss" >> "$dir/phases"
  ip netns del "$ns"
}

rm -f "$dir/phases"
for round in $(seq 1 "$ROUNDS"); do
  rm -f "$run"/k*.pid
  phase "keepalived-$round" keepalived -C -n -l -f "$run/live.conf" -p "$run/k.pid" -c "$run/kc.pid" -r "$run/kr.pid"
  phase "vigil-$round" "$run/vigil" -C -n -l -G -f "$run/live.conf"
done
echo 0 > "$T/events/kprobes/enable"

python3 - "$dir" "$WINDOW" <<'PY'
import sys, statistics
d, window = sys.argv[1], float(sys.argv[2])
rows = []
for line in open(f"{d}/phases"):
    name, ready, ms, ops, t_hup, rss = line.split()
    t_hup = float(t_hup)
    before = after = 0
    for ev in open(f"{d}/{name}.events"):
        parts = ev.split()
        if len(parts) != 2:
            continue
        t = float(parts[1])
        if t_hup - window <= t < t_hup:
            before += 1
        elif t_hup <= t < t_hup + window:
            after += 1
    rows.append((name, ready, ms, ops, before, after, rss))
print(f"{'tool':<14} {'table':>6} {'reload ms':>10} {'IPVS ops':>9} {'checks before':>14} {'checks after':>13} {'RSS MiB':>8}")
for r in rows:
    print(f"{r[0]:<14} {r[1]:>6} {r[2]:>10} {r[3]:>9} {r[4]:>14} {r[5]:>13} {r[6]:>8}")
print("median over rounds:")
for tool in ("keepalived", "vigil"):
    rs = [r for r in rows if r[0].startswith(tool + "-")]
    med = lambda i: statistics.median(float(r[i]) for r in rs if r[i] != "-") if any(r[i] != "-" for r in rs) else "-"
    print(f"{tool:<14} {'':>6} {med(2):>10} {med(3):>9} {med(4):>14} {med(5):>13} {med(6):>8}")
PY
