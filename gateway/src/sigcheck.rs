//! SigV4 checks on a raw request, made before s3s verifies its signature, for what s3s
//! 0.14.1 lets through or answers differently from Amazon S3:
//! - the algorithm must be `AWS4-HMAC-SHA256` (any other scheme: 400 InvalidArgument
//!   "Unsupported Authorization Type");
//! - the credential scope must be `AKID/YYYYMMDD/REGION/s3/aws4_request` with the day of the
//!   request's `x-amz-date`, the gateway's own region and the service `s3` (s3s accepts any
//!   region, the service `sts`, and answers a wrong day with SignatureDoesNotMatch);
//! - every `x-amz-*` header the request carries must be signed, and so must `host` (s3s
//!   verifies only what `SignedHeaders` names, so an unsigned `x-amz-copy-source` or
//!   `x-amz-meta-*` could be added to a captured request): 403 AccessDenied "There were
//!   headers present in the request which were not signed", as Amazon S3 answers. The one
//!   exception is `x-amz-content-sha256`, whose value is the canonical request's payload line
//!   anyway (and which clients send unsigned with presigned URLs);
//! - a presigned URL must carry all six `X-Amz-*` parameters, and a request may not be both
//!   presigned and header-signed.
//!
//! Header-signed requests get 400 AuthorizationHeaderMalformed for a bad scope, presigned
//! ones 400 AuthorizationQueryParametersError, with Amazon S3's messages.

use http::HeaderMap;
use s3s::{S3Error, S3ErrorCode};

/// The only signing algorithm accepted.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The header whose value is signed through the canonical request even when unsigned.
const CONTENT_SHA256: &str = "x-amz-content-sha256";
const MALFORMED_CREDENTIAL: &str =
    "the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".";

/// Which kind of signed request a check is about (selects the error code and wording).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Header,
    Presigned,
}

impl Kind {
    fn malformed(self, what: &str) -> S3Error {
        match self {
            Kind::Header => S3Error::with_message(
                S3ErrorCode::AuthorizationHeaderMalformed,
                format!("The authorization header is malformed; {what}"),
            ),
            Kind::Presigned => S3Error::with_message(
                S3ErrorCode::AuthorizationQueryParametersError,
                format!("Error parsing the X-Amz-Credential parameter; {what}"),
            ),
        }
    }
}

/// The parts of a credential scope `AKID/DATE/REGION/SERVICE/TERMINATOR`.
struct Scope<'a> {
    date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
}

fn parse_credential(credential: &str) -> Option<Scope<'_>> {
    let mut parts = credential.split('/');
    let (ak, date, region, service, terminator) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let date_ok = date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || ak.is_empty() || !date_ok {
        return None;
    }
    Some(Scope {
        date,
        region,
        service,
        terminator,
    })
}

/// Checks a credential scope against the request date (`YYYYMMDDTHHMMSSZ`, if known) and
/// the gateway's region.
fn check_scope(
    kind: Kind,
    credential: &str,
    amz_date: Option<&str>,
    region: &str,
) -> Result<(), S3Error> {
    let scope = parse_credential(credential).ok_or_else(|| kind.malformed(MALFORMED_CREDENTIAL))?;
    if scope.region != region {
        return Err(kind.malformed(&format!(
            "the region '{}' is wrong; expecting '{region}'",
            scope.region
        )));
    }
    if scope.service != "s3" {
        return Err(kind.malformed(&format!(
            "incorrect service \"{}\". This endpoint belongs to \"s3\".",
            scope.service
        )));
    }
    if scope.terminator != "aws4_request" {
        return Err(kind.malformed(&format!(
            "incorrect terminal \"{}\". This endpoint uses \"aws4_request\".",
            scope.terminator
        )));
    }
    if let Some(d) = amz_date {
        if d.get(..8) != Some(scope.date) {
            return Err(
                kind.malformed("Invalid credential date. Date is not the same as X-Amz-Date.")
            );
        }
    }
    Ok(())
}

/// The `x-amz-*` headers of the request (and `host`) that `signed` (the lowercase
/// `SignedHeaders` list, `;`-separated) leaves out, `x-amz-content-sha256` excepted.
fn unsigned_headers(headers: &HeaderMap, signed: &str) -> Vec<String> {
    let signed: Vec<&str> = signed.split(';').map(str::trim).collect();
    let mut missing: Vec<String> = headers
        .keys()
        .map(http::HeaderName::as_str)
        .filter(|name| name.starts_with("x-amz-") && *name != CONTENT_SHA256)
        .chain(std::iter::once("host"))
        .filter(|name| !signed.contains(name))
        .map(str::to_string)
        .collect();
    missing.dedup();
    missing
}

fn not_signed(missing: &[String]) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::AccessDenied,
        format!(
            "There were headers present in the request which were not signed (HeadersNotSigned: {})",
            missing.join(", ")
        ),
    )
}

/// Checks a header-signed request (`Authorization: AWS4-HMAC-SHA256 ...`). `auth` is the
/// header's value; V2 (`AWS ...`) is refused before this is called.
pub fn check_header_auth(auth: &str, headers: &HeaderMap, region: &str) -> Result<(), S3Error> {
    let rest = match auth.split_once(' ') {
        Some((ALGORITHM, rest)) => rest,
        _ if auth == ALGORITHM => "",
        _ => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Unsupported Authorization Type",
            ))
        }
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let (Some(credential), Some(signed), Some(_)) = (credential, signed, signature) else {
        return Err(Kind::Header.malformed(
            "the authorization header requires three components: Credential, SignedHeaders, and Signature.",
        ));
    };
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok());
    check_scope(Kind::Header, credential, amz_date, region)?;
    let missing = unsigned_headers(headers, signed);
    if !missing.is_empty() {
        return Err(not_signed(&missing));
    }
    Ok(())
}

/// The presigned-URL parameters of a query, percent-decoded.
#[derive(Debug, Default)]
pub struct PresignedParams {
    pub algorithm: Option<String>,
    pub credential: Option<String>,
    pub date: Option<String>,
    pub expires: Option<String>,
    pub signed_headers: Option<String>,
    pub signature: Option<String>,
}

impl PresignedParams {
    /// Collects the `X-Amz-*` signing parameters of a raw query string; None when it has none.
    pub fn of_query(query: &str) -> Option<Self> {
        let mut p = PresignedParams::default();
        let mut any = false;
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "X-Amz-Algorithm" => &mut p.algorithm,
                "X-Amz-Credential" => &mut p.credential,
                "X-Amz-Date" => &mut p.date,
                "X-Amz-Expires" => &mut p.expires,
                "X-Amz-SignedHeaders" => &mut p.signed_headers,
                "X-Amz-Signature" => &mut p.signature,
                _ => continue,
            };
            any = true;
            *slot = Some(percent_decode(value).unwrap_or_else(|| value.to_string()));
        }
        any.then_some(p)
    }
}

fn query_error(message: &'static str) -> S3Error {
    S3Error::with_message(S3ErrorCode::AuthorizationQueryParametersError, message)
}

/// Checks a presigned request (the `X-Amz-Expires` bounds are checked by the caller).
pub fn check_presigned(
    p: &PresignedParams,
    headers: &HeaderMap,
    region: &str,
) -> Result<(), S3Error> {
    if headers.contains_key(http::header::AUTHORIZATION) {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        ));
    }
    let (Some(algorithm), Some(credential), Some(date), Some(_), Some(signed), Some(_)) = (
        &p.algorithm,
        &p.credential,
        &p.date,
        &p.expires,
        &p.signed_headers,
        &p.signature,
    ) else {
        return Err(query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        ));
    };
    if algorithm != ALGORITHM {
        return Err(query_error(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        ));
    }
    check_scope(Kind::Presigned, credential, Some(date), region)?;
    let missing = unsigned_headers(headers, signed);
    if !missing.is_empty() {
        return Err(not_signed(&missing));
    }
    Ok(())
}

/// Decodes `%XX` escapes (not `+`); None for a malformed escape or invalid UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether every `%` of a request path starts a `%XX` escape and the decoded path is UTF-8.
pub fn path_is_well_encoded(path: &str) -> bool {
    percent_decode(path).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=abc";

    fn headers(extra: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", "h".parse().unwrap());
        h.insert("x-amz-date", "20250101T000000Z".parse().unwrap());
        h.insert(CONTENT_SHA256, "UNSIGNED-PAYLOAD".parse().unwrap());
        for (k, v) in extra {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn code(r: Result<(), S3Error>) -> Option<S3ErrorCode> {
        r.err().map(|e| e.code().clone())
    }

    #[test]
    fn a_sound_header_auth_passes() {
        assert_eq!(
            code(check_header_auth(AUTH, &headers(&[]), "us-east-1")),
            None
        );
        // Without spaces after the commas, as some clients send it.
        let tight = AUTH.replace(", ", ",");
        assert_eq!(
            code(check_header_auth(&tight, &headers(&[]), "us-east-1")),
            None
        );
    }

    #[test]
    fn wrong_scopes_are_malformed() {
        let h = headers(&[]);
        for bad in [
            AUTH.replace("us-east-1", "eu-west-1"),
            AUTH.replace("/s3/", "/sts/"),
            AUTH.replace("/s3/", "/ec2/"),
            AUTH.replace("20250101", "20241231"),
            AUTH.replace("aws4_request", "aws5_request"),
            AUTH.replace("AK/", "AK/x/"),
            AUTH.replace("20250101", "2025010"),
            AUTH.replace(", Signature=abc", ""),
            "AWS4-HMAC-SHA256".to_string(),
        ] {
            assert_eq!(
                code(check_header_auth(&bad, &h, "us-east-1")),
                Some(S3ErrorCode::AuthorizationHeaderMalformed),
                "{bad}"
            );
        }
        assert_eq!(
            code(check_header_auth(
                &AUTH.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"),
                &h,
                "us-east-1"
            )),
            Some(S3ErrorCode::InvalidArgument)
        );
        assert_eq!(
            code(check_header_auth("Bearer x", &h, "us-east-1")),
            Some(S3ErrorCode::InvalidArgument)
        );
    }

    #[test]
    fn unsigned_amz_headers_are_refused() {
        let h = headers(&[("x-amz-meta-a", "1")]);
        let err = check_header_auth(AUTH, &h, "us-east-1").unwrap_err();
        assert_eq!(err.code(), &S3ErrorCode::AccessDenied);
        assert!(err.message().unwrap().contains("x-amz-meta-a"));
        let signed = AUTH.replace("x-amz-date,", "x-amz-date;x-amz-meta-a,");
        assert_eq!(code(check_header_auth(&signed, &h, "us-east-1")), None);
        // x-amz-content-sha256 may be left out; host may not.
        let no_sha = AUTH.replace(";x-amz-content-sha256", "");
        assert_eq!(
            code(check_header_auth(&no_sha, &headers(&[]), "us-east-1")),
            None
        );
        let no_host = AUTH.replace("host;", "");
        assert_eq!(
            code(check_header_auth(&no_host, &headers(&[]), "us-east-1")),
            Some(S3ErrorCode::AccessDenied)
        );
    }

    const QUERY: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00";

    fn presigned(query: &str, h: &HeaderMap) -> Option<S3ErrorCode> {
        let p = PresignedParams::of_query(query).unwrap();
        code(check_presigned(&p, h, "us-east-1"))
    }

    #[test]
    fn presigned_checks() {
        let mut h = HeaderMap::new();
        h.insert("host", "h".parse().unwrap());
        assert_eq!(presigned(QUERY, &h), None);
        assert!(PresignedParams::of_query("list-type=2").is_none());
        for bad in [
            QUERY.replace("us-east-1", "mars-1"),
            QUERY.replace("%2Fs3%2F", "%2Fsts%2F"),
            QUERY.replace("AK%2F20250101", "AK%2F20250102"),
            QUERY.replace("&X-Amz-Date=20250101T000000Z", ""),
            QUERY.replace("&X-Amz-SignedHeaders=host", ""),
            QUERY.replace("SHA256&", "SHA512&"),
        ] {
            assert_eq!(
                presigned(&bad, &h),
                Some(S3ErrorCode::AuthorizationQueryParametersError),
                "{bad}"
            );
        }
        h.insert("x-amz-meta-a", "1".parse().unwrap());
        assert_eq!(presigned(QUERY, &h), Some(S3ErrorCode::AccessDenied));
        let signed = QUERY.replace("SignedHeaders=host", "SignedHeaders=host%3Bx-amz-meta-a");
        assert_eq!(presigned(&signed, &h), None);
        h.insert(CONTENT_SHA256, "UNSIGNED-PAYLOAD".parse().unwrap());
        assert_eq!(presigned(&signed, &h), None);
        h.insert(http::header::AUTHORIZATION, AUTH.parse().unwrap());
        assert_eq!(presigned(&signed, &h), Some(S3ErrorCode::InvalidArgument));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(percent_decode("a+b").as_deref(), Some("a+b"));
        assert_eq!(percent_decode("%C3%A9").as_deref(), Some("\u{e9}"));
        for bad in ["%", "%z1", "a%2", "%FF", "%C3%28", "%ED%A0%80", "%C0%AF"] {
            assert!(!path_is_well_encoded(bad), "{bad}");
        }
        assert!(path_is_well_encoded("/b/k%20%252F"));
    }
}
