//! Trireme patch: narrow entry points for the fuzz targets of the Trireme repository
//! (`fuzz/`), into code that is private to this crate. Each runs the same functions the
//! request path runs on untrusted input (`ops/signature.rs`, `http/aws_chunked_stream.rs`,
//! `http/de.rs`). Not an API: hidden from the docs, and may change with any patch.

use crate::auth::SecretKey;
use crate::error::{S3Result, StdError};
use crate::http::{AwsChunkedStream, OrderedHeaders, OrderedQs};
use crate::sig_v4::{self, AmzContentSha256, AuthorizationV4, Payload, PresignedUrlV4};

use bytes::Bytes;
use futures::stream::Stream;
use hyper::{HeaderMap, Method};

pub use crate::http::AwsChunkedStreamError;
pub use crate::sig_v4::AmzDate;

/// The payload line of a canonical request for an `x-amz-content-sha256` value, as
/// `v4_check_header_auth` picks it (None where it refuses the request).
fn payload_of(v: AmzContentSha256<'_>) -> Option<Payload<'_>> {
    Some(match v {
        AmzContentSha256::StreamingAws4HmacSha256Payload => Payload::MultipleChunks,
        AmzContentSha256::StreamingAws4HmacSha256PayloadTrailer => Payload::MultipleChunksWithTrailer,
        AmzContentSha256::UnsignedPayload => Payload::Unsigned,
        AmzContentSha256::StreamingUnsignedPayloadTrailer => Payload::UnsignedMultipleChunksWithTrailer,
        AmzContentSha256::SingleChunk(c) => Payload::SingleChunk(c),
        AmzContentSha256::StreamingAws4EcdsaP256Sha256Payload | AmzContentSha256::StreamingAws4EcdsaP256Sha256PayloadTrailer => {
            return None;
        }
    })
}

/// A header-signed request (`Authorization: AWS4-HMAC-SHA256 ...`) as
/// `v4_check_header_auth` handles it before comparing signatures: parses `authorization`,
/// `x-amz-date` and `x-amz-content-sha256` and the query, then builds the canonical requests
/// (decoded and raw path) and returns the signature they give under `secret` (None where
/// s3s refuses the request before that).
#[must_use]
pub fn sig_v4_header(method: &Method, decoded_path: &str, raw_path: &str, query: &str, headers: &HeaderMap, secret: &str) -> Option<String> {
    let hs = OrderedHeaders::from_headers(headers);
    let mut auth = AuthorizationV4::parse(hs.get_unique(crate::header::AUTHORIZATION)?).ok()?;
    auth.signed_headers.sort_unstable();
    let amz_date = AmzDate::parse(hs.get_unique(crate::header::X_AMZ_DATE)?).ok()?;
    if auth.credential.date != amz_date.fmt_date().as_str() {
        return None;
    }
    let _ = amz_date.to_time();
    let payload = payload_of(AmzContentSha256::parse(hs.get_unique(crate::header::X_AMZ_CONTENT_SHA256)?).ok()?)?;
    let qs = if query.is_empty() { None } else { Some(OrderedQs::parse(query).ok()?) };
    let query_strings: &[(String, String)] = qs.as_ref().map_or(&[], AsRef::as_ref);
    let signed = hs.find_multiple_with_on_missing(&auth.signed_headers, |_| None);
    let region = auth.credential.aws_region;
    let service = auth.credential.aws_service;
    let secret = SecretKey::from(secret);
    let decoded = sig_v4::create_canonical_request(method, decoded_path, query_strings, &signed, payload);
    let raw = sig_v4::create_canonical_request_with_raw_uri_path(method, raw_path, query_strings, &signed, payload);
    let _ = sig_v4::calculate_signature(&sig_v4::create_string_to_sign(&raw, &amz_date, region, service), &secret, &amz_date, region, service);
    let string_to_sign = sig_v4::create_string_to_sign(&decoded, &amz_date, region, service);
    Some(sig_v4::calculate_signature(&string_to_sign, &secret, &amz_date, region, service))
}

/// A presigned request (`X-Amz-Signature` in the query) as `v4_check_presigned_url` handles
/// it before comparing signatures; the signature under `secret`, or None where s3s refuses
/// the request before that.
#[must_use]
pub fn sig_v4_presigned(method: &Method, decoded_path: &str, raw_path: &str, query: &str, headers: &HeaderMap, secret: &str) -> Option<String> {
    let qs = OrderedQs::parse(query).ok()?;
    let url = PresignedUrlV4::parse(&qs).ok()?;
    if url.credential.date != url.amz_date.fmt_date().as_str() {
        return None;
    }
    let _ = url.amz_date.to_time()?;
    let hs = OrderedHeaders::from_headers(headers);
    if let Some(v) = hs.get_unique(crate::header::X_AMZ_CONTENT_SHA256) {
        let _ = AmzContentSha256::parse(v).ok()?;
    }
    let signed = hs.find_multiple_with_on_missing(&url.signed_headers, |_| None);
    let region = url.credential.aws_region;
    let service = url.credential.aws_service;
    let secret = SecretKey::from(secret);
    let decoded = sig_v4::create_presigned_canonical_request(method, decoded_path, qs.as_ref(), &signed);
    let raw = sig_v4::create_presigned_canonical_request_with_raw_uri_path(method, raw_path, qs.as_ref(), &signed);
    let _ = sig_v4::create_string_to_sign(&raw, &url.amz_date, region, service);
    let string_to_sign = sig_v4::create_string_to_sign(&decoded, &url.amz_date, region, service);
    Some(sig_v4::calculate_signature(&string_to_sign, &secret, &url.amz_date, region, service))
}

/// The aws-chunked decoder over a body that arrives in `frames`, as `v4_check_header_auth`
/// sets it up (`unsigned`: `STREAMING-UNSIGNED-PAYLOAD-TRAILER`).
#[allow(clippy::too_many_arguments)]
pub fn aws_chunked_stream(
    frames: Vec<Bytes>,
    seed_signature: &str,
    amz_date: AmzDate,
    region: &str,
    service: &str,
    secret: &str,
    decoded_content_length: usize,
    unsigned: bool,
) -> impl Stream<Item = Result<Bytes, AwsChunkedStreamError>> + Send + Sync + 'static {
    let body = futures::stream::iter(frames.into_iter().map(Ok::<Bytes, StdError>));
    AwsChunkedStream::new(
        body,
        seed_signature.into(),
        amz_date,
        region.into(),
        service.into(),
        SecretKey::from(secret),
        decoded_content_length,
        unsigned,
    )
}

/// The signature of one aws-chunked chunk (for building test bodies).
#[must_use]
pub fn chunk_signature(amz_date: &AmzDate, region: &str, service: &str, secret: &str, prev_signature: &str, data: &[u8]) -> String {
    let chunk = [Bytes::copy_from_slice(data)];
    let chunk: &[Bytes] = if data.is_empty() { &[] } else { &chunk };
    let s = sig_v4::create_chunk_string_to_sign(amz_date, region, service, prev_signature, chunk);
    sig_v4::calculate_signature(&s, &SecretKey::from(secret), amz_date, region, service)
}

/// The signature of the trailer block of an aws-chunked body (for building test bodies);
/// `canonical_trailers` is `name:value\n` per trailer, sorted by name.
#[must_use]
pub fn trailer_signature(
    amz_date: &AmzDate,
    region: &str,
    service: &str,
    secret: &str,
    prev_signature: &str,
    canonical_trailers: &[u8],
) -> String {
    let s = sig_v4::create_trailer_string_to_sign(amz_date, region, service, prev_signature, canonical_trailers);
    sig_v4::calculate_signature(&s, &SecretKey::from(secret), amz_date, region, service)
}

/// An XML request body deserialized as the operations deserialize theirs
/// (`http::take_xml_body`: the document, then nothing but whitespace).
///
/// # Errors
/// `MalformedXML`, as the request would be answered.
pub fn deserialize_xml<T>(bytes: &[u8]) -> S3Result<T>
where
    T: for<'xml> crate::xml::Deserialize<'xml>,
{
    crate::http::deserialize_xml(bytes)
}
