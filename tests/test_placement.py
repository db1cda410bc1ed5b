"""Placement: every chunk of a multi-chunk object has exactly 3 replica files on 3 different
chunkservers, and the replica files hold the object's bytes (test plan item 4)."""

from __future__ import annotations

from collections import Counter

from checks import chunk_files, chunk_slices, figure, map_replicas_to_object, new_chunks, placement_problems
from harness import SHARED_CHUNK_SIZE
from s3util import MiB, get, put, random_bytes, sha256


def test_three_replicas_on_three_chunkservers(s3, shared_cluster):
    c = shared_cluster
    s3.create_bucket(Bucket="placement")
    data = random_bytes(6 * MiB + 4321)  # 7 chunks of 1 MiB, the last one short
    before = chunk_files(c)
    put(s3, "placement", "obj", data)
    after = chunk_files(c)
    added = new_chunks(before, after)

    expected = len(chunk_slices(len(data), SHARED_CHUNK_SIZE))
    assert len(added) == expected, f"expected {expected} new chunk ids, found {len(added)}: {sorted(added)}"
    problems = placement_problems(added)
    assert not problems, "bad placement:\n" + "\n".join(problems)

    mapping = map_replicas_to_object(added, data, SHARED_CHUNK_SIZE)
    assert sorted(mapping) == list(range(expected))
    for idx, (cid, reps) in sorted(mapping.items()):
        # Every replica (not only the one used for the mapping) holds the chunk's bytes.
        off, n = chunk_slices(len(data), SHARED_CHUNK_SIZE)[idx]
        for r in reps:
            with open(r.path, "rb") as f:
                f.seek(r.size - n)
                assert f.read(n) == data[off : off + n], f"replica {r.path} of chunk {idx} differs"

    per_server = Counter(r.chunkserver for reps in added.values() for r in reps)
    per_disk = Counter(str(r.disk) for reps in added.values() for r in reps)
    figure("placement", "replica files per chunkserver", dict(sorted(per_server.items())))
    figure("placement", "disks used", len(per_disk))
    assert get(s3, "placement", "obj").sha256 == sha256(data)
