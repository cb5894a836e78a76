#!/usr/bin/env bash
# Fuzzes the checkers' response decoders with libFuzzer: `Scripts/fuzz/decoders.sh TARGET SECONDS`,
# TARGET one of icmp, dns, udp, or all (each in turn). `make fuzz-icmp SECONDS=N` (and fuzz-dns,
# fuzz-udp) run one for N seconds; `make fuzz-decoders` runs each for a few seconds (part of `make test`).
# Each decoder is a dependency-free file, compiled with its entry point into one module with
# -sanitize=fuzzer,address (SwiftPM cannot link libFuzzer executables; see config.sh). Corpora
# grow in .build/fuzz/TARGET/corpus; crashes land in .build/fuzz/TARGET/artifacts/ and fail the run.
set -euo pipefail
TARGET="${1:?usage: decoders.sh icmp|dns|udp|all SECONDS}"
SECS="${2:-60}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SWIFTC="${SWIFTC:-swiftc}"
FLAGS=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6)
cd "$ROOT"

if [ "$TARGET" = all ]; then
    for t in icmp dns udp; do "$0" "$t" "$SECS"; done
    exit 0
fi

case "$TARGET" in
    icmp) SOURCES=(Sources/HealthCheck/ICMPEcho.swift Scripts/fuzz/ICMPFuzzer.swift) ;;
    dns) SOURCES=(Sources/HealthCheck/DNSMessage.swift Scripts/fuzz/DNSFuzzer.swift) ;;
    udp) SOURCES=(Sources/KeepalivedConfig/HexPattern.swift Sources/HealthCheck/UDPReply.swift Scripts/fuzz/UDPFuzzer.swift) ;;
    *) echo "decoders.sh: unknown target $TARGET (expected icmp, dns, udp or all)" >&2; exit 2 ;;
esac
OUT="$ROOT/.build/fuzz/$TARGET"
mkdir -p "$OUT/corpus" "$OUT/artifacts"

echo "fuzz-$TARGET: building fuzzer (log: $OUT/build.log)"
if ! "$SWIFTC" "${FLAGS[@]}" -module-name "${TARGET}Fuzzer" "${SOURCES[@]}" -o "$OUT/fuzzer" >"$OUT/build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$OUT/build.log" >&2
    exit 1
fi

# Seeds: a DNS response, an IPv4 echo reply with its header, hex texts with and without wildcards.
case "$TARGET" in
    dns) printf '\x12\x34\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01' >"$OUT/corpus/seed-response" ;;
    icmp) printf '\x45\x00\x00\x1c\x00\x00\x00\x00\x40\x01\x00\x00\x7f\x00\x00\x01\x7f\x00\x00\x01\x00\x00\xf7\xff\x00\x00\x08\x00' >"$OUT/corpus/seed-reply" ;;
    udp) printf '01 02 0a0b' >"$OUT/corpus/seed-payload"; printf 'x5 3X ff' >"$OUT/corpus/seed-reply" ;;
esac

source "$ROOT/Scripts/fuzz/run-fuzzer.sh"
fuzz_run "fuzz-$TARGET" "$OUT/fuzzer" "$OUT" "$SECS" -rss_limit_mb=2048 -max_len=4096
