//! The signer against the AWS SigV4 test suite (`get-vanilla` and friends, credentials
//! `AKIDEXAMPLE`), the S3 documentation's GET Object example, and benchmark-shaped requests
//! whose signatures were computed with botocore 1.43 (`S3SigV4Auth`).

use super::*;

const SUITE_DATE: &str = "20150830T123600Z";

fn suite_signer() -> Signer {
    Signer::new(Credentials {
        access_key: "AKIDEXAMPLE".into(),
        secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        region: "us-east-1".into(),
        service: "service".into(),
    })
}

fn signature(auth: &str) -> &str {
    auth.rsplit("Signature=").next().unwrap_or("")
}

fn suite(method: &str, query: &[(&str, &str)], extra: &[(&str, &str)]) -> String {
    let mut headers = vec![
        ("Host", "example.amazonaws.com"),
        ("X-Amz-Date", SUITE_DATE),
    ];
    headers.extend_from_slice(extra);
    suite_signer().authorization(&Request {
        method,
        path: "/",
        query,
        headers: &headers,
        payload_hash: EMPTY_SHA256,
        amz_date: SUITE_DATE,
    })
}

#[test]
fn get_vanilla() {
    let auth = suite("GET", &[], &[]);
    assert_eq!(
        auth,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, \
         Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
}

#[test]
fn get_vanilla_canonical_request_and_string_to_sign() {
    let headers = [
        ("host", "example.amazonaws.com"),
        ("x-amz-date", SUITE_DATE),
    ];
    let req = Request {
        method: "GET",
        path: "/",
        query: &[],
        headers: &headers,
        payload_hash: EMPTY_SHA256,
        amz_date: SUITE_DATE,
    };
    let (canonical, signed) = canonical_request(&req);
    assert_eq!(
        canonical,
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n\
         host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(signed, "host;x-amz-date");
    assert_eq!(
        string_to_sign(
            SUITE_DATE,
            "20150830/us-east-1/service/aws4_request",
            &canonical
        ),
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
         bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    );
}

#[test]
fn get_vanilla_query_order_key_case() {
    let auth = suite("GET", &[("Param2", "value2"), ("Param1", "value1")], &[]);
    assert_eq!(
        signature(&auth),
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    );
}

#[test]
fn get_vanilla_query_unreserved() {
    let u = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let auth = suite("GET", &[(u, u)], &[]);
    assert_eq!(
        signature(&auth),
        "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"
    );
}

#[test]
fn post_header_key_sort() {
    let auth = suite("POST", &[], &[("My-Header1", "value1")]);
    assert_eq!(
        signature(&auth),
        "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"
    );
}

#[test]
fn get_header_value_trim() {
    let auth = suite(
        "GET",
        &[],
        &[("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
    );
    assert!(auth.contains("SignedHeaders=host;my-header1;my-header2;x-amz-date,"));
    assert_eq!(
        signature(&auth),
        "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"
    );
}

#[test]
fn s3_documentation_get_object_example() {
    let signer = Signer::new(Credentials {
        access_key: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        region: "us-east-1".into(),
        service: "s3".into(),
    });
    let date = "20130524T000000Z";
    let headers = [
        ("host", "examplebucket.s3.amazonaws.com"),
        ("range", "bytes=0-9"),
        ("x-amz-content-sha256", EMPTY_SHA256),
        ("x-amz-date", date),
    ];
    let auth = signer.authorization(&Request {
        method: "GET",
        path: "/test.txt",
        query: &[],
        headers: &headers,
        payload_hash: EMPTY_SHA256,
        amz_date: date,
    });
    assert_eq!(
        auth,
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
         SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
         Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
}

/// Requests as the benchmark sends them, checked against botocore's `S3SigV4Auth`.
#[test]
fn benchmark_requests_match_botocore() {
    let signer = Signer::new(Credentials {
        access_key: "bench-ak".into(),
        secret_key: "bench-secret/with+chars".into(),
        region: "eu-west-3".into(),
        service: "s3".into(),
    });
    let date = "20240229T235959Z";
    type Case<'a> = (&'a str, String, &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 4] = [
        (
            "PUT",
            uri_encode("/trireme-bench/bench/0007/1-0000000042", false),
            &[],
            UNSIGNED_PAYLOAD,
            "5ee997ae1df0467953a08bbf99ffdfa17d8ae706b1f8a98085c321b2ece9bada",
        ),
        (
            "GET",
            "/trireme-bench".into(),
            &[
                ("list-type", "2"),
                ("max-keys", "1000"),
                ("prefix", "bench/"),
                ("continuation-token", "a/b=="),
            ],
            EMPTY_SHA256,
            "f6912f8b03dd0be37b8270c103d6fb519bb2a2b1d836afbdd83ac6db643a564e",
        ),
        (
            "POST",
            uri_encode("/trireme-bench/big key~*", false),
            &[("uploads", "")],
            EMPTY_SHA256,
            "ca77bc84c3c6dcbacef13a8aaefa9db1b3543fee8ece2f05bb3602779fd788da",
        ),
        (
            "PUT",
            "/trireme-bench/k".into(),
            &[("uploadId", "abc+def"), ("partNumber", "2")],
            UNSIGNED_PAYLOAD,
            "6e355dffe10cc0140cb7258f4ba6d774134f2d52ca972799e736c71fd7ad9d40",
        ),
    ];
    for (method, path, query, payload, want) in cases {
        let headers = [
            ("host", "127.0.0.1:9000"),
            ("x-amz-content-sha256", payload),
            ("x-amz-date", date),
        ];
        let auth = signer.authorization(&Request {
            method,
            path: &path,
            query,
            headers: &headers,
            payload_hash: payload,
            amz_date: date,
        });
        assert_eq!(signature(&auth), want, "{method} {path}");
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=bench-ak/20240229/eu-west-3/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
        ));
    }
}

#[test]
fn signing_key_is_cached_per_day_and_rederived_for_the_next() {
    let s = suite_signer();
    let headers = [
        ("host", "example.amazonaws.com"),
        ("x-amz-date", SUITE_DATE),
    ];
    let req = Request {
        method: "GET",
        path: "/",
        query: &[],
        headers: &headers,
        payload_hash: EMPTY_SHA256,
        amz_date: SUITE_DATE,
    };
    // A second request the same day reuses the cached key and signs identically.
    let first = s.authorization(&req);
    assert_eq!(s.authorization(&req), first);
    assert_eq!(first, suite("GET", &[], &[]));
    let headers = [("host", "h"), ("x-amz-date", "20150831T000000Z")];
    let next_day = s.authorization(&Request {
        method: "GET",
        path: "/",
        query: &[],
        headers: &headers,
        payload_hash: EMPTY_SHA256,
        amz_date: "20150831T000000Z",
    });
    assert!(next_day.contains("/20150831/us-east-1/service/aws4_request"));
    let cached = s.day_key.lock().expect("lock");
    assert_eq!(cached.as_ref().map(|(d, _)| d.as_str()), Some("20150831"));
}

#[test]
fn encoding_dates_and_payload_hashes() {
    assert_eq!(uri_encode("a b/c~d*é", false), "a%20b/c~d%2A%C3%A9");
    assert_eq!(uri_encode("a/b", true), "a%2Fb");
    assert_eq!(amz_date(0), "19700101T000000Z");
    assert_eq!(amz_date(1_440_938_160), SUITE_DATE);
    assert_eq!(amz_date(1_709_251_199), "20240229T235959Z");
    assert_eq!(payload_sha256([&b""[..]]), EMPTY_SHA256);
    assert_eq!(
        payload_sha256([&b"ab"[..], &b"c"[..]]),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
