#!/usr/bin/env bash
# Installs what building and testing Trireme needs, and only what is missing:
#   apt:    librocksdb-dev libclang-dev clang pkg-config xfsprogs e2fsprogs slowhttptest (the slow-client
#           tests, tests/test_bad_input_slow.py), nftables iproute2 (trireme torture: network
#           namespaces and fault rules), faketime (trireme torture: libfaketime for the clock-skew
#           fault), s3cmd and rclone (when not on PATH)
#   python: boto3 awscli pytest
#   cargo:  cargo-nextest, cargo-fuzz (the fuzz targets, scripts/fuzz.sh; they build with the
#           nightly toolchain, which must already be installed with rustup)
# Idempotent: a second run installs nothing. Uses sudo when not root (if sudo exists).
set -euo pipefail

APT_PACKAGES=(librocksdb-dev libclang-dev clang pkg-config xfsprogs e2fsprogs slowhttptest nftables iproute2 faketime)

log() { echo "install-deps: $*"; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    fi
fi

apt_updated=0
apt_install() {
    if [ "$(id -u)" -ne 0 ] && [ "${#SUDO[@]}" -eq 0 ]; then
        log "need to install $* but I am not root and sudo is not available" >&2
        exit 1
    fi
    if [ "$apt_updated" -eq 0 ]; then
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
        apt_updated=1
    fi
    log "apt-get install $*"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# ---- apt packages
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if ! dpkg -s "$pkg" >/dev/null 2>&1; then
        missing+=("$pkg")
    fi
done
if ! command -v python3 >/dev/null 2>&1; then
    missing+=(python3 python3-pip)
fi
# S3 clients the cluster tests drive (tests/test_clients_s3cmd_rclone.py); any install on the
# PATH will do (e.g. s3cmd from PyPI), else Debian's packages.
for prog in s3cmd rclone; do
    if ! command -v "$prog" >/dev/null 2>&1; then
        missing+=("$prog")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi

# ---- Python packages
pip_missing=()
python3 -c "import boto3" >/dev/null 2>&1 || pip_missing+=(boto3)
python3 -c "import pytest" >/dev/null 2>&1 || pip_missing+=(pytest)
command -v aws >/dev/null 2>&1 || pip_missing+=(awscli)
if [ "${#pip_missing[@]}" -gt 0 ]; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
        apt_install python3-pip
    fi
    log "pip install ${pip_missing[*]}"
    # A virtualenv/pyenv Python takes a plain install; a Debian system Python needs --user
    # and, since Debian 12, --break-system-packages.
    python3 -m pip install -q "${pip_missing[@]}" \
        || python3 -m pip install -q --user "${pip_missing[@]}" \
        || python3 -m pip install -q --user --break-system-packages "${pip_missing[@]}"
fi

# ---- cargo-nextest
if ! cargo nextest --version >/dev/null 2>&1; then
    log "cargo install --locked cargo-nextest"
    cargo install --locked cargo-nextest
fi

# ---- cargo-fuzz
if ! cargo fuzz --version >/dev/null 2>&1; then
    log "cargo install --locked cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

log "all dependencies present"
