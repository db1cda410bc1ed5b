"""Bad input, SigV4 (issue 7): hand-signed requests that must be refused with Amazon S3's
error, store nothing, and leave the gateway serving others.

- skewed `x-amz-date` (more than 15 minutes either way): 403 RequestTimeTooSkewed; 14 minutes
  either way is accepted;
- a credential scope whose date differs from `x-amz-date`, another region, another service,
  or a malformed scope: 400 AuthorizationHeaderMalformed (presigned: 400
  AuthorizationQueryParametersError);
- an `x-amz-*` header present but not signed: 403 AccessDenied ("There were headers present
  in the request which were not signed"), header and presigned auth alike;
- paths: `a/../b`, `%2F`, `%252F`, `//`: the signature covers the raw path as sent, and the
  key stored is exactly the percent-decoded path, never normalised; a signature over the
  normalised path does not match;
- aws-chunked: a flipped byte, a wrong chunk or final-chunk signature, a missing final chunk,
  a decoded length larger or smaller than the data: refused, nothing stored;
- presigned URLs: expired (403 AccessDenied), `X-Amz-Expires` above 604800 or below 1 (400
  AuthorizationQueryParametersError), dated in the future (403 RequestTimeTooSkewed);
- Authorization missing (403 AccessDenied), garbled or truncated (400 AuthorizationHeaderMalformed
  or InvalidRequest, or 403 SignatureDoesNotMatch), a wrong signature (403 SignatureDoesNotMatch).
"""

from __future__ import annotations

import os
from urllib.parse import quote

import pytest

from rawhttp import (
    EMPTY_SHA256,
    Scope,
    Signer,
    absent,
    assert_serving,
    minutes,
    request,
    send,
    utcnow,
)

BUCKET = "bad-sigv4"


@pytest.fixture(scope="module")
def env(shared_cluster, s3):
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="ten", Body=b"0123456789")
    return shared_cluster, Signer.of(shared_cluster), s3


@pytest.fixture(autouse=True)
def _still_serving(env):
    """After every case: the gateway still serves a normal PUT + GET."""
    yield
    assert_serving(env[2], BUCKET, "after this case")


def put_signed(sg: Signer, key: str, body: bytes = b"payload", **kw):
    return sg.sign("PUT", f"/{BUCKET}/{quote(key)}", body=body, **kw)


@pytest.mark.parametrize("offset_min", [-16, 16, -60 * 24, 60 * 24 * 365])
def test_skewed_dates_are_refused(env, offset_min):
    c, sg, s3 = env
    when = utcnow() + minutes(offset_min)
    key = f"skewed{offset_min}"
    send(c.endpoint, put_signed(sg, key, when=when)).expect(403, "RequestTimeTooSkewed")
    send(c.endpoint, sg.sign("GET", f"/{BUCKET}/ten", when=when)).expect(403, "RequestTimeTooSkewed")
    assert absent(s3, BUCKET, key)
    assert_serving(s3, BUCKET)


@pytest.mark.parametrize("offset_min", [-14, 14])
def test_skew_within_15_minutes_is_accepted(env, offset_min):
    c, sg, s3 = env
    r = send(c.endpoint, sg.sign("GET", f"/{BUCKET}/ten", when=utcnow() + minutes(offset_min))).expect(200)
    assert r.body == b"0123456789"


def _yesterday() -> str:
    return (utcnow() - minutes(60 * 24)).strftime("%Y%m%d")


BAD_SCOPES = {
    "date": lambda: Scope(date=_yesterday()),
    "region": lambda: Scope(region="eu-west-1"),
    "service": lambda: Scope(service="ec2"),
    "sts-service": lambda: Scope(service="sts"),
    "terminator": lambda: Scope(terminator="aws5_request"),
}


@pytest.mark.parametrize("which", sorted(BAD_SCOPES))
def test_wrong_credential_scope(env, which):
    """Signed correctly with the secret key, but over another scope: Amazon S3 answers 400
    AuthorizationHeaderMalformed (e.g. "the region 'eu-west-1' is wrong; expecting
    'us-east-1'", "Invalid credential date. Date is not the same as X-Amz-Date.")."""
    c, sg, s3 = env
    key = f"scope-{which}"
    scope = BAD_SCOPES[which]()
    send(c.endpoint, put_signed(sg, key, scope=scope)).expect(400, "AuthorizationHeaderMalformed")
    send(c.endpoint, sg.sign("GET", f"/{BUCKET}/ten", scope=scope)).expect(400, "AuthorizationHeaderMalformed")
    assert absent(s3, BUCKET, key)
    assert_serving(s3, BUCKET)


@pytest.mark.parametrize("which", sorted(BAD_SCOPES))
def test_wrong_presigned_scope(env, which):
    c, sg, s3 = env
    target = sg.presign("GET", f"/{BUCKET}/ten", scope=BAD_SCOPES[which]())
    request(c.endpoint, "GET", target).expect(400, "AuthorizationQueryParametersError")
    put = sg.presign("PUT", f"/{BUCKET}/pscope-{which}", scope=BAD_SCOPES[which]())
    request(c.endpoint, "PUT", put, body=b"x").expect(400, "AuthorizationQueryParametersError")
    assert absent(s3, BUCKET, f"pscope-{which}")


@pytest.mark.parametrize(
    "header,value",
    [
        ("x-amz-meta-sneaky", "1"),
        ("x-amz-storage-class", "STANDARD"),
        ("x-amz-tagging", "a=b"),
        ("x-amz-checksum-crc32", "AAAAAA=="),
    ],
)
def test_unsigned_amz_header_is_refused(env, header, value):
    c, sg, s3 = env
    key = f"unsigned-{header}"
    s = put_signed(sg, key, headers={header: value}, unsigned=(header,))
    r = send(c.endpoint, s).expect(403, "AccessDenied")
    assert b"not signed" in r.body, r.text()
    assert absent(s3, BUCKET, key)
    # The same request with the header signed is accepted (the test itself is sound), except
    # for a checksum header that does not match the body.
    if header != "x-amz-checksum-crc32":
        send(c.endpoint, put_signed(sg, key, headers={header: value})).expect(200)
        s3.delete_object(Bucket=BUCKET, Key=key)
    assert_serving(s3, BUCKET)


def test_unsigned_copy_source_is_refused(env):
    """An unsigned x-amz-copy-source would turn a signed PUT into a copy of another object."""
    c, sg, s3 = env
    s = sg.sign("PUT", f"/{BUCKET}/copied", headers={"x-amz-copy-source": f"/{BUCKET}/ten"},
                unsigned=("x-amz-copy-source",))
    send(c.endpoint, s).expect(403, "AccessDenied")
    assert absent(s3, BUCKET, "copied")


def test_unsigned_header_on_presigned_url_is_refused(env):
    c, sg, s3 = env
    target = sg.presign("PUT", f"/{BUCKET}/presigned-unsigned")
    r = request(c.endpoint, "PUT", target, {"x-amz-meta-sneaky": "1"}, body=b"abc")
    r.expect(403, "AccessDenied")
    assert absent(s3, BUCKET, "presigned-unsigned")
    # Signed into the URL, the same header is fine.
    target = sg.presign("PUT", f"/{BUCKET}/presigned-unsigned", signed_headers={"x-amz-meta-sneaky": "1"})
    request(c.endpoint, "PUT", target, {"x-amz-meta-sneaky": "1"}, body=b"abc").expect(200)
    assert s3.head_object(Bucket=BUCKET, Key="presigned-unsigned")["Metadata"] == {"sneaky": "1"}


def test_signed_header_missing_from_request(env):
    """SignedHeaders names a header the request does not carry: the signature cannot match."""
    c, sg, s3 = env
    s = put_signed(sg, "missing-signed", headers={"x-amz-meta-a": "1"})
    del s.headers["x-amz-meta-a"]
    r = send(c.endpoint, s)
    assert r.status in (400, 403), r.text()
    assert r.code in ("SignatureDoesNotMatch", "AccessDenied", "AuthorizationHeaderMalformed"), r.text()
    assert absent(s3, BUCKET, "missing-signed")


# Keys whose wire path differs from any normalised form: (path as sent, key it must store).
PATHS = [
    ("dots/a/../b", "dots/a/../b"),
    ("dots/./c", "dots/./c"),
    ("..", ".."),
    ("slash%2Fencoded", "slash/encoded"),
    ("double%252Fencoded", "double%2Fencoded"),
    ("dots%2F..%2F..%2Fescape", "dots/../../escape"),
    ("dbl//slash", "dbl//slash"),
    ("sp%20ace+plus", "sp ace+plus"),
]


@pytest.mark.parametrize("raw,key", PATHS, ids=[p[0] for p in PATHS])
def test_raw_paths_sign_and_store_exactly(env, raw, key):
    c, sg, s3 = env
    path = f"/{BUCKET}/{raw}"
    body = os.urandom(100)
    send(c.endpoint, sg.sign("PUT", path, body=body)).expect(200)
    got = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert got == body, f"{raw!r} was not stored as the key {key!r}"
    send(c.endpoint, sg.sign("GET", path)).expect(200)
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=key.split("/")[0]).get("Contents", [])]
    assert key in listed, listed
    s3.delete_object(Bucket=BUCKET, Key=key)


def test_signature_over_normalised_path_does_not_match(env):
    """A client that signs `/b/x` but sends `/b/y/../x` (or the reverse) is refused: the
    signature covers the path as sent."""
    c, sg, s3 = env
    s = sg.sign("PUT", f"/{BUCKET}/norm/y/../x", signed_path=f"/{BUCKET}/norm/x", body=b"x")
    send(c.endpoint, s).expect(403, "SignatureDoesNotMatch")
    s = sg.sign("PUT", f"/{BUCKET}/norm%2Fz", signed_path=f"/{BUCKET}/norm%252Fz", body=b"x")
    send(c.endpoint, s).expect(403, "SignatureDoesNotMatch")
    for key in ("norm/x", "norm/y/../x", "norm/z", "norm%2Fz"):
        assert absent(s3, BUCKET, key), key


def test_chunked_upload_sound(env):
    c, sg, s3 = env
    data = os.urandom(200 * 1024 + 3)
    send(c.endpoint, sg.chunked_put(f"/{BUCKET}/chunked-ok", data)).expect(200)
    assert s3.get_object(Bucket=BUCKET, Key="chunked-ok")["Body"].read() == data


@pytest.mark.parametrize("tamper", ["data", "signature", "final"])
def test_tampered_chunks_store_nothing(env, tamper):
    c, sg, s3 = env
    key = f"chunked-{tamper}"
    data = os.urandom(200 * 1024 + 3)
    send(c.endpoint, sg.chunked_put(f"/{BUCKET}/{key}", data, tamper=tamper)).expect(403, "SignatureDoesNotMatch")
    assert absent(s3, BUCKET, key)
    assert_serving(s3, BUCKET)


@pytest.mark.parametrize("case", ["larger", "smaller", "zero", "no-final-chunk"])
def test_wrong_decoded_length_stores_nothing(env, case):
    c, sg, s3 = env
    key = f"decoded-{case}"
    data = os.urandom(150 * 1024)
    declared = {"larger": len(data) + 1, "smaller": len(data) - 1, "zero": 0}.get(case)
    s = sg.chunked_put(f"/{BUCKET}/{key}", data, declared=declared, drop_final=case == "no-final-chunk")
    r = send(c.endpoint, s)
    assert 400 <= r.status < 500, f"{case}: {r.status} {r.text()}"
    assert r.code in ("IncompleteBody", "InvalidRequest", "SignatureDoesNotMatch", "BadDigest"), r.text()
    assert absent(s3, BUCKET, key)
    assert_serving(s3, BUCKET)


def test_expired_presigned_url(env):
    c, sg, s3 = env
    target = sg.presign("GET", f"/{BUCKET}/ten", expires=60, when=utcnow() - minutes(5))
    r = request(c.endpoint, "GET", target).expect(403, "AccessDenied")
    assert b"expired" in r.body, r.text()
    target = sg.presign("PUT", f"/{BUCKET}/expired-put", expires=1, when=utcnow() - minutes(1))
    request(c.endpoint, "PUT", target, body=b"x").expect(403, "AccessDenied")
    assert absent(s3, BUCKET, "expired-put")
    # A fresh one works.
    assert request(c.endpoint, "GET", sg.presign("GET", f"/{BUCKET}/ten")).expect(200).body == b"0123456789"


@pytest.mark.parametrize("expires", ["604801", "999999999", "0", "-1", "abc", ""])
def test_presigned_expiry_out_of_bounds(env, expires):
    c, sg, s3 = env
    target = sg.presign("GET", f"/{BUCKET}/ten", expires=expires)
    request(c.endpoint, "GET", target).expect(400, "AuthorizationQueryParametersError")
    put = sg.presign("PUT", f"/{BUCKET}/long-lived", expires=expires)
    request(c.endpoint, "PUT", put, body=b"x").expect(400, "AuthorizationQueryParametersError")
    assert absent(s3, BUCKET, "long-lived")


def test_presigned_a_week_is_accepted_and_future_is_skewed(env):
    c, sg, s3 = env
    request(c.endpoint, "GET", sg.presign("GET", f"/{BUCKET}/ten", expires=604800)).expect(200)
    future = sg.presign("GET", f"/{BUCKET}/ten", expires=3600, when=utcnow() + minutes(30))
    request(c.endpoint, "GET", future).expect(403, "RequestTimeTooSkewed")


def test_presigned_tampered(env):
    c, sg, s3 = env
    target = sg.presign("GET", f"/{BUCKET}/ten")
    request(c.endpoint, "GET", target.replace("/ten?", "/tem?")).expect(403, "SignatureDoesNotMatch")
    request(c.endpoint, "GET", target[:-1] + ("0" if target[-1] != "0" else "1")).expect(403, "SignatureDoesNotMatch")


def _auth_variants(good: str) -> dict[str, str]:
    cred = good.split("Credential=")[1].split(",")[0]
    return {
        "empty": "",
        "garbage": "garbage",
        "algorithm-only": "AWS4-HMAC-SHA256",
        "other-algorithm": good.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
        "no-signature": good.split(", Signature=")[0],
        "no-signed-headers": f"AWS4-HMAC-SHA256 Credential={cred}, Signature={'0' * 64}",
        "short-credential": f"AWS4-HMAC-SHA256 Credential=AK/2020, SignedHeaders=host, Signature={'0' * 64}",
        "truncated": good[: len(good) // 2],
        "wrong-signature": good[:-8] + "deadbeef",
        "non-hex-signature": good[:-64] + "z" * 64,
        "huge": good + "," + "x" * 6000,
        "doubled": good + ", " + good,
        "binary": "AWS4-HMAC-SHA256 Credential=\x01\x02\x7f",
    }


def test_missing_authorization(env):
    c, sg, s3 = env
    s = put_signed(sg, "anonymous")
    del s.headers["authorization"]
    send(c.endpoint, s).expect(403, "AccessDenied")
    assert absent(s3, BUCKET, "anonymous")


@pytest.mark.parametrize("variant", sorted(_auth_variants(
    "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + "a" * 64)))
def test_garbled_authorization(env, variant):
    c, sg, s3 = env
    key = f"garbled-{variant}"
    s = put_signed(sg, key)
    s.headers["authorization"] = _auth_variants(s.headers["authorization"])[variant]
    r = send(c.endpoint, s)
    assert r.status in (400, 403), f"{variant}: {r.status} {r.text()}"
    if variant == "binary":
        # Control characters in a header value: hyper refuses the request itself (400, no
        # body) before any S3 processing.
        assert r.status == 400 and (r.body == b"" or r.code), r
    else:
        assert r.code in (
            "AccessDenied",
            "AuthorizationHeaderMalformed",
            "InvalidRequest",
            "SignatureDoesNotMatch",
            "InvalidArgument",
        ), f"{variant}: {r.text()}"
    assert absent(s3, BUCKET, key)
    assert_serving(s3, BUCKET)


def test_content_sha256_garbled(env):
    c, sg, s3 = env
    for bad in ("nothex", "A" * 64, EMPTY_SHA256[:-1]):
        s = put_signed(sg, "bad-sha", payload_hash=bad)
        r = send(c.endpoint, s)
        assert r.status in (400, 403), f"{bad}: {r.status} {r.text()}"
        assert r.code in ("XAmzContentSHA256Mismatch", "InvalidArgument", "InvalidRequest",
                          "SignatureDoesNotMatch"), r.text()
    assert absent(s3, BUCKET, "bad-sha")
    assert_serving(s3, BUCKET)
