//! Checks on a raw request made before s3s sees it, for what s3s 0.14.1 does not refuse
//! itself (see [`crate::auth`] for what it does):
//! - a request path with a malformed `%` escape or invalid UTF-8: 400 InvalidURI;
//! - a presigned SigV4 URL must carry `X-Amz-Expires` in 1..=604800 seconds (s3s accepts
//!   any `u32`): else 400 AuthorizationQueryParametersError, as Amazon S3 answers;
//! - Signature Version 2 (`Authorization: AWS key:sig`, or a `Signature` query parameter)
//!   is refused with 400 InvalidRequest, as Amazon S3 does in SigV4-only regions: s3s
//!   compares V2 signatures with `!=` (not in constant time) and checks no clock skew on
//!   V2 header auth, so a captured V2 request could be replayed forever;
//! - the SigV4 algorithm, credential scope (day, region, service) and signed headers
//!   ([`crate::sigcheck`]).
//!
//! [`Guarded`] wraps the s3s service and answers such requests with an S3 XML error. It also
//! answers the unsigned `GET /metrics` scrape, counts every request ([`crate::metrics`]) and
//! puts the idle timeout of [`crate::timeouts`] on request bodies.

use crate::metrics::{self, Counted, Direction, Metrics, OpSlot};
use crate::sigcheck::{self, PresignedParams};
use crate::timeouts::IdleBody;
use http::{HeaderMap, Method, StatusCode, Uri};
use hyper::body::Incoming;
use s3s::service::S3Service;
use s3s::xml::Serialize as _;
use s3s::{Body, HttpError, HttpResponse, S3Error, S3ErrorCode};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Longest validity of a presigned URL: seven days, as in Amazon S3.
pub const MAX_PRESIGNED_EXPIRES_SECS: u64 = 604_800;

/// Why a request is refused before authentication; `region` is the gateway's.
pub fn precheck(uri: &Uri, headers: &HeaderMap, region: &str) -> Result<(), S3Error> {
    if !sigcheck::path_is_well_encoded(uri.path()) {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidURI,
            "Couldn't parse the specified URI.",
        ));
    }
    let auth = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if auth.is_some_and(|a| a.starts_with("AWS ")) {
        return Err(v2_refused());
    }
    let query = uri.query().unwrap_or_default();
    if query
        .split('&')
        .any(|pair| pair.split_once('=').map_or(pair, |(n, _)| n) == "Signature")
    {
        return Err(v2_refused());
    }
    if let Some(params) = PresignedParams::of_query(query) {
        let ok = params
            .expires
            .as_deref()
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|s| (1..=MAX_PRESIGNED_EXPIRES_SECS).contains(&s));
        if !ok {
            return Err(S3Error::with_message(
                S3ErrorCode::AuthorizationQueryParametersError,
                format!(
                    "X-Amz-Expires must be a number of seconds from 1 to {MAX_PRESIGNED_EXPIRES_SECS}"
                ),
            ));
        }
        return sigcheck::check_presigned(&params, headers, region);
    }
    match auth {
        Some(a) if !a.trim().is_empty() => sigcheck::check_header_auth(a, headers, region),
        _ => Ok(()),
    }
}

fn v2_refused() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::InvalidRequest,
        "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.",
    )
}

/// The S3 XML error response for `err` (no body for HEAD).
pub fn error_response(method: &Method, err: &S3Error) -> HttpResponse {
    let status = err.status_code().unwrap_or(StatusCode::BAD_REQUEST);
    let mut xml = Vec::new();
    let mut ser = s3s::xml::Serializer::new(&mut xml);
    let serialized = ser.decl().and_then(|()| err.serialize(&mut ser)).is_ok();
    let body = if serialized && method != Method::HEAD {
        Body::from(xml)
    } else {
        Body::empty()
    };
    let mut resp = HttpResponse::new(body);
    *resp.status_mut() = status;
    if serialized {
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/xml"),
        );
    }
    resp
}

/// A HEAD that answers for part of an object (`partNumber`, `Range`) is `206 Partial Content`
/// in Amazon S3, like the GET it describes; s3s always answers HeadObject with 200.
pub fn partial_head(mut resp: HttpResponse) -> HttpResponse {
    if resp.status() == http::StatusCode::OK
        && resp.headers().contains_key(http::header::CONTENT_RANGE)
    {
        *resp.status_mut() = http::StatusCode::PARTIAL_CONTENT;
    }
    resp
}

/// The s3s service behind [`precheck`], with the request counters of [`crate::metrics`]
/// and the unsigned `GET /metrics` scrape answered here.
#[derive(Clone)]
pub struct Guarded {
    inner: S3Service,
    metrics: Arc<Metrics>,
    region: Arc<str>,
    body_idle_timeout: Option<Duration>,
}

impl Guarded {
    /// `region`: the one SigV4 scopes must name; `body_idle_timeout`: see
    /// [`crate::timeouts`] (None: no limit).
    pub fn new(
        inner: S3Service,
        metrics: Arc<Metrics>,
        region: &str,
        body_idle_timeout: Option<Duration>,
    ) -> Self {
        Guarded {
            inner,
            metrics,
            region: region.into(),
            body_idle_timeout,
        }
    }
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send>>;

/// The metrics text as a response.
fn scrape_response(metrics: &Metrics) -> HttpResponse {
    let mut resp = HttpResponse::new(Body::from(metrics.render()));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    resp
}

impl hyper::service::Service<http::Request<Incoming>> for Guarded {
    type Response = HttpResponse;
    type Error = HttpError;
    type Future = ResponseFuture;

    fn call(&self, req: http::Request<Incoming>) -> Self::Future {
        if metrics::is_scrape(req.method(), req.uri(), req.headers()) {
            return Box::pin(std::future::ready(Ok(scrape_response(&self.metrics))));
        }
        let metrics = self.metrics.clone();
        let in_flight = metrics.in_flight();
        let slot = OpSlot::default();
        let head = req.method() == Method::HEAD;
        let answer: ResponseFuture = match precheck(req.uri(), req.headers(), &self.region) {
            Ok(()) => {
                let idle = self.body_idle_timeout;
                let mut req = req.map(|b| {
                    let counted = Counted::new(b, metrics.clone(), Direction::Received, None);
                    match idle {
                        Some(t) => Body::http_body(IdleBody::new(counted, t)),
                        None => Body::http_body(counted),
                    }
                });
                req.extensions_mut().insert(slot.clone());
                let inner = self.inner.clone();
                Box::pin(async move {
                    let resp = inner.call(req).await;
                    if head {
                        resp.map(partial_head)
                    } else {
                        resp
                    }
                })
            }
            Err(e) => Box::pin(std::future::ready(Ok(error_response(req.method(), &e)))),
        };
        Box::pin(async move {
            let resp = answer.await;
            match &resp {
                Ok(r) => metrics.record(slot.name(), r.status().as_u16()),
                Err(_) => metrics.record(slot.name(), 500),
            }
            resp.map(|r| {
                r.map(|body| {
                    Body::http_body(Counted::new(
                        body,
                        metrics.clone(),
                        Direction::Sent,
                        Some(in_flight),
                    ))
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str, auth: Option<&str>) -> Result<(), S3ErrorCode> {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(http::header::AUTHORIZATION, a.parse().unwrap());
        }
        precheck(&uri.parse().unwrap(), &h, "us-east-1").map_err(|e| e.code().clone())
    }

    const PRESIGNED: &str = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00";

    #[test]
    fn malformed_paths_are_invalid_uris() {
        for bad in ["/b/%", "/b/k%zz", "/b/%FF", "/b/%C3%28"] {
            assert_eq!(check(bad, None), Err(S3ErrorCode::InvalidURI), "{bad}");
        }
        assert_eq!(check("/b/a%2Fb%20c", None), Ok(()));
    }

    #[test]
    fn presigned_expiry_bounds() {
        assert_eq!(check(&format!("{PRESIGNED}&X-Amz-Expires=1"), None), Ok(()));
        assert_eq!(
            check(&format!("{PRESIGNED}&X-Amz-Expires=604800"), None),
            Ok(())
        );
        for bad in ["0", "604801", "-5", "abc", ""] {
            assert_eq!(
                check(&format!("{PRESIGNED}&X-Amz-Expires={bad}"), None),
                Err(S3ErrorCode::AuthorizationQueryParametersError),
                "{bad}"
            );
        }
        assert_eq!(
            check(PRESIGNED, None),
            Err(S3ErrorCode::AuthorizationQueryParametersError)
        );
    }

    #[test]
    fn partial_heads_are_206() {
        let mut resp = HttpResponse::new(s3s::Body::empty());
        resp.headers_mut()
            .insert(http::header::CONTENT_RANGE, "bytes 0-9/20".parse().unwrap());
        assert_eq!(
            partial_head(resp).status(),
            http::StatusCode::PARTIAL_CONTENT
        );
        let whole = HttpResponse::new(s3s::Body::empty());
        assert_eq!(partial_head(whole).status(), http::StatusCode::OK);
    }

    #[test]
    fn ordinary_requests_pass() {
        assert_eq!(check("/b/k?list-type=2&prefix=x", None), Ok(()));
        assert_eq!(
            check(
                "/b",
                Some("AWS4-HMAC-SHA256 Credential=AK/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
            ),
            Ok(())
        );
    }

    #[test]
    fn signature_v2_is_refused() {
        assert_eq!(
            check("/b/k", Some("AWS AK:c2lnbmF0dXJl")),
            Err(S3ErrorCode::InvalidRequest)
        );
        assert_eq!(
            check("/b/k?AWSAccessKeyId=AK&Expires=1&Signature=x", None),
            Err(S3ErrorCode::InvalidRequest)
        );
    }

    #[test]
    fn error_bodies_are_s3_xml() {
        let e = S3Error::with_message(S3ErrorCode::InvalidRequest, "no <v2>");
        let resp = error_response(&Method::GET, &e);
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let head = error_response(&Method::HEAD, &e);
        assert_eq!(head.status(), StatusCode::BAD_REQUEST);
    }
}
