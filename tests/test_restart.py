"""Stop the whole cluster and start it again on the same directory: buckets, objects and the
endpoint survive (test plan item 8)."""

from __future__ import annotations

import time

from checks import figure
from s3util import MiB, get, put, random_bytes, sha256


def _snapshot(s3, buckets):
    names = sorted(b["Name"] for b in s3.list_buckets()["Buckets"])
    listing = {}
    for b in buckets:
        listing[b] = [(o["Key"], o["Size"], o["ETag"]) for o in s3.list_objects_v2(Bucket=b).get("Contents", [])]
    return names, listing


def test_restart_whole_cluster(fresh_cluster):
    c = fresh_cluster(chunk_size=MiB)
    s3 = c.s3()
    buckets = ["keep-a", "keep-b"]
    for b in buckets:
        s3.create_bucket(Bucket=b)
    objects = {
        ("keep-a", "empty"): b"",
        ("keep-a", "one"): b"1",
        ("keep-a", "dir/multi"): random_bytes(3 * MiB + 17),
        ("keep-b", "small"): random_bytes(4096),
        ("keep-b", "exact-chunk"): random_bytes(MiB),
    }
    for (b, k), v in objects.items():
        put(s3, b, k, v)
    endpoint, access_key = c.endpoint, c.access_key
    addrs_before = {(p.role, p.id): p.addr for p in c.processes()}
    before = _snapshot(s3, buckets)

    t0 = time.monotonic()
    c.restart_all()
    assert c.last_stop == {"up_exit": 0, "clean": True}, f"`trireme up` did not stop cleanly on SIGTERM: {c.last_stop}"
    figure("restart", "stop + start + serving", f"{time.monotonic() - t0:.1f}s")

    assert c.endpoint == endpoint, f"endpoint changed: {endpoint} -> {c.endpoint}"
    assert c.access_key == access_key
    addrs_after = {(p.role, p.id): p.addr for p in c.processes()}
    assert addrs_after == addrs_before, "processes came back on other addresses"

    s3 = c.s3()
    assert _snapshot(s3, buckets) == before, "bucket list or listings changed across the restart"
    for (b, k), v in objects.items():
        g = get(s3, b, k)
        assert g.body == v, f"s3://{b}/{k} differs after the restart"
    put(s3, "keep-b", "after-restart", b"new")
    assert get(s3, "keep-b", "after-restart").body == b"new"
    assert sha256(get(s3, "keep-a", "dir/multi").body) == sha256(objects[("keep-a", "dir/multi")])
