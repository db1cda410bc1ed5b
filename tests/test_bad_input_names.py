"""Bad input, keys and bucket names (issue 7).

- `../`, `..`, `./`, backslashes and absolute-looking keys are literal key names: stored and
  read back under exactly that name, listed as such, and no file or directory named after
  them appears anywhere outside the cluster's data directories (checked on disk with a
  unique token in every key); a copy source `/b1/../b2/k` is the key `../b2/k` of b1, never
  `b2/k`; a bucket named `..` is an invalid name;
- NUL and other control characters: stored and read back exactly, listed with
  `EncodingType=url`, and a plain listing of the bucket still answers;
- invalid UTF-8 (percent-encoded) in the path, a query parameter or a copy source: 400
  InvalidURI (or InvalidArgument), nothing stored;
- a key of exactly 1024 bytes (ASCII or multi-byte) is accepted, 1025 is 400 KeyTooLongError
  for PutObject, CreateMultipartUpload and a CopyObject destination;
- bucket names against the rules (uppercase, underscores, too short or long, IPv4 form,
  `xn--` / `sthree-` prefixes, `-s3alias` / `--ol-s3` suffixes, adjacent dots or dot-dash,
  leading or trailing dash): 400 InvalidBucketName, through boto3 and on the raw wire.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from botocore.exceptions import ClientError

from rawhttp import Signer, absent, assert_serving, request, send
from s3util import expect_error

BUCKET = "bad-names"
OTHER = "bad-names-other"


@pytest.fixture(scope="module")
def env(shared_cluster, s3):
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=OTHER)
    s3.put_object(Bucket=OTHER, Key="victim", Body=b"secret of the other bucket")
    return shared_cluster, Signer.of(shared_cluster), s3


@pytest.fixture(autouse=True)
def _still_serving(env):
    """After every case: the gateway still serves a normal PUT + GET."""
    yield
    assert_serving(env[2], BUCKET, "after this case")


def _files_named(root: Path, token: str) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: None):
        for n in dirnames + filenames:
            if token in n:
                found.append(Path(dirpath) / n)
    return found


def _escape_keys(token: str) -> list[str]:
    return [
        f"../{token}-a",
        f"../../../../../../../../tmp/{token}-b",
        f"a/../../{token}-c",
        f"./../{token}-d",
        f"..\\..\\{token}-e",
        f"/tmp/{token}-f",
        f"//{token}-g",
        f"{token}-h/..",
        f"{token}-i/../..",
        f"%2e%2e/{token}-j",
    ]


def test_dot_dot_keys_are_literal_names(env):
    c, sg, s3 = env
    token = "trireme-escape-" + os.urandom(4).hex()
    keys = _escape_keys(token)
    bodies = {k: os.urandom(200 + i) for i, k in enumerate(keys)}
    for k, b in bodies.items():
        s3.put_object(Bucket=BUCKET, Key=k, Body=b)
    # A larger one through chunk files as well (the shared cluster's chunks are 1 MiB).
    big_key = f"../../../{token}-big"
    big = os.urandom(2 * 1024 * 1024 + 5)
    s3.put_object(Bucket=BUCKET, Key=big_key, Body=big)
    bodies[big_key] = big

    for k, b in bodies.items():
        assert s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() == b, f"{k!r} did not read back"
    listed = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, EncodingType="url"):
        listed |= {unquote(o["Key"]) for o in page.get("Contents", [])}
    missing = set(bodies) - listed
    assert not missing, f"keys not listed as written: {missing}"

    # Nothing named after a key anywhere outside the data directories: not next to the
    # cluster, not in /tmp or /, not relative to any process's working or data directory.
    base = c.base
    roots = [base.parent, Path("/tmp"), Path("/")]
    strays = _files_named(base, token)
    for r in roots:
        strays += [p for p in r.iterdir() if token in p.name]
    for proc in c.processes():
        for d in [proc.config.parent, *proc.disks]:
            for k in bodies:
                p = (d / k.replace("\\", "/")).resolve()
                if token in str(p) and p.exists():
                    strays.append(p)
    assert not strays, f"files named after object keys appeared on disk: {strays}"

    for k in bodies:
        s3.delete_object(Bucket=BUCKET, Key=k)
        assert absent(s3, BUCKET, k)
    assert_serving(s3, BUCKET)


def test_dot_dot_copy_source_stays_in_its_bucket(env):
    c, sg, s3 = env
    for src in (f"/{BUCKET}/../{OTHER}/victim", f"{BUCKET}/..%2F{OTHER}%2Fvictim", f"/{BUCKET}/%2e%2e/{OTHER}/victim"):
        s = sg.sign("PUT", f"/{BUCKET}/stolen", headers={"x-amz-copy-source": src})
        r = send(c.endpoint, s)
        assert r.status == 404 and r.code == "NoSuchKey", f"copy source {src!r}: {r.status} {r.text()}"
        assert absent(s3, BUCKET, "stolen")
    # The same through a key that exists literally: the copy reads that key, in its bucket.
    s3.put_object(Bucket=BUCKET, Key=f"../{OTHER}/victim", Body=b"literal")
    s = sg.sign("PUT", f"/{BUCKET}/copied", headers={"x-amz-copy-source": f"/{BUCKET}/../{OTHER}/victim"})
    send(c.endpoint, s).expect(200)
    assert s3.get_object(Bucket=BUCKET, Key="copied")["Body"].read() == b"literal"
    assert s3.get_object(Bucket=OTHER, Key="victim")["Body"].read() == b"secret of the other bucket"


@pytest.mark.parametrize("raw", ["/..", "/../", "/%2e%2e/", "/./x", "/../bad-names/x"])
def test_dot_dot_bucket_is_an_invalid_name(env, raw):
    c, sg, s3 = env
    r = send(c.endpoint, sg.sign("PUT", raw, body=b"x"))
    assert r.status == 400 and r.code == "InvalidBucketName", f"{raw}: {r.status} {r.text()}"
    r = send(c.endpoint, sg.sign("GET", raw))
    assert r.status == 400 and r.code == "InvalidBucketName", f"GET {raw}: {r.status} {r.text()}"
    assert_serving(s3, BUCKET)


CONTROL_KEYS = {
    "nul": "nul\x00key",
    "nul-only": "\x00",
    "low": "ctl\x01\x02\x1b\x1f",
    "del": "del\x7f",
    "newline": "line\nbreak",
    "cr": "carriage\rreturn",
    "tab": "tab\tkey",
    "c1": "c1\u0085\u009f",
    "bidi": "bidi\u202egpj.exe",
    "bom": "\ufeffbom",
}


@pytest.mark.parametrize("name", sorted(CONTROL_KEYS))
def test_control_characters_round_trip(env, name):
    c, sg, s3 = env
    key = CONTROL_KEYS[name]
    body = os.urandom(64)
    path = f"/{BUCKET}/{quote(key.encode(), safe='/')}"
    r = send(c.endpoint, sg.sign("PUT", path, body=body))
    if r.status == 400:
        # A clean refusal is acceptable; then nothing is stored.
        assert r.code in ("InvalidURI", "InvalidArgument", "InvalidObjectName"), r.text()
        assert absent(s3, BUCKET, key)
        assert_serving(s3, BUCKET)
        return
    r.expect(200)
    assert send(c.endpoint, sg.sign("GET", path)).expect(200).body == body
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
    listed = s3.list_objects_v2(Bucket=BUCKET, EncodingType="url")
    keys = {unquote(o["Key"]) for o in listed.get("Contents", [])}
    assert key in keys, f"{key!r} not listed (EncodingType=url): {sorted(keys)[:20]}"
    # A listing without URL encoding still answers (S3 sends such keys as they are).
    plain = send(c.endpoint, sg.sign("GET", f"/{BUCKET}", query=[("list-type", "2")]))
    assert plain.status == 200, plain.text()
    send(c.endpoint, sg.sign("DELETE", path)).expect(204)
    assert absent(s3, BUCKET, key)
    assert_serving(s3, BUCKET)


@pytest.mark.parametrize("bad", ["%FF", "%C3%28", "%ED%A0%80", "%C0%AF", "%F8%88%80%80%80", "ok%E2%82", "%", "%zz"])
def test_invalid_utf8_in_path(env, bad):
    c, sg, s3 = env
    path = f"/{BUCKET}/utf8-{bad}"
    r = send(c.endpoint, sg.sign("PUT", path, body=b"x"))
    assert r.status == 400 and r.code in ("InvalidURI", "InvalidArgument"), f"{bad}: {r.status} {r.text()}"
    r = send(c.endpoint, sg.sign("GET", path))
    assert r.status == 400 and r.code in ("InvalidURI", "InvalidArgument"), f"GET {bad}: {r.status} {r.text()}"
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="utf8-").get("Contents", [])
    assert not listed, listed
    assert_serving(s3, BUCKET)


def test_invalid_utf8_in_query_and_copy_source(env):
    c, sg, s3 = env
    # The signer encodes the query itself: send the target by hand with a raw %FF.
    s = sg.sign("GET", f"/{BUCKET}", query=[("list-type", "2"), ("prefix", "x")])
    s.target = s.target.replace("prefix=x", "prefix=%FF")
    r = send(c.endpoint, s)
    assert r.status in (400, 403), r.text()
    s = sg.sign("PUT", f"/{BUCKET}/copy-utf8", headers={"x-amz-copy-source": f"/{BUCKET}/%FF"})
    r = send(c.endpoint, s)
    assert r.status == 400 and r.code in ("InvalidArgument", "InvalidURI", "InvalidRequest"), r.text()
    assert absent(s3, BUCKET, "copy-utf8")
    assert_serving(s3, BUCKET)


@pytest.mark.parametrize(
    "key,ok",
    [
        ("k" * 1024, True),
        ("k" * 1025, False),
        ("\u00e9" * 512, True),  # 2-byte characters: 1024 bytes
        ("\u20ac" * 341 + "k", True),  # 3-byte characters: 1024 bytes
        ("\u20ac" * 342, False),  # 1026 bytes
        ("\U0001f600" * 256, True),  # 4-byte characters: 1024 bytes
        ("\U0001f600" * 256 + "k", False),
    ],
    ids=["ascii-1024", "ascii-1025", "2byte-1024", "3byte-1024", "3byte-1026", "4byte-1024", "4byte-1025"],
)
def test_key_length_limit(env, key, ok):
    c, sg, s3 = env
    n = len(key.encode())
    if ok:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"x"
        s3.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": key},
                       MetadataDirective="REPLACE")
        up = s3.create_multipart_upload(Bucket=BUCKET, Key=key)
        s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=up["UploadId"])
        s3.delete_object(Bucket=BUCKET, Key=key)
        return
    assert n > 1024
    expect_error(lambda: s3.put_object(Bucket=BUCKET, Key=key, Body=b"x"), "KeyTooLongError", 400)
    expect_error(lambda: s3.create_multipart_upload(Bucket=BUCKET, Key=key), "KeyTooLongError", 400)
    s3.put_object(Bucket=BUCKET, Key="short-src", Body=b"x")
    expect_error(lambda: s3.copy_object(Bucket=BUCKET, Key=key, CopySource={"Bucket": BUCKET, "Key": "short-src"}),
                 "KeyTooLongError", 400)
    uploads = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    assert all(u["Key"] != key for u in uploads)
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=key[:8]).get("Contents", [])]
    assert key not in listed
    assert_serving(s3, BUCKET)


BAD_BUCKETS = [
    "Uppercase",
    "UPPER",
    "under_score",
    "ab",
    "a",
    "a" * 64,
    "192.168.5.4",
    "10.0.0.1",
    "xn--bucket",
    "sthree-bucket",
    "sthree-configurator",
    "amzn-s3-demo-bucket",
    "bucket-s3alias",
    "bucket--ol-s3",
    "bucket.mrap",
    "bucket--x-s3",
    "bucket--table-s3",
    "two..dots",
    "dot.-dash",
    "dash-.dot",
    "-leading",
    "trailing-",
    ".leading",
    "trailing.",
    "sp ace",
    "uni\u00e9code",
    "semi;colon",
]


@pytest.mark.parametrize("name", BAD_BUCKETS)
def test_bad_bucket_names(env, name):
    c, sg, s3 = env
    r = send(c.endpoint, sg.sign("PUT", "/" + quote(name, safe="")))
    assert r.status == 400 and r.code == "InvalidBucketName", f"{name!r}: {r.status} {r.text()}"
    if name.isprintable() and " " not in name and ";" not in name:
        try:
            s3.create_bucket(Bucket=name)
        except ClientError as e:
            assert e.response["Error"]["Code"] == "InvalidBucketName", e.response
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        except Exception as e:  # botocore refuses some names itself (ParamValidationError)
            assert "Invalid bucket name" in str(e), e
        else:
            raise AssertionError(f"bucket {name!r} was created")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert name not in names and name.lower() not in names


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my.dotted.bucket", "1.2.3", "0-9"])
def test_good_edge_bucket_names(env, name):
    c, sg, s3 = env
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"v")
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)


def test_empty_and_slash_only_keys(env):
    c, sg, s3 = env
    # `/bucket/` is a bucket-level request (PUT = CreateBucket on an existing bucket).
    r = send(c.endpoint, sg.sign("PUT", f"/{BUCKET}/", body=b""))
    assert r.status in (200, 409), r.text()
    # A key made of slashes only is a key like any other.
    send(c.endpoint, sg.sign("PUT", f"/{BUCKET}//", body=b"slash")).expect(200)
    assert s3.get_object(Bucket=BUCKET, Key="/")["Body"].read() == b"slash"
    s3.delete_object(Bucket=BUCKET, Key="/")
    r = request(c.endpoint, "GET", "/" + "x" * 9000)
    assert r.status in (400, 403, 414, 431), r.status
    assert_serving(s3, BUCKET)
