#!/usr/bin/env bash
# `make bench-config`: times `vigil -t` (release build) against Debian's `keepalived -t` on the same
# generated configuration: 1,000 virtual servers x 10 real servers, each real server with a checker
# (TCP_CHECK, with every tenth virtual server using HTTP_GET). Prints a table; target: Vigil no slower.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RUNS="${RUNS:-7}"
VS_COUNT="${VS_COUNT:-1000}"
RS_COUNT="${RS_COUNT:-10}"
WORK="$(mktemp -d /tmp/vigil-bench-config.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
CONF="$WORK/keepalived.conf"
cd "$ROOT"

python3 - "$CONF" "$VS_COUNT" "$RS_COUNT" <<'PY'
import sys
path, vs_count, rs_count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = ["global_defs {", "    router_id bench", "}", ""]
for i in range(vs_count):
    vip = "203.0.113.%d" % (1 + i % 250)
    port = 10000 + i
    out += ["virtual_server %s %d {" % (vip, port),
            "    delay_loop 6", "    lvs_sched wrr", "    lvs_method NAT", "    protocol TCP",
            "    persistence_timeout 50", ""]
    for j in range(rs_count):
        rip = "198.51.%d.%d" % (100 + (i // 250) % 2, 1 + (j + i * rs_count) % 250)
        rport = 20000 + j + (i * rs_count) // 250
        out += ["    real_server %s %d {" % (rip, rport), "        weight %d" % (1 + j % 5)]
        if i % 10 == 0:
            out += ["        HTTP_GET {", "            url {", "                path /health",
                    "                status_code 200", "            }", "            connect_timeout 3",
                    "            retry 3", "            delay_before_retry 2", "        }"]
        else:
            out += ["        TCP_CHECK {", "            connect_timeout 3", "            retry 3",
                    "            delay_before_retry 2", "        }"]
        out += ["    }"]
    out += ["}", ""]
open(path, "w").write("\n".join(out))
PY

echo "bench-config: building release vigil" >&2
swift build -c release --product vigil >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
VIGIL="$(swift build -c release --show-bin-path)/vigil"
KEEPALIVED="$(command -v keepalived || echo /usr/sbin/keepalived)"

lines=$(wc -l <"$CONF")
bytes=$(wc -c <"$CONF")
echo "bench-config: $VS_COUNT virtual servers x $RS_COUNT real servers, $lines lines, $bytes bytes; $RUNS runs each" >&2

# Sanity: both accept the file.
"$VIGIL" -t -f "$CONF" 2>"$WORK/vigil.err" || { echo "vigil -t rejected the benchmark file:" >&2; head "$WORK/vigil.err" >&2; exit 1; }
timeout 120 "$KEEPALIVED" -t -f "$CONF" -l -n >"$WORK/ka.out" 2>&1 || true
if grep -qiE "unknown keyword|error" "$WORK/ka.out"; then echo "keepalived -t complained:" >&2; head "$WORK/ka.out" >&2; fi

# Wall and CPU (user+sys) milliseconds per run, measured by Python around each exec.
measure() { # label, command...
    python3 - "$RUNS" "$@" <<'PY'
import os, resource, statistics, subprocess, sys, time
runs, label, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
wall, cpu = [], []
for _ in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    wall.append((time.monotonic() - t0) * 1000)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu.append(((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000)
print("| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f |" % (label, runs, min(wall), statistics.median(wall), max(wall),
      min(cpu), statistics.median(cpu)))
print("MEDIANS %.3f %.3f" % (statistics.median(wall), statistics.median(cpu)), file=sys.stderr)
PY
}

KA_VERSION="$("$KEEPALIVED" --version 2>&1 | head -1 | awk '{print $2}')"
printf '\n| tool (config test) | runs | wall min ms | wall median ms | wall max ms | CPU min ms | CPU median ms |\n'
printf '|---|---|---|---|---|---|---|\n'
measure "keepalived $KA_VERSION \`-t\`" "$KEEPALIVED" -t -f "$CONF" -l -n 2>"$WORK/ka.med"
measure "vigil \`-t\` (release)" "$VIGIL" -t -f "$CONF" 2>"$WORK/vigil.med"
read -r _ kwall kcpu <"$WORK/ka.med"
read -r _ vwall vcpu <"$WORK/vigil.med"
ratio=$(awk -v v="$vwall" -v k="$kwall" -v vc="$vcpu" -v kc="$kcpu" 'BEGIN { printf "wall %.2f, CPU %.2f", v / k, (kc > 0 ? vc / kc : 0) }')
printf '\nvigil/keepalived median ratio: %s (target <= 1.00)\n' "$ratio"
