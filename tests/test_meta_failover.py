"""kill -9 the meta leader during a stream of PUTs: a new leader is elected, writes continue, no
acknowledged PUT is lost, and the restarted node rejoins and catches up (test plan item 7)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from checks import figure, leader_of, members_of
from harness import HarnessError, pid_alive, wait_until
from s3util import get, random_bytes

BUCKET = "failover"


@dataclass
class Writer:
    """Sequential PUTs of unique keys; records which ones were acknowledged, and when."""

    s3: object
    acked: list[tuple[str, bytes, float]] = field(default_factory=list)  # (key, body, ack time)
    failed: list[tuple[str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            key = f"k{i:06d}"
            body = key.encode() + b":" + random_bytes(1000 + (i * 37) % 3000)
            i += 1
            try:
                self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            except Exception as e:  # noqa: BLE001 - an unacknowledged PUT may or may not exist
                with self.lock:
                    self.failed.append((key, f"{type(e).__name__}: {e}"))
                continue
            with self.lock:
                self.acked.append((key, body, time.monotonic()))

    def acks_after(self, t: float) -> int:
        with self.lock:
            return sum(1 for _, _, ta in self.acked if ta > t)


def test_meta_leader_failover(fresh_cluster):
    c = fresh_cluster(chunk_size=1024 * 1024)
    s3 = c.s3()
    s3.create_bucket(Bucket=BUCKET)
    old_leader = c.wait_leader()

    w = Writer(c.s3())
    t = threading.Thread(target=w.run, name="put-stream", daemon=True)
    t.start()
    try:
        wait_until(lambda: w.acks_after(0) >= 20, 60, "20 acknowledged PUTs before the kill")
        killed = c.kill("meta", old_leader)
        t_kill = time.monotonic()

        new_leader = c.wait_leader(timeout=30, not_=old_leader)
        t_elected = time.monotonic()
        wait_until(lambda: w.acks_after(t_kill) >= 20, 90, "20 acknowledged PUTs after the kill")
    finally:
        w.stop.set()
        t.join(timeout=120)
    assert not t.is_alive(), "writer thread did not stop"

    with w.lock:
        acked = list(w.acked)
        failed = list(w.failed)
    before = [a for a in acked if a[2] <= t_kill]
    after = [a for a in acked if a[2] > t_kill]
    gap = after[0][2] - before[-1][2]
    figure("failover", "leader", f"{old_leader} -> {new_leader}")
    figure("failover", "kill -> new leader seen", f"{t_elected - t_kill:.2f}s")
    figure("failover", "failover time (last ack before kill -> first ack after)", f"{gap:.2f}s")
    figure("failover", "PUTs acked / failed", f"{len(acked)} / {len(failed)}")
    assert new_leader != old_leader

    # The CLI agrees on the new leader.
    st = c.cli("cluster", "status", "--json").json()
    assert leader_of(st) == new_leader, f"`cluster status --json` shows leader {leader_of(st)}, expected {new_leader}"

    # Every acknowledged PUT reads back exactly.
    for key, body, _ in acked:
        g = get(s3, BUCKET, key)
        assert g.body == body, f"acknowledged PUT {key} reads back {g.length} different bytes"
    listed = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        listed |= {o["Key"] for o in page.get("Contents", [])}
    missing = {k for k, _, _ in acked} - listed
    assert not missing, f"acknowledged keys missing from the listing: {sorted(missing)[:10]}"
    phantom = listed - {k for k, _, _ in acked} - {k for k, _ in failed}
    assert not phantom, f"listed keys that were never written: {sorted(phantom)[:10]}"

    # While it is down, the leader's log has moved past what the killed node holds.
    st = c.meta_status(c.proc("meta", new_leader).addr)
    lag = [m.get("matched_index") for m in st["members"] if m["id"] == old_leader]
    assert lag, f"killed node {old_leader} vanished from the membership: {st['members']}"
    figure("failover", "killed node's matched index while down", f"{lag[0]} (leader's last log index {st['last_log_index']})")
    assert lag[0] is None or lag[0] < st["last_log_index"], st

    # Restart the killed node: it rejoins and catches up.
    c.restart("meta", old_leader)
    t_restart = time.monotonic()
    s3.put_object(Bucket=BUCKET, Key="after-restart", Body=b"x")

    def caught_up() -> dict | None:
        leader = c.leader_id()
        st = c.meta_status(c.proc("meta", leader).addr)
        me = [m for m in st["members"] if m["id"] == old_leader]
        if not me:
            raise HarnessError(f"node {old_leader} not a member: {st['members']}")
        mi = me[0].get("matched_index")
        if mi is None or st.get("last_log_index") is None or mi < st["last_log_index"]:
            return None
        own = c.meta_status(killed.addr)
        if own.get("leader") != leader or (own.get("last_applied") or -1) < mi:
            return None
        return {"leader": leader, "matched_index": mi, "last_log_index": st["last_log_index"], "restarted": own}

    res = wait_until(caught_up, 60, f"restarted node {old_leader} to catch up with the leader's log")
    figure("failover", "restarted node caught up", f"{time.monotonic() - t_restart:.2f}s (matched {res['matched_index']})")
    assert pid_alive(c.proc("meta", old_leader).pid)
    st = c.cli("cluster", "status", "--json").json()
    me = [m for m in members_of(st) if m["id"] == old_leader]
    assert len(me) == 1 and me[0]["up"] is True and me[0]["voter"] is True, st["members"]
    assert me[0]["matched_index"] is not None and me[0]["matched_index"] >= res["matched_index"], st["members"]
    assert leader_of(st) == res["leader"]
