"""The durability engine (issue 4), on real clusters with short intervals:

- kill -9 a chunkserver: the ledger shows the loss, repair brings every chunk back to 3
  healthy replicas on 3 live chunkservers, every object reads back throughout; the returning
  chunkserver's stale copies are collected;
- silent corruption of 1% of the replica files (bytes flipped, truncated, deleted): no GET
  returns a wrong byte, scrub (and inventory, for the deleted files) finds every one, the bad
  files are quarantined and repair restores 3/3;
- all three replicas of a chunk corrupted: the object is listed as lost and GET fails with a
  5xx, never with wrong bytes; other objects are unaffected;
- orphans of a gateway killed mid-PUT and chunks of deleted objects are collected;
- the ledger, the repair queue and the worker settings survive a meta leader change.

Each prints what it measured (detection times, repair rate, found/injected).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import threading
import time
import urllib.parse

import botocore.exceptions
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from checks import (
    chunk_files,
    chunk_slices,
    figure,
    flip_bytes,
    map_chunks_to_objects,
    new_chunks,
    placement_problems,
    quarantined_files,
    replica_content_problems,
)
from durautil import (
    CHUNK,
    GRACE_MS,
    INVENTORY_MS,
    TIMEOUT_MS,
    BackgroundReader,
    chunkserver_state,
    describe,
    durable_cluster,
    put_many,
    rate_mib_s,
    read_all,
    repair_status,
    scrub_bad_found,
    scrub_pass_done,
    scrub_status,
    set_setting,
    total_counts,
    wait_all_up,
    wait_repair_complete,
)
from harness import Cluster, wait_until
from s3util import error_of, random_bytes

KiB = 1024
MiB = 1024 * KiB


# ---------------------------------------------------------------- 1. kill -9 a chunkserver


def test_kill_chunkserver_repairs_every_chunk(fresh_cluster):
    c = durable_cluster(fresh_cluster)
    s3 = c.s3()
    s3.create_bucket(Bucket="kill")
    objects = {f"o{i:02d}": random_bytes(MiB + 4096 + 997 * i) for i in range(64)}  # 5 chunks each
    t0 = time.monotonic()
    put_many(s3, "kill", objects)
    figure("durability-kill", "PUT 64 objects (~1 MiB, 256 KiB chunks)", f"{time.monotonic() - t0:.1f}s")

    files = chunk_files(c)
    where = map_chunks_to_objects(files, objects, CHUNK)
    n = len(where)
    assert n == 64 * 5, f"expected 320 chunks, found {n}"
    problems = placement_problems({cid: files[cid] for cid in where})
    assert not problems, "bad placement before the kill:\n" + "\n".join(problems)
    # The ledger counts them all at 3/3 (and `trireme repair status --json` says so).
    wait_repair_complete(c, n, 30, via_cli=True)

    held = {p.id: 0 for p in c.processes("chunkserver")}
    for cid in where:
        for r in files[cid]:
            held[r.chunkserver] += 1
    victim = max(held, key=held.get)
    on_victim = {cid for cid in where if any(r.chunkserver == victim for r in files[cid])}
    victim_bytes = sum(chunk_slices(len(objects[where[cid][0]]), CHUNK)[where[cid][1]][1] for cid in on_victim)

    with BackgroundReader(c, "kill", objects) as reader:
        reader.wait_rounds(1, 120)
        c.kill("chunkserver", victim)
        t_kill = time.monotonic()
        seen: dict[str, float] = {}
        first_loss: dict = {}

        def loss_seen() -> bool:
            if "dead" not in seen and chunkserver_state(c, victim) == "dead":
                seen["dead"] = time.monotonic()
            if "ledger" not in seen:
                s = repair_status(c)
                t = total_counts(s)
                if t is not None and t["under_replicated"] > 0:
                    seen["ledger"] = time.monotonic()
                    first_loss.update(s)
            return len(seen) == 2

        wait_until(loss_seen, TIMEOUT_MS / 1000 + 30, f"chunkserver {victim} dead and the ledger showing the loss", 0.05)
        t = first_loss["ledger"]["total"]
        figure("durability-kill", "kill -9 -> chunkserver dead (Raft)", f"{seen['dead'] - t_kill:.2f}s (timeout {TIMEOUT_MS} ms)")
        figure("durability-kill", "kill -9 -> ledger shows the loss", f"{seen['ledger'] - t_kill:.2f}s")
        figure("durability-kill", "ledger at the loss", describe(first_loss))
        # Only chunks of the victim lose a replica (repair may have restored some of them
        # before the sweep we saw: sweeps also follow finished copies).
        assert 0 < t["two"] <= len(on_victim) and t["three"] + t["two"] == n and t["one"] == t["zero"] == 0, (
            f"the ledger after the kill should count at most the {len(on_victim)} chunks on chunkserver {victim} "
            f"at 2 healthy replicas and the others at 3: {describe(first_loss)}"
        )
        assert t["under_replicated"] == t["two"], describe(first_loss)

        done = wait_repair_complete(c, n, 90)
        t_done = time.monotonic()
        reader.wait_rounds(1, 120)  # every object read once more after repair completed
    stats = reader.stats
    rep = done["repair"]
    secs = t_done - seen["ledger"]
    figure("durability-kill", "repair (loss in ledger -> sweep proves complete)", f"{secs:.2f}s for {rep['repaired_chunks']} chunks")
    figure("durability-kill", "repair rate", f"{rate_mib_s(rep['repaired_bytes'], secs)} (ledger's own figure {rep['rate_bytes_per_s'] / MiB:.1f} MiB/s over the last minute)")
    figure("durability-kill", "GETs during the fault and repair", f"{stats.reads} ({len(stats.errors)} errors, {len(stats.wrong)} wrong)")
    assert not stats.wrong, "GETs returned wrong bytes:\n" + "\n".join(stats.wrong[:10])
    assert not stats.errors, "GETs failed during the fault and repair:\n" + "\n".join(stats.errors[:10])
    assert rep["repaired_chunks"] >= len(on_victim), rep
    assert rep["repaired_bytes"] >= victim_bytes, f"repaired {rep['repaired_bytes']} bytes, chunks on the victim hold {victim_bytes}"

    # On disk: every chunk of every object has 3 replica files, with the right bytes, on 3
    # distinct live chunkservers.
    files = chunk_files(c)
    bad = []
    for cid, (key, idx) in sorted(where.items()):
        live = [r for r in files.get(cid, []) if r.chunkserver != victim]
        servers = sorted(r.chunkserver for r in live)
        if len(live) != 3 or len(set(servers)) != 3:
            bad.append(f"{cid} ({key} chunk {idx}): {len(live)} live replica files on chunkservers {servers}")
        bad += replica_content_problems(live, objects[key], idx, CHUNK)
    assert not bad, "after repair:\n" + "\n".join(bad[:20])
    read_all(s3, "kill", objects)

    # The victim comes back: its copies were replaced, so they are collected after the grace
    # period, and the ledger still counts every chunk exactly at 3/3.
    c.restart("chunkserver", victim)
    wait_all_up(c)
    t0 = time.monotonic()

    def stale_collected() -> bool:
        files = chunk_files(c)
        return all(len(files.get(cid, [])) == 3 for cid in where)

    wait_until(stale_collected, GRACE_MS / 1000 + 60, f"chunkserver {victim}'s replaced copies to be collected")
    figure("durability-kill", "restarted chunkserver's stale copies collected", f"{time.monotonic() - t0:.2f}s (grace {GRACE_MS} ms)")
    wait_repair_complete(c, n, 30)
    read_all(s3, "kill", objects)


# ---------------------------------------------------------------- 2. silent corruption, scrub


def test_scrub_finds_silent_corruption(fresh_cluster):
    c = durable_cluster(fresh_cluster)
    s3 = c.s3()
    s3.create_bucket(Bucket="scrub")
    rng = random.Random(4)
    objects = {f"s{i:03d}": random_bytes(2 * CHUNK + rng.randint(1, CHUNK // 2)) for i in range(110)}  # 3 chunks each
    t0 = time.monotonic()
    put_many(s3, "scrub", objects)
    figure("durability-scrub", "PUT 110 objects (3 chunks each)", f"{time.monotonic() - t0:.1f}s")
    files = chunk_files(c)
    where = map_chunks_to_objects(files, objects, CHUNK)
    n = len(where)
    assert n == 330
    wait_repair_complete(c, n, 30)
    replica_files = sum(len(files[cid]) for cid in where)

    # Scrub paused (through the CLI) while the damage is done and read around.
    cs_ids = {p.id for p in c.processes("chunkserver")}
    c.cli("scrub", "pause").check()
    assert scrub_status(c, via_cli=True)["control"]["running"] is False

    def all_paused() -> bool:
        st = scrub_status(c)["chunkservers"]
        return {x["chunkserver"] for x in st if (x.get("progress") or {}).get("state") == "paused"} == cs_ids

    wait_until(all_paused, 30, "every chunkserver to report its scrub paused", 0.1)

    # 1% of the replica files, in distinct chunks (one bad replica per chunk): bytes flipped,
    # truncated, deleted. Only full-size chunks, so the damage is inside the data. A third
    # of them first, read around by GETs; the rest after, left for the scrub to find.
    k = max(9, replica_files // 100)
    full = sorted(cid for cid, (key, idx) in where.items() if idx < 2)
    targets = rng.sample(full, k)
    injected: dict[str, tuple[str, object]] = {}  # chunk id -> (kind, replica file)

    def damage(cids: list[str]) -> None:
        for cid in cids:
            r = rng.choice(files[cid])
            kind = ("flip", "truncate", "delete")[len(injected) % 3]
            if kind == "flip":
                flip_bytes(r.path, [1, 4097, 100_000])
            elif kind == "truncate":
                os.truncate(r.path, r.size // 2)
            else:
                r.path.unlink()
            injected[cid] = (kind, r)

    damage(targets[: k // 3])
    # Before the scrub: every GET returns the right bytes (a GET that meets a bad replica
    # sets it aside itself).
    t0 = time.monotonic()
    read_all(s3, "scrub", objects)
    figure("durability-scrub", "GET of all 110 objects with 1/3 of the damage done", f"{time.monotonic() - t0:.1f}s, all bytes correct")
    damage(targets[k // 3 :])
    kinds = {kd: sum(1 for v in injected.values() if v[0] == kd) for kd in ("flip", "truncate", "delete")}
    print(f"injected into {k} of {replica_files} replica files: {kinds}")
    bad_before = scrub_bad_found(scrub_status(c))
    by_gets = {cid for cid in quarantined_files(c) if cid in injected}
    left = {cid for cid, (kind, _) in injected.items() if kind != "delete" and cid not in by_gets}

    # A fast pass now on every chunkserver.
    set_setting(c, "scrub.bandwidth_mib", 400, via_cli=True)
    workers = c.cli("worker", "list", "--json").json()
    assert workers["settings"]["scrub.bandwidth_mib"] == "400", workers["settings"]
    scrubbers = {w["node"] for w in workers["workers"] if w["name"] == "scrub"}
    assert scrubbers == {f"chunkserver-{i}" for i in cs_ids}, f"scrub workers listed: {sorted(scrubbers)}"
    c.cli("scrub", "resume").check()
    epoch_before = scrub_status(c)["control"]["epoch"]
    c.cli("scrub", "start").check()
    status = scrub_status(c, via_cli=True)
    epoch = status["control"]["epoch"]
    assert status["control"]["running"] is True and epoch > epoch_before, f"`trireme scrub start`: {status['control']}"
    t0 = time.monotonic()
    wait_until(lambda: scrub_pass_done(scrub_status(c), epoch, cs_ids), 90, f"a completed scrub pass of epoch {epoch} on every chunkserver", 0.2)
    after = scrub_status(c, via_cli=True)
    scrub_found = scrub_bad_found(after) - bad_before
    verified = sum((cs.get("progress") or {}).get("chunks_done", 0) for cs in after["chunkservers"])
    figure("durability-scrub", "scrub pass (start -> every chunkserver done)", f"{time.monotonic() - t0:.1f}s, {verified} replicas in the pass")
    figure(
        "durability-scrub",
        "bad replicas found by the scrub pass / left for it",
        f"{scrub_found}/{len(left)} ({len(by_gets)} of {kinds['flip'] + kinds['truncate']} flipped/truncated were met and set aside by GETs first)",
    )
    assert scrub_found >= len(left), f"the scrub pass found {scrub_found} bad replicas; {len(left)} were there to find"

    # Every fault found (flipped and truncated files quarantined on their disk; deleted ones
    # dropped after two inventories) and repaired: 3 replica files on 3 chunkservers again.
    # Only then is the ledger's "complete" meaningful: the deleted files are unknown to the
    # metadata until an inventory misses them twice.
    t0 = time.monotonic()

    def missed_faults() -> list[str]:
        files = chunk_files(c)
        quarantined = quarantined_files(c)
        missed = []
        for cid, (kind, r) in injected.items():
            back = files.get(cid, [])
            if kind == "delete":
                ok = not r.path.exists() or r.path.stat().st_size == back[0].size
            else:
                ok = any(q.parent.parent == r.disk for q in quarantined.get(cid, []))
            if not (ok and len(back) == 3 and len({x.chunkserver for x in back}) == 3):
                missed.append(f"{kind} {r.path}: quarantined {quarantined.get(cid, [])}, now {[str(x.path) for x in back]}")
        return missed

    last: list[str] = []

    def all_found() -> bool:
        last[:] = missed_faults()
        return not last

    try:
        wait_until(all_found, 60, "every fault found and repaired", 0.1)
    except AssertionError as e:
        raise AssertionError(f"{e}\nnot found, quarantined and repaired:\n" + "\n".join(last)) from None
    figure("durability-scrub", "faults found and repaired / injected", f"{k - len(last)}/{k} ({kinds}) {time.monotonic() - t0:.1f}s after the scrub pass")
    done = wait_repair_complete(c, n, 60)
    figure("durability-scrub", "repair after the faults", describe(done))
    files = chunk_files(c)
    quarantined = quarantined_files(c)
    stray = sorted(set(quarantined) - set(injected))
    assert not stray, f"good replicas quarantined: {stray}"
    bad = []
    for cid, (key, idx) in where.items():
        reps = files.get(cid, [])
        if len(reps) != 3 or len({r.chunkserver for r in reps}) != 3:
            bad.append(f"{cid}: {len(reps)} files on {[r.chunkserver for r in reps]}")
        bad += replica_content_problems(reps, objects[key], idx, CHUNK)
    assert not bad, "after scrub and repair:\n" + "\n".join(bad[:20])
    read_all(s3, "scrub", objects)


# ---------------------------------------------------------------- 3. all replicas bad: lost


def test_all_replicas_corrupt_is_reported_lost(fresh_cluster):
    c = durable_cluster(fresh_cluster)
    s3 = c.s3()
    s3.create_bucket(Bucket="lost")
    good = {f"good-{i}": random_bytes(2 * CHUNK + 1000 * i + 1) for i in range(8)}
    doomed = {"lost-first": random_bytes(3 * CHUNK - 5), "lost-mid": random_bytes(3 * CHUNK - 7)}
    put_many(s3, "lost", {**good, **doomed})
    r = c.cli("repair", "lost", "--json")
    assert r.returncode == 0, f"`trireme repair lost` should exit 0 with nothing lost: {r.returncode} {r.stdout} {r.stderr}"
    assert r.json()["objects"] == []

    files = chunk_files(c)
    where = map_chunks_to_objects(files, {**good, **doomed}, CHUNK)
    n = len(where)
    wait_repair_complete(c, n, 30)
    bad_chunk = {}
    for key, idx in (("lost-first", 0), ("lost-mid", 1)):
        cid = next(cid for cid, v in where.items() if v == (key, idx))
        assert len(files[cid]) == 3
        for rep in files[cid]:
            flip_bytes(rep.path, [1, 5000, 100_000])
        bad_chunk[key] = cid

    strict = c.s3(max_attempts=1, read_timeout=60)

    def get_fails(key: str) -> str:
        """GET must fail: a 5xx before the body, or a body cut short; never the whole object."""
        try:
            resp = strict.get_object(Bucket="lost", Key=key)
            body = resp["Body"].read()
        except botocore.exceptions.ClientError as e:
            code, status = error_of(e)
            assert status in (500, 503), f"GET {key}: expected a 5xx, got {status} {code}"
            return f"HTTP {status} {code}"
        except (botocore.exceptions.BotoCoreError, http.client.HTTPException, ConnectionError) as e:
            return f"body cut short: {type(e).__name__}"
        raise AssertionError(
            f"GET {key} succeeded with {len(body)} bytes (correct: {body == doomed[key]}) though every replica of a chunk is corrupt"
        )

    # The first chunk is bad: the error comes before any byte.
    first = get_fails("lost-first")
    assert first.startswith("HTTP 5"), f"GET lost-first: expected a 5xx status, got {first}"
    mid = get_fails("lost-mid")
    figure("durability-lost", "GET with every replica of a chunk corrupt", f"first chunk: {first}; middle chunk: {mid}")
    # Ranges that avoid the bad chunk still read.
    g = strict.get_object(Bucket="lost", Key="lost-first", Range=f"bytes={CHUNK}-{2 * CHUNK + 99}")["Body"].read()
    assert g == doomed["lost-first"][CHUNK : 2 * CHUNK + 100]
    g = strict.get_object(Bucket="lost", Key="lost-mid", Range=f"bytes=0-{CHUNK - 1}")["Body"].read()
    assert g == doomed["lost-mid"][:CHUNK]

    after_gets = c.meta_call("/v1/meta/list_lost", {"limit": 100})
    figure("durability-lost", "listed lost after the GETs alone", sorted(o["key"] for o in after_gets["objects"]))
    # A scrub pass makes sure every bad replica is found, whatever the GETs tried.
    c.cli("scrub", "start").check()
    epoch = scrub_status(c)["control"]["epoch"]
    cs_ids = {p.id for p in c.processes("chunkserver")}
    wait_until(lambda: scrub_pass_done(scrub_status(c), epoch, cs_ids), 60, f"scrub pass {epoch} on every chunkserver", 0.2)

    last: dict = {}

    def listed_lost() -> bool:
        r = c.cli("repair", "lost", "--json")
        last["r"] = r
        if r.returncode != 1:
            return False
        keys = {o["key"] for o in json.loads(r.stdout)["objects"]}
        return keys == set(doomed)

    t0 = time.monotonic()
    try:
        wait_until(listed_lost, 30, "`trireme repair lost` to list both objects and exit 1", 0.2)
    except AssertionError as e:
        r = last.get("r")
        raise AssertionError(f"{e}\nlast: exit {r and r.returncode}\n{r and r.stdout}\n{r and r.stderr}") from None
    listing = json.loads(last["r"].stdout)
    lost = {o["key"]: o for o in listing["objects"]}
    figure("durability-lost", "objects listed by `trireme repair lost`", f"{sorted(lost)} (after the scrub pass: {time.monotonic() - t0:.1f}s)")
    for key, o in lost.items():
        assert o["bucket"] == "lost" and o["size"] == len(doomed[key]), o
        assert o["chunks"] == [bad_chunk[key]], f"{key}: lost chunks {o['chunks']}, corrupted {bad_chunk[key]}"
        assert o["recoverable"] is False, f"{key}: every copy was corrupt, nothing can bring it back: {o}"
    assert listing["lost_chunks"] == 2 and listing["truncated"] is False, listing
    table = c.cli("repair", "lost")
    assert table.returncode == 1 and "lost-first" in table.stdout and "lost-mid" in table.stdout, table

    # The ledger counts the two chunks at zero; repair cannot be complete.
    def ledger_zero() -> dict | None:
        s = repair_status(c)
        t = total_counts(s)
        return s if t is not None and t["zero"] == 2 else None

    s = wait_until(ledger_zero, 30, "the ledger to count 2 chunks with no healthy replica", 0.2)
    assert not s["complete"], s
    # Still failing cleanly once known lost; every other object intact.
    assert get_fails("lost-first").startswith("HTTP 5")
    get_fails("lost-mid")
    read_all(s3, "lost", good)
    bad = [o for o in quarantined_files(c) if o not in bad_chunk.values()]
    assert not bad, f"replicas of intact chunks quarantined: {bad}"


# ---------------------------------------------------------------- 4. orphans and deleted chunks


def _start_raw_put(c: Cluster, bucket: str, key: str, body: bytes) -> http.client.HTTPConnection:
    """Starts a SigV4-signed PUT of `body` on a raw connection and returns it with only the
    headers sent; the caller streams the body with `conn.send()`."""
    url = f"{c.endpoint}/{bucket}/{key}"
    req = AWSRequest(
        method="PUT",
        url=url,
        data=b"",
        headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(), "Content-Length": str(len(body))},
    )
    SigV4Auth(Credentials(c.access_key, c.secret_key), "s3", c.region).add_auth(req)
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.putrequest("PUT", u.path, skip_accept_encoding=True)
    for h, v in req.headers.items():
        conn.putheader(h, v)
    conn.endheaders()
    return conn


def test_orphans_and_deleted_chunks_are_collected(fresh_cluster):
    c = durable_cluster(fresh_cluster)
    s3 = c.s3()
    s3.create_bucket(Bucket="orph")
    keep = {f"keep-{i}": random_bytes(CHUNK * (i + 1) + 17) for i in range(5)}
    doomed = {f"doomed-{i}": random_bytes(CHUNK * 3 + i) for i in range(5)}
    put_many(s3, "orph", {**keep, **doomed})
    files = chunk_files(c)
    where = map_chunks_to_objects(files, {**keep, **doomed}, CHUNK)
    doomed_ids = {cid for cid, (key, _) in where.items() if key in doomed}
    for key in doomed:
        s3.delete_object(Bucket="orph", Key=key)
    t_delete = time.monotonic()

    # A large PUT streams; once some of its chunks are on disk, the gateway is killed -9.
    big = random_bytes(32 * MiB)
    before = chunk_files(c)
    conn = _start_raw_put(c, "orph", "interrupted", big)
    sent = 0
    stop = threading.Event()
    send_error: list[BaseException] = []

    def stream() -> None:
        nonlocal sent
        try:
            while sent < len(big) and not stop.is_set():
                conn.send(big[sent : sent + 256 * KiB])
                sent += 256 * KiB
        except OSError as e:
            send_error.append(e)

    sender = threading.Thread(target=stream, daemon=True)
    sender.start()
    wait_until(lambda: len(new_chunks(before, chunk_files(c))) >= 8, 60, "8 chunks of the streaming PUT on disk", 0.05)
    c.kill("gateway", 1)
    t_kill = time.monotonic()
    stop.set()
    sender.join(30)
    conn.close()
    orphans = set(new_chunks(before, chunk_files(c)))
    figure("durability-orphans", "chunks on disk when the gateway was killed", f"{len(orphans)} ({sent / MiB:.0f} of 32 MiB sent)")
    assert sent < len(big), "the whole body was sent before the kill"
    c.restart("gateway", 1)
    wait_until(lambda: s3.list_buckets() is not None, 30, "S3 to answer after the gateway restart")
    try:
        s3.head_object(Bucket="orph", Key="interrupted")
        raise AssertionError("the interrupted PUT is visible")
    except botocore.exceptions.ClientError as e:
        assert error_of(e)[1] == 404, e.response

    def collected(ids: set[str]) -> bool:
        return not (set(chunk_files(c)) & ids)

    wait_until(lambda: collected(doomed_ids), GRACE_MS / 1000 + 60, "chunks of the deleted objects to be collected")
    figure("durability-orphans", "delete -> chunks of deleted objects gone", f"{time.monotonic() - t_delete:.1f}s (grace {GRACE_MS} ms, inventory {INVENTORY_MS} ms)")
    wait_until(lambda: collected(orphans), GRACE_MS / 1000 + 60, "the orphan chunks of the killed PUT to be collected")
    figure("durability-orphans", "gateway kill -> orphan chunks gone", f"{time.monotonic() - t_kill:.1f}s")

    # No partial chunk write of the interrupted PUT is left in a disk's tmp/ either.
    def tmp_files() -> list[str]:
        return [str(f) for p in c.processes("chunkserver") for d in p.disks if (d / "tmp").is_dir() for f in (d / "tmp").iterdir()]

    wait_until(lambda: not tmp_files(), 30, "every disk's tmp/ to be empty")

    # What is left is exactly the live objects' chunks, 3 replicas each.
    files = chunk_files(c)
    live = map_chunks_to_objects(files, keep, CHUNK)
    expected = sum(len(chunk_slices(len(v), CHUNK)) for v in keep.values())
    assert len(live) == expected
    extra = sorted(set(files) - set(live))
    assert not extra, f"chunk files no live object references: {extra[:10]} ({len(extra)})"
    problems = placement_problems(files)
    assert not problems, "\n".join(problems)
    figure("durability-orphans", "chunk files left", f"{sum(len(v) for v in files.values())} = 3 x {expected} chunks of the live objects")
    read_all(s3, "orph", keep)


# ---------------------------------------------------------------- 5. the ledger survives leader changes


def test_ledger_and_repair_survive_a_meta_leader_change(fresh_cluster):
    """Repair throttled to a crawl, a chunkserver killed, then the meta leader killed: the new
    leader's first sweep has the same ledger (the facts are Raft state), the throttle setting
    survived (Raft state), and once it is lifted repair completes to 3/3."""
    c = durable_cluster(fresh_cluster)
    s3 = c.s3()
    s3.create_bucket(Bucket="lead")
    objects = {f"o{i:02d}": random_bytes(MiB) for i in range(24)}  # 4 chunks each
    put_many(s3, "lead", objects)
    n = 24 * 4
    wait_repair_complete(c, n, 30)
    set_setting(c, "repair.concurrency", 1, via_cli=True)
    set_setting(c, "repair.bandwidth_mib", 1, via_cli=True)

    victim = 1
    c.kill("chunkserver", victim)
    wait_until(lambda: chunkserver_state(c, victim) == "dead", TIMEOUT_MS / 1000 + 30, "chunkserver dead", 0.05)

    def under() -> dict | None:
        s = repair_status(c)
        t = total_counts(s)
        return s if t is not None and t["under_replicated"] > 0 else None

    before = wait_until(under, 30, "the ledger showing the loss", 0.05)
    old = c.wait_leader()
    c.kill("meta", old)
    t_kill = time.monotonic()
    new = c.wait_leader(not_=old)

    def new_ledger() -> dict | None:
        s = repair_status(c)
        return s if total_counts(s) is not None else None

    after = wait_until(new_ledger, 30, "a ledger on the new leader", 0.05)
    figure("durability-leader", "meta leader kill -> ledger on the new leader", f"{time.monotonic() - t_kill:.2f}s")
    ta, tb = total_counts(after), total_counts(before)
    assert ta["three"] + ta["two"] + ta["one"] + ta["zero"] == n, describe(after)
    # Still throttled to one 256 KiB copy per 0.25 s: the new leader cannot have caught up yet.
    assert ta["under_replicated"] > 0, f"before {describe(before)}; after {describe(after)}"
    settings = c.cli("worker", "list", "--json").json()["settings"]
    assert settings["repair.bandwidth_mib"] == "1", settings

    set_setting(c, "repair.bandwidth_mib", 500)
    set_setting(c, "repair.concurrency", 4)
    t0 = time.monotonic()
    wait_repair_complete(c, n, 90)
    figure("durability-leader", "repair after the leader change", f"complete in {time.monotonic() - t0:.1f}s (new leader {new})")
    read_all(s3, "lead", objects)
    c.restart("meta", old)
