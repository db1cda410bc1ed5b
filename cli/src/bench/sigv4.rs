//! AWS Signature Version 4 for the benchmark's requests (header authorization).
//!
//! Canonical request -> string to sign -> HMAC-SHA256 with the signing key derived from the
//! secret, the day, the region and the service. The signing key changes once a day, so it is
//! derived once per day and kept as a keyed HMAC state: a request then costs one SHA-256 of
//! its canonical request and one HMAC (a few microseconds).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::Mutex;

type HmacSha256 = Hmac<Sha256>;

/// `x-amz-content-sha256` value of a body that is not hashed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// SHA-256 of the empty string: the payload hash of a request without a body.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What a request is signed with.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    /// `s3` for S3.
    pub service: String,
}

/// The parts of a request that are signed.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path, already URI-encoded (see [`uri_encode`] with `encode_slash = false`).
    pub path: &'a str,
    /// Query parameters, not encoded; any order.
    pub query: &'a [(&'a str, &'a str)],
    /// Headers to sign (names in any case). Must include `host` and `x-amz-date`.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body, [`UNSIGNED_PAYLOAD`] or [`EMPTY_SHA256`].
    pub payload_hash: &'a str,
    /// `YYYYMMDDTHHMMSSZ`, the value of `x-amz-date`.
    pub amz_date: &'a str,
}

/// Signs requests; caches the signing key of the current day.
pub struct Signer {
    creds: Credentials,
    /// (day `YYYYMMDD`, HMAC keyed with that day's signing key).
    day_key: Mutex<Option<(String, HmacSha256)>>,
}

impl Signer {
    pub fn new(creds: Credentials) -> Self {
        Signer {
            creds,
            day_key: Mutex::new(None),
        }
    }

    /// The `Authorization` header value for `req`.
    pub fn authorization(&self, req: &Request<'_>) -> String {
        let (canonical, signed_headers) = canonical_request(req);
        let day = req.amz_date.get(..8).unwrap_or(req.amz_date);
        let scope = format!(
            "{day}/{}/{}/aws4_request",
            self.creds.region, self.creds.service
        );
        let to_sign = string_to_sign(req.amz_date, &scope, &canonical);
        let mut mac = self.day_mac(day);
        mac.update(to_sign.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            self.creds.access_key
        )
    }

    /// An HMAC keyed with the signing key of `day`, derived at most once per day.
    fn day_mac(&self, day: &str) -> HmacSha256 {
        let mut cached = match self.day_key.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((d, mac)) = cached.as_ref() {
            if d == day {
                return mac.clone();
            }
        }
        let key = signing_key(
            &self.creds.secret_key,
            day,
            &self.creds.region,
            &self.creds.service,
        );
        let mac = keyed(&key);
        *cached = Some((day.to_string(), mac.clone()));
        mac
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    match <HmacSha256 as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = keyed(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The SigV4 signing key: HMAC chain over the day, region, service and `aws4_request`.
pub fn signing_key(secret: &str, day: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The canonical request and the `SignedHeaders` list.
pub fn canonical_request(req: &Request<'_>) -> (String, String) {
    let mut query: Vec<(String, String)> = req
        .query
        .iter()
        .map(|(k, v)| (uri_encode(k, true), uri_encode(v, true)))
        .collect();
    query.sort();
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), collapse_spaces(v)))
        .collect();
    headers.sort();
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    out.push_str(req.path);
    out.push('\n');
    for (i, (k, v)) in query.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        let _ = write!(out, "{k}={v}");
    }
    out.push('\n');
    for (k, v) in &headers {
        let _ = writeln!(out, "{k}:{v}");
    }
    out.push('\n');
    let signed = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    out.push_str(&signed);
    out.push('\n');
    out.push_str(req.payload_hash);
    (out, signed)
}

/// The string to sign for a canonical request.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical: &str) -> String {
    let hash = hex::encode(Sha256::digest(canonical.as_bytes()));
    format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hash}")
}

/// Trims a header value and collapses runs of spaces into one.
fn collapse_spaces(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// URI-encodes every byte except the unreserved `A-Z a-z 0-9 - _ . ~` (and `/` unless
/// `encode_slash`), as SigV4 requires.
pub fn uri_encode(s: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (b == b'/' && !encode_slash);
        if keep {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `YYYYMMDDTHHMMSSZ` for seconds since the Unix epoch.
pub fn amz_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    let (y, m, d) = crate::output::civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Hex SHA-256 of a body given as slices.
pub fn payload_sha256<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
