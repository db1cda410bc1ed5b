"""S3 error responses: codes and HTTP statuses exactly as AWS gives them (test plan item 9)."""

from __future__ import annotations

import os

import pytest

from s3util import expect_error, sha256, signed_put_with_wrong_sha

BUCKET = "errors"


@pytest.fixture(scope="module")
def bucket(s3):
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="ten", Body=b"0123456789")
    return BUCKET


def test_wrong_secret_key(shared_cluster, bucket):
    bad = shared_cluster.s3(secret_key=shared_cluster.secret_key + "x", max_attempts=1)
    expect_error(lambda: bad.list_objects_v2(Bucket=bucket), "SignatureDoesNotMatch", 403)
    expect_error(lambda: bad.put_object(Bucket=bucket, Key="sneaky", Body=b"x"), "SignatureDoesNotMatch", 403)
    expect_error(lambda: bad.get_object(Bucket=bucket, Key="ten"), "SignatureDoesNotMatch", 403)
    expect_error(lambda: shared_cluster.s3().head_object(Bucket=bucket, Key="sneaky"), None, 404)


def test_unknown_access_key(shared_cluster, bucket):
    bad = shared_cluster.s3(access_key="AKIDOESNOTEXIST00000", max_attempts=1)
    expect_error(lambda: bad.list_buckets(), "InvalidAccessKeyId", 403)
    expect_error(lambda: bad.get_object(Bucket=bucket, Key="ten"), "InvalidAccessKeyId", 403)


def test_no_such_bucket(s3):
    expect_error(lambda: s3.get_object(Bucket="no-such-bucket", Key="k"), "NoSuchBucket", 404)
    expect_error(lambda: s3.list_objects_v2(Bucket="no-such-bucket"), "NoSuchBucket", 404)
    expect_error(lambda: s3.put_object(Bucket="no-such-bucket", Key="k", Body=b"x"), "NoSuchBucket", 404)


def test_no_such_key(s3, bucket):
    expect_error(lambda: s3.get_object(Bucket=bucket, Key="missing"), "NoSuchKey", 404)
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="missing"), None, 404)


def test_invalid_range(s3, bucket):
    expect_error(lambda: s3.get_object(Bucket=bucket, Key="ten", Range="bytes=1000-2000"), "InvalidRange", 416)
    expect_error(lambda: s3.get_object(Bucket=bucket, Key="ten", Range="bytes=10-"), "InvalidRange", 416)


def test_content_sha256_mismatch(shared_cluster, s3, bucket):
    c = shared_cluster
    signed, sent = b"A" * 4096, b"B" * 4096
    status, body = signed_put_with_wrong_sha(
        c.endpoint, c.region, c.access_key, c.secret_key, bucket, "mismatch", signed, sent
    )
    assert status == 400, f"expected 400, got {status}: {body}"
    assert "<Code>XAmzContentSHA256Mismatch</Code>" in body, body
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="mismatch"), None, 404)
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert "mismatch" not in listed

    # A multi-chunk body (1 MiB chunks on the shared cluster) whose mismatch shows only at its end.
    big_signed = os.urandom(3 * 1024 * 1024 + 5)
    big_sent = big_signed[:-1] + bytes([big_signed[-1] ^ 1])
    status, body = signed_put_with_wrong_sha(
        c.endpoint, c.region, c.access_key, c.secret_key, bucket, "mismatch-big", big_signed, big_sent
    )
    assert status == 400, f"expected 400, got {status}: {body}"
    assert "<Code>XAmzContentSHA256Mismatch</Code>" in body, body
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="mismatch-big"), None, 404)

    # The same hand-built request with the matching body is accepted (the test itself is sound).
    status, body = signed_put_with_wrong_sha(
        c.endpoint, c.region, c.access_key, c.secret_key, bucket, "match", sent, sent
    )
    assert status == 200, f"correctly signed PUT refused: {status}: {body}"
    got = s3.get_object(Bucket=bucket, Key="match")["Body"].read()
    assert sha256(got) == sha256(sent)


@pytest.mark.parametrize("name", ["ab", "Bad_Bucket_Name", "bucket..dots", "-leadingdash", "a" * 64])
def test_invalid_bucket_name(s3, name):
    expect_error(lambda: s3.create_bucket(Bucket=name), "InvalidBucketName", 400)
