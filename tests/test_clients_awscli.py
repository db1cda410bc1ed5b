"""aws-cli (v1, botocore's defaults: CRC32 request checksums) against the shared cluster:
`aws s3 cp` small and multipart both ways and bucket to bucket, `aws s3 sync` up/changed/
--delete/down, `aws s3 ls` recursive and by prefix, `aws s3 rm --recursive`, `aws s3 presign`
fetched with urllib (and its expiry), and `aws s3api` multipart, copy-object, conditional put
and checksums. aws-cli runs with a config of the test's own (`clientutil.AwsCli`), which with
an old botocore adds a plugin working around boto/botocore#3755 on empty uploads."""

from __future__ import annotations

import json
import os
import time

from checks import figure
from clientutil import (
    MiB,
    AwsCli,
    crc32_b64,
    http,
    md5_hex,
    multipart_etag,
    multipart_etag_of_file,
    run_raw,
    sha256_b64,
    tree,
    tree_sizes,
    unique_bucket,
    write_file,
)
from procs import wait_until
from s3util import file_sha256, write_random_file

AWSCLI_PART = 8 * MiB  # aws-cli's multipart_threshold and multipart_chunksize


def _ls(out: str) -> list[tuple[str, int | None]]:
    """`aws s3 ls` lines as (name, size); `PRE x/` lines as ("x/", None)."""
    rows = []
    for line in out.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("PRE "):
            rows.append((line[4:].strip(), None))
        else:
            date, clock, size, name = line.split(maxsplit=3)
            rows.append((name, int(size)))
    return rows


def _keys(aws: AwsCli, bucket: str, prefix: str = "") -> dict[str, int]:
    """key -> size of every object under `prefix` (list-objects-v2, all pages)."""
    out = aws("s3api", "list-objects-v2", "--bucket", bucket, "--prefix", prefix).stdout
    doc = json.loads(out) if out.strip() else {}
    return {o["Key"]: o["Size"] for o in doc.get("Contents", [])}


def test_cp_small_and_multipart_both_ways(shared_cluster, tmp_path):
    c = shared_cluster
    aws = AwsCli(c, tmp_path)
    bucket = unique_bucket("awscli-cp")
    aws("s3", "mb", f"s3://{bucket}")
    small = tmp_path / "small.bin"
    small_sha = write_random_file(small, 1234)
    big = tmp_path / "big.bin"
    big_size = 20 * MiB + 17
    big_sha = write_random_file(big, big_size)

    t0 = time.monotonic()
    aws("s3", "cp", str(small), f"s3://{bucket}/small.bin")
    aws("s3", "cp", str(big), f"s3://{bucket}/dir/big.bin")
    up_s = time.monotonic() - t0

    head = aws("s3api", "head-object", "--bucket", bucket, "--key", "dir/big.bin").json()
    assert head["ContentLength"] == big_size
    # 20 MiB + 17 B over 8 MiB parts: 3 parts, so a multipart ETag.
    assert head["ETag"] == multipart_etag_of_file(big, AWSCLI_PART), head
    head_small = aws("s3api", "head-object", "--bucket", bucket, "--key", "small.bin").json()
    assert head_small["ETag"] == f'"{md5_hex(small.read_bytes())}"', head_small

    t0 = time.monotonic()
    aws("s3", "cp", f"s3://{bucket}/small.bin", str(tmp_path / "small.down"))
    aws("s3", "cp", f"s3://{bucket}/dir/big.bin", str(tmp_path / "big.down"))
    down_s = time.monotonic() - t0
    assert file_sha256(tmp_path / "small.down") == small_sha
    assert (tmp_path / "big.down").stat().st_size == big_size
    assert file_sha256(tmp_path / "big.down") == big_sha

    # Bucket to bucket: CopyObject for the small one, UploadPartCopy for the multipart-sized one.
    aws("s3", "cp", f"s3://{bucket}/small.bin", f"s3://{bucket}/copies/small.bin")
    aws("s3", "cp", f"s3://{bucket}/dir/big.bin", f"s3://{bucket}/copies/big.bin")
    aws("s3", "cp", f"s3://{bucket}/copies/small.bin", str(tmp_path / "small.copy"))
    aws("s3", "cp", f"s3://{bucket}/copies/big.bin", str(tmp_path / "big.copy"))
    assert file_sha256(tmp_path / "small.copy") == small_sha
    assert file_sha256(tmp_path / "big.copy") == big_sha
    big_copy = aws("s3api", "head-object", "--bucket", bucket, "--key", "copies/big.bin").json()
    assert big_copy["ContentLength"] == big_size
    # Copied part by part (UploadPartCopy, 8 MiB each): the same parts, so the same ETag.
    assert big_copy["ETag"] == multipart_etag_of_file(big, AWSCLI_PART), big_copy

    # Standard input / output streams.
    piped = os.urandom(3 * MiB + 5)
    env = aws.env()
    code, _, err = run_raw(["aws", "--endpoint-url", c.endpoint, "s3", "cp", "-", f"s3://{bucket}/piped.bin"], env=env, input=piped)
    assert code == 0, err.decode()
    code, out, err = run_raw(["aws", "--endpoint-url", c.endpoint, "s3", "cp", f"s3://{bucket}/piped.bin", "-"], env=env)
    assert code == 0, err.decode()
    assert out == piped

    figure("awscli cp", "20 MiB + 1234 B up (MiB/s)", f"{(big_size + 1234) / MiB / up_s:.1f}")
    figure("awscli cp", "20 MiB + 1234 B down (MiB/s)", f"{(big_size + 1234) / MiB / down_s:.1f}")
    aws("s3", "rm", "--recursive", f"s3://{bucket}/")
    aws("s3", "rb", f"s3://{bucket}")


def test_sync_up_change_delete_down(shared_cluster, tmp_path):
    c = shared_cluster
    aws = AwsCli(c, tmp_path)
    bucket = unique_bucket("awscli-sync")
    aws("s3", "mb", f"s3://{bucket}")
    src = tmp_path / "src"
    files = {
        "a.txt": b"alpha\n",
        "empty": b"",
        "docs/readme.md": b"# readme\n" * 100,
        "docs/deep/er/x.bin": os.urandom(70_000),
        "docs/deep/er/y.bin": os.urandom(1),
        "img/pic.bin": os.urandom(2 * MiB + 3),
        "img/large.bin": os.urandom(9 * MiB + 1),  # above aws-cli's 8 MiB threshold: multipart
        "name with spaces.txt": b"spaces",
        "unicode-\u00e9\u00e8.txt": b"accents",
    }
    for rel, data in files.items():
        write_file(src / rel, data)

    r = aws("s3", "sync", "--no-progress", str(src), f"s3://{bucket}/mirror")
    assert r.stdout.count("upload: ") == len(files), r.stdout
    assert _keys(aws, bucket) == {f"mirror/{k}": len(v) for k, v in files.items()}

    # Nothing changed: a second sync uploads nothing.
    again = aws("s3", "sync", "--no-progress", str(src), f"s3://{bucket}/mirror")
    assert "upload:" not in again.stdout, again.stdout

    # Change one file (new size), rewrite one with the same size (newer mtime), add one, delete one.
    (src / "a.txt").write_bytes(b"alpha, changed\n")
    (src / "docs/deep/er/y.bin").write_bytes(b"Z")
    future = time.time() + 120
    os.utime(src / "docs/deep/er/y.bin", (future, future))
    write_file(src / "new/added.bin", os.urandom(123_456))
    (src / "img/pic.bin").unlink()
    r = aws("s3", "sync", "--no-progress", "--delete", str(src), f"s3://{bucket}/mirror")
    uploaded = sorted(line.rsplit(" to ", 1)[1] for line in r.stdout.splitlines() if line.startswith("upload: "))
    deleted = sorted(line.split(" ", 1)[1].strip() for line in r.stdout.splitlines() if line.startswith("delete: "))
    assert uploaded == [f"s3://{bucket}/mirror/{p}" for p in ("a.txt", "docs/deep/er/y.bin", "new/added.bin")], r.stdout
    assert deleted == [f"s3://{bucket}/mirror/img/pic.bin"], r.stdout
    assert _keys(aws, bucket) == {f"mirror/{k}": v for k, v in tree_sizes(src).items()}

    # Down into an empty directory: the same tree, byte for byte.
    dst = tmp_path / "dst"
    dst.mkdir()
    r = aws("s3", "sync", "--no-progress", f"s3://{bucket}/mirror", str(dst))
    assert r.stdout.count("download: ") == len(tree(src)), r.stdout
    assert tree(dst) == tree(src)
    assert "download:" not in aws("s3", "sync", "--no-progress", f"s3://{bucket}/mirror", str(dst)).stdout
    figure("awscli sync", "files in the synced tree", len(tree(src)))

    aws("s3", "rm", "--recursive", f"s3://{bucket}/")
    aws("s3", "rb", f"s3://{bucket}")


def test_ls_recursive_and_prefixes(shared_cluster, tmp_path):
    c = shared_cluster
    aws = AwsCli(c, tmp_path)
    bucket = unique_bucket("awscli-ls")
    aws("s3", "mb", f"s3://{bucket}")
    body = tmp_path / "body"
    body.write_bytes(b"0123456789")
    keys = ["a/b/c.txt", "a/b/d.txt", "a/bb.txt", "a/x.txt", "ab.txt", "top.txt", "z/1", "z/2/3"]
    for k in keys:
        aws("s3", "cp", str(body), f"s3://{bucket}/{k}")

    assert _ls(aws("s3", "ls", f"s3://{bucket}").stdout) == [("a/", None), ("z/", None), ("ab.txt", 10), ("top.txt", 10)]
    assert _ls(aws("s3", "ls", f"s3://{bucket}/a/").stdout) == [("b/", None), ("bb.txt", 10), ("x.txt", 10)]
    # A prefix that is not a "directory": every entry starting with it.
    assert _ls(aws("s3", "ls", f"s3://{bucket}/a/b").stdout) == [("b/", None), ("bb.txt", 10)]
    assert _ls(aws("s3", "ls", f"s3://{bucket}/a").stdout) == [("a/", None), ("ab.txt", 10)]
    rec = _ls(aws("s3", "ls", "--recursive", f"s3://{bucket}").stdout)
    assert rec == [(k, 10) for k in sorted(keys)], rec
    rec_a = _ls(aws("s3", "ls", "--recursive", f"s3://{bucket}/a/").stdout)
    assert rec_a == [(k, 10) for k in sorted(keys) if k.startswith("a/")], rec_a
    summary = aws("s3", "ls", "--recursive", "--summarize", f"s3://{bucket}/z/").stdout
    assert "Total Objects: 2" in summary and "Total Size: 20" in summary, summary
    # Paging through aws-cli's own loop: 1 key per request.
    paged = aws("s3api", "list-objects-v2", "--bucket", bucket, "--page-size", "1").json()
    assert [o["Key"] for o in paged["Contents"]] == sorted(keys)

    aws("s3", "rm", "--recursive", f"s3://{bucket}/")
    aws("s3", "rb", f"s3://{bucket}")


def test_rm_recursive(shared_cluster, tmp_path):
    c = shared_cluster
    aws = AwsCli(c, tmp_path)
    bucket = unique_bucket("awscli-rm")
    aws("s3", "mb", f"s3://{bucket}")
    src = tmp_path / "src"
    for i in range(12):
        write_file(src / f"del/{i % 3}/f{i}.txt", f"file {i}".encode())
    for i in range(4):
        write_file(src / f"keep/f{i}.txt", f"keep {i}".encode())
    write_file(src / "del-not-a-dir.txt", b"sibling of the prefix")
    aws("s3", "sync", "--no-progress", str(src), f"s3://{bucket}")
    assert len(_keys(aws, bucket)) == 17

    r = aws("s3", "rm", "--recursive", f"s3://{bucket}/del/")
    assert r.stdout.count("delete: ") == 12, r.stdout
    assert sorted(_keys(aws, bucket)) == ["del-not-a-dir.txt"] + [f"keep/f{i}.txt" for i in range(4)]
    r = aws("s3", "rm", "--recursive", f"s3://{bucket}/")
    assert r.stdout.count("delete: ") == 5, r.stdout
    assert _keys(aws, bucket) == {}
    aws("s3", "rb", f"s3://{bucket}")


def test_presign_get_with_urllib(shared_cluster, tmp_path):
    c = shared_cluster
    aws = AwsCli(c, tmp_path)
    bucket = unique_bucket("awscli-presign")
    aws("s3", "mb", f"s3://{bucket}")
    data = os.urandom(3 * MiB + 11)
    f = tmp_path / "obj"
    f.write_bytes(data)
    aws("s3", "cp", str(f), f"s3://{bucket}/some dir/obj+1.bin")

    aws4 = AwsCli(c, tmp_path, s3v4=True)
    url = aws4("s3", "presign", f"s3://{bucket}/some dir/obj+1.bin", "--expires-in", "300").stdout.strip()
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url and "X-Amz-Expires=300" in url, url
    status, body, headers = http("GET", url)
    assert status == 200, body[:500]
    assert body == data
    assert headers["content-length"] == str(len(data))

    # A tampered signature is refused.
    bad = url[:-1] + ("0" if url[-1] != "0" else "1")
    status, body, _ = http("GET", bad)
    assert status == 403 and b"SignatureDoesNotMatch" in body, (status, body[:500])

    # Expiry: a 1-second URL is refused once it has expired (polled, no sleep) ...
    short = aws4("s3", "presign", f"s3://{bucket}/some dir/obj+1.bin", "--expires-in", "1").stdout.strip()

    def expired() -> bytes | None:
        status, body, _ = http("GET", short)
        if status == 200:
            return None
        assert status == 403, (status, body[:500])
        return body

    body = wait_until(expired, 30, "a presigned URL with X-Amz-Expires=1 to expire", 0.2)
    assert b"<Code>AccessDenied</Code>" in body and b"expired" in body, body[:500]
    # ... and one valid for more than a week (S3's limit) is refused outright.
    week_plus = aws4("s3", "presign", f"s3://{bucket}/some dir/obj+1.bin", "--expires-in", "604801").stdout.strip()
    status, body, _ = http("GET", week_plus)
    assert status == 400 and b"AuthorizationQueryParametersError" in body, (status, body[:500])

    # aws-cli v1's default presigns with SigV2 query parameters; the gateway speaks SigV4 only
    # and must say so plainly rather than serve or crash.
    url2 = aws("s3", "presign", f"s3://{bucket}/some dir/obj+1.bin").stdout.strip()
    if "X-Amz-Algorithm" not in url2:
        status, body, _ = http("GET", url2)
        assert status == 400 and b"AWS4-HMAC-SHA256" in body, (status, body[:500])

    aws("s3", "rm", "--recursive", f"s3://{bucket}/")
    aws("s3", "rb", f"s3://{bucket}")


def test_s3api_multipart_lifecycle(shared_cluster, tmp_path):
    c = shared_cluster
    aws = AwsCli(c, tmp_path)
    bucket = unique_bucket("awscli-mpu")
    key = "multi/part.bin"
    aws("s3", "mb", f"s3://{bucket}")
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(1024 + 7)]
    paths = []
    for i, p in enumerate(parts, 1):
        path = tmp_path / f"part{i}"
        path.write_bytes(p)
        paths.append(path)

    up = aws("s3api", "create-multipart-upload", "--bucket", bucket, "--key", key, "--content-type", "application/x-test").json()
    upload_id = up["UploadId"]
    assert up["Bucket"] == bucket and up["Key"] == key and upload_id

    # A second upload of the same key, to abort.
    other = aws("s3api", "create-multipart-upload", "--bucket", bucket, "--key", key).json()["UploadId"]
    assert other != upload_id

    etags = {}
    for n in (3, 1, 2):  # any order
        r = aws(
            "s3api", "upload-part", "--bucket", bucket, "--key", key, "--upload-id", upload_id,
            "--part-number", str(n), "--body", str(paths[n - 1]),
        ).json()
        assert r["ETag"] == f'"{md5_hex(parts[n - 1])}"', r
        etags[n] = r["ETag"]
    aws(
        "s3api", "upload-part", "--bucket", bucket, "--key", key, "--upload-id", other,
        "--part-number", "1", "--body", str(paths[2]),
    )

    lp = aws("s3api", "list-parts", "--bucket", bucket, "--key", key, "--upload-id", upload_id).json()
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in lp["Parts"]] == [
        (n, len(parts[n - 1]), etags[n]) for n in (1, 2, 3)
    ], lp
    lmu = aws("s3api", "list-multipart-uploads", "--bucket", bucket).json()
    assert sorted((u["Key"], u["UploadId"]) for u in lmu["Uploads"]) == sorted([(key, upload_id), (key, other)]), lmu

    # Abort the other one: gone from the listing, its parts unreachable.
    aws("s3api", "abort-multipart-upload", "--bucket", bucket, "--key", key, "--upload-id", other)
    gone = aws("s3api", "list-parts", "--bucket", bucket, "--key", key, "--upload-id", other, check=False)
    assert gone.returncode != 0 and "NoSuchUpload" in gone.stderr, gone.stderr
    lmu = aws("s3api", "list-multipart-uploads", "--bucket", bucket).json()
    assert [(u["Key"], u["UploadId"]) for u in lmu.get("Uploads", [])] == [(key, upload_id)], lmu

    spec = tmp_path / "parts.json"
    spec.write_text(json.dumps({"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3)]}))
    done = aws(
        "s3api", "complete-multipart-upload", "--bucket", bucket, "--key", key, "--upload-id", upload_id,
        "--multipart-upload", f"file://{spec}",
    ).json()
    assert done["ETag"] == multipart_etag(parts), done
    assert done["Key"] == key and done["Bucket"] == bucket

    lmu = aws("s3api", "list-multipart-uploads", "--bucket", bucket).json()
    assert not lmu.get("Uploads"), lmu
    out = tmp_path / "out"
    head = aws("s3api", "get-object", "--bucket", bucket, "--key", key, str(out)).json()
    assert head["ContentLength"] == sum(map(len, parts)) and head["ContentType"] == "application/x-test", head
    assert out.read_bytes() == b"".join(parts)

    aws("s3", "rm", "--recursive", f"s3://{bucket}/")
    aws("s3", "rb", f"s3://{bucket}")


def test_s3api_copy_object_metadata_directive(shared_cluster, tmp_path):
    c = shared_cluster
    aws = AwsCli(c, tmp_path)
    bucket = unique_bucket("awscli-copy")
    aws("s3", "mb", f"s3://{bucket}")
    data = os.urandom(2 * MiB + 99)
    src = tmp_path / "src"
    src.write_bytes(data)
    put = aws(
        "s3api", "put-object", "--bucket", bucket, "--key", "src.bin", "--body", str(src),
        "--content-type", "text/x-source", "--metadata", "colour=blue,size=large",
    ).json()

    copied = aws(
        "s3api", "copy-object", "--bucket", bucket, "--key", "copy-same.bin", "--copy-source", f"{bucket}/src.bin",
    ).json()
    assert copied["CopyObjectResult"]["ETag"] == put["ETag"], copied
    h = aws("s3api", "head-object", "--bucket", bucket, "--key", "copy-same.bin").json()
    assert h["ContentType"] == "text/x-source" and h["Metadata"] == {"colour": "blue", "size": "large"}, h
    assert h["ContentLength"] == len(data) and h["ETag"] == put["ETag"]

    replaced = aws(
        "s3api", "copy-object", "--bucket", bucket, "--key", "copy-new.bin", "--copy-source", f"{bucket}/src.bin",
        "--metadata-directive", "REPLACE", "--content-type", "application/x-replaced", "--metadata", "shape=round",
    ).json()
    assert replaced["CopyObjectResult"]["ETag"] == put["ETag"], replaced
    h = aws("s3api", "head-object", "--bucket", bucket, "--key", "copy-new.bin").json()
    assert h["ContentType"] == "application/x-replaced" and h["Metadata"] == {"shape": "round"}, h

    # Copying an object onto itself is only allowed when something changes (REPLACE).
    same = aws("s3api", "copy-object", "--bucket", bucket, "--key", "src.bin", "--copy-source", f"{bucket}/src.bin", check=False)
    assert same.returncode != 0 and "InvalidRequest" in same.stderr, same.stderr
    aws(
        "s3api", "copy-object", "--bucket", bucket, "--key", "src.bin", "--copy-source", f"{bucket}/src.bin",
        "--metadata-directive", "REPLACE", "--metadata", "colour=red",
    )
    h = aws("s3api", "head-object", "--bucket", bucket, "--key", "src.bin").json()
    assert h["Metadata"] == {"colour": "red"}, h

    for k in ("src.bin", "copy-same.bin", "copy-new.bin"):
        out = tmp_path / f"out-{k}"
        aws("s3api", "get-object", "--bucket", bucket, "--key", k, str(out))
        assert out.read_bytes() == data, k
    missing = aws("s3api", "copy-object", "--bucket", bucket, "--key", "x", "--copy-source", f"{bucket}/nope", check=False)
    assert missing.returncode != 0 and "NoSuchKey" in missing.stderr, missing.stderr

    aws("s3", "rm", "--recursive", f"s3://{bucket}/")
    aws("s3", "rb", f"s3://{bucket}")


def test_s3api_put_if_none_match(shared_cluster, tmp_path):
    c = shared_cluster
    aws = AwsCli(c, tmp_path)
    bucket = unique_bucket("awscli-cond")
    aws("s3", "mb", f"s3://{bucket}")
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"first writer wins")
    second.write_bytes(b"second writer must lose")

    r = aws("s3api", "put-object", "--bucket", bucket, "--key", "once", "--body", str(first), "--if-none-match", "*").json()
    assert r["ETag"] == f'"{md5_hex(first.read_bytes())}"'
    r2 = aws("s3api", "put-object", "--bucket", bucket, "--key", "once", "--body", str(second), "--if-none-match", "*", check=False)
    assert r2.returncode != 0, r2.stdout
    assert "(PreconditionFailed)" in r2.stderr, r2.stderr
    out = tmp_path / "out"
    aws("s3api", "get-object", "--bucket", bucket, "--key", "once", str(out))
    assert out.read_bytes() == first.read_bytes()
    figure("awscli conditional put", "second put-object --if-none-match * error", r2.stderr.strip().splitlines()[-1])

    aws("s3", "rm", "--recursive", f"s3://{bucket}/")
    aws("s3", "rb", f"s3://{bucket}")


def test_s3api_checksums(shared_cluster, tmp_path):
    c = shared_cluster
    aws = AwsCli(c, tmp_path)
    bucket = unique_bucket("awscli-sum")
    aws("s3", "mb", f"s3://{bucket}")
    data = os.urandom(MiB + 5)
    f = tmp_path / "f"
    f.write_bytes(data)
    expected = {"CRC32": ("ChecksumCRC32", crc32_b64(data)), "SHA256": ("ChecksumSHA256", sha256_b64(data))}
    for algo, (field, value) in expected.items():
        key = f"sum-{algo.lower()}"
        put = aws("s3api", "put-object", "--bucket", bucket, "--key", key, "--body", str(f), "--checksum-algorithm", algo).json()
        assert put.get(field) == value, put
        head = aws("s3api", "head-object", "--bucket", bucket, "--key", key, "--checksum-mode", "ENABLED").json()
        assert head.get(field) == value, head
        out = tmp_path / f"out-{algo}"
        got = aws("s3api", "get-object", "--bucket", bucket, "--key", key, "--checksum-mode", "ENABLED", str(out)).json()
        assert got.get(field) == value, got
        assert out.read_bytes() == data
        figure("awscli checksums", f"{field} of {len(data)} B", value)

    aws("s3", "rm", "--recursive", f"s3://{bucket}/")
    aws("s3", "rb", f"s3://{bucket}")
