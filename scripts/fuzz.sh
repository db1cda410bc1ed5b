#!/usr/bin/env bash
# Builds the cargo-fuzz targets (fuzz/, nightly, into fuzz/target) and runs each for SECONDS
# (default 20) against a scratch copy of its committed corpus (fuzz/corpus/NAME), so the new
# inputs a run finds are not committed. Fails on any crash, panic, leak, timeout or
# allocation over the limits below; the input that failed is kept in fuzz/artifacts/NAME/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: every target)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_EACH="${1:-20}"
shift || true
ALL_TARGETS=(sigv4 aws_chunked range xml chunk_file)
if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    TARGETS=("${ALL_TARGETS[@]}")
fi

# libFuzzer limits: the whole process stays under 512 MiB, any one allocation under 256 MiB
# (a forged length must not turn into a huge buffer), any one input under 10 s.
LIMITS=(-rss_limit_mb=512 -malloc_limit_mb=256 -timeout=10)

log() { echo "fuzz: $*"; }

start=$(date +%s)
if ! cargo +nightly fuzz build; then
    log "build FAILED"
    exit 1
fi
log "built in $(($(date +%s) - start)) s"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${TARGETS[@]}"; do
    mkdir -p "$scratch/$t"
    cp -r "fuzz/corpus/$t/." "$scratch/$t/"
    log "$t: ${SECONDS_EACH} s over $(find "$scratch/$t" -type f | wc -l) seeds"
    if cargo +nightly fuzz run "$t" "$scratch/$t" -- \
        -max_total_time="$SECONDS_EACH" "${LIMITS[@]}" -print_final_stats=1 \
        >"$scratch/$t.log" 2>&1; then
        log "$t: ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$scratch/$t.log" | grep -Eo '[0-9]+$' || echo '?') runs)"
    else
        log "$t: FAILED"
        tail -n 60 "$scratch/$t.log"
        failed+=("$t")
    fi
done

log "total $(($(date +%s) - start)) s"
if [ "${#failed[@]}" -gt 0 ]; then
    log "FAILED: ${failed[*]} (reproduce: cargo +nightly fuzz run NAME fuzz/artifacts/NAME/<file>)"
    exit 1
fi
log "all ${#TARGETS[@]} targets ok"
