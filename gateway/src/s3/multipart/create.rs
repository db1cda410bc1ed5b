//! CreateMultipartUpload: what the object will be (content type, stored headers, user
//! metadata, checksum algorithm and type) is fixed here, as in S3; parts only carry data.

use super::digest::Algorithm;
use super::refuse_sse_c;
use crate::error;
use crate::s3::headers::{self, StoredHeaders};
use crate::s3::{access_key, names, TriremeS3};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use trireme_api::multipart::{CreateMultipartUpload, UploadMetadata};

fn invalid_request(msg: String) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidRequest, msg)
}

/// The checksum an upload announces: its algorithm and type (COMPOSITE or FULL_OBJECT),
/// with S3's defaults (FULL_OBJECT for CRC64NVME, COMPOSITE otherwise) and refusals.
pub fn checksum_mode(
    algorithm: Option<&str>,
    kind: Option<&str>,
) -> S3Result<Option<(Algorithm, &'static str)>> {
    let Some(name) = algorithm else {
        return match kind {
            None => Ok(None),
            Some(_) => Err(invalid_request(
                "The x-amz-checksum-type header can only be used with the \
                 x-amz-checksum-algorithm header."
                    .into(),
            )),
        };
    };
    let alg = Algorithm::parse(name)
        .ok_or_else(|| invalid_request("Checksum algorithm provided is unsupported.".into()))?;
    let kind = match kind.map(str::to_ascii_uppercase).as_deref() {
        None if alg.supports_composite() => ChecksumType::COMPOSITE,
        None => ChecksumType::FULL_OBJECT,
        Some(ChecksumType::COMPOSITE) => ChecksumType::COMPOSITE,
        Some(ChecksumType::FULL_OBJECT) => ChecksumType::FULL_OBJECT,
        Some(other) => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                format!("Invalid checksum type {other:?}: use COMPOSITE or FULL_OBJECT"),
            ))
        }
    };
    let allowed = match kind {
        ChecksumType::COMPOSITE => alg.supports_composite(),
        _ => alg.supports_full_object(),
    };
    if !allowed {
        return Err(invalid_request(format!(
            "The {kind} checksum type cannot be used with the {} checksum algorithm.",
            alg.name()
        )));
    }
    Ok(Some((alg, kind)))
}

pub async fn create_multipart_upload(
    s3: &TriremeS3,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let initiator = access_key(&req)?;
    let mut input = req.input;
    if !names::key_len_ok(&input.key) {
        return Err(S3Error::with_message(
            S3ErrorCode::KeyTooLongError,
            "Your key is too long.",
        ));
    }
    refuse_sse_c(
        input.sse_customer_key.as_ref(),
        input.sse_customer_algorithm.as_ref(),
    )?;
    let mode = checksum_mode(
        input
            .checksum_algorithm
            .as_ref()
            .map(ChecksumAlgorithm::as_str),
        input.checksum_type.as_ref().map(ChecksumType::as_str),
    )?;
    let user_metadata = headers::user_metadata(input.metadata.take())?;
    let stored = StoredHeaders {
        content_encoding: input.content_encoding.take(),
        content_disposition: input.content_disposition.take(),
        content_language: input.content_language.take(),
        cache_control: input.cache_control.take(),
        expires: input.expires.take(),
    };
    let metadata = UploadMetadata {
        content_type: input.content_type.take(),
        headers: stored.into_map(),
        user_metadata,
        checksum_algorithm: mode.map(|(a, _)| a.name().to_ascii_uppercase()),
        checksum_type: mode.map(|(_, k)| k.to_string()),
    };
    let info = s3
        .meta
        .call(&CreateMultipartUpload {
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            initiator,
            metadata,
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    tracing::debug!(bucket = %info.bucket, key = %info.key, upload = %info.upload_id, "multipart upload created");
    let output = CreateMultipartUploadOutput {
        bucket: Some(info.bucket),
        key: Some(info.key),
        upload_id: Some(info.upload_id),
        checksum_algorithm: mode
            .map(|(a, _)| ChecksumAlgorithm::from(a.name().to_ascii_uppercase())),
        checksum_type: mode.map(|(_, k)| ChecksumType::from_static(k)),
        ..Default::default()
    };
    Ok(S3Response::new(output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_modes() {
        assert_eq!(checksum_mode(None, None).unwrap(), None);
        assert_eq!(
            checksum_mode(Some("CRC32"), None).unwrap(),
            Some((Algorithm::Crc32, ChecksumType::COMPOSITE))
        );
        assert_eq!(
            checksum_mode(Some("CRC64NVME"), None).unwrap(),
            Some((Algorithm::Crc64Nvme, ChecksumType::FULL_OBJECT))
        );
        assert_eq!(
            checksum_mode(Some("crc32c"), Some("FULL_OBJECT")).unwrap(),
            Some((Algorithm::Crc32c, ChecksumType::FULL_OBJECT))
        );
        let code = |a, k| checksum_mode(a, k).unwrap_err().code().clone();
        assert_eq!(code(None, Some("COMPOSITE")), S3ErrorCode::InvalidRequest);
        assert_eq!(
            code(Some("SHA256"), Some("FULL_OBJECT")),
            S3ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(Some("CRC64NVME"), Some("COMPOSITE")),
            S3ErrorCode::InvalidRequest
        );
        assert_eq!(code(Some("MD5"), None), S3ErrorCode::InvalidRequest);
        assert_eq!(
            code(Some("CRC32"), Some("WHATEVER")),
            S3ErrorCode::InvalidArgument
        );
    }
}
