#!/usr/bin/env bash
# Benchmark of the IPVS library itself (IPVSClient, optimised build, no CLI) against ipvsadm, in
# one lab VM boot: apply vs `ipvsadm -R`, table() vs `ipvsadm -Ln`, for SERVICES x DESTS.
#   bash Scripts/bench/ipvs-library.sh          (REPS=3 SERVICES=1000 DESTS=10)
# `make bench-ipvs` (Scripts/bench/ipvs.sh) measures the same through `ipvsctl`.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${REPS:-3}
SERVICES=${SERVICES:-1000}
DESTS=${DESTS:-10}
work=$(mktemp -d /tmp/vigil-bench-lib.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "bench-ipvs-library: building with -O..." >&2
inc="-I Sources/CNetlink -Xcc -I/usr/include/libnl3"
swiftc -O -parse-as-library -emit-module -emit-library -static -module-name VigilSupport \
  -emit-module-path "$work/VigilSupport.swiftmodule" -o "$work/libVigilSupport.a" Sources/VigilSupport/*.swift
swiftc -O -parse-as-library -emit-module -emit-library -static -module-name IPVS -I "$work" $inc \
  -emit-module-path "$work/IPVS.swiftmodule" -o "$work/libIPVS.a" $(find Sources/IPVS -name '*.swift')
swiftc -O -module-name IPVSLibraryBench -I "$work" $inc -L "$work" -lIPVS -lVigilSupport -lnl-3 -lnl-genl-3 \
  Scripts/bench/ipvs-library-main.swift -o "$work/bench"

awk -v S="$SERVICES" -v D="$DESTS" 'BEGIN {
  for (s = 0; s < S; s++) {
    vip = sprintf("192.0.2.%d:%d", (s % 100) + 1, 80 + int(s / 100))
    print "-A -t " vip " -s wlc"
    for (d = 0; d < D; d++)
      printf "-a -t %s -r 198.51.100.%d:%d -m -w %d\n", vip, ((s + d) % 250) + 1, 8000 + d, (d % 5) + 1
  }
}' > "$work/rules"

cat > "$work/guest.sh" <<GUEST
now() { date +%s.%N; }
for i in \$(seq $REPS); do
  ipvsadm -C
  a=\$(now); ipvsadm -R < $work/rules; b=\$(now); echo "adm_apply \$(echo "\$b - \$a" | bc)"
  a=\$(now); ipvsadm -Ln > /dev/null; b=\$(now); echo "adm_list \$(echo "\$b - \$a" | bc)"
  ipvsadm -C
  $work/bench $SERVICES $DESTS
done
GUEST
out=$(Scripts/vm/run.sh "bash $work/guest.sh")
echo "$out" | grep -q lib_counts || { echo "$out" >&2; exit 1; }
echo "$out" | awk -v S="$SERVICES" -v D="$DESTS" '
  $1 ~ /_apply|_list/ { sum[$1] += $2; n[$1]++ }
  $1 == "lib_counts" { counts = $2 " services, " $3 " destinations listed" }
  END {
    printf "IPVS library vs ipvsadm, %d services x %d destinations (mean of %d runs; %s)\n", S, D, n["lib_apply"], counts
    printf "| operation | IPVSClient (s) | ipvsadm (s) | ratio |\n|---|---|---|---|\n"
    a = sum["lib_apply"] / n["lib_apply"]; b = sum["adm_apply"] / n["adm_apply"]
    printf "| apply / -R | %.3f | %.3f | %.2f |\n", a, b, a / b
    a = sum["lib_list"] / n["lib_list"]; b = sum["adm_list"] / n["adm_list"]
    printf "| table() / -Ln | %.3f | %.3f | %.2f |\n", a, b, a / b
  }'
