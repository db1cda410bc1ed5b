//! HTTPS: the gateway terminates TLS with a certificate from its config; a client that
//! trusts the (self-signed, generated here) certificate creates a bucket, writes and reads
//! an object over it.

mod common;

use bytes::Bytes;
use common::fakes::{FakeChunkserver, FakeMeta, ACCESS_KEY, SECRET_KEY};
use common::sigv4;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio_rustls::rustls;
use trireme_api::config::{ClusterSettings, GatewayConfigFile};
use trireme_api::ids::DiskId;
use trireme_gateway::GatewayConfig;

/// Starts a gateway (one fake chunkserver, one replica) serving HTTPS with `cert`/`key`.
async fn start_https(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> (
    String,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), trireme_gateway::ServeError>>,
) {
    let meta = FakeMeta::default();
    let cs_addr = FakeChunkserver::default().start().await;
    meta.lock()
        .chunkservers
        .push((1, cs_addr, DiskId("disk0".into())));
    let meta_addr = meta.clone().start().await;
    let file = GatewayConfigFile {
        cluster: ClusterSettings {
            cluster_id: "test".into(),
            secret: "s".into(),
        },
        listen: "127.0.0.1:0".into(),
        meta: vec![meta_addr],
        region: "us-east-1".into(),
        domain: None,
        chunk_size: common::CHUNK as u64,
        replicas: 1,
        ready_file: None,
        tls_cert: Some(cert.to_path_buf()),
        tls_key: Some(key.to_path_buf()),
        read_hedge_ms: 500,
        inline_max_bytes: 0,
        header_read_timeout_ms: 20_000,
        body_idle_timeout_ms: 30_000,
    };
    let config = GatewayConfig::from_file(file).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(trireme_gateway::run(config, listener, async move {
        let _ = rx.await;
    }));
    (format!("localhost:{port}"), tx, task)
}

/// A TLS client that trusts only `cert`.
fn connector(cert: &rcgen::Certificate) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Sends one signed request on a new TLS connection; returns the status and body.
async fn send(
    tls: &tokio_rustls::TlsConnector,
    host: &str,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, Bytes) {
    let port = host.rsplit(':').next().unwrap();
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tls.connect(name, tcp).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let signed = sigv4::sign(
        method,
        host,
        path,
        &[],
        &[],
        &sigv4::sha256_hex(body),
        ACCESS_KEY,
        SECRET_KEY,
        "us-east-1",
    );
    let mut req = http::Request::builder().method(method).uri(path);
    for (k, v) in &signed.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

#[tokio::test]
async fn serves_s3_over_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let (host, stop, task) = start_https(&cert, &key).await;
    let tls = connector(&ck.cert);

    assert_eq!(send(&tls, &host, "PUT", "/secure", b"").await.0, 200);
    let data = common::data(3 * common::CHUNK + 17, 9);
    let (status, body) = send(&tls, &host, "PUT", "/secure/obj", &data).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, body) = send(&tls, &host, "GET", "/secure/obj", b"").await;
    assert_eq!(status, 200);
    assert_eq!(&body[..], &data[..]);

    // Plain HTTP on the TLS port gets no S3 answer.
    let port = host.rsplit(':').next().unwrap();
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status().as_u16() != 200));

    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_bad_certificate_file_fails_startup() {
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert, "not a certificate").unwrap();
    std::fs::write(&key, "not a key").unwrap();
    let (_, _stop, task) = start_https(&cert, &key).await;
    let err = task.await.unwrap().unwrap_err();
    assert!(matches!(err, trireme_gateway::ServeError::Tls(_)), "{err}");
}
