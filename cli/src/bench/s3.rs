//! [`S3Client`]: the benchmark's HTTP/1.1 S3 client.
//!
//! hyper 1 (hyper-util's pooled client) over plain TCP with TCP_NODELAY and keep-alive, one
//! idle connection kept per worker; path-style URLs; every request signed with SigV4
//! ([`super::sigv4`]). Bodies are sent as `UNSIGNED-PAYLOAD` unless `sign_payload` asks for
//! their SHA-256. The operations themselves are in [`super::s3_ops`].

use super::body::SliceBody;
use super::sigv4::{self, Credentials, Signer, EMPTY_SHA256, UNSIGNED_PAYLOAD};
use super::xml;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// No TCP connection could be made.
    #[error("cannot connect to {endpoint}: {message}")]
    Connect { endpoint: String, message: String },
    /// The connection failed during the exchange.
    #[error("{0}")]
    Transport(String),
    /// The server answered with an error status.
    #[error("HTTP {status} {code}{}", colon(.message))]
    Http {
        status: u16,
        code: String,
        message: String,
    },
    /// The answer was not what the request should get (length, bytes, missing fields).
    #[error("{0}")]
    Invalid(String),
    /// The operation took longer than the timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

impl S3Error {
    /// The HTTP status of an error answer; None for failures without one.
    pub fn status(&self) -> Option<u16> {
        match self {
            S3Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Where requests go: `http://HOST:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://host:port`, no trailing slash.
    pub base: String,
    /// `host:port` as sent in (and signed with) the Host header.
    pub host: String,
}

impl Endpoint {
    /// Parses `http://host[:port][/]` or `host:port`. HTTPS is refused with a message.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let t = url.trim();
        let rest = if let Some(r) = t.strip_prefix("http://") {
            r
        } else if t.starts_with("https://") {
            return Err(format!(
                "{url}: trireme bench speaks plain HTTP only (benchmark TLS endpoints \
                 through a local plain-HTTP listener or terminate TLS elsewhere)"
            ));
        } else if t.contains("://") {
            return Err(format!("{url}: not an http:// URL"));
        } else {
            t
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.starts_with(':') || rest.contains('/') || rest.contains('?') {
            return Err(format!(
                "{url}: expected http://HOST[:PORT] (path-style requests go to /BUCKET/KEY)"
            ));
        }
        let uri: http::Uri = format!("http://{rest}/")
            .parse()
            .map_err(|e| format!("{url}: {e}"))?;
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{url}: no host"))?
            .to_string();
        // The part after the last ':' outside IPv6 brackets is the port.
        if let Some((_, port)) = authority.rsplit_once(':').filter(|(_, p)| !p.contains(']')) {
            port.parse::<u16>()
                .map_err(|_| format!("{url}: {port:?} is not a port"))?;
        }
        Ok(Endpoint {
            base: format!("http://{authority}"),
            host: authority,
        })
    }
}

/// A pooled, signing S3 client. Cheap to share (`&S3Client` from every worker).
pub struct S3Client {
    http: Client<HttpConnector, SliceBody>,
    pub endpoint: Endpoint,
    signer: Signer,
    sign_payload: bool,
    requests: AtomicU64,
}

impl S3Client {
    /// `connections`: how many idle connections to keep (one per worker and part in flight).
    pub fn new(
        endpoint: Endpoint,
        creds: Credentials,
        sign_payload: bool,
        connections: usize,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_keepalive(Some(Duration::from_secs(60)));
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(connections.max(1))
            .build(connector);
        S3Client {
            http,
            endpoint,
            signer: Signer::new(creds),
            sign_payload,
            requests: AtomicU64::new(0),
        }
    }

    /// HTTP requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Signs and sends one request; an error status becomes [`S3Error::Http`] (with the
    /// S3 error code and message of its body). `path` is `/bucket[/key]`, not yet encoded.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: SliceBody,
    ) -> Result<Response<Incoming>, S3Error> {
        let path = sigv4::uri_encode(path, false);
        let payload_hash = if body.is_empty() {
            EMPTY_SHA256.to_string()
        } else if self.sign_payload {
            sigv4::payload_sha256(body.parts().map(|b| &b[..]))
        } else {
            UNSIGNED_PAYLOAD.to_string()
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let amz_date = sigv4::amz_date(now);
        let headers = [
            ("host", self.endpoint.host.as_str()),
            ("x-amz-content-sha256", payload_hash.as_str()),
            ("x-amz-date", amz_date.as_str()),
        ];
        let authorization = self.signer.authorization(&sigv4::Request {
            method: method.as_str(),
            path: &path,
            query,
            headers: &headers,
            payload_hash: &payload_hash,
            amz_date: &amz_date,
        });
        let mut uri = format!("{}{path}", self.endpoint.base);
        for (i, (k, v)) in query.iter().enumerate() {
            uri.push(if i == 0 { '?' } else { '&' });
            uri.push_str(&sigv4::uri_encode(k, true));
            if !v.is_empty() {
                uri.push('=');
                uri.push_str(&sigv4::uri_encode(v, true));
            }
        }
        let len = body.len();
        let mut builder = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            builder = builder.header(k, v);
        }
        let req = builder
            .header("authorization", authorization)
            .header("content-length", len)
            .body(body)
            .map_err(|e| S3Error::Invalid(format!("cannot build the request: {e}")))?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = self.http.request(req).await.map_err(|e| {
            let message = error_chain(&e);
            if e.is_connect() {
                S3Error::Connect {
                    endpoint: self.endpoint.base.clone(),
                    message,
                }
            } else {
                S3Error::Transport(message)
            }
        })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(error_from(resp).await)
    }
}

fn colon(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// The message of an error and of its sources, joined with ": ".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let m = s.to_string();
        if !msg.contains(&m) {
            msg.push_str(": ");
            msg.push_str(&m);
        }
        src = s.source();
    }
    msg
}

/// Reads a whole (small) response body.
pub async fn read_body(resp: Response<Incoming>) -> Result<Bytes, S3Error> {
    resp.into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| S3Error::Transport(format!("reading the response: {}", error_chain(&e))))
}

/// [`S3Error::Http`] for an error response, with the S3 code and message when the body has
/// them (HEAD answers have no body: the status text stands in).
async fn error_from(resp: Response<Incoming>) -> S3Error {
    let status = resp.status();
    let body = read_body(resp).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let code = xml::tag(&text, "Code").unwrap_or_else(|| default_code(status));
    let message = xml::tag(&text, "Message").unwrap_or_default();
    S3Error::Http {
        status: status.as_u16(),
        code,
        message: crate::error::one_line(&message),
    }
}

fn default_code(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => "NotFound".into(),
        StatusCode::FORBIDDEN => "Forbidden".into(),
        s => s.canonical_reason().unwrap_or("Error").replace(' ', ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:9000/").expect("parses");
        assert_eq!(e.base, "http://127.0.0.1:9000");
        assert_eq!(e.host, "127.0.0.1:9000");
        assert_eq!(
            Endpoint::parse("localhost:9000").expect("parses").base,
            "http://localhost:9000"
        );
        assert_eq!(
            Endpoint::parse("http://[::1]:9000").expect("parses").host,
            "[::1]:9000"
        );
        assert!(Endpoint::parse("https://s3.example.com")
            .expect_err("tls")
            .contains("plain HTTP"));
        for bad in [
            "",
            "http://",
            "http://h:9000/bucket",
            "ftp://h",
            "http://h:x",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn http_errors_print_status_code_and_message() {
        let e = S3Error::Http {
            status: 404,
            code: "NoSuchKey".into(),
            message: String::new(),
        };
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.to_string(), "HTTP 404 NoSuchKey");
        let e = S3Error::Http {
            status: 503,
            code: "SlowDown".into(),
            message: "Please reduce your request rate.".into(),
        };
        assert_eq!(
            e.to_string(),
            "HTTP 503 SlowDown: Please reduce your request rate."
        );
        assert_eq!(S3Error::Transport("reset".into()).status(), None);
    }
}
