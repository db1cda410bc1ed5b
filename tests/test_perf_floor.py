"""The performance floor (issue 6): a short `trireme bench` on a fresh default cluster (3
replicas, fsync on) fails CI if a figure drops below half of its target, so a regression is
caught the day it lands. The full run is `trireme bench` as in docs/performance.md.

Figures guarded (target, floor = half):
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
