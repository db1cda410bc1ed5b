"""Issue 3: several access keys with bucket grants (through the admin CLI), and several gateways
serving one cluster at once.

- A second key sees nothing of the admin's bucket until `trireme bucket allow` grants it, then
  exactly what the grant says (read, then write), and nothing again after `trireme bucket deny`.
- A key created with --no-create-bucket cannot create buckets; keys own the buckets they create
  and another key's requests on them get AccessDenied.
- `trireme key import` registers a chosen key pair that then signs requests.
- A second gateway started from the first one's config serves the same data: writes through one
  are read through the other, concurrently.
"""

from __future__ import annotations

import json
import subprocess
import threading
import tomllib
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from procs import HarnessError, die_with_parent, tail, wait_until
from s3util import make_s3_client, random_bytes

GRANT_TIMEOUT = 20.0  # grants are cached a few seconds per gateway


def code(e: ClientError) -> str:
    return e.response.get("Error", {}).get("Code", "")


def denied(fn) -> bool:
    try:
        fn()
    except ClientError as e:
        if code(e) == "AccessDenied":
            return True
        raise
    return False


def allowed(fn) -> bool:
    try:
        fn()
        return True
    except ClientError as e:
        if code(e) == "AccessDenied":
            return False
        raise


def test_grants_through_the_cli(shared_cluster):
    c = shared_cluster
    admin = c.s3()
    admin.create_bucket(Bucket="granted")
    admin.put_object(Bucket="granted", Key="k", Body=b"hello")

    created = c.cli("key", "create", "--name", "reader", "--json", check=True).json()
    ak, sk = created["access_key"], created["secret_key"]
    other = c.s3(access_key=ak, secret_key=sk)

    # No grant: nothing.
    assert denied(lambda: other.get_object(Bucket="granted", Key="k"))
    assert denied(lambda: other.list_objects_v2(Bucket="granted"))
    assert denied(lambda: other.put_object(Bucket="granted", Key="x", Body=b"x"))
    names = [b["Name"] for b in other.list_buckets()["Buckets"]]
    assert "granted" not in names

    # Read grant: reads and listing, no writes.
    c.cli("bucket", "allow", "granted", "--key", ak, "--read", check=True)
    wait_until(lambda: allowed(lambda: other.get_object(Bucket="granted", Key="k")), GRANT_TIMEOUT, "read grant")
    assert other.get_object(Bucket="granted", Key="k")["Body"].read() == b"hello"
    assert [o["Key"] for o in other.list_objects_v2(Bucket="granted")["Contents"]] == ["k"]
    assert denied(lambda: other.put_object(Bucket="granted", Key="x", Body=b"x"))
    assert denied(lambda: other.delete_bucket(Bucket="granted"))

    # Write grant on top.
    c.cli("bucket", "allow", "granted", "--key", ak, "--write", check=True)
    wait_until(
        lambda: allowed(lambda: other.put_object(Bucket="granted", Key="x", Body=b"from-reader")),
        GRANT_TIMEOUT,
        "write grant",
    )
    assert admin.get_object(Bucket="granted", Key="x")["Body"].read() == b"from-reader"

    listed = c.cli("bucket", "list", "--json", check=True).json()
    bucket = next(b for b in listed["buckets"] if b["name"] == "granted")
    assert bucket["grants"][ak]["read"] and bucket["grants"][ak]["write"]

    # Deny everything: back to nothing.
    c.cli("bucket", "deny", "granted", "--key", ak, check=True)
    wait_until(lambda: denied(lambda: other.get_object(Bucket="granted", Key="k")), GRANT_TIMEOUT, "revoke")

    # The reader owns what it creates; the admin gets AccessDenied there.
    other.create_bucket(Bucket="readers-own")
    other.put_object(Bucket="readers-own", Key="mine", Body=b"m")
    assert denied(lambda: admin.get_object(Bucket="readers-own", Key="mine"))
    assert denied(lambda: admin.put_object(Bucket="readers-own", Key="y", Body=b"y"))


def test_keys_without_bucket_creation_and_imported_keys(shared_cluster):
    c = shared_cluster
    limited = c.cli("key", "create", "--name", "limited", "--no-create-bucket", "--json", check=True).json()
    s3_limited = c.s3(access_key=limited["access_key"], secret_key=limited["secret_key"])
    with pytest.raises(ClientError) as e:
        s3_limited.create_bucket(Bucket="not-allowed")
    assert code(e.value) == "AccessDenied"

    c.cli("key", "import", "AKIAIMPORTEDTEST01", "imported-secret-value-123", "--name", "migrated", check=True)
    imported = c.s3(access_key="AKIAIMPORTEDTEST01", secret_key="imported-secret-value-123")
    imported.create_bucket(Bucket="imported-bucket")
    imported.put_object(Bucket="imported-bucket", Key="a", Body=b"abc")
    assert imported.get_object(Bucket="imported-bucket", Key="a")["Body"].read() == b"abc"
    keys = c.cli("key", "list", "--json", check=True).json()
    assert any(k["access_key"] == "AKIAIMPORTEDTEST01" for k in keys["keys"])
    # A wrong secret for the imported key is refused.
    wrong = c.s3(access_key="AKIAIMPORTEDTEST01", secret_key="not-the-secret")
    with pytest.raises(ClientError) as e:
        wrong.list_objects_v2(Bucket="imported-bucket")
    assert code(e.value) == "SignatureDoesNotMatch"


def start_second_gateway(c, base: Path) -> tuple[subprocess.Popen, str]:
    """Starts another gateway from gateway-1's config, on a port of its own."""
    gw = c.processes("gateway")[0]
    cfg = tomllib.loads(Path(gw.config).read_text())
    d = base / "gateway-2"
    d.mkdir(parents=True, exist_ok=True)
    ready = d / "ready.json"
    lines = []
    for line in Path(gw.config).read_text().splitlines():
        if line.startswith("listen ="):
            line = 'listen = "127.0.0.1:0"'
        elif line.startswith("ready_file ="):
            line = f"ready_file = {json.dumps(str(ready))}"
        lines.append(line)
    if "ready_file" not in cfg:
        lines.insert(0, f"ready_file = {json.dumps(str(ready))}")
    config = d / "config.toml"
    config.write_text("\n".join(lines) + "\n")
    log = d / "log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(c.bin_dir / "trireme-gateway"), "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def is_ready():
        if proc.poll() is not None:
            raise HarnessError(f"second gateway exited with {proc.returncode}:\n{tail(log)}")
        try:
            r = json.loads(ready.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return r if int(r.get("pid", -1)) == proc.pid else None

    r = wait_until(is_ready, 30, "second gateway to be ready", 0.05)
    return proc, f"http://{r['addr']}"


def test_two_gateways_serve_one_cluster(shared_cluster, tmp_path):
    c = shared_cluster
    proc, endpoint2 = start_second_gateway(c, tmp_path)
    try:
        gw1 = c.s3()
        gw2 = make_s3_client(endpoint2, c.region, c.access_key, c.secret_key)
        gw1.create_bucket(Bucket="two-gateways")
        errors: list[str] = []

        def writer(client, other, prefix):
            try:
                for i in range(30):
                    body = random_bytes(1000 + i * 997)
                    key = f"{prefix}/{i}"
                    client.put_object(Bucket="two-gateways", Key=key, Body=body)
                    got = other.get_object(Bucket="two-gateways", Key=key)["Body"].read()
                    if got != body:
                        errors.append(f"{key}: read back {len(got)} bytes through the other gateway")
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(f"{prefix}: {e!r}")

        threads = [
            threading.Thread(target=writer, args=(gw1, gw2, "via-1")),
            threading.Thread(target=writer, args=(gw2, gw1, "via-2")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not errors, errors
        keys1 = [o["Key"] for o in gw1.list_objects_v2(Bucket="two-gateways")["Contents"]]
        keys2 = [o["Key"] for o in gw2.list_objects_v2(Bucket="two-gateways")["Contents"]]
        assert keys1 == keys2 and len(keys1) == 60
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
