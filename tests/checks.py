"""Checks on what the cluster stored on disk: chunk replica files, placement, corruption."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from harness import Cluster

CHUNK_NAME = re.compile(r"^[0-9a-f]{32}$")

FIGURES: list[tuple[str, str, str]] = []  # (test, name, value), printed at the end of the run


def figure(test: str, name: str, value: object) -> None:
    """Records a measured figure: printed now and in the summary at the end of the run."""
    FIGURES.append((test, name, str(value)))
    print(f"[figure] {test}: {name} = {value}")


@dataclass(frozen=True)
class ReplicaFile:
    chunk_id: str
    chunkserver: int
    disk: Path
    path: Path
    size: int


def chunk_files(cluster: Cluster, exclude_disks: set[Path] | frozenset[Path] = frozenset()) -> dict[str, list[ReplicaFile]]:
    """Every chunk replica file on every disk (but `exclude_disks`, e.g. a shut-down
    filesystem that answers EIO): chunk id -> its replica files."""
    out: dict[str, list[ReplicaFile]] = defaultdict(list)
    for p in cluster.processes("chunkserver"):
        for disk in p.disks:
            if disk in exclude_disks:
                continue
            root = disk / "chunks"
            if not root.is_dir():
                continue
            for sub in root.iterdir():
                if not sub.is_dir() or len(sub.name) != 2:
                    continue
                for f in sub.iterdir():
                    if not CHUNK_NAME.match(f.name):
                        continue
                    try:
                        size = f.stat().st_size
                    except FileNotFoundError:
                        continue  # deleted while we looked
                    out[f.name].append(ReplicaFile(f.name, p.id, disk, f, size))
    return dict(out)


def quarantined_files(cluster: Cluster) -> dict[str, list[Path]]:
    """Replica files set aside as bad (`DISK/quarantine/<chunk>.<unix_ms>`): chunk id -> files."""
    out: dict[str, list[Path]] = defaultdict(list)
    for p in cluster.processes("chunkserver"):
        for disk in p.disks:
            q = disk / "quarantine"
            if not q.is_dir():
                continue
            for f in q.iterdir():
                cid = f.name.split(".", 1)[0]
                if CHUNK_NAME.match(cid):
                    out[cid].append(f)
    return dict(out)


def map_chunks_to_objects(
    chunks: dict[str, list[ReplicaFile]], objects: dict[str, bytes], chunk_size: int
) -> dict[str, tuple[str, int]]:
    """Which chunk of which object each chunk id holds (matched by each file's tail, as in
    `map_replicas_to_object`): chunk id -> (key, chunk index). Chunk ids holding none of
    these objects are left out; asserts every chunk of every object was found."""
    # Identical chunks (equal short tails of two objects) are told apart by order only:
    # each chunk id takes one (key, index) of its content not taken yet.
    by_digest: dict[tuple[int, bytes], list[tuple[str, int]]] = defaultdict(list)
    for key, data in objects.items():
        for i, (off, n) in enumerate(chunk_slices(len(data), chunk_size)):
            by_digest[(n, hashlib.sha256(data[off : off + n]).digest())].append((key, i))
    # Longest first: a short length could match a longer chunk's last bytes by chance (a
    # 1-byte tail does one time in 256); a length longer than the chunk takes header bytes.
    lengths = sorted({n for n, _ in by_digest}, reverse=True)
    found: dict[str, tuple[str, int]] = {}
    taken: set[tuple[str, int]] = set()
    for cid, reps in sorted(chunks.items()):
        f = reps[0]
        for n in lengths:
            if f.size < n:
                continue
            with open(f.path, "rb") as fh:
                fh.seek(f.size - n)
                tail = fh.read(n)
            free = [v for v in by_digest.get((n, hashlib.sha256(tail).digest()), []) if v not in taken]
            if free:
                found[cid] = free[0]
                taken.add(free[0])
                break
    missing = [v for vs in by_digest.values() for v in vs if v not in taken]
    assert not missing, f"no chunk file holds these (object, chunk index): {sorted(missing)[:20]}"
    return found


def replica_content_problems(
    reps: list[ReplicaFile], data: bytes, index: int, chunk_size: int
) -> list[str]:
    """Replica files of chunk `index` of `data` whose data area differs from the object's slice."""
    off, n = chunk_slices(len(data), chunk_size)[index]
    want = data[off : off + n]
    bad = []
    for r in reps:
        try:
            with open(r.path, "rb") as fh:
                fh.seek(0, 2)
                size = fh.tell()
                fh.seek(max(0, size - n))
                got = fh.read(n)
        except OSError as e:
            bad.append(f"{r.path}: {e}")
            continue
        if got != want:
            bad.append(f"{r.path} (chunkserver {r.chunkserver}): data area differs from chunk {index} of the object")
    return bad


def new_chunks(before: dict[str, list[ReplicaFile]], after: dict[str, list[ReplicaFile]]) -> dict[str, list[ReplicaFile]]:
    return {cid: reps for cid, reps in after.items() if cid not in before}


def placement_problems(chunks: dict[str, list[ReplicaFile]], replicas: int = 3) -> list[str]:
    """Chunks whose replica files are not exactly `replicas` files on as many distinct chunkservers."""
    bad = []
    for cid, reps in sorted(chunks.items()):
        servers = sorted(r.chunkserver for r in reps)
        if len(reps) != replicas or len(set(servers)) != replicas:
            bad.append(f"{cid}: {len(reps)} files on chunkservers {servers}")
        elif len({r.size for r in reps}) != 1:
            bad.append(f"{cid}: replica files differ in size {[r.size for r in reps]}")
    return bad


def chunk_slices(total: int, chunk_size: int) -> list[tuple[int, int]]:
    """(offset, length) of each chunk of an object of `total` bytes."""
    return [(off, min(chunk_size, total - off)) for off in range(0, total, chunk_size)]


def map_replicas_to_object(
    chunks: dict[str, list[ReplicaFile]], data: bytes, chunk_size: int
) -> dict[int, tuple[str, list[ReplicaFile]]]:
    """Identifies which chunk of `data` each chunk id holds, by matching each file's tail.

    A chunk file is a header followed by the chunk's bytes, so its last `length` bytes equal
    the object's slice. Returns chunk index -> (chunk id, replica files); asserts every chunk
    of the object was found exactly once.
    """
    slices = chunk_slices(len(data), chunk_size)
    by_digest = {}
    for i, (off, n) in enumerate(slices):
        by_digest[(n, hashlib.sha256(data[off : off + n]).digest())] = i
    lengths = sorted({n for _, n in slices})
    found: dict[int, tuple[str, list[ReplicaFile]]] = {}
    for cid, reps in chunks.items():
        f = reps[0]
        for n in lengths:
            if f.size < n:
                continue
            with open(f.path, "rb") as fh:
                fh.seek(f.size - n)
                tail = fh.read(n)
            idx = by_digest.get((n, hashlib.sha256(tail).digest()))
            if idx is not None:
                assert idx not in found, f"chunk {idx} of the object is stored under two ids: {found[idx][0]}, {cid}"
                found[idx] = (cid, reps)
                break
    missing = [i for i in range(len(slices)) if i not in found]
    assert not missing, f"no chunk file holds chunks {missing} of the object (found {sorted(found)})"
    return found


def flip_bytes(path: Path, offsets_from_end: list[int]) -> None:
    """Inverts the bytes at these distances from the end of the file (in its data area)."""
    with open(path, "r+b") as f:
        f.seek(0, 2)
        size = f.tell()
        for d in offsets_from_end:
            pos = size - d
            f.seek(pos)
            b = f.read(1)
            f.seek(pos)
            f.write(bytes([b[0] ^ 0xFF]))
        f.flush()



def leader_of(status: dict) -> int | None:
    """The leader id in `trireme cluster status --json` output (cli/src/commands/cluster.rs)."""
    assert isinstance(status, dict) and "leader" in status, f"no leader field in cluster status JSON: {status!r}"
    return None if status["leader"] is None else int(status["leader"])


def members_of(status: dict) -> list[dict]:
    """The member list in `trireme cluster status --json` output."""
    assert isinstance(status, dict) and "members" in status, f"no members field in cluster status JSON: {status!r}"
    return list(status["members"])
