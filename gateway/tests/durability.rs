//! The gateway's side of the durability engine, against the in-memory fakes: hedged reads
//! around a stalled replica, a 503 naming the chunk for data with no healthy replica (whole,
//! ranged and partNumber GETs; HEAD still answers), and the `/metrics` scrape.

mod common;

use common::{data, Req, TestCluster, CHUNK};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use trireme_api::meta::BadReplicaKind;

/// Long enough that a read waiting for it would fail the timing checks below.
const STALL_MS: u64 = 20_000;

async fn hedging_cluster() -> TestCluster {
    TestCluster::start_tuned(3, 3, None, |c| {
        c.read_hedge = Some(Duration::from_millis(100));
    })
    .await
}

#[tokio::test]
async fn a_stalled_replica_is_hedged_to_the_next() {
    let c = hedging_cluster().await;
    c.put("/bkt", b"").await;
    let body = data(2 * CHUNK + 10, 3);
    assert_eq!(c.put("/bkt/k", &body).await.status, 200);

    // Chunkserver 1 holds the first replica of every chunk (the fake meta's order).
    c.chunkservers[0].stall_ms.store(STALL_MS, Ordering::SeqCst);
    let started = Instant::now();
    let get = c.get("/bkt/k").await;
    let took = started.elapsed();
    assert_eq!(get.status, 200, "{}", get.text());
    assert_eq!(get.body.as_ref(), body.as_slice());
    assert!(
        took < Duration::from_secs(5),
        "the read waited for the stalled replica: {took:?}"
    );
    assert!(c.chunkservers[0].gets.load(Ordering::SeqCst) >= 1);
    assert!(c.metric("trireme_gateway_hedged_reads_total").await >= 1);
    assert!(c.metric("trireme_gateway_hedge_wins_total").await >= 1);

    // A ranged read inside one chunk is hedged the same way.
    let started = Instant::now();
    let part = c
        .send(Req::new("GET", "/bkt/k").header("range", "bytes=100-199"))
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body.as_ref(), &body[100..200]);
    assert!(started.elapsed() < Duration::from_secs(5));
    // A slow replica is not a bad one: nothing was reported.
    assert!(c.meta.lock().bad_reports.is_empty());
    c.stop().await;
}

#[tokio::test]
async fn a_hedge_never_returns_bytes_that_fail_verification() {
    let c = hedging_cluster().await;
    c.put("/bkt", b"").await;
    let body = data(CHUNK, 4);
    assert_eq!(c.put("/bkt/k", &body).await.status, 200);

    // First replica stalls, the hedge lands on a lying replica, the third is good.
    c.chunkservers[0].stall_ms.store(STALL_MS, Ordering::SeqCst);
    c.chunkservers[1].garble.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let get = c.get("/bkt/k").await;
    assert_eq!(get.status, 200, "{}", get.text());
    assert_eq!(get.body.as_ref(), body.as_slice());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(c.chunkservers[2].gets.load(Ordering::SeqCst) >= 1);
    assert!(c.metric("trireme_gateway_replica_failovers_total").await >= 1);

    // The lying replica is reported, as a suspect (its holder has to confirm it).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reports = c.meta.lock().bad_reports.clone();
        if let Some(r) = reports.iter().find(|r| r.replica.chunkserver == 2) {
            assert_eq!(r.kind, BadReplicaKind::Suspect);
            break;
        }
        assert!(Instant::now() < deadline, "no report: {reports:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        c.metric("trireme_gateway_bad_replicas_reported_total")
            .await
            >= 1
    );
    c.stop().await;
}

#[tokio::test]
async fn chunks_without_replicas_are_a_503_before_any_byte() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    let body = data(3 * CHUNK, 8);
    assert_eq!(c.put("/bkt/k", &body).await.status, 200);
    // The second chunk has lost every replica; the object is read as parts 64K + 128K.
    let lost = {
        let mut s = c.meta.lock();
        let rec = s.objects.get_mut(&("bkt".into(), "k".into())).unwrap();
        rec.chunks[1].replicas.clear();
        rec.part_sizes = vec![CHUNK as u64, 2 * CHUNK as u64];
        rec.chunks[1].id.to_string()
    };
    let gets_before: usize = c
        .chunkservers
        .iter()
        .map(|cs| cs.gets.load(Ordering::SeqCst))
        .sum();

    let check_503 = |r: &common::Resp| {
        assert_eq!(r.status, 503, "{}", r.text());
        assert_eq!(r.code(), "ServiceUnavailable");
        let text = r.text();
        assert!(
            text.contains(&lost),
            "the message does not name the chunk: {text}"
        );
        assert!(text.contains("trireme repair lost"), "{text}");
    };
    check_503(&c.get("/bkt/k").await);
    let range = format!("bytes={}-{}", CHUNK - 10, CHUNK + 10);
    check_503(
        &c.send(Req::new("GET", "/bkt/k").header("range", &range))
            .await,
    );
    check_503(
        &c.send(Req::new("GET", "/bkt/k").query("partNumber", "2"))
            .await,
    );
    let gets_after: usize = c
        .chunkservers
        .iter()
        .map(|cs| cs.gets.load(Ordering::SeqCst))
        .sum();
    assert_eq!(
        gets_before, gets_after,
        "a chunkserver was read for a lost object"
    );

    // Ranges and parts that avoid the lost chunk still read.
    let first = c
        .send(Req::new("GET", "/bkt/k").header("range", "bytes=0-99"))
        .await;
    assert_eq!(first.status, 206);
    assert_eq!(first.body.as_ref(), &body[..100]);
    let part1 = c
        .send(Req::new("GET", "/bkt/k").query("partNumber", "1"))
        .await;
    assert_eq!(part1.status, 206);
    assert_eq!(part1.body.as_ref(), &body[..CHUNK]);
    let tail = format!("bytes={}-", 2 * CHUNK);
    let last = c
        .send(Req::new("GET", "/bkt/k").header("range", &tail))
        .await;
    assert_eq!(last.status, 206);
    assert_eq!(last.body.as_ref(), &body[2 * CHUNK..]);

    // HEAD answers from the metadata.
    let head = c.send(Req::new("HEAD", "/bkt/k")).await;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length").as_deref(),
        Some((3 * CHUNK).to_string().as_str())
    );
    assert!(c.metric("trireme_gateway_unreadable_chunks_total").await >= 3);
    c.stop().await;
}

#[tokio::test]
async fn every_replica_failing_is_a_503_naming_the_chunk() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    assert_eq!(c.put("/bkt/k", &data(100, 1)).await.status, 200);
    let chunk = c.meta.lock().objects[&("bkt".to_string(), "k".to_string())].chunks[0]
        .id
        .to_string();
    for cs in &c.chunkservers {
        cs.corrupt.store(true, Ordering::SeqCst);
    }
    let get = c.get("/bkt/k").await;
    assert_eq!(get.status, 503, "{}", get.text());
    assert!(get.text().contains(&chunk), "{}", get.text());
    assert!(c.metric("trireme_gateway_replica_failovers_total").await >= 3);
    c.stop().await;
}

#[tokio::test]
async fn unsigned_get_metrics_is_a_scrape_and_signed_lists_the_bucket() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    let body = data(1000, 2);
    assert_eq!(c.put("/bkt/k", &body).await.status, 200);
    assert_eq!(c.get("/bkt/k").await.status, 200);
    assert_eq!(c.get("/bkt/missing").await.status, 404);

    let m = c.get_unsigned("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        m.header("content-type")
    );
    let text = m.text();
    for line in [
        "trireme_gateway_requests_total{op=\"PutObject\",status=\"2xx\"} 1",
        "trireme_gateway_requests_total{op=\"CreateBucket\",status=\"2xx\"} 1",
        "trireme_gateway_requests_total{op=\"GetObject\",status=\"2xx\"} 1",
        "trireme_gateway_requests_total{op=\"GetObject\",status=\"4xx\"} 1",
        "# TYPE trireme_gateway_requests_in_flight gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    assert!(c.metric("trireme_gateway_received_bytes_total").await >= 1000);
    assert!(c.metric("trireme_gateway_sent_bytes_total").await >= 1000);
    // Nothing stays in flight once the answers are out.
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.metric("trireme_gateway_requests_in_flight").await != 0 {
        assert!(Instant::now() < deadline, "requests still in flight");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Signed, /metrics is the bucket "metrics".
    let missing = c.get("/metrics").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.code(), "NoSuchBucket");
    assert_eq!(c.put("/metrics", b"").await.status, 200);
    assert_eq!(c.put("/metrics/scraped", b"x").await.status, 200);
    let listed = c.get("/metrics").await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(listed.all("Key"), vec!["scraped".to_string()]);
    // A query signature makes it an S3 request too (refused here: no valid signature).
    let presigned = c
        .get_unsigned("/metrics?X-Amz-Credential=x&X-Amz-Expires=60")
        .await;
    assert_ne!(presigned.status, 200);
    assert!(!presigned.text().contains("trireme_gateway_"));
    // An unsigned scrape still works with the bucket present.
    let scrape = c.get_unsigned("/metrics").await;
    assert!(scrape
        .text()
        .contains("op=\"ListObjects\",status=\"2xx\"} 1"));
    c.stop().await;
}
