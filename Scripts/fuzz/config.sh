#!/usr/bin/env bash
# Fuzzes the keepalived.conf parser with libFuzzer for N seconds (default 60): `make fuzz-config SECONDS=N`.
# SwiftPM cannot link a libFuzzer executable (undefined <target>_main), so this compiles VigilSupport and
# KeepalivedConfig as static libraries with -sanitize=fuzzer,address and links the @_cdecl entry point.
# The corpus starts from Fixtures/config; crashes land in .build/fuzz/artifacts/ and fail the run.
set -euo pipefail
SECS="${1:-60}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/.build/fuzz"
SWIFTC="${SWIFTC:-swiftc}"
FLAGS=(-sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6)
mkdir -p "$OUT/corpus" "$OUT/artifacts"
cd "$ROOT"

echo "fuzz-config: building fuzzer (log: $OUT/build.log)"
build() {
"$SWIFTC" "${FLAGS[@]}" -module-name VigilSupport -emit-module -emit-module-path "$OUT/VigilSupport.swiftmodule" \
    -emit-library -static -o "$OUT/libVigilSupport.a" Sources/VigilSupport/*.swift
"$SWIFTC" "${FLAGS[@]}" -module-name KeepalivedConfig -I "$OUT" -emit-module -emit-module-path "$OUT/KeepalivedConfig.swiftmodule" \
    -emit-library -static -o "$OUT/libKeepalivedConfig.a" Sources/KeepalivedConfig/*.swift
"$SWIFTC" "${FLAGS[@]}" -module-name ConfigFuzzer -I "$OUT" Scripts/fuzz/ConfigFuzzer.swift \
    "$OUT/libKeepalivedConfig.a" "$OUT/libVigilSupport.a" -o "$OUT/config-fuzzer"
}
# The linker warns about ASan's local symbols; keep that noise in the log unless the build fails.
if ! build >"$OUT/build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$OUT/build.log" >&2
    exit 1
fi

# Seed the corpus with every fixture (valid, invalid, included fragments, templates).
find Fixtures/config -type f \( -name '*.conf' -o -name '*.inc' -o -name '*.j2' \) -exec cp {} "$OUT/corpus/" \;

source "$ROOT/Scripts/fuzz/run-fuzzer.sh"
fuzz_run fuzz-config "$OUT/config-fuzzer" "$OUT" "$SECS" -dict="$ROOT/Scripts/fuzz/keepalived.dict" -rss_limit_mb=4096 -max_len=16384
