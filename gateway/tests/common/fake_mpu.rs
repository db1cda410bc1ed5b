//! The fake meta-server's multipart uploads, CopyObject, DeleteObjects and write
//! conditions, following the contract in trireme-api (and S3's rules for completing).
//! Handlers fail with the axum `Response` to send, as in `fakes`.

#![allow(clippy::result_large_err)]

use super::fakes::{api_err, FakeMeta, Reply};
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use std::collections::BTreeMap;
use trireme_api::meta::*;
use trireme_api::multipart::*;
use trireme_api::object::ObjectRecord;
use trireme_api::{ErrorCode, Rpc};

pub const NOW_MS: u64 = 1_700_000_123_000;

#[derive(Clone, Debug)]
pub struct FakeUpload {
    pub info: UploadInfo,
    pub parts: BTreeMap<u32, PartRecord>,
}

#[derive(Default)]
pub struct MpuState {
    /// By upload id.
    pub uploads: BTreeMap<String, FakeUpload>,
    pub next_id: u64,
    pub record_part_calls: usize,
}

pub fn routes(r: Router<FakeMeta>) -> Router<FakeMeta> {
    r.route(CreateMultipartUpload::PATH, post(create))
        .route(GetUpload::PATH, post(get_upload))
        .route(RecordPart::PATH, post(record_part))
        .route(ListParts::PATH, post(list_parts))
        .route(GetParts::PATH, post(get_parts))
        .route(CompleteMultipartUpload::PATH, post(complete))
        .route(AbortMultipartUpload::PATH, post(abort))
        .route(ListMultipartUploads::PATH, post(list_uploads))
        .route(CopyObject::PATH, post(copy_object))
        .route(DeleteObjects::PATH, post(delete_objects))
}

/// Decides a write condition against the current version of (bucket, key).
pub fn check_condition(
    objects: &BTreeMap<(String, String), ObjectRecord>,
    bucket: &str,
    key: &str,
    condition: Option<&WriteCondition>,
) -> Result<(), Response> {
    let current = objects.get(&(bucket.to_string(), key.to_string()));
    match (condition, current) {
        (None, _) => Ok(()),
        (Some(WriteCondition::IfNoneMatchAny), None) => Ok(()),
        (Some(WriteCondition::IfNoneMatchAny), Some(_)) => {
            Err(api_err(ErrorCode::PreconditionFailed, "the key exists"))
        }
        (Some(WriteCondition::IfMatch(_)), None) => Err(api_err(ErrorCode::NoSuchKey, "no key")),
        (Some(WriteCondition::IfMatch(e)), Some(r)) if r.etag == *e => Ok(()),
        (Some(WriteCondition::IfMatch(_)), Some(_)) => {
            Err(api_err(ErrorCode::PreconditionFailed, "etag differs"))
        }
    }
}

fn find<'a>(
    uploads: &'a mut BTreeMap<String, FakeUpload>,
    bucket: &str,
    key: &str,
    id: &str,
) -> Result<&'a mut FakeUpload, Response> {
    uploads
        .get_mut(id)
        .filter(|u| u.info.bucket == bucket && u.info.key == key)
        .ok_or_else(|| api_err(ErrorCode::NoSuchUpload, "no such upload"))
}

fn summary(p: &PartRecord) -> PartSummary {
    PartSummary {
        part_number: p.part_number,
        size: p.size,
        etag: p.etag.clone(),
        last_modified_ms: p.last_modified_ms,
        checksums: p.checksums.clone(),
    }
}

async fn create(
    State(m): State<FakeMeta>,
    Json(req): Json<CreateMultipartUpload>,
) -> Reply<CreateMultipartUpload> {
    let mut s = m.lock();
    if !s.buckets.contains_key(&req.bucket) {
        return Err(api_err(ErrorCode::NoSuchBucket, "no bucket"));
    }
    s.mpu.next_id += 1;
    let n = s.mpu.next_id;
    let info = UploadInfo {
        bucket: req.bucket,
        key: req.key,
        upload_id: format!("upload-{n:04}"),
        initiated_ms: 1_700_000_000_000 + n * 1000,
        initiator: req.initiator,
        metadata: req.metadata,
    };
    s.mpu.uploads.insert(
        info.upload_id.clone(),
        FakeUpload {
            info: info.clone(),
            parts: BTreeMap::new(),
        },
    );
    Ok(Json(info))
}

async fn get_upload(State(m): State<FakeMeta>, Json(req): Json<GetUpload>) -> Reply<GetUpload> {
    let mut s = m.lock();
    let u = find(&mut s.mpu.uploads, &req.bucket, &req.key, &req.upload_id)?;
    Ok(Json(u.info.clone()))
}

async fn record_part(
    State(m): State<FakeMeta>,
    Json(mut req): Json<RecordPart>,
) -> Reply<RecordPart> {
    let mut s = m.lock();
    s.mpu.record_part_calls += 1;
    let u = find(&mut s.mpu.uploads, &req.bucket, &req.key, &req.upload_id)?;
    req.part.last_modified_ms = NOW_MS;
    u.parts.insert(req.part.part_number, req.part);
    Ok(Json(RecordPartResponse {
        last_modified_ms: NOW_MS,
    }))
}

async fn list_parts(State(m): State<FakeMeta>, Json(req): Json<ListParts>) -> Reply<ListParts> {
    let mut s = m.lock();
    let u = find(&mut s.mpu.uploads, &req.bucket, &req.key, &req.upload_id)?;
    let max = req.max_parts.clamp(1, 1000) as usize;
    let mut parts: Vec<PartSummary> = u
        .parts
        .values()
        .filter(|p| p.part_number > req.part_number_marker)
        .map(summary)
        .collect();
    let is_truncated = parts.len() > max;
    parts.truncate(max);
    Ok(Json(ListPartsResponse {
        upload: u.info.clone(),
        next_part_number_marker: parts.last().map(|p| p.part_number),
        parts,
        is_truncated,
    }))
}

async fn get_parts(State(m): State<FakeMeta>, Json(req): Json<GetParts>) -> Reply<GetParts> {
    let mut s = m.lock();
    let u = find(&mut s.mpu.uploads, &req.bucket, &req.key, &req.upload_id)?;
    Ok(Json(GetPartsResponse {
        upload: u.info.clone(),
        parts: u.parts.values().map(summary).collect(),
    }))
}

async fn complete(
    State(m): State<FakeMeta>,
    Json(req): Json<CompleteMultipartUpload>,
) -> Reply<CompleteMultipartUpload> {
    let mut guard = m.lock();
    let s = &mut *guard;
    let u = find(&mut s.mpu.uploads, &req.bucket, &req.key, &req.upload_id)?.clone();
    if req.parts.is_empty() || req.parts.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(api_err(ErrorCode::InvalidPartOrder, "order"));
    }
    let mut chosen = Vec::new();
    for (n, etag) in &req.parts {
        match u.parts.get(n) {
            Some(p) if p.etag == *etag => chosen.push(p.clone()),
            _ => return Err(api_err(ErrorCode::InvalidPart, "invalid part")),
        }
    }
    if chosen[..chosen.len() - 1]
        .iter()
        .any(|p| p.size < MIN_PART_SIZE)
    {
        return Err(api_err(ErrorCode::EntityTooSmall, "part too small"));
    }
    check_condition(&s.objects, &req.bucket, &req.key, req.condition.as_ref())?;
    let record = ObjectRecord {
        size: chosen.iter().map(|p| p.size).sum(),
        etag: req.etag.clone(),
        last_modified_ms: NOW_MS,
        content_type: u.info.metadata.content_type.clone(),
        headers: u.info.metadata.headers.clone(),
        user_metadata: u.info.metadata.user_metadata.clone(),
        checksums: req.checksums.clone(),
        chunks: chosen.iter().flat_map(|p| p.chunks.clone()).collect(),
        part_sizes: chosen.iter().map(|p| p.size).collect(),
        inline: None,
    };
    if let Err(e) = record.validate() {
        return Err(api_err(ErrorCode::InvalidArgument, &e));
    }
    s.mpu.uploads.remove(&req.upload_id);
    s.objects.insert((req.bucket, req.key), record);
    Ok(Json(CommitObjectResponse {
        last_modified_ms: NOW_MS,
    }))
}

async fn abort(
    State(m): State<FakeMeta>,
    Json(req): Json<AbortMultipartUpload>,
) -> Reply<AbortMultipartUpload> {
    let mut s = m.lock();
    find(&mut s.mpu.uploads, &req.bucket, &req.key, &req.upload_id)?;
    s.mpu.uploads.remove(&req.upload_id);
    Ok(Json(Empty {}))
}

async fn list_uploads(
    State(m): State<FakeMeta>,
    Json(req): Json<ListMultipartUploads>,
) -> Reply<ListMultipartUploads> {
    let s = m.lock();
    if !s.buckets.contains_key(&req.bucket) {
        return Err(api_err(ErrorCode::NoSuchBucket, "no bucket"));
    }
    let mut all: Vec<&UploadInfo> = s
        .mpu
        .uploads
        .values()
        .map(|u| &u.info)
        .filter(|u| u.bucket == req.bucket && u.key.starts_with(&req.prefix))
        .collect();
    all.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
    // Entries: Ok(upload) or Err(common prefix).
    let mut entries: Vec<Result<UploadInfo, String>> = Vec::new();
    for u in all {
        if let Some(km) = &req.key_marker {
            let after = match &req.upload_id_marker {
                Some(im) => u.key > *km || (u.key == *km && u.upload_id > *im),
                None => u.key > *km,
            };
            if !after {
                continue;
            }
        }
        let rolled = req.delimiter.as_ref().and_then(|d| {
            let rest = &u.key[req.prefix.len()..];
            rest.find(d.as_str())
                .map(|i| format!("{}{}", req.prefix, &rest[..i + d.len()]))
        });
        match rolled {
            Some(cp) => {
                if req
                    .key_marker
                    .as_ref()
                    .is_some_and(|km| km.starts_with(&cp))
                {
                    continue;
                }
                if !entries.iter().any(|e| e.as_ref().err() == Some(&cp)) {
                    entries.push(Err(cp));
                }
            }
            None => entries.push(Ok(u.clone())),
        }
    }
    let max = req.max_uploads.clamp(1, 1000) as usize;
    let is_truncated = entries.len() > max;
    entries.truncate(max);
    let mut resp = ListMultipartUploadsResponse {
        is_truncated,
        ..Default::default()
    };
    if is_truncated {
        match entries.last() {
            Some(Ok(u)) => {
                resp.next_key_marker = Some(u.key.clone());
                resp.next_upload_id_marker = Some(u.upload_id.clone());
            }
            Some(Err(p)) => resp.next_key_marker = Some(p.clone()),
            None => {}
        }
    }
    for e in entries {
        match e {
            Ok(u) => resp.uploads.push(u),
            Err(p) => resp.common_prefixes.push(p),
        }
    }
    Ok(Json(resp))
}

async fn copy_object(State(m): State<FakeMeta>, Json(req): Json<CopyObject>) -> Reply<CopyObject> {
    let mut s = m.lock();
    for b in [&req.src_bucket, &req.dst_bucket] {
        if !s.buckets.contains_key(b) {
            return Err(api_err(ErrorCode::NoSuchBucket, "no bucket"));
        }
    }
    let Some(src) = s
        .objects
        .get(&(req.src_bucket.clone(), req.src_key.clone()))
        .cloned()
    else {
        return Err(api_err(ErrorCode::NoSuchKey, "no source"));
    };
    if req.src_etag.as_ref().is_some_and(|e| *e != src.etag) {
        return Err(api_err(ErrorCode::PreconditionFailed, "source changed"));
    }
    check_condition(
        &s.objects,
        &req.dst_bucket,
        &req.dst_key,
        req.condition.as_ref(),
    )?;
    let mut rec = src;
    rec.last_modified_ms = NOW_MS + 1000;
    if let Some(md) = req.replace_metadata {
        rec.content_type = md.content_type;
        rec.headers = md.headers;
        rec.user_metadata = md.user_metadata;
    }
    let resp = CopyObjectResponse {
        etag: rec.etag.clone(),
        last_modified_ms: rec.last_modified_ms,
        size: rec.size,
    };
    s.objects.insert((req.dst_bucket, req.dst_key), rec);
    Ok(Json(resp))
}

async fn delete_objects(
    State(m): State<FakeMeta>,
    Json(req): Json<DeleteObjects>,
) -> Reply<DeleteObjects> {
    let mut s = m.lock();
    if !s.buckets.contains_key(&req.bucket) {
        return Err(api_err(ErrorCode::NoSuchBucket, "no bucket"));
    }
    let existed = req
        .keys
        .iter()
        .map(|k| s.objects.remove(&(req.bucket.clone(), k.clone())).is_some())
        .collect();
    Ok(Json(DeleteObjectsResponse { existed }))
}
