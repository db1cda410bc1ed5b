//! The gateway end to end against in-memory fakes of the meta-server and chunkservers:
//! SigV4, bucket and object operations, error codes, and the data path's failure handling.

mod common;

use common::fakes::{ACCESS_KEY, SECRET_KEY};
use common::{data, sigv4, Req, TestCluster, CHUNK};
use md5::{Digest, Md5};
use std::sync::atomic::Ordering;

fn md5_hex(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

#[tokio::test]
async fn bucket_lifecycle() {
    let c = TestCluster::start(3, 3).await;
    assert_eq!(c.put("/alpha", b"").await.status, 200);
    let again = c.put("/alpha", b"").await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (409, "BucketAlreadyOwnedByYou")
    );
    let bad = c.put("/Bad_Name", b"").await;
    assert_eq!(
        (bad.status, bad.code().as_str()),
        (400, "InvalidBucketName")
    );

    let list = c.get("/").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.all("Name"), vec!["alpha"]);
    assert!(list.text().contains("<CreationDate>"), "{}", list.text());
    assert_eq!(list.all("ID"), vec![ACCESS_KEY]);

    assert_eq!(c.send(Req::new("HEAD", "/alpha")).await.status, 200);
    assert_eq!(c.send(Req::new("HEAD", "/nope")).await.status, 404);
    let loc = c
        .send(Req::new("GET", "/alpha").query("location", ""))
        .await;
    assert_eq!(loc.status, 200, "{}", loc.text());
    assert!(loc.text().contains("LocationConstraint"), "{}", loc.text());

    assert_eq!(c.put("/alpha/k", b"x").await.status, 200);
    let not_empty = c.send(Req::new("DELETE", "/alpha")).await;
    assert_eq!(
        (not_empty.status, not_empty.code().as_str()),
        (409, "BucketNotEmpty")
    );
    assert_eq!(c.send(Req::new("DELETE", "/alpha/k")).await.status, 204);
    assert_eq!(c.send(Req::new("DELETE", "/alpha")).await.status, 204);
    let gone = c.send(Req::new("DELETE", "/alpha")).await;
    assert_eq!((gone.status, gone.code().as_str()), (404, "NoSuchBucket"));
    c.stop().await;
}

#[tokio::test]
async fn put_get_head_and_ranges() {
    let c = TestCluster::start(4, 3).await;
    assert_eq!(c.put("/bkt", b"").await.status, 200);
    let body = data(3 * CHUNK + 123, 7);
    let put = c
        .send(
            Req::new("PUT", "/bkt/dir/obj.bin")
                .body(body.clone())
                .header("content-type", "application/x-test")
                .header("cache-control", "no-cache")
                .header("content-disposition", "attachment")
                .header("x-amz-meta-color", "blue"),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let etag = format!("\"{}\"", md5_hex(&body));
    assert_eq!(put.header("etag"), Some(etag.clone()));
    {
        let s = c.meta.lock();
        let rec = s
            .objects
            .get(&("bkt".to_string(), "dir/obj.bin".to_string()))
            .unwrap();
        assert_eq!(rec.chunks.len(), 4);
        assert!(rec.chunks.iter().all(|ch| ch.replicas.len() == 3));
        assert_eq!(rec.chunks[3].length, 123);
    }

    let get = c.get("/bkt/dir/obj.bin").await;
    assert_eq!(get.status, 200);
    assert_eq!(get.body.as_ref(), body.as_slice());
    assert_eq!(get.header("etag"), Some(etag.clone()));
    assert_eq!(
        get.header("content-type").as_deref(),
        Some("application/x-test")
    );
    assert_eq!(get.header("cache-control").as_deref(), Some("no-cache"));
    assert_eq!(
        get.header("content-disposition").as_deref(),
        Some("attachment")
    );
    assert_eq!(get.header("x-amz-meta-color").as_deref(), Some("blue"));
    assert_eq!(get.header("accept-ranges").as_deref(), Some("bytes"));
    assert!(get.header("last-modified").unwrap().ends_with("GMT"));

    let head = c.send(Req::new("HEAD", "/bkt/dir/obj.bin")).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some(body.len().to_string()));
    assert_eq!(head.header("x-amz-meta-color").as_deref(), Some("blue"));

    let n = body.len();
    let cases: Vec<(String, std::ops::Range<usize>)> = vec![
        ("bytes=0-0".into(), 0..1),
        (
            format!("bytes={}-{}", CHUNK - 10, CHUNK + 10),
            CHUNK - 10..CHUNK + 11,
        ),
        (format!("bytes={}-", n - 200), n - 200..n),
        ("bytes=-500".into(), n - 500..n),
        (format!("bytes=5-{}", n + 1000), 5..n),
        (format!("bytes=0-{}", n - 1), 0..n),
    ];
    for (h, want) in cases {
        let r = c
            .send(Req::new("GET", "/bkt/dir/obj.bin").header("range", &h))
            .await;
        assert_eq!(r.status, 206, "{h}");
        assert_eq!(r.body.as_ref(), &body[want.clone()], "{h}");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {}-{}/{n}", want.start, want.end - 1)),
            "{h}"
        );
    }
    let bad = c
        .send(Req::new("GET", "/bkt/dir/obj.bin").header("range", &format!("bytes={n}-")))
        .await;
    assert_eq!((bad.status, bad.code().as_str()), (416, "InvalidRange"));

    let cond = c
        .send(Req::new("GET", "/bkt/dir/obj.bin").header("if-none-match", &etag))
        .await;
    assert_eq!(cond.status, 304);
    let cond = c
        .send(Req::new("GET", "/bkt/dir/obj.bin").header("if-match", "\"nope\""))
        .await;
    assert_eq!(cond.status, 412);

    let missing = c.get("/bkt/none").await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "NoSuchKey")
    );
    let no_bucket = c.get("/zzz/none").await;
    assert_eq!(
        (no_bucket.status, no_bucket.code().as_str()),
        (404, "NoSuchBucket")
    );
    let put_no_bucket = c.put("/zzz/k", b"data").await;
    assert_eq!(
        (put_no_bucket.status, put_no_bucket.code().as_str()),
        (404, "NoSuchBucket")
    );
    c.stop().await;
}

#[tokio::test]
async fn empty_object_and_defaults() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    assert_eq!(c.put("/bkt/empty", b"").await.status, 200);
    let rec_chunks = c
        .meta
        .lock()
        .objects
        .get(&("bkt".into(), "empty".into()))
        .unwrap()
        .chunks
        .len();
    assert_eq!(rec_chunks, 0);
    let get = c.get("/bkt/empty").await;
    assert_eq!(get.status, 200);
    assert!(get.body.is_empty());
    assert_eq!(
        get.header("etag").as_deref(),
        Some("\"d41d8cd98f00b204e9800998ecf8427e\"")
    );
    assert_eq!(
        get.header("content-type").as_deref(),
        Some("binary/octet-stream")
    );
    assert_eq!(
        c.send(Req::new("DELETE", "/bkt/never-existed"))
            .await
            .status,
        204
    );
    c.stop().await;
}

#[tokio::test]
async fn sha256_mismatch_commits_nothing() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    let commits = c.meta.lock().commits;
    for size in [10, 3 * CHUNK + 5] {
        let mut r = Req::new("PUT", "/bkt/k").body(data(size, 1));
        r.payload_hash = Some(common::sigv4::sha256_hex(b"something else"));
        let resp = c.send(r).await;
        assert_eq!(
            (resp.status, resp.code().as_str()),
            (400, "XAmzContentSHA256Mismatch"),
            "{}",
            resp.text()
        );
    }
    assert_eq!(c.meta.lock().commits, commits);
    assert_eq!(c.get("/bkt/k").await.status, 404);
    c.stop().await;
}

#[tokio::test]
async fn content_md5_is_checked() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    let wrong = c
        .send(
            Req::new("PUT", "/bkt/k")
                .body(b"hello".to_vec())
                .header("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
        )
        .await;
    assert_eq!((wrong.status, wrong.code().as_str()), (400, "BadDigest"));
    let invalid = c
        .send(
            Req::new("PUT", "/bkt/k")
                .body(b"hello".to_vec())
                .header("content-md5", "zzz"),
        )
        .await;
    assert_eq!(
        (invalid.status, invalid.code().as_str()),
        (400, "InvalidDigest")
    );
    assert_eq!(c.meta.lock().commits, 0);
    // md5("hello") = 5d41402abc4b2a76b9719d911017c592
    let right = c
        .send(
            Req::new("PUT", "/bkt/k")
                .body(b"hello".to_vec())
                .header("content-md5", "XUFAKrxLKna5cZ2REBfFkg=="),
        )
        .await;
    assert_eq!(right.status, 200);
    c.stop().await;
}

#[tokio::test]
async fn auth_failures() {
    let c = TestCluster::start(3, 3).await;
    let mut r = Req::new("GET", "/");
    r.access_key = "NOSUCHKEY";
    let resp = c.send(r).await;
    assert_eq!(
        (resp.status, resp.code().as_str()),
        (403, "InvalidAccessKeyId")
    );
    let mut r = Req::new("GET", "/");
    r.secret_key = "wrong";
    let resp = c.send(r).await;
    assert_eq!(
        (resp.status, resp.code().as_str()),
        (403, "SignatureDoesNotMatch")
    );
    let anon = c
        .http
        .get(format!("http://{}/", c.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status().as_u16(), 403);
    // The credential scope must name the gateway's region.
    let signed = sigv4::sign(
        "GET",
        &c.addr,
        "/",
        &[],
        &[],
        &sigv4::sha256_hex(b""),
        ACCESS_KEY,
        SECRET_KEY,
        "eu-west-1",
    );
    let mut b = c.http.get(format!("http://{}/", c.addr));
    for (k, v) in &signed.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let resp = b.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let text = resp.text().await.unwrap();
    assert!(text.contains("AuthorizationHeaderMalformed"), "{text}");
    assert!(
        text.contains("eu-west-1") && text.contains("is wrong"),
        "{text}"
    );
    // The key lookup is cached.
    let ok = c.try_send(Req::new("GET", "/")).await.unwrap();
    assert_eq!(ok.status, 200, "{}", ok.text());
    let before = c.meta.key_lookups.load(Ordering::SeqCst);
    assert_eq!(c.get("/").await.status, 200);
    assert_eq!(c.meta.key_lookups.load(Ordering::SeqCst), before);
    c.stop().await;
}

#[tokio::test]
async fn errors_for_names_sizes_and_unimplemented() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    let long = format!("/bkt/{}", "k".repeat(1025));
    let resp = c.put(&long, b"x").await;
    assert_eq!(
        (resp.status, resp.code().as_str()),
        (400, "KeyTooLongError")
    );
    assert_eq!(
        c.put(&format!("/bkt/{}", "k".repeat(1024)), b"x")
            .await
            .status,
        200
    );

    let tagging = c.send(Req::new("GET", "/bkt/k").query("tagging", "")).await;
    assert_eq!(
        (tagging.status, tagging.code().as_str()),
        (501, "NotImplemented")
    );

    // A declared size over 5 GiB is refused before any body byte is read.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let huge = (5u64 << 30) + 1;
    let mut r = Req::new("PUT", "/bkt/huge").header("content-length", "5368709121");
    r.payload_hash = Some("UNSIGNED-PAYLOAD".into());
    let signed = common::sigv4::sign(
        "PUT",
        &c.addr,
        "/bkt/huge",
        &[],
        &r.headers,
        "UNSIGNED-PAYLOAD",
        r.access_key,
        r.secret_key,
        "us-east-1",
    );
    let mut raw = String::from("PUT /bkt/huge HTTP/1.1\r\n");
    for (k, v) in &signed.headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    assert!(raw.contains(&huge.to_string()));
    let mut s = tokio::net::TcpStream::connect(&c.addr).await.unwrap();
    s.write_all(raw.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("EntityTooLarge"), "{text}");
    c.stop().await;
}

#[tokio::test]
async fn failed_replica_writes_are_replaced() {
    let c = TestCluster::start(4, 3).await;
    c.put("/bkt", b"").await;
    c.chunkservers[0].fail_puts.store(true, Ordering::SeqCst);
    let body = data(2 * CHUNK + 1, 3);
    let put = c.put("/bkt/k", &body).await;
    assert_eq!(put.status, 200, "{}", put.text());
    {
        let s = c.meta.lock();
        let rec = s.objects.get(&("bkt".into(), "k".into())).unwrap();
        for ch in &rec.chunks {
            let mut ids: Vec<u64> = ch.replicas.iter().map(|r| r.chunkserver).collect();
            ids.sort();
            assert_eq!(ids, vec![2, 3, 4]);
        }
        assert!(
            s.allocations.iter().any(|a| a.exclude.contains(&1)),
            "a replacement excluded the failed chunkserver"
        );
    }
    assert_eq!(c.get("/bkt/k").await.body.as_ref(), body.as_slice());
    // New placements avoid the chunkserver that just failed: no more writes are tried there.
    let tried = c.chunkservers[0].puts.load(Ordering::SeqCst);
    assert_eq!(c.put("/bkt/k1", &body).await.status, 200);
    assert_eq!(c.chunkservers[0].puts.load(Ordering::SeqCst), tried);

    // With two of four chunkservers failing, three replicas cannot be placed: 503, no commit.
    c.chunkservers[1].fail_puts.store(true, Ordering::SeqCst);
    let commits = c.meta.lock().commits;
    let put = c.put("/bkt/k2", &body).await;
    assert_eq!(put.status, 503, "{}", put.text());
    assert_eq!(put.code(), "SlowDown");
    assert_eq!(c.meta.lock().commits, commits);
    c.stop().await;
}

#[tokio::test]
async fn a_straggling_replica_write_is_replaced() {
    let c = TestCluster::start(4, 3).await;
    c.put("/bkt", b"").await;
    // Chunkserver 1 is first in every placement of the fake meta, and now never answers in time.
    c.chunkservers[0]
        .stall_puts_ms
        .store(60_000, Ordering::SeqCst);
    let body = data(2 * CHUNK + 1, 5);
    let started = std::time::Instant::now();
    let put = c.put("/bkt/k", &body).await;
    let took = started.elapsed();
    assert_eq!(put.status, 200, "{}", put.text());
    assert!(
        took < std::time::Duration::from_secs(10),
        "the PUT waited for the straggler: {took:?}"
    );
    {
        let s = c.meta.lock();
        let rec = s.objects.get(&("bkt".into(), "k".into())).unwrap();
        for ch in &rec.chunks {
            let mut ids: Vec<u64> = ch.replicas.iter().map(|r| r.chunkserver).collect();
            ids.sort();
            assert_eq!(ids, vec![2, 3, 4], "the straggler is not a replica");
        }
    }
    assert_eq!(c.get("/bkt/k").await.body.as_ref(), body.as_slice());
    c.stop().await;
}

#[tokio::test]
async fn reads_fail_over_and_report_bad_replicas() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    let body = data(2 * CHUNK + 77, 9);
    assert_eq!(c.put("/bkt/k", &body).await.status, 200);

    c.chunkservers[0].corrupt.store(true, Ordering::SeqCst);
    c.chunkservers[1].garble.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        let get = c.get("/bkt/k").await;
        assert_eq!(get.status, 200);
        assert_eq!(get.body.as_ref(), body.as_slice());
    }
    // The reports are sent in the background: wait for them.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let reported: std::collections::BTreeSet<u64> = c
            .meta
            .lock()
            .bad_reports
            .iter()
            .map(|r| r.replica.chunkserver)
            .collect();
        if reported.contains(&1) && reported.contains(&2) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "bad replicas not reported: {reported:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    // No replica readable: a 503 before any body byte.
    c.chunkservers[2].corrupt.store(true, Ordering::SeqCst);
    let get = c.get("/bkt/k").await;
    assert_eq!(get.status, 503, "{}", get.text());
    c.stop().await;
}

#[tokio::test]
async fn mid_stream_failure_truncates_the_body() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    let body = data(3 * CHUNK, 5);
    assert_eq!(c.put("/bkt/k", &body).await.status, 200);
    // Remove the second chunk from every replica: the first is served, then the body breaks.
    let second = c
        .meta
        .lock()
        .objects
        .get(&("bkt".into(), "k".into()))
        .unwrap()
        .chunks[1]
        .id
        .to_string();
    for cs in &c.chunkservers {
        cs.chunks
            .lock()
            .unwrap()
            .retain(|k, _| !k.ends_with(&second));
    }
    let got = c.try_send(Req::new("GET", "/bkt/k")).await;
    match got {
        Err(_) => {}
        Ok(r) => assert!(
            r.body.len() < body.len(),
            "a full body despite a missing chunk"
        ),
    }
    c.stop().await;
}

#[tokio::test]
async fn listing_v2_and_v1() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    for k in ["a/1", "a/2", "b/1", "c", "d e+f", "z/9/x"] {
        assert_eq!(c.put(&format!("/bkt/{k}"), b"v").await.status, 200);
    }
    let all = c
        .send(Req::new("GET", "/bkt").query("list-type", "2"))
        .await;
    assert_eq!(all.status, 200, "{}", all.text());
    assert_eq!(
        all.all("Key"),
        vec!["a/1", "a/2", "b/1", "c", "d e+f", "z/9/x"]
    );
    assert_eq!(all.all("KeyCount"), vec!["6"]);
    assert_eq!(all.all("IsTruncated"), vec!["false"]);
    assert!(all.all("Owner").is_empty());

    let delim = c
        .send(
            Req::new("GET", "/bkt")
                .query("list-type", "2")
                .query("delimiter", "/"),
        )
        .await;
    assert_eq!(delim.all("Key"), vec!["c", "d e+f"]);
    assert_eq!(
        delim
            .all("Prefix")
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>(),
        vec!["a/", "b/", "z/"]
    );

    // Paging with continuation tokens, two entries a page.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut r = Req::new("GET", "/bkt")
            .query("list-type", "2")
            .query("delimiter", "/")
            .query("max-keys", "2");
        if let Some(t) = &token {
            r = r.query("continuation-token", t);
        }
        let page = c.send(r).await;
        assert_eq!(page.status, 200, "{}", page.text());
        seen.extend(page.all("Key"));
        seen.extend(page.all("Prefix").into_iter().filter(|p| !p.is_empty()));
        token = page.all("NextContinuationToken").pop();
        if token.is_none() {
            assert_eq!(page.all("IsTruncated"), vec!["false"]);
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, vec!["a/", "b/", "c", "d e+f", "z/"]);

    let after = c
        .send(
            Req::new("GET", "/bkt")
                .query("list-type", "2")
                .query("start-after", "c")
                .query("fetch-owner", "true"),
        )
        .await;
    assert_eq!(after.all("Key"), vec!["d e+f", "z/9/x"]);
    assert_eq!(after.all("ID"), vec![ACCESS_KEY, ACCESS_KEY]);

    let enc = c
        .send(
            Req::new("GET", "/bkt")
                .query("list-type", "2")
                .query("prefix", "d")
                .query("encoding-type", "url"),
        )
        .await;
    assert_eq!(enc.all("Key"), vec!["d%20e%2Bf"]);

    let bad = c
        .send(
            Req::new("GET", "/bkt")
                .query("list-type", "2")
                .query("continuation-token", "%%%"),
        )
        .await;
    assert_eq!((bad.status, bad.code().as_str()), (400, "InvalidArgument"));
    let missing = c
        .send(Req::new("GET", "/nob").query("list-type", "2"))
        .await;
    assert_eq!(
        (missing.status, missing.code().as_str()),
        (404, "NoSuchBucket")
    );

    // V1: Marker, NextMarker only with a delimiter.
    let v1 = c.send(Req::new("GET", "/bkt").query("max-keys", "2")).await;
    assert_eq!(v1.all("Key"), vec!["a/1", "a/2"]);
    assert_eq!(v1.all("IsTruncated"), vec!["true"]);
    assert!(v1.all("NextMarker").is_empty());
    let v1 = c
        .send(
            Req::new("GET", "/bkt")
                .query("marker", "a/2")
                .query("max-keys", "2"),
        )
        .await;
    assert_eq!(v1.all("Key"), vec!["b/1", "c"]);
    let v1 = c
        .send(
            Req::new("GET", "/bkt")
                .query("delimiter", "/")
                .query("max-keys", "1"),
        )
        .await;
    assert_eq!(v1.all("NextMarker"), vec!["a/"]);
    let v1 = c
        .send(
            Req::new("GET", "/bkt")
                .query("delimiter", "/")
                .query("marker", "a/")
                .query("max-keys", "1"),
        )
        .await;
    assert_eq!(v1.all("NextMarker"), vec!["b/"]);
    c.stop().await;
}

#[tokio::test]
async fn virtual_hosted_style() {
    let c = TestCluster::start_with(3, 3, Some("s3.test")).await;
    let port = c.addr.rsplit(':').next().unwrap().to_string();
    let mut r = Req::new("PUT", "/");
    r.host = Some(format!("vbucket.s3.test:{port}"));
    assert_eq!(c.send(r).await.status, 200);
    let mut r = Req::new("PUT", "/obj").body(b"hi".to_vec());
    r.host = Some(format!("vbucket.s3.test:{port}"));
    assert_eq!(c.send(r).await.status, 200);
    // Path style on the plain address still works.
    let get = c.get("/vbucket/obj").await;
    assert_eq!(get.body.as_ref(), b"hi");
    let mut r = Req::new("GET", "/vbucket/obj");
    r.host = Some(format!("localhost:{port}"));
    assert_eq!(c.send(r).await.body.as_ref(), b"hi");
    c.stop().await;
}

#[tokio::test]
async fn additional_checksums() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    // CRC32("hello") = NhCmhg==
    let ok = c
        .send(
            Req::new("PUT", "/bkt/k")
                .body(b"hello".to_vec())
                .header("x-amz-checksum-crc32", "NhCmhg=="),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(
        ok.header("x-amz-checksum-crc32").as_deref(),
        Some("NhCmhg==")
    );
    let bad = c
        .send(
            Req::new("PUT", "/bkt/k2")
                .body(b"hellO".to_vec())
                .header("x-amz-checksum-crc32", "NhCmhg=="),
        )
        .await;
    assert_eq!((bad.status, bad.code().as_str()), (400, "BadDigest"));
    assert_eq!(c.get("/bkt/k2").await.status, 404);

    let get = c
        .send(Req::new("GET", "/bkt/k").header("x-amz-checksum-mode", "ENABLED"))
        .await;
    assert_eq!(
        get.header("x-amz-checksum-crc32").as_deref(),
        Some("NhCmhg==")
    );
    let plain = c.get("/bkt/k").await;
    assert!(plain.header("x-amz-checksum-crc32").is_none());
    let ranged = c
        .send(
            Req::new("GET", "/bkt/k")
                .header("x-amz-checksum-mode", "ENABLED")
                .header("range", "bytes=0-1"),
        )
        .await;
    assert!(ranged.header("x-amz-checksum-crc32").is_none());
    c.stop().await;
}
