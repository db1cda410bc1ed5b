//! Multipart uploads, copies, batch deletes, conditional writes and grants through a real
//! three-node meta cluster in one process.

mod common;

use common::{object, start_cluster};
use trireme_api::meta::*;
use trireme_api::multipart::*;
use trireme_api::object::ChunkRef;
use trireme_api::ErrorCode;

fn part(n: u32, size: u64, etag: &str) -> PartRecord {
    let chunks: Vec<ChunkRef> = object(size).chunks;
    PartRecord {
        part_number: n,
        size,
        etag: etag.into(),
        last_modified_ms: 0,
        checksums: Default::default(),
        chunks,
    }
}

fn loc(upload_id: &str) -> (String, String, String) {
    ("bkt".into(), "big".into(), upload_id.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_rules_and_atomic_completion() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let (mut nodes, client, _t) = start_cluster(dir.path()).await;
    client
        .call(&CreateBucket {
            name: "bkt".into(),
            owner: "me".into(),
        })
        .await
        .expect("bucket");
    let up = client
        .call(&CreateMultipartUpload {
            bucket: "bkt".into(),
            key: "big".into(),
            initiator: "me".into(),
            metadata: UploadMetadata {
                content_type: Some("text/x".into()),
                ..Default::default()
            },
        })
        .await
        .expect("create upload");
    let (bucket, key, upload_id) = loc(&up.upload_id);
    let record = |p: PartRecord| RecordPart {
        bucket: bucket.clone(),
        key: key.clone(),
        upload_id: upload_id.clone(),
        part: p,
    };
    client
        .call(&record(part(1, MIN_PART_SIZE, "a")))
        .await
        .expect("part 1");
    client
        .call(&record(part(2, 10, "b")))
        .await
        .expect("part 2");
    client
        .call(&record(part(1, MIN_PART_SIZE, "c")))
        .await
        .expect("part 1 again replaces it");
    client
        .call(&record(part(3, 10, "d")))
        .await
        .expect("part 3");

    let listed = client
        .call(&ListParts {
            bucket: bucket.clone(),
            key: key.clone(),
            upload_id: upload_id.clone(),
            part_number_marker: 0,
            max_parts: 2,
        })
        .await
        .expect("list parts");
    assert_eq!(
        listed
            .parts
            .iter()
            .map(|p| p.etag.as_str())
            .collect::<Vec<_>>(),
        vec!["c", "b"]
    );
    assert!(listed.is_truncated);
    assert_eq!(listed.next_part_number_marker, Some(2));

    let complete = |parts: Vec<(u32, &str)>| CompleteMultipartUpload {
        bucket: bucket.clone(),
        key: key.clone(),
        upload_id: upload_id.clone(),
        parts: parts.into_iter().map(|(n, e)| (n, e.to_string())).collect(),
        etag: "final-2".into(),
        checksums: Default::default(),
        condition: None,
    };
    let e = client
        .call(&complete(vec![(2, "b"), (1, "c")]))
        .await
        .expect_err("order");
    assert_eq!(e.code(), Some(ErrorCode::InvalidPartOrder));
    let e = client
        .call(&complete(vec![(1, "a"), (2, "b")]))
        .await
        .expect_err("stale etag");
    assert_eq!(e.code(), Some(ErrorCode::InvalidPart));
    let e = client
        .call(&complete(vec![(1, "c"), (2, "b"), (3, "d")]))
        .await
        .expect_err("small middle part");
    assert_eq!(e.code(), Some(ErrorCode::EntityTooSmall));
    let e = client
        .call(&complete(vec![(1, "c"), (4, "x")]))
        .await
        .expect_err("missing part");
    assert_eq!(e.code(), Some(ErrorCode::InvalidPart));

    let uploads = client
        .call(&ListMultipartUploads {
            bucket: bucket.clone(),
            max_uploads: 10,
            ..Default::default()
        })
        .await
        .expect("list uploads");
    assert_eq!(uploads.uploads.len(), 1);

    client
        .call(&complete(vec![(1, "\"c\""), (2, "b")]))
        .await
        .expect("complete");
    let got = client
        .call(&GetObject {
            bucket: bucket.clone(),
            key: key.clone(),
        })
        .await
        .expect("get");
    assert_eq!(got.object.size, MIN_PART_SIZE + 10);
    assert_eq!(got.object.part_sizes, vec![MIN_PART_SIZE, 10]);
    assert_eq!(got.object.etag, "final-2");
    assert_eq!(got.object.content_type.as_deref(), Some("text/x"));
    assert_eq!(got.object.chunks.len(), 2);

    let e = client
        .call(&complete(vec![(1, "c"), (2, "b")]))
        .await
        .expect_err("completed twice");
    assert_eq!(e.code(), Some(ErrorCode::NoSuchUpload));
    let e = client
        .call(&GetUpload {
            bucket: bucket.clone(),
            key: key.clone(),
            upload_id: upload_id.clone(),
        })
        .await
        .expect_err("gone");
    assert_eq!(e.code(), Some(ErrorCode::NoSuchUpload));
    let uploads = client
        .call(&ListMultipartUploads {
            bucket: bucket.clone(),
            max_uploads: 10,
            ..Default::default()
        })
        .await
        .expect("list uploads");
    assert!(uploads.uploads.is_empty());

    // Abort.
    let up2 = client
        .call(&CreateMultipartUpload {
            bucket: bucket.clone(),
            key: "k2".into(),
            initiator: "me".into(),
            metadata: Default::default(),
        })
        .await
        .expect("create");
    client
        .call(&AbortMultipartUpload {
            bucket: bucket.clone(),
            key: "k2".into(),
            upload_id: up2.upload_id.clone(),
        })
        .await
        .expect("abort");
    let e = client
        .call(&AbortMultipartUpload {
            bucket: bucket.clone(),
            key: "k2".into(),
            upload_id: up2.upload_id,
        })
        .await
        .expect_err("abort twice");
    assert_eq!(e.code(), Some(ErrorCode::NoSuchUpload));

    // Two completions of one upload racing: exactly one wins, the other finds no upload.
    let up3 = client
        .call(&CreateMultipartUpload {
            bucket: bucket.clone(),
            key: "raced".into(),
            initiator: "me".into(),
            metadata: Default::default(),
        })
        .await
        .expect("create");
    client
        .call(&RecordPart {
            bucket: bucket.clone(),
            key: "raced".into(),
            upload_id: up3.upload_id.clone(),
            part: part(1, 10, "p"),
        })
        .await
        .expect("part");
    let mut racers = Vec::new();
    for i in 0..4 {
        let c = client.clone();
        let req = CompleteMultipartUpload {
            bucket: bucket.clone(),
            key: "raced".into(),
            upload_id: up3.upload_id.clone(),
            parts: vec![(1, "p".into())],
            etag: format!("winner-{i}"),
            checksums: Default::default(),
            condition: None,
        };
        racers.push(tokio::spawn(async move { c.call(&req).await }));
    }
    let mut wins = 0;
    for r in racers {
        match r.await.expect("join") {
            Ok(_) => wins += 1,
            Err(e) => assert_eq!(e.code(), Some(ErrorCode::NoSuchUpload)),
        }
    }
    assert_eq!(wins, 1, "an upload completes once");
    let got = client
        .call(&GetObject {
            bucket: bucket.clone(),
            key: "raced".into(),
        })
        .await
        .expect("raced object");
    assert!(got.object.etag.starts_with("winner-"));

    for n in &mut nodes {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_writes_copies_and_batch_deletes() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let (mut nodes, client, _t) = start_cluster(dir.path()).await;
    client
        .call(&CreateBucket {
            name: "bkt".into(),
            owner: "me".into(),
        })
        .await
        .expect("bucket");
    let put = |key: &str, condition: Option<WriteCondition>| CommitObject {
        bucket: "bkt".into(),
        key: key.into(),
        object: object(3),
        condition,
    };

    // Racing If-None-Match: * writers: exactly one wins.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = client.clone();
        let req = put("race", Some(WriteCondition::IfNoneMatchAny));
        tasks.push(tokio::spawn(async move { c.call(&req).await }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(_) => wins += 1,
            Err(e) => assert_eq!(e.code(), Some(ErrorCode::PreconditionFailed)),
        }
    }
    assert_eq!(wins, 1, "exactly one conditional create wins");

    let e = client
        .call(&put("nope", Some(WriteCondition::IfMatch("e".into()))))
        .await
        .expect_err("missing");
    assert_eq!(e.code(), Some(ErrorCode::NoSuchKey));
    let e = client
        .call(&put("race", Some(WriteCondition::IfMatch("other".into()))))
        .await
        .expect_err("etag");
    assert_eq!(e.code(), Some(ErrorCode::PreconditionFailed));
    client
        .call(&put("race", Some(WriteCondition::IfMatch("\"e\"".into()))))
        .await
        .expect("matching etag");

    // Copy shares the chunks and can replace metadata.
    let copied = client
        .call(&CopyObject {
            src_bucket: "bkt".into(),
            src_key: "race".into(),
            dst_bucket: "bkt".into(),
            dst_key: "copy".into(),
            src_etag: Some("e".into()),
            replace_metadata: Some(UploadMetadata {
                content_type: Some("a/b".into()),
                ..Default::default()
            }),
            condition: None,
        })
        .await
        .expect("copy");
    assert_eq!(copied.size, 3);
    let src = client
        .call(&GetObject {
            bucket: "bkt".into(),
            key: "race".into(),
        })
        .await
        .expect("src");
    let dst = client
        .call(&GetObject {
            bucket: "bkt".into(),
            key: "copy".into(),
        })
        .await
        .expect("dst");
    assert_eq!(src.object.chunks, dst.object.chunks);
    assert_eq!(dst.object.content_type.as_deref(), Some("a/b"));
    let e = client
        .call(&CopyObject {
            src_bucket: "bkt".into(),
            src_key: "race".into(),
            dst_bucket: "bkt".into(),
            dst_key: "copy2".into(),
            src_etag: Some("changed".into()),
            replace_metadata: None,
            condition: None,
        })
        .await
        .expect_err("source changed");
    assert_eq!(e.code(), Some(ErrorCode::PreconditionFailed));

    let r = client
        .call(&DeleteObjects {
            bucket: "bkt".into(),
            keys: vec!["race".into(), "ghost".into(), "copy".into()],
        })
        .await
        .expect("batch delete");
    assert_eq!(r.existed, vec![true, false, true]);
    let list = client
        .call(&ListObjects {
            bucket: "bkt".into(),
            max_keys: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    assert!(list.objects.is_empty());

    // Grants and keys.
    let e = client
        .call(&SetBucketGrant {
            bucket: "bkt".into(),
            access_key: "NOBODY".into(),
            permissions: Permissions {
                read: true,
                ..Default::default()
            },
        })
        .await
        .expect_err("unknown key");
    assert_eq!(e.code(), Some(ErrorCode::NoSuchAccessKey));
    let k = client
        .call(&CreateAccessKey {
            name: "imported".into(),
            access_key: Some("AKIMPORTED1".into()),
            secret_key: Some("s3cr3t-s3cr3t".into()),
            allow_create_bucket: false,
        })
        .await
        .expect("import key");
    assert!(!k.allow_create_bucket);
    let b = client
        .call(&SetBucketGrant {
            bucket: "bkt".into(),
            access_key: "AKIMPORTED1".into(),
            permissions: Permissions {
                read: true,
                write: true,
                owner: false,
            },
        })
        .await
        .expect("grant");
    assert!(b.grants["AKIMPORTED1"].write);
    let b = client
        .call(&SetBucketGrant {
            bucket: "bkt".into(),
            access_key: "AKIMPORTED1".into(),
            permissions: Permissions::default(),
        })
        .await
        .expect("revoke");
    assert!(b.grants.is_empty());
    client
        .call(&SetBucketGrant {
            bucket: "bkt".into(),
            access_key: "AKIMPORTED1".into(),
            permissions: Permissions {
                read: true,
                ..Default::default()
            },
        })
        .await
        .expect("grant again");
    client
        .call(&DeleteAccessKey {
            access_key: "AKIMPORTED1".into(),
        })
        .await
        .expect("delete key");
    let e = client
        .call(&GetAccessKey {
            access_key: "AKIMPORTED1".into(),
        })
        .await
        .expect_err("deleted");
    assert_eq!(e.code(), Some(ErrorCode::NoSuchAccessKey));
    let b = client
        .call(&GetBucket { name: "bkt".into() })
        .await
        .expect("bucket");
    assert!(b.grants.is_empty(), "a deleted key's grants are dropped");

    for n in &mut nodes {
        n.stop().await;
    }
}
