"""s3cmd and rclone (Debian packages, installed by scripts/install-deps.sh) against the shared
cluster, each with a config file of the test's own: s3cmd mb/put/get/ls/del/sync (with its
own multipart upload), rclone mkdir/copy/sync/check --download/lsjson/purge with a file above
rclone's multipart cutoff."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from checks import figure
from clientutil import MiB, clean_env, md5_hex, multipart_etag_of_file, run, tree, tree_sizes, unique_bucket, write_file
from s3util import expect_error


def _need(prog: str) -> str:
    path = shutil.which(prog)
    assert path, f"{prog} is not installed; scripts/install-deps.sh installs it (Debian package {prog})"
    return path


def _tree_files(root: Path) -> None:
    write_file(root / "a.txt", b"alpha\n")
    write_file(root / "empty.txt", b"")
    write_file(root / "sub/b.bin", os.urandom(200_000))
    write_file(root / "sub/deeper/c.bin", os.urandom(1_500_000))
    write_file(root / "sub/deeper/d with space.txt", b"space in the name\n")
    write_file(root / "big/twelve.bin", os.urandom(12 * MiB + 5))  # above both tools' multipart cutoff here


# ---------------------------------------------------------------- s3cmd


class S3cmd:
    def __init__(self, cluster, tmp: Path) -> None:
        self.prog = _need("s3cmd")
        host = urlparse(cluster.endpoint).netloc
        self.config = tmp / "s3cmd.cfg"
        self.config.write_text(
            "\n".join(
                [
                    "[default]",
                    f"access_key = {cluster.access_key}",
                    f"secret_key = {cluster.secret_key}",
                    f"host_base = {host}",
                    f"host_bucket = {host}",  # no %(bucket)s: path-style requests
                    "use_https = False",
                    "signature_v2 = False",
                    f"bucket_location = {cluster.region}",
                    "check_ssl_certificate = False",
                    "enable_multipart = True",
                    "multipart_chunk_size_mb = 5",
                    "progress_meter = False",
                    "",
                ]
            )
        )
        self.env = clean_env()
        self.env["HOME"] = str(tmp)  # nothing from the real ~/.s3cfg

    def __call__(self, *args: str, check: bool = True):
        r = run([self.prog, "-c", str(self.config), *args], env=self.env, timeout=600)
        return r.check() if check else r


def _s3cmd_ls(out: str) -> list[tuple[str, int | None]]:
    """`s3cmd ls` rows: (url, size) for objects, (url, None) for DIR lines."""
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "DIR":
            rows.append((parts[1], None))
        else:
            url_at = line.index("s3://")
            rows.append((line[url_at:], int(parts[2])))
    return rows


def test_s3cmd(shared_cluster, s3, tmp_path):
    c = shared_cluster
    s3cmd = S3cmd(c, tmp_path)
    bucket = unique_bucket("s3cmd")
    s3cmd("mb", f"s3://{bucket}")
    assert any(line.endswith(f"s3://{bucket}") for line in s3cmd("ls").stdout.splitlines())

    src = tmp_path / "src"
    _tree_files(src)
    t0 = time.monotonic()
    s3cmd("put", str(src / "a.txt"), f"s3://{bucket}/one/a.txt")
    s3cmd("put", str(src / "big/twelve.bin"), f"s3://{bucket}/one/twelve.bin")  # 3 parts of 5 MB
    put_s = time.monotonic() - t0
    head = s3.head_object(Bucket=bucket, Key="one/twelve.bin")
    assert head["ContentLength"] == 12 * MiB + 5
    assert head["ETag"] == multipart_etag_of_file(src / "big/twelve.bin", 5 * MiB), head["ETag"]
    assert s3.head_object(Bucket=bucket, Key="one/a.txt")["ETag"] == f'"{md5_hex(b"alpha" + bytes([10]))}"'

    got = tmp_path / "got"
    got.mkdir()
    t0 = time.monotonic()
    s3cmd("get", f"s3://{bucket}/one/twelve.bin", str(got / "twelve.bin"))
    get_s = time.monotonic() - t0
    s3cmd("get", f"s3://{bucket}/one/a.txt", str(got / "a.txt"))
    assert (got / "twelve.bin").read_bytes() == (src / "big/twelve.bin").read_bytes()
    assert (got / "a.txt").read_bytes() == b"alpha\n"

    assert _s3cmd_ls(s3cmd("ls", f"s3://{bucket}").stdout) == [(f"s3://{bucket}/one/", None)]
    assert _s3cmd_ls(s3cmd("ls", f"s3://{bucket}/one/").stdout) == [
        (f"s3://{bucket}/one/a.txt", 6),
        (f"s3://{bucket}/one/twelve.bin", 12 * MiB + 5),
    ]
    s3cmd("del", f"s3://{bucket}/one/a.txt")
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="one/a.txt"), None, 404)

    # sync up, change/add/delete, sync --delete-removed, sync down into an empty directory.
    s3cmd("sync", f"{src}/", f"s3://{bucket}/mirror/")
    listed = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="mirror/").get("Contents", [])}
    assert listed == {f"mirror/{k}": v for k, v in tree_sizes(src).items()}
    (src / "a.txt").write_bytes(b"alpha, changed\n")
    write_file(src / "sub/new.txt", b"new file\n")
    (src / "sub/b.bin").unlink()
    r = s3cmd("sync", "--delete-removed", f"{src}/", f"s3://{bucket}/mirror/")
    assert f"delete: 's3://{bucket}/mirror/sub/b.bin'" in r.stdout, r.stdout
    listed = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="mirror/").get("Contents", [])}
    assert listed == {f"mirror/{k}": v for k, v in tree_sizes(src).items()}
    dst = tmp_path / "dst"
    dst.mkdir()
    s3cmd("sync", f"s3://{bucket}/mirror/", f"{dst}/")
    assert tree(dst) == tree(src)

    s3cmd("del", "--recursive", "--force", f"s3://{bucket}/")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3cmd("rb", f"s3://{bucket}")
    expect_error(lambda: s3.head_bucket(Bucket=bucket), None, 404)
    figure("s3cmd", "12 MiB put (MiB/s)", f"{12 / put_s:.1f}")
    figure("s3cmd", "12 MiB get (MiB/s)", f"{12 / get_s:.1f}")


# ---------------------------------------------------------------- rclone

RCLONE_MULTIPART = ["--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"]


class Rclone:
    def __init__(self, cluster, tmp: Path) -> None:
        self.prog = _need("rclone")
        self.config = tmp / "rclone.conf"
        self.config.write_text(
            "\n".join(
                [
                    "[trireme]",
                    "type = s3",
                    "provider = Other",
                    "env_auth = false",
                    f"access_key_id = {cluster.access_key}",
                    f"secret_access_key = {cluster.secret_key}",
                    f"endpoint = {cluster.endpoint}",
                    f"region = {cluster.region}",
                    "force_path_style = true",
                    "",
                ]
            )
        )
        self.env = clean_env()
        self.env["HOME"] = str(tmp)
        self.env["XDG_CACHE_HOME"] = str(tmp / "cache")

    def __call__(self, *args: str, check: bool = True):
        # --retries 1: a failing operation fails the command rather than being redone whole.
        r = run([self.prog, "--config", str(self.config), "--retries", "1", *args], env=self.env, timeout=600)
        return r.check() if check else r


def test_rclone(shared_cluster, s3, tmp_path):
    c = shared_cluster
    rclone = Rclone(c, tmp_path)
    bucket = unique_bucket("rclone")
    remote = f"trireme:{bucket}/tree"
    rclone("mkdir", f"trireme:{bucket}")
    s3.head_bucket(Bucket=bucket)

    src = tmp_path / "src"
    _tree_files(src)
    t0 = time.monotonic()
    rclone("copy", str(src), remote, *RCLONE_MULTIPART)
    copy_s = time.monotonic() - t0
    head = s3.head_object(Bucket=bucket, Key="tree/big/twelve.bin")
    assert head["ContentLength"] == 12 * MiB + 5
    assert head["ETag"] == multipart_etag_of_file(src / "big/twelve.bin", 5 * MiB), head["ETag"]

    listing = json.loads(rclone("lsjson", "-R", "--files-only", remote).stdout)
    assert {e["Path"]: e["Size"] for e in listing} == tree_sizes(src)

    def check_same() -> str:
        r = rclone("check", "--download", str(src), remote, check=False)
        assert r.returncode == 0 and "0 differences found" in r.stderr, r.stderr
        assert f"{len(tree(src))} matching files" in r.stderr, r.stderr
        return r.stderr

    check_same()
    # The hash check (MD5s from ETags, and rclone's own md5 metadata for multipart objects).
    r = rclone("check", str(src), remote, check=False)
    assert r.returncode == 0 and "0 differences found" in r.stderr, r.stderr

    # Change, add, delete locally; sync; the remote matches again, the deleted file is gone.
    (src / "a.txt").write_bytes(b"alpha, changed by rclone\n")
    write_file(src / "sub/added.bin", os.urandom(6 * MiB + 1))  # multipart too
    (src / "sub/deeper/c.bin").unlink()
    rclone("sync", str(src), remote, *RCLONE_MULTIPART)
    check_same()
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="tree/sub/deeper/c.bin"), None, 404)
    assert s3.get_object(Bucket=bucket, Key="tree/a.txt")["Body"].read() == b"alpha, changed by rclone\n"

    # A deliberate difference is found.
    (src / "a.txt").write_bytes(b"alpha, changed locally only\n")
    r = rclone("check", "--download", str(src), remote, check=False)
    assert r.returncode != 0 and "1 differences found" in r.stderr, r.stderr

    # Down into an empty directory.
    dst = tmp_path / "dst"
    t0 = time.monotonic()
    rclone("copy", remote, str(dst))
    down_s = time.monotonic() - t0
    (src / "a.txt").write_bytes(b"alpha, changed by rclone\n")
    assert tree(dst) == tree(src)

    rclone("purge", f"trireme:{bucket}")
    expect_error(lambda: s3.head_bucket(Bucket=bucket), None, 404)
    size = sum(tree_sizes(src).values())
    figure("rclone", "copy of the tree up (s)", f"{copy_s:.2f}")
    figure("rclone", f"copy of {size} B down (MiB/s)", f"{size / MiB / down_s:.1f}")


@pytest.mark.parametrize("prog", ["s3cmd", "rclone"])
def test_client_installed(prog):
    """The Debian packages are there (scripts/install-deps.sh); report their versions."""
    path = _need(prog)
    r = run([path, "--version"], env=clean_env(), timeout=60).check()
    figure("installed clients", prog, r.stdout.splitlines()[0])
