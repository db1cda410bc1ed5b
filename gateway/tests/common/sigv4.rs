//! A minimal AWS SigV4 signer for tests (header auth and presigned URLs), independent of
//! s3s's verifier.

use s3s::crypto::{Checksum, Sha256};

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::checksum(data))
}

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::checksum(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(&k.map(|b| b ^ 0x36));
    inner.update(msg);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(&k.map(|b| b ^ 0x5c));
    outer.update(&inner);
    outer.finalize()
}

/// URI-encodes per SigV4 (unreserved kept; '/' kept when `path`).
pub fn uri_encode(s: &str, path: bool) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (path && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub struct Signed {
    /// Headers to send (besides the body): host, x-amz-date, x-amz-content-sha256,
    /// authorization, and the extra ones passed in.
    pub headers: Vec<(String, String)>,
    /// The encoded query string (may be empty).
    pub query: String,
}

/// Signs a request. `path` is the decoded path ("/bucket/key"), `query` decoded pairs,
/// `extra` headers to include in the signature (lowercase names).
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: &str,
    host: &str,
    path: &str,
    query: &[(&str, &str)],
    extra: &[(&str, &str)],
    payload_hash: &str,
    access_key: &str,
    secret_key: &str,
    region: &str,
) -> Signed {
    sign_at(
        time::OffsetDateTime::now_utc(),
        method,
        host,
        path,
        query,
        extra,
        payload_hash,
        access_key,
        secret_key,
        region,
    )
}

fn amz_date(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn signing_key(secret_key: &str, date: &str, region: &str) -> [u8; 32] {
    let k = hmac(format!("AWS4{secret_key}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, b"s3");
    hmac(&k, b"aws4_request")
}

/// A presigned URL's query string (host the only signed header, UNSIGNED-PAYLOAD), dated
/// `at` and valid for `expires` (sent as given, so invalid values can be tested).
#[allow(clippy::too_many_arguments)]
pub fn presign(
    at: time::OffsetDateTime,
    expires: &str,
    method: &str,
    host: &str,
    path: &str,
    access_key: &str,
    secret_key: &str,
    region: &str,
) -> String {
    let amz_date = amz_date(at);
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/s3/aws4_request");
    let credential = format!("{access_key}/{scope}");
    let mut q: Vec<(String, String)> = [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", credential.as_str()),
        ("X-Amz-Date", amz_date.as_str()),
        ("X-Amz-Expires", expires),
        ("X-Amz-SignedHeaders", "host"),
    ]
    .iter()
    .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
    .collect();
    q.sort();
    let canonical_query = q
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical_request = format!(
        "{method}\n{}\n{canonical_query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD",
        uri_encode(path, true)
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let signature = hex::encode(hmac(
        &signing_key(secret_key, date, region),
        string_to_sign.as_bytes(),
    ));
    format!("{canonical_query}&X-Amz-Signature={signature}")
}

/// Like [`sign`], dated `now` instead of the current time.
#[allow(clippy::too_many_arguments)]
pub fn sign_at(
    now: time::OffsetDateTime,
    method: &str,
    host: &str,
    path: &str,
    query: &[(&str, &str)],
    extra: &[(&str, &str)],
    payload_hash: &str,
    access_key: &str,
    secret_key: &str,
    region: &str,
) -> Signed {
    let amz_date = amz_date(now);
    let date = &amz_date[..8];
    let mut q: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    q.sort();
    let canonical_query = q
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host.into()),
        ("x-amz-content-sha256".into(), payload_hash.into()),
        ("x-amz-date".into(), amz_date.clone()),
    ];
    headers.extend(
        extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.trim().to_string())),
    );
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{method}\n{}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        uri_encode(path, true)
    );
    let scope = format!("{date}/{region}/s3/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let k = signing_key(secret_key, date, region);
    let signature = hex::encode(hmac(&k, string_to_sign.as_bytes()));
    headers.push((
        "authorization".into(),
        format!("AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"),
    ));
    Signed {
        headers,
        query: q
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&"),
    }
}
