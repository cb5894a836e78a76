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

time_runs() { # prints one wall time in ms per run
    local i
    for ((i = 0; i < RUNS; i++)); do
        local start end
        start=$(date +%s%N)
        "$@" >/dev/null 2>&1 || true
        end=$(date +%s%N)
        echo $(( (end - start) / 1000000 ))
    done
}

stats() { # min median max of the numbers on stdin
    sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%d %d %d", a[1], m, a[NR]}'
}

read -r kmin kmed kmax < <(time_runs timeout 120 "$KEEPALIVED" -t -f "$CONF" -l -n | stats)
read -r vmin vmed vmax < <(time_runs "$VIGIL" -t -f "$CONF" | stats)

printf '\n| tool (config test) | runs | min ms | median ms | max ms |\n'
printf '|---|---|---|---|---|\n'
printf '| keepalived %s `-t` | %d | %d | %d | %d |\n' "$("$KEEPALIVED" --version 2>&1 | head -1 | awk '{print $2}')" "$RUNS" "$kmin" "$kmed" "$kmax"
printf '| vigil `-t` (release) | %d | %d | %d | %d |\n' "$RUNS" "$vmin" "$vmed" "$vmax"
ratio=$(awk -v v="$vmed" -v k="$kmed" 'BEGIN { if (k > 0) printf "%.2f", v / k; else print "n/a" }')
printf '\nvigil/keepalived median ratio: %s (target <= 1.00)\n' "$ratio"
