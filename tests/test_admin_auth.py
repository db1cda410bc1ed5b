"""Issue 5, red lines: operator credentials, the audit log and confirmations, on the shared cluster.

- `trireme up` writes an admin and a reader token into cluster.json; the CLI uses the admin one.
- A reader token runs status and listings but not `bucket delete` (one line, exit 2), and no
  operator token reaches a server-only RPC; an unknown or revoked token is refused (401).
- Every admin action is in `trireme audit`, newest first, with who, what, why and the result.
- Destructive commands print what they will do and, without `--yes` and without a terminal,
  refuse in one line.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from harness import Cluster

AUDIT_ALL = ("audit", "--json", "--limit", "10000")


def error_lines(r) -> list[str]:
    return [line for line in r.stderr.splitlines() if line.startswith("trireme: error:")]


def refused(r, code: int, *needles: str) -> None:
    """`r` failed with `code` and exactly one error line (the last line) holding every needle."""
    assert r.returncode == code, f"{r.args} -> {r.returncode}, expected {code}\n{r.stdout}\n{r.stderr}"
    errs = error_lines(r)
    assert len(errs) == 1 and r.stderr.rstrip().splitlines()[-1] == errs[0], r.stderr
    for n in needles:
        assert n in errs[0], f"{n!r} not in {errs[0]!r}"


def token_rpc(c: Cluster, token: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """One internal RPC to the leader with an operator token instead of the cluster secret."""
    leader = c.leader_id()
    addr = next(p.addr for p in c.processes("meta") if p.id == leader)
    req = urllib.request.Request(
        f"http://{addr}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "content-type": "application/json",
            "x-trireme-token": token,
            "x-trireme-cluster": c.info["cluster_id"],
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def bucket_names(c: Cluster) -> list[str]:
    return [b["name"] for b in c.cli("bucket", "list", "--json").json()["buckets"]]


def test_tokens_are_in_cluster_json(shared_cluster):
    c = shared_cluster
    admin, reader = c.info.get("admin_token"), c.info.get("reader_token")
    assert admin and reader and admin != reader, "cluster.json holds both operator tokens"
    assert admin.startswith("trt_") and reader.startswith("trt_")
    tokens = c.cli("token", "list", "--json").json()["tokens"]
    roles = {t["name"]: t["role"] for t in tokens}
    assert roles.get("admin") == "admin" and roles.get("reader") == "reader", tokens
    assert admin not in json.dumps(tokens) and reader not in json.dumps(tokens)


def test_reader_token_reads_but_cannot_delete(shared_cluster):
    c = shared_cluster
    reader = c.info["reader_token"]
    c.cli("bucket", "create", "auth-keep", "--reason", "reader test").check()

    status = c.cli("cluster", "status", "--json", "--token", reader).json()
    assert status, "the reader token runs cluster status"
    assert "auth-keep" in [b["name"] for b in c.cli("bucket", "list", "--json", "--token", reader).json()["buckets"]]
    c.cli("repair", "status", "--token", reader).check()

    r = c.cli("bucket", "delete", "auth-keep", "--yes", "--token", reader)
    refused(r, 2, "delete bucket auth-keep", "permission denied: needs an admin token")
    assert "auth-keep" in bucket_names(c)
    for args in (("token", "list"), ("key", "create", "--name", "nope"), ("worker", "set", "repair.concurrency", "9")):
        refused(c.cli(*args, "--token", reader), 2, "permission denied: needs an admin token")

    # The wire: Forbidden (403) on admin and server-only RPCs, 200 on status; a wrong token is 401.
    code, body = token_rpc(c, reader, "/v1/meta/delete_bucket", {"name": "auth-keep"})
    assert (code, body["code"]) == (403, "Forbidden"), body
    code, body = token_rpc(c, c.info["admin_token"], "/v1/meta/heartbeat", {"chunkserver": 99, "addr": "x", "disks": []})
    assert (code, body["code"]) == (403, "Forbidden"), body
    code, body = token_rpc(c, reader, "/v1/meta/status", {})
    assert code == 200, body
    code, body = token_rpc(c, "trt_wrong", "/v1/meta/status", {})
    assert (code, body["code"]) == (401, "Unauthorized"), body
    refused(c.cli("bucket", "list", "--token", "trt_wrong"), 2, "refused our credentials", "unknown or revoked")
    refused(c.cli("cluster", "status", "--token", "trt_wrong"), 2, "unknown or revoked operator token")

    c.cli("bucket", "delete", "auth-keep", "--yes").check()
    assert "auth-keep" not in bucket_names(c)


def test_audit_shows_who_what_why(shared_cluster):
    c = shared_cluster
    c.cli("bucket", "create", "audit-bucket", "--reason", "ticket 7: a bucket for the audit test").check()
    key = c.cli("key", "create", "--name", "audit-key", "--json", "--reason", "temporary key").json()
    c.cli("key", "delete", key["access_key"], "--yes", "--reason", "no longer needed").check()
    full = c.s3()
    full.put_object(Bucket="audit-bucket", Key="k", Body=b"x")
    r = c.cli("bucket", "delete", "audit-bucket", "--yes", "--reason", "try while full")
    assert r.returncode == 1 and "BucketNotEmpty" in r.stderr, r.stderr
    full.delete_object(Bucket="audit-bucket", Key="k")
    c.cli("bucket", "delete", "audit-bucket", "--yes", "--reason", "cleanup").check()

    entries = c.cli(*AUDIT_ALL, "--token", c.info["reader_token"]).json()["entries"]
    indexes = [e["index"] for e in entries]
    assert indexes == sorted(indexes, reverse=True) and len(set(indexes)) == len(indexes), indexes
    mine = [
        (e["action"], e["reason"], e["ok"])
        for e in entries
        if e["args"].get("name") in ("audit-bucket", "audit-key") or e["args"].get("access_key") == key["access_key"]
    ]
    assert mine[:2] == [("delete_bucket", "cleanup", True), ("delete_bucket", "try while full", False)], mine
    assert mine[-1] == ("create_bucket", "ticket 7: a bucket for the audit test", True), mine
    assert ("create_key", "temporary key", True) in mine, mine
    assert ("delete_key", "no longer needed", True) in mine, mine
    ours = [e for e in entries if e["args"].get("name") == "audit-bucket"]
    assert all(e["who"] == "admin" and e["role"] == "admin" and e["at_ms"] > 0 for e in ours), ours
    assert "BucketNotEmpty" in ours[1]["result"], ours[1]
    # The secret key never reaches the log.
    assert key["secret_key"] not in json.dumps(entries)
    # The operator tokens themselves were created through the log, by `trireme up`.
    boot = [e for e in entries if e["action"] == "create_token" and e["who"] == "cluster-secret"]
    assert sorted(e["args"]["role"] for e in boot) == ["admin", "reader"], boot

    table = c.cli("audit", "--limit", "50").check().stdout
    print(table)
    assert table.startswith("INDEX"), table
    assert "ticket 7: a bucket for the audit test" in table and "delete_bucket name=audit-bucket" in table


def test_destructive_commands_confirm_first(shared_cluster):
    c = shared_cluster
    c.cli("bucket", "create", "confirm-me").check()
    r = c.cli("bucket", "delete", "confirm-me")  # stdin is /dev/null: not a terminal
    refused(r, 2, "delete bucket confirm-me", "pass --yes")
    assert r.stderr.startswith("Will delete bucket confirm-me"), r.stderr
    assert "confirm-me" in bucket_names(c)
    c.cli("bucket", "delete", "confirm-me", "--yes").check()

    made = c.cli("token", "create", "--role", "reader", "--name", "py-temp", "--json").json()
    temp = made["token"]
    c.cli("bucket", "list", "--token", temp).check()
    r = c.cli("token", "revoke", "py-temp")
    refused(r, 2, "revoke token py-temp", "pass --yes")
    c.cli("bucket", "list", "--token", temp).check()
    c.cli("token", "revoke", "py-temp", "--yes", "--reason", "test over").check()
    refused(c.cli("bucket", "list", "--token", temp), 2, "unknown or revoked operator token")
    last = c.cli("audit", "--json", "--limit", "1").json()["entries"][0]
    assert (last["action"], last["args"]["name"], last["reason"]) == ("revoke_token", "py-temp", "test over"), last
