# Sourced by the fuzz scripts: fuzz_run NAME FUZZER OUT SECONDS [LIBFUZZER OPTIONS…] runs FUZZER over
# OUT/corpus for SECONDS, keeps the log in OUT/last-run.log and crashes in OUT/artifacts/, prints
# libFuzzer's summary lines and exits non-zero on a crash, hang or leak.
fuzz_run() {
    local name=$1 fuzzer=$2 out=$3 secs=$4 status
    shift 4
    echo "$name: running for ${secs}s"
    set +e
    "$fuzzer" "$out/corpus" -max_total_time="$secs" -timeout=10 -print_final_stats=1 -artifact_prefix="$out/artifacts/" "$@" 2>&1 \
        | tee "$out/last-run.log" | grep -E "^#[0-9]+ +(INITED|DONE)|ERROR|SUMMARY|stat::|Done "
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ]; then
        echo "$name: FAILED (status $status); see $out/last-run.log and $out/artifacts/" >&2
        exit "$status"
    fi
    echo "$name: no crash, hang or leak in ${secs}s; corpus: $(ls "$out/corpus" | wc -l) inputs"
}
