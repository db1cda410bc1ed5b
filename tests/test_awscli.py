"""aws-cli against the cluster: mb, cp up/down, ls, rm, s3api head-object/list-objects-v2, rb
(test plan item 2)."""

from __future__ import annotations

import json

from s3util import MiB, file_sha256, write_random_file

BUCKET = "awscli-bucket"


def _ls_names(out: str) -> list[str]:
    """The last column of `aws s3 ls` lines (object key, 'PRE dir/' name, or bucket name)."""
    names = []
    for line in out.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("PRE "):
            names.append(line[4:].strip())
        else:
            names.append(line.split()[-1])
    return names


def test_awscli_workflow(shared_cluster, tmp_path):
    c = shared_cluster
    c.aws("s3", "mb", f"s3://{BUCKET}")
    assert BUCKET in _ls_names(c.aws("s3", "ls").stdout), "new bucket missing from `aws s3 ls`"

    small = tmp_path / "small.txt"
    small.write_bytes(b"hello trireme\n" * 10)
    big = tmp_path / "big.bin"
    big_sha = write_random_file(big, 5 * MiB + 123)

    uploads = {
        "small.txt": small,
        "dir/big.bin": big,
        "dir/sub/a.txt": small,
        "dir/sub/b.txt": small,
        "other/c.txt": small,
    }
    for key, path in uploads.items():
        c.aws("s3", "cp", str(path), f"s3://{BUCKET}/{key}")

    # Download and compare byte for byte.
    down_small = tmp_path / "down-small.txt"
    c.aws("s3", "cp", f"s3://{BUCKET}/small.txt", str(down_small))
    assert down_small.read_bytes() == small.read_bytes()
    down_big = tmp_path / "down-big.bin"
    c.aws("s3", "cp", f"s3://{BUCKET}/dir/big.bin", str(down_big))
    assert down_big.stat().st_size == 5 * MiB + 123
    assert file_sha256(down_big) == big_sha

    # ls: top level, a prefix, recursive.
    top = _ls_names(c.aws("s3", "ls", f"s3://{BUCKET}/").stdout)
    assert sorted(top) == ["dir/", "other/", "small.txt"], top
    under = _ls_names(c.aws("s3", "ls", f"s3://{BUCKET}/dir/").stdout)
    assert sorted(under) == ["big.bin", "sub/"], under
    rec = _ls_names(c.aws("s3", "ls", "--recursive", f"s3://{BUCKET}").stdout)
    assert sorted(rec) == sorted(uploads), rec

    # s3api head-object.
    head = c.aws("s3api", "head-object", "--bucket", BUCKET, "--key", "dir/big.bin").json()
    assert head["ContentLength"] == 5 * MiB + 123
    assert head["ETag"].startswith('"') and head["ETag"].endswith('"')

    # s3api list-objects-v2 with prefix and delimiter.
    lst = c.aws(
        "s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", "dir/", "--delimiter", "/"
    ).json()
    assert [o["Key"] for o in lst.get("Contents", [])] == ["dir/big.bin"], lst
    assert [p["Prefix"] for p in lst.get("CommonPrefixes", [])] == ["dir/sub/"], lst
    assert lst["Contents"][0]["Size"] == 5 * MiB + 123

    # rm one object, then the rest, then rb.
    c.aws("s3", "rm", f"s3://{BUCKET}/small.txt")
    rec = _ls_names(c.aws("s3", "ls", "--recursive", f"s3://{BUCKET}").stdout)
    assert "small.txt" not in rec and len(rec) == len(uploads) - 1, rec
    missing = c.aws("s3api", "head-object", "--bucket", BUCKET, "--key", "small.txt", check=False)
    assert missing.returncode != 0 and "404" in missing.stderr, missing.stderr

    rb_full = c.aws("s3", "rb", f"s3://{BUCKET}", check=False)
    assert rb_full.returncode != 0 and "BucketNotEmpty" in rb_full.stderr, rb_full.stderr

    c.aws("s3", "rm", "--recursive", f"s3://{BUCKET}/")
    empty = c.aws("s3api", "list-objects-v2", "--bucket", BUCKET).stdout
    assert not (json.loads(empty) if empty.strip() else {}).get("Contents"), empty
    c.aws("s3", "rb", f"s3://{BUCKET}")
    assert BUCKET not in _ls_names(c.aws("s3", "ls").stdout)
    gone = c.aws("s3api", "head-bucket", "--bucket", BUCKET, check=False)
    assert gone.returncode != 0 and "404" in gone.stderr, gone.stderr
