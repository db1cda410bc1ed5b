//! S3 additional checksums (`x-amz-checksum-crc32`, `-crc32c`, `-crc64nvme`, `-sha1`,
//! `-sha256`): computed while a PUT streams, checked against the value the client sent (as a
//! header or an aws-chunked trailer), stored in the record and returned by GET/HEAD with
//! `x-amz-checksum-mode: ENABLED` for whole-object reads.

use s3s::checksum::ChecksumHasher;
use s3s::crypto::Checksum as _;
use s3s::dto::{Checksum, ChecksumAlgorithm, ChecksumType, PutObjectInput};
use s3s::{S3Error, S3ErrorCode, S3Result};
use std::collections::BTreeMap;

const NAMES: [&str; 5] = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

fn slot<'a>(c: &'a mut Checksum, name: &str) -> Option<&'a mut Option<String>> {
    match name {
        "crc32" => Some(&mut c.checksum_crc32),
        "crc32c" => Some(&mut c.checksum_crc32c),
        "crc64nvme" => Some(&mut c.checksum_crc64nvme),
        "sha1" => Some(&mut c.checksum_sha1),
        "sha256" => Some(&mut c.checksum_sha256),
        _ => None,
    }
}

fn get<'a>(c: &'a Checksum, name: &str) -> Option<&'a String> {
    match name {
        "crc32" => c.checksum_crc32.as_ref(),
        "crc32c" => c.checksum_crc32c.as_ref(),
        "crc64nvme" => c.checksum_crc64nvme.as_ref(),
        "sha1" => c.checksum_sha1.as_ref(),
        "sha256" => c.checksum_sha256.as_ref(),
        _ => None,
    }
}

/// The checksums a PUT carries in headers.
pub fn from_input(input: &PutObjectInput) -> Checksum {
    Checksum {
        checksum_crc32: input.checksum_crc32.clone(),
        checksum_crc32c: input.checksum_crc32c.clone(),
        checksum_crc64nvme: input.checksum_crc64nvme.clone(),
        checksum_sha1: input.checksum_sha1.clone(),
        checksum_sha256: input.checksum_sha256.clone(),
        ..Default::default()
    }
}

/// Algorithm names announced in `x-amz-trailer` (e.g. `x-amz-checksum-crc32`).
pub fn trailer_names(headers: &http::HeaderMap) -> Vec<String> {
    headers
        .get_all("x-amz-trailer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| {
            t.trim()
                .to_ascii_lowercase()
                .strip_prefix("x-amz-checksum-")
                .map(str::to_string)
        })
        .collect()
}

/// A hasher for every algorithm the client sent a value for, announced in a trailer, or
/// named by `x-amz-sdk-checksum-algorithm`. None when there is nothing to compute.
pub fn hasher_for(
    claimed: &Checksum,
    algorithm: Option<&ChecksumAlgorithm>,
    trailers: &[String],
) -> Option<ChecksumHasher> {
    let mut wanted: Vec<String> = NAMES
        .iter()
        .filter(|n| get(claimed, n).is_some())
        .map(|n| n.to_string())
        .collect();
    wanted.extend(algorithm.map(|a| a.as_str().to_ascii_lowercase()));
    wanted.extend(trailers.iter().cloned());
    let mut h = ChecksumHasher::default();
    let mut any = false;
    for n in wanted {
        any |= match n.as_str() {
            "crc32" => h.crc32.replace(s3s::crypto::Crc32::new()).is_none(),
            "crc32c" => h.crc32c.replace(s3s::crypto::Crc32c::new()).is_none(),
            "crc64nvme" => h.crc64nvme.replace(s3s::crypto::Crc64Nvme::new()).is_none(),
            "sha1" => h.sha1.replace(s3s::crypto::Sha1::new()).is_none(),
            "sha256" => h.sha256.replace(s3s::crypto::Sha256::new()).is_none(),
            _ => false,
        };
    }
    any.then_some(h)
}

/// Adds values found in the aws-chunked trailers to `claimed`.
pub fn add_trailers(claimed: &mut Checksum, trailers: Option<&http::HeaderMap>) {
    let Some(t) = trailers else { return };
    for n in NAMES {
        if let Some(v) = t
            .get(format!("x-amz-checksum-{n}"))
            .and_then(|v| v.to_str().ok())
        {
            if let Some(s) = slot(claimed, n) {
                s.get_or_insert_with(|| v.trim().to_string());
            }
        }
    }
}

/// Fails with BadDigest when a claimed checksum differs from the computed one.
pub fn verify(computed: &Checksum, claimed: &Checksum) -> S3Result<()> {
    for n in NAMES {
        if let Some(want) = get(claimed, n) {
            if get(computed, n) != Some(want) {
                return Err(S3Error::with_message(
                    S3ErrorCode::BadDigest,
                    format!(
                        "The {} you specified did not match the calculated checksum.",
                        n.to_ascii_uppercase()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The record's `checksums` map (lowercase algorithm names, base64 values).
pub fn to_map(c: &Checksum) -> BTreeMap<String, String> {
    NAMES
        .iter()
        .filter_map(|n| get(c, n).map(|v| (n.to_string(), v.clone())))
        .collect()
}

/// Checksums stored in a record.
pub fn from_map(m: &BTreeMap<String, String>) -> Checksum {
    let mut c = Checksum::default();
    for (k, v) in m {
        if let Some(s) = slot(&mut c, k) {
            *s = Some(v.clone());
        }
    }
    c
}

/// The checksum type of stored checksums: COMPOSITE for a multipart object's checksum of
/// checksums (`base64-N`; base64 itself has no '-'), FULL_OBJECT otherwise; None without any.
pub fn checksum_type(c: &Checksum) -> Option<ChecksumType> {
    let values: Vec<&String> = NAMES.iter().filter_map(|n| get(c, n)).collect();
    if values.is_empty() {
        return None;
    }
    let kind = if values.iter().any(|v| v.contains('-')) {
        ChecksumType::COMPOSITE
    } else {
        ChecksumType::FULL_OBJECT
    };
    Some(ChecksumType::from_static(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compute(h: Option<ChecksumHasher>, data: &[u8]) -> Checksum {
        let mut h = h.unwrap();
        h.update(data);
        h.finalize()
    }

    #[test]
    fn verifies_what_was_claimed() {
        // CRC32("hello") as boto3 sends it.
        let claimed = Checksum {
            checksum_crc32: Some("NhCmhg==".into()),
            ..Default::default()
        };
        let got = compute(hasher_for(&claimed, None, &[]), b"hello");
        assert!(verify(&got, &claimed).is_ok());
        let bad = compute(hasher_for(&claimed, None, &[]), b"hellO");
        assert_eq!(
            verify(&bad, &claimed).unwrap_err().code(),
            &S3ErrorCode::BadDigest
        );
        assert!(hasher_for(&Checksum::default(), None, &[]).is_none());
    }

    #[test]
    fn algorithm_and_trailers_enable_hashers() {
        let alg = ChecksumAlgorithm::from_static(ChecksumAlgorithm::SHA256);
        let got = compute(
            hasher_for(&Checksum::default(), Some(&alg), &["crc32c".into()]),
            b"hello",
        );
        assert_eq!(
            got.checksum_sha256.as_deref(),
            Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
        );
        assert!(got.checksum_crc32c.is_some());
        assert!(got.checksum_crc32.is_none());
        let mut h = http::HeaderMap::new();
        h.insert("x-amz-trailer", "x-amz-checksum-crc64nvme".parse().unwrap());
        assert_eq!(trailer_names(&h), vec!["crc64nvme"]);
        let mut claimed = Checksum::default();
        let mut t = http::HeaderMap::new();
        t.insert("x-amz-checksum-crc64nvme", "AAAAAAAAAAA=".parse().unwrap());
        add_trailers(&mut claimed, Some(&t));
        assert_eq!(claimed.checksum_crc64nvme.as_deref(), Some("AAAAAAAAAAA="));
    }

    #[test]
    fn map_round_trip() {
        let c = Checksum {
            checksum_crc32: Some("x".into()),
            checksum_sha1: Some("y".into()),
            ..Default::default()
        };
        let m = to_map(&c);
        assert_eq!(m.len(), 2);
        assert!(from_map(&m) == c);
        let kind = |c: &Checksum| checksum_type(c).map(|k| k.as_str().to_string());
        assert_eq!(kind(&c).as_deref(), Some(ChecksumType::FULL_OBJECT));
        let composite = Checksum {
            checksum_crc32: Some("AAAAAA==-3".into()),
            ..Default::default()
        };
        assert_eq!(kind(&composite).as_deref(), Some(ChecksumType::COMPOSITE));
        assert_eq!(kind(&Checksum::default()), None);
    }
}
