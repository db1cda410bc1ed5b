#!/usr/bin/env bash
# Builds everything and runs every test suite:
#   1. Rust unit and integration tests (cargo nextest, all of them even after a failure),
#   2. the layering check: neither the gateway nor the CLI may depend on RocksDB or a
#      server crate,
#   3. the fuzz targets (fuzz/, scripts/fuzz.sh), 15 s each over their committed corpus,
#   4. the Python cluster tests (pytest tests/) against the freshly built binaries.
# Prints a summary line and exits non-zero if anything failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

bash scripts/install-deps.sh

if ! cargo build --workspace --bins; then
    echo "SUMMARY: FAILED (cargo build --workspace --bins)"
    exit 1
fi

passed=()
failed=()
step() {
    local name="$1"
    shift
    echo
    echo "==> $name"
    if "$@"; then
        echo "==> $name: ok"
        passed+=("$name")
    else
        echo "==> $name: FAILED"
        failed+=("$name")
    fi
}

# Fails if a client-side crate pulls in RocksDB or a server crate.
check_layering() {
    local status=0 pkg tree bad
    for pkg in trireme-gateway trireme-cli; do
        if ! tree="$(cargo tree -p "$pkg" -e normal --prefix none)"; then
            echo "cargo tree -p $pkg failed"
            status=1
            continue
        fi
        bad="$(grep -E '^(rocksdb|librocksdb-sys|trireme-meta|trireme-chunkserver) ' <<<"$tree" | sort -u || true)"
        if [ -n "$bad" ]; then
            echo "ERROR: $pkg must not depend on RocksDB or a server crate, but depends on:"
            echo "$bad" | sed 's/^/    /'
            status=1
        else
            echo "$pkg: no RocksDB, no server crates"
        fi
    done
    return "$status"
}

python_tests() {
    TRIREME_BIN_DIR="$TARGET_DIR/debug" python3 -m pytest -v tests/
}

step "rust tests (cargo nextest)" cargo nextest run --workspace --no-fail-fast
step "layering check" check_layering
step "fuzz targets (cargo fuzz, 15 s each)" bash scripts/fuzz.sh 15
step "python tests (pytest)" python_tests

echo
if [ "${#failed[@]}" -eq 0 ]; then
    echo "SUMMARY: all ${#passed[@]} suites passed (${passed[*]})"
else
    echo "SUMMARY: ${#failed[@]} of $((${#passed[@]} + ${#failed[@]})) suites FAILED: ${failed[*]}"
    exit 1
fi
