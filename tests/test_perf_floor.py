"""The performance floor (issue 6): a short `trireme bench` on a fresh default cluster (3
replicas, fsync on) fails CI if a figure drops below half of its target, so a regression is
caught the day it lands. The full run is `trireme bench` as in docs/performance.md.

Figures guarded (target, floor = half; each small-object figure is the best of up to three
short runs, so a moment of load from the rest of the machine does not fail CI; the two
durable-PUT floors scale down with the data disk's fsync rate where it is below the reference
host's, see `fsync_scale`):
- 4 KiB PUT at concurrency 16: 2000/s -> 1000/s
- 4 KiB GET at concurrency 16: 3000/s -> 1500/s
- p50 at concurrency 1: GET 1 ms -> 2 ms, durable PUT 3 ms -> 6 ms

- 64 MiB GET at concurrency 16, every byte verified: 85% of disk sequential read -> 42.5%
  (asserted when the data came from the disk; a data directory on tmpfs serves from memory)
- 64 MiB PUT at concurrency 16: 85% of disk write / 3 -> 42.5% (measured 54-78%; the ceiling
  is measured on 1 GiB so a disk's write cache does not inflate it). The cluster's CPU per GiB
  is printed, not asserted: its target (2 CPU-s) is not met for PUTs on one host, see
  docs/performance.md.

Not guarded here: the LIST of a 1000-key page from a bucket of 1 million keys, which needs
minutes of PUTs (explicit command in docs/performance.md).
"""

from __future__ import annotations

from checks import figure
from test_bench import op, phase, run_ok

TEST = "perf-floor"


ATTEMPTS = 3


def best_of(measure, good, better) -> dict:
    """Runs `measure` until `good(result)` holds, at most ATTEMPTS times, and returns the best
    result by `better`: a figure is judged on its best short run, so a moment of load from
    the rest of the machine does not fail CI, while a regression (every run below) does."""
    best = None
    for _ in range(ATTEMPTS):
        o = measure()
        assert o["errors"] == 0, o["first_errors"]
        if best is None or better(o, best):
            best = o
        if good(best):
            break
    return best


# fsync'd 4 KiB writes per second of the data disk on the host the targets were set on
# (docs/performance.md, "Where the targets stand"): its slowest measurements.
REFERENCE_FSYNC_DEPTH1 = 5900
REFERENCE_FSYNC_DEPTH16 = 17000


def fsync_scale(c) -> tuple[float, float, dict]:
    """How the data disk's fsync rates compare with the reference host's, at depth 1 and 16
    (at most 1): a durable PUT waits for fsyncs on three meta-servers, so on a disk whose
    fsyncs are several times slower (seen on a VM: 1270-3580/s at depth 1 against 5900-7500)
    the PUT floors are scaled down by the same ratio; a regression still fails."""
    r = run_ok(c, "--limits", str(c.data_dir), "--limits-size", "64MiB", "--limits-time", "1s")
    lim = r["limits"]
    d1 = min(1.0, lim["fsync_4k_per_s_depth1"] / REFERENCE_FSYNC_DEPTH1)
    d16 = min(1.0, lim["fsync_4k_per_s_depth16"] / REFERENCE_FSYNC_DEPTH16)
    return d1, d16, lim


def test_small_objects_floor(fresh_cluster):
    c = fresh_cluster()
    scale1, scale16, lim = fsync_scale(c)
    put16_floor = 1000 * scale16
    put1_floor_ms = 6 / scale1
    figure(
        TEST,
        "fsync'd 4 KiB writes",
        f"{lim['fsync_4k_per_s_depth1']:.0f}/s at depth 1, {lim['fsync_4k_per_s_depth16']:.0f}/s at depth 16: "
        f"PUT floors {put16_floor:.0f}/s at c16, p50 {put1_floor_ms:.1f} ms at c1",
    )
    small = ["--size", "4KiB", "--bucket", "floor"]
    # Prepares the objects the GETs read.
    run_ok(c, "get", *small, "-c", "1", "--objects", "1", "--prepare-objects", "200")
    faster = lambda o, b: o["ops_per_s"] > b["ops_per_s"]  # noqa: E731
    quicker = lambda o, b: o["latency_ms"]["p50"] < b["latency_ms"]["p50"]  # noqa: E731
    put16 = best_of(
        lambda: op(run_ok(c, "put", *small, "-c", "16", "--duration", "5s"), "run", "put"),
        lambda o: o["ops_per_s"] >= put16_floor,
        faster,
    )
    get16 = best_of(
        lambda: op(run_ok(c, "get", *small, "-c", "16", "--duration", "5s", "--no-prepare", "--prepare-objects", "200"), "run", "get"),
        lambda o: o["ops_per_s"] >= 1500,
        faster,
    )
    put1 = best_of(
        lambda: op(run_ok(c, "put", "--size", "4KiB", "-c", "1", "--duration", "3s", "--bucket", "floor1"), "run", "put"),
        lambda o: o["latency_ms"]["p50"] <= put1_floor_ms,
        quicker,
    )
    get1 = best_of(
        lambda: op(run_ok(c, "get", *small, "-c", "1", "--duration", "3s", "--no-prepare", "--prepare-objects", "200"), "run", "get"),
        lambda o: o["latency_ms"]["p50"] <= 2,
        quicker,
    )
    figure(TEST, "4 KiB PUT c16", f"{put16['ops_per_s']:.0f}/s (target 2000, floor {put16_floor:.0f}), p99 {put16['latency_ms']['p99']:.1f} ms")
    figure(TEST, "4 KiB GET c16", f"{get16['ops_per_s']:.0f}/s (target 3000, floor 1500)")
    figure(TEST, "4 KiB PUT c1 p50", f"{put1['latency_ms']['p50']:.2f} ms (target 3, floor {put1_floor_ms:.1f})")
    figure(TEST, "4 KiB GET c1 p50", f"{get1['latency_ms']['p50']:.2f} ms (target 1, floor 2)")
    assert put16["ops_per_s"] >= put16_floor, put16
    assert get16["ops_per_s"] >= 1500, get16
    assert put1["latency_ms"]["p50"] <= put1_floor_ms, put1
    assert get1["latency_ms"]["p50"] <= 2, get1


def ratio(report: dict, phase_name: str, op_name: str) -> dict:
    found = [r for r in report["ratios"] if r["phase"] == phase_name and r["op"] == op_name]
    assert len(found) == 1, report["ratios"]
    return found[0]


def test_large_objects_floor(fresh_cluster):
    c = fresh_cluster()
    limits = ["--limits", str(c.data_dir), "--limits-size", "1GiB", "--limits-time", "1s"]
    large = ["--size", "64MiB", "-c", "16", "--bucket", "floor-large"]
    put = run_ok(c, "put", *large, "--objects", "32", *limits, timeout=300)
    put_op, put_share = op(put, "run", "put"), ratio(put, "run", "put")
    servers = phase(put, "run")["servers"]
    get = run_ok(c, "get", *large, "--duration", "5s", "--no-prepare", "--prepare-objects", "16", "--verify", *limits, timeout=300)
    get_op, get_share = op(get, "run", "get"), ratio(get, "run", "get")
    figure(
        TEST,
        "64 MiB PUT c16",
        f"{put_share['measured']:.0f} MiB/s = {put_share['ratio'] * 100:.0f}% of {put_share['ceiling_is']} "
        f"(target 85%, floor 42.5%); cluster {servers['cpu_s_per_gib']:.2f} CPU-s per GiB",
    )
    figure(
        TEST,
        "64 MiB GET c16 verified",
        f"{get_share['measured']:.0f} MiB/s = {get_share['ratio'] * 100:.0f}% of {get_share['ceiling_is']} (target 85%, floor 42.5%)",
    )
    for o in (put_op, get_op):
        assert o["errors"] == 0, o["first_errors"]
    assert servers["cpu_s"].keys() >= {"gateway", "chunkserver", "meta-server"}, servers
    assert put_share["ratio"] >= 0.425, put_share
    if "disk sequential read" in get_share["ceiling_is"]:
        assert get_share["ratio"] >= 0.425, get_share
