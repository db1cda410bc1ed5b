"""Operators' status commands (issue 5) on a real cluster, through a chunkserver failure:

- `trireme object explain s3://b/k [--json] [--check]`: every chunk's replicas (chunkserver,
  disk, health, last scrub), before the failure, while a chunkserver is dead (its replicas
  dead and unhealthy), and after repair (new replicas elsewhere);
- `trireme disk show` (by id, CHUNKSERVER/INDEX and path) and `trireme chunkserver show`:
  the chunk count from the location index and the at-risk counts, checked against what
  `object explain` says of every chunk; with two chunkservers down, the objects that would
  lose data if a disk failed;
- `trireme cluster status [--check]`: no warning when healthy (exit 0), then the dead
  chunkserver, the paused repair and the under-replicated chunks in words (exit 1).

Repair is paused (`repair.concurrency` 0) while the failure is inspected, so the state stays
put; it is resumed afterwards and the sweep must prove every chunk back at 3/3.
"""

from __future__ import annotations

import os
from collections import defaultdict

from durautil import (
    CHUNK,
    TIMEOUT_MS,
    chunkserver_state,
    durable_cluster,
    put_many,
    set_setting,
    wait_all_up,
    wait_repair_complete,
)
from harness import Cluster, wait_until
from s3util import random_bytes

BUCKET = "status"


def explain(c: Cluster, key: str) -> dict:
    return c.cli("object", "explain", f"s3://{BUCKET}/{key}", "--json").json()


def replicas_by_chunk(c: Cluster, keys: list[str]) -> dict[str, dict]:
    """chunk id -> its explanation (chunks shared by copies appear once)."""
    out = {}
    for key in keys:
        for ch in explain(c, key)["chunks"]:
            out[ch["id"]] = ch
    return out


def disk_of(c: Cluster, cs: int, disk_id: str) -> tuple[int, str]:
    """(index, path) of a disk, from `chunkserver show`."""
    for d in c.cli("chunkserver", "show", str(cs), "--json").json()["disks"]:
        if d["report"]["disk_id"] == disk_id:
            return d["index"], d["report"]["path"]
    raise AssertionError(f"chunkserver {cs} has no disk {disk_id}")


def expected_risk(chunks: dict[str, dict], here) -> dict:
    """What a disk or chunkserver show should count, from `object explain`'s replicas."""
    now = defaultdict(int)
    after = defaultdict(int)
    lose = set()
    for cid, ch in chunks.items():
        reps = ch["replicas"]
        if not any(here(r) for r in reps):
            continue
        h_now = sum(1 for r in reps if r["healthy"])
        h_after = sum(1 for r in reps if r["healthy"] and not here(r))
        now[min(h_now, 3)] += 1
        after[min(h_after, 3)] += 1
        if h_now > 0 and h_after == 0:
            lose.add(cid)
    return {"now": now, "after": after, "lose": lose}


def counts_of(c: dict) -> dict:
    return {3: c["three"], 2: c["two"], 1: c["one"], 0: c["zero"]}


def check_risk(risk: dict, want: dict, what: str) -> None:
    assert counts_of(risk["now"]) == {k: want["now"].get(k, 0) for k in (3, 2, 1, 0)}, (what, risk, want)
    assert counts_of(risk["if_failed"]) == {k: want["after"].get(k, 0) for k in (3, 2, 1, 0)}, (what, risk, want)
    assert risk["would_lose_chunks"] == len(want["lose"]), (what, risk, want)


def status(c: Cluster) -> dict:
    return c.cli("cluster", "status", "--json").json()


def kinds(st: dict) -> list[str]:
    return [w["kind"] for w in st["warnings"]]


def test_status_commands_through_a_chunkserver_failure(fresh_cluster):
    c = durable_cluster(fresh_cluster)
    s3 = c.s3()
    s3.create_bucket(Bucket=BUCKET)
    objects = {f"o{i}": random_bytes(3 * CHUNK + 1000 * i + 1) for i in range(8)}  # 4 chunks each
    put_many(s3, BUCKET, objects)
    s3.copy_object(Bucket=BUCKET, Key="o0-copy", CopySource={"Bucket": BUCKET, "Key": "o0"})
    keys = sorted(objects) + ["o0-copy"]
    n = 8 * 4
    wait_repair_complete(c, n, 30)
    disks_of = {p.id: {os.path.realpath(d) for d in p.disks} for p in c.processes("chunkserver")}

    # A scrub pass, so every replica has a "last verified" time.
    c.cli("scrub", "start").check()
    wait_until(
        lambda: all(r["last_scrub_ms"] for ch in explain(c, "o0")["chunks"] for r in ch["replicas"]),
        60,
        "every disk holding o0 to finish a scrub pass",
        0.2,
    )

    # ---- healthy: every chunk at 3/3 on 3 chunkservers, the copy shares the chunks.
    e = explain(c, "o0")
    head = s3.head_object(Bucket=BUCKET, Key="o0")
    assert e["size"] == len(objects["o0"]) == head["ContentLength"]
    assert f'"{e["etag"]}"' == head["ETag"]
    assert [ch["offset"] for ch in e["chunks"]] == [0, CHUNK, 2 * CHUNK, 3 * CHUNK]
    assert sum(ch["length"] for ch in e["chunks"]) == e["size"]
    assert e["summary"] == {"chunks": 4, "under_replicated": 0, "lost": 0, "min_healthy": 3}
    for ch in e["chunks"]:
        assert (ch["refs"], ch["want"], ch["healthy"]) == (2, 3, 3), ch
        assert len(ch["blake3"]) == 64
        assert len({r["chunkserver"] for r in ch["replicas"]}) == 3, ch
        for r in ch["replicas"]:
            assert r["alive"] and r["healthy"] and r["chunkserver_state"] == "up" and r["disk_state"] == "healthy", r
            assert os.path.realpath(r["path"]) in disks_of[r["chunkserver"]], r
    text = c.cli("object", "explain", f"s3://{BUCKET}/o0").check().stdout
    print(text)
    assert text.splitlines()[-1] == "3/3 healthy replicas for every chunk", text
    assert "replicas 3/3 healthy; 2 references (shared with copies)" in text, text
    assert c.cli("object", "explain", f"s3://{BUCKET}/o0", "--check").returncode == 0

    wait_until(lambda: status(c)["warnings"] == [], 30, "cluster status without warnings", 0.2)
    ok = c.cli("cluster", "status", "--check")
    print(ok.stdout)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "warnings      none" in ok.stdout, ok.stdout

    # ---- kill a chunkserver holding o0's first chunk, with repair paused.
    set_setting(c, "repair.concurrency", 0, via_cli=True)
    before = {ch["id"]: {r["chunkserver"] for r in ch["replicas"]} for ch in e["chunks"]}
    victim = e["chunks"][0]["replicas"][0]["chunkserver"]
    c.kill("chunkserver", victim)
    wait_until(lambda: chunkserver_state(c, victim) == "dead", TIMEOUT_MS / 1000 + 30, f"chunkserver {victim} dead", 0.1)

    e = explain(c, "o0")
    for ch in e["chunks"]:
        on_victim = [r for r in ch["replicas"] if r["chunkserver"] == victim]
        if on_victim:
            r = on_victim[0]
            assert r["chunkserver_state"] == "dead" and not r["alive"] and not r["healthy"], r
            assert ch["healthy"] == 2, ch
        else:
            assert ch["healthy"] == 3, ch
    assert e["summary"]["under_replicated"] >= 1
    text = c.cli("object", "explain", f"s3://{BUCKET}/o0").check().stdout
    print(text)
    assert text.splitlines()[-1].startswith("at risk: "), text
    assert " dead   down " in text, text
    assert c.cli("object", "explain", f"s3://{BUCKET}/o0", "--check").returncode == 1

    # disk show: a live disk sharing chunks with the victim; counts as `explain` says.
    chunks = replicas_by_chunk(c, keys)
    assert len(chunks) == n
    shared = next(
        r for ch in chunks.values() if any(x["chunkserver"] == victim for x in ch["replicas"])
        for r in ch["replicas"] if r["chunkserver"] != victim
    )
    cs, disk_id = shared["chunkserver"], shared["disk"]
    index, path = disk_of(c, cs, disk_id)
    want = expected_risk(chunks, lambda r: r["chunkserver"] == cs and r["disk"] == disk_id)
    assert want["now"][2] >= 1 and not want["lose"], want
    for sel in (disk_id, f"{cs}/{index}", path):
        d = c.cli("disk", "show", sel, "--json").json()
        assert (d["chunkserver"], d["disk"]["report"]["disk_id"]) == (cs, disk_id), sel
        assert d["disk"]["indexed_chunks"] == sum(want["now"].values()), d["disk"]
        check_risk(d["risk"], want, f"disk {sel}")
    text = c.cli("disk", "show", disk_id).check().stdout
    print(text)
    assert f"chunks with a replica here  {sum(want['now'].values())} (3+ healthy replicas: {want['now'][3]}, 2: {want['now'][2]}, 1: 0, none: 0)" in text, text
    assert text.splitlines()[-1].startswith("no data would be lost; "), text

    # chunkserver show of the dead one.
    v = c.cli("chunkserver", "show", str(victim), "--json").json()
    assert v["chunkserver"]["state"] == "dead" and v["chunkserver"]["alive"] is False
    check_risk(v["risk"], expected_risk(chunks, lambda r: r["chunkserver"] == victim), f"chunkserver {victim}")
    print(c.cli("chunkserver", "show", str(victim)).check().stdout)

    # cluster status: the dead chunkserver, the paused repair, the under-replicated chunks.
    st = status(c)
    assert "chunkserver_dead" in kinds(st) and "under_replicated" in kinds(st), st["warnings"]
    dead = next(w["message"] for w in st["warnings"] if w["kind"] == "chunkserver_dead")
    assert dead.startswith(f"chunkserver {victim} ") and "is dead (no heartbeat for " in dead, dead
    assert "with 2 healthy replicas" in dead and "repair is paused" in dead, dead
    out = c.cli("cluster", "status", "--check")
    print(out.stdout)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stderr.startswith("trireme: the cluster has "), out.stderr

    # ---- a second chunkserver down: chunks with only 1 healthy replica, objects that would
    # lose data if that replica's disk failed.
    second = next(p.id for p in c.processes("chunkserver") if p.id not in (victim, cs))
    c.kill("chunkserver", second)
    wait_until(lambda: chunkserver_state(c, second) == "dead", TIMEOUT_MS / 1000 + 30, f"chunkserver {second} dead", 0.1)
    chunks = replicas_by_chunk(c, keys)
    single = [ch for ch in chunks.values() if ch["healthy"] == 1]
    assert single, "no chunk with a single healthy replica after two chunkservers died"
    last = next(r for r in single[0]["replicas"] if r["healthy"])
    lcs, ldisk = last["chunkserver"], last["disk"]
    want = expected_risk(chunks, lambda r: r["chunkserver"] == lcs and r["disk"] == ldisk)
    assert want["lose"], want
    d = c.cli("disk", "show", ldisk, "--json").json()
    check_risk(d["risk"], want, f"disk {ldisk}")
    losing_keys = sorted(
        k for k in keys
        if any(ch["id"] in want["lose"] for ch in explain(c, k)["chunks"])
    )
    assert sorted(o["key"] for o in d["risk"]["objects"]) == losing_keys, (d["risk"], losing_keys)
    text = c.cli("disk", "show", ldisk).check().stdout
    print(text)
    assert "DATA WOULD BE LOST: " in text and "objects that would lose data:" in text, text
    st = status(c)
    assert any("with only 1" in w["message"] for w in st["warnings"]), st["warnings"]

    # ---- the second one comes back, repair resumes: every chunk at 3/3 again, the victim's
    # replicas replaced by new ones on the other chunkservers.
    c.restart("chunkserver", second)
    wait_until(lambda: chunkserver_state(c, second) == "up", 60, f"chunkserver {second} up", 0.1)
    set_setting(c, "repair.concurrency", 4, via_cli=True)
    wait_repair_complete(c, n, 120)
    e = explain(c, "o0")
    assert e["summary"]["under_replicated"] == 0, e["summary"]
    for ch in e["chunks"]:
        now = {r["chunkserver"] for r in ch["replicas"]}
        assert victim not in now and len(now) == 3, ch
        assert all(r["healthy"] and r["alive"] for r in ch["replicas"]), ch
        if victim in before[ch["id"]]:
            assert now - before[ch["id"]], f"chunk {ch['id']}: no new replica ({before[ch['id']]} -> {now})"
    text = c.cli("object", "explain", f"s3://{BUCKET}/o0").check().stdout
    print(text)
    assert text.splitlines()[-1] == "3/3 healthy replicas for every chunk", text
    dead = next(w["message"] for w in status(c)["warnings"] if w["kind"] == "chunkserver_dead")
    assert dead.endswith("every chunk it held has its healthy replicas elsewhere"), dead

    # The victim returns: no warning left, `--check` passes.
    c.restart("chunkserver", victim)
    wait_all_up(c)
    wait_until(lambda: c.cli("cluster", "status", "--check").returncode == 0, 60, "cluster status --check to pass", 0.2)
    print(c.cli("cluster", "status").check().stdout)
