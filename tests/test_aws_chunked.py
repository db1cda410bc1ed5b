"""aws-chunked streaming uploads signed chunk by chunk (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`),
built by hand here so every chunk signature can be checked and tampered with:

- a correctly signed multi-chunk upload is stored byte for byte;
- one flipped byte in a chunk's data, or a wrong chunk signature, gets 403
  SignatureDoesNotMatch and stores nothing;
- a body shorter than `x-amz-decoded-content-length` is refused and stores nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
from datetime import datetime, timezone
from urllib.parse import quote, urlparse

import pytest
from botocore.exceptions import ClientError

from s3util import random_bytes

ALGO = "AWS4-HMAC-SHA256"
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str) -> bytes:
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, "s3")
    return _hmac(k, "aws4_request")


def streaming_put(cluster, bucket: str, key: str, data: bytes, *, chunk: int = 64 * 1024,
                  tamper: str | None = None, declared: int | None = None) -> tuple[int, bytes]:
    """PUTs `data` as aws-chunked with per-chunk signatures; returns (status, body)."""
    url = urlparse(cluster.endpoint)
    now = datetime.now(timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    region = cluster.region
    scope = f"{date}/{region}/s3/aws4_request"
    kdate = signing_key(cluster.secret_key, date, region)

    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    encoded_len = sum(len(f"{len(c):x};chunk-signature=") + 64 + 2 + len(c) + 2 for c in chunks)
    path = f"/{bucket}/{quote(key)}"
    headers = {
        "content-encoding": "aws-chunked",
        "content-length": str(encoded_len),
        "host": url.netloc,
        "x-amz-content-sha256": STREAMING,
        "x-amz-date": amz_date,
        "x-amz-decoded-content-length": str(len(data) if declared is None else declared),
    }
    signed = ";".join(sorted(headers))
    canonical = "\n".join([
        "PUT", path, "", "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, STREAMING,
    ])
    sts = "\n".join([ALGO, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    seed = hmac.new(kdate, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"{ALGO} Credential={cluster.access_key}/{scope}, SignedHeaders={signed}, Signature={seed}"

    body = bytearray()
    prev = seed
    for i, c in enumerate(chunks):
        chunk_sts = "\n".join([ALGO + "-PAYLOAD", amz_date, scope, prev, EMPTY_SHA256, hashlib.sha256(c).hexdigest()])
        sig = hmac.new(kdate, chunk_sts.encode(), hashlib.sha256).hexdigest()
        prev = sig
        payload = c
        if i == 1 and tamper == "data":
            payload = bytes([c[0] ^ 1]) + c[1:]
        if i == 1 and tamper == "signature":
            sig = ("1" if sig[0] == "0" else "0") + sig[1:]
        body += f"{len(c):x};chunk-signature={sig}\r\n".encode() + payload + b"\r\n"
    assert len(body) == encoded_len

    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.request("PUT", path, body=bytes(body), headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def absent(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    return False


def test_signed_chunks_are_verified(shared_cluster):
    c = shared_cluster
    s3 = c.s3()
    s3.create_bucket(Bucket="chunked")
    data = random_bytes(300 * 1024 + 17)

    status, body = streaming_put(c, "chunked", "good", data)
    assert status == 200, body
    assert s3.get_object(Bucket="chunked", Key="good")["Body"].read() == data

    for tamper in ("data", "signature"):
        status, body = streaming_put(c, "chunked", f"bad-{tamper}", data, tamper=tamper)
        assert status == 403, (tamper, status, body)
        assert b"SignatureDoesNotMatch" in body, body
        assert absent(s3, "chunked", f"bad-{tamper}"), f"a tampered upload ({tamper}) was stored"


def test_short_chunked_body_stores_nothing(shared_cluster):
    c = shared_cluster
    s3 = c.s3()
    s3.create_bucket(Bucket="chunked-short")
    data = random_bytes(100 * 1024)
    status, body = streaming_put(c, "chunked-short", "short", data, declared=len(data) + 10)
    assert 400 <= status < 500, (status, body)
    assert absent(s3, "chunked-short", "short")


@pytest.mark.parametrize("size", [0, 1, 64 * 1024])
def test_chunked_edge_sizes(shared_cluster, size):
    c = shared_cluster
    s3 = c.s3()
    try:
        s3.create_bucket(Bucket="chunked-edges")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "BucketAlreadyOwnedByYou"
    data = random_bytes(size)
    status, body = streaming_put(c, "chunked-edges", f"k{size}", data)
    assert status == 200, body
    assert s3.get_object(Bucket="chunked-edges", Key=f"k{size}")["Body"].read() == data
