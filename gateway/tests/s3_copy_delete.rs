//! CopyObject, DeleteObjects, conditional PUT, versions of unversioned buckets and GET
//! response overrides, end to end against the fakes.

mod common;

use common::{data, Req, TestCluster};
use md5::{Digest, Md5};

fn md5_hex(b: &[u8]) -> String {
    hex::encode(Md5::digest(b))
}

fn quoted(b: &[u8]) -> String {
    format!("\"{}\"", md5_hex(b))
}

fn unquote(s: &str) -> String {
    s.replace("&quot;", "").replace('"', "")
}

const REAL_LOOKING_VERSION: &str = "Kf0P2QSZ7TXe5hCtlNbK0dpbsWDA7AfX";

fn copy(dst: &str, src: &str) -> Req<'static> {
    let dst: &'static str = Box::leak(dst.to_string().into_boxed_str());
    let src: &'static str = Box::leak(src.to_string().into_boxed_str());
    Req::new("PUT", dst).header("x-amz-copy-source", src)
}

#[tokio::test]
async fn copy_object() {
    let c = TestCluster::start(3, 3).await;
    c.put("/aaa", b"").await;
    c.put("/bbb", b"").await;
    let body = data(200_000, 3);
    let put = c
        .send(
            Req::new("PUT", "/aaa/src key")
                .body(body.clone())
                .header("content-type", "text/x-src")
                .header("x-amz-meta-one", "1"),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());

    // COPY (default) within the bucket: same data, same metadata, chunks shared.
    let r = c.send(copy("/aaa/dst", "/aaa/src%20key")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(unquote(&r.all("ETag")[0]), md5_hex(&body));
    assert!(!r.all("LastModified").is_empty());
    let got = c.get("/aaa/dst").await;
    assert!(got.body.as_ref() == body.as_slice());
    assert_eq!(got.header("content-type").as_deref(), Some("text/x-src"));
    assert_eq!(got.header("x-amz-meta-one").as_deref(), Some("1"));
    {
        let s = c.meta.lock();
        let src = &s.objects[&("aaa".to_string(), "src key".to_string())];
        let dst = &s.objects[&("aaa".to_string(), "dst".to_string())];
        assert_eq!(src.chunks, dst.chunks);
    }

    // REPLACE into another bucket.
    let r = c
        .send(
            copy("/bbb/copy", "aaa/src%20key?versionId=null")
                .header("x-amz-metadata-directive", "REPLACE")
                .header("content-type", "text/x-new")
                .header("x-amz-meta-two", "2"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = c.get("/bbb/copy").await;
    assert!(got.body.as_ref() == body.as_slice());
    assert_eq!(got.header("content-type").as_deref(), Some("text/x-new"));
    assert_eq!(got.header("x-amz-meta-two").as_deref(), Some("2"));
    assert!(got.header("x-amz-meta-one").is_none());

    // Onto itself: only with REPLACE.
    let r = c.send(copy("/aaa/src key", "/aaa/src%20key")).await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidRequest"));
    let r = c
        .send(
            copy("/aaa/src key", "/aaa/src%20key")
                .header("x-amz-metadata-directive", "REPLACE")
                .header("x-amz-meta-three", "3"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        c.get("/aaa/src key")
            .await
            .header("x-amz-meta-three")
            .as_deref(),
        Some("3")
    );
    let r = c
        .send(copy("/aaa/x", "/aaa/src%20key").header("x-amz-metadata-directive", "MOVE"))
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidArgument"));

    // Copy-source conditions (the source was last modified at 1_700_000_123 s).
    let etag = quoted(&body);
    let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
        (vec![("x-amz-copy-source-if-match", etag.as_str())], 200),
        (
            vec![(
                "x-amz-copy-source-if-match",
                "\"00000000000000000000000000000000\"",
            )],
            412,
        ),
        (
            vec![("x-amz-copy-source-if-none-match", etag.as_str())],
            412,
        ),
        (
            vec![(
                "x-amz-copy-source-if-none-match",
                "\"00000000000000000000000000000000\"",
            )],
            200,
        ),
        (
            vec![(
                "x-amz-copy-source-if-modified-since",
                "Wed, 01 Jan 2048 00:00:00 GMT",
            )],
            412,
        ),
        (
            vec![(
                "x-amz-copy-source-if-modified-since",
                "Sat, 01 Jan 2000 00:00:00 GMT",
            )],
            200,
        ),
        (
            vec![(
                "x-amz-copy-source-if-unmodified-since",
                "Sat, 01 Jan 2000 00:00:00 GMT",
            )],
            412,
        ),
        (
            vec![
                ("x-amz-copy-source-if-match", etag.as_str()),
                (
                    "x-amz-copy-source-if-unmodified-since",
                    "Sat, 01 Jan 2000 00:00:00 GMT",
                ),
            ],
            200,
        ),
        (
            vec![
                ("x-amz-copy-source-if-none-match", etag.as_str()),
                (
                    "x-amz-copy-source-if-modified-since",
                    "Sat, 01 Jan 2000 00:00:00 GMT",
                ),
            ],
            412,
        ),
    ];
    for (headers, want) in cases {
        let mut r = copy("/bbb/cond", "/aaa/src%20key");
        for (k, v) in &headers {
            r = r.header(k, v);
        }
        let resp = c.send(r).await;
        assert_eq!(resp.status, want, "{headers:?}: {}", resp.text());
        if want == 412 {
            assert_eq!(resp.code(), "PreconditionFailed");
        }
    }

    let r = c.send(copy("/bbb/x", "/aaa/nothing")).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchKey"));
    let r = c.send(copy("/nobucket/x", "/aaa/src%20key")).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchBucket"));
    let r = c.send(copy("/bbb/x", "/aaa/src%20key?versionId=v1")).await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidArgument"));
    let r = c
        .send(copy(
            "/bbb/x",
            &format!("/aaa/src%20key?versionId={REAL_LOOKING_VERSION}"),
        ))
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchVersion"));
    c.stop().await;
}

fn delete_xml(keys: &[&str], quiet: bool) -> String {
    let mut x = String::from("<Delete>");
    for k in keys {
        x.push_str(&format!("<Object><Key>{k}</Key></Object>"));
    }
    if quiet {
        x.push_str("<Quiet>true</Quiet>");
    }
    x.push_str("</Delete>");
    x
}

#[tokio::test]
async fn delete_objects() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    for k in ["k1", "k2", "k3"] {
        c.put(&format!("/bkt/{k}"), b"x").await;
    }
    let r = c
        .send(
            Req::new("POST", "/bkt")
                .query("delete", "")
                .body(delete_xml(&["k1", "k2", "missing"], false)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.all("Key"), vec!["k1", "k2", "missing"]);
    assert!(r.all("Error").is_empty());
    assert_eq!(c.get("/bkt/k1").await.status, 404);
    assert_eq!(c.get("/bkt/k3").await.status, 200);

    let r = c
        .send(
            Req::new("POST", "/bkt")
                .query("delete", "")
                .body(delete_xml(&["k3"], true)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.all("Deleted").is_empty() && r.all("Key").is_empty(),
        "{}",
        r.text()
    );
    assert_eq!(c.get("/bkt/k3").await.status, 404);

    let many: Vec<String> = (0..1001).map(|i| format!("k{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let r = c
        .send(
            Req::new("POST", "/bkt")
                .query("delete", "")
                .body(delete_xml(&refs, true)),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "MalformedXML"));
    let r = c
        .send(
            Req::new("POST", "/bkt")
                .query("delete", "")
                .body("<Delete></Delete>"),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "MalformedXML"));

    let versioned = format!(
        "<Delete><Object><Key>a</Key><VersionId>null</VersionId></Object>\
         <Object><Key>b</Key><VersionId>{REAL_LOOKING_VERSION}</VersionId></Object>\
         <Object><Key>c</Key><VersionId>bad</VersionId></Object></Delete>"
    );
    c.put("/bkt/b", b"keep").await;
    let r = c
        .send(Req::new("POST", "/bkt").query("delete", "").body(versioned))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.all("Code"), vec!["InvalidArgument"]);
    assert_eq!(c.get("/bkt/b").await.status, 200, "another version: kept");

    let r = c
        .send(
            Req::new("POST", "/nobucket")
                .query("delete", "")
                .body(delete_xml(&["k"], false)),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchBucket"));
    c.stop().await;
}

#[tokio::test]
async fn conditional_put() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    let put = |v: &'static [u8], h: (&'static str, String)| {
        let v = v.to_vec();
        let c = &c;
        async move {
            let value: &'static str = Box::leak(h.1.into_boxed_str());
            c.send(Req::new("PUT", "/bkt/k").body(v).header(h.0, value))
                .await
        }
    };
    let r = put(b"one", ("if-none-match", "*".into())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = put(b"two", ("if-none-match", "*".into())).await;
    assert_eq!((r.status, r.code().as_str()), (412, "PreconditionFailed"));
    assert_eq!(c.get("/bkt/k").await.body.as_ref(), b"one");
    let r = put(b"two", ("if-match", quoted(b"nope"))).await;
    assert_eq!((r.status, r.code().as_str()), (412, "PreconditionFailed"));
    let r = put(b"two", ("if-match", quoted(b"one"))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.get("/bkt/k").await.body.as_ref(), b"two");
    let r = c
        .send(
            Req::new("PUT", "/bkt/missing")
                .body(b"x".to_vec())
                .header("if-match", "\"abc\""),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchKey"));
    let r = put(b"three", ("if-none-match", quoted(b"two"))).await;
    assert_eq!((r.status, r.code().as_str()), (501, "NotImplemented"));
    c.stop().await;
}

#[tokio::test]
async fn versions_of_unversioned_buckets() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    for k in ["a", "d/1", "d/2", "z"] {
        c.put(&format!("/bkt/{k}"), k.as_bytes()).await;
    }
    let v = |q: &'static str| Req::new("GET", "/bkt/a").query("versionId", q);
    assert_eq!(c.send(v("null")).await.body.as_ref(), b"a");
    let r = c.send(v("v1")).await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidArgument"));
    let r = c.send(v(REAL_LOOKING_VERSION)).await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchVersion"));
    let r = c
        .send(Req::new("HEAD", "/bkt/a").query("versionId", "null"))
        .await;
    assert_eq!(r.status, 200);
    let r = c
        .send(Req::new("DELETE", "/bkt/a").query("versionId", REAL_LOOKING_VERSION))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(c.get("/bkt/a").await.status, 200);
    let r = c
        .send(Req::new("DELETE", "/bkt/a").query("versionId", "bad"))
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidArgument"));

    let all = c.send(Req::new("GET", "/bkt").query("versions", "")).await;
    assert_eq!(all.status, 200, "{}", all.text());
    assert_eq!(all.all("Key"), vec!["a", "d/1", "d/2", "z"]);
    assert_eq!(all.all("VersionId"), vec!["null"; 4]);
    assert_eq!(all.all("IsLatest"), vec!["true"; 4]);
    assert_eq!(all.all("IsTruncated"), vec!["false"]);

    let page = c
        .send(
            Req::new("GET", "/bkt")
                .query("versions", "")
                .query("max-keys", "2"),
        )
        .await;
    assert_eq!(page.all("Key"), vec!["a", "d/1"]);
    assert_eq!(page.all("NextKeyMarker"), vec!["d/1"]);
    assert_eq!(page.all("NextVersionIdMarker"), vec!["null"]);
    let next = c
        .send(
            Req::new("GET", "/bkt")
                .query("versions", "")
                .query("key-marker", "d/1")
                .query("version-id-marker", "null"),
        )
        .await;
    assert_eq!(next.all("Key"), vec!["d/2", "z"]);
    let rolled = c
        .send(
            Req::new("GET", "/bkt")
                .query("versions", "")
                .query("delimiter", "/"),
        )
        .await;
    assert_eq!(rolled.all("Key"), vec!["a", "z"]);
    assert!(rolled
        .text()
        .contains("<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes>"));
    let r = c
        .send(
            Req::new("GET", "/bkt")
                .query("versions", "")
                .query("version-id-marker", "null"),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidArgument"));

    let ver = c
        .send(Req::new("GET", "/bkt").query("versioning", ""))
        .await;
    assert_eq!(ver.status, 200, "{}", ver.text());
    assert!(
        ver.text().contains("VersioningConfiguration"),
        "{}",
        ver.text()
    );
    assert!(ver.all("Status").is_empty());
    let none = c
        .send(Req::new("GET", "/nobucket").query("versioning", ""))
        .await;
    assert_eq!(none.code(), "NoSuchBucket");
    c.stop().await;
}

#[tokio::test]
async fn response_overrides_and_metadata_limit() {
    let c = TestCluster::start(3, 3).await;
    c.put("/bkt", b"").await;
    c.put("/bkt/k", b"hello").await;
    let r = c
        .send(
            Req::new("GET", "/bkt/k")
                .query("response-content-type", "text/x-override")
                .query(
                    "response-content-disposition",
                    "attachment; filename=\"x.txt\"",
                )
                .query("response-cache-control", "max-age=5"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type").as_deref(), Some("text/x-override"));
    assert_eq!(
        r.header("content-disposition").as_deref(),
        Some("attachment; filename=\"x.txt\"")
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("max-age=5"));

    let big = "v".repeat(2048);
    let r = c
        .send(
            Req::new("PUT", "/bkt/meta")
                .body(b"x".to_vec())
                .header("x-amz-meta-k", &big),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "MetadataTooLarge"));
    let r = c
        .send(
            Req::new("POST", "/bkt/meta")
                .query("uploads", "")
                .header("x-amz-meta-k", &big),
        )
        .await;
    assert_eq!((r.status, r.code().as_str()), (400, "MetadataTooLarge"));
    c.stop().await;
}
