//! Multipart uploads. The meta-server keeps the upload and its recorded parts; the gateway
//! writes each part's data as chunks through the PUT pipeline and records the part, then
//! completes the upload with one atomic RPC that checks S3's rules (ascending part numbers,
//! matching ETags, parts of at least 5 MiB but the last).
//!
//! - [`create`]: CreateMultipartUpload (content type, stored headers, user metadata and the
//!   announced checksum algorithm/type are fixed at creation, as in S3).
//! - [`part`]: UploadPart (streamed, hashed and verified like PutObject).
//! - [`copy_part`]: UploadPartCopy (source chunks re-chunked inside the gateway).
//! - [`complete`]: CompleteMultipartUpload and AbortMultipartUpload.
//! - [`list`]: ListParts and ListMultipartUploads.
//! - [`digest`]: the final ETag and COMPOSITE / FULL_OBJECT checksums.

pub mod complete;
pub mod copy_part;
pub mod create;
pub mod digest;
pub mod list;
pub mod part;

use super::{checksum, TriremeS3};
use crate::error;
use s3s::checksum::ChecksumHasher;
use s3s::dto::{Checksum, ChecksumAlgorithm, Initiator, Owner};
use s3s::{S3Error, S3ErrorCode, S3Result};
use trireme_api::multipart::{GetUpload, UploadInfo, MAX_PART_NUMBER};

/// A part number S3 accepts (1..=10000), else InvalidArgument.
pub fn part_number(n: i32) -> S3Result<u32> {
    match u32::try_from(n) {
        Ok(n) if (1..=MAX_PART_NUMBER).contains(&n) => Ok(n),
        _ => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            format!("Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive"),
        )),
    }
}

/// The upload, read linearizably: NoSuchUpload if it was never created, was aborted or
/// completed, or belongs to another key.
pub async fn get_upload(
    s3: &TriremeS3,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> S3Result<UploadInfo> {
    s3.meta
        .call(&GetUpload {
            bucket: bucket.to_string(),
            key: key.to_string(),
            upload_id: upload_id.to_string(),
        })
        .await
        .map_err(|e| error::from_client(&e))
}

/// The hasher for a part: what the client claims or announces, plus the upload's own
/// algorithm, so every part carries the checksum the final object needs.
pub fn part_hasher(
    claimed: &Checksum,
    algorithm: Option<&ChecksumAlgorithm>,
    trailers: &[String],
    upload: &UploadInfo,
) -> Option<ChecksumHasher> {
    let mut names = trailers.to_vec();
    names.extend(
        upload
            .metadata
            .checksum_algorithm
            .as_deref()
            .map(str::to_ascii_lowercase),
    );
    checksum::hasher_for(claimed, algorithm, &names)
}

/// The `Initiator` (and `Owner`) of an upload: the access key that created it.
pub fn initiator(id: &str) -> Initiator {
    Initiator {
        display_name: Some(id.to_string()),
        id: Some(id.to_string()),
    }
}

pub fn owner(id: &str) -> Owner {
    Owner {
        display_name: Some(id.to_string()),
        id: Some(id.to_string()),
    }
}

/// Refuses server-side encryption with customer keys (not implemented).
pub fn refuse_sse_c(key: Option<&String>, algorithm: Option<&String>) -> S3Result<()> {
    if key.is_some() || algorithm.is_some() {
        return Err(S3Error::with_message(
            S3ErrorCode::NotImplemented,
            "server-side encryption with customer keys is not implemented",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_numbers() {
        assert_eq!(part_number(1).unwrap(), 1);
        assert_eq!(part_number(10_000).unwrap(), 10_000);
        for bad in [0, -1, 10_001, i32::MAX] {
            assert_eq!(
                part_number(bad).unwrap_err().code(),
                &S3ErrorCode::InvalidArgument
            );
        }
    }
}
