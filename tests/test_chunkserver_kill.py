"""kill -9 one chunkserver: every object still reads back, new PUTs still succeed and are still
placed on 3 (live) chunkservers (test plan item 5)."""

from __future__ import annotations

import time

from checks import chunk_files, chunk_slices, figure, new_chunks, placement_problems
from harness import wait_until
from s3util import MiB, get, put, random_bytes, sha256

CHUNK = MiB
TIMEOUT_MS = 3000


def test_kill_one_chunkserver(fresh_cluster):
    c = fresh_cluster(chunk_size=CHUNK, chunkserver_timeout_ms=TIMEOUT_MS, heartbeat_ms=300)
    s3 = c.s3()
    s3.create_bucket(Bucket="cs-kill")
    objects = {f"obj-{i}": random_bytes(size) for i, size in enumerate([3 * MiB + 5, 4 * MiB, 2 * MiB + 1, 5 * MiB - 7, 100])}
    for k, v in objects.items():
        put(s3, "cs-kill", k, v)

    victim = c.processes("chunkserver")[0]
    c.kill("chunkserver", victim.id)
    t_kill = time.monotonic()

    # Every object, read twice, right after the kill.
    t0 = time.monotonic()
    for rnd in range(2):
        for k, v in objects.items():
            g = get(s3, "cs-kill", k, keep_body=False)
            assert g.length == len(v) and g.sha256 == sha256(v), f"{k} differs after the kill (round {rnd})"
    figure("chunkserver-kill", "read back 2x5 objects after kill", f"{time.monotonic() - t0:.2f}s")

    # A PUT right after the kill (placement may still pick the dead one): within the retry budget.
    t0 = time.monotonic()
    early = random_bytes(3 * MiB + 11)
    put(s3, "cs-kill", "after-kill-early", early)
    figure("chunkserver-kill", "first PUT (3 MiB) after kill", f"{time.monotonic() - t0:.2f}s")
    objects["after-kill-early"] = early

    # The meta leader notices it is dead.
    def victim_dead() -> bool:
        css = c.meta_call("/v1/meta/list_chunkservers", {})["chunkservers"]
        return any(cs["id"] == victim.id and not cs["alive"] for cs in css)

    wait_until(victim_dead, TIMEOUT_MS / 1000 + 30, f"the leader to mark chunkserver {victim.id} dead")
    figure("chunkserver-kill", "kill -> marked dead", f"{time.monotonic() - t_kill:.2f}s (timeout {TIMEOUT_MS} ms)")

    # PUTs once it is known dead: 3 replicas, all on live chunkservers.
    before = chunk_files(c)
    later = {f"after-dead-{i}": random_bytes(2 * MiB + i) for i in range(3)}
    t0 = time.monotonic()
    for k, v in later.items():
        put(s3, "cs-kill", k, v)
    figure("chunkserver-kill", "3 PUTs (2 MiB) once marked dead", f"{time.monotonic() - t0:.2f}s")
    added = new_chunks(before, chunk_files(c))
    expected = sum(len(chunk_slices(len(v), CHUNK)) for v in later.values())
    assert len(added) == expected, f"expected {expected} new chunks, found {len(added)}"
    problems = placement_problems(added)
    assert not problems, "bad placement after a chunkserver died:\n" + "\n".join(problems)
    on_victim = [cid for cid, reps in added.items() if any(r.chunkserver == victim.id for r in reps)]
    assert not on_victim, f"new chunks placed on the dead chunkserver: {on_victim}"
    objects.update(later)

    for k, v in objects.items():
        g = get(s3, "cs-kill", k, keep_body=False)
        assert g.length == len(v) and g.sha256 == sha256(v), f"{k} differs"
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket="cs-kill")["Contents"]]
    assert listed == sorted(objects)
