"""Fail-slow disks (issue 4), with the chunkserver's test-only fault injector
(`TRIREME_FAULT_INJECTION=1`; a number in `<disk>/.trireme-inject-delay-ms` makes every chunk
read, chunk write and health probe on that disk sleep that long):

- one disk made 1.2 s slow: its chunkserver's health worker finds its probe latency far above
  its peer disk's and reports it suspect within seconds (`trireme disk list --json`); the meta
  leader lists its replicas last, so GETs of objects with a replica on it stay fast and it
  serves no chunk read (chunkserver `/metrics`); no new replica is placed on it; the ledger
  (`trireme repair status --json`) still counts its replicas as healthy; once the delay is
  gone it is healthy again after a probe and takes new replicas;
- both disks of one chunkserver made 1.2 s slow (each as slow as its peer, and below
  `slow_probe_ms`, so its own health worker sees nothing wrong): the meta leader, which
  compares every disk with the other chunkservers' disks, reports both suspect, and GETs of
  objects with a replica there stay fast. (Hedged reads of a stalled replica, which protect
  reads before any verdict, are tested in `gateway/tests/durability.rs`.)

Prints the detection and recovery times and the GET latencies.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from pathlib import Path

from checks import chunk_files, figure, map_chunks_to_objects, new_chunks, placement_problems
from durautil import (
    CHUNK,
    FAULT_ENV,
    HEARTBEAT_MS,
    TIMEOUT_MS,
    clear_disk_delays,
    describe,
    disks_by_path,
    metric,
    prometheus,
    put_many,
    set_disk_delay,
    wait_repair_complete,
)
from harness import Cluster, wait_until
from s3util import random_bytes

KiB = 1024
TEST = "fail-slow"
HEALTH_MS = 200
# The injected delay: far above a probe's few ms, below slow_probe_ms (2000 ms by default), so
# only the comparison with the peer disk makes a disk suspect.
SLOW_MS = 1200
READ_HEDGE_MS = 500  # the gateway's default read_hedge_ms
BUCKET = "slow"
READ_CHUNKS = "trireme_chunkserver_disk_read_chunks_total"


def slow_cluster(fresh_cluster) -> Cluster:
    """256 KiB chunks, disk probes every 200 ms, ledger sweeps every second, fault injection on."""
    return fresh_cluster(
        chunk_size=CHUNK,
        chunkserver_timeout_ms=TIMEOUT_MS,
        heartbeat_ms=HEARTBEAT_MS,
        extra_args=["--health-ms", str(HEALTH_MS), "--ledger-sweep-ms", "1000"],
        env=FAULT_ENV,
    )


def leader_disk(c: Cluster, disk: Path) -> dict:
    """The meta leader's DiskReport of `disk`."""
    return disks_by_path(c)[os.path.realpath(disk)][1]


def cli_disk(c: Cluster, disk: Path) -> dict:
    """`disk`'s row in `trireme disk list --json`."""
    want = os.path.realpath(disk)
    rows = c.cli("disk", "list", "--json").json()["disks"]
    for row in rows:
        if os.path.realpath(row["path"]) == want:
            return row
    raise AssertionError(f"`trireme disk list --json` has no disk at {disk}: {rows}")


def wait_disk_state(c: Cluster, disk: Path, state: str, timeout: float) -> float:
    """Waits until the meta leader lists `disk` in `state`; returns how long that took."""
    t0 = time.monotonic()
    wait_until(lambda: leader_disk(c, disk)["state"] == state, timeout, f"disk {disk} {state} at the meta leader", 0.05)
    return time.monotonic() - t0


def timed_get(s3, key: str, data: bytes) -> float:
    """One GET (no retries); asserts the bytes; returns its duration in seconds."""
    t = time.monotonic()
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    took = time.monotonic() - t
    assert body == data, f"{key}: wrong bytes ({len(body)} of {len(data)})"
    return took


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[min(len(s), max(1, math.ceil(q * len(s)))) - 1]


def ms(secs: float) -> str:
    return f"{secs * 1000:.0f} ms"


def chunk_reads(c: Cluster, cs_id: int, disk_id: str) -> float:
    page = prometheus(f"http://{c.proc('chunkserver', cs_id).addr}/metrics")
    return metric(page, READ_CHUNKS, disk=disk_id)


def gateway_counters(c: Cluster) -> tuple[float, float]:
    """(hedged reads, hedge wins) from the gateway's unsigned GET /metrics."""
    page = prometheus(f"{c.endpoint}/metrics")
    return metric(page, "trireme_gateway_hedged_reads_total"), metric(page, "trireme_gateway_hedge_wins_total")


def replicas_last(c: Cluster, key: str, replica: tuple[int, str]) -> bool:
    """In the meta leader's GetObject answer for `key`, `replica` is last wherever it appears."""
    obj = c.meta_call("/v1/meta/get_object", {"bucket": BUCKET, "key": key})["object"]
    for ch in obj["chunks"]:
        ids = [(r["chunkserver"], r["disk"]) for r in ch["replicas"]]
        if replica in ids and ids[-1] != replica:
            return False
    return True


def test_fail_slow_disk(fresh_cluster):
    c = slow_cluster(fresh_cluster)
    try:
        _fail_slow(c)
    finally:
        clear_disk_delays(c)


def _fail_slow(c: Cluster) -> None:
    s3w = c.s3()  # writes: standard retries
    s3r = c.s3(max_attempts=1, read_timeout=60)  # timed reads: no retry hides a slow one
    s3w.create_bucket(Bucket=BUCKET)
    multi = {f"m{i:02d}": random_bytes(2 * CHUNK + 1000 * i + 1) for i in range(24)}  # 3 chunks each
    single = {f"s{i:02d}": random_bytes(100 * KiB + i) for i in range(16)}  # 1 chunk each
    objects = {**multi, **single}
    put_many(s3w, BUCKET, objects)
    files = chunk_files(c)
    where = map_chunks_to_objects(files, objects, CHUNK)
    n = len(where)
    assert n == 24 * 3 + 16, f"expected 88 chunks, found {n}"
    problems = placement_problems({cid: files[cid] for cid in where})
    assert not problems, "bad placement:\n" + "\n".join(problems)
    wait_repair_complete(c, n, 30)

    # ------------------------------------------------ one slow disk becomes suspect
    per_disk = Counter(r.disk for cid in where for r in files[cid])
    victim = max(per_disk, key=per_disk.get)
    victim_cs, victim_report = disks_by_path(c)[os.path.realpath(victim)]
    victim_id = victim_report["disk_id"]
    peer = next(d for d in c.proc("chunkserver", victim_cs).disks if d != victim)
    peer_id = leader_disk(c, peer)["disk_id"]
    on_victim = {cid for cid in where if any(r.disk == victim for r in files[cid])}
    touched = sorted({where[cid][0] for cid in on_victim if where[cid][0] in multi})
    print(f"[fail-slow] victim: chunkserver {victim_cs} disk {victim_id} ({victim}), {len(on_victim)} chunks, {len(touched)} multi-chunk objects")

    set_disk_delay(victim, SLOW_MS)
    detect = wait_disk_state(c, victim, "suspect", 20)
    row = cli_disk(c, victim)
    assert row["state"] == "suspect", f"`trireme disk list --json` says {row['state']}: {row}"
    reason = row["health"].get("reason") or ""
    assert "far above" in reason or "slow" in reason, f"suspect for another reason: {row['health']}"
    figure(TEST, f"{SLOW_MS} ms delay -> disk suspect at the meta leader", f"{detect:.2f}s (probes every {HEALTH_MS} ms; reason: {reason})")

    # The leader lists the suspect disk's replicas last (this also waits for the Raft record
    # that GetObject and the ledger read).
    wait_until(
        lambda: all(replicas_last(c, k, (victim_cs, victim_id)) for k in touched),
        10,
        "GetObject to list the suspect disk's replicas last",
        0.05,
    )

    # GETs of the objects with a replica on it stay fast, and it serves none of their reads.
    reads_before, peer_before = chunk_reads(c, victim_cs, victim_id), chunk_reads(c, victim_cs, peer_id)
    hedged_before, _ = gateway_counters(c)
    lat = [timed_get(s3r, k, multi[k]) for _ in range(3) for k in touched]
    victim_reads = chunk_reads(c, victim_cs, victim_id) - reads_before
    peer_reads = chunk_reads(c, victim_cs, peer_id) - peer_before
    hedged = gateway_counters(c)[0] - hedged_before
    p50, p99 = pct(lat, 0.50), pct(lat, 0.99)
    figure(
        TEST,
        f"GET of a 3-chunk object with a replica on the suspect disk ({len(lat)} GETs)",
        f"p50 {ms(p50)}, p99 {ms(p99)}, max {ms(max(lat))} (injected {SLOW_MS} ms)",
    )
    figure(
        TEST,
        "chunk reads served by the suspect disk during those GETs",
        f"{victim_reads:.0f} (its chunkserver's other disk: {peer_reads:.0f}; gateway hedged reads: {hedged:.0f})",
    )
    assert p99 < SLOW_MS / 2 / 1000, f"GET p99 {ms(p99)} is not well below the {SLOW_MS} ms delay: {sorted(lat)[-5:]}"
    assert victim_reads <= 2, f"the suspect disk served {victim_reads:.0f} chunk reads: it should be read last"

    # No new replica goes to the suspect disk.
    before = chunk_files(c)
    fresh = {f"n{i:02d}": random_bytes(2 * CHUNK + 7 * i + 1) for i in range(16)}
    t0 = time.monotonic()
    put_many(s3w, BUCKET, fresh)
    put_secs = time.monotonic() - t0
    added = new_chunks(before, chunk_files(c))
    assert len(added) == 16 * 3, f"expected 48 new chunks, found {len(added)}"
    problems = placement_problems(added)
    assert not problems, "bad placement of the new chunks:\n" + "\n".join(problems)
    placed = [cid for cid, reps in added.items() if any(r.disk == victim for r in reps)]
    assert not placed, f"{len(placed)} new chunks got a replica on the suspect disk: {placed[:5]}"
    figure(TEST, "new replicas on the suspect disk", f"0 of {3 * len(added)} (16 PUTs of 3 chunks in {put_secs:.1f}s)")

    # The ledger still counts the suspect disk's replicas as healthy.
    total = n + len(added)
    since_ms = time.time() * 1000

    def ledger_after() -> dict | None:
        s = c.cli("repair", "status", "--json").json()
        ledger = s.get("ledger")
        return s if ledger and ledger["swept_at_ms"] > since_ms else None

    status = wait_until(ledger_after, 20, "a ledger sweep after the new PUTs", 0.2)
    t = status["ledger"]["total"]
    assert t["three"] == total and t["under_replicated"] == 0 and status["complete"], (
        f"with a suspect disk every chunk should still have 3 healthy replicas: {describe(status)}"
    )
    mine = [d for d in status["ledger"]["by_disk"] if d["chunkserver"] == victim_cs and d["disk"] == victim_id]
    assert mine and mine[0]["counts"]["three"] == len(on_victim), (
        f"the ledger of the suspect disk should count its {len(on_victim)} chunks at 3/3: {mine}"
    )
    assert leader_disk(c, victim)["state"] == "suspect", "the disk stopped being suspect while still slow"
    figure(TEST, "ledger with the disk suspect", f"{describe(status)}; the suspect disk's {len(on_victim)} chunks at 3/3")

    # ------------------------------------------------ the delay removed: healthy again
    set_disk_delay(victim, 0)
    recover = wait_disk_state(c, victim, "healthy", 20)
    row = cli_disk(c, victim)
    assert row["state"] == "healthy", f"`trireme disk list --json` says {row['state']}: {row}"
    figure(TEST, "delay removed -> disk healthy at the meta leader", f"{recover:.2f}s (the probe in flight sleeps up to {SLOW_MS} ms)")
    # ... and it takes new replicas again (each chunk lands on it with p ~ 3/8).
    back: list[str] = []
    for batch in range(4):
        before = chunk_files(c)
        put_many(s3w, BUCKET, {f"b{batch}-{i:02d}": random_bytes(100 * KiB + i) for i in range(8)})
        added = new_chunks(before, chunk_files(c))
        back = [cid for cid, reps in added.items() if any(r.disk == victim for r in reps)]
        if back:
            break
    assert back, "no new replica landed on the disk after it became healthy again (32 chunks placed)"

    # ------------------------------------------------ a slow chunkserver: the leader flags it
    slow_cs = max(
        (p.id for p in c.processes("chunkserver") if p.id != victim_cs),
        key=lambda cs: sum(1 for cid in where if where[cid][0] in single and any(r.chunkserver == cs for r in files[cid])),
    )
    slow_disks = c.proc("chunkserver", slow_cs).disks
    keys = sorted(where[cid][0] for cid in where if where[cid][0] in single and any(r.chunkserver == slow_cs for r in files[cid]))
    for d in slow_disks:
        set_disk_delay(d, SLOW_MS)

    t_slow = time.monotonic()

    def flagged() -> bool:
        reports = [leader_disk(c, d) for d in slow_disks]
        return all(r["state"] == "suspect" and "other chunkservers" in (r["health"].get("reason") or "") for r in reports)

    wait_until(flagged, 30, f"both disks of chunkserver {slow_cs} suspect at the leader (cluster-wide fail-slow)", 0.05)
    figure(TEST, f"whole chunkserver {SLOW_MS} ms slow -> both disks suspect (leader's comparison)", ms(time.monotonic() - t_slow))
    reads_before = sum(chunk_reads(c, slow_cs, leader_disk(c, d)["disk_id"]) for d in slow_disks)
    lat = [timed_get(s3r, k, single[k]) for _ in range(2) for k in keys]
    reads_after = sum(chunk_reads(c, slow_cs, leader_disk(c, d)["disk_id"]) for d in slow_disks)
    figure(
        TEST,
        f"GET of a 1-chunk object with a replica on a chunkserver whose disks both take {SLOW_MS} ms ({len(lat)} GETs)",
        f"p50 {ms(pct(lat, 0.5))}, max {ms(max(lat))}; chunk reads served by the slow chunkserver: {reads_after - reads_before:.0f}",
    )
    assert max(lat) < READ_HEDGE_MS / 1000 + 0.3, f"a GET took {ms(max(lat))}: the slow chunkserver was read first"
    for d in slow_disks:
        set_disk_delay(d, 0)
