#!/usr/bin/env bash
# Builds Trireme and runs a local cluster: scripts/up.sh [trireme up ARGS...]
# (e.g. --data-dir DIR --s3-addr 127.0.0.1:9000). The data directory is relative to the
# current directory, default ./trireme-data.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

bash "$ROOT/scripts/install-deps.sh" >&2
# Build from the repository root: cargo reads .cargo/config.toml (which links Debian's
# librocksdb instead of compiling RocksDB for half an hour) relative to the working directory.
(cd "$ROOT" && cargo build --workspace --bins) >&2
exec "$TARGET_DIR/debug/trireme" up "$@"
