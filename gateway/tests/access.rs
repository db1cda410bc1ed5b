//! Authorization (bucket owners and grants), authentication edge cases (clock skew,
//! presigned URL lifetimes, Signature V2) and HTTPS, end to end against the fakes.

mod common;

use common::fakes::{ACCESS_KEY, SECRET_KEY};
use common::{sigv4, Req, Resp, TestCluster};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use trireme_api::meta::Permissions;

const READER: &str = "AKREADER";
const WRITER: &str = "AKWRITER";
const RW: &str = "AKREADWRITE";
const ADMIN: &str = "AKADMIN";
const NOBODY: &str = "AKNOBODY";
const NOCREATE: &str = "AKNOCREATE";

fn secret(ak: &str) -> String {
    format!("secret-of-{ak}")
}

fn perms(read: bool, write: bool, owner: bool) -> Permissions {
    Permissions { read, write, owner }
}

/// A cluster where ACCESS_KEY owns `shared` (holding `obj`) and `private` (holding `obj`),
/// and the other keys hold grants on `shared` as their names say.
async fn setup() -> TestCluster {
    let c = TestCluster::start(3, 3).await;
    for ak in [READER, WRITER, RW, ADMIN, NOBODY] {
        c.meta.add_key(ak, &secret(ak), true);
    }
    c.meta.add_key(NOCREATE, &secret(NOCREATE), false);
    for b in ["/shared", "/private"] {
        assert_eq!(c.put(b, b"").await.status, 200);
    }
    // Granted before the gateway first reads (and caches) the buckets.
    c.meta.grant("shared", READER, perms(true, false, false));
    c.meta.grant("shared", WRITER, perms(false, true, false));
    c.meta.grant("shared", RW, perms(true, true, false));
    c.meta.grant("shared", ADMIN, perms(false, false, true));
    for b in ["/shared", "/private"] {
        assert_eq!(c.put(&format!("{b}/obj"), b"hello").await.status, 200);
    }
    c
}

fn as_key<'a>(mut r: Req<'a>, ak: &'a str, sk: &'a str) -> Req<'a> {
    r.access_key = ak;
    r.secret_key = sk;
    r
}

fn denied(r: &Resp) -> bool {
    r.status == 403 && (r.body.is_empty() || r.code() == "AccessDenied")
}

/// One request of each operation family, by the permission it needs.
fn read_ops() -> Vec<Req<'static>> {
    vec![
        Req::new("GET", "/shared/obj"),
        Req::new("HEAD", "/shared/obj"),
        Req::new("GET", "/shared").query("list-type", "2"),
        Req::new("GET", "/shared"),
        Req::new("GET", "/shared").query("versions", ""),
        Req::new("GET", "/shared").query("uploads", ""),
        Req::new("GET", "/shared/obj").query("uploadId", "nope"),
        Req::new("HEAD", "/shared"),
        Req::new("GET", "/shared").query("location", ""),
    ]
}

/// Write operations on the object `/shared/w-{tag}` (`key`).
fn write_ops(key: &str) -> Vec<Req<'_>> {
    let delete_body = format!(
        "<Delete><Object><Key>{}-gone</Key></Object><Quiet>true</Quiet></Delete>",
        &key["/shared/".len()..]
    );
    let complete = "<CompleteMultipartUpload></CompleteMultipartUpload>";
    vec![
        Req::new("PUT", key).body(b"data".to_vec()),
        Req::new("DELETE", key),
        Req::new("POST", "/shared")
            .query("delete", "")
            .body(delete_body.into_bytes()),
        Req::new("POST", key).query("uploads", ""),
        Req::new("PUT", key)
            .query("partNumber", "1")
            .query("uploadId", "nope")
            .body(b"part".to_vec()),
        Req::new("POST", key)
            .query("uploadId", "nope")
            .body(complete.as_bytes().to_vec()),
        Req::new("DELETE", key).query("uploadId", "nope"),
    ]
}

fn owner_ops() -> Vec<Req<'static>> {
    vec![
        // `shared` holds objects: an allowed DeleteBucket fails with BucketNotEmpty.
        Req::new("DELETE", "/shared"),
        Req::new("GET", "/shared").query("tagging", ""),
        Req::new("PUT", "/shared")
            .query("policy", "")
            .body(b"{}".to_vec()),
    ]
}

/// Sends `ops` as `who` and checks each is allowed (not a 403) or refused (AccessDenied).
async fn expect(c: &TestCluster, who: &str, ops: Vec<Req<'_>>, allowed: bool) {
    let sk = if who == ACCESS_KEY {
        SECRET_KEY.to_string()
    } else {
        secret(who)
    };
    for r in ops {
        let what = format!("{who} {} {} {:?}", r.method, r.path, r.query);
        let resp = c.send(as_key(r, who, &sk)).await;
        if allowed {
            assert!(!denied(&resp), "{what} was denied: {}", resp.text());
            assert_ne!(resp.status, 403, "{what}: {}", resp.text());
        } else {
            assert!(denied(&resp), "{what} got {} {}", resp.status, resp.text());
        }
    }
}

#[tokio::test]
async fn grants_decide_each_operation_family() {
    let c = setup().await;
    // The owner and an owner grant may do everything.
    let table = [
        // (key, read, write, owner)
        (ACCESS_KEY, true, true, true),
        (ADMIN, true, true, true),
        (READER, true, false, false),
        (WRITER, false, true, false),
        (RW, true, true, false),
        (NOBODY, false, false, false),
    ];
    for (who, read, write, owner) in table {
        let key = format!("/shared/w-{who}");
        expect(&c, who, read_ops(), read).await;
        expect(&c, who, write_ops(&key), write).await;
        expect(&c, who, owner_ops(), owner).await;
    }

    // Refused writes changed nothing.
    {
        let s = c.meta.lock();
        for k in [READER, NOBODY] {
            let written = s
                .objects
                .keys()
                .any(|(_, key)| key.starts_with(&format!("w-{k}")));
            assert!(!written, "{k}");
        }
    }

    // A missing bucket is NoSuchBucket for everyone.
    let r = c
        .send(as_key(
            Req::new("GET", "/missing/k"),
            NOBODY,
            &secret(NOBODY),
        ))
        .await;
    assert_eq!((r.status, r.code().as_str()), (404, "NoSuchBucket"));
    c.stop().await;
}

#[tokio::test]
async fn owner_grant_may_delete_the_bucket() {
    let c = setup().await;
    assert_eq!(c.put("/empty", b"").await.status, 200);
    c.meta.grant("empty", READER, perms(true, true, false));
    c.meta.grant("empty", ADMIN, perms(false, false, true));
    let sk = secret(READER);
    let r = c
        .send(as_key(Req::new("DELETE", "/empty"), READER, &sk))
        .await;
    assert!(denied(&r), "{}", r.text());
    let sk = secret(ADMIN);
    let r = c
        .send(as_key(Req::new("DELETE", "/empty"), ADMIN, &sk))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(!c.meta.lock().buckets.contains_key("empty"));
    c.stop().await;
}

#[tokio::test]
async fn copy_needs_read_on_the_source_and_write_on_the_destination() {
    let c = setup().await;
    // RW can read and write `shared`.
    let sk = secret(RW);
    let r = c
        .send(as_key(
            Req::new("PUT", "/shared/copy-rw").header("x-amz-copy-source", "/shared/obj"),
            RW,
            &sk,
        ))
        .await;
    assert!(!denied(&r), "{}", r.text());
    // ... but not `private`.
    let r = c
        .send(as_key(
            Req::new("PUT", "/shared/copy-private").header("x-amz-copy-source", "private/obj"),
            RW,
            &sk,
        ))
        .await;
    assert!(denied(&r), "{} {}", r.status, r.text());
    // WRITER may write `shared` but not read it.
    let sk = secret(WRITER);
    let r = c
        .send(as_key(
            Req::new("PUT", "/shared/copy-w").header("x-amz-copy-source", "shared/obj"),
            WRITER,
            &sk,
        ))
        .await;
    assert!(denied(&r), "{} {}", r.status, r.text());
    // READER may read `shared` but not write it.
    let sk = secret(READER);
    let r = c
        .send(as_key(
            Req::new("PUT", "/shared/copy-r").header("x-amz-copy-source", "shared/obj"),
            READER,
            &sk,
        ))
        .await;
    assert!(denied(&r), "{} {}", r.status, r.text());
    // The same for UploadPartCopy.
    let r = c
        .send(as_key(
            Req::new("PUT", "/private/part")
                .query("partNumber", "1")
                .query("uploadId", "u")
                .header("x-amz-copy-source", "shared/obj"),
            READER,
            &sk,
        ))
        .await;
    assert!(denied(&r), "{} {}", r.status, r.text());
    c.stop().await;
}

#[tokio::test]
async fn create_bucket_needs_permission_and_the_creator_owns_it() {
    let c = setup().await;
    let sk = secret(NOCREATE);
    let r = c
        .send(as_key(Req::new("PUT", "/nocreate"), NOCREATE, &sk))
        .await;
    assert_eq!((r.status, r.code().as_str()), (403, "AccessDenied"));
    assert!(!c.meta.lock().buckets.contains_key("nocreate"));

    let sk = secret(READER);
    let r = c.send(as_key(Req::new("PUT", "/mine"), READER, &sk)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(c.meta.lock().buckets["mine"].owner, READER);
    let r = c
        .send(as_key(
            Req::new("PUT", "/mine/k").body(b"x".to_vec()),
            READER,
            &sk,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The admin key owns nothing here.
    let r = c.get("/mine/k").await;
    assert!(denied(&r), "{}", r.text());
    c.stop().await;
}

#[tokio::test]
async fn list_buckets_shows_owned_and_granted_buckets_only() {
    let c = setup().await;
    let names = |r: Resp| {
        assert_eq!(r.status, 200, "{}", r.text());
        r.all("Name")
    };
    assert_eq!(names(c.get("/").await), vec!["private", "shared"]);
    let sk = secret(READER);
    assert_eq!(
        names(c.send(as_key(Req::new("GET", "/"), READER, &sk)).await),
        vec!["shared"]
    );
    let sk = secret(NOBODY);
    assert!(names(c.send(as_key(Req::new("GET", "/"), NOBODY, &sk)).await).is_empty());
    c.meta.grant("private", NOBODY, perms(false, true, false));
    assert_eq!(
        names(c.send(as_key(Req::new("GET", "/"), NOBODY, &sk)).await),
        vec!["private"]
    );
    c.stop().await;
}

#[tokio::test]
async fn revoked_grants_stop_working_within_seconds() {
    let c = setup().await;
    let sk = secret(READER);
    let r = c
        .send(as_key(Req::new("GET", "/shared/obj"), READER, &sk))
        .await;
    assert_eq!(r.status, 200);
    c.meta.grant("shared", READER, Permissions::default());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = c
            .send(as_key(Req::new("GET", "/shared/obj"), READER, &sk))
            .await;
        if denied(&r) {
            break;
        }
        assert!(Instant::now() < deadline, "the revoke never took effect");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.stop().await;
}

#[tokio::test]
async fn anonymous_requests_are_denied() {
    let c = setup().await;
    for url in ["/shared/obj", "/shared", "/"] {
        let r = c
            .http
            .get(format!("http://{}{url}", c.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        assert!(r.text().await.unwrap().contains("AccessDenied"));
    }
    c.stop().await;
}

/// Sends a GET signed at `at` (header auth).
async fn get_signed_at(c: &TestCluster, path: &str, at: OffsetDateTime) -> Resp {
    let signed = sigv4::sign_at(
        at,
        "GET",
        &c.addr,
        path,
        &[],
        &[],
        &sigv4::sha256_hex(b""),
        ACCESS_KEY,
        SECRET_KEY,
        "us-east-1",
    );
    let mut b = c.http.get(format!("http://{}{path}", c.addr));
    for (k, v) in &signed.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    into_resp(b.send().await.unwrap()).await
}

async fn into_resp(r: reqwest::Response) -> Resp {
    Resp {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        body: r.bytes().await.unwrap_or_default(),
    }
}

#[tokio::test]
async fn clock_skew_beyond_15_minutes_is_refused() {
    let c = setup().await;
    let now = OffsetDateTime::now_utc();
    for off in [-16, 16] {
        let r = get_signed_at(&c, "/shared/obj", now + time::Duration::minutes(off)).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (403, "RequestTimeTooSkewed"),
            "{off} min"
        );
    }
    for off in [-14, 14] {
        let r = get_signed_at(&c, "/shared/obj", now + time::Duration::minutes(off)).await;
        assert_eq!(r.status, 200, "{off} min: {}", r.text());
    }
    c.stop().await;
}

async fn get_presigned(
    c: &TestCluster,
    at: OffsetDateTime,
    expires: &str,
    ak: &str,
    sk: &str,
    region: &str,
) -> Resp {
    let q = sigv4::presign(at, expires, "GET", &c.addr, "/shared/obj", ak, sk, region);
    let url = format!("http://{}/shared/obj?{q}", c.addr);
    into_resp(c.http.get(url).send().await.unwrap()).await
}

#[tokio::test]
async fn presigned_urls_expire_and_are_bounded() {
    let c = setup().await;
    let now = OffsetDateTime::now_utc();
    let ok = get_presigned(&c, now, "60", ACCESS_KEY, SECRET_KEY, "us-east-1").await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(&ok.body[..], b"hello");
    // A week is the longest lifetime; the scope must name the gateway's region.
    let week = get_presigned(&c, now, "604800", ACCESS_KEY, SECRET_KEY, "us-east-1").await;
    assert_eq!(week.status, 200, "{}", week.text());
    let other = get_presigned(&c, now, "60", ACCESS_KEY, SECRET_KEY, "mars-north-7").await;
    assert_eq!(
        (other.status, other.code().as_str()),
        (400, "AuthorizationQueryParametersError"),
        "{}",
        other.text()
    );

    let old = now - time::Duration::seconds(120);
    let expired = get_presigned(&c, old, "60", ACCESS_KEY, SECRET_KEY, "us-east-1").await;
    assert_eq!(
        (expired.status, expired.code().as_str()),
        (403, "AccessDenied")
    );
    assert!(expired.text().contains("Request has expired"));

    for bad in ["0", "604801", "abc"] {
        let r = get_presigned(&c, now, bad, ACCESS_KEY, SECRET_KEY, "us-east-1").await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (400, "AuthorizationQueryParametersError"),
            "{bad}"
        );
    }
    let future = now + time::Duration::minutes(20);
    let r = get_presigned(&c, future, "60", ACCESS_KEY, SECRET_KEY, "us-east-1").await;
    assert_eq!((r.status, r.code().as_str()), (403, "RequestTimeTooSkewed"));

    // Presigned requests are authorized like any other.
    let sk = secret(NOBODY);
    let r = get_presigned(&c, now, "60", NOBODY, &sk, "us-east-1").await;
    assert!(denied(&r), "{}", r.text());
    let sk = secret(READER);
    let r = get_presigned(&c, now, "60", READER, &sk, "us-east-1").await;
    assert_eq!(r.status, 200, "{}", r.text());
    c.stop().await;
}

#[tokio::test]
async fn signature_v2_is_refused() {
    let c = setup().await;
    let r = c
        .http
        .get(format!("http://{}/shared/obj", c.addr))
        .header("authorization", format!("AWS {ACCESS_KEY}:c2lnbmF0dXJl"))
        .header("date", "Thu, 01 Jan 2025 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    let r = into_resp(r).await;
    assert_eq!((r.status, r.code().as_str()), (400, "InvalidRequest"));
    c.stop().await;
}
