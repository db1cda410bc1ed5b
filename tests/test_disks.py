"""Disks that die and disks that fill (issue 4), on real filesystems: every disk of the cluster
is moved onto a mount of its own (tmpfs, and a loop-mounted XFS image for the disk that
dies) before any object is written, so free space is comparable across disks and placement,
which weighs disks by free space, really uses the one under test.

- an XFS disk shut down with `xfs_io -x -c shutdown` is detected as failed, its chunks are
  re-replicated until a ledger sweep proves 3/3, and no GET fails or returns a wrong byte;
- a small tmpfs disk that passes the free-space floor stops receiving chunks, no PUT fails,
  nothing partial becomes visible; filled to the last byte it is still healthy (full is not
  failed) and its replicas still count.

These need root (mount, losetup) and xfsprogs; without them they are skipped, saying why.
"""

from __future__ import annotations

import errno
import os
import time


from checks import chunk_files, figure, map_chunks_to_objects, placement_problems, replica_content_problems
from durautil import (
    CHUNK,
    HEALTH_MS,
    BackgroundReader,
    describe,
    disk_report,
    durable_cluster,
    move_disks_onto_mounts,
    put_many,
    rate_mib_s,
    read_all,
    repair_status,
    run,
    total_counts,
    wait_repair_complete,
    worker_items,
)
from harness import wait_until
from s3util import random_bytes

MiB = 1024 * 1024
FLOOR = 64 * MiB  # meta-server/src/service/placement.rs MIN_FREE_BYTES
DISKS = 2


def free_bytes(path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill_up(path) -> None:
    """Write zeros to `path` until its file system is full. Unbuffered: a buffered file would keep
    the bytes ENOSPC refused and raise again when it is closed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        block = b"\0" * MiB
        while True:
            try:
                if os.write(fd, block) == 0:
                    return
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        # The last bytes: smaller writes until not one more fits.
        for size in (64 * 1024, 4096, 1):
            try:
                while os.write(fd, block[:size]) > 0:
                    pass
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)


def disk_chunks(files, disk) -> set[str]:
    return {cid for cid, reps in files.items() if any(r.disk == disk for r in reps)}


# ---------------------------------------------------------------- a disk that dies

XFS_CS = 2


def test_xfs_disk_shutdown_is_repaired(mounts, fresh_cluster):
    def mount(cs: int, k: int, path) -> None:
        if (cs, k) == (XFS_CS, 0):
            mounts.xfs(path, "512M")
        else:
            mounts.tmpfs(path, "448m")  # about the XFS disk's free space: equal placement weight

    c = durable_cluster(fresh_cluster)
    move_disks_onto_mounts(c, mount)
    disk = c.proc("chunkserver", XFS_CS).disks[0]
    assert os.path.ismount(disk), f"{disk} is not the XFS mount"
    rep = disk_report(c, XFS_CS, disk)
    assert rep is not None and rep["state"] == "healthy" and rep["capacity_bytes"] < 600 * MiB, rep

    s3 = c.s3()
    s3.create_bucket(Bucket="xfs")
    objects = {f"x{i:02d}": random_bytes(MiB + 1 + 997 * i) for i in range(40)}
    put_many(s3, "xfs", objects)
    files = chunk_files(c)
    where = map_chunks_to_objects(files, objects, CHUNK)
    n = len(where)
    on_xfs = disk_chunks({cid: files[cid] for cid in where}, disk)
    assert len(on_xfs) >= 20, f"only {len(on_xfs)} of {n} chunks have a replica on the XFS disk"
    wait_repair_complete(c, n, 30)

    with BackgroundReader(c, "xfs", objects) as reader:
        reader.wait_rounds(1, 120)
        run("xfs_io", "-x", "-c", "shutdown", str(disk))
        t_shut = time.monotonic()
        seen: dict = {}

        def detected() -> bool:
            if "failed" not in seen:
                r = disk_report(c, XFS_CS, disk)
                if r is not None and r["state"] == "failed":
                    seen["failed"] = time.monotonic()
                    seen["report"] = r
            if "ledger" not in seen:
                s = repair_status(c)
                t = total_counts(s)
                if t is not None and t["under_replicated"] > 0:
                    seen["ledger"] = time.monotonic()
                    seen["status"] = s
            return "failed" in seen and "ledger" in seen

        wait_until(detected, 60, "the shut-down disk to be failed and the ledger to show its chunks", 0.05)
        figure("disk-death", "XFS shutdown -> disk failed", f"{seen['failed'] - t_shut:.2f}s (probe every {HEALTH_MS} ms)")
        figure("disk-death", "XFS shutdown -> ledger shows the loss", f"{seen['ledger'] - t_shut:.2f}s: {describe(seen['status'])}")
        print(f"failed disk report: {seen['report']}")
        t = seen["status"]["ledger"]["total"]
        assert 0 < t["two"] <= len(on_xfs) and t["three"] + t["two"] == n and t["under_replicated"] == t["two"], (
            f"the ledger after the failure should count at most the {len(on_xfs)} chunks on the failed disk at 2 "
            f"and the others at 3: {describe(seen['status'])}"
        )
        done = wait_repair_complete(c, n, 90)
        t_done = time.monotonic()
        reader.wait_rounds(1, 120)
    stats = reader.stats
    secs = t_done - seen["ledger"]
    figure("disk-death", "repair of the failed disk's chunks", f"{secs:.2f}s, {done['repair']['repaired_chunks']} chunks, {rate_mib_s(done['repair']['repaired_bytes'], secs)}")
    figure("disk-death", "GETs during the failure and repair", f"{stats.reads} ({len(stats.errors)} errors, {len(stats.wrong)} wrong)")
    assert not stats.wrong, "GETs returned wrong bytes:\n" + "\n".join(stats.wrong[:10])
    assert not stats.errors, "GETs failed while the disk died:\n" + "\n".join(stats.errors[:10])

    # On the working disks: 3 replicas of every chunk, right bytes, distinct chunkservers.
    files = chunk_files(c, exclude_disks={disk})
    bad = []
    for cid, (key, idx) in sorted(where.items()):
        reps = files.get(cid, [])
        if len(reps) != 3 or len({r.chunkserver for r in reps}) != 3:
            bad.append(f"{cid}: {len(reps)} replica files on chunkservers {sorted(r.chunkserver for r in reps)}")
        bad += replica_content_problems(reps, objects[key], idx, CHUNK)
    assert not bad, "after repair:\n" + "\n".join(bad[:20])
    assert disk_report(c, XFS_CS, disk)["state"] == "failed"
    # New writes go elsewhere and everything reads back.
    more = {f"after-{i}": random_bytes(MiB + 1 + i) for i in range(4)}
    put_many(s3, "xfs", more)
    read_all(s3, "xfs", {**objects, **more})
    wait_repair_complete(c, n + 4 * 5, 30)


# ---------------------------------------------------------------- a disk that fills

SMALL_CS = 3


def test_full_disk_is_avoided(mounts, fresh_cluster):
    def mount(cs: int, k: int, path) -> None:
        mounts.tmpfs(path, "96m" if (cs, k) == (SMALL_CS, 0) else "256m")

    c = durable_cluster(fresh_cluster)
    move_disks_onto_mounts(c, mount)
    small = c.proc("chunkserver", SMALL_CS).disks[0]
    assert os.path.ismount(small)
    s3 = c.s3()
    s3.create_bucket(Bucket="fill")

    # Something else fills the disk to 8 MiB above the floor; then our chunks push it past.
    with open(small / "ballast-1", "wb") as f:
        f.write(b"\0" * (free_bytes(small) - FLOOR - 8 * MiB))
    wait_until(
        lambda: disk_report(c, SMALL_CS, small)["free_bytes"] < FLOOR + 9 * MiB,
        30,
        "the leader to see the ballast",
        0.1,
    )
    objects: dict[str, bytes] = {}
    batch = 0

    def write_batch() -> None:
        nonlocal batch
        new = {f"b{batch:02d}-{i}": random_bytes(MiB + 4096 + 977 * i) for i in range(8)}
        put_many(s3, "fill", new)  # raises if any PUT fails
        objects.update(new)
        batch += 1

    t0 = time.monotonic()
    while disk_report(c, SMALL_CS, small)["free_bytes"] >= FLOOR:
        assert batch < 30, f"the small disk never passed the floor: {disk_report(c, SMALL_CS, small)}"
        write_batch()
    on_small = disk_chunks(chunk_files(c), small)
    figure("disk-full", "objects written until the small disk passed the 64 MiB floor", f"{len(objects)} ({batch} batches, {time.monotonic() - t0:.1f}s), {len(on_small)} chunks on it")

    # Past the floor (as the leader sees it): no new chunk lands there.
    for _ in range(4):
        write_batch()
    now_small = disk_chunks(chunk_files(c), small)
    assert now_small == on_small, f"{len(now_small - on_small)} new chunks placed on a disk below the free-space floor"

    # Filled to the last byte: still a healthy disk with readable replicas; PUTs still succeed.
    fill_up(small / "ballast-2")
    assert free_bytes(small) < MiB
    wait_until(lambda: disk_report(c, SMALL_CS, small)["free_bytes"] < MiB, 30, "the leader to see the disk full", 0.1)
    node = f"chunkserver-{SMALL_CS}"
    probes = worker_items(c, node, "health")
    wait_until(lambda: worker_items(c, node, "health") >= probes + 2 * DISKS, 30, f"two more probe rounds on {node}", 0.1)
    rep = disk_report(c, SMALL_CS, small)
    assert rep["state"] == "healthy", f"a full disk is not a failed one: {rep}"
    for _ in range(2):
        write_batch()
    assert disk_chunks(chunk_files(c), small) == on_small

    # Filled all at once while placements still pick it (the leader learns of it with the
    # next heartbeat): the writes that meet ENOSPC must not fail a PUT either.
    (small / "ballast-1").unlink()
    (small / "ballast-2").unlink()
    wait_until(lambda: disk_report(c, SMALL_CS, small)["free_bytes"] >= FLOOR + 8 * MiB, 30, "the leader to see room on the disk again", 0.1)
    strict = c.s3(max_attempts=1)
    before = disk_chunks(chunk_files(c), small)
    fill_up(small / "ballast-3")
    sudden = {f"sudden-{i}": random_bytes(MiB + 4096 + 977 * i) for i in range(16)}
    seen_free = disk_report(c, SMALL_CS, small)["free_bytes"]  # the leader's view as the PUTs start
    failed = []
    for k, v in sudden.items():
        try:
            strict.put_object(Bucket="fill", Key=k, Body=v)
            objects[k] = v
        except Exception as e:  # noqa: BLE001 - reported below
            failed.append(f"{k}: {type(e).__name__}: {e}")
    figure(
        "disk-full",
        "PUTs right after the disk filled at once",
        f"{len(sudden) - len(failed)}/{len(sudden)} succeeded without a retry (the leader still saw {seen_free / MiB:.0f} MiB free as they began)",
    )
    assert not failed, "PUTs failed when a disk filled up:\n" + "\n".join(failed)
    assert disk_chunks(chunk_files(c), small) <= before, "new chunks on the full disk"
    tmp = small / "tmp"
    wait_until(lambda: not tmp.is_dir() or not any(tmp.iterdir()), 30, f"no partial write left in {tmp}", 0.1)

    # Nothing partial: every listed object reads back whole, every chunk has 3 whole replicas.
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="fill"):
        listed += [o["Key"] for o in page.get("Contents", [])]
    assert sorted(listed) == sorted(objects)
    read_all(s3, "fill", objects)
    files = chunk_files(c)
    where = map_chunks_to_objects(files, objects, CHUNK)
    problems = placement_problems({cid: files[cid] for cid in where})
    assert not problems, "\n".join(problems[:20])
    bad = []
    for cid, (key, idx) in where.items():
        bad += replica_content_problems(files[cid], objects[key], idx, CHUNK)
    assert not bad, "\n".join(bad[:20])
    status = wait_repair_complete(c, len(where), 30)
    figure("disk-full", "ledger with the disk full", describe(status))
