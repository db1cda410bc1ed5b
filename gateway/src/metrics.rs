//! The gateway's counters and their Prometheus text (`GET /metrics` on the S3 listener).
//!
//! `/metrics` is served only to an unsigned request (no `Authorization` header, no
//! `X-Amz-*` query parameter): a signed `GET /metrics` is still ListObjects of the bucket
//! `metrics`. The text format is written by hand (version 0.0.4), no client library.
//!
//! Requests are counted by S3 operation (the name s3s resolved, recorded by the access check
//! through an [`OpSlot`] in the request extensions; `unknown` when the request failed before,
//! e.g. a bad signature) and by HTTP status class. Body bytes are counted as they pass, so a
//! streamed GET counts what was actually sent.

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

/// The `Content-Type` of the metrics text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every counter of one gateway.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (operation, status class) -> requests.
    requests: Mutex<BTreeMap<(String, &'static str), u64>>,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
    in_flight: AtomicI64,
    /// Chunk reads sent to another replica because the first had not answered in time.
    hedged_reads: AtomicU64,
    /// Hedged reads whose answer was used (the hedge beat the slow replica).
    hedge_wins: AtomicU64,
    /// Replica reads that failed (error, short answer, failed verification).
    replica_failovers: AtomicU64,
    /// Bad replicas reported to the meta leader.
    bad_replicas_reported: AtomicU64,
    /// Chunk reads that no replica could serve (the client got a 503 or a cut body).
    unreadable_chunks: AtomicU64,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Metrics::default())
    }

    /// Counts one answered request.
    pub fn record(&self, op: &str, status: u16) {
        let class = match status / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        };
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((op.to_string(), class)).or_insert(0) += 1;
    }

    pub fn hedged_read(&self) {
        self.hedged_reads.fetch_add(1, Ordering::Relaxed);
    }

    pub fn hedge_won(&self) {
        self.hedge_wins.fetch_add(1, Ordering::Relaxed);
    }

    pub fn replica_failover(&self) {
        self.replica_failovers.fetch_add(1, Ordering::Relaxed);
    }

    pub fn bad_replica_reported(&self) {
        self.bad_replicas_reported.fetch_add(1, Ordering::Relaxed);
    }

    pub fn unreadable_chunk(&self) {
        self.unreadable_chunks.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request in flight until the returned guard is dropped.
    pub fn in_flight(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::new();
        header(
            &mut out,
            "trireme_gateway_requests_total",
            "counter",
            "S3 requests answered, by operation and HTTP status class.",
        );
        let requests = self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for ((op, class), n) in requests {
            let _ = writeln!(
                out,
                "trireme_gateway_requests_total{{op=\"{}\",status=\"{class}\"}} {n}",
                escape_label(&op)
            );
        }
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let md5 = trireme_md5::stats();
        let counters: [(&str, &str, u64); 11] = [
            (
                "trireme_gateway_received_bytes_total",
                "Request body bytes received from S3 clients.",
                load(&self.bytes_received),
            ),
            (
                "trireme_gateway_sent_bytes_total",
                "Response body bytes sent to S3 clients.",
                load(&self.bytes_sent),
            ),
            (
                "trireme_gateway_hedged_reads_total",
                "Chunk reads also sent to another replica because the first had not answered within read_hedge_ms.",
                load(&self.hedged_reads),
            ),
            (
                "trireme_gateway_hedge_wins_total",
                "Hedged reads whose answer was the one used.",
                load(&self.hedge_wins),
            ),
            (
                "trireme_gateway_replica_failovers_total",
                "Chunk replica reads that failed (error, short answer or failed verification) so another replica was read.",
                load(&self.replica_failovers),
            ),
            (
                "trireme_gateway_bad_replicas_reported_total",
                "Replicas reported bad to the meta leader.",
                load(&self.bad_replicas_reported),
            ),
            (
                "trireme_gateway_unreadable_chunks_total",
                "Chunk reads that no replica could serve.",
                load(&self.unreadable_chunks),
            ),
            (
                "trireme_gateway_md5_lane_bytes_total",
                "Body bytes MD5-hashed on the 16-lane AVX-512 or AVX2 kernel (several uploads at once).",
                md5.lane_bytes,
            ),
            (
                "trireme_gateway_md5_lane_slot_bytes_total",
                "Bytes the MD5 kernel could have hashed in the calls it made; lane_bytes / slot_bytes is how full its lanes ran.",
                md5.slot_bytes,
            ),
            (
                "trireme_gateway_md5_solo_bytes_total",
                "Body bytes MD5-hashed by the lanes' thread one stream at a time (too few uploads were busy for a kernel call to pay).",
                md5.solo_bytes,
            ),
            (
                "trireme_gateway_md5_lane_streams_total",
                "Bodies whose MD5 the lanes' thread finished.",
                md5.streams,
            ),
        ];
        for (name, help, value) in counters {
            header(&mut out, name, "counter", help);
            let _ = writeln!(out, "{name} {value}");
        }
        header(
            &mut out,
            "trireme_gateway_requests_in_flight",
            "gauge",
            "S3 requests being served (a streamed body counts until it is sent).",
        );
        let _ = writeln!(
            out,
            "trireme_gateway_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed).max(0)
        );
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Keeps a request counted as in flight while alive.
#[derive(Debug)]
pub struct InFlight(Arc<Metrics>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether a request is a scrape of `/metrics`: `GET /metrics` carrying no signature at all
/// (no `Authorization` header, no `X-Amz-*` query parameter).
pub fn is_scrape(method: &http::Method, uri: &http::Uri, headers: &http::HeaderMap) -> bool {
    if method != http::Method::GET || uri.path() != "/metrics" {
        return false;
    }
    if headers.contains_key(http::header::AUTHORIZATION) {
        return false;
    }
    let query = uri.query().unwrap_or_default();
    !query.split('&').any(|pair| {
        pair.get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"))
    })
}

/// The S3 operation of a request, filled in by the access check (see [`note_operation`]).
#[derive(Clone, Debug, Default)]
pub struct OpSlot(Arc<OnceLock<String>>);

impl OpSlot {
    /// The operation name, or `unknown` if the request never reached the access check.
    pub fn name(&self) -> &str {
        self.0.get().map_or("unknown", String::as_str)
    }
}

/// Records `op` in the request's [`OpSlot`], if it carries one.
pub fn note_operation(extensions: &http::Extensions, op: &str) {
    if let Some(slot) = extensions.get::<OpSlot>() {
        let _ = slot.0.set(op.to_string());
    }
}

/// Which way a [`Counted`] body flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Received,
    Sent,
}

/// A body whose data bytes are added to the gateway's byte counters as they pass; it may
/// also hold the request's [`InFlight`] guard until the body is done.
pub struct Counted<B> {
    inner: B,
    metrics: Arc<Metrics>,
    direction: Direction,
    _in_flight: Option<InFlight>,
}

impl<B> Counted<B> {
    pub fn new(
        inner: B,
        metrics: Arc<Metrics>,
        direction: Direction,
        in_flight: Option<InFlight>,
    ) -> Self {
        Counted {
            inner,
            metrics,
            direction,
            _in_flight: in_flight,
        }
    }
}

impl<B> Body for Counted<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                let counter = match self.direction {
                    Direction::Received => &self.metrics.bytes_received,
                    Direction::Sent => &self.metrics.bytes_sent,
                };
                counter.fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(method: &str, uri: &str, auth: bool) -> bool {
        let mut h = http::HeaderMap::new();
        if auth {
            h.insert(
                http::header::AUTHORIZATION,
                "AWS4-HMAC-SHA256 x".parse().unwrap(),
            );
        }
        is_scrape(&method.parse().unwrap(), &uri.parse().unwrap(), &h)
    }

    #[test]
    fn only_unsigned_gets_of_metrics_are_scrapes() {
        assert!(scrape("GET", "/metrics", false));
        assert!(scrape("GET", "/metrics?format=text", false));
        assert!(!scrape("GET", "/metrics", true));
        assert!(!scrape(
            "GET",
            "/metrics?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00",
            false
        ));
        assert!(!scrape("GET", "/metrics?x-amz-credential=a", false));
        assert!(!scrape("HEAD", "/metrics", false));
        assert!(!scrape("GET", "/metrics/", false));
        assert!(!scrape("GET", "/bucket/metrics", false));
    }

    #[test]
    fn text_format() {
        let m = Metrics::new();
        m.record("GetObject", 200);
        m.record("GetObject", 206);
        m.record("GetObject", 503);
        m.record("PutObject", 404);
        m.hedged_read();
        m.replica_failover();
        m.replica_failover();
        let guard = m.in_flight();
        let text = m.render();
        for line in [
            "trireme_gateway_requests_total{op=\"GetObject\",status=\"2xx\"} 2",
            "trireme_gateway_requests_total{op=\"GetObject\",status=\"5xx\"} 1",
            "trireme_gateway_requests_total{op=\"PutObject\",status=\"4xx\"} 1",
            "trireme_gateway_hedged_reads_total 1",
            "trireme_gateway_replica_failovers_total 2",
            "trireme_gateway_bad_replicas_reported_total 0",
            "trireme_gateway_requests_in_flight 1",
            "# TYPE trireme_gateway_sent_bytes_total counter",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        drop(guard);
        assert!(m
            .render()
            .contains("trireme_gateway_requests_in_flight 0\n"));
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn operation_slot() {
        let mut ext = http::Extensions::new();
        let slot = OpSlot::default();
        assert_eq!(slot.name(), "unknown");
        ext.insert(slot.clone());
        note_operation(&ext, "ListObjectsV2");
        assert_eq!(slot.name(), "ListObjectsV2");
    }
}
