"""boto3 against the shared cluster: the transfer manager (multipart up, parallel ranged GETs
down), presigned GET and PUT used with urllib, the list_objects_v2 and list_parts paginators,
copy_object, delete_objects (quiet and verbose), partNumber HEAD/GET on a multipart object,
and conditional GETs."""

from __future__ import annotations

import datetime
import os
import time

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from checks import figure
from clientutil import MiB, http, md5_hex, multipart_etag, multipart_etag_of_file, unique_bucket
from s3util import error_of, expect_error, file_sha256, write_random_file


@pytest.fixture
def bucket(s3):
    name = unique_bucket("boto3")
    s3.create_bucket(Bucket=name)
    yield name
    # Empty and remove it (also after a failure, so the shared cluster stays tidy).
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for o in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=o["Key"])
    for u in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=u["Key"], UploadId=u["UploadId"])
    s3.delete_bucket(Bucket=name)


def _multipart_object(s3, bucket: str, key: str, parts: list[bytes]) -> str:
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    done = []
    for n, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=n, Body=data)
        done.append({"PartNumber": n, "ETag": r["ETag"]})
    r = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={"Parts": done})
    return r["ETag"]


def test_transfer_manager_multipart_both_ways(s3, bucket, tmp_path):
    size = 23 * MiB + 321
    src = tmp_path / "src.bin"
    sha = write_random_file(src, size)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, max_concurrency=4)

    t0 = time.monotonic()
    s3.upload_file(str(src), bucket, "tm/big.bin", Config=cfg)
    up_s = time.monotonic() - t0
    head = s3.head_object(Bucket=bucket, Key="tm/big.bin")
    assert head["ContentLength"] == size
    assert head["ETag"] == multipart_etag_of_file(src, 5 * MiB), head["ETag"]  # 5 parts
    assert head["ETag"].endswith('-5"')

    dst = tmp_path / "dst.bin"
    t0 = time.monotonic()
    s3.download_file(bucket, "tm/big.bin", str(dst), Config=cfg)  # parallel ranged GETs
    down_s = time.monotonic() - t0
    assert dst.stat().st_size == size
    assert file_sha256(dst) == sha
    figure("boto3 transfer", "23 MiB upload_file (MiB/s)", f"{size / MiB / up_s:.1f}")
    figure("boto3 transfer", "23 MiB download_file (MiB/s)", f"{size / MiB / down_s:.1f}")


def test_presigned_get_and_put(s3, bucket):
    data = os.urandom(MiB + 3)
    s3.put_object(Bucket=bucket, Key="pre/get.bin", Body=data)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre/get.bin"}, ExpiresIn=300)
    status, body, headers = http("GET", url)
    assert status == 200, body[:500]
    assert body == data and headers["etag"] == f'"{md5_hex(data)}"'

    put_data = os.urandom(2 * MiB + 1)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pre/put.bin"}, ExpiresIn=300)
    status, body, headers = http("PUT", url, put_data, {"Content-Type": "application/octet-stream"})
    assert status == 200, body[:500]
    assert headers["etag"] == f'"{md5_hex(put_data)}"'
    got = s3.get_object(Bucket=bucket, Key="pre/put.bin")
    assert got["Body"].read() == put_data
    assert got["ContentType"] == "application/octet-stream"

    # The URL signs this key only: another key under it is refused, nothing is written.
    other = url.replace("pre/put.bin", "pre/other.bin")
    status, body, _ = http("PUT", other, b"x", {"Content-Type": "application/octet-stream"})
    assert status == 403 and b"SignatureDoesNotMatch" in body, (status, body[:500])
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="pre/other.bin"), None, 404)


def test_paginators(s3, bucket):
    keys = [f"page/{i:03d}" for i in range(50)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="page/", PaginationConfig={"PageSize": 7}))
    assert [p["KeyCount"] for p in pages] == [7] * 7 + [1], [p["KeyCount"] for p in pages]
    assert [o["Key"] for p in pages for o in p["Contents"]] == keys
    assert all(p["IsTruncated"] for p in pages[:-1]) and not pages[-1]["IsTruncated"]
    assert [p["MaxKeys"] for p in pages] == [7] * 8

    # list_parts on an open upload (parts may be small until completion).
    up = s3.create_multipart_upload(Bucket=bucket, Key="parts/obj")["UploadId"]
    etags = {}
    for n in (5, 1, 4, 2, 3):
        body = f"part {n} ".encode() * (n * 10)
        etags[n] = (s3.upload_part(Bucket=bucket, Key="parts/obj", UploadId=up, PartNumber=n, Body=body)["ETag"], len(body))
    pages = list(
        s3.get_paginator("list_parts").paginate(Bucket=bucket, Key="parts/obj", UploadId=up, PaginationConfig={"PageSize": 2})
    )
    assert [[p["PartNumber"] for p in page["Parts"]] for page in pages] == [[1, 2], [3, 4], [5]]
    assert {p["PartNumber"]: (p["ETag"], p["Size"]) for page in pages for p in page["Parts"]} == etags
    assert [page["IsTruncated"] for page in pages] == [True, True, False]
    s3.abort_multipart_upload(Bucket=bucket, Key="parts/obj", UploadId=up)
    figure("boto3 paginators", "list_objects_v2 pages of 7 over 50 keys", len([7] * 7 + [1]))


def test_copy_object(s3, bucket):
    data = os.urandom(3 * MiB + 7)
    put = s3.put_object(Bucket=bucket, Key="cp/src", Body=data, ContentType="text/x-src", Metadata={"k": "v"})
    r = s3.copy_object(Bucket=bucket, Key="cp/dst", CopySource={"Bucket": bucket, "Key": "cp/src"})
    assert r["CopyObjectResult"]["ETag"] == put["ETag"]
    h = s3.head_object(Bucket=bucket, Key="cp/dst")
    assert (h["ContentLength"], h["ContentType"], h["Metadata"]) == (len(data), "text/x-src", {"k": "v"})
    assert s3.get_object(Bucket=bucket, Key="cp/dst")["Body"].read() == data

    r = s3.copy_object(
        Bucket=bucket, Key="cp/dst2", CopySource={"Bucket": bucket, "Key": "cp/src"},
        MetadataDirective="REPLACE", ContentType="text/x-new", Metadata={"n": "1"},
    )
    h = s3.head_object(Bucket=bucket, Key="cp/dst2")
    assert (h["ContentType"], h["Metadata"]) == ("text/x-new", {"n": "1"})
    # Conditional copy: the source's ETag must match.
    expect_error(
        lambda: s3.copy_object(Bucket=bucket, Key="cp/dst3", CopySource={"Bucket": bucket, "Key": "cp/src"}, CopySourceIfMatch='"0000"'),
        "PreconditionFailed", 412,
    )
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="cp/dst3"), None, 404)
    # Overwriting the source by a copy of another object replaces its bytes.
    s3.put_object(Bucket=bucket, Key="cp/other", Body=b"other")
    s3.copy_object(Bucket=bucket, Key="cp/src", CopySource={"Bucket": bucket, "Key": "cp/other"})
    assert s3.get_object(Bucket=bucket, Key="cp/src")["Body"].read() == b"other"
    assert s3.get_object(Bucket=bucket, Key="cp/dst")["Body"].read() == data


def test_delete_objects_quiet_and_verbose(s3, bucket):
    keys = [f"del/{i:02d}" for i in range(20)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[:10]] + [{"Key": "del/missing"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == sorted(keys[:10] + ["del/missing"]), r
    assert not r.get("Errors"), r
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[10:]], "Quiet": True})
    assert not r.get("Deleted") and not r.get("Errors"), r
    assert s3.list_objects_v2(Bucket=bucket, Prefix="del/")["KeyCount"] == 0


def test_part_number_head_and_get(s3, bucket):
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB + 1), os.urandom(MiB + 2)]
    total = sum(map(len, parts))
    etag = _multipart_object(s3, bucket, "pn/obj", parts)
    assert etag == multipart_etag(parts)
    start = 0
    for n, data in enumerate(parts, 1):
        end = start + len(data) - 1
        h = s3.head_object(Bucket=bucket, Key="pn/obj", PartNumber=n)
        assert h["ResponseMetadata"]["HTTPStatusCode"] == 206, h["ResponseMetadata"]
        assert (h["ContentLength"], h["PartsCount"], h["ETag"]) == (len(data), 3, etag), h
        assert h["ContentRange"] == f"bytes {start}-{end}/{total}", h
        g = s3.get_object(Bucket=bucket, Key="pn/obj", PartNumber=n)
        assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
        assert (g["ContentRange"], g["PartsCount"]) == (f"bytes {start}-{end}/{total}", 3), g
        assert g["Body"].read() == data, f"part {n} bytes differ"
        start = end + 1
    e = expect_error(lambda: s3.head_object(Bucket=bucket, Key="pn/obj", PartNumber=4), None, 416)
    figure("boto3 partNumber", "HEAD partNumber=4 of 3", error_of(e))


def test_conditional_get(s3, bucket):
    data = b"conditional body"
    etag = s3.put_object(Bucket=bucket, Key="cond", Body=data)["ETag"]
    e = expect_error(lambda: s3.get_object(Bucket=bucket, Key="cond", IfNoneMatch=etag), None, 304)
    assert isinstance(e, ClientError)
    expect_error(lambda: s3.get_object(Bucket=bucket, Key="cond", IfMatch='"00000000000000000000000000000000"'), "PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="cond", IfMatch=etag)["Body"].read() == data
    assert s3.get_object(Bucket=bucket, Key="cond", IfNoneMatch='"other"')["Body"].read() == data
    modified = s3.head_object(Bucket=bucket, Key="cond")["LastModified"]
    later = modified + datetime.timedelta(hours=1)
    earlier = modified - datetime.timedelta(hours=1)
    expect_error(lambda: s3.get_object(Bucket=bucket, Key="cond", IfModifiedSince=later), None, 304)
    expect_error(lambda: s3.get_object(Bucket=bucket, Key="cond", IfUnmodifiedSince=earlier), "PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="cond", IfModifiedSince=earlier)["Body"].read() == data
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="cond", IfNoneMatch=etag), None, 304)
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="cond", IfMatch='"nope"'), None, 412)
