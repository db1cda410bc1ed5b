"""Helpers shared by the real-client suites (test_clients_*.py, test_concurrent_clients.py):
running a client program with a config file of its own, plain-HTTP requests without any SDK,
local directory trees, and the S3 checksum / ETag arithmetic the tests compare against."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import signal
import subprocess
import urllib.error
import urllib.request
import uuid
import zlib
from pathlib import Path

from harness import Cluster
from procs import CliResult, die_with_parent
from s3util import BOTOCORE_EXPECT_FIX

MiB = 1024 * 1024


def unique_bucket(prefix: str) -> str:
    """A bucket name no other test on the shared cluster uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def clean_env(drop_prefixes: tuple[str, ...] = ("AWS_", "RCLONE_", "S3CMD")) -> dict[str, str]:
    """The environment minus anything that would configure an S3 client behind our back."""
    return {k: v for k, v in os.environ.items() if not k.startswith(drop_prefixes)}


def run_raw(
    argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 600, cwd: Path | None = None, input: bytes | None = None
) -> tuple[int, bytes, bytes]:
    """Runs a command to completion in its own process group: (exit code, stdout, stderr).

    On timeout the whole group is killed (cargo's rustc children too) and waited for, and
    the timeout is raised.
    """
    p = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except BaseException:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.communicate()
        raise
    return p.returncode, out, err


def run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 600, cwd: Path | None = None) -> CliResult:
    """Runs a command to completion (see `run_raw`); its output decoded as text."""
    code, out, err = run_raw(argv, env=env, timeout=timeout, cwd=cwd)
    return CliResult(argv, code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


# The aws-cli plugin that leaves `Expect: 100-continue` off zero-length bodies, for aws-cli
# bundling a botocore older than 1.43.77 (boto/botocore#3755; see s3util.py, which does the
# same for the boto3 clients): such a botocore applies the final answer to an empty PUT to
# the next request on the connection, which then stalls for the whole read timeout (60 s)
# and is retried.
_NO_EXPECT_PLUGIN = """
def _no_expect_on_empty_body(request, **_kw):
    if str(request.headers.get("Content-Length", "")) == "0" and "Expect" in request.headers:
        del request.headers["Expect"]


def awscli_initialize(cli):
    cli.register("before-send.s3", _no_expect_on_empty_body)
"""
_awscli_botocore: tuple[int, ...] | None = None


def awscli_botocore_version() -> tuple[int, ...]:
    """The botocore version the `aws` on PATH runs with (from `aws --version`)."""
    global _awscli_botocore
    if _awscli_botocore is None:
        r = run(["aws", "--version"], env=clean_env(), timeout=60).check()
        text = r.stdout + r.stderr
        m = re.search(r"botocore/(\d+)\.(\d+)\.(\d+)", text)
        assert m, f"cannot find the botocore version in `aws --version`: {text!r}"
        _awscli_botocore = tuple(int(g) for g in m.groups())
    return _awscli_botocore


class AwsCli:
    """aws-cli against the cluster with a config file of the test's own.

    `s3v4=True` presigns with SigV4: aws-cli v1 presigns S3 URLs with SigV2 query parameters
    unless the profile says `signature_version = s3v4`. With a botocore older than 1.43.77 a
    plugin leaves `Expect: 100-continue` off empty bodies (see `_NO_EXPECT_PLUGIN`).
    """

    def __init__(self, cluster: Cluster, config_dir: Path, *, s3v4: bool = False) -> None:
        self.cluster = cluster
        name = "aws-config-s3v4" if s3v4 else "aws-config"
        self.config = config_dir / name
        lines = ["[default]", f"region = {cluster.region}", "s3 =", "    addressing_style = path"]
        if s3v4:
            lines.append("    signature_version = s3v4")
        lines += ["retry_mode = standard", "max_attempts = 10", ""]
        self.plugin_dir: Path | None = None
        if awscli_botocore_version() < BOTOCORE_EXPECT_FIX:
            self.plugin_dir = config_dir / f"{name}-plugins"
            self.plugin_dir.mkdir(exist_ok=True)
            (self.plugin_dir / "trireme_no_expect_on_empty_body.py").write_text(_NO_EXPECT_PLUGIN)
            lines += ["[plugins]", "trireme_no_expect = trireme_no_expect_on_empty_body", ""]
        self.config.write_text("\n".join(lines))

    def env(self) -> dict[str, str]:
        env = self.cluster.aws_env()
        env["AWS_CONFIG_FILE"] = str(self.config)
        if self.plugin_dir is not None:
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.plugin_dir), env.get("PYTHONPATH", "")) if p)
        return env

    def __call__(self, *args: str, check: bool = True, timeout: float = 600) -> CliResult:
        r = run(["aws", "--endpoint-url", self.cluster.endpoint, *args], env=self.env(), timeout=timeout)
        return r.check() if check else r


# ---------------------------------------------------------------- plain HTTP (no SDK)


def http(method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, bytes, dict[str, str]]:
    """One request with urllib: (status, body, headers). Sends `headers` plus urllib's own
    (Host, User-Agent, Connection, and Content-Length with a body; with a body and no
    Content-Type given, urllib adds `application/x-www-form-urlencoded`)."""
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(), {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read(), {k.lower(): v for k, v in e.headers.items()}


# ---------------------------------------------------------------- local trees


def tree(root: Path) -> dict[str, str]:
    """Every regular file under `root`: relative posix path -> sha256."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def tree_sizes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}


def write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# ---------------------------------------------------------------- S3 arithmetic


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(parts: list[bytes]) -> str:
    """The ETag S3 gives an object completed from these parts: md5 of the parts' md5s, -N."""
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def multipart_etag_of_file(path: Path, part_size: int) -> str:
    data = path.read_bytes()
    return multipart_etag([data[i : i + part_size] for i in range(0, len(data), part_size)])


def crc32_b64(data: bytes) -> str:
    """x-amz-checksum-crc32: base64 of the big-endian CRC32."""
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def sha256_b64(data: bytes) -> str:
    """x-amz-checksum-sha256: base64 of the raw digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()
