//! ListParts and ListMultipartUploads: one RPC per page; the meta-server pages by part
//! number, and by (key, upload id) with prefix and delimiter roll-up.

use super::{initiator, owner};
use crate::error;
use crate::s3::headers::timestamp_ms;
use crate::s3::list::{url_encode, url_mode};
use crate::s3::TriremeS3;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use trireme_api::multipart::{ListMultipartUploads, ListParts, UploadInfo};

/// Most parts or uploads per page.
pub const MAX_PAGE: u32 = 1000;

/// A page size: default and ceiling 1000, at least 1; negative is InvalidArgument.
pub fn clamp_page(v: Option<i32>, what: &str) -> S3Result<u32> {
    match v {
        None => Ok(MAX_PAGE),
        Some(n) if n < 0 => Err(S3Error::with_message(
            S3ErrorCode::InvalidArgument,
            format!("Argument {what} must be an integer between 0 and 2147483647"),
        )),
        Some(n) => Ok((n as u32).clamp(1, MAX_PAGE)),
    }
}

fn checksum_fields(u: &UploadInfo) -> (Option<ChecksumAlgorithm>, Option<ChecksumType>) {
    (
        u.metadata
            .checksum_algorithm
            .clone()
            .map(ChecksumAlgorithm::from),
        u.metadata.checksum_type.clone().map(ChecksumType::from),
    )
}

pub async fn list_parts(
    s3: &TriremeS3,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let input = req.input;
    let max_parts = clamp_page(input.max_parts, "max-parts")?;
    let marker = match input.part_number_marker {
        None => 0,
        Some(n) => u32::try_from(n).map_err(|_| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "Argument part-number-marker must be an integer between 0 and 2147483647",
            )
        })?,
    };
    let resp = s3
        .meta
        .call(&ListParts {
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            upload_id: input.upload_id.clone(),
            part_number_marker: marker,
            max_parts,
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    let parts: Parts = resp
        .parts
        .into_iter()
        .map(|p| {
            let sums = crate::s3::checksum::from_map(&p.checksums);
            Part {
                part_number: Some(p.part_number as i32),
                size: Some(p.size as i64),
                e_tag: Some(ETag::Strong(p.etag)),
                last_modified: Some(timestamp_ms(p.last_modified_ms)),
                checksum_crc32: sums.checksum_crc32,
                checksum_crc32c: sums.checksum_crc32c,
                checksum_crc64nvme: sums.checksum_crc64nvme,
                checksum_sha1: sums.checksum_sha1,
                checksum_sha256: sums.checksum_sha256,
            }
        })
        .collect();
    let (checksum_algorithm, checksum_type) = checksum_fields(&resp.upload);
    let output = ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        initiator: Some(initiator(&resp.upload.initiator)),
        owner: Some(owner(&resp.upload.initiator)),
        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
        part_number_marker: Some(marker as i32),
        next_part_number_marker: resp
            .next_part_number_marker
            .filter(|_| resp.is_truncated)
            .map(|n| n as i32),
        max_parts: Some(max_parts as i32),
        is_truncated: Some(resp.is_truncated),
        parts: Some(parts),
        checksum_algorithm,
        checksum_type,
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

pub async fn list_multipart_uploads(
    s3: &TriremeS3,
    req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let input = req.input;
    let url = url_mode(input.encoding_type.as_ref())?;
    let enc = |s: Option<String>| s.map(|s| if url { url_encode(&s) } else { s });
    let max_uploads = clamp_page(input.max_uploads, "max-uploads")?;
    let key_marker = non_empty(input.key_marker.clone());
    // Without a key marker S3 ignores the upload-id marker.
    let upload_id_marker =
        non_empty(input.upload_id_marker.clone()).filter(|_| key_marker.is_some());
    let delimiter = non_empty(input.delimiter.clone());
    let resp = s3
        .meta
        .call(&ListMultipartUploads {
            bucket: input.bucket.clone(),
            prefix: input.prefix.clone().unwrap_or_default(),
            delimiter: delimiter.clone(),
            key_marker: key_marker.clone(),
            upload_id_marker: upload_id_marker.clone(),
            max_uploads,
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    let uploads: MultipartUploadList = resp
        .uploads
        .into_iter()
        .map(|u| {
            let (checksum_algorithm, checksum_type) = checksum_fields(&u);
            MultipartUpload {
                key: enc(Some(u.key)),
                upload_id: Some(u.upload_id),
                initiated: Some(timestamp_ms(u.initiated_ms)),
                initiator: Some(initiator(&u.initiator)),
                owner: Some(owner(&u.initiator)),
                storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                checksum_algorithm,
                checksum_type,
            }
        })
        .collect();
    let common_prefixes: CommonPrefixList = resp
        .common_prefixes
        .into_iter()
        .map(|p| CommonPrefix {
            prefix: enc(Some(p)),
        })
        .collect();
    let output = ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: enc(Some(input.prefix.unwrap_or_default())),
        delimiter: enc(delimiter),
        key_marker: enc(Some(input.key_marker.unwrap_or_default())),
        upload_id_marker: Some(input.upload_id_marker.unwrap_or_default()),
        max_uploads: Some(max_uploads as i32),
        is_truncated: Some(resp.is_truncated),
        next_key_marker: enc(resp.next_key_marker.filter(|_| resp.is_truncated)),
        next_upload_id_marker: resp.next_upload_id_marker.filter(|_| resp.is_truncated),
        uploads: Some(uploads),
        common_prefixes: Some(common_prefixes),
        encoding_type: input.encoding_type,
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes() {
        assert_eq!(clamp_page(None, "max-parts").unwrap(), 1000);
        assert_eq!(clamp_page(Some(5000), "max-parts").unwrap(), 1000);
        assert_eq!(clamp_page(Some(0), "max-parts").unwrap(), 1);
        assert_eq!(clamp_page(Some(7), "max-parts").unwrap(), 7);
        assert_eq!(
            clamp_page(Some(-1), "max-parts").unwrap_err().code(),
            &S3ErrorCode::InvalidArgument
        );
    }
}
