"""S3 semantics with boto3 and hand-signed requests (issue 3): stored headers round-trip,
`response-*` overrides, S3's limits and their errors (MetadataTooLarge, KeyTooLongError,
EntityTooLarge before the body is read, max-keys clamped to 1000, bad part numbers), malformed
XML, and NotImplemented for what Trireme does not do, never a 500 or a hang.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from s3util import expect_error

HEADERS = {
    "ContentType": "text/x-trireme",
    "ContentEncoding": "identity",
    "ContentDisposition": 'attachment; filename="a b.txt"',
    "ContentLanguage": "fr-CA",
    "CacheControl": "max-age=60, private",
}


def signed(cluster, method: str, path: str, body: bytes = b"", headers: dict | None = None, query: str = "") -> dict:
    url = f"{cluster.endpoint}{path}" + (f"?{query}" if query else "")
    hdrs = {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD", **(headers or {})}
    req = AWSRequest(method=method, url=url, data=body, headers=hdrs)
    SigV4Auth(Credentials(cluster.access_key, cluster.secret_key), "s3", cluster.region).add_auth(req)
    return dict(req.prepare().headers.items())


def test_stored_headers_and_response_overrides(shared_cluster):
    s3 = shared_cluster.s3()
    s3.create_bucket(Bucket="semantics")
    s3.put_object(Bucket="semantics", Key="h", Body=b"hello", Metadata={"colour": "blue", "n": "1"},
                  Expires="Wed, 21 Oct 2037 07:28:00 GMT", **HEADERS)
    for resp in (s3.head_object(Bucket="semantics", Key="h"), s3.get_object(Bucket="semantics", Key="h")):
        for k, v in HEADERS.items():
            assert resp[k] == v, (k, resp.get(k))
        assert resp["Metadata"] == {"colour": "blue", "n": "1"}
        assert resp["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 21 Oct 2037 07:28:00 GMT"
    got = s3.get_object(
        Bucket="semantics", Key="h",
        ResponseContentType="application/x-override",
        ResponseContentDisposition="inline",
        ResponseCacheControl="no-store",
        ResponseContentLanguage="de",
        ResponseContentEncoding="gzip",
    )
    assert got["ContentType"] == "application/x-override"
    assert got["ContentDisposition"] == "inline"
    assert got["CacheControl"] == "no-store"
    assert got["ContentLanguage"] == "de"
    assert got["ContentEncoding"] == "gzip"
    assert got["Body"].read() == b"hello"


def test_limits(shared_cluster):
    c = shared_cluster
    s3 = c.s3()
    s3.create_bucket(Bucket="limits")
    # User metadata: 2 KiB in all.
    expect_error(lambda: s3.put_object(Bucket="limits", Key="m", Body=b"x", Metadata={"big": "v" * 2100}),
                 "MetadataTooLarge", 400)
    # Keys: 1024 bytes fine, 1025 refused.
    s3.put_object(Bucket="limits", Key="k" * 1024, Body=b"x")
    assert s3.get_object(Bucket="limits", Key="k" * 1024)["Body"].read() == b"x"
    expect_error(lambda: s3.put_object(Bucket="limits", Key="k" * 1025, Body=b"x"), "KeyTooLongError", 400)
    # Part numbers 1..=10000.
    up = s3.create_multipart_upload(Bucket="limits", Key="mp")["UploadId"]
    expect_error(lambda: s3.upload_part(Bucket="limits", Key="mp", UploadId=up, PartNumber=10001, Body=b"x"),
                 "InvalidArgument", 400)
    s3.abort_multipart_upload(Bucket="limits", Key="mp", UploadId=up)
    # Bucket names.
    for bad in ("ab", "Upper", "under_score", "-dash", "a" * 64, "192.168.1.1"):
        expect_error(lambda: s3.create_bucket(Bucket=bad), "InvalidBucketName", 400)


def test_entity_too_large_is_refused_before_the_body(shared_cluster):
    c = shared_cluster
    c.s3().create_bucket(Bucket="too-large")
    size = 5 * 1024**3 + 1
    headers = signed(c, "PUT", "/too-large/huge", headers={"Content-Length": str(size)})
    url = urlparse(c.endpoint)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        assert headers["Content-Length"] == str(size)
        head = f"PUT /too-large/huge HTTP/1.1\r\nHost: {url.netloc}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        answer = sock.recv(65536).decode("utf-8", "replace")  # no body byte was sent
    assert answer.startswith("HTTP/1.1 400"), answer[:200]
    assert "EntityTooLarge" in answer, answer


def test_max_keys_is_clamped_to_1000(shared_cluster):
    s3 = shared_cluster.s3()
    s3.create_bucket(Bucket="clamp")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket="clamp", Key=f"k{i:05}", Body=b""), range(1005)))
    page = s3.list_objects_v2(Bucket="clamp", MaxKeys=5000)
    assert page["KeyCount"] == 1000 and page["IsTruncated"] is True
    assert len(s3.list_objects(Bucket="clamp", MaxKeys=5000)["Contents"]) == 1000


def test_malformed_xml_and_not_implemented(shared_cluster):
    c = shared_cluster
    s3 = c.s3()
    s3.create_bucket(Bucket="xml-errors")
    url = urlparse(c.endpoint)
    for body in (b"<Delete><Object><Key>a</Key>", b"not xml at all", b"<Delete></Delete>"):
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        headers = signed(c, "POST", "/xml-errors", body=body, query="delete", headers={"Content-MD5": md5})
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.request("POST", "/xml-errors?delete", body=body, headers=headers)
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        assert resp.status == 400 and "MalformedXML" in text, (body, resp.status, text)
    # Operations Trireme does not implement answer NotImplemented (501), not 500.
    expect_error(lambda: s3.get_bucket_tagging(Bucket="xml-errors"), "NotImplemented", 501)
    expect_error(lambda: s3.get_bucket_lifecycle_configuration(Bucket="xml-errors"), "NotImplemented", 501)
    expect_error(lambda: s3.put_bucket_versioning(Bucket="xml-errors", VersioningConfiguration={"Status": "Enabled"}),
                 "NotImplemented", 501)
