"""Hand-made S3 requests for the bad-input tests (`test_bad_input_*.py`).

- `Signer`: SigV4 that signs exactly what it is told: the raw request path as sent (no
  normalisation, no re-encoding), any date, any credential scope (date, region, service),
  any set of signed headers (so a header can be sent unsigned), presigned URLs with any
  `X-Amz-Expires`, and aws-chunked bodies with per-chunk signatures (tamperable).
- `request()`: one request over `http.client` with the request target sent verbatim;
  `raw_exchange()`: arbitrary bytes over a socket (lying Content-Length, half bodies).
- `s3_code()`, `assert_serving()` (a normal PUT + GET still works, with its latency),
  `absent()` (nothing stored under a key).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlparse

from botocore.exceptions import ClientError

ALGO = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


def uri_encode(s: str | bytes, encode_slash: bool = True) -> str:
    """SigV4 URI encoding: everything but unreserved characters (and `/` if asked)."""
    return quote(s, safe="-_.~" if encode_slash else "-_.~/")


def amz_date(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%SZ")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def canonical_query(pairs: list[tuple[str, str]]) -> str:
    enc = sorted((uri_encode(k), uri_encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in enc)


@dataclass
class Scope:
    """A credential scope; None fields default to the request's date and the cluster's region."""

    date: str | None = None
    region: str | None = None
    service: str = "s3"
    terminator: str = "aws4_request"


@dataclass
class Signed:
    """A request ready to send: method, request target (path + query) and headers."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes = b""
    # aws-chunked only: the seed signature and the key/scope to sign chunks with.
    seed: str = ""
    chunk_key: bytes = b""
    scope: str = ""
    date: str = ""


@dataclass
class Signer:
    endpoint: str
    access_key: str
    secret_key: str
    region: str

    @classmethod
    def of(cls, cluster) -> "Signer":
        return cls(cluster.endpoint, cluster.access_key, cluster.secret_key, cluster.region)

    @property
    def host(self) -> str:
        return urlparse(self.endpoint).netloc

    def sign(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        payload_hash: str | None = None,
        when: datetime | None = None,
        scope: Scope | None = None,
        unsigned: tuple[str, ...] = (),
        secret_key: str | None = None,
        signed_path: str | None = None,
    ) -> Signed:
        """Signs a header-authenticated request. `path` is sent exactly as given (already
        percent-encoded by the caller); the canonical URI is `signed_path` or `path`.
        Headers named in `unsigned` are sent but left out of SignedHeaders."""
        when = when or datetime.now(timezone.utc)
        scope = scope or Scope()
        date = amz_date(when)
        sdate = scope.date or date[:8]
        region = scope.region or self.region
        payload_hash = payload_hash if payload_hash is not None else hashlib.sha256(body).hexdigest()
        hs = {"host": self.host, "x-amz-date": date, "x-amz-content-sha256": payload_hash}
        for k, v in (headers or {}).items():
            hs[k.lower()] = v
        signed_names = sorted(k for k in hs if k not in unsigned)
        canonical_headers = "".join(f"{k}:{' '.join(hs[k].split())}\n" for k in signed_names)
        q = list(query or [])
        canonical = "\n".join(
            [method, signed_path or path, canonical_query(q), canonical_headers, ";".join(signed_names), payload_hash]
        )
        scope_str = f"{sdate}/{region}/{scope.service}/{scope.terminator}"
        sts = "\n".join([ALGO, date, scope_str, hashlib.sha256(canonical.encode()).hexdigest()])
        key = signing_key(secret_key or self.secret_key, sdate, region, scope.service)
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        hs["authorization"] = (
            f"{ALGO} Credential={self.access_key}/{scope_str}, SignedHeaders={';'.join(signed_names)}, Signature={sig}"
        )
        target = path + ("?" + "&".join(f"{uri_encode(k)}={uri_encode(v)}" for k, v in q) if q else "")
        return Signed(method, target, hs, body, seed=sig, chunk_key=key, scope=scope_str, date=date)

    def presign(
        self,
        method: str,
        path: str,
        *,
        expires: int | str = 60,
        when: datetime | None = None,
        scope: Scope | None = None,
        signed_headers: dict[str, str] | None = None,
    ) -> str:
        """A presigned request target (path + query) signed over `host` and `signed_headers`."""
        when = when or datetime.now(timezone.utc)
        scope = scope or Scope()
        date = amz_date(when)
        sdate = scope.date or date[:8]
        region = scope.region or self.region
        scope_str = f"{sdate}/{region}/{scope.service}/{scope.terminator}"
        hs = {"host": self.host, **{k.lower(): v for k, v in (signed_headers or {}).items()}}
        names = sorted(hs)
        q = [
            ("X-Amz-Algorithm", ALGO),
            ("X-Amz-Credential", f"{self.access_key}/{scope_str}"),
            ("X-Amz-Date", date),
            ("X-Amz-Expires", str(expires)),
            ("X-Amz-SignedHeaders", ";".join(names)),
        ]
        canonical_headers = "".join(f"{k}:{hs[k]}\n" for k in names)
        canonical = "\n".join([method, path, canonical_query(q), canonical_headers, ";".join(names), UNSIGNED])
        sts = "\n".join([ALGO, date, scope_str, hashlib.sha256(canonical.encode()).hexdigest()])
        key = signing_key(self.secret_key, sdate, region, scope.service)
        sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        q.append(("X-Amz-Signature", sig))
        return path + "?" + "&".join(f"{uri_encode(k)}={uri_encode(v)}" for k, v in q)

    def chunked_put(
        self,
        path: str,
        data: bytes,
        *,
        chunk: int = 64 * 1024,
        declared: int | None = None,
        tamper: str | None = None,
        drop_final: bool = False,
    ) -> Signed:
        """An aws-chunked PUT (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) with per-chunk signatures.

        `declared`: the x-amz-decoded-content-length sent (default: the true length).
        `tamper`: "data" flips a byte of chunk 1 after signing; "signature" breaks chunk 1's
        signature; "final" breaks the signature of the final empty chunk.
        `drop_final`: leave out the final zero-length chunk.
        """
        pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)]
        chunks = pieces + ([] if drop_final else [b""])
        encoded_len = sum(len(f"{len(c):x};chunk-signature=") + 64 + 2 + len(c) + 2 for c in chunks)
        s = self.sign(
            "PUT",
            path,
            payload_hash=STREAMING,
            headers={
                "content-encoding": "aws-chunked",
                "content-length": str(encoded_len),
                "x-amz-decoded-content-length": str(len(data) if declared is None else declared),
            },
        )
        body = bytearray()
        prev = s.seed
        for i, c in enumerate(chunks):
            sts = "\n".join([ALGO + "-PAYLOAD", s.date, s.scope, prev, EMPTY_SHA256, hashlib.sha256(c).hexdigest()])
            sig = hmac.new(s.chunk_key, sts.encode(), hashlib.sha256).hexdigest()
            prev = sig
            payload = c
            if tamper == "data" and i == 1:
                payload = bytes([c[0] ^ 1]) + c[1:]
            if (tamper == "signature" and i == 1) or (tamper == "final" and not c):
                sig = ("1" if sig[0] == "0" else "0") + sig[1:]
            body += f"{len(c):x};chunk-signature={sig}\r\n".encode() + payload + b"\r\n"
        assert len(body) == encoded_len
        s.body = bytes(body)
        return s


# ---------------------------------------------------------------------------- sending


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def code(self) -> str:
        return s3_code(self.body)

    def text(self) -> str:
        return self.body[:2000].decode("utf-8", "replace")

    def expect(self, status: int, code: str | None = None) -> "Resp":
        assert self.status == status, f"expected HTTP {status} {code or ''}, got {self.status}: {self.text()}"
        if code is not None:
            assert self.code == code, f"expected {code}, got {self.code!r} (HTTP {self.status}): {self.text()}"
        return self


def s3_code(body: bytes) -> str:
    m = re.search(rb"<Code>([^<]*)</Code>", body)
    return m.group(1).decode() if m else ""


def _hostport(endpoint: str) -> tuple[str, int]:
    u = urlparse(endpoint)
    return u.hostname or "127.0.0.1", u.port or 80


def request(endpoint: str, method: str, target: str, headers: dict[str, str] | None = None,
            body: bytes = b"", timeout: float = 60) -> Resp:
    """One HTTP/1.1 request with the request target sent exactly as given."""
    host, port = _hostport(endpoint)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        hs = dict(headers or {})
        if not any(k.lower() == "host" for k in hs):
            hs["host"] = f"{host}:{port}"
        if body and not any(k.lower() == "content-length" for k in hs):
            hs["content-length"] = str(len(body))
        if method in ("PUT", "POST") and not any(k.lower() == "content-length" for k in hs):
            hs["content-length"] = "0"
        for k, v in hs.items():
            conn.putheader(k, v)
        conn.endheaders(body or None)
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, data, time.monotonic() - t0)
    finally:
        conn.close()


def send(endpoint: str, s: Signed, timeout: float = 60) -> Resp:
    return request(endpoint, s.method, s.target, s.headers, s.body, timeout)


def head_bytes(s: Signed) -> bytes:
    """The request line and headers of `s`, ready for a socket."""
    lines = [f"{s.method} {s.target} HTTP/1.1"] + [f"{k}: {v}" for k, v in s.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class RawConn:
    """A client socket with a read buffer: several responses can be read in turn."""

    def __init__(self, endpoint: str, timeout: float = 30):
        self.sock = socket.create_connection(_hostport(endpoint), timeout=timeout)
        self.buf = b""

    def __enter__(self) -> "RawConn":
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> bool:
        try:
            b = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            b = b""
        self.buf += b
        return bool(b)

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n and self._more():
            pass
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf and self._more():
            pass
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_response(self, timeout: float = 30, head: bool = False) -> Resp | None:
        """Reads one response (None if the peer closed without answering). `head`: the
        response to a HEAD request (no body whatever its Content-Length)."""
        self.sock.settimeout(timeout)
        while b"\r\n\r\n" not in self.buf:
            if not self._more():
                return None
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hs[k.strip().lower()] = v.strip()
        body = b""
        if head or status in (204, 304) or 100 <= status < 200:
            pass
        elif "content-length" in hs:
            body = self._take(int(hs["content-length"]))
        elif hs.get("transfer-encoding", "").lower() == "chunked":
            while True:
                n = int(self._line().split(b";")[0] or b"0", 16)
                if n == 0:
                    self._line()
                    break
                body += self._take(n)
                self._take(2)
        else:
            while self._more():
                pass
            body, self.buf = self.buf, b""
        return Resp(status, hs, body)


def read_response(sock: socket.socket, timeout: float) -> Resp | None:
    """Reads one response from a bare socket (any bytes after it are dropped)."""
    conn = RawConn.__new__(RawConn)
    conn.sock, conn.buf = sock, b""
    return conn.read_response(timeout)


def raw_exchange(endpoint: str, data: bytes, *, timeout: float = 30, half_close: bool = False) -> Resp | None:
    """Sends raw bytes on a new connection and reads one response (None: closed unanswered).
    `half_close` shuts the write side after sending (the client is done, the body is not)."""
    with RawConn(endpoint, timeout) as conn:
        conn.sendall(data)
        if half_close:
            conn.sock.shutdown(socket.SHUT_WR)
        return conn.read_response(timeout)


# ---------------------------------------------------------------------------- checks


def absent(s3, bucket: str, key: str) -> bool:
    """True if HEAD says 404 and no listing shows the key."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] != 404:
            raise
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key[:100], EncodingType="url").get("Contents", [])
    from urllib.parse import unquote

    return all(unquote(o["Key"]) != key for o in listed)


def assert_serving(s3, bucket: str, what: str = "") -> float:
    """A normal PUT and GET still work; returns the round trip in seconds."""
    key = f"still-serving/{os.urandom(6).hex()}"
    body = os.urandom(1000)
    t0 = time.monotonic()
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    dt = time.monotonic() - t0
    assert got == body, f"the gateway no longer serves correctly {what}"
    s3.delete_object(Bucket=bucket, Key=key)
    return dt


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def gateway_pid(cluster) -> int:
    return cluster.processes("gateway")[0].pid


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def hwm_kib(pid: int) -> int:
    """Peak resident set size (VmHWM) of a process, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmHWM for pid {pid}")
