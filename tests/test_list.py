"""ListObjectsV2, ListBuckets, HeadBucket and DeleteBucket semantics through boto3 (test plan item 3)."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from checks import figure
from s3util import expect_error

BUCKET = "listing"
N_MANY = 2500


def _list_all(s3, **kw) -> tuple[list[str], list[str], int]:
    """(keys, common prefixes, pages) over a paginator, asserting page-level invariants."""
    keys, prefixes, pages = [], [], 0
    page_size = kw.pop("PageSize", None)
    cfg = {"PageSize": page_size} if page_size else {}
    resp_pages = list(s3.get_paginator("list_objects_v2").paginate(PaginationConfig=cfg, **kw))
    for i, page in enumerate(resp_pages):
        pages += 1
        got = [o["Key"] for o in page.get("Contents", [])]
        cps = [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if page_size:
            assert len(got) + len(cps) <= page_size, f"page {i} has {len(got) + len(cps)} entries > MaxKeys {page_size}"
        assert page["KeyCount"] == len(got) + len(cps), f"page {i}: KeyCount {page['KeyCount']}"
        last = i == len(resp_pages) - 1
        assert page["IsTruncated"] == (not last), f"page {i}: IsTruncated {page['IsTruncated']}"
        if not last:
            assert page.get("NextContinuationToken"), f"page {i} truncated without NextContinuationToken"
        keys += got
        prefixes += cps
    return keys, prefixes, pages


@pytest.fixture(scope="module")
def listing(s3):
    """A bucket with 2500 'many/NNNNN' keys plus a small tree for delimiter tests."""
    s3.create_bucket(Bucket=BUCKET)
    many = [f"many/{i:05d}" for i in range(N_MANY)]
    tree = ["dir/a/1", "dir/a/2", "dir/b/1", "dir/c", "dir/d/x/y", "dirx", "top", "z/last"]
    t0 = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=BUCKET, Key=k, Body=b""), many + tree))
    dt_put = time.monotonic() - t0
    figure("list", f"PUT {len(many) + len(tree)} empty objects (8 threads)", f"{dt_put:.1f}s = {(len(many) + len(tree)) / dt_put:.0f}/s")
    return sorted(many + tree)


def test_paginate_2500_keys(s3, listing):
    t0 = time.monotonic()
    keys, prefixes, pages = _list_all(s3, Bucket=BUCKET, Prefix="many/", PageSize=100)
    figure("list", f"list {len(keys)} keys in {pages} pages", f"{time.monotonic() - t0:.2f}s")
    assert prefixes == []
    assert pages == N_MANY // 100
    assert len(keys) == len(set(keys)), "a key was listed twice"
    assert keys == [k for k in listing if k.startswith("many/")], "keys missing, extra or out of order"

    # Uneven page size across the whole bucket.
    keys, _, pages = _list_all(s3, Bucket=BUCKET, PageSize=333)
    assert keys == listing
    assert pages == -(-len(listing) // 333)

    # Default MaxKeys is 1000.
    first = s3.list_objects_v2(Bucket=BUCKET)
    assert first["KeyCount"] == 1000 and first["IsTruncated"] is True
    assert [o["Key"] for o in first["Contents"]] == listing[:1000]


def test_prefix_and_delimiter(s3, listing):
    r = s3.list_objects_v2(Bucket=BUCKET, Prefix="dir/", Delimiter="/")
    assert [o["Key"] for o in r.get("Contents", [])] == ["dir/c"]
    assert [p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["dir/a/", "dir/b/", "dir/d/"]
    assert r["IsTruncated"] is False

    r = s3.list_objects_v2(Bucket=BUCKET, Delimiter="/")
    assert [o["Key"] for o in r.get("Contents", [])] == ["dirx", "top"]
    assert [p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["dir/", "many/", "z/"]

    r = s3.list_objects_v2(Bucket=BUCKET, Prefix="dir")
    assert [o["Key"] for o in r.get("Contents", [])] == ["dir/a/1", "dir/a/2", "dir/b/1", "dir/c", "dir/d/x/y", "dirx"]

    r = s3.list_objects_v2(Bucket=BUCKET, Prefix="nothing/")
    assert r["KeyCount"] == 0 and not r.get("Contents") and r["IsTruncated"] is False

    # Paging one entry at a time through common prefixes: each exactly once.
    keys, prefixes, pages = _list_all(s3, Bucket=BUCKET, Prefix="dir/", Delimiter="/", PageSize=1)
    assert (keys, prefixes) == (["dir/c"], ["dir/a/", "dir/b/", "dir/d/"])
    assert pages == 4
    keys, prefixes, _ = _list_all(s3, Bucket=BUCKET, Delimiter="/", PageSize=2)
    assert keys == ["dirx", "top"] and prefixes == ["dir/", "many/", "z/"]


def test_start_after(s3, listing):
    r = s3.list_objects_v2(Bucket=BUCKET, Prefix="many/", StartAfter="many/01233", MaxKeys=5)
    assert [o["Key"] for o in r["Contents"]] == [f"many/{i:05d}" for i in range(1234, 1239)]
    assert r["IsTruncated"] is True
    keys, _, _ = _list_all(s3, Bucket=BUCKET, StartAfter="many/02490", PageSize=4)
    assert keys == [k for k in listing if k > "many/02490"]
    r = s3.list_objects_v2(Bucket=BUCKET, StartAfter="zzz")
    assert r["KeyCount"] == 0 and r["IsTruncated"] is False


def test_list_buckets_and_head_bucket(s3, listing, shared_cluster):
    r = s3.list_buckets()
    mine = [b for b in r["Buckets"] if b["Name"] == BUCKET]
    assert len(mine) == 1, r["Buckets"]
    created = mine[0]["CreationDate"]
    now = dt.datetime.now(dt.timezone.utc)
    assert now - dt.timedelta(hours=1) < created < now + dt.timedelta(minutes=5), created
    owner = r.get("Owner") or {}
    assert owner.get("ID") or owner.get("DisplayName"), f"ListBuckets has no Owner: {r}"
    names = [b["Name"] for b in r["Buckets"]]
    assert names == sorted(names), f"buckets not in name order: {names}"

    assert s3.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPStatusCode"] == 200
    expect_error(lambda: s3.head_bucket(Bucket="no-such-bucket-here"), None, 404)


def test_delete_bucket(s3):
    b = "to-delete"
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    expect_error(lambda: s3.delete_bucket(Bucket=b), "BucketNotEmpty", 409)
    assert s3.head_bucket(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.delete_object(Bucket=b, Key="k")
    r = s3.delete_bucket(Bucket=b)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(lambda: s3.head_bucket(Bucket=b), None, 404)
    assert b not in [x["Name"] for x in s3.list_buckets()["Buckets"]]
    expect_error(lambda: s3.delete_bucket(Bucket=b), "NoSuchBucket", 404)
