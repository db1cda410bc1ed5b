//! Recorded S3 operations: every request goes through the benchmark's client
//! ([`crate::bench::s3::S3Client`], SigV4) under a timeout, and is recorded into a
//! [`Recorder`] with its outcome classified the Jepsen way: acknowledged = Ok; a 4xx or a
//! connection that could not be made = Fail (nothing was sent or it was refused); a timeout,
//! a reset or a 5xx = Unknown. A 404 on GET is a read of an absent key.
//!
//! Bodies name their value: they start with `trt:VALUE\n`, then seeded random bytes; a read
//! records the value id its body claims together with the BLAKE3 and size of what arrived.

use crate::bench::body::SliceBody;
use crate::bench::s3::{read_body, Endpoint, S3Client, S3Error};
use crate::bench::sigv4::Credentials;
use crate::bench::xml;
use bytes::Bytes;
use http::Method;
use rand::{Rng, SeedableRng};
use std::time::Duration;
use trireme_torture::{content_hash, OpKind, Outcome, ReadValue, Recorder, ValueId};

/// How long one operation may take before it counts as Unknown.
pub const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// One S3 client per gateway, all recording into one history.
pub struct Clients {
    gateways: Vec<S3Client>,
    pub bucket: String,
    pub recorder: Recorder,
}

/// The body of value `value`: `trt:VALUE\n` then `size` bytes in all (seeded by the value).
pub fn body_of(value: ValueId, size: usize) -> Bytes {
    let head = format!("trt:{value}\n");
    let mut out = head.into_bytes();
    let mut rng = rand::rngs::StdRng::seed_from_u64(value);
    while out.len() < size {
        out.push(rng.gen());
    }
    Bytes::from(out)
}

/// The value id a body claims; 0 (no put writes it) when the body has no valid header.
pub fn value_of(body: &[u8]) -> ValueId {
    let head = &body[..body.len().min(32)];
    head.strip_prefix(b"trt:")
        .and_then(|rest| {
            let end = rest.iter().position(|b| *b == b'\n')?;
            std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
        })
        .unwrap_or(0)
}

/// Jepsen's classification of a failed request.
pub fn classify(e: &S3Error) -> Outcome {
    match e {
        S3Error::Http { status, .. } if (400..500).contains(status) => Outcome::fail(e.to_string()),
        S3Error::Connect { .. } => Outcome::fail(e.to_string()),
        _ => Outcome::unknown(e.to_string()),
    }
}

pub(super) async fn timed<T>(
    f: impl std::future::Future<Output = Result<T, S3Error>>,
) -> Result<T, S3Error> {
    match tokio::time::timeout(OP_TIMEOUT, f).await {
        Ok(r) => r,
        Err(_) => Err(S3Error::Timeout(OP_TIMEOUT)),
    }
}

impl Clients {
    pub fn new(gateways: &[String], creds: &Credentials, bucket: &str, recorder: Recorder) -> Self {
        let gateways = gateways
            .iter()
            .filter_map(|g| Endpoint::parse(g).ok())
            .map(|ep| S3Client::new(ep, creds.clone(), false, 16))
            .collect();
        Clients {
            gateways,
            bucket: bucket.to_string(),
            recorder,
        }
    }

    /// The client of worker `process` (workers are spread over the gateways).
    pub(super) fn gw(&self, process: u64) -> &S3Client {
        &self.gateways[process as usize % self.gateways.len().max(1)]
    }

    pub(super) fn record(&self, process: u64, kind: OpKind) -> trireme_torture::OpHandle {
        // The recorder refuses only ids it handed out twice: a bug, so it panics loudly.
        self.recorder
            .invoke(process, kind)
            .unwrap_or_else(|e| panic!("recording an invocation: {e}"))
    }

    pub(super) fn done(&self, handle: trireme_torture::OpHandle, outcome: Outcome) {
        self.recorder
            .complete(handle, outcome)
            .unwrap_or_else(|e| panic!("recording a completion: {e}"));
    }

    /// A new unique value of `size` bytes for `key`, its PUT recorded as invoked; returns the
    /// handle, the body and the object's path.
    pub(super) fn begin_put(
        &self,
        process: u64,
        key: &str,
        size: usize,
        multipart: bool,
    ) -> (trireme_torture::OpHandle, Bytes, String) {
        let value = self.recorder.next_value();
        let body = body_of(value, size);
        let kind = OpKind::Put {
            key: key.to_string(),
            value,
            hash: content_hash(&body),
            size: body.len() as u64,
            multipart,
        };
        let op = self.record(process, kind);
        (op, body, format!("/{}/{key}", self.bucket))
    }

    /// One request to the object at `path`, timed; the body of the answer.
    async fn object_request(
        &self,
        process: u64,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> Result<Bytes, S3Error> {
        let body = match body.is_empty() {
            true => SliceBody::empty(),
            false => SliceBody::new(vec![body]),
        };
        timed(async {
            let resp = self.gw(process).send(method, path, &[], body).await?;
            read_body(resp).await
        })
        .await
    }

    /// PUT of a new unique value of `size` bytes.
    pub async fn put(&self, process: u64, key: &str, size: usize) -> Outcome {
        let (op, body, path) = self.begin_put(process, key, size, false);
        let r = self.object_request(process, Method::PUT, &path, body).await;
        let outcome = r.map_or_else(|e| classify(&e), |_| Outcome::written());
        self.done(op, outcome.clone());
        outcome
    }

    /// GET, recording the value the body claims and the hash of what arrived.
    pub async fn get(&self, process: u64, key: &str) -> Outcome {
        let op = self.record(process, OpKind::Get { key: key.into() });
        let path = format!("/{}/{key}", self.bucket);
        let r = self
            .object_request(process, Method::GET, &path, Bytes::new())
            .await;
        let outcome = match r {
            Ok(body) => Outcome::read(Some(ReadValue {
                value: value_of(&body),
                hash: content_hash(&body),
                size: body.len() as u64,
            })),
            Err(e) if e.status() == Some(404) => Outcome::read(None),
            Err(e) => classify(&e),
        };
        self.done(op, outcome.clone());
        outcome
    }

    pub async fn delete(&self, process: u64, key: &str) -> Outcome {
        let op = self.record(process, OpKind::Delete { key: key.into() });
        let path = format!("/{}/{key}", self.bucket);
        let r = self
            .object_request(process, Method::DELETE, &path, Bytes::new())
            .await;
        let outcome = r.map_or_else(|e| classify(&e), |_| Outcome::written());
        self.done(op, outcome.clone());
        outcome
    }

    /// Every key under `prefix` (all pages of one ListObjectsV2 listing).
    pub async fn list(&self, process: u64, prefix: &str) -> Outcome {
        let op = self.record(
            process,
            OpKind::List {
                prefix: prefix.into(),
            },
        );
        let r = timed(self.list_all(process, prefix)).await;
        let outcome = r.map_or_else(|e| classify(&e), Outcome::listed);
        self.done(op, outcome.clone());
        outcome
    }

    async fn list_all(&self, process: u64, prefix: &str) -> Result<Vec<String>, S3Error> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        let path = format!("/{}", self.bucket);
        loop {
            let mut query = vec![("list-type", "2"), ("prefix", prefix)];
            if let Some(t) = &token {
                query.push(("continuation-token", t.as_str()));
            }
            let resp = self
                .gw(process)
                .send(Method::GET, &path, &query, SliceBody::empty())
                .await?;
            let text = String::from_utf8_lossy(&read_body(resp).await?).into_owned();
            if !text.contains("<ListBucketResult") {
                return Err(S3Error::Invalid("not a listing".into()));
            }
            keys.extend(all_tags(&text, "Key"));
            let truncated = xml::tag(&text, "IsTruncated").as_deref() == Some("true");
            match xml::tag(&text, "NextContinuationToken").filter(|_| truncated) {
                Some(t) => token = Some(t),
                None if truncated => {
                    return Err(S3Error::Invalid("truncated without a token".into()))
                }
                None => return Ok(keys),
            }
        }
    }

    /// HEAD of the bucket through gateway `index`: is it serving?
    pub async fn probe(&self, index: usize) -> Result<(), S3Error> {
        let gw = self
            .gateways
            .get(index)
            .ok_or_else(|| S3Error::Invalid("no such gateway".into()))?;
        let path = format!("/{}", self.bucket);
        timed(async {
            let resp = gw
                .send(Method::HEAD, &path, &[], SliceBody::empty())
                .await?;
            read_body(resp).await.map(drop)
        })
        .await
    }

    /// CreateBucket through the first gateway.
    pub async fn create_bucket(&self) -> Result<(), S3Error> {
        let gw = self.gw(0);
        timed(gw.create_bucket(&self.bucket, "us-east-1")).await
    }

    pub fn gateways(&self) -> usize {
        self.gateways.len()
    }
}

/// The unescaped text of every `<name>` element.
pub fn all_tags(doc: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(len) = after.find(&close) else {
            break;
        };
        out.push(xml::unescape(&after[..len]));
        rest = &after[len + close.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_name_their_value() {
        let b = body_of(42, 1000);
        assert_eq!(b.len(), 1000);
        assert_eq!(value_of(&b), 42);
        assert_eq!(body_of(42, 1000), b, "deterministic");
        assert_ne!(body_of(43, 1000)[8..], b[8..]);
        assert_eq!(value_of(b"garbage"), 0);
        assert_eq!(value_of(b""), 0);
        assert_eq!(
            value_of(&body_of(7, 0)),
            7,
            "a tiny body is just its header"
        );
    }

    #[test]
    fn outcomes_are_classified() {
        let http = |status| S3Error::Http {
            status,
            code: "X".into(),
            message: String::new(),
        };
        assert!(matches!(classify(&http(403)), Outcome::Fail { .. }));
        assert!(matches!(classify(&http(503)), Outcome::Unknown { .. }));
        assert!(matches!(
            classify(&S3Error::Timeout(OP_TIMEOUT)),
            Outcome::Unknown { .. }
        ));
        assert!(matches!(
            classify(&S3Error::Transport("reset".into())),
            Outcome::Unknown { .. }
        ));
    }

    #[test]
    fn listing_keys() {
        let doc = "<ListBucketResult><Contents><Key>a/1</Key></Contents>\
                   <Contents><Key>a/&amp;2</Key></Contents></ListBucketResult>";
        assert_eq!(all_tags(doc, "Key"), ["a/1", "a/&2"]);
        assert!(all_tags("<x/>", "Key").is_empty());
    }
}
