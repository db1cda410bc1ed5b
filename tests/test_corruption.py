"""A corrupt replica on disk never reaches a client: GETs (whole and ranged) still return the
right bytes, every time (test plan item 6)."""

from __future__ import annotations

from checks import chunk_files, figure, flip_bytes, map_replicas_to_object, new_chunks
from s3util import MiB, get, put, random_bytes, sha256

CHUNK = MiB
FLIPS = [1, 100, 5000, 40_000]  # distances from the end of the file: inside the data area


def _check_reads(s3, bucket, key, data, corrupt_ranges, rounds=5):
    for rnd in range(rounds):
        g = get(s3, bucket, key, keep_body=False)
        assert g.length == len(data) and g.sha256 == sha256(data), f"GET {rnd} of {key} returned wrong bytes"
        for start, end in corrupt_ranges:
            g = get(s3, bucket, key, range_=f"bytes={start}-{end}")
            assert g.status == 206
            assert g.body == data[start : end + 1], f"ranged GET {start}-{end} (round {rnd}) returned wrong bytes"


def test_corrupt_replica_is_never_served(fresh_cluster):
    c = fresh_cluster(chunk_size=CHUNK)
    s3 = c.s3()
    s3.create_bucket(Bucket="corrupt")

    # Phase 1: one replica of every chunk corrupted (replica chosen round-robin over the three).
    data = random_bytes(4 * MiB + 777)
    before = chunk_files(c)
    put(s3, "corrupt", "a", data)
    added = new_chunks(before, chunk_files(c))
    mapping = map_replicas_to_object(added, data, CHUNK)
    ranges = []
    corrupted: set[str] = set()
    for idx, (cid, reps) in sorted(mapping.items()):
        victim = sorted(reps, key=lambda r: r.chunkserver)[idx % len(reps)]
        start, end = idx * CHUNK, min(idx * CHUNK + CHUNK, len(data)) - 1
        flips = [d for d in FLIPS if d <= end - start + 1]  # the last chunk is short
        flip_bytes(victim.path, flips)
        corrupted.add(cid)
        ranges.append((max(start, end - max(flips) - 10), end))
        print(f"corrupted chunk {idx} ({cid}) replica on chunkserver {victim.chunkserver}: {victim.path}")
    _check_reads(s3, "corrupt", "a", data, ranges)

    # Phase 2: two of the three replicas of a middle chunk corrupted.
    data = random_bytes(3 * MiB + 99)
    before = chunk_files(c)
    put(s3, "corrupt", "b", data)
    added = new_chunks(before, chunk_files(c))
    mapping = map_replicas_to_object(added, data, CHUNK)
    cid, reps = mapping[1]
    assert len(reps) == 3, f"chunk 1 of b has {len(reps)} replica files"
    for r in sorted(reps, key=lambda r: r.chunkserver)[:2]:
        flip_bytes(r.path, FLIPS)
        corrupted.add(cid)
        print(f"corrupted chunk 1 ({cid}) replica on chunkserver {r.chunkserver}: {r.path}")
    start_of_chunk, end_of_chunk = CHUNK, 2 * CHUNK - 1
    _check_reads(
        s3,
        "corrupt",
        "b",
        data,
        [(end_of_chunk - max(FLIPS) - 10, end_of_chunk), (start_of_chunk - 10, end_of_chunk + 10)],
    )
    figure("corruption", "objects read correctly with corrupt replicas", "2 (5 whole + ranged GETs each)")
    # Not a contract, but shows the corrupt replicas were really read (and refused): the
    # gateway's log lines naming a corrupted chunk.
    log = (c.data_dir / "gateway-1" / "log").read_text(errors="replace")
    hits = sum(1 for line in log.splitlines() if any(cid in line for cid in corrupted))
    figure("corruption", "gateway log lines naming a corrupted chunk", hits)
