"""S3 helpers: clients, random payloads, hashing, error inspection and a hand-signed request."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

MiB = 1024 * 1024

# botocore before 1.43.77 keeps the status line of a final answer to an `Expect: 100-continue`
# request on the pooled connection and applies it to the next response on that connection,
# which it then cannot parse: a zero-length PUT (answered without 100 Continue, as S3 does)
# makes the next PUT on the connection stall for the whole read timeout and be retried
# (boto/botocore#3755, fixed by #3784 in 1.43.77). With such a botocore, our clients leave
# `Expect` off zero-length bodies (the header is not signed), as that issue recommends.
BOTOCORE_EXPECT_FIX = (1, 43, 77)


def _botocore_version() -> tuple[int, ...]:
    return tuple(int(p) for p in botocore.__version__.split(".")[:3] if p.isdigit())


def _no_expect_on_empty_body(request, **_kw) -> None:
    if str(request.headers.get("Content-Length", "")) == "0" and "Expect" in request.headers:
        del request.headers["Expect"]


def make_s3_client(
    endpoint: str,
    region: str,
    access_key: str,
    secret_key: str,
    *,
    max_attempts: int = 10,
    read_timeout: float = 300,
    connect_timeout: float = 10,
):
    """A boto3 S3 client for the cluster: path-style, SigV4, standard retries."""
    cfg = Config(
        region_name=region,
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=32,
    )
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=cfg,
    )
    if _botocore_version() < BOTOCORE_EXPECT_FIX:
        client.meta.events.register("before-send.s3", _no_expect_on_empty_body)
    return client


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def write_random_file(path: Path, size: int, block: int = MiB) -> str:
    """Writes `size` random bytes to `path`; returns their sha256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            b = os.urandom(min(block, left))
            h.update(b)
            f.write(b)
            left -= len(b)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while b := f.read(MiB):
            h.update(b)
    return h.hexdigest()


def read_file_range(path: Path, start: int, end_inclusive: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(start)
        return f.read(end_inclusive - start + 1)


@dataclass
class Got:
    status: int
    length: int  # bytes actually received
    sha256: str
    content_length: int | None
    content_range: str | None
    etag: str | None
    body: bytes | None  # kept only when asked for


def get(s3, bucket: str, key: str, range_: str | None = None, keep_body: bool = True) -> Got:
    """GETs an object (streamed), hashing on the fly."""
    kw: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if range_ is not None:
        kw["Range"] = range_
    r = s3.get_object(**kw)
    h = hashlib.sha256()
    parts = []
    n = 0
    for b in r["Body"].iter_chunks(MiB):
        h.update(b)
        n += len(b)
        if keep_body:
            parts.append(b)
    return Got(
        status=r["ResponseMetadata"]["HTTPStatusCode"],
        length=n,
        sha256=h.hexdigest(),
        content_length=r.get("ContentLength"),
        content_range=r.get("ContentRange"),
        etag=r.get("ETag"),
        body=b"".join(parts) if keep_body else None,
    )


def put(s3, bucket: str, key: str, body: bytes) -> dict:
    return s3.put_object(Bucket=bucket, Key=key, Body=body)


def put_file(s3, bucket: str, key: str, path: Path) -> dict:
    """A single PutObject streamed from a file (never multipart)."""
    with open(path, "rb") as f:
        return s3.put_object(Bucket=bucket, Key=key, Body=f)


def error_of(exc: BaseException) -> tuple[str, int]:
    """(S3 error code, HTTP status) of a botocore ClientError."""
    assert isinstance(exc, ClientError), f"expected a ClientError, got {type(exc).__name__}: {exc}"
    return exc.response.get("Error", {}).get("Code", ""), exc.response["ResponseMetadata"]["HTTPStatusCode"]


def expect_error(fn, code: str | None, status: int) -> ClientError:
    """Calls fn(); asserts it raises a ClientError with this code (None: any) and HTTP status."""
    try:
        fn()
    except ClientError as e:
        got_code, got_status = error_of(e)
        assert got_status == status, f"expected HTTP {status} {code}, got {got_status} {got_code}: {e.response}"
        if code is not None:
            assert got_code == code, f"expected {code}, got {got_code} (HTTP {got_status}): {e.response}"
        return e
    raise AssertionError(f"expected {code} (HTTP {status}), but the call succeeded")


def signed_put_with_wrong_sha(
    endpoint: str, region: str, access_key: str, secret_key: str, bucket: str, key: str, signed: bytes, sent: bytes
) -> tuple[int, str]:
    """PUTs `sent` with a valid SigV4 signature whose x-amz-content-sha256 is sha256(`signed`).

    Returns (HTTP status, response body).
    """
    url = f"{endpoint}/{bucket}/{key}"
    req = AWSRequest(method="PUT", url=url, data=sent, headers={"X-Amz-Content-SHA256": sha256(signed)})
    SigV4Auth(Credentials(access_key, secret_key), "s3", region).add_auth(req)
    prepared = req.prepare()
    headers = {k: v for k, v in prepared.headers.items()}
    headers["Content-Length"] = str(len(sent))
    hreq = urllib.request.Request(url, data=sent, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(hreq, timeout=60) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
