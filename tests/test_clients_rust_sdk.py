"""The AWS SDK for Rust (aws-sdk-s3) against the shared cluster: builds and runs the ignored
integration test of the workspace crate `tests/sdk` (trireme-sdk-tests) with the
TRIREME_TEST_* variables pointing at the cluster. The SDK's defaults are what is tested:
CRC32 request checksums (a header for in-memory bodies, aws-chunked with a trailer for
streaming ones), response checksum validation, path-style addressing."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from checks import figure
from clientutil import run

REPO = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT = 1800  # a cold build of aws-sdk-s3 on 2 busy cores


def test_rust_sdk(shared_cluster):
    c = shared_cluster
    cargo = shutil.which("cargo")
    assert cargo, "cargo is not on PATH; the Rust SDK test needs it"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRIREME_TEST_"))}
    base = [cargo, "test", "--manifest-path", str(REPO / "Cargo.toml"), "-p", "trireme-sdk-tests"]

    t0 = time.monotonic()
    build = run([*base, "--no-run"], env=env, timeout=BUILD_TIMEOUT, cwd=REPO)
    build.check()
    build_s = time.monotonic() - t0

    env.update(
        TRIREME_TEST_ENDPOINT=c.endpoint,
        TRIREME_TEST_ACCESS_KEY=c.access_key,
        TRIREME_TEST_SECRET_KEY=c.secret_key,
        TRIREME_TEST_REGION=c.region,
        RUST_BACKTRACE="0",
    )
    t0 = time.monotonic()
    r = run([*base, "--", "--ignored", "--nocapture"], env=env, timeout=BUILD_TIMEOUT, cwd=REPO)
    run_s = time.monotonic() - t0
    print(r.stdout)
    print(r.stderr[-4000:])
    r.check()
    results = re.findall(r"test result: (\w+)\. (\d+) passed; (\d+) failed; (\d+) ignored", r.stdout)
    # Exactly one test ran, in the s3_sdk target, and it passed; nothing was left ignored.
    assert ("ok", "1", "0", "0") in results, results
    assert all(res == "ok" and failed == "0" and ignored == "0" for res, _, failed, ignored in results), results
    assert sum(int(p) for _, p, _, _ in results) == 1, results
    assert "test sdk_put_get_list_multipart_delete ... ok" in r.stdout, r.stdout
    figure("rust sdk", "cargo build (s)", f"{build_s:.1f}")
    figure("rust sdk", "test run (s)", f"{run_s:.1f}")
    for line in r.stdout.splitlines():
        if line.startswith("[figure] rust sdk: "):
            figure("rust sdk", "objects", line.split(": ", 1)[1])


def test_rust_sdk_refuses_to_pass_without_a_cluster():
    """Run with --ignored but without the variables, the SDK test fails rather than passes."""
    cargo = shutil.which("cargo")
    assert cargo, "cargo is not on PATH"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TRIREME_TEST_"))}
    env["RUST_BACKTRACE"] = "0"
    base = [cargo, "test", "--manifest-path", str(REPO / "Cargo.toml"), "-p", "trireme-sdk-tests"]
    r = run([*base, "--", "--ignored"], env=env, timeout=BUILD_TIMEOUT, cwd=REPO)
    assert r.returncode != 0, r.stdout
    assert "TRIREME_TEST_ENDPOINT" in r.stdout and "1 failed" in r.stdout, r.stdout[-3000:]
    # ... and without --ignored it is reported as ignored, not as passed.
    r = run(base, env=env, timeout=BUILD_TIMEOUT, cwd=REPO)
    r.check()
    assert "test sdk_put_get_list_multipart_delete ... ignored" in r.stdout, r.stdout[-3000:]
