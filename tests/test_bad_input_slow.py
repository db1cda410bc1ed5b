"""Bad input, slow clients (issue 7), with `slowhttptest` from Debian (installed with apt when
missing; skipped, saying why, only when it cannot be installed) against the gateway of a
cluster of this module, whose gateway runs with `header_read_timeout_ms = 3000` and
`body_idle_timeout_ms = 3000` (the defaults are 20 s and 30 s) so that the cut-offs show
within the test:

- slowloris (`slowhttptest -H`: 1500 connections opened at 300/s, each sending a header line every 2 s) and slow
  body (`-B`: 1500 unsigned PUT bodies trickling a few bytes every 2 s): a normal client doing
  PUT + GET meanwhile never fails and stays fast (p50, p99, max printed and recorded), and
  the gateway does not keep the slow connections (slowloris ones are closed at the header
  timeout, unsigned slow bodies are answered 403 at once and closed; the gateway's open
  descriptors come back down);
- by hand: a request head never finished is cut off after the header timeout, an idle
  keep-alive connection too; a signed PUT whose body stalls gets 400 RequestTimeout after the
  body idle timeout and stores nothing, while one that trickles a byte every second (under
  the idle timeout) completes and stores exactly its bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path

import pytest

from checks import figure
from harness import Cluster
from rawhttp import RawConn, Signer, UNSIGNED, absent, assert_serving, gateway_pid, head_bytes

BUCKET = "bad-slow"
HEADER_TIMEOUT_S = 3
BODY_IDLE_TIMEOUT_S = 3
CONNECTIONS = 1500  # slow connections slowhttptest opens ...
RATE = 300  # ... this many a second


def _have_slowhttptest() -> str | None:
    """None when slowhttptest is usable, else why not."""
    if shutil.which("slowhttptest"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "slowhttptest is not installed and apt-get (as root) is not available to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "slowhttptest"],
                       env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=300)
        r = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "slowhttptest"],
                           env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0 or not shutil.which("slowhttptest"):
        return f"apt-get install slowhttptest failed: {r.stderr[-500:]}"
    return None


@pytest.fixture(scope="module")
def slow_cluster(bin_dir, tmp_path_factory, request):
    """A cluster of this module whose gateway has short slow-client timeouts."""
    c = Cluster(bin_dir, tmp_path_factory.mktemp("slow"))
    try:
        c.start()
        gw = c.proc("gateway", 1)
        cfg = gw.config.read_text()
        cfg = re.sub(r"(?m)^(header_read_timeout_ms|body_idle_timeout_ms) = .*\n", "", cfg)
        head, sep, rest = cfg.partition("\n[")
        cfg = (head + f"\nheader_read_timeout_ms = {HEADER_TIMEOUT_S * 1000}"
               f"\nbody_idle_timeout_ms = {BODY_IDLE_TIMEOUT_S * 1000}\n" + sep + rest)
        gw.config.write_text(cfg)
        c.kill("gateway", 1)
        c.restart("gateway", 1)
        s3 = c.s3()
        s3.create_bucket(Bucket=BUCKET)
        yield c
    finally:
        failed = request.session.testsfailed
        if failed:
            print(c.log_report(40))
        c.stop()
        if not failed:
            c.remove_data()


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class NormalClient:
    """PUT + GET of a small object in a loop on its own thread, timing each pair."""

    def __init__(self, cluster: Cluster):
        # No retries: a failure must show.
        self.s3 = cluster.s3(max_attempts=1, read_timeout=10, connect_timeout=5)
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            key = f"normal/{i % 20}"
            body = os.urandom(4096)
            t0 = time.monotonic()
            try:
                self.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
                got = self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                if got != body:
                    self.errors.append(f"{key}: wrong bytes")
            except Exception as e:  # any failure of a normal client is the finding
                self.errors.append(f"{key}: {type(e).__name__}: {e}")
            self.latencies.append(time.monotonic() - t0)
            i += 1
            self._stop.wait(0.05)

    def __enter__(self) -> "NormalClient":
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join(30)

    def summary(self) -> dict[str, float]:
        lat = sorted(self.latencies)
        return {
            "n": len(lat),
            "p50_ms": 1000 * statistics.median(lat),
            "p99_ms": 1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))],
            "max_ms": 1000 * lat[-1],
        }


def run_slowhttptest(args: list[str], out: Path) -> tuple[dict[str, str], list[dict[str, int]]]:
    """Runs slowhttptest with `-g -o out`; returns its final status (parsed from its text
    output) and its per-second statistics (`out.csv`: Seconds, Closed, Pending, Connected)."""
    r = subprocess.run(["slowhttptest", *args, "-g", "-o", str(out)], capture_output=True, text=True, timeout=120)
    text = re.sub(r"\x1b\[[0-9;]*m", "", r.stdout + r.stderr)
    status = {"exit": str(r.returncode)}
    status["ended"] = (re.findall(r"Exit status:\s*(.*)", text) or ["?"])[-1].strip()
    status["service available"] = (re.findall(r"service available:\s*(\S+)", text) or ["?"])[-1]
    rows = []
    csv = out.with_name(out.name + ".csv")
    lines = csv.read_text().splitlines() if csv.exists() else []
    for line in lines[1:]:
        f = line.split(",")
        if len(f) >= 4 and all(x.strip().isdigit() for x in f[:4]):
            rows.append({"s": int(f[0]), "closed": int(f[1]), "pending": int(f[2]), "connected": int(f[3])})
    return status, rows


@pytest.mark.parametrize("mode", ["slowloris", "slow-body"])
def test_slowhttptest_does_not_starve_normal_clients(slow_cluster, tmp_path, mode):
    why = _have_slowhttptest()
    if why:
        pytest.skip(why)
    c = slow_cluster
    pid = gateway_pid(c)
    fds_before = open_fds(pid)
    url = f"{c.endpoint}/{BUCKET}/slow-target"
    common = ["-c", str(CONNECTIONS), "-r", str(RATE), "-i", "2", "-l", "15", "-p", "3", "-u", url]
    args = ["-H", *common] if mode == "slowloris" else ["-B", "-t", "PUT", "-s", "1000000", *common]
    with NormalClient(c) as normal:
        status, rows = run_slowhttptest(args, tmp_path / mode)
        peak_fds = open_fds(pid)
    s = normal.summary()
    assert rows, f"slowhttptest wrote no statistics: {status}"
    opened = CONNECTIONS
    closed = max(r["closed"] for r in rows)
    held = max(r["connected"] for r in rows)
    print(f"{mode}: slowhttptest {status}, {closed} of {opened} slow connections closed by the gateway, "
          f"at most {held} held at once over {rows[-1]['s']} s; normal client {s}; gateway fds {fds_before} -> {peak_fds}")
    for k in ("p50_ms", "p99_ms", "max_ms"):
        figure("test_slowhttptest", f"{mode}: normal PUT+GET {k}", f"{s[k]:.1f}")
    figure("test_slowhttptest", f"{mode}: slow connections closed by the gateway", f"{closed}/{opened}")
    figure("test_slowhttptest", f"{mode}: most slow connections held at once", held)
    assert not normal.errors, f"a normal client failed during {mode}: {normal.errors[:5]}"
    assert s["n"] >= 20, f"only {s['n']} normal requests completed during {mode}"
    assert s["p99_ms"] < 2000, f"normal clients slowed down during {mode}: {s}"
    assert status.get("service available") == "YES", status
    # The gateway cut the slow connections off: slowloris ones at the header timeout (so at
    # most ~timeout x rate are held at once), unsigned slow bodies at once (403 before the
    # body is read, then the connection is closed).
    # Left alone, slowhttptest would hold its connections until its 15 s time limit; it ends
    # early only when the gateway has closed every one of them.
    assert status["ended"] == "No open connections left", f"the gateway kept slow connections open: {status} {rows[-3:]}"
    limit = (HEADER_TIMEOUT_S + 2) * RATE if mode == "slowloris" else 50
    assert held <= limit, f"{held} slow connections held at once (limit {limit}): {rows}"
    # ... and holds none of them once the attack is over.
    from procs import wait_until

    wait_until(lambda: open_fds(pid) <= fds_before + 20, HEADER_TIMEOUT_S + BODY_IDLE_TIMEOUT_S + 10,
               f"the gateway's descriptors to come back to ~{fds_before}", 0.2)
    assert absent(c.s3(), BUCKET, "slow-target")
    assert_serving(c.s3(), BUCKET)


def _closed_within(conn: RawConn, limit: float) -> float | None:
    """Seconds until the peer closed the connection (None: still open after `limit`)."""
    t0 = time.monotonic()
    conn.sock.settimeout(limit)
    try:
        while True:
            b = conn.sock.recv(4096)
            if not b:
                return time.monotonic() - t0
    except TimeoutError:
        return None
    except ConnectionResetError:
        return time.monotonic() - t0


def test_unfinished_head_and_idle_connections_are_closed(slow_cluster):
    c = slow_cluster
    with RawConn(c.endpoint) as half, RawConn(c.endpoint) as idle, RawConn(c.endpoint) as kept:
        half.sendall(b"GET /" + BUCKET.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
        # `kept` makes one full request, then idles as a keep-alive connection.
        kept.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert kept.read_response(10).status == 200
        t_half = _closed_within(half, HEADER_TIMEOUT_S + 5)
        t_idle = _closed_within(idle, 5)
        t_kept = _closed_within(kept, 5)
    print(f"unfinished head closed after {t_half}s; idle connection after (+) {t_idle}s; keep-alive after (+) {t_kept}s")
    assert t_half is not None and t_half >= HEADER_TIMEOUT_S - 0.5, t_half
    assert t_idle is not None, "an idle connection was kept open past the header timeout"
    assert t_kept is not None, "an idle keep-alive connection was kept open past the header timeout"
    assert_serving(c.s3(), BUCKET)


def test_stalled_body_times_out_and_stores_nothing(slow_cluster):
    c = slow_cluster
    sg = Signer.of(c)
    s = sg.sign("PUT", f"/{BUCKET}/stalled", payload_hash=UNSIGNED, headers={"content-length": "100000"})
    with RawConn(c.endpoint) as conn:
        conn.sendall(head_bytes(s) + b"x" * 1000)
        t0 = time.monotonic()
        r = conn.read_response(BODY_IDLE_TIMEOUT_S + 10)
        dt = time.monotonic() - t0
    print(f"stalled body answered after {dt:.1f}s: {r and (r.status, r.code)}")
    assert r is not None, "the gateway closed a stalled body without an answer"
    assert r.status == 400 and r.code == "RequestTimeout", r
    assert BODY_IDLE_TIMEOUT_S - 0.5 <= dt < BODY_IDLE_TIMEOUT_S + 5, dt
    assert absent(c.s3(), BUCKET, "stalled")
    assert_serving(c.s3(), BUCKET)


def test_trickling_body_under_the_idle_timeout_completes(slow_cluster):
    c = slow_cluster
    sg = Signer.of(c)
    data = os.urandom(6)
    s = sg.sign("PUT", f"/{BUCKET}/trickle", payload_hash=UNSIGNED, headers={"content-length": str(len(data))})
    with RawConn(c.endpoint) as conn:
        conn.sendall(head_bytes(s))
        for b in data:  # one byte a second: 6 s in all, twice the idle timeout
            time.sleep(1)
            conn.sendall(bytes([b]))
        r = conn.read_response(10)
    assert r is not None and r.status == 200, r
    assert c.s3().get_object(Bucket=BUCKET, Key="trickle")["Body"].read() == data


def test_slow_reader_is_not_cut_by_the_header_timeout(slow_cluster):
    """A client reading a download slowly (twice the header timeout) gets every byte: the
    head timeout runs only while a request head is awaited, not while a response is sent."""
    import hashlib
    import socket

    c = slow_cluster
    data = os.urandom(4 * 1024 * 1024)
    c.s3().put_object(Bucket=BUCKET, Key="slow-read", Body=data)
    s = Signer.of(c).sign("GET", f"/{BUCKET}/slow-read")
    with RawConn(c.endpoint) as conn:
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        conn.sendall(head_bytes(s))
        conn.sock.settimeout(10)
        t0 = time.monotonic()
        got = b""
        while b"\r\n\r\n" not in got:
            got += conn.sock.recv(4096)
        head, body = got.split(b"\r\n\r\n", 1)
        assert b" 200 " in head.split(b"\r\n")[0], head
        while len(body) < len(data):
            b = conn.sock.recv(64 * 1024)
            assert b, f"the gateway closed a slow download after {len(body)} of {len(data)} bytes"
            body += b
            time.sleep(len(b) / len(data) * 2 * HEADER_TIMEOUT_S)  # the whole body in ~6 s
        dt = time.monotonic() - t0
    print(f"slow reader: {len(data)} bytes in {dt:.1f}s")
    assert dt > HEADER_TIMEOUT_S
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
