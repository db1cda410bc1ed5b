"""The admin CLI against a running cluster (test plan item 10). JSON shapes: cli/src/commands/."""

from __future__ import annotations

import time

import pytest

from checks import leader_of, members_of
from harness import Cluster, StopWaiting, wait_until


def test_cluster_status(shared_cluster):
    c = shared_cluster
    st = c.cli("cluster", "status", "--json").json()
    members = members_of(st)
    assert sorted(int(m["id"]) for m in members) == sorted(p.id for p in c.processes("meta"))
    assert len(members) == 3
    assert all(m["voter"] is True and m["up"] is True for m in members), members
    leader = leader_of(st)
    assert leader == c.leader_id()
    assert [int(m["id"]) for m in members if m["leader"]] == [leader], members
    assert st["chunkservers"]["alive"] == 4 and st["chunkservers"]["total"] == 4, st["chunkservers"]
    assert st["chunkservers"]["disks"] == 8, st["chunkservers"]

    human = c.cli("cluster", "status").check().stdout
    print(human)
    leader_line = [line for line in human.splitlines() if line.startswith("leader")]
    assert leader_line and leader_line[0].split()[1] == str(leader), human
    for p in c.processes("meta"):
        assert p.addr in human, f"{p.addr} missing from:\n{human}"
    assert "4/4 alive" in human, human


def test_chunkserver_and_disk_list(shared_cluster):
    c = shared_cluster
    css = c.cli("chunkserver", "list", "--json").json()["chunkservers"]
    assert sorted(int(cs["id"]) for cs in css) == sorted(p.id for p in c.processes("chunkserver"))
    assert len(css) == 4 and all(cs["alive"] is True for cs in css), css
    assert all(len(cs["disks"]) == 2 for cs in css), css
    human = c.cli("chunkserver", "list").check().stdout
    assert sum(1 for line in human.splitlines() if "alive" in line.split()) == 4, human

    disks = c.cli("disk", "list", "--json").json()["disks"]
    assert len(disks) == 8, disks
    assert all(d["state"] == "healthy" for d in disks), [d["state"] for d in disks]
    assert len({d["disk_id"] for d in disks}) == 8, f"disk ids not unique: {[d['disk_id'] for d in disks]}"
    configured = sorted(str(p) for proc in c.processes("chunkserver") for p in proc.disks)
    assert sorted(d["path"] for d in disks) == configured
    human = c.cli("disk", "list").check().stdout
    assert human.count("healthy") == 8, human


def test_bucket_commands(shared_cluster, s3):
    c = shared_cluster
    c.cli("bucket", "create", "cli-bucket").check()
    names = [b["name"] for b in c.cli("bucket", "list", "--json").json()["buckets"]]
    assert "cli-bucket" in names
    assert "cli-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "cli-bucket" in c.cli("bucket", "list").check().stdout
    dup = c.cli("bucket", "create", "cli-bucket")
    assert dup.returncode == 1, f"creating an existing bucket: exit {dup.returncode}, {dup.stderr}"
    c.cli("bucket", "delete", "cli-bucket", "--yes").check()
    names = [b["name"] for b in c.cli("bucket", "list", "--json").json()["buckets"]]
    assert "cli-bucket" not in names
    gone = c.cli("bucket", "delete", "cli-bucket", "--yes")
    assert gone.returncode == 1, f"deleting a missing bucket: exit {gone.returncode}, {gone.stderr}"
    assert "NoSuchBucket" in gone.stderr, gone.stderr


def test_key_commands(shared_cluster):
    c = shared_cluster
    created = c.cli("key", "create", "--name", "tester", "--json").json()
    ak, sk = created["access_key"], created["secret_key"]
    assert ak and sk and created["name"] == "tester"
    keys = c.cli("key", "list", "--json").json()["keys"]
    assert ak in [k["access_key"] for k in keys]
    assert c.access_key in [k["access_key"] for k in keys]
    assert all(not k.get("secret_key") for k in keys), "key list shows secret keys"
    human = c.cli("key", "list").check().stdout
    assert ak in human and sk not in human
    human_created = c.cli("key", "create", "--name", "second").check().stdout
    assert "secret key:" in human_created
    # The new key works for S3 right away.
    s3 = c.s3(access_key=ak, secret_key=sk, max_attempts=1)
    wait_until(lambda: s3.list_buckets() is not None, 10, "the new access key to be accepted")


def test_wrong_data_dir(shared_cluster, tmp_path):
    for args in (["cluster", "status"], ["bucket", "list", "--json"]):
        r = shared_cluster.cli(*args, data_dir=tmp_path / "nope")
        assert r.returncode != 0
        err = r.stderr.strip()
        assert err and len(err.splitlines()) == 1, f"expected a one-line error, got:\n{r.stderr}"
        assert "panicked" not in err and r.stdout == "", (r.stdout, r.stderr)


def test_up_failure_fails_start_fast(bin_dir, tmp_path):
    """`trireme up` exiting during start-up fails `Cluster.start` at once, with its exit code
    and the end of its output, instead of after the whole start timeout."""
    c = Cluster(bin_dir, tmp_path, extra_args=["--health-ms", "1"])  # below the flag's range
    t0 = time.monotonic()
    with pytest.raises(StopWaiting) as failed:
        c.start(timeout=60)
    took = time.monotonic() - t0
    msg = str(failed.value)
    assert took < 15, f"start took {took:.1f}s to notice that `trireme up` exited"
    assert "exited with code 2" in msg and "--health-ms" in msg, msg
