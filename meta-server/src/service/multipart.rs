//! Multipart uploads: create, record parts, list, complete, abort.

use super::Serve;
use crate::error::MetaResult;
use crate::node::{now_ms, MetaNode};
use crate::store::read::MAX_LIST_KEYS;
use crate::types::Command;
use rand::Rng;
use trireme_api::meta::{CommitObjectResponse, Empty};
use trireme_api::multipart::*;
use trireme_api::{ApiError, ErrorCode};

fn no_upload(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NoSuchUpload, format!("no upload {id}"))
}

fn summary(p: PartRecord) -> PartSummary {
    PartSummary {
        part_number: p.part_number,
        size: p.size,
        etag: p.etag,
        last_modified_ms: p.last_modified_ms,
        checksums: p.checksums,
    }
}

impl MetaNode {
    fn upload(&self, bucket: &str, key: &str, upload_id: &str) -> MetaResult<UploadInfo> {
        self.require_bucket(bucket)?;
        Ok(self
            .reader
            .get_upload(bucket, key, upload_id)?
            .ok_or_else(|| no_upload(upload_id))?)
    }
}

impl Serve<CreateMultipartUpload> for MetaNode {
    async fn serve(&self, req: CreateMultipartUpload) -> MetaResult<UploadInfo> {
        let id: u128 = rand::thread_rng().gen();
        let upload = UploadInfo {
            bucket: req.bucket,
            key: req.key,
            upload_id: format!("{id:032x}"),
            initiated_ms: now_ms(),
            initiator: req.initiator,
            metadata: req.metadata,
        };
        self.write(Command::CreateUpload {
            upload: upload.clone(),
        })
        .await?;
        Ok(upload)
    }
}

impl Serve<GetUpload> for MetaNode {
    async fn serve(&self, req: GetUpload) -> MetaResult<UploadInfo> {
        self.linearizable().await?;
        self.upload(&req.bucket, &req.key, &req.upload_id)
    }
}

impl Serve<RecordPart> for MetaNode {
    async fn serve(&self, req: RecordPart) -> MetaResult<RecordPartResponse> {
        let n = req.part.part_number;
        if !(1..=MAX_PART_NUMBER).contains(&n) {
            return Err(ApiError::invalid(format!(
                "part number {n} is not in 1..={MAX_PART_NUMBER}"
            ))
            .into());
        }
        let mut part = req.part;
        part.last_modified_ms = now_ms();
        let last_modified_ms = part.last_modified_ms;
        self.write(Command::PutPart {
            bucket: req.bucket,
            key: req.key,
            upload_id: req.upload_id,
            part,
        })
        .await?;
        Ok(RecordPartResponse { last_modified_ms })
    }
}

impl Serve<ListParts> for MetaNode {
    async fn serve(&self, req: ListParts) -> MetaResult<ListPartsResponse> {
        self.linearizable().await?;
        let upload = self.upload(&req.bucket, &req.key, &req.upload_id)?;
        let max = req.max_parts.clamp(1, MAX_LIST_KEYS) as usize;
        let (parts, is_truncated) =
            self.reader
                .parts(&req.upload_id, req.part_number_marker, max)?;
        let next_part_number_marker = parts.last().map(|p| p.part_number);
        Ok(ListPartsResponse {
            upload,
            parts: parts.into_iter().map(summary).collect(),
            is_truncated,
            next_part_number_marker,
        })
    }
}

impl Serve<GetParts> for MetaNode {
    async fn serve(&self, req: GetParts) -> MetaResult<GetPartsResponse> {
        self.linearizable().await?;
        let upload = self.upload(&req.bucket, &req.key, &req.upload_id)?;
        let (parts, _) = self
            .reader
            .parts(&req.upload_id, 0, MAX_PART_NUMBER as usize)?;
        Ok(GetPartsResponse {
            upload,
            parts: parts.into_iter().map(summary).collect(),
        })
    }
}

impl Serve<CompleteMultipartUpload> for MetaNode {
    async fn serve(&self, req: CompleteMultipartUpload) -> MetaResult<CommitObjectResponse> {
        let last_modified_ms = now_ms();
        self.write(Command::CompleteUpload {
            bucket: req.bucket,
            key: req.key,
            upload_id: req.upload_id,
            parts: req.parts,
            etag: req.etag,
            checksums: req.checksums,
            condition: req.condition,
            last_modified_ms,
        })
        .await?;
        Ok(CommitObjectResponse { last_modified_ms })
    }
}

impl Serve<AbortMultipartUpload> for MetaNode {
    async fn serve(&self, req: AbortMultipartUpload) -> MetaResult<Empty> {
        self.write(Command::AbortUpload {
            bucket: req.bucket,
            key: req.key,
            upload_id: req.upload_id,
        })
        .await?;
        Ok(Empty {})
    }
}

impl Serve<ListMultipartUploads> for MetaNode {
    async fn serve(&self, req: ListMultipartUploads) -> MetaResult<ListMultipartUploadsResponse> {
        self.linearizable().await?;
        self.require_bucket(&req.bucket)?;
        Ok(self.reader.list_uploads(&req)?)
    }
}
