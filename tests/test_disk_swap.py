"""The guided disk swap (issue 5) on loop-mounted filesystems, under client load.

Chunkserver 2's first disk is an XFS image mounted at its path (the chunkserver is configured
with `require_mounted_disks`, so an unmounted slot is never formatted); the other disks are
tmpfs mounts. While a reader GETs every object over and over (checking every byte) and a
writer PUTs new ones, `trireme disk swap ID --yes` runs as an operator would run it:

1. it drains the disk, verifies the copies elsewhere, removes it behind the gate and says
   which disk to pull (chunkserver, slot, disk id);
2. the test unmounts the XFS image ("pulls" it): the chunkserver has released it; then the
   CLI and the meta leader are SIGKILLed, and a re-run of the same command resumes at the
   pull step;
3. wrong disks are refused, and the swap says so: the old disk put back (its identity was
   removed from service), then a disk of another cluster;
4. a fresh blank XFS image is mounted in the slot: the swap formats it with a new identity,
   brings it into service and refills it, then prints DONE.

Zero GET or PUT errors, every byte right, every chunk on 3 chunkservers at the end; the drain
rate and the total time are printed as figures. Needs root, losetup and xfsprogs.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path


from checks import chunk_files, figure, placement_problems
from durautil import (
    BackgroundReader,
    durable_cluster,
    move_disks_onto_mounts,
    put_many,
    rate_mib_s,
    read_all,
)
from harness import wait_until
from s3util import random_bytes

MiB = 1024 * 1024
SWAP_CS = 2
TEST = "disk-swap"


class Writer:
    """A thread PUTting new objects until stopped; every acknowledged PUT is remembered."""

    def __init__(self, c, bucket: str) -> None:
        self.s3 = c.s3(max_attempts=1, read_timeout=60)
        self.bucket = bucket
        self.acked: dict[str, bytes] = {}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="background-writer")

    def __enter__(self) -> "Writer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            key = f"w{i:05d}"
            body = random_bytes(300 * 1024 + 7 * i)
            try:
                self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
                self.acked[key] = body
            except Exception as e:  # noqa: BLE001 - every failure is recorded and asserted on
                self.errors.append(f"{time.strftime('%H:%M:%S')} {key}: {type(e).__name__}: {e}")
            i += 1
            time.sleep(0.05)


class LoggedCli:
    """`trireme ARGS` running in the background, its output appended to `log`; killed on exit
    if it still runs."""

    def __init__(self, c, log: Path, *args: str) -> None:
        self.argv = [str(c.bin_dir / "trireme"), "--data-dir", str(c.data_dir), *args]
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self, note: str = "") -> "LoggedCli":
        with open(self.log, "a") as out:
            if note:
                out.write(note + "\n")
                out.flush()
            self.proc = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def wait_ok(self, timeout: float) -> None:
        assert self.proc is not None
        assert self.proc.wait(timeout=timeout) == 0, f"{' '.join(self.argv[3:])} failed:\n{self.text()}"

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> "LoggedCli":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


def swap_status(c, disk: str) -> dict:
    return c.meta_call("/v1/meta/swap_status", {"disk": {"disk": disk}, "list_objects": 0})


def slot_state(c, disk: str) -> str | None:
    slot = swap_status(c, disk).get("slot")
    return slot and slot["state"]


def test_full_disk_swap_under_load(mounts, fresh_cluster, tmp_path):
    loops: dict[str, str] = {}

    def mount(cs: int, k: int, path: Path) -> None:
        if (cs, k) == (SWAP_CS, 0):
            loops["old"] = mounts.xfs(path, "512M")
            # The slot takes only a mounted filesystem (never the root filesystem's directory).
            cfg = c.proc("chunkserver", SWAP_CS).config
            text = cfg.read_text()
            assert "require_mounted_disks = false" in text, text
            cfg.write_text(text.replace("require_mounted_disks = false", "require_mounted_disks = true"))
        else:
            mounts.tmpfs(path, "448m")

    c = durable_cluster(fresh_cluster)
    move_disks_onto_mounts(c, mount)
    slot = c.proc("chunkserver", SWAP_CS).disks[0]
    assert os.path.ismount(slot)
    old_id = json.loads((slot / "trireme-disk.json").read_text())["disk_id"]

    s3 = c.s3()
    s3.create_bucket(Bucket="swap")
    objects = {f"o{i:02d}": random_bytes(MiB + 1 + 997 * i) for i in range(40)}
    put_many(s3, "swap", objects)
    before = swap_status(c, old_id)
    assert before["phase"] == "in_service" and before["old"]["chunks"] >= 20, before

    cli = LoggedCli(c, tmp_path / "swap.log", "disk", "swap", old_id, "--yes", "--reason", "test swap")
    with BackgroundReader(c, "swap", objects) as reader, Writer(c, "swap") as writer, cli:
        reader.wait_rounds(1, 120)
        t0 = time.monotonic()
        cli.start()
        seen: dict = {}

        def phase_reached(name: str) -> bool:
            s = swap_status(c, old_id)
            if s["phase"] == "draining" and "drain" not in seen:
                seen["drain"] = (time.monotonic(), s["old"]["bytes"])
            if cli.proc.poll() is not None:
                raise AssertionError(f"trireme disk swap exited {cli.proc.returncode}:\n{cli.text()}")
            return s["phase"] == name

        # 1. drain, verify, remove: the CLI then says which disk to pull.
        wait_until(lambda: phase_reached("awaiting_disk"), 180, "the disk to be removed from service", 0.1)
        t_removed = time.monotonic()
        wait_until(lambda: "SAFE TO PULL" in cli.text(), 30, "the CLI to say which disk to pull", 0.1)
        text = cli.text()
        assert f"chunkserver  {SWAP_CS}" in text and str(slot) in text and old_id in text, text
        # The chunkserver released it: no I/O, so it unmounts.
        wait_until(lambda: slot_state(c, old_id) == "released", 30, "the chunkserver to release the disk", 0.1)
        mounts.umount(slot)
        t_pulled = time.monotonic()
        wait_until(lambda: slot_state(c, old_id) == "no_disk", 30, "the empty slot to be reported", 0.1)
        assert "no filesystem mounted" in swap_status(c, old_id)["slot"]["detail"]

        # Interrupted: the CLI and then the meta leader are killed; a new CLI resumes.
        cli.kill()
        leader = c.leader_id()
        c.kill("meta", leader)
        c.wait_leader(60, not_=leader)
        c.restart("meta", leader)
        cli.start("--- the CLI and the meta leader were killed; swap re-run ---")
        wait_until(lambda: cli.text().count("SAFE TO PULL") >= 2, 60, "the re-run swap to resume at the pull step", 0.1)
        assert swap_status(c, old_id)["phase"] == "awaiting_disk"

        # 2. the old disk put back: refused.
        mounts.mount(loops["old"], slot)
        wait_until(lambda: slot_state(c, old_id) == "retired", 30, "the old disk to be recognised", 0.1)
        wait_until(lambda: "REFUSED" in cli.text() and "removed from service" in cli.text(), 30, "the CLI to refuse the old disk", 0.1)
        identity = json.loads((slot / "trireme-disk.json").read_text())
        mounts.umount(slot)

        # 3. a disk of another cluster: refused.
        mounts.xfs(slot, "512M")
        (slot / "trireme-disk.json").write_text(json.dumps({**identity, "cluster_id": "another-cluster"}))
        wait_until(lambda: slot_state(c, old_id) == "foreign", 30, "the foreign disk to be recognised", 0.1)
        wait_until(lambda: "another-cluster" in cli.text(), 30, "the CLI to refuse the foreign disk", 0.1)
        mounts.umount(slot)

        # 4. a blank disk: formatted, in service, refilled.
        mounts.xfs(slot, "512M")
        t_inserted = time.monotonic()
        cli.wait_ok(240)
        t_done = time.monotonic()
        reader.wait_rounds(1, 120)
    text = cli.text()
    print(text)
    assert "DONE" in text, text
    new_id = json.loads((slot / "trireme-disk.json").read_text())["disk_id"]
    assert new_id != old_id
    done = swap_status(c, new_id)
    assert done["phase"] == "done" and done["new"]["disk"] == new_id, done
    fill = done["new"]
    assert fill["chunks"] > 0 and fill["bytes"] + 2 * 256 * 1024 >= fill["target_bytes"] > 0, fill

    t_drain, drained_bytes = seen.get("drain", (t0, before["old"]["bytes"]))
    figure(TEST, "drain (copies of the disk's chunks elsewhere, verify, remove)", f"{t_removed - t_drain:.2f}s for {before['old']['chunks']} chunks, {rate_mib_s(drained_bytes, t_removed - t_drain)}")
    figure(TEST, "refill of the new disk", f"{t_done - t_inserted:.2f}s: {fill['chunks']} chunks, {fill['bytes'] / MiB:.1f} MiB of a {fill['target_bytes'] / MiB:.1f} MiB share")
    figure(TEST, "total swap time (CLI start -> DONE), incl. the test's pull and wrong disks", f"{t_done - t0:.2f}s (disk out of service {t_pulled - t_removed:.2f}s after removal)")
    stats = reader.stats
    figure(TEST, "client load during the swap", f"{stats.reads} GETs ({len(stats.errors)} errors, {len(stats.wrong)} wrong), {len(writer.acked)} PUTs ({len(writer.errors)} errors)")
    assert not stats.wrong, "GETs returned wrong bytes:\n" + "\n".join(stats.wrong[:10])
    assert not stats.errors, "GETs failed during the swap:\n" + "\n".join(stats.errors[:10])
    assert not writer.errors, "PUTs failed during the swap:\n" + "\n".join(writer.errors[:10])

    # Zero lost objects: everything acknowledged reads back, every chunk on 3 chunkservers
    # once the moved replicas' old files are collected.
    read_all(s3, "swap", {**objects, **writer.acked})
    wait_until(lambda: not placement_problems(chunk_files(c)), 60, "every chunk as 3 files on 3 chunkservers", 0.2)
    on_new = sum(1 for reps in chunk_files(c).values() for r in reps if r.disk == slot)
    assert on_new == fill["chunks"] or on_new > 0, (on_new, fill)
    # The audit log names the swap's admin actions with the reason.
    audit = c.cli("audit", "--json").check().json()
    entries = audit if isinstance(audit, list) else audit.get("entries", [])
    actions = " ".join(json.dumps(e) for e in entries)
    for rpc in ("drain_disk", "remove_disk", "admit_disk"):
        assert rpc in actions, f"{rpc} not audited: {actions[:2000]}"
    assert "test swap" in actions


def test_failed_disk_is_replaced(mounts, fresh_cluster, tmp_path):
    """`trireme disk replace`: a disk that died by itself (XFS shutdown) is re-replicated by
    the durability engine; `replace` waits for that, removes the disk without --force, and
    formats and refills the blank disk put in its slot. A healthy disk is not `replace`d."""
    from durautil import disk_report, wait_repair_complete

    victim_cs = 3

    def mount(cs: int, k: int, path: Path) -> None:
        if (cs, k) == (victim_cs, 0):
            mounts.xfs(path, "512M")
            cfg = c.proc("chunkserver", victim_cs).config
            cfg.write_text(cfg.read_text().replace("require_mounted_disks = false", "require_mounted_disks = true"))
        else:
            mounts.tmpfs(path, "448m")

    c = durable_cluster(fresh_cluster)
    move_disks_onto_mounts(c, mount)
    slot = c.proc("chunkserver", victim_cs).disks[0]
    old_id = json.loads((slot / "trireme-disk.json").read_text())["disk_id"]
    s3 = c.s3()
    s3.create_bucket(Bucket="rep")
    objects = {f"r{i:02d}": random_bytes(MiB + 1 + 991 * i) for i in range(24)}
    put_many(s3, "rep", objects)
    n = len(chunk_files(c))

    healthy = c.cli("disk", "replace", old_id, "--yes")
    assert healthy.returncode == 1 and "not failed" in healthy.stderr, healthy

    from durautil import run

    run("xfs_io", "-x", "-c", "shutdown", str(slot))
    wait_until(lambda: disk_report(c, victim_cs, slot)["state"] == "failed", 30, "the disk to be failed", 0.1)
    cli = LoggedCli(c, tmp_path / "replace.log", "disk", "replace", old_id, "--yes")
    with BackgroundReader(c, "rep", objects) as reader, cli:
        cli.start()
        wait_until(lambda: "SAFE TO PULL" in cli.text(), 120, "the failed disk to be removed", 0.1)
        assert swap_status(c, old_id)["phase"] == "awaiting_disk"
        # Released; a shut-down filesystem cannot even be read, so the slot may show as
        # holding no usable disk instead.
        wait_until(lambda: slot_state(c, old_id) in ("released", "no_disk"), 30, "the chunkserver to release the disk", 0.1)
        print("slot of the dead disk:", swap_status(c, old_id)["slot"])
        mounts.umount(slot)
        mounts.xfs(slot, "512M")
        cli.wait_ok(180)
        reader.wait_rounds(1, 120)
    text = cli.text()
    print(text)
    assert "DONE" in text and "confirmed harmless" in text, text
    stats = reader.stats
    figure(TEST, "replace of a failed disk: GETs meanwhile", f"{stats.reads} ({len(stats.errors)} errors, {len(stats.wrong)} wrong)")
    assert not stats.wrong and not stats.errors, (stats.errors[:5], stats.wrong[:5])
    new_id = json.loads((slot / "trireme-disk.json").read_text())["disk_id"]
    done = swap_status(c, new_id)
    assert done["phase"] == "done" and done["new"]["chunks"] > 0, done
    wait_repair_complete(c, n, 60)
    wait_until(lambda: not placement_problems(chunk_files(c)), 60, "every chunk as 3 files on 3 chunkservers", 0.2)
    read_all(s3, "rep", objects)
