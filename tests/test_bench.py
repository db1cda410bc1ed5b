"""`trireme bench` against the shared cluster (issue 6): every workload with small sizes and a
few seconds, the JSON report, verification, multipart, clean-up, exit codes, and `--limits`.

The benchmark finds the endpoint and keys in the cluster's cluster.json (`c.cli` passes
--data-dir), as it does right after `trireme up`.
"""

from __future__ import annotations

import json

from checks import figure
from harness import Cluster
from s3util import expect_error, sha256

MiB = 1024 * 1024


def bench(c: Cluster, *args: str, timeout: float = 120, data_dir=None):
    """Runs `trireme bench ARGS --json --no-progress`; returns (exit code, report or None, stderr)."""
    r = c.cli("bench", *args, "--json", "--no-progress", timeout=timeout, data_dir=data_dir)
    report = json.loads(r.stdout) if r.stdout.strip() else None
    return r.returncode, report, r.stderr


def run_ok(c: Cluster, *args: str, timeout: float = 120) -> dict:
    code, report, err = bench(c, *args, timeout=timeout)
    assert code == 0 and report is not None, f"exit {code}\nstderr:\n{err}"
    return report


def phase(report: dict, name: str) -> dict:
    found = [p for p in report["phases"] if p["name"] == name]
    assert len(found) == 1, [p["name"] for p in report["phases"]]
    return found[0]


def op(report: dict, phase_name: str, op_name: str) -> dict:
    found = [o for o in phase(report, phase_name)["ops"] if o["op"] == op_name]
    assert len(found) == 1, phase(report, phase_name)["ops"]
    return found[0]


def check_op(o: dict, size: int | None = None) -> None:
    assert o["ops"] > 0, o
    assert o["errors"] == 0, o["first_errors"]
    lat = o["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"], lat
    assert o["ops_per_s"] > 0
    if size is not None:
        assert o["bytes"] == o["ops"] * size, o


def test_put_json_report(shared_cluster):
    r = run_ok(shared_cluster, "put", "--size", "4KiB", "--duration", "2s", "-c", "4", "--bucket", "bench-put")
    s = r["settings"]
    assert (s["workload"], s["size"], s["concurrency"], s["bucket"]) == ("put", 4096, 4, "bench-put")
    assert s["endpoint"] == shared_cluster.endpoint.rstrip("/")
    assert [p["name"] for p in r["phases"]] == ["run"]
    put = op(r, "run", "put")
    check_op(put, 4096)
    assert r["total_errors"] == 0 and r["error_rate"] == 0
    run = phase(r, "run")
    assert run["requests"] == put["ops"]
    # The client is cheap: well under a millisecond of CPU per signed request.
    assert 0 < run["client_cpu_us_per_request"] < 1000, run
    figure("test_put_json_report", "4 KiB PUT c4 ops/s", round(put["ops_per_s"]))
    figure("test_put_json_report", "client CPU us/request", round(run["client_cpu_us_per_request"], 1))


def test_get_head_list_after_prepare(shared_cluster, s3):
    c = shared_cluster
    size = 256 * 1024
    args = ["--size", "256KiB", "--prepare-objects", "20", "--bucket", "bench-read", "--seed", "7", "-c", "4"]
    r = run_ok(c, "get", "--duration", "2s", "--verify", *args)
    assert phase(r, "prepare")["ops"][0]["ops"] == 20
    check_op(op(r, "prepare", "put"), size)
    check_op(op(r, "run", "get"), size)
    assert r["settings"]["verify"] is True
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="bench-read")["Contents"]]
    assert len(keys) == 20 and all(k.startswith("bench/") for k in keys), keys
    assert len({k.split("/")[1] for k in keys}) > 5, f"keys not spread over prefixes: {keys}"

    # The objects are there: HEAD and LIST without preparing again.
    r = run_ok(c, "head", "--no-prepare", "--objects", "100", *args)
    assert [p["name"] for p in r["phases"]] == ["run"]
    head = op(r, "run", "head")
    check_op(head, 0)
    assert head["ops"] == 100
    r = run_ok(c, "list", "--no-prepare", "--duration", "1s", "--list-max-keys", "7", *args)
    lst = op(r, "run", "list")
    check_op(lst, 0)
    assert 0 < lst["items"] <= 7 * lst["ops"], lst


def test_same_seed_same_bytes_and_verify_catches_other_data(shared_cluster, s3):
    c = shared_cluster
    common = ["--size", "64KiB", "--bucket", "bench-seed", "-c", "2"]
    run_ok(c, "put", "--objects", "3", "--seed", "5", *common)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="bench-seed")["Contents"])
    first = {k: sha256(s3.get_object(Bucket="bench-seed", Key=k)["Body"].read()) for k in keys}
    run_ok(c, "put", "--objects", "3", "--seed", "5", *common)
    again = {k: sha256(s3.get_object(Bucket="bench-seed", Key=k)["Body"].read()) for k in keys}
    assert first == again
    assert len(set(first.values())) == 3, "objects should differ from each other"
    # Reading with the seed that wrote them verifies; another seed names keys that are not there:
    # every operation fails, so the run exits 1 and says why.
    run_ok(c, "get", "--no-prepare", "--prepare-objects", "3", "--objects", "30", "--verify", "--seed", "5", *common)
    code, r, err = bench(c, "get", "--no-prepare", "--prepare-objects", "3", "--objects", "5", "--seed", "6", *common)
    assert code == 1, err
    get = op(r, "run", "get")
    assert get["ops"] == 0 and get["errors"] == 5
    assert "404" in get["first_errors"][0], get["first_errors"]
    assert "--max-error-rate" in err and len(err.strip().splitlines()) == 1, err


def test_mixed_multipart_and_cleanup(shared_cluster, s3):
    c = shared_cluster
    r = run_ok(
        c, "mixed", "--duration", "2s", "--size", "16KiB", "--prepare-objects", "30", "-c", "4",
        "--mix", "get=50,put=20,head=10,delete=10,list=10", "--verify", "--bucket", "bench-mixed", "--cleanup",
    )
    assert r["settings"]["mix"] == "get=50,put=20,head=10,delete=10,list=10"
    names = {o["op"] for o in phase(r, "run")["ops"]}
    assert names == {"get", "put", "head", "delete", "list"}, names
    for o in phase(r, "run")["ops"]:
        assert o["errors"] == 0, o["first_errors"]
    assert phase(r, "cleanup")["ops"][0]["errors"] == 0
    # The run created the bucket, so the clean-up removed it with everything written.
    expect_error(lambda: s3.head_bucket(Bucket="bench-mixed"), None, 404)

    # Above the threshold objects go up in parts (S3 rules: 5 MiB parts, the last smaller).
    r = run_ok(
        c, "put", "--objects", "2", "--size", "12MiB", "--multipart-threshold", "8MiB", "--part-size", "5MiB",
        "-c", "2", "--bucket", "bench-mpu",
    )
    put = op(r, "run", "put")
    check_op(put, 12 * MiB)
    assert phase(r, "run")["requests"] == 2 * (1 + 3 + 1), "create + 3 parts + complete per object"
    head = s3.head_object(Bucket="bench-mpu", Key=s3.list_objects_v2(Bucket="bench-mpu")["Contents"][0]["Key"])
    assert head["ContentLength"] == 12 * MiB and head["ETag"].strip('"').endswith("-3"), head
    r = run_ok(c, "get", "--no-prepare", "--prepare-objects", "2", "--objects", "4", "--size", "12MiB", "--verify",
               "-c", "2", "--bucket", "bench-mpu")
    check_op(op(r, "run", "get"), 12 * MiB)


def test_usage_and_unreachable_exit_2(shared_cluster, tmp_path):
    c = shared_cluster
    code, _, err = bench(c, "put", "--secret-key", "wrong", "--duration", "1s")
    assert code == 2 and "refused our credentials" in err and len(err.strip().splitlines()) == 1, err
    code, _, err = bench(c, "put", "--endpoint", "http://127.0.0.1:1", "--access-key", "a", "--secret-key", "b")
    assert code == 2 and "cannot reach" in err and len(err.strip().splitlines()) == 1, err
    code, _, err = bench(c, "put", "--part-size", "1MiB")
    assert code == 2 and "--part-size" in err, err
    code, _, err = bench(c, "get", data_dir=tmp_path / "none")
    assert code == 2 and "--endpoint" in err, err


def test_limits_only(shared_cluster, tmp_path):
    code, r, err = bench(shared_cluster, "--limits", str(tmp_path), "--limits-size", "64MiB", "--limits-time", "0.5s")
    assert code == 0, err
    assert r["phases"] == [] and r["ratios"] == [] and r["settings"]["workload"] is None
    lim = r["limits"]
    assert lim["seq_write"]["bytes"] == 64 * MiB and lim["seq_write"]["bytes_per_s"] > 0
    assert lim["seq_write"]["method"] in ("O_DIRECT", "page cache + fsync")
    assert lim["seq_read"]["bytes"] == 64 * MiB and lim["seq_read"]["bytes_per_s"] > 0
    assert lim["cached_read"]["bytes_per_s"] > 0
    assert lim["fsync_4k_per_s_depth1"] > 0 and lim["fsync_4k_per_s_depth16"] > 0
    assert lim["loopback_bytes_per_s"] > 0
    assert all(v > 0 for v in lim["hash_bytes_per_s"].values()), lim["hash_bytes_per_s"]
    assert lim["md5_lane_kernel"] in (None, "AVX-512", "AVX2"), lim
    assert (lim["md5_lane_kernel"] is None) == ("md5_16_lanes" not in lim["hash_bytes_per_s"]), lim
    assert list(tmp_path.iterdir()) == [], "the scratch files are removed"
    for name, key in [("disk write MiB/s", "seq_write"), ("disk read MiB/s", "seq_read")]:
        figure("test_limits_only", name, round(lim[key]["bytes_per_s"] / MiB))
    figure("test_limits_only", "fsync/s depth 1, 16", f"{lim['fsync_4k_per_s_depth1']:.0f}, {lim['fsync_4k_per_s_depth16']:.0f}")

    # With a workload, every PUT and large GET is judged against its ceiling.
    r = run_ok(shared_cluster, "put", "--objects", "20", "--size", "4KiB", "-c", "4", "--bucket", "bench-limits",
               "--limits", str(tmp_path), "--limits-size", "64MiB", "--limits-time", "0.5s")
    (ratio,) = r["ratios"]
    assert ratio["op"] == "put" and ratio["unit"] == "ops/s" and "fsync" in ratio["ceiling_is"], ratio
    assert ratio["ratio"] > 0
