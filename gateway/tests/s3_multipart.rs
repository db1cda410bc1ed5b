//! Multipart uploads end to end against the fake meta-server and chunkservers: create,
//! parts, part copies, complete (ETag, checksums, S3's errors), abort, listings, and
//! `partNumber` reads of the result.

mod common;

use base64::Engine;
use common::fakes::ACCESS_KEY;
use common::{data, Req, Resp, TestCluster};
use md5::{Digest, Md5};
use s3s::crypto::{Checksum as _, Crc32};
use std::sync::atomic::Ordering;

const MIB: usize = 1024 * 1024;

fn md5_hex(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The multipart ETag of parts with these contents.
fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(Md5::digest(p));
    }
    format!("{}-{}", hex::encode(h.finalize()), parts.len())
}

fn unquote(s: &str) -> String {
    s.replace("&quot;", "").replace('"', "")
}

async fn create(c: &TestCluster, path: &str, headers: &[(&str, &str)]) -> String {
    let mut r = Req::new("POST", path).query("uploads", "");
    for (k, v) in headers {
        r = r.header(k, v);
    }
    let resp = c.send(r).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.all("UploadId").pop().expect("an UploadId")
}

async fn upload_part(c: &TestCluster, path: &str, id: &str, n: &str, body: &[u8]) -> Resp {
    c.send(
        Req::new("PUT", path)
            .query("partNumber", n)
            .query("uploadId", id)
            .body(body.to_vec()),
    )
    .await
}

fn complete_xml(parts: &[(u32, &str)]) -> String {
    let mut x = String::from("<CompleteMultipartUpload>");
    for (n, etag) in parts {
        x.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>\"{etag}\"</ETag></Part>"
        ));
    }
    x.push_str("</CompleteMultipartUpload>");
    x
}

async fn complete(c: &TestCluster, path: &str, id: &str, xml: String) -> Resp {
    c.send(Req::new("POST", path).query("uploadId", id).body(xml))
        .await
}

#[tokio::test]
async fn multipart_round_trip_and_part_reads() {
    let c = TestCluster::start(4, 3).await;
    c.put("/bkt", b"").await;
    let p1 = data(5 * MIB + 17, 1);
    let p2 = data(5 * MIB, 2);
    let p3 = data(1000, 3);
    let id = create(
        &c,
        "/bkt/big obj",
        &[
            ("content-type", "application/x-big"),
            ("x-amz-meta-origin", "test"),
            ("cache-control", "no-store"),
        ],
    )
    .await;
    for (n, p) in [("1", &p1), ("2", &p2), ("3", &p3)] {
        let r = upload_part(&c, "/bkt/big obj", &id, n, p).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("etag"), Some(format!("\"{}\"", md5_hex(p))));
    }
    // Part 2 uploaded again replaces the first attempt.
    let p2 = data(5 * MIB, 9);
    assert_eq!(
        upload_part(&c, "/bkt/big obj", &id, "2", &p2).await.status,
        200
    );

    let xml = complete_xml(&[(1, &md5_hex(&p1)), (2, &md5_hex(&p2)), (3, &md5_hex(&p3))]);
    let done = complete(&c, "/bkt/big obj", &id, xml).await;
    assert_eq!(done.status, 200, "{}", done.text());
    let want = multipart_etag(&[&p1, &p2, &p3]);
    assert_eq!(unquote(&done.all("ETag")[0]), want);
    assert_eq!(done.all("Bucket"), vec!["bkt"]);
    assert_eq!(done.all("Key"), vec!["big obj"]);
    assert_eq!(
        done.all("Location"),
        vec![format!("http://{}/bkt/big%20obj", c.addr)]
    );

    let whole: Vec<u8> = [p1.clone(), p2.clone(), p3.clone()].concat();
    let get = c.get("/bkt/big obj").await;
    assert_eq!(get.status, 200);
    assert_eq!(get.body.len(), whole.len());
    assert!(get.body.as_ref() == whole.as_slice());
    assert_eq!(get.header("etag"), Some(format!("\"{want}\"")));
    assert_eq!(
        get.header("content-type").as_deref(),
        Some("application/x-big")
    );
    assert_eq!(get.header("x-amz-meta-origin").as_deref(), Some("test"));
    assert_eq!(get.header("cache-control").as_deref(), Some("no-store"));

    let part2 = c
        .send(Req::new("GET", "/bkt/big obj").query("partNumber", "2"))
        .await;
    assert_eq!(part2.status, 206);
    assert!(part2.body.as_ref() == p2.as_slice());
    let start = p1.len();
    assert_eq!(
        part2.header("content-range"),
        Some(format!(
            "bytes {}-{}/{}",
            start,
            start + p2.len() - 1,
            whole.len()
        ))
    );
    assert_eq!(part2.header("x-amz-mp-parts-count").as_deref(), Some("3"));
    let head = c
        .send(Req::new("HEAD", "/bkt/big obj").query("partNumber", "3"))
        .await;
    assert_eq!(head.header("content-length"), Some("1000".into()));
    assert_eq!(head.header("x-amz-mp-parts-count").as_deref(), Some("3"));
    let beyond = c
        .send(Req::new("GET", "/bkt/big obj").query("partNumber", "4"))
        .await;
    assert_eq!(
        (beyond.status, beyond.code().as_str()),
        (416, "InvalidPartNumber")
    );
    let zero = c
        .send(Req::new("GET", "/bkt/big obj").query("partNumber", "0"))
        .await;
    assert_eq!(
        (zero.status, zero.code().as_str()),
        (400, "InvalidArgument")
    );

    // A simple object's part 1 is the whole object.
    c.put("/bkt/small", b"hello").await;
    let one = c
        .send(Req::new("GET", "/bkt/small").query("partNumber", "1"))
        .await;
    assert_eq!((one.status, one.body.as_ref()), (200, &b"hello"[..]));
    let two = c
        .send(Req::new("GET", "/bkt/small").query("partNumber", "2"))
        .await;
    assert_eq!(two.status, 416);

    // The upload is gone once completed.
    let again = upload_part(&c, "/bkt/big obj", &id, "1", b"x").await;
    assert_eq!((again.status, again.code().as_str()), (404, "NoSuchUpload"));
    c.stop().await;
}

#[tokio::test]
async fn multipart_errors() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    let nb = c
        .send(Req::new("POST", "/nobucket/k").query("uploads", ""))
        .await;
    assert_eq!((nb.status, nb.code().as_str()), (404, "NoSuchBucket"));

    // An unknown upload is refused before any body byte is stored.
    let puts_before: usize = c
        .chunkservers
        .iter()
        .map(|s| s.puts.load(Ordering::SeqCst))
        .sum();
    let r = upload_part(&c, "/bkt/k", "upload-9999", "1", &data(200_000, 1)).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchUpload"));
    let puts_after: usize = c
        .chunkservers
        .iter()
        .map(|s| s.puts.load(Ordering::SeqCst))
        .sum();
    assert_eq!(puts_before, puts_after);

    let id = create(&c, "/bkt/k", &[]).await;
    for bad in ["0", "10001", "-1"] {
        let r = upload_part(&c, "/bkt/k", &id, bad, b"x").await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "InvalidArgument"),
            "{bad}"
        );
    }
    // Content-MD5, additional checksums and the signed payload hash are verified.
    let r = c
        .send(
            Req::new("PUT", "/bkt/k")
                .query("partNumber", "1")
                .query("uploadId", &id)
                .header("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")
                .body(b"not empty".to_vec()),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "BadDigest"));
    let r = c
        .send(
            Req::new("PUT", "/bkt/k")
                .query("partNumber", "1")
                .query("uploadId", &id)
                .header("x-amz-checksum-crc32", "NhCmhg==")
                .body(b"hellO".to_vec()),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "BadDigest"));
    let mut lie = Req::new("PUT", "/bkt/k")
        .query("partNumber", "1")
        .query("uploadId", &id)
        .body(b"abc".to_vec());
    lie.payload_hash = Some(common::sigv4::sha256_hex(b"abd"));
    let r = c.send(lie).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (400, "XAmzContentSHA256Mismatch")
    );
    assert_eq!(c.meta.lock().mpu.record_part_calls, 0);

    let small1 = data(1000, 1);
    let small2 = data(1000, 2);
    let e1 = md5_hex(&small1);
    let e2 = md5_hex(&small2);
    assert_eq!(
        upload_part(&c, "/bkt/k", &id, "1", &small1).await.status,
        200
    );
    assert_eq!(
        upload_part(&c, "/bkt/k", &id, "2", &small2).await.status,
        200
    );

    let cases: Vec<(String, u16, &str)> = vec![
        (complete_xml(&[(2, &e2), (1, &e1)]), 400, "InvalidPartOrder"),
        (complete_xml(&[(1, &e1), (1, &e1)]), 400, "InvalidPartOrder"),
        (complete_xml(&[(1, &e2)]), 400, "InvalidPart"),
        (complete_xml(&[(1, &e1), (3, &e2)]), 400, "InvalidPart"),
        (complete_xml(&[(1, "zz")]), 400, "InvalidPart"),
        (complete_xml(&[(1, &e1), (2, &e2)]), 400, "EntityTooSmall"),
        (complete_xml(&[]), 400, "MalformedXML"),
        ("<CompleteMultipartUpload".into(), 400, "MalformedXML"),
        (String::new(), 400, "MalformedXML"),
    ];
    for (xml, status, code) in cases {
        let r = complete(&c, "/bkt/k", &id, xml.clone()).await;
        assert_eq!((r.status, r.code().as_str()), (status, code), "{xml}");
    }
    // A single small part is a valid object (the last part may be small).
    let one = complete(&c, "/bkt/k", &id, complete_xml(&[(2, &e2)])).await;
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(c.get("/bkt/k").await.body.as_ref(), small2.as_slice());

    let gone = complete(&c, "/bkt/k", &id, complete_xml(&[(2, &e2)])).await;
    assert_eq!((gone.status, gone.code().as_str()), (404, "NoSuchUpload"));

    // Abort: 204, then NoSuchUpload.
    let id = create(&c, "/bkt/k2", &[]).await;
    let abort = c
        .send(Req::new("DELETE", "/bkt/k2").query("uploadId", &id))
        .await;
    assert_eq!(abort.status, 204, "{}", abort.text());
    let again = c
        .send(Req::new("DELETE", "/bkt/k2").query("uploadId", &id))
        .await;
    assert_eq!((again.status, again.code().as_str()), (404, "NoSuchUpload"));
    let part = upload_part(&c, "/bkt/k2", &id, "1", b"x").await;
    assert_eq!(part.code(), "NoSuchUpload");
    c.stop().await;
}

#[tokio::test]
async fn conditional_complete() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    c.put("/bkt/exists", b"old").await;
    let id = create(&c, "/bkt/exists", &[]).await;
    let p = data(100, 1);
    upload_part(&c, "/bkt/exists", &id, "1", &p).await;
    let xml = complete_xml(&[(1, &md5_hex(&p))]);
    let r = c
        .send(
            Req::new("POST", "/bkt/exists")
                .query("uploadId", &id)
                .header("if-none-match", "*")
                .body(xml.clone()),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (412, "PreconditionFailed"));
    let old = format!("\"{}\"", md5_hex(b"old"));
    let r = c
        .send(
            Req::new("POST", "/bkt/exists")
                .query("uploadId", &id)
                .header("if-match", &old)
                .body(xml),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.get("/bkt/exists").await.body.as_ref(), p.as_slice());
    c.stop().await;
}

#[tokio::test]
async fn composite_and_full_object_checksums() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    let p1 = data(5 * MIB, 1);
    let p2 = data(777, 2);
    let crc1 = b64(&Crc32::checksum(&p1));
    let crc2 = b64(&Crc32::checksum(&p2));

    let id = create(&c, "/bkt/comp", &[("x-amz-checksum-algorithm", "CRC32")]).await;
    let r = c
        .send(
            Req::new("PUT", "/bkt/comp")
                .query("partNumber", "1")
                .query("uploadId", &id)
                .header("x-amz-checksum-crc32", &crc1)
                .body(p1.clone()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Without a checksum header the part still gets the upload's algorithm.
    let r = upload_part(&c, "/bkt/comp", &id, "2", &p2).await;
    assert_eq!(r.header("x-amz-checksum-crc32"), Some(crc2.clone()));
    let list = c
        .send(Req::new("GET", "/bkt/comp").query("uploadId", &id))
        .await;
    assert_eq!(list.all("ChecksumCRC32"), vec![crc1.clone(), crc2.clone()]);
    assert_eq!(list.all("ChecksumAlgorithm"), vec!["CRC32"]);

    let xml = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag>\
         <ChecksumCRC32>{crc1}</ChecksumCRC32></Part><Part><PartNumber>2</PartNumber>\
         <ETag>{}</ETag></Part></CompleteMultipartUpload>",
        md5_hex(&p1),
        md5_hex(&p2)
    );
    let done = complete(&c, "/bkt/comp", &id, xml).await;
    assert_eq!(done.status, 200, "{}", done.text());
    let mut concat = Crc32::checksum(&p1).to_vec();
    concat.extend(Crc32::checksum(&p2));
    let want = format!("{}-2", b64(&Crc32::checksum(&concat)));
    assert_eq!(done.all("ChecksumCRC32"), vec![want.clone()]);
    assert_eq!(done.all("ChecksumType"), vec!["COMPOSITE"]);
    let head = c
        .send(Req::new("HEAD", "/bkt/comp").header("x-amz-checksum-mode", "ENABLED"))
        .await;
    assert_eq!(head.header("x-amz-checksum-crc32"), Some(want));
    assert_eq!(
        head.header("x-amz-checksum-type").as_deref(),
        Some("COMPOSITE")
    );

    // FULL_OBJECT: the CRC of the whole object, from the parts' CRCs.
    let id = create(
        &c,
        "/bkt/full",
        &[
            ("x-amz-checksum-algorithm", "CRC32"),
            ("x-amz-checksum-type", "FULL_OBJECT"),
        ],
    )
    .await;
    upload_part(&c, "/bkt/full", &id, "1", &p1).await;
    upload_part(&c, "/bkt/full", &id, "2", &p2).await;
    let whole = b64(&Crc32::checksum(&[p1.clone(), p2.clone()].concat()));
    let xml = complete_xml(&[(1, &md5_hex(&p1)), (2, &md5_hex(&p2))]);
    let wrong = c
        .send(
            Req::new("POST", "/bkt/full")
                .query("uploadId", &id)
                .header("x-amz-checksum-crc32", &crc1)
                .body(xml.clone()),
        )
        .await;
    assert_eq!((wrong.status, wrong.code().as_str()), (400, "BadDigest"));
    let done = c
        .send(
            Req::new("POST", "/bkt/full")
                .query("uploadId", &id)
                .header("x-amz-checksum-crc32", &whole)
                .body(xml),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(done.all("ChecksumCRC32"), vec![whole]);
    assert_eq!(done.all("ChecksumType"), vec!["FULL_OBJECT"]);

    let bad = c
        .send(
            Req::new("POST", "/bkt/x")
                .query("uploads", "")
                .header("x-amz-checksum-algorithm", "SHA256")
                .header("x-amz-checksum-type", "FULL_OBJECT"),
        )
        .await;
    assert_eq!((bad.status, bad.code().as_str()), (400, "InvalidRequest"));
    c.stop().await;
}

#[tokio::test]
async fn upload_part_copy() {
    let c = TestCluster::start(4, 3).await;
    c.put("/src", b"").await;
    c.put("/dst", b"").await;
    let source = data(300_000, 5);
    assert_eq!(c.put("/src/dir/a key+?", &source).await.status, 200);
    let id = create(&c, "/dst/assembled", &[]).await;

    // Whole source, URL-encoded key, versionId=null.
    let r = c
        .send(
            Req::new("PUT", "/dst/assembled")
                .query("partNumber", "1")
                .query("uploadId", &id)
                .header("x-amz-copy-source", "/src/dir/a%20key%2B%3F?versionId=null"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(unquote(&r.all("ETag")[0]), md5_hex(&source));
    assert!(!r.all("LastModified").is_empty());
    // A range.
    let r = c
        .send(
            Req::new("PUT", "/dst/assembled")
                .query("partNumber", "2")
                .query("uploadId", &id)
                .header("x-amz-copy-source", "src/dir/a%20key%2B%3F")
                .header("x-amz-copy-source-range", "bytes=70000-200099"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let slice = &source[70_000..200_100];
    assert_eq!(unquote(&r.all("ETag")[0]), md5_hex(slice));

    let copy = |range: &'static str| {
        Req::new("PUT", "/dst/assembled")
            .query("partNumber", "3")
            .query("uploadId", &id)
            .header("x-amz-copy-source", "src/dir/a%20key%2B%3F")
            .header("x-amz-copy-source-range", range)
    };
    for bad in ["bytes=0-300000", "bytes=5-", "bytes=-5", "bytes=9-3", "0-5"] {
        let r = c.send(copy(bad)).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "InvalidArgument"),
            "{bad}"
        );
    }
    let r = c
        .send(
            Req::new("PUT", "/dst/assembled")
                .query("partNumber", "3")
                .query("uploadId", &id)
                .header("x-amz-copy-source", "src/dir/a%20key%2B%3F")
                .header(
                    "x-amz-copy-source-if-match",
                    "\"0123456789abcdef0123456789abcdef\"",
                ),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (412, "PreconditionFailed"));
    let r = c
        .send(
            Req::new("PUT", "/dst/assembled")
                .query("partNumber", "3")
                .query("uploadId", &id)
                .header("x-amz-copy-source", "src/nothing"),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchKey"));
    let r = c
        .send(
            Req::new("PUT", "/dst/assembled")
                .query("partNumber", "3")
                .query("uploadId", "upload-9999")
                .header("x-amz-copy-source", "src/dir/a%20key%2B%3F"),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchUpload"));

    // Part 1 is under 5 MiB: completing fails; complete with part 2 only instead.
    let done = complete(
        &c,
        "/dst/assembled",
        &id,
        complete_xml(&[(2, &md5_hex(slice))]),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(c.get("/dst/assembled").await.body.as_ref(), slice);
    // The copy wrote new chunks: none is shared with the source.
    {
        let s = c.meta.lock();
        let src = &s.objects[&("src".to_string(), "dir/a key+?".to_string())];
        let dst = &s.objects[&("dst".to_string(), "assembled".to_string())];
        assert!(dst
            .chunks
            .iter()
            .all(|d| src.chunks.iter().all(|s| s.id != d.id)));
    }
    c.stop().await;
}

#[tokio::test]
async fn list_parts_and_uploads() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    let a1 = create(&c, "/bkt/a/1", &[]).await;
    let a2 = create(&c, "/bkt/a/2", &[]).await;
    let b = create(&c, "/bkt/b", &[]).await;
    let b_again = create(&c, "/bkt/b", &[]).await;
    for n in ["1", "2", "3"] {
        assert_eq!(
            upload_part(&c, "/bkt/b", &b, n, n.as_bytes()).await.status,
            200
        );
    }
    let page = c
        .send(
            Req::new("GET", "/bkt/b")
                .query("uploadId", &b)
                .query("max-parts", "2"),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.all("PartNumber"), vec!["1", "2"]);
    assert_eq!(page.all("IsTruncated"), vec!["true"]);
    assert_eq!(page.all("NextPartNumberMarker"), vec!["2"]);
    assert_eq!(page.all("MaxParts"), vec!["2"]);
    assert!(page.all("ID").iter().all(|i| i == ACCESS_KEY));
    assert_eq!(page.all("Size"), vec!["1", "1"]);
    let rest = c
        .send(
            Req::new("GET", "/bkt/b")
                .query("uploadId", &b)
                .query("part-number-marker", "2"),
        )
        .await;
    assert_eq!(rest.all("PartNumber"), vec!["3"]);
    assert_eq!(rest.all("IsTruncated"), vec!["false"]);
    let big = c
        .send(
            Req::new("GET", "/bkt/b")
                .query("uploadId", &b)
                .query("max-parts", "5000"),
        )
        .await;
    assert_eq!(big.all("MaxParts"), vec!["1000"]);
    let none = c
        .send(Req::new("GET", "/bkt/b").query("uploadId", "upload-9999"))
        .await;
    assert_eq!((none.status, none.code().as_str()), (404, "NoSuchUpload"));

    let all = c.send(Req::new("GET", "/bkt").query("uploads", "")).await;
    assert_eq!(all.status, 200, "{}", all.text());
    assert_eq!(all.all("Key"), vec!["a/1", "a/2", "b", "b"]);
    let ids = all.all("UploadId");
    assert_eq!(
        ids,
        vec![a1.clone(), a2.clone(), b.clone(), b_again.clone()]
    );
    let rolled = c
        .send(
            Req::new("GET", "/bkt")
                .query("uploads", "")
                .query("delimiter", "/"),
        )
        .await;
    assert!(rolled
        .text()
        .contains("<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>"));
    assert_eq!(rolled.all("Key"), vec!["b", "b"]);
    let first = c
        .send(
            Req::new("GET", "/bkt")
                .query("uploads", "")
                .query("max-uploads", "3"),
        )
        .await;
    assert_eq!(first.all("IsTruncated"), vec!["true"]);
    assert_eq!(first.all("NextKeyMarker"), vec!["b"]);
    assert_eq!(first.all("NextUploadIdMarker"), vec![b.clone()]);
    let next = c
        .send(
            Req::new("GET", "/bkt")
                .query("uploads", "")
                .query("key-marker", "b")
                .query("upload-id-marker", &b),
        )
        .await;
    assert_eq!(next.all("UploadId"), vec![b_again]);
    let prefixed = c
        .send(
            Req::new("GET", "/bkt")
                .query("uploads", "")
                .query("prefix", "a/"),
        )
        .await;
    assert_eq!(prefixed.all("Key"), vec!["a/1", "a/2"]);
    let encoded = c
        .send(
            Req::new("GET", "/bkt")
                .query("uploads", "")
                .query("encoding-type", "url")
                .query("prefix", "a/"),
        )
        .await;
    assert_eq!(encoded.all("Key"), vec!["a/1", "a/2"]);
    c.stop().await;
}
