//! Test harness: a gateway served by `trireme_gateway::run` on port 0 against a fake
//! meta-server and fake chunkservers, and a small signed S3 client.

#![allow(dead_code)]

pub mod fake_mpu;
pub mod fakes;
pub mod sigv4;

use bytes::Bytes;
use fakes::{FakeChunkserver, FakeMeta, ACCESS_KEY, SECRET_KEY};
use reqwest::header::HeaderMap;
use tokio::sync::oneshot;
use trireme_api::config::{ClusterSettings, GatewayConfigFile};
use trireme_api::ids::DiskId;
use trireme_gateway::GatewayConfig;

pub const CHUNK: usize = 64 * 1024;

pub struct TestCluster {
    pub meta: FakeMeta,
    pub chunkservers: Vec<FakeChunkserver>,
    pub addr: String,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), trireme_gateway::ServeError>>>,
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    /// The S3 error code in an XML error body.
    pub fn code(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        match (text.find("<Code>"), text.find("</Code>")) {
            (Some(a), Some(b)) if b > a => text[a + 6..b].to_string(),
            _ => String::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Every `<tag>value</tag>` in the body, in order.
    pub fn all(&self, tag: &str) -> Vec<String> {
        let text = self.text();
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let mut out = Vec::new();
        let mut rest = text.as_str();
        while let Some(a) = rest.find(&open) {
            let after = &rest[a + open.len()..];
            let Some(b) = after.find(&close) else { break };
            out.push(after[..b].to_string());
            rest = &after[b + close.len()..];
        }
        out
    }
}

/// One S3 request to send.
pub struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Vec<(&'a str, &'a str)>,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: Vec<u8>,
    /// Overrides the signed `x-amz-content-sha256` (default: the body's SHA-256).
    pub payload_hash: Option<String>,
    pub access_key: &'a str,
    pub secret_key: &'a str,
    /// Overrides the Host header (virtual-hosted style).
    pub host: Option<String>,
}

impl<'a> Req<'a> {
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Req {
            method,
            path,
            query: vec![],
            headers: vec![],
            body: vec![],
            payload_hash: None,
            access_key: ACCESS_KEY,
            secret_key: SECRET_KEY,
            host: None,
        }
    }

    pub fn query(mut self, k: &'a str, v: &'a str) -> Self {
        self.query.push((k, v));
        self
    }

    pub fn header(mut self, k: &'a str, v: &'a str) -> Self {
        self.headers.push((k, v));
        self
    }

    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Self {
        self.body = b.into();
        self
    }
}

impl TestCluster {
    pub async fn start(n_chunkservers: usize, replicas: u32) -> Self {
        Self::start_with(n_chunkservers, replicas, None).await
    }

    pub async fn start_with(n_chunkservers: usize, replicas: u32, domain: Option<&str>) -> Self {
        Self::start_tuned(n_chunkservers, replicas, domain, |_| {}).await
    }

    /// Like [`Self::start_with`], with the validated config adjusted by `tune` first.
    pub async fn start_tuned(
        n_chunkservers: usize,
        replicas: u32,
        domain: Option<&str>,
        tune: impl FnOnce(&mut GatewayConfig),
    ) -> Self {
        let meta = FakeMeta::default();
        let mut chunkservers = Vec::new();
        for i in 0..n_chunkservers {
            let cs = FakeChunkserver::default();
            let addr = cs.clone().start().await;
            meta.lock()
                .chunkservers
                .push((i as u64 + 1, addr, DiskId(format!("disk{i}"))));
            chunkservers.push(cs);
        }
        let meta_addr = meta.clone().start().await;
        let file = GatewayConfigFile {
            cluster: ClusterSettings {
                cluster_id: "test".into(),
                secret: "s".into(),
            },
            listen: "127.0.0.1:0".into(),
            meta: vec![meta_addr],
            region: "us-east-1".into(),
            domain: domain.map(str::to_string),
            chunk_size: CHUNK as u64,
            replicas,
            ready_file: None,
            tls_cert: None,
            tls_key: None,
            read_hedge_ms: 500,
            // The chunk path under test: no object is stored inline unless a test says so.
            inline_max_bytes: 0,
            header_read_timeout_ms: 20_000,
            body_idle_timeout_ms: 30_000,
        };
        let mut config = GatewayConfig::from_file(file).unwrap();
        config.meta_deadline = std::time::Duration::from_secs(2);
        tune(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(trireme_gateway::run(config, listener, async move {
            let _ = rx.await;
        }));
        TestCluster {
            meta,
            chunkservers,
            addr,
            http: reqwest::Client::builder().build().unwrap(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub async fn send(&self, r: Req<'_>) -> Resp {
        let payload_hash = r
            .payload_hash
            .clone()
            .unwrap_or_else(|| sigv4::sha256_hex(&r.body));
        let host = r.host.clone().unwrap_or_else(|| self.addr.clone());
        let signed = sigv4::sign(
            r.method,
            &host,
            r.path,
            &r.query,
            &r.headers,
            &payload_hash,
            r.access_key,
            r.secret_key,
            "us-east-1",
        );
        let mut url = format!("http://{}{}", self.addr, sigv4::uri_encode(r.path, true));
        if !signed.query.is_empty() {
            url.push('?');
            url.push_str(&signed.query);
        }
        let method = reqwest::Method::from_bytes(r.method.as_bytes()).unwrap();
        let mut b = self.http.request(method, url).body(r.body);
        for (k, v) in &signed.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let resp = b.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Like [`Self::send`], but a body that fails mid-way is returned as an error.
    pub async fn try_send(&self, r: Req<'_>) -> Result<Resp, String> {
        let payload_hash = sigv4::sha256_hex(&r.body);
        let signed = sigv4::sign(
            r.method,
            &self.addr,
            r.path,
            &r.query,
            &r.headers,
            &payload_hash,
            ACCESS_KEY,
            SECRET_KEY,
            "us-east-1",
        );
        let url = format!("http://{}{}", self.addr, sigv4::uri_encode(r.path, true));
        let method = reqwest::Method::from_bytes(r.method.as_bytes()).unwrap();
        let mut b = self.http.request(method, url).body(r.body);
        for (k, v) in &signed.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let resp = b.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| format!("body: {e}"))?;
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    pub async fn put(&self, path: &str, body: &[u8]) -> Resp {
        self.send(Req::new("PUT", path).body(body.to_vec())).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Req::new("GET", path)).await
    }

    /// An unsigned GET (no Authorization header, no query signature).
    pub async fn get_unsigned(&self, path: &str) -> Resp {
        let resp = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap_or_default();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// The value of an unlabelled metric in the gateway's `/metrics` text.
    pub async fn metric(&self, name: &str) -> u64 {
        let text = self.get_unsigned("/metrics").await.text();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no metric {name} in\n{text}"))
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

/// Deterministic test data.
pub fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}
