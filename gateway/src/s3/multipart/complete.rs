//! CompleteMultipartUpload and AbortMultipartUpload.
//!
//! Completing parses the client's part list, computes the final ETag from the listed part
//! ETags and, when the upload announced a checksum algorithm, the object's COMPOSITE or
//! FULL_OBJECT checksum from the recorded parts' checksums (GetParts); the meta-server then
//! checks the list against the recorded parts and turns the upload into the object in one
//! Raft command (with the If-None-Match / If-Match condition, if any).

use super::digest::{self, Algorithm};
use super::get_upload;
use crate::error;
use crate::s3::headers::{timestamp_ms, unix_secs};
use crate::s3::list::url_encode;
use crate::s3::{checksum, write_condition, TriremeS3};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use std::collections::BTreeMap;
use trireme_api::multipart::{
    AbortMultipartUpload, CompleteMultipartUpload, GetParts, PartSummary, UploadMetadata,
    MAX_PART_NUMBER,
};

/// One entry of the client's part list.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedPart {
    pub number: u32,
    /// Unquoted.
    pub etag: String,
    pub md5: [u8; 16],
    /// Checksums the client lists for the part (must match the recorded ones).
    pub checksums: BTreeMap<String, String>,
}

fn malformed() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
}

fn invalid_part(msg: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidPart, msg.into())
}

const PART_NOT_FOUND: &str = "One or more of the specified parts could not be found. The part \
     may not have been uploaded, or the specified entity tag may not match the part's entity tag.";

/// Parses the `CompleteMultipartUpload` body: at least one part (else MalformedXML), part
/// numbers in strictly ascending order (else InvalidPartOrder), each with a part number and
/// an MD5 ETag (else InvalidPart).
pub fn listed_parts(body: Option<&CompletedMultipartUpload>) -> S3Result<Vec<ListedPart>> {
    let parts = body
        .and_then(|b| b.parts.as_ref())
        .filter(|p| !p.is_empty())
        .ok_or_else(malformed)?;
    if parts.len() > MAX_PART_NUMBER as usize {
        return Err(malformed());
    }
    let mut prev = 0u32;
    for p in parts {
        let n = p
            .part_number
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (1..=MAX_PART_NUMBER).contains(n))
            .ok_or_else(|| invalid_part(PART_NOT_FOUND))?;
        if n <= prev {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidPartOrder,
                "The list of parts was not in ascending order. The parts list must be \
                 specified in order by part number.",
            ));
        }
        prev = n;
    }
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        let etag = p
            .e_tag
            .as_ref()
            .map(|e| e.value().trim_matches('"').to_string())
            .ok_or_else(|| invalid_part(PART_NOT_FOUND))?;
        let md5 = digest::part_md5(&etag).ok_or_else(|| invalid_part(PART_NOT_FOUND))?;
        let claimed = Checksum {
            checksum_crc32: p.checksum_crc32.clone(),
            checksum_crc32c: p.checksum_crc32c.clone(),
            checksum_crc64nvme: p.checksum_crc64nvme.clone(),
            checksum_sha1: p.checksum_sha1.clone(),
            checksum_sha256: p.checksum_sha256.clone(),
            ..Default::default()
        };
        out.push(ListedPart {
            number: p.part_number.unwrap_or_default() as u32,
            etag,
            md5,
            checksums: checksum::to_map(&claimed),
        });
    }
    Ok(out)
}

/// The object's checksum from the recorded parts, when the upload announced an algorithm:
/// (checksum, type). Every listed part must be recorded with the listed ETag and checksums.
pub fn final_checksum(
    meta: &UploadMetadata,
    listed: &[ListedPart],
    recorded: &[PartSummary],
) -> S3Result<Option<(Checksum, &'static str)>> {
    let by_number: BTreeMap<u32, &PartSummary> =
        recorded.iter().map(|p| (p.part_number, p)).collect();
    let mut found = Vec::with_capacity(listed.len());
    for l in listed {
        let r = by_number
            .get(&l.number)
            .filter(|r| r.etag.trim_matches('"') == l.etag)
            .ok_or_else(|| invalid_part(PART_NOT_FOUND))?;
        for (name, value) in &l.checksums {
            if r.checksums.get(name) != Some(value) {
                return Err(invalid_part(format!(
                    "The {name} checksum listed for part {} does not match the uploaded part.",
                    l.number
                )));
            }
        }
        found.push(*r);
    }
    let Some(alg) = meta
        .checksum_algorithm
        .as_deref()
        .and_then(Algorithm::parse)
    else {
        return Ok(None);
    };
    let full = meta
        .checksum_type
        .as_deref()
        .map(|t| t.eq_ignore_ascii_case(ChecksumType::FULL_OBJECT))
        .unwrap_or(!alg.supports_composite());
    let mut values = Vec::with_capacity(found.len());
    for r in &found {
        let v = r.checksums.get(alg.name()).ok_or_else(|| {
            invalid_part(format!(
                "Part {} has no {} checksum, which this upload requires.",
                r.part_number,
                alg.name()
            ))
        })?;
        values.push((v.as_str(), r.size));
    }
    let (value, kind) = if full {
        (digest::full_object(alg, &values), ChecksumType::FULL_OBJECT)
    } else {
        let just: Vec<&str> = values.iter().map(|(v, _)| *v).collect();
        (digest::composite(alg, &just), ChecksumType::COMPOSITE)
    };
    let value = value.ok_or_else(|| {
        S3Error::with_message(
            S3ErrorCode::InternalError,
            "a recorded part checksum is malformed",
        )
    })?;
    let mut map = BTreeMap::new();
    map.insert(alg.name().to_string(), value);
    Ok(Some((checksum::from_map(&map), kind)))
}

/// Checks a whole-object checksum the client sent with the completion.
fn verify_claimed(computed: Option<&Checksum>, claimed: &Checksum) -> S3Result<()> {
    let claimed = checksum::to_map(claimed);
    let computed = computed.map(checksum::to_map).unwrap_or_default();
    for (name, want) in &claimed {
        let Some(got) = computed.get(name) else {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                format!("The upload was not created with the {name} checksum algorithm."),
            ));
        };
        let bare = got.split('-').next().unwrap_or(got);
        if want != got && want != bare {
            return Err(S3Error::with_message(
                S3ErrorCode::BadDigest,
                format!("The {name} you specified did not match the calculated checksum."),
            ));
        }
    }
    Ok(())
}

/// The object's URL, as S3's `Location`.
fn location(headers: &http::HeaderMap, bucket: &str, key: &str) -> String {
    let host = headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    if host.starts_with(&format!("{bucket}.")) {
        format!("http://{host}/{}", url_encode(key))
    } else {
        format!("http://{host}/{bucket}/{}", url_encode(key))
    }
}

pub async fn complete_multipart_upload(
    s3: &TriremeS3,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let location = location(&req.headers, &req.input.bucket, &req.input.key);
    let input = req.input;
    let listed = listed_parts(input.multipart_upload.as_ref())?;
    let condition =
        write_condition::from_headers(input.if_match.as_ref(), input.if_none_match.as_ref())?;
    let md5s: Vec<[u8; 16]> = listed.iter().map(|p| p.md5).collect();
    let etag = digest::multipart_etag(&md5s);

    let recorded = s3
        .meta
        .call(&GetParts {
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            upload_id: input.upload_id.clone(),
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    let meta = &recorded.upload.metadata;
    if let (Some(asked), Some(kind)) = (input.checksum_type.as_ref(), meta.checksum_type.as_ref()) {
        if !asked.as_str().eq_ignore_ascii_case(kind) {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                format!("The upload was created with the {kind} checksum type."),
            ));
        }
    }
    let sum = final_checksum(meta, &listed, &recorded.parts)?;
    let claimed = Checksum {
        checksum_crc32: input.checksum_crc32,
        checksum_crc32c: input.checksum_crc32c,
        checksum_crc64nvme: input.checksum_crc64nvme,
        checksum_sha1: input.checksum_sha1,
        checksum_sha256: input.checksum_sha256,
        ..Default::default()
    };
    verify_claimed(sum.as_ref().map(|(c, _)| c), &claimed)?;
    if let Some(want) = input.mpu_object_size {
        let sizes: BTreeMap<u32, u64> = recorded
            .parts
            .iter()
            .map(|p| (p.part_number, p.size))
            .collect();
        let total: u64 = listed.iter().filter_map(|l| sizes.get(&l.number)).sum();
        if u64::try_from(want).ok() != Some(total) {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                format!(
                    "The x-amz-mp-object-size {want} does not match the parts' total size {total}."
                ),
            ));
        }
    }

    let checksums = sum
        .as_ref()
        .map(|(c, _)| checksum::to_map(c))
        .unwrap_or_default();
    s3.meta
        .call(&CompleteMultipartUpload {
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            upload_id: input.upload_id.clone(),
            parts: listed.iter().map(|p| (p.number, p.etag.clone())).collect(),
            etag: etag.clone(),
            checksums,
            condition,
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    tracing::debug!(bucket = %input.bucket, key = %input.key, parts = listed.len(), "multipart upload completed");
    let (sum, kind) = match sum {
        Some((c, k)) => (c, Some(ChecksumType::from_static(k))),
        None => (Checksum::default(), None),
    };
    let output = CompleteMultipartUploadOutput {
        location: Some(location),
        bucket: Some(input.bucket),
        key: Some(input.key),
        e_tag: Some(ETag::Strong(etag)),
        checksum_crc32: sum.checksum_crc32,
        checksum_crc32c: sum.checksum_crc32c,
        checksum_crc64nvme: sum.checksum_crc64nvme,
        checksum_sha1: sum.checksum_sha1,
        checksum_sha256: sum.checksum_sha256,
        checksum_type: kind,
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

pub async fn abort_multipart_upload(
    s3: &TriremeS3,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let input = req.input;
    if let Some(t) = &input.if_match_initiated_time {
        let up = get_upload(s3, &input.bucket, &input.key, &input.upload_id).await?;
        let initiated = timestamp_ms(up.initiated_ms);
        if unix_secs(&initiated) != unix_secs(t) {
            return Err(S3Error::with_message(
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ));
        }
    }
    s3.meta
        .call(&AbortMultipartUpload {
            bucket: input.bucket,
            key: input.key,
            upload_id: input.upload_id,
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const E1: &str = "5d41402abc4b2a76b9719d911017c592";
    const E2: &str = "7d793037a0760186574b0282f2f435e7";

    fn part(n: Option<i32>, etag: Option<&str>) -> CompletedPart {
        CompletedPart {
            part_number: n,
            e_tag: etag.map(|e| ETag::Strong(e.into())),
            ..Default::default()
        }
    }

    fn body(parts: Vec<CompletedPart>) -> CompletedMultipartUpload {
        CompletedMultipartUpload { parts: Some(parts) }
    }

    fn code(r: S3Result<Vec<ListedPart>>) -> S3ErrorCode {
        r.unwrap_err().code().clone()
    }

    #[test]
    fn parses_part_lists() {
        let ok = listed_parts(Some(&body(vec![
            part(Some(1), Some(E1)),
            part(Some(3), Some(&format!("\"{E2}\""))),
        ])))
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!((ok[1].number, ok[1].etag.as_str()), (3, E2));
        assert_eq!(code(listed_parts(None)), S3ErrorCode::MalformedXML);
        assert_eq!(
            code(listed_parts(Some(&body(vec![])))),
            S3ErrorCode::MalformedXML
        );
        let order = body(vec![part(Some(2), Some(E1)), part(Some(1), Some(E2))]);
        assert_eq!(
            code(listed_parts(Some(&order))),
            S3ErrorCode::InvalidPartOrder
        );
        let dup = body(vec![part(Some(1), Some(E1)), part(Some(1), Some(E1))]);
        assert_eq!(
            code(listed_parts(Some(&dup))),
            S3ErrorCode::InvalidPartOrder
        );
        // Order is judged before ETags.
        let both = body(vec![part(Some(2), Some("x")), part(Some(1), Some(E2))]);
        assert_eq!(
            code(listed_parts(Some(&both))),
            S3ErrorCode::InvalidPartOrder
        );
        for bad in [
            body(vec![part(Some(1), Some("nothex"))]),
            body(vec![part(Some(1), None)]),
            body(vec![part(None, Some(E1))]),
            body(vec![part(Some(0), Some(E1))]),
            body(vec![part(Some(10_001), Some(E1))]),
        ] {
            assert_eq!(code(listed_parts(Some(&bad))), S3ErrorCode::InvalidPart);
        }
    }

    fn summary(n: u32, etag: &str, size: u64, crc: Option<&str>) -> PartSummary {
        PartSummary {
            part_number: n,
            size,
            etag: etag.into(),
            last_modified_ms: 0,
            checksums: crc
                .map(|c| [("crc32".to_string(), c.to_string())].into())
                .unwrap_or_default(),
        }
    }

    #[test]
    fn checksums_from_parts() {
        use base64::Engine;
        use s3s::crypto::{Checksum as _, Crc32};
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
        let c1 = b64(&Crc32::checksum(b"hello "));
        let c2 = b64(&Crc32::checksum(b"world"));
        let recorded = vec![summary(1, E1, 6, Some(&c1)), summary(2, E2, 5, Some(&c2))];
        let listed = listed_parts(Some(&body(vec![
            part(Some(1), Some(E1)),
            part(Some(2), Some(E2)),
        ])))
        .unwrap();
        let mut meta = UploadMetadata::default();
        assert_eq!(final_checksum(&meta, &listed, &recorded).unwrap(), None);
        meta.checksum_algorithm = Some("CRC32".into());
        meta.checksum_type = Some("FULL_OBJECT".into());
        let (sum, kind) = final_checksum(&meta, &listed, &recorded).unwrap().unwrap();
        assert_eq!(kind, ChecksumType::FULL_OBJECT);
        assert_eq!(
            sum.checksum_crc32,
            Some(b64(&Crc32::checksum(b"hello world")))
        );
        meta.checksum_type = Some("COMPOSITE".into());
        let (sum, _) = final_checksum(&meta, &listed, &recorded).unwrap().unwrap();
        assert!(sum.checksum_crc32.unwrap().ends_with("-2"));
        assert!(verify_claimed(None, &Checksum::default()).is_ok());

        // A listed part that was not recorded, or recorded with another ETag or checksum.
        let wrong = vec![summary(1, E2, 6, Some(&c1)), summary(2, E2, 5, Some(&c2))];
        assert_eq!(
            final_checksum(&meta, &listed, &wrong).unwrap_err().code(),
            &S3ErrorCode::InvalidPart
        );
        let mut claims = listed.clone();
        claims[0].checksums.insert("crc32".into(), c2.clone());
        assert_eq!(
            final_checksum(&meta, &claims, &recorded)
                .unwrap_err()
                .code(),
            &S3ErrorCode::InvalidPart
        );
        let missing = vec![summary(1, E1, 6, None), summary(2, E2, 5, Some(&c2))];
        assert_eq!(
            final_checksum(&meta, &listed, &missing).unwrap_err().code(),
            &S3ErrorCode::InvalidPart
        );
    }

    #[test]
    fn locations() {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::HOST, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(
            location(&h, "b", "a b/c"),
            "http://127.0.0.1:9000/b/a%20b/c"
        );
        h.insert(http::header::HOST, "b.s3.local".parse().unwrap());
        assert_eq!(location(&h, "b", "k"), "http://b.s3.local/k");
    }
}
