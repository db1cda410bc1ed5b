"""Byte-for-byte round trips through boto3 (0 B .. 100 MiB) and ranged GETs (test plan item 1)."""

from __future__ import annotations

import hashlib
import time

import pytest

from checks import figure
from harness import SHARED_CHUNK_SIZE
from s3util import MiB, file_sha256, get, put, put_file, random_bytes, read_file_range, sha256, write_random_file

BUCKET = "roundtrip"


@pytest.fixture(scope="module")
def bucket(s3):
    s3.create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.mark.parametrize("size", [0, 1, MiB], ids=["0B", "1B", "1MiB"])
def test_small_round_trip(s3, bucket, size):
    data = random_bytes(size)
    key = f"small/{size}"
    r = put(s3, bucket, key, data)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    g = get(s3, bucket, key)
    assert g.status == 200
    assert g.length == size, f"GET returned {g.length} bytes, wrote {size}"
    assert g.content_length == size
    assert g.sha256 == sha256(data)
    h = s3.head_object(Bucket=bucket, Key=key)
    assert h["ContentLength"] == size
    assert r["ETag"] == f'"{hashlib.md5(data).hexdigest()}"', f"ETag {r['ETag']} is not the MD5 of the body"
    assert h["ETag"] == r["ETag"] == g.etag


def _check_range(s3, bucket, key, total, range_, start, end, expect_bytes: bytes):
    g = get(s3, bucket, key, range_=range_)
    assert g.status == 206, f"{range_}: status {g.status}"
    assert g.content_range == f"bytes {start}-{end}/{total}", f"{range_}: Content-Range {g.content_range!r}"
    assert g.content_length == end - start + 1, f"{range_}: Content-Length {g.content_length}"
    assert g.length == end - start + 1, f"{range_}: received {g.length} bytes"
    assert g.body == expect_bytes, f"{range_}: wrong bytes"


def test_ranges_small_object(s3, bucket):
    total = 64 * 1024 + 7
    data = random_bytes(total)
    key = "ranges/small"
    put(s3, bucket, key, data)
    cases = [
        ("bytes=0-0", 0, 0),
        ("bytes=10-20", 10, 20),
        ("bytes=-5", total - 5, total - 1),
        ("bytes=100-", 100, total - 1),
        (f"bytes={total - 1}-{total - 1}", total - 1, total - 1),
        (f"bytes={total - 10}-{total + 100}", total - 10, total - 1),  # end past the object is clamped
    ]
    for range_, start, end in cases:
        _check_range(s3, bucket, key, total, range_, start, end, data[start : end + 1])


def test_100mib_round_trip_and_ranges(s3, bucket, tmp_path):
    total = 100 * MiB
    src = tmp_path / "100mib.bin"
    digest = write_random_file(src, total)
    key = "big/100mib"
    try:
        t0 = time.monotonic()
        r = put_file(s3, bucket, key, src)
        t_put = time.monotonic() - t0
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
        figure("roundtrip", "PUT 100 MiB", f"{t_put:.2f}s = {total / MiB / t_put:.1f} MiB/s")

        t0 = time.monotonic()
        g = get(s3, bucket, key, keep_body=False)
        t_get = time.monotonic() - t0
        figure("roundtrip", "GET 100 MiB", f"{t_get:.2f}s = {total / MiB / t_get:.1f} MiB/s")
        assert g.length == total
        assert g.content_length == total
        assert g.sha256 == digest, "100 MiB object came back different"
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == total

        cs = SHARED_CHUNK_SIZE
        cases = [
            ("bytes=0-0", 0, 0),
            ("bytes=10-20", 10, 20),
            ("bytes=-5", total - 5, total - 1),
            (f"bytes={total - 100}-", total - 100, total - 1),
            (f"bytes={total - 1}-{total - 1}", total - 1, total - 1),  # last byte
            (f"bytes={cs - 1}-{cs}", cs - 1, cs),  # the two bytes either side of a chunk boundary
            (f"bytes={cs - 1000}-{cs + 1000}", cs - 1000, cs + 1000),
            (f"bytes={3 * cs - 17}-{6 * cs + 17}", 3 * cs - 17, 6 * cs + 17),  # spans 4 boundaries
            (f"bytes={50 * cs}-{51 * cs - 1}", 50 * cs, 51 * cs - 1),  # exactly one whole chunk
        ]
        for range_, start, end in cases:
            _check_range(s3, bucket, key, total, range_, start, end, read_file_range(src, start, end))
        # An open range from the middle, streamed and hashed rather than held.
        start = 97 * cs + 12345
        g = get(s3, bucket, key, range_=f"bytes={start}-", keep_body=False)
        assert g.status == 206
        assert g.content_range == f"bytes {start}-{total - 1}/{total}"
        assert g.length == total - start
        assert g.sha256 == sha256(read_file_range(src, start, total - 1))
        assert file_sha256(src) == digest
    finally:
        src.unlink(missing_ok=True)
