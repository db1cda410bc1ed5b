"""The performance floor (issue 6): a short `trireme bench` on a fresh default cluster (3
replicas, fsync on) fails CI if a figure drops below half of its target, so a regression is
caught the day it lands. The full run is `trireme bench` as in docs/performance.md.

Figures guarded (target, floor = half):
- 4 KiB PUT at concurrency 16: 2000/s -> 1000/s
- 4 KiB GET at concurrency 16: 3000/s -> 1500/s
- p50 at concurrency 1: GET 1 ms -> 2 ms, durable PUT 3 ms -> 6 ms

Not guarded here: the 64 MiB PUT, below half of its target today (about 36% of disk write / 3
on 2 cores: MD5 for the ETag dominates, see docs/performance.md); the 64 MiB GET and the LIST of
a 1000-key page from a bucket of 1 million keys, which need gigabytes of data or minutes of
PUTs (explicit commands in docs/performance.md).
"""

from __future__ import annotations

from checks import figure
from test_bench import op, run_ok

TEST = "perf-floor"


def test_small_objects_floor(fresh_cluster):
    c = fresh_cluster()
    put16 = op(run_ok(c, "put", "--size", "4KiB", "-c", "16", "--duration", "5s", "--bucket", "floor"), "run", "put")
    get16 = op(
        run_ok(c, "get", "--size", "4KiB", "-c", "16", "--duration", "5s", "--bucket", "floor", "--prepare-objects", "200"),
        "run",
        "get",
    )
    put1 = op(run_ok(c, "put", "--size", "4KiB", "-c", "1", "--duration", "3s", "--bucket", "floor1"), "run", "put")
    get1 = op(
        run_ok(c, "get", "--size", "4KiB", "-c", "1", "--duration", "3s", "--bucket", "floor", "--no-prepare", "--prepare-objects", "200"),
        "run",
        "get",
    )
    figure(TEST, "4 KiB PUT c16", f"{put16['ops_per_s']:.0f}/s (target 2000, floor 1000), p99 {put16['latency_ms']['p99']:.1f} ms")
    figure(TEST, "4 KiB GET c16", f"{get16['ops_per_s']:.0f}/s (target 3000, floor 1500)")
    figure(TEST, "4 KiB PUT c1 p50", f"{put1['latency_ms']['p50']:.2f} ms (target 3, floor 6)")
    figure(TEST, "4 KiB GET c1 p50", f"{get1['latency_ms']['p50']:.2f} ms (target 1, floor 2)")
    for o in (put16, get16, put1, get1):
        assert o["errors"] == 0, o["first_errors"]
    assert put16["ops_per_s"] >= 1000, put16
    assert get16["ops_per_s"] >= 1500, get16
    assert put1["latency_ms"]["p50"] <= 6, put1
    assert get1["latency_ms"]["p50"] <= 2, get1
