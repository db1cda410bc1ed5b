"""Disk drain and the removal gate (issue 5), on a real cluster under read load:

- removing a disk before draining it is refused, naming objects at risk;
- `trireme disk drain` stops new replicas on it and copies its chunks elsewhere while every
  object keeps reading correctly; `trireme disk swap status --json` shows the progress until
  the disk is safe to pull;
- with another chunkserver stopped, the gate closes again (chunks lack replicas elsewhere) and
  names the objects; once repair restores them it opens;
- `trireme disk remove` then drops the disk's replicas: every chunk keeps 3 healthy replicas on
  3 live chunkservers without it, and the removed disk's files are collected;
- a drain survives its watching CLI and the meta leader being killed, and completes.

Prints the drain rate and the total time.
"""

from __future__ import annotations

import time
from pathlib import Path

from checks import chunk_files, figure, map_chunks_to_objects, placement_problems
from durautil import (
    CHUNK,
    TIMEOUT_MS,
    BackgroundReader,
    chunkserver_state,
    durable_cluster,
    put_many,
    rate_mib_s,
    read_all,
    wait_repair_complete,
)
from harness import wait_until
from s3util import random_bytes

KiB = 1024
MiB = 1024 * KiB
TEST = "disk-drain"


def disk_ids(c) -> dict[str, tuple[int, str]]:
    """Every disk: id -> (chunkserver, path), from `trireme disk list --json`."""
    out = {}
    for cs in c.meta_call("/v1/meta/list_chunkservers", {})["chunkservers"]:
        for d in cs["disks"]:
            out[d["disk_id"]] = (cs["id"], d["path"])
    return out


def status(c, disk: str) -> dict:
    """The drain part of `trireme disk swap status --json` (the old disk's drain and gate)."""
    return c.cli("disk", "swap", "status", disk, "--json").json()["old"]


def test_drain_gate_and_remove(fresh_cluster):
    c = durable_cluster(fresh_cluster)
    s3 = c.s3()
    s3.create_bucket(Bucket="drain")
    objects = {f"o{i:02d}": random_bytes(MiB + 777 * i) for i in range(40)}  # 5 chunks each
    put_many(s3, "drain", objects)
    files = chunk_files(c)
    where = map_chunks_to_objects(files, objects, CHUNK)
    n = len(where)
    wait_repair_complete(c, n, 30)

    # The disk with the most replicas.
    ids = disk_ids(c)
    counts = {d: 0 for d in ids}
    by_path = {str(p): d for d, (_, p) in ids.items()}
    for cid in where:
        for r in files[cid]:
            d = by_path.get(str(r.disk))
            if d is not None:
                counts[d] += 1
    disk = max(counts, key=counts.get)
    cs, path = ids[disk]
    on_disk = counts[disk]
    assert on_disk > 0

    # 1. Not drained yet: the gate refuses and names objects.
    r = c.cli("disk", "remove", disk, "--yes")
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "objects at risk" in r.stderr and "drain/" in r.stderr, r.stderr
    plan = c.cli("plan", "disk-remove", disk, "--json").json()
    assert plan["status"]["chunks"] == on_disk and plan["enough_room"], plan
    figure(TEST, "plan before the drain", plan["verdict"])

    # 2. Drain under read load.
    with BackgroundReader(c, "drain", objects) as reader:
        reader.wait_rounds(1, 60)
        t0 = time.monotonic()
        c.cli("disk", "drain", disk, "--reason", "test swap").check()
        seen = status(c, disk)
        assert seen["admin"] == "draining", seen
        done = wait_until(lambda: (s := status(c, disk))["safe_to_pull"] and s, 120, f"disk {disk} safe to pull", 0.1)
        drained_s = time.monotonic() - t0
        # New writes avoid the draining disk.
        before = chunk_files(c)
        more = {f"new{i}": random_bytes(300 * KiB) for i in range(10)}
        put_many(s3, "drain", more)
        after = chunk_files(c)
        fresh = {cid: reps for cid, reps in after.items() if cid not in before}
        assert fresh and not any(str(r.disk) == path for reps in fresh.values() for r in reps), "a new replica landed on the draining disk"
        reader.wait_rounds(1, 60)
    stats = reader.stats
    figure(TEST, f"drain of {on_disk} chunks ({done['bytes'] / MiB:.1f} MiB)", f"{drained_s:.2f}s, {rate_mib_s(done['bytes'], drained_s)}")
    figure(TEST, "GETs during the drain", f"{stats.reads} ({len(stats.errors)} errors, {len(stats.wrong)} wrong)")
    assert not stats.errors and not stats.wrong, stats

    # 3. Another chunkserver stops: some chunks of the disk lack replicas elsewhere again.
    other = next(p.id for p in c.processes("chunkserver") if p.id != cs)
    c.kill("chunkserver", other)
    wait_until(lambda: chunkserver_state(c, other) == "dead", TIMEOUT_MS / 1000 + 30, "chunkserver dead", 0.05)

    def refused() -> str | None:
        r = c.cli("disk", "remove", disk, "--yes")
        return r.stderr if r.returncode == 1 else None

    # Either the gate is closed now (repair has not restored everything yet) and names
    # objects, or repair already did: both are fine, removal must never drop a chunk.
    closed = refused()
    if closed is not None:
        assert "objects at risk" in closed, closed
        figure(TEST, "gate with another chunkserver dead", closed.strip().splitlines()[-1][:160])
    wait_until(lambda: status(c, disk)["safe_to_pull"], 120, "safe to pull again after repair", 0.1)
    c.restart("chunkserver", other)

    # 4. Remove: the disk's replicas are dropped; everything stays at 3 healthy replicas.
    t1 = time.monotonic()
    c.cli("disk", "remove", disk, "--yes", "--reason", "test swap").check()
    assert status(c, disk)["admin"] == "removed"
    objects.update(more)
    total = n + len(fresh)
    wait_repair_complete(c, total, 60)
    read_all(s3, "drain", objects)

    # The removed disk is released (no I/O at all: its files stay on it until it is pulled
    # and wiped); on the disks in service every chunk has 3 files on 3 chunkservers.
    def slot() -> dict:
        return c.meta_call("/v1/meta/swap_status", {"disk": {"disk": disk}})["slot"] or {}

    wait_until(lambda: slot().get("state") == "released", 30, "the removed disk to be released", 0.1)

    def clean() -> bool:
        fs = chunk_files(c, exclude_disks={Path(path)})
        live = {cid: reps for cid, reps in fs.items() if cid in where or cid in fresh}
        return not placement_problems(live)

    wait_until(clean, 60, "3 replica files per chunk on 3 chunkservers on the disks in service", 0.2)
    figure(TEST, "drain -> safe -> removed -> collected (total)", f"{time.monotonic() - t0:.1f}s ({time.monotonic() - t1:.1f}s after remove)")


def test_drain_resumes_after_the_cli_and_the_meta_leader_are_killed(fresh_cluster):
    """A drain is Raft state: killing the watching CLI and then the meta leader loses nothing;
    the new leader goes on copying and the drain completes where it stopped."""
    import signal
    import subprocess

    from durautil import set_setting

    c = durable_cluster(fresh_cluster)
    s3 = c.s3()
    s3.create_bucket(Bucket="resume")
    objects = {f"o{i:02d}": random_bytes(MiB) for i in range(32)}  # 4 chunks each
    put_many(s3, "resume", objects)
    wait_repair_complete(c, 32 * 4, 30)
    ids = disk_ids(c)
    disk = max(ids, key=lambda d: status(c, d)["chunks"])
    # Slow enough that the drain is still running when the leader dies.
    set_setting(c, "repair.concurrency", 1, via_cli=True)
    set_setting(c, "repair.bandwidth_mib", 1, via_cli=True)

    watcher = subprocess.Popen(
        [str(c.bin_dir / "trireme"), "--data-dir", str(c.data_dir), "disk", "drain", disk, "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_until(lambda: status(c, disk)["admin"] == "draining", 30, "drain started", 0.05)
        wait_until(lambda: 0 < status(c, disk)["chunks_safe"], 60, "some chunks copied", 0.05)
    finally:
        watcher.send_signal(signal.SIGKILL)
        watcher.wait(timeout=30)
    mid = status(c, disk)
    assert not mid["safe_to_pull"], mid

    old = c.wait_leader()
    c.kill("meta", old)
    t0 = time.monotonic()
    c.wait_leader(not_=old)
    after = wait_until(lambda: (s := status(c, disk)) and s, 30, "drain status from the new leader", 0.1)
    assert after["admin"] == "draining", after
    assert after["chunks_safe"] >= mid["chunks_safe"], (mid, after)
    set_setting(c, "repair.bandwidth_mib", 500)
    set_setting(c, "repair.concurrency", 4)
    done = wait_until(lambda: (s := status(c, disk))["safe_to_pull"] and s, 120, "safe to pull after the leader change", 0.1)
    figure(
        TEST,
        "drain across a killed CLI and a killed meta leader",
        f"{mid['chunks_safe']}/{mid['chunks']} chunks safe before, all {done['chunks']} {time.monotonic() - t0:.1f}s after the leader kill",
    )
    c.restart("meta", old)
    c.cli("disk", "remove", disk, "--yes").check()
    read_all(s3, "resume", objects)


def test_chunkserver_drain_and_decommission(fresh_cluster):
    """A whole chunkserver: drained (every disk), decommissioned behind the same gate, then
    stopped for good: nothing is lost and every chunk keeps 3 healthy replicas."""
    c = durable_cluster(fresh_cluster)
    s3 = c.s3()
    s3.create_bucket(Bucket="csdrain")
    objects = {f"o{i:02d}": random_bytes(700 * KiB) for i in range(24)}  # 3 chunks each
    put_many(s3, "csdrain", objects)
    n = 24 * 3
    wait_repair_complete(c, n, 30)
    victim = 4
    plan = c.cli("plan", "chunkserver-remove", str(victim))
    assert plan.returncode == 0 and "drain first" in plan.stdout, plan.stdout + plan.stderr
    r = c.cli("chunkserver", "decommission", str(victim), "--yes")
    assert r.returncode == 1 and "objects at risk" in r.stderr, (r.returncode, r.stderr)
    t0 = time.monotonic()
    c.cli("chunkserver", "drain", str(victim), "--watch", timeout=180).check()
    drained = time.monotonic() - t0
    c.cli("chunkserver", "decommission", str(victim), "--yes").check()
    c.kill("chunkserver", victim)
    wait_repair_complete(c, n, 60)
    read_all(s3, "csdrain", objects)
    figure(TEST, "chunkserver drain (every disk) until safe", f"{drained:.1f}s")
