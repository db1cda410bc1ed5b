//! One pass over the common S3 calls with the AWS SDK for Rust against a running cluster.
//! Ignored by default: `tests/test_clients_rust_sdk.py` runs it with `--ignored` and the
//! `TRIREME_TEST_*` variables pointing at its cluster (see `src/lib.rs`).

use std::time::Instant;

use anyhow::{ensure, Context};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumMode, CompletedMultipartUpload, CompletedPart};
use md5::{Digest, Md5};
use rand::RngCore;
use trireme_sdk_tests::{client, crc32_base64, SdkContext, Target};

const MIB: usize = 1024 * 1024;

fn random(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

async fn get_bytes(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> anyhow::Result<Vec<u8>> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .sdk_context(&format!("GetObject {key}"))?;
    let body = out
        .body
        .collect()
        .await
        .context("reading the GetObject body")?;
    Ok(body.into_bytes().to_vec())
}

#[tokio::test]
#[ignore = "needs a running cluster: run by tests/test_clients_rust_sdk.py with TRIREME_TEST_* set"]
async fn sdk_put_get_list_multipart_delete() -> anyhow::Result<()> {
    let target = Target::from_env()?;
    let s3 = client(&target)?;
    let t0 = Instant::now();
    let bucket = format!("rust-sdk-{:08x}", rand::random::<u32>());
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .sdk_context("CreateBucket")?;
    println!("endpoint {} bucket {bucket}", target.endpoint);

    // PutObject with an in-memory body: the SDK sends x-amz-checksum-crc32 as a signed header.
    let small = random(MIB + 4321);
    let put = s3
        .put_object()
        .bucket(&bucket)
        .key("in-memory.bin")
        .body(ByteStream::from(small.clone()))
        .send()
        .await
        .sdk_context("PutObject (in-memory body, CRC32 header)")?;
    let etag = put.e_tag().unwrap_or_default().to_string();
    ensure!(
        etag == format!("\"{}\"", md5_hex(&small)),
        "PutObject ETag {etag} is not the MD5 of the body"
    );
    ensure!(
        put.checksum_crc32() == Some(crc32_base64(&small).as_str()),
        "PutObject answered CRC32 {:?}, expected {}",
        put.checksum_crc32(),
        crc32_base64(&small)
    );
    ensure!(
        get_bytes(&s3, &bucket, "in-memory.bin").await? == small,
        "in-memory.bin read back differs"
    );

    // PutObject with a streaming body: aws-chunked with a trailing x-amz-checksum-crc32.
    let streamed = random(3 * MIB + 77);
    let dir = std::env::temp_dir().join(format!("trireme-sdk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("creating a temp dir")?;
    let path = dir.join("streamed.bin");
    std::fs::write(&path, &streamed).context("writing the streamed file")?;
    let body = ByteStream::from_path(&path)
        .await
        .context("opening the streamed file")?;
    let put = s3
        .put_object()
        .bucket(&bucket)
        .key("dir/streamed.bin")
        .body(body)
        .send()
        .await
        .sdk_context("PutObject (streaming body, aws-chunked with a CRC32 trailer)")?;
    std::fs::remove_dir_all(&dir).context("removing the temp dir")?;
    ensure!(
        put.e_tag() == Some(format!("\"{}\"", md5_hex(&streamed)).as_str()),
        "aws-chunked PutObject ETag {:?} is not the MD5 of the payload",
        put.e_tag()
    );
    ensure!(
        put.checksum_crc32() == Some(crc32_base64(&streamed).as_str()),
        "aws-chunked PutObject answered CRC32 {:?}, expected {}",
        put.checksum_crc32(),
        crc32_base64(&streamed)
    );
    ensure!(
        get_bytes(&s3, &bucket, "dir/streamed.bin").await? == streamed,
        "dir/streamed.bin read back differs"
    );

    // GetObject with checksum mode: the stored CRC32 comes back (and the SDK validates it).
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key("dir/streamed.bin")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .sdk_context("GetObject with ChecksumMode=ENABLED")?;
    ensure!(
        got.checksum_crc32() == Some(crc32_base64(&streamed).as_str()),
        "GetObject returned CRC32 {:?}, expected {}",
        got.checksum_crc32(),
        crc32_base64(&streamed)
    );
    ensure!(
        got.content_length() == Some(streamed.len() as i64),
        "GetObject Content-Length {:?}",
        got.content_length()
    );
    let body = got
        .body
        .collect()
        .await
        .context("reading the checksummed body")?
        .into_bytes();
    ensure!(
        body.as_ref() == streamed.as_slice(),
        "checksummed GetObject body differs"
    );

    // A ranged GET.
    let ranged = s3
        .get_object()
        .bucket(&bucket)
        .key("in-memory.bin")
        .range("bytes=1000-1999")
        .send()
        .await
        .sdk_context("GetObject Range")?;
    ensure!(
        ranged.content_range() == Some(format!("bytes 1000-1999/{}", small.len()).as_str()),
        "Content-Range {:?}",
        ranged.content_range()
    );
    let body = ranged
        .body
        .collect()
        .await
        .context("reading the range")?
        .into_bytes();
    ensure!(body.as_ref() == &small[1000..2000], "ranged body differs");

    // Multipart upload: 5 MiB + 5 MiB + 1 MiB + 3 bytes, parts sent out of order.
    let parts_data = [random(5 * MIB), random(5 * MIB), random(MIB + 3)];
    let whole: Vec<u8> = parts_data.concat();
    let created = s3
        .create_multipart_upload()
        .bucket(&bucket)
        .key("dir/multipart.bin")
        .content_type("application/x-trireme-test")
        .send()
        .await
        .sdk_context("CreateMultipartUpload")?;
    let upload_id = created
        .upload_id()
        .context("CreateMultipartUpload returned no UploadId")?
        .to_string();
    let mut completed = Vec::new();
    for n in [2usize, 1, 3] {
        let data = &parts_data[n - 1];
        let out = s3
            .upload_part()
            .bucket(&bucket)
            .key("dir/multipart.bin")
            .upload_id(&upload_id)
            .part_number(n as i32)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .sdk_context(&format!("UploadPart {n}"))?;
        let part_etag = out
            .e_tag()
            .context("UploadPart returned no ETag")?
            .to_string();
        ensure!(
            part_etag == format!("\"{}\"", md5_hex(data)),
            "part {n} ETag {part_etag} is not its MD5"
        );
        completed.push(
            CompletedPart::builder()
                .part_number(n as i32)
                .e_tag(part_etag)
                .set_checksum_crc32(out.checksum_crc32().map(str::to_string))
                .build(),
        );
    }
    completed.sort_by_key(|p| p.part_number());
    let listed = s3
        .list_parts()
        .bucket(&bucket)
        .key("dir/multipart.bin")
        .upload_id(&upload_id)
        .send()
        .await
        .sdk_context("ListParts")?;
    let listed: Vec<(i32, i64)> = listed
        .parts()
        .iter()
        .map(|p| (p.part_number().unwrap_or(0), p.size().unwrap_or(-1)))
        .collect();
    let expected: Vec<(i32, i64)> = parts_data
        .iter()
        .enumerate()
        .map(|(i, d)| (i as i32 + 1, d.len() as i64))
        .collect();
    ensure!(
        listed == expected,
        "ListParts gave {listed:?}, expected {expected:?}"
    );
    let done = s3
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("dir/multipart.bin")
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .sdk_context("CompleteMultipartUpload")?;
    let mp_etag = done.e_tag().unwrap_or_default().to_string();
    let mut concat = Vec::new();
    for d in &parts_data {
        concat.extend_from_slice(&Md5::digest(d));
    }
    let expected_etag = format!("\"{}-3\"", md5_hex(&concat));
    ensure!(
        mp_etag == expected_etag,
        "multipart ETag {mp_etag}, expected {expected_etag}"
    );
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key("dir/multipart.bin")
        .send()
        .await
        .sdk_context("HeadObject on the multipart object")?;
    ensure!(
        head.content_length() == Some(whole.len() as i64),
        "multipart size {:?}",
        head.content_length()
    );
    ensure!(
        head.content_type() == Some("application/x-trireme-test"),
        "content type {:?}",
        head.content_type()
    );
    ensure!(
        get_bytes(&s3, &bucket, "dir/multipart.bin").await? == whole,
        "multipart object read back differs"
    );

    // ListObjectsV2: everything, a prefix, and the paginator one key per page.
    let mut keys_expected = vec!["dir/multipart.bin", "dir/streamed.bin", "in-memory.bin"];
    keys_expected.sort();
    let all = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .sdk_context("ListObjectsV2")?;
    let keys: Vec<&str> = all.contents().iter().filter_map(|o| o.key()).collect();
    ensure!(keys == keys_expected, "ListObjectsV2 keys {keys:?}");
    let sizes: Vec<i64> = all
        .contents()
        .iter()
        .map(|o| o.size().unwrap_or(-1))
        .collect();
    ensure!(
        sizes
            == vec![
                whole.len() as i64,
                streamed.len() as i64,
                small.len() as i64
            ],
        "ListObjectsV2 sizes {sizes:?}"
    );
    let dir = s3
        .list_objects_v2()
        .bucket(&bucket)
        .delimiter("/")
        .send()
        .await
        .sdk_context("ListObjectsV2 delimiter")?;
    let prefixes: Vec<&str> = dir
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    ensure!(prefixes == vec!["dir/"], "common prefixes {prefixes:?}");
    let mut pages = s3
        .list_objects_v2()
        .bucket(&bucket)
        .max_keys(1)
        .into_paginator()
        .send();
    let mut paged = Vec::new();
    let mut n_pages = 0;
    while let Some(page) = pages.next().await {
        let page = page.sdk_context("ListObjectsV2 page")?;
        n_pages += 1;
        paged.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
    }
    ensure!(paged == keys_expected, "paginated keys {paged:?}");
    ensure!(n_pages == 3, "expected 3 pages of 1 key, got {n_pages}");

    // DeleteObject, then nothing is left and the bucket can go.
    for key in &keys_expected {
        s3.delete_object()
            .bucket(&bucket)
            .key(*key)
            .send()
            .await
            .sdk_context(&format!("DeleteObject {key}"))?;
    }
    let gone = s3
        .head_object()
        .bucket(&bucket)
        .key("in-memory.bin")
        .send()
        .await;
    match gone {
        Err(e)
            if e.as_service_error()
                .map(|s| s.is_not_found())
                .unwrap_or(false) => {}
        other => anyhow::bail!("HeadObject after DeleteObject: expected NotFound, got {other:?}"),
    }
    let left = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .sdk_context("ListObjectsV2 after deletes")?;
    ensure!(
        left.contents().is_empty(),
        "objects left: {:?}",
        left.contents()
    );
    s3.delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .sdk_context("DeleteBucket")?;
    println!(
        "[figure] rust sdk: {} bytes of objects written and read back, whole run {:.2}s",
        small.len() + streamed.len() + whole.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
