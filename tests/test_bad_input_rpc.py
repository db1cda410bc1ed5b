"""Bad input, internal RPC (issue 7): meta-server and chunkserver endpoints called without
the cluster secret, with a wrong one (same length, other length, binary, 64 KiB), with the
right secret but another cluster's id (or none), with an unknown operator token, and forged
Raft messages (append-entries with a higher term, a vote request, a snapshot) sent without
the secret or from another cluster: every one is refused with 401 (Unauthorized or
WrongCluster, as an ApiError body), and the state is unchanged: no bucket or key created,
no chunk written, read or deleted, no disk formatted, the Raft term, leader and log where
they were; the cluster keeps serving S3.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest

from checks import chunk_files
from rawhttp import assert_serving

BUCKET = "bad-rpc"


@pytest.fixture(scope="module")
def env(shared_cluster, s3):
    s3.create_bucket(Bucket=BUCKET)
    # A multi-chunk object, so that chunkservers hold replica files to aim at.
    s3.put_object(Bucket=BUCKET, Key="obj", Body=os.urandom(2 * 1024 * 1024 + 1))
    return shared_cluster, s3


@pytest.fixture(autouse=True)
def _still_serving(env):
    """After every case: the gateway still serves a normal PUT + GET."""
    yield
    assert_serving(env[1], BUCKET, "after this case")


def call(addr: str, path: str, body: bytes | dict | None = None, headers: dict | None = None,
         method: str = "POST") -> tuple[int, dict | str]:
    data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
    req = urllib.request.Request(f"http://{addr}{path}", data=data if method != "GET" else None,
                                 method=method, headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return r.status, _decode(raw)
    except urllib.error.HTTPError as e:
        return e.code, _decode(e.read())


def _decode(raw: bytes):
    try:
        return json.loads(raw or b"null")
    except json.JSONDecodeError:
        return raw[:300].decode("utf-8", "replace")


def bad_credentials(c) -> dict[str, dict[str, str]]:
    secret, cid = c.info["secret"], c.info["cluster_id"]
    wrong_same_len = ("0" if secret[0] != "0" else "1") + secret[1:]
    return {
        "none": {},
        "cluster-only": {"x-trireme-cluster": cid},
        "empty-secret": {"x-trireme-secret": "", "x-trireme-cluster": cid},
        "wrong-same-length": {"x-trireme-secret": wrong_same_len, "x-trireme-cluster": cid},
        "prefix": {"x-trireme-secret": secret[:-1], "x-trireme-cluster": cid},
        "longer": {"x-trireme-secret": secret + "0", "x-trireme-cluster": cid},
        "huge": {"x-trireme-secret": "s" * 65536, "x-trireme-cluster": cid},
        "other-cluster-secret": {"x-trireme-secret": os.urandom(32).hex(), "x-trireme-cluster": os.urandom(8).hex()},
        "unknown-token": {"x-trireme-token": "trt_" + "A" * 40, "x-trireme-cluster": cid},
    }


def wrong_cluster(c) -> dict[str, dict[str, str]]:
    secret = c.info["secret"]
    return {
        "other-id": {"x-trireme-secret": secret, "x-trireme-cluster": os.urandom(8).hex()},
        "no-id": {"x-trireme-secret": secret},
        "empty-id": {"x-trireme-secret": secret, "x-trireme-cluster": ""},
    }


def assert_refused(status, resp, code: str, what: str) -> None:
    assert status == 401, f"{what}: expected 401 {code}, got {status} {resp}"
    assert isinstance(resp, dict) and resp.get("code") == code, f"{what}: expected {code}, got {resp}"


def raft_state(c) -> dict[int, tuple]:
    out = {}
    for p in c.processes("meta"):
        s = c.meta_status(p.addr)
        out[p.id] = (s["term"], s["leader"], s["cluster_id"])
    return out


def forged_raft(c) -> dict[str, dict]:
    leader = c.leader_id()
    return {
        "/raft/append": {
            "vote": {"leader_id": {"term": 999_999, "node_id": leader}, "committed": True},
            "prev_log_id": None,
            "entries": [],
            "leader_commit": None,
        },
        "/raft/vote": {"vote": {"leader_id": {"term": 999_999, "node_id": 99}, "committed": False},
                       "last_log_id": {"leader_id": {"term": 999_999, "node_id": 99}, "index": 10**9}},
        "/raft/snapshot": {
            "vote": {"leader_id": {"term": 999_999, "node_id": 99}, "committed": True},
            "meta": {"last_log_id": None, "last_membership": {"log_id": None, "membership": {"configs": [], "nodes": {}}},
                     "snapshot_id": "forged"},
            "offset": 0,
            "data": [],
            "done": True,
        },
    }


META_CALLS = {
    "/v1/meta/status": {},
    "/v1/meta/get_key": {"access_key": "from-env"},
    "/v1/meta/list_keys": {},
    "/v1/meta/create_bucket": {"name": "rpc-forged-bucket", "owner": "from-env"},
    "/v1/meta/create_key": {"name": "rpc-forged"},
    "/v1/meta/list_buckets": {},
    "/v1/meta/delete_object": {"bucket": BUCKET, "key": "obj"},
    "/v1/meta/heartbeat": {"chunkserver": 99, "addr": "127.0.0.1:1", "disks": []},
    "/v1/meta/init": {},
    "/v1/meta/members/add_learner": {"node_id": 99, "addr": "127.0.0.1:1"},
    "/v1/meta/set_worker_setting": {"key": "gc.enabled", "value": "true"},
    "/v1/meta/does-not-exist": {},
}


def test_meta_rpc_without_the_secret(env):
    c, s3 = env
    before = raft_state(c)
    buckets_before = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    creds = {**bad_credentials(c)}
    for p in c.processes("meta"):
        for path, body in META_CALLS.items():
            body = {k: (c.access_key if v == "from-env" else v) for k, v in body.items()}
            for name, hs in creds.items():
                status, resp = call(p.addr, path, body, hs)
                if path.endswith("does-not-exist") and status == 404:
                    continue
                assert_refused(status, resp, "Unauthorized", f"meta-{p.id} {path} with {name}")
            for name, hs in wrong_cluster(c).items():
                status, resp = call(p.addr, path, body, hs)
                if path.endswith("does-not-exist") and status == 404:
                    continue
                assert_refused(status, resp, "WrongCluster", f"meta-{p.id} {path} with {name}")
    # No secret key leaked, nothing created, the object is still there.
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == buckets_before
    assert s3.head_object(Bucket=BUCKET, Key="obj")["ContentLength"] == 2 * 1024 * 1024 + 1
    keys = c.meta_call("/v1/meta/list_keys", {})
    assert "rpc-forged" not in json.dumps(keys)
    assert raft_state(c) == before
    assert_serving(s3, BUCKET)


def test_forged_raft_messages_are_refused(env):
    c, s3 = env
    before = raft_state(c)
    last = {p.id: c.meta_status(p.addr)["last_log_index"] for p in c.processes("meta")}
    forged = forged_raft(c)
    for p in c.processes("meta"):
        for path, body in forged.items():
            for name, hs in bad_credentials(c).items():
                status, resp = call(p.addr, path, body, hs)
                assert_refused(status, resp, "Unauthorized", f"meta-{p.id} {path} with {name}")
            for name, hs in wrong_cluster(c).items():
                status, resp = call(p.addr, path, body, hs)
                assert_refused(status, resp, "WrongCluster", f"meta-{p.id} {path} with {name}")
            # An operator token (even the admin one) may not speak Raft.
            hs = {"x-trireme-token": c.info["admin_token"], "x-trireme-cluster": c.info["cluster_id"]}
            status, resp = call(p.addr, path, body, hs)
            assert status == 403 and isinstance(resp, dict) and resp.get("code") == "Forbidden", (path, status, resp)
            # Garbage instead of JSON, without the secret: refused before parsing.
            status, resp = call(p.addr, path, b"\x00\xff{not json", {})
            assert_refused(status, resp, "Unauthorized", f"meta-{p.id} {path} garbage")
    after = raft_state(c)
    assert after == before, f"Raft state changed by forged messages: {before} -> {after}"
    for p in c.processes("meta"):
        assert c.meta_status(p.addr)["last_log_index"] >= last[p.id]
    assert_serving(s3, BUCKET)


def test_chunkserver_rpc_without_the_secret(env):
    c, s3 = env
    files = chunk_files(c)
    assert files, "the test object left no chunk files"
    chunk_id, replicas = next(iter(files.items()))
    target = replicas[0]
    cs = c.proc("chunkserver", target.chunkserver)
    disk_id = json.loads((target.disk / "trireme-disk.json").read_text())["disk_id"]
    size_before = target.path.stat().st_size
    new_chunk = os.urandom(16).hex()
    calls = [
        ("GET", f"/v1/chunk/{disk_id}/{chunk_id}", None),
        ("DELETE", f"/v1/chunk/{disk_id}/{chunk_id}", None),
        ("PUT", f"/v1/chunk/{disk_id}/{new_chunk}", b"forged chunk"),
        ("POST", "/v1/chunkserver/status", b"{}"),
        ("POST", "/v1/chunk/pull", json.dumps({"chunk": new_chunk, "disk": disk_id, "sources": []}).encode()),
        ("POST", "/v1/chunk/verify", json.dumps({"chunk": chunk_id, "disk": disk_id}).encode()),
        ("POST", "/v1/disk/format", json.dumps({"path": str(cs.disks[0]), "disk": disk_id}).encode()),
    ]
    for method, path, body in calls:
        for name, hs in bad_credentials(c).items():
            status, resp = call(cs.addr, path, body, hs, method=method)
            assert_refused(status, resp, "Unauthorized", f"chunkserver {method} {path} with {name}")
        for name, hs in wrong_cluster(c).items():
            status, resp = call(cs.addr, path, body, hs, method=method)
            assert_refused(status, resp, "WrongCluster", f"chunkserver {method} {path} with {name}")
    assert target.path.exists() and target.path.stat().st_size == size_before, "a replica was touched"
    assert not any(new_chunk in str(p) for p in _all_files(cs.disks)), "a forged chunk was written"
    got = s3.get_object(Bucket=BUCKET, Key="obj")["Body"].read()
    assert len(got) == 2 * 1024 * 1024 + 1
    assert_serving(s3, BUCKET)


def _all_files(dirs) -> list:
    out = []
    for d in dirs:
        for root, _, names in os.walk(d):
            out += [os.path.join(root, n) for n in names]
    return out


def test_the_right_credentials_still_work(env):
    """The same calls with the secret and cluster id succeed (the refusals above are not a
    broken endpoint)."""
    c, s3 = env
    for p in c.processes("meta"):
        status, resp = c.rpc(p.addr, "/v1/meta/status", {})
        assert status == 200 and resp["cluster_id"] == c.info["cluster_id"], (status, resp)
    cs = c.processes("chunkserver")[0]
    status, resp = c.rpc(cs.addr, "/v1/chunkserver/status", {})
    assert status == 200, (status, resp)
