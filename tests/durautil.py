"""Helpers for the durability tests (issue 4): the ledger and repair status, disk and
chunkserver states, scrub progress, background readers that check every byte while faults
happen, and real filesystems (loop-mounted XFS images, tmpfs) as chunkserver disks.

Every wait polls a condition with a deadline; every mount and loop device set up here is
torn down by `Mounts.cleanup()`, which the tests' fixture calls even when a test fails.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness import Cluster, HarnessError, wait_until

MiB = 1024 * 1024
CHUNK = 256 * 1024  # small chunks: many of them per MiB written
TIMEOUT_MS = 2500  # chunkserver liveness timeout
HEARTBEAT_MS = 300
INVENTORY_MS = 500
GRACE_MS = 2000
HEALTH_MS = 300
LEDGER_SWEEP_MS = 1000


def durable_cluster(fresh_cluster, **kw) -> Cluster:
    """A cluster with 256 KiB chunks and second-scale liveness, inventory, GC, disk health
    and ledger intervals; `kw` goes to `fresh_cluster`."""
    extra = [
        "--inventory-ms", str(INVENTORY_MS),
        "--gc-grace-ms", str(GRACE_MS),
        "--health-ms", str(HEALTH_MS),
        "--ledger-sweep-ms", str(LEDGER_SWEEP_MS),
    ]
    return fresh_cluster(
        chunk_size=CHUNK,
        chunkserver_timeout_ms=TIMEOUT_MS,
        heartbeat_ms=HEARTBEAT_MS,
        extra_args=extra + kw.pop("extra_args", []),
        **kw,
    )


def rate_mib_s(nbytes: int, secs: float) -> str:
    return f"{nbytes / MiB / max(secs, 1e-3):.1f} MiB/s"


# ---------------------------------------------------------------- ledger, repair, scrub


def repair_status(c: Cluster, via_cli: bool = False) -> dict:
    """The durability ledger and repair progress (RepairStatusResponse), by RPC or by
    `trireme repair status --json`."""
    if via_cli:
        return c.cli("repair", "status", "--json").json()
    return c.meta_call("/v1/meta/repair_status", {})


def total_counts(status: dict) -> dict | None:
    ledger = status.get("ledger")
    return None if ledger is None else ledger["total"]


def describe(status: dict) -> str:
    t = total_counts(status)
    r = status.get("repair", {})
    if t is None:
        return "no ledger yet"
    return (
        f"three={t['three']} two={t['two']} one={t['one']} zero={t['zero']} "
        f"under={t['under_replicated']} complete={status.get('complete')} "
        f"active={r.get('active')} queued={r.get('queued')} repaired={r.get('repaired_chunks')} "
        f"failed_copies={r.get('failed_copies')}"
    )


def wait_repair_complete(c: Cluster, chunks: int, timeout: float, via_cli: bool = False) -> dict:
    """Waits until a ledger sweep proves every one of `chunks` chunks has 3 healthy replicas:
    `complete`, total.three == chunks and nothing under-replicated."""
    last: dict[str, Any] = {}

    def done() -> dict | None:
        s = repair_status(c, via_cli)
        last["s"] = s
        t = total_counts(s)
        if t is None:
            return None
        ok = s["complete"] and t["three"] == chunks and t["under_replicated"] == 0 and t["three"] + t["two"] + t["one"] + t["zero"] == chunks
        return s if ok else None

    try:
        return wait_until(done, timeout, f"repair complete with {chunks} chunks at 3/3", 0.05)
    except HarnessError as e:
        raise HarnessError(f"{e}\nlast repair status: {describe(last.get('s', {}))}\n{last.get('s')}") from None


def chunkservers(c: Cluster) -> list[dict]:
    return c.meta_call("/v1/meta/list_chunkservers", {})["chunkservers"]


def chunkserver_state(c: Cluster, cs_id: int) -> str | None:
    for cs in chunkservers(c):
        if cs["id"] == cs_id:
            return cs.get("state")
    return None


def disk_report(c: Cluster, cs_id: int, path: Path) -> dict | None:
    """The leader's view of the disk at `path` of chunkserver `cs_id` (DiskReport)."""
    want = os.path.realpath(path)
    for cs in chunkservers(c):
        if cs["id"] != cs_id:
            continue
        for d in cs.get("disks", []):
            if os.path.realpath(d.get("path", "")) == want:
                return d
    return None


def wait_all_up(c: Cluster, timeout: float = 60) -> None:
    """Every chunkserver alive, Raft state up, with its disks reported."""
    n = len(c.processes("chunkserver"))

    def ok() -> bool:
        css = chunkservers(c)
        good = [cs for cs in css if cs.get("alive") and cs.get("state", "up") == "up" and cs.get("disks")]
        return len(good) >= n

    wait_until(ok, timeout, f"{n} chunkservers alive and up", 0.1)


def set_setting(c: Cluster, key: str, value: int, via_cli: bool = False) -> dict:
    if via_cli:
        c.cli("worker", "set", key, str(value)).check()
        return c.meta_call("/v1/meta/list_workers", {})
    return c.meta_call("/v1/meta/set_worker_setting", {"key": key, "value": str(value)})


def worker_items(c: Cluster, node: str, name: str) -> int:
    """Items processed by the worker `name` on `node` ("chunkserver-3"), from `list_workers`."""
    for w in c.meta_call("/v1/meta/list_workers", {})["workers"]:
        if w["name"] == name and w.get("node") == node:
            return int(w["items"])
    raise HarnessError(f"no worker {name!r} on {node} in list_workers")


def scrub_status(c: Cluster, via_cli: bool = False) -> dict:
    if via_cli:
        return c.cli("scrub", "status", "--json").json()
    return c.meta_call("/v1/meta/scrub_status", {})


def scrub_pass_done(status: dict, epoch: int, cs_ids: set[int]) -> bool:
    """Every chunkserver of `cs_ids` reports a completed pass of epoch >= `epoch`."""
    seen = set()
    for cs in status["chunkservers"]:
        p = cs.get("progress")
        if cs["chunkserver"] in cs_ids and p and (p.get("last_pass_epoch") or 0) >= epoch:
            seen.add(cs["chunkserver"])
    return seen == cs_ids


def scrub_bad_found(status: dict) -> int:
    return sum((cs.get("progress") or {}).get("bad_found", 0) for cs in status["chunkservers"])


# ---------------------------------------------------------------- slow disks, metrics

# In a chunkserver's environment, turns on its test-only fault injector
# (chunkserver/src/fault.rs): a number in `<disk>/DELAY_FILE` makes every chunk read, chunk
# write, scrub read and health probe on that disk sleep that many milliseconds first.
FAULT_ENV = {"TRIREME_FAULT_INJECTION": "1"}
DELAY_FILE = ".trireme-inject-delay-ms"


def set_disk_delay(disk: Path, ms: int) -> None:
    """Makes every I/O on `disk` sleep `ms` first (0 or a missing file: none). Written to a
    temporary file and renamed, so the chunkserver never reads half a number."""
    path = Path(disk) / DELAY_FILE
    if ms <= 0:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(DELAY_FILE + ".tmp")
    tmp.write_text(f"{ms}\n")
    tmp.rename(path)


def clear_disk_delays(c: Cluster) -> None:
    """Removes every injected delay of the cluster (tests call it before stopping)."""
    for p in c.processes("chunkserver"):
        for disk in p.disks:
            set_disk_delay(disk, 0)


def disks_by_path(c: Cluster) -> dict[str, tuple[int, dict]]:
    """The leader's view of every disk (DiskReport), by real path: (chunkserver id, report)."""
    out = {}
    for cs in chunkservers(c):
        for d in cs.get("disks", []):
            out[os.path.realpath(d["path"])] = (cs["id"], d)
    return out


def prometheus(url: str, timeout: float = 10.0) -> dict[tuple[str, frozenset], float]:
    """GETs a Prometheus text page (no signature, no secret): (name, labels) -> value."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        text = resp.read().decode()
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
    label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    out = {}
    for line in text.splitlines():
        m = sample.match(line)
        if not m or line.startswith("#"):
            continue
        labels = frozenset(label.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(page: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    """The value of `name` with (at least) these labels, summed over the samples that match."""
    want = set(labels.items())
    return sum(v for (n, ls), v in page.items() if n == name and want <= ls)


# ---------------------------------------------------------------- reading while faults happen


@dataclass
class ReadStats:
    reads: int = 0
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)


class BackgroundReader:
    """A thread GETting every object over and over, comparing sha256 with what was written.

    Its client does not retry (max_attempts=1), so every error the gateway returns counts.
    """

    def __init__(self, c: Cluster, bucket: str, objects: dict[str, bytes]) -> None:
        self.s3 = c.s3(max_attempts=1, read_timeout=60)
        self.bucket = bucket
        self.want = {k: (len(v), hashlib.sha256(v).hexdigest()) for k, v in objects.items()}
        self.stats = ReadStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="background-reader")

    def __enter__(self) -> "BackgroundReader":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> ReadStats:
        self._stop.set()
        self._thread.join(timeout=120)
        return self.stats

    def wait_rounds(self, n: int, timeout: float) -> None:
        target = self.stats.reads + n * len(self.want)
        wait_until(lambda: self.stats.reads >= target, timeout, f"{n} more read rounds", 0.05)

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, (size, digest) in self.want.items():
                if self._stop.is_set():
                    return
                try:
                    r = self.s3.get_object(Bucket=self.bucket, Key=key)
                    h = hashlib.sha256()
                    n = 0
                    for b in r["Body"].iter_chunks(MiB):
                        h.update(b)
                        n += len(b)
                    if n != size or h.hexdigest() != digest:
                        self.stats.wrong.append(f"{key}: got {n} bytes sha256 {h.hexdigest()[:16]}, want {size}")
                except Exception as e:  # noqa: BLE001 - every failure is recorded and asserted on
                    self.stats.errors.append(f"{time.strftime('%H:%M:%S')} {key}: {type(e).__name__}: {e}")
                self.stats.reads += 1


def read_all(s3, bucket: str, objects: dict[str, bytes]) -> None:
    """GETs every object once; asserts its bytes."""
    for key, data in objects.items():
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert len(body) == len(data) and body == data, f"{key}: wrong bytes ({len(body)} of {len(data)})"


# ---------------------------------------------------------------- real filesystems as disks


def mount_tools_missing() -> list[str]:
    return [t for t in ("losetup", "mkfs.xfs", "xfs_io", "mount", "umount") if shutil.which(t) is None]


def run(*argv: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise HarnessError(f"`{' '.join(argv)}` exited {r.returncode}: {r.stderr.strip() or r.stdout.strip()}")
    return r


class Mounts:
    """Filesystems mounted for one test; `cleanup()` unmounts them (lazily if busy) and
    detaches their loop devices."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.mounted: list[Path] = []
        self.loops: list[str] = []
        self.images: list[Path] = []

    def xfs(self, mountpoint: Path, size: str = "512M") -> str:
        """Mounts a new XFS image (a sparse file on a loop device) at `mountpoint`; returns
        the loop device."""
        img = self.workdir / f"xfs-{len(self.images)}.img"
        run("truncate", "-s", size, str(img))
        self.images.append(img)
        run("mkfs.xfs", "-q", "-f", str(img))
        loop = run("losetup", "--find", "--show", str(img)).stdout.strip()
        self.loops.append(loop)
        mountpoint.mkdir(parents=True, exist_ok=True)
        run("mount", "-t", "xfs", loop, str(mountpoint))
        self.mounted.append(mountpoint)
        return loop

    def mount(self, loop: str, mountpoint: Path) -> None:
        """Mounts an XFS loop device made by `xfs()` again (a disk put back in its slot)."""
        run("mount", "-t", "xfs", loop, str(mountpoint))
        self.mounted.append(mountpoint)

    def umount(self, mountpoint: Path, timeout: float = 30) -> None:
        """Unmounts `mountpoint` (a disk pulled), retrying while it is busy."""
        wait_until(
            lambda: run("umount", str(mountpoint), check=False).returncode == 0,
            timeout,
            f"umount {mountpoint}",
            0.2,
        )
        self.mounted.remove(mountpoint)

    def tmpfs(self, mountpoint: Path, size: str) -> None:
        mountpoint.mkdir(parents=True, exist_ok=True)
        run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint))
        self.mounted.append(mountpoint)

    def cleanup(self) -> list[str]:
        problems = []
        for m in reversed(self.mounted):
            if run("umount", str(m), check=False).returncode != 0:
                r = run("umount", "-l", str(m), check=False)
                if r.returncode != 0:
                    problems.append(f"umount -l {m}: {r.stderr.strip()}")
        self.mounted = []
        for loop in reversed(self.loops):
            r = run("losetup", "-d", loop, check=False)
            if r.returncode != 0:
                problems.append(f"losetup -d {loop}: {r.stderr.strip()}")
        self.loops = []
        for img in self.images:
            img.unlink(missing_ok=True)
        self.images = []
        return problems


def move_disks_onto_mounts(c: Cluster, mount: Callable[[int, int, Path], None]) -> None:
    """Puts every disk of every chunkserver on a filesystem of its own: stops the cluster,
    and for each disk moves its files aside, calls `mount(chunkserver, disk index, path)` to
    mount a filesystem at its path and moves the files back onto it; then starts the cluster
    again (`trireme up` on the same data directory) and waits until every chunkserver is up.
    (`trireme up` refuses to create a cluster in a non-empty directory, so the mounts cannot
    come before the first start.)"""
    c.stop()
    for p in c.processes("chunkserver"):
        for k, disk in enumerate(p.disks):
            aside = disk.with_name(disk.name + ".before-mount")
            disk.rename(aside)
            disk.mkdir()
            mount(p.id, k, disk)
            for entry in aside.iterdir():
                shutil.move(str(entry), str(disk / entry.name))
            aside.rmdir()
    c.start()
    wait_all_up(c)


def put_many(s3, bucket: str, objects: dict[str, bytes], threads: int = 4) -> None:
    """PUTs every object, `threads` at a time; every PUT must succeed."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        for f in [pool.submit(s3.put_object, Bucket=bucket, Key=k, Body=v) for k, v in objects.items()]:
            f.result()
