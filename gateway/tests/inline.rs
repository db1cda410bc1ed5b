//! Small objects stored inline in their metadata record: no chunkserver is written, every
//! read (whole, ranges, copies, part copies) serves exactly the bytes, and bytes that no
//! longer match their recorded BLAKE3 are never served.

mod common;

use common::{data, Req, TestCluster};
use std::sync::atomic::Ordering;

const INLINE_MAX: u64 = 16 * 1024;

async fn cluster() -> TestCluster {
    TestCluster::start_tuned(4, 3, None, |c| c.inline_max_bytes = INLINE_MAX).await
}

fn chunk_puts(c: &TestCluster) -> usize {
    c.chunkservers
        .iter()
        .map(|cs| cs.puts.load(Ordering::SeqCst))
        .sum()
}

#[tokio::test]
async fn small_objects_live_in_their_record() {
    let c = cluster().await;
    c.put("/bkt", b"").await;
    let small = data(INLINE_MAX as usize, 3);
    let big = data(INLINE_MAX as usize + 1, 4);
    let r = c.put("/bkt/small", &small).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.put("/bkt/one", b"x").await.status, 200);
    assert_eq!(chunk_puts(&c), 0, "inline objects write no chunk");
    {
        let m = c.meta.lock();
        let rec = &m.objects[&("bkt".to_string(), "small".to_string())];
        assert!(rec.chunks.is_empty());
        assert_eq!(
            rec.inline.as_ref().map(|i| i.bytes.len()),
            Some(small.len())
        );
    }
    assert_eq!(c.put("/bkt/big", &big).await.status, 200);
    assert_eq!(
        chunk_puts(&c),
        3,
        "one byte over the limit: one chunk, three replicas"
    );

    let r = c.get("/bkt/small").await;
    assert_eq!((r.status, &r.body[..]), (200, &small[..]));
    assert_eq!(&c.get("/bkt/one").await.body[..], b"x");
    let r = c
        .send(Req::new("GET", "/bkt/small").header("range", "bytes=100-199"))
        .await;
    assert_eq!((r.status, &r.body[..]), (206, &small[100..200]));
    let r = c
        .send(Req::new("GET", "/bkt/small").header("range", "bytes=-10"))
        .await;
    assert_eq!(&r.body[..], &small[small.len() - 10..]);
    let head = c.send(Req::new("HEAD", "/bkt/small")).await;
    assert_eq!(head.header("content-length"), Some(small.len().to_string()));

    // CopyObject keeps it inline; UploadPartCopy re-chunks a span of it.
    let r = c
        .send(Req::new("PUT", "/bkt/copy").header("x-amz-copy-source", "/bkt/small"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(&c.get("/bkt/copy").await.body[..], &small[..]);
    let r = c
        .send(Req::new("POST", "/bkt/mp").query("uploads", ""))
        .await;
    let id = r.all("UploadId")[0].clone();
    let r = c
        .send(
            Req::new("PUT", "/bkt/mp")
                .query("partNumber", "1")
                .query("uploadId", &id)
                .header("x-amz-copy-source", "/bkt/small")
                .header("x-amz-copy-source-range", "bytes=10-1009"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let etag = r.all("ETag")[0].replace("&quot;", "\"");
    let done = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let r = c
        .send(
            Req::new("POST", "/bkt/mp")
                .query("uploadId", &id)
                .body(done),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(&c.get("/bkt/mp").await.body[..], &small[10..1010]);
    c.stop().await;
}

#[tokio::test]
async fn corrupt_inline_bytes_are_never_served() {
    let c = cluster().await;
    c.put("/bkt", b"").await;
    assert_eq!(c.put("/bkt/k", b"hello inline").await.status, 200);
    {
        let mut m = c.meta.lock();
        let rec = m
            .objects
            .get_mut(&("bkt".to_string(), "k".to_string()))
            .expect("stored");
        if let Some(i) = rec.inline.as_mut() {
            i.bytes[0] ^= 1;
        }
    }
    let r = c.get("/bkt/k").await;
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(
        !r.body.windows(5).any(|w| w == b"ello "),
        "no byte of it is served"
    );
    c.stop().await;
}
