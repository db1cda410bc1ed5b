//! Disk health end to end: a vanished disk fails and comes back, the test-only delay
//! injector makes a disk suspect, and `/metrics` is valid Prometheus text.

mod common;

use common::*;
use std::fs;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trireme_api::chunk::PullChunk;
use trireme_api::meta::{DiskReport, DiskState};
use trireme_api::ErrorCode;
use trireme_chunkserver::disk::IDENTITY_FILE;
use trireme_chunkserver::fault::DELAY_FILE;

async fn disk(server: &Server, index: usize) -> DiskReport {
    server.status().await.expect("status").disks.remove(index)
}

#[tokio::test]
async fn a_vanished_disk_fails_refuses_writes_and_recovers() {
    let root = tempfile::tempdir().expect("tempdir");
    let dirs = vec![root.path().join("d0"), root.path().join("d1")];
    let server = Server::start(config(dirs.clone(), vec![], None)).await;
    let ids = server.disk_ids().await;
    wait_until("a probe passed", || async {
        disk(&server, 1).await.health.probe_latency_us.is_some()
    })
    .await;
    let identity = fs::read(dirs[1].join(IDENTITY_FILE)).expect("identity");
    // The disk vanishes (an unmount): one atomic rename, so a probe running meanwhile cannot
    // race it (`remove_dir_all` could fail when a probe recreated its file in between).
    let gone = root.path().join("d1-unmounted");
    fs::rename(&dirs[1], &gone).expect("take the disk away");

    wait_until("the disk is failed", || async {
        disk(&server, 1).await.state == DiskState::Failed
    })
    .await;
    let report = disk(&server, 1).await;
    assert!(report.health.consecutive_failures >= 2, "{report:?}");
    assert!(report.health.io_errors >= 2);
    assert!(report.health.reason.is_some() && report.health.last_error.is_some());
    assert_eq!(disk(&server, 0).await.state, DiskState::Healthy);

    let c = client();
    let data = random_bytes(100);
    let chunk = random_chunk();
    let err = c
        .put_chunk(&server.addr, &ids[1], &chunk, &digest(&data), data.clone())
        .await
        .expect_err("a failed disk takes no writes");
    assert_eq!(err.code(), Some(ErrorCode::DiskUnavailable));
    let pull = PullChunk {
        disk: ids[1].clone(),
        chunk: chunk.clone(),
        length: 100,
        blake3: digest(&data),
        sources: vec![],
    };
    let err = c
        .transport()
        .call(&server.addr, &pull)
        .await
        .expect_err("refused");
    assert_eq!(err.code(), Some(ErrorCode::DiskUnavailable));
    c.put_chunk(&server.addr, &ids[0], &chunk, &digest(&data), data.clone())
        .await
        .expect("the other disk works");

    // Nothing recreated the vanished disk's directory (no write lands on the parent
    // filesystem).
    assert!(
        !dirs[1].exists(),
        "the vanished disk's directory was recreated"
    );

    // The disk comes back: healthy again after several good probes in a row.
    fs::create_dir_all(&dirs[1]).expect("mkdir");
    fs::write(dirs[1].join(IDENTITY_FILE), identity).expect("identity");
    wait_until("the disk is healthy again", || async {
        disk(&server, 1).await.state == DiskState::Healthy
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn injected_delay_makes_a_disk_suspect_until_removed() {
    let root = tempfile::tempdir().expect("tempdir");
    let dirs = vec![root.path().join("d0"), root.path().join("d1")];
    let mut cfg = config(dirs.clone(), vec![], None);
    cfg.fault_injection = true;
    cfg.slow_probe = Duration::from_millis(100);
    let server = Server::start(cfg).await;
    let ids = server.disk_ids().await;
    let c = client();
    let chunk = random_chunk();
    let data = random_bytes(1000);
    c.put_chunk(&server.addr, &ids[0], &chunk, &digest(&data), data.clone())
        .await
        .expect("put");

    fs::write(dirs[0].join(DELAY_FILE), "150").expect("inject");
    wait_until("the disk is suspect", || async {
        disk(&server, 0).await.state == DiskState::Suspect
    })
    .await;
    let got = c
        .get_chunk(&server.addr, &ids[0], &chunk, None, None)
        .await
        .expect("slow, but served");
    assert_eq!(got, data);
    let report = disk(&server, 0).await;
    assert!(
        report.health.read_p99_us.is_some_and(|us| us >= 150_000),
        "{report:?}"
    );
    assert!(report.health.reason.is_some());
    assert_eq!(disk(&server, 1).await.state, DiskState::Healthy);
    c.put_chunk(
        &server.addr,
        &ids[0],
        &random_chunk(),
        &digest(&data),
        data.clone(),
    )
    .await
    .expect("a suspect disk still takes writes");

    fs::remove_file(dirs[0].join(DELAY_FILE)).expect("stop injecting");
    wait_until("the disk is healthy again", || async {
        disk(&server, 0).await.state == DiskState::Healthy
    })
    .await;
    server.stop().await;
}

/// `GET path` with no credentials at all; returns (status line, body).
async fn raw_get(addr: &str, path: &str) -> (String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    let (head, body) = out.split_once("\r\n\r\n").expect("a response");
    let status = head.lines().next().unwrap_or_default().to_string();
    (status, body.to_string())
}

/// Checks one exposition line: `name{k="v",...} value`.
fn valid_sample(line: &str) -> bool {
    let (series, value) = match line.rsplit_once(' ') {
        Some(p) => p,
        None => return false,
    };
    if value.parse::<f64>().is_err() {
        return false;
    }
    let (name, labels) = match series.split_once('{') {
        Some((n, rest)) => match rest.strip_suffix('}') {
            Some(l) => (n, l),
            None => return false,
        },
        None => (series, ""),
    };
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    name_ok && valid_labels(labels)
}

fn valid_labels(mut rest: &str) -> bool {
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once("=\"") else {
            return false;
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return false;
        }
        // Find the closing quote, skipping escapes.
        let mut chars = after.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, '\\' | '"' | 'n')) => {}
                    _ => return false,
                },
                '"' => {
                    end = Some(i);
                    break;
                }
                '\n' => return false,
                _ => {}
            }
        }
        let Some(end) = end else { return false };
        rest = &after[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.is_empty() {
            return false;
        }
    }
    true
}

#[test]
fn the_line_checker_rejects_bad_lines() {
    assert!(valid_sample(r#"a_b{x="1",y="q\"\\"} 2.5"#));
    assert!(valid_sample("a 1"));
    assert!(!valid_sample(r#"a{x="1} 2"#));
    assert!(!valid_sample("a{x=1} 2"));
    assert!(!valid_sample("a two"));
    assert!(!valid_sample(r#"a{x="1"y="2"} 2"#));
}

#[tokio::test]
async fn metrics_are_valid_prometheus_text_without_the_secret() {
    let root = tempfile::tempdir().expect("tempdir");
    // A path with a quote and a backslash exercises label escaping.
    let odd = root.path().join("d\"1\\x");
    let dirs = vec![root.path().join("d0"), odd];
    let server = Server::start(config(dirs, vec![], None)).await;
    let ids = server.disk_ids().await;
    let data = random_bytes(3000);
    let chunk = random_chunk();
    let c = client();
    c.put_chunk(&server.addr, &ids[0], &chunk, &digest(&data), data.clone())
        .await
        .expect("put");
    c.get_chunk(&server.addr, &ids[0], &chunk, None, None)
        .await
        .expect("get");

    let (status, body) = raw_get(&server.addr, "/metrics").await;
    assert!(status.contains(" 200 "), "{status}");
    for line in body.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        assert!(valid_sample(line), "bad line: {line:?}");
    }
    let d0 = &ids[0].0;
    for needle in [
        format!("trireme_chunkserver_disk_state{{disk=\"{d0}\","),
        format!("trireme_chunkserver_disk_chunks{{disk=\"{d0}\","),
        format!("trireme_chunkserver_disk_read_chunks_total{{disk=\"{d0}\","),
        "trireme_chunkserver_scrub_bad_found_total 0".to_string(),
        "trireme_chunkserver_worker_items_total{worker=\"health\"}".to_string(),
        "d\\\"1\\\\x".to_string(),
    ] {
        assert!(body.contains(&needle), "missing {needle} in\n{body}");
    }
    let healthy = body
        .lines()
        .filter(|l| {
            l.starts_with("trireme_chunkserver_disk_state{") && l.contains("state=\"healthy\"")
        })
        .filter(|l| l.ends_with(" 1"))
        .count();
    assert_eq!(healthy, 2);
    // Everything else still needs the secret.
    let (status, _) = raw_get(&server.addr, &format!("/v1/chunk/{d0}/{chunk}")).await;
    assert!(status.contains(" 401 "), "{status}");
    server.stop().await;
}
