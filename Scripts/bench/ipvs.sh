#!/usr/bin/env bash
# Benchmark: ipvsctl vs ipvsadm on a 1,000-service x 10-destination table, in ONE lab VM boot.
#   restore: `ipvsctl restore FILE` vs `ipvsadm -R < FILE` (table flushed before each run)
#   list:    `ipvsctl list -n`     vs `ipvsadm -Ln` of the loaded table
# Targets: restore <= 0.5x ipvsadm, list <= 1.0x ipvsadm. Prints a table with the ratios.
#   make bench-ipvs            (REPS=5 LIST_REPS=9 SERVICES=1000 DESTS=10 to change the shape)
#
# Where the binaries run from: the guest sees the host's files over 9p without a page cache, so
# every run of a binary kept on the share re-reads, page by page, what it touches. A packaged
# binary sits on a local disk instead. So both tools are installed, the same way, into one
# guest-local tmpfs directory (`install -m 755`, as a package would) and timed from there; their
# shared libraries (libnl, libc, libstdc++) still come from the 9p root for both. For reference,
# the last row times both copied side by side onto the 9p share (REPS_9P runs), where size counts.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${REPS:-5}
SERVICES=${SERVICES:-1000}
DESTS=${DESTS:-10}
LIST_REPS=${LIST_REPS:-9}
REPS_9P=${REPS_9P:-3}

echo "bench-ipvs: building release ipvsctl (static Swift runtime, stripped: fast start under emulation)..." >&2
# Stripped as a packaged binary is (ipvsadm is too): the guest reads executables over 9p without a
# page cache, so every run pays for the pages it touches, and the symbol tables nearly double the file.
swift build -c release --product ipvsctl --static-swift-stdlib -Xlinker --strip-all >&2
bin=$(swift build -c release --static-swift-stdlib -Xlinker --strip-all --show-bin-path)/ipvsctl

work=$(mktemp -d /tmp/vigil-bench-ipvs.XXXXXX)
trap 'rm -rf "$work"' EXIT
rules="$work/table.rules"
# Documentation ranges only: services 192.0.2.1-100 x ports 80-89, servers in 198.51.100.0/24.
awk -v S="$SERVICES" -v D="$DESTS" 'BEGIN {
  for (s = 0; s < S; s++) {
    vip = sprintf("192.0.2.%d:%d", (s % 100) + 1, 80 + int(s / 100))
    print "-A -t " vip " -s wlc"
    for (d = 0; d < D; d++)
      printf "-a -t %s -r 198.51.100.%d:%d -m -w %d\n", vip, ((s + d) % 250) + 1, 8000 + d, (d % 5) + 1
  }
}' > "$rules"
echo "bench-ipvs: $(grep -c '^-A' "$rules") services, $(grep -c '^-a' "$rules") destinations; booting the lab VM..." >&2

# The 9p copies for the reference row, side by side on the share.
cp "$(command -v ipvsadm)" "$work/ipvsadm"
cp "$bin" "$work/ipvsctl"

cat > "$work/guest.sh" <<GUEST
set -u
now() { date +%s.%N; }
t() { local a b; a=\$(now); "\$@" > /dev/null; local rc=\$?; b=\$(now); echo "\$b - \$a" | bc; return \$rc; }
# Same, with standard input from a file (no extra shell in the timed part).
tin() { local a b f=\$1; shift; a=\$(now); "\$@" < "\$f" > /dev/null; local rc=\$?; b=\$(now); echo "\$b - \$a" | bc; return \$rc; }
inst=\$(mktemp -d /dev/shm/vigil-bench.XXXXXX)
install -m 755 "\$(command -v ipvsadm)" "\$inst/ipvsadm"
install -m 755 "$bin" "\$inst/ipvsctl"
adm=\$inst/ipvsadm
ctl=\$inst/ipvsctl
for i in \$(seq $REPS); do
  \$adm -C
  echo "adm_restore \$(tin $rules \$adm -R)"
  \$adm -C
  echo "ctl_restore \$(t \$ctl restore $rules)"
done
n=\$(\$adm -Sn | wc -l)
echo "check_lines \$n"
for i in \$(seq $LIST_REPS); do
  echo "adm_list \$(t \$adm -Ln)"
  echo "ctl_list \$(t \$ctl list -n)"
done
for i in \$(seq $REPS_9P); do
  echo "adm_list9p \$(t $work/ipvsadm -Ln)"
  echo "ctl_list9p \$(t $work/ipvsctl list -n)"
done
if cmp -s <(\$adm -Ln) <(\$ctl list -n); then echo "check_same yes"; else echo "check_same no"; fi
\$adm -C
rm -rf "\$inst"
GUEST
Scripts/vm/run.sh "bash $work/guest.sh" > "$work/results" || { cat "$work/results"; exit 1; }

awk -v reps="$REPS" -v lreps="$LIST_REPS" -v svc="$SERVICES" -v dst="$DESTS" '
  function median(name,   n, i, j, t, a) {
    n = cnt[name]; for (i = 1; i <= n; i++) a[i] = v[name, i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  /^(adm|ctl)_/ { cnt[$1]++; v[$1, cnt[$1]] = $2 }
  /^check_lines/ { lines = $2 }
  /^check_same/ { same = $2 }
  END {
    printf "IPVS benchmark: %d services x %d destinations, median of %d restores and %d listings (%d on 9p), one lab VM boot (TCG emulation)\n", svc, dst, reps, lreps, cnt["adm_list9p"]
    printf "| %-28s | %12s | %12s | %7s | %8s | %-6s |\n", "operation", "ipvsadm (s)", "ipvsctl (s)", "ratio", "target", "met"
    printf "|%s|%s|%s|%s|%s|%s|\n", "------------------------------", "--------------", "--------------", "---------", "----------", "--------"
    ar = median("adm_restore"); cr = median("ctl_restore"); al = median("adm_list"); cl = median("ctl_list")
    printf "| %-28s | %12.3f | %12.3f | %6.2fx | %8s | %-6s |\n", "restore (ipvsadm -R)", ar, cr, cr / ar, "<= 0.5x", (cr / ar <= 0.5 ? "yes" : "NO")
    printf "| %-28s | %12.3f | %12.3f | %6.2fx | %8s | %-6s |\n", "list -n (ipvsadm -Ln)", al, cl, cl / al, "<= 1.0x", (cl / al <= 1.0 ? "yes" : "NO")
    a9 = median("adm_list9p"); c9 = median("ctl_list9p")
    printf "| %-28s | %12.3f | %12.3f | %6.2fx | %8s | %-6s |\n", "list -n, binaries on 9p", a9, c9, c9 / a9, "(info)", "-"
    printf "rules in table after restore: %d lines of ipvsadm -Sn (expected %d); ipvsctl list -n == ipvsadm -Ln: %s\n", lines, svc * (dst + 1), same
  }' "$work/results"
