"""Meta membership under load (issue 5): grow the meta group from 3 to 5 voters with
`trireme meta add --local` and shrink it back to 3 with `trireme meta remove` (the current
leader included), while boto3 threads PUT and GET without retries. No request may fail and
every acknowledged PUT must read back its bytes. Also: `trireme meta transfer-leader`, the
refusals (unknown node, unreachable address, losing quorum), `trireme up` stopping the
meta-servers the CLI started, and a restart that uses the new membership."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from checks import figure
from harness import Cluster, pid_alive, wait_until
from s3util import random_bytes

BUCKET = "membership"
THREADS = 4
TEST = "meta membership"


@dataclass
class Load:
    """PUT/GET threads, each with its own boto3 client (one attempt per request)."""

    cluster: Cluster
    acked: dict[str, bytes] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    done: list[float] = field(default_factory=list)  # completion times of successful requests
    slowest: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for t in range(THREADS):
            th = threading.Thread(target=self._run, args=(t,), name=f"load-{t}", daemon=True)
            th.start()
            self.threads.append(th)

    def _run(self, t: int) -> None:
        s3 = self.cluster.s3(max_attempts=1, read_timeout=60)
        rng = random.Random(t)
        mine: list[str] = []
        i = 0
        while not self.stop.is_set():
            if mine and rng.random() < 0.5:
                key = rng.choice(mine)
                op = "GET"
            else:
                key = f"t{t}-{i:06d}"
                i += 1
                op = "PUT"
                body = key.encode() + b":" + random_bytes(rng.randrange(100, 20_000))
            t0 = time.monotonic()
            try:
                if op == "PUT":
                    s3.put_object(Bucket=BUCKET, Key=key, Body=body)
                else:
                    got = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                    with self.lock:
                        want = self.acked[key]
                    if got != want:
                        raise AssertionError(f"read {len(got)} bytes, wrote {len(want)}")
            except Exception as e:  # noqa: BLE001 - every failure is a test failure, recorded
                with self.lock:
                    self.failures.append(f"{op} {key} at {time.monotonic():.2f}: {type(e).__name__}: {e}")
                continue
            now = time.monotonic()
            with self.lock:
                if op == "PUT":
                    self.acked[key] = body
                self.done.append(now)
                self.slowest = max(self.slowest, now - t0)
            if op == "PUT":
                mine.append(key)

    def count(self) -> int:
        with self.lock:
            return len(self.done)

    def wait_for(self, n: int, what: str) -> None:
        start = self.count()
        wait_until(lambda: self.count() >= start + n, 120, f"{n} requests {what}")

    def longest_gap(self, since: float, until: float) -> float:
        """The longest time without any successful request in [since, until]."""
        with self.lock:
            times = sorted(t for t in self.done if since <= t <= until)
        points = [since, *times, until]
        return max(b - a for a, b in zip(points, points[1:]))

    def finish(self) -> None:
        self.stop.set()
        for th in self.threads:
            th.join(timeout=120)
        assert not any(th.is_alive() for th in self.threads), "load threads did not stop"


def members(c: Cluster) -> dict:
    return c.cli("meta", "members", "--json").json()


def reload(c: Cluster) -> dict:
    """Re-reads cluster.json after the CLI changed it (the harness caches it at start)."""
    info = c._read_cluster_file()
    assert info, f"cannot read {c.cluster_file}"
    c.info = info
    c._known_pids |= {p["pid"] for p in info["processes"]}
    return info


def one_line_error(r, *needles: str) -> None:
    assert r.returncode == 1, f"expected exit 1: {r.args} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
    err = [line for line in r.stderr.splitlines() if line.startswith("trireme: error:")]
    assert len(err) == 1, f"expected one error line: {r.stderr!r}"
    for n in needles:
        assert n in err[0], f"{n!r} not in {err[0]!r}"


def test_grow_to_five_and_back_under_load(fresh_cluster):
    c = fresh_cluster(chunk_size=256 * 1024)
    c.s3().create_bucket(Bucket=BUCKET)
    load = Load(c)
    load.start()
    t_begin = time.monotonic()
    try:
        load.wait_for(40, "before any change")

        # 3 -> 5 voters: each new node is started, added as a learner, caught up, promoted.
        added = []
        for _ in range(2):
            t0 = time.monotonic()
            r = c.cli("meta", "add", "--local", "--json", timeout=300).json()
            dt = time.monotonic() - t0
            assert r["role"] == "voter", r
            added.append(r)
            figure(TEST, f"add meta-{r['id']} (start, learner, catch up, voter)", f"{dt:.2f}s (caught up after {r['caught_up_s']:.2f}s)")
            load.wait_for(20, f"after adding meta-{r['id']}")
        m = members(c)
        assert m["voters"] == [1, 2, 3, 4, 5], m
        assert m["learners"] == [] and not m["joint"], m
        assert all(x["reachable"] for x in m["members"]), m
        assert [x["warnings"] for x in added][0], "4 voters: an even-number warning"
        info = reload(c)
        assert len(info["meta"]) == 5, info["meta"]
        for r in added:
            p = [p for p in info["processes"] if p["role"] == "meta" and p["id"] == r["id"]]
            assert p and p[0]["pid"] == r["pid"] and pid_alive(r["pid"]), (r, p)

        # Leadership to a new node, then remove it while it leads: it hands over first.
        new = added[0]["id"]
        t0 = time.monotonic()
        r = c.cli("meta", "transfer-leader", str(new), "--json").json()
        assert r["leader"] == new, r
        figure(TEST, "transfer-leader (5 voters): writes paused", f"{r['paused_ms']} ms")
        assert c.wait_leader() == new
        load.wait_for(20, "after the transfer")

        t0 = time.monotonic()
        r = c.cli("meta", "remove", str(new), "--yes", "--json", timeout=120).json()
        dt = time.monotonic() - t0
        assert r["leader_moved_to"] is not None and r["leader_moved_to"] != new, r
        assert r["stopped_pid"] == added[0]["pid"] and not pid_alive(r["stopped_pid"]), r
        assert new not in r["voters"] and len(r["voters"]) == 4, r
        figure(TEST, f"remove the leader meta-{new} (transfer, remove, stop)", f"{dt:.2f}s")
        reload(c)
        load.wait_for(20, f"after removing meta-{new}")

        # Remove an original voter (a child of `trireme up`) that does not lead.
        leader = c.wait_leader()
        victim = next(i for i in (1, 2, 3) if i != leader)
        victim_pid = c.proc("meta", victim).pid
        t0 = time.monotonic()
        r = c.cli("meta", "remove", str(victim), "--yes", "--json", timeout=120).json()
        figure(TEST, f"remove follower meta-{victim}", f"{time.monotonic() - t0:.2f}s")
        assert r["leader_moved_to"] is None and len(r["voters"]) == 3, r
        wait_until(lambda: not pid_alive(victim_pid), 20, f"meta-{victim} to stop")
        reload(c)
        load.wait_for(40, "after the shrink")
        t_end = time.monotonic()
    finally:
        load.finish()

    with load.lock:
        failures = list(load.failures)
        acked = dict(load.acked)
    figure(TEST, "requests ok / failed", f"{len(load.done)} / {len(failures)}")
    figure(TEST, "longest gap without a successful request", f"{load.longest_gap(t_begin, t_end):.2f}s")
    figure(TEST, "slowest request", f"{load.slowest:.2f}s")
    assert not failures, f"{len(failures)} failed requests: {failures[:10]}"

    m = members(c)
    voters = m["voters"]
    assert len(voters) == 3 and victim not in voters and new not in voters, m
    info = reload(c)
    assert sorted(p["id"] for p in info["processes"] if p["role"] == "meta") == voters, info["processes"]
    assert len(info["meta"]) == 3, info["meta"]

    s3 = c.s3()
    for key, body in acked.items():
        got = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert got == body, f"acknowledged PUT {key} reads back {len(got)} different bytes"
    figure(TEST, "acknowledged PUTs read back", len(acked))

    # Refusals, one line each: an unknown node, an unreachable address, losing quorum.
    one_line_error(c.cli("meta", "remove", "99", "--yes"), "meta-99 is not a member")
    one_line_error(c.cli("meta", "add", "9", "127.0.0.1:1"), "unreachable")
    leader = c.wait_leader()
    followers = [v for v in voters if v != leader]
    c.kill("meta", followers[0])
    one_line_error(c.cli("meta", "remove", str(followers[1]), "--yes"), "lose quorum")
    c.restart("meta", followers[0])

    # `trireme up` stops the meta-server the CLI started, and a restart uses the new group.
    still = [r for r in added if r["id"] in voters]
    assert still and pid_alive(still[0]["pid"]), (still, voters)
    c.restart_all()
    assert c.last_stop.get("clean"), f"not everything stopped on SIGTERM: {c.last_stop}"
    assert not pid_alive(still[0]["pid"]), "the CLI-started meta-server outlived `trireme up`"
    m = members(c)
    assert m["voters"] == voters, m
    key = next(iter(acked))
    assert c.s3().get_object(Bucket=BUCKET, Key=key)["Body"].read() == acked[key]


def test_transfer_with_three_voters_and_members_table(fresh_cluster):
    c = fresh_cluster()
    leader = c.wait_leader()
    to = next(i for i in (1, 2, 3) if i != leader)
    r = c.cli("meta", "transfer-leader", str(to), "--json").json()
    assert r["leader"] == to, r
    figure(TEST, "transfer-leader (3 voters): writes paused", f"{r['paused_ms']} ms")
    assert c.wait_leader() == to
    r = c.cli("meta", "transfer-leader", str(to)).check()
    assert "already the leader" in r.stdout, r.stdout
    one_line_error(c.cli("meta", "transfer-leader", "42"), "meta-42 is not a member")
    r = c.cli("meta", "members").check()
    assert f"leader meta-{to}" in r.stdout, r.stdout
    assert "voters: 1, 2, 3; learners: none" in r.stdout, r.stdout
    print(r.stdout)
