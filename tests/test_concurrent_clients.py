"""Eight boto3 clients at once (one per thread), each writing and reading back 200 objects of
its own under its own prefix, interleaved with the others: random sizes up to 256 KiB and a
few of about 2 MiB, some keys overwritten. Every GET must return exactly the bytes that
client last wrote; at the end the listing holds exactly every key with its size and ETag,
and every object reads back once more."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from checks import figure
from clientutil import MiB, unique_bucket

CLIENTS = 8
OBJECTS = 200
BIG_EVERY = 40  # objects 0, 40, 80, ...: about 2 MiB
OVERWRITES = 10  # keys each client rewrites with new bytes mid-run


def payload(seed: int, size: int) -> bytes:
    """Deterministic bytes for (seed, size), so a GET is compared with the full expected body."""
    return random.Random(seed).randbytes(size)


@dataclass
class Stats:
    puts: int = 0
    gets: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    mismatches: list[str] = field(default_factory=list)


def client_run(c, bucket: str, idx: int, start: threading.Barrier) -> tuple[dict[str, tuple[int, int]], Stats]:
    """One client: PUT its objects, reading back a random earlier one after each PUT."""
    s3 = c.s3()
    rng = random.Random(1000 + idx)
    stats = Stats()
    written: dict[str, tuple[int, int]] = {}  # key -> (seed, size) of the bytes last written

    def put(key: str, seed: int, size: int) -> None:
        body = payload(seed, size)
        r = s3.put_object(Bucket=bucket, Key=key, Body=body)
        want = f'"{hashlib.md5(body).hexdigest()}"'
        if r["ETag"] != want:
            stats.mismatches.append(f"{key}: PUT ETag {r['ETag']} != {want}")
        written[key] = (seed, size)
        stats.puts += 1
        stats.bytes_up += size

    def get(key: str) -> None:
        seed, size = written[key]
        got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        stats.gets += 1
        stats.bytes_down += len(got)
        if got != payload(seed, size):
            stats.mismatches.append(f"{key}: GET returned {len(got)} B that differ from the {size} B written")

    start.wait(timeout=60)
    keys = [f"c{idx}/obj-{n:03d}" for n in range(OBJECTS)]
    overwrite_at = set(rng.sample(range(OBJECTS // 2, OBJECTS), OVERWRITES))
    for n, key in enumerate(keys):
        size = 2 * MiB + rng.randrange(0, 64 * 1024) if n % BIG_EVERY == 0 else rng.randrange(0, 256 * 1024 + 1)
        put(key, rng.getrandbits(64), size)
        get(key)  # read your write
        get(keys[rng.randrange(0, n + 1)])  # and an older one
        if n in overwrite_at:
            old = keys[rng.randrange(0, n + 1)]
            put(old, rng.getrandbits(64), rng.randrange(1, 128 * 1024))
            get(old)
    return written, stats


def test_eight_concurrent_clients(shared_cluster, s3):
    c = shared_cluster
    bucket = unique_bucket("concurrent")
    s3.create_bucket(Bucket=bucket)
    start = threading.Barrier(CLIENTS)

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [pool.submit(client_run, c, bucket, i, start) for i in range(CLIENTS)]
        results = [f.result() for f in futures]
    elapsed = time.monotonic() - t0

    puts = sum(st.puts for _, st in results)
    gets = sum(st.gets for _, st in results)
    up = sum(st.bytes_up for _, st in results)
    down = sum(st.bytes_down for _, st in results)
    mismatches = [m for _, st in results for m in st.mismatches]
    assert not mismatches, f"{len(mismatches)} wrong answers, first ones: {mismatches[:10]}"
    assert puts == CLIENTS * (OBJECTS + OVERWRITES), puts
    figure("concurrent clients", "clients x objects", f"{CLIENTS} x {OBJECTS}")
    figure("concurrent clients", "PUTs + GETs", f"{puts} + {gets} in {elapsed:.1f}s")
    figure("concurrent clients", "ops/s", f"{(puts + gets) / elapsed:.1f}")
    figure("concurrent clients", "MiB/s up / down", f"{up / MiB / elapsed:.1f} / {down / MiB / elapsed:.1f}")

    # The listing holds exactly every key with the size and ETag of its last write.
    expected = {key: sz for written, _ in results for key, sz in written.items()}
    assert len(expected) == CLIENTS * OBJECTS
    listed = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            listed[o["Key"]] = (o["Size"], o["ETag"])
    assert sorted(listed) == sorted(expected), (
        f"missing {sorted(set(expected) - set(listed))[:10]}, extra {sorted(set(listed) - set(expected))[:10]}"
    )
    wrong = []
    for key, (seed, size) in expected.items():
        body = payload(seed, size)
        if listed[key] != (size, f'"{hashlib.md5(body).hexdigest()}"'):
            wrong.append(f"{key}: listed {listed[key]}, wrote {size} B")
    assert not wrong, wrong[:10]

    # Every object once more, read by as many clients in parallel.
    def verify(idx: int) -> list[str]:
        cl = c.s3()
        bad = []
        for key, (seed, size) in sorted(results[idx][0].items()):
            if cl.get_object(Bucket=bucket, Key=key)["Body"].read() != payload(seed, size):
                bad.append(key)
        return bad

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        bad = [k for r in pool.map(verify, range(CLIENTS)) for k in r]
    assert not bad, f"final read-back differs for {bad[:10]}"
    figure("concurrent clients", "final parallel read-back of every key (GET/s)", f"{len(expected) / (time.monotonic() - t0):.1f}")

    # Clean up with DeleteObjects, 1000 keys a request (S3's maximum).
    keys = sorted(expected)
    for i in range(0, len(keys), 1000):
        out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True})
        assert not out.get("Errors"), out["Errors"][:5]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.delete_bucket(Bucket=bucket)
