//! In-memory stand-ins for the meta-server and chunkservers, speaking the trireme-api wire
//! protocol, with switches to inject failures.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use trireme_api::chunk::{PutChunkResponse, ReadChunkQuery, BLAKE3_HEADER};
use trireme_api::ids::{ChunkId, DiskId};
use trireme_api::meta::*;
use trireme_api::object::{ObjectRecord, Replica};
use trireme_api::{ApiError, ErrorCode, Rpc};

pub const ACCESS_KEY: &str = "AKIDTRIREMETEST";
pub const SECRET_KEY: &str = "trireme-test-secret-key";

pub fn api_err(code: ErrorCode, msg: &str) -> Response {
    let status =
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(ApiError::new(code, msg))).into_response()
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

// ------------------------------------------------------------------ meta

#[derive(Default)]
pub struct MetaState {
    pub buckets: BTreeMap<String, BucketInfo>,
    pub objects: BTreeMap<(String, String), ObjectRecord>,
    /// (id, addr, disk) of every chunkserver.
    pub chunkservers: Vec<(u64, String, DiskId)>,
    pub bad_reports: Vec<ReportBadReplica>,
    pub commits: usize,
    pub allocations: Vec<AllocateChunks>,
    /// Multipart uploads (see `fake_mpu`).
    pub mpu: super::fake_mpu::MpuState,
    /// Access keys besides [`ACCESS_KEY`] (which always exists and may create buckets).
    pub keys: BTreeMap<String, AccessKeyInfo>,
}

#[derive(Clone, Default)]
pub struct FakeMeta {
    pub state: Arc<Mutex<MetaState>>,
    pub key_lookups: Arc<AtomicUsize>,
}

pub type Reply<R> = Result<Json<<R as Rpc>::Response>, Response>;

impl FakeMeta {
    pub async fn start(self) -> String {
        let r = Router::new()
            .route(GetAccessKey::PATH, post(get_key))
            .route(ListBuckets::PATH, post(list_buckets))
            .route(CreateBucket::PATH, post(create_bucket))
            .route(GetBucket::PATH, post(get_bucket))
            .route(DeleteBucket::PATH, post(delete_bucket))
            .route(CommitObject::PATH, post(commit))
            .route(GetObject::PATH, post(get_object))
            .route(DeleteObject::PATH, post(delete_object))
            .route(ListObjects::PATH, post(list_objects))
            .route(AllocateChunks::PATH, post(allocate))
            .route(ReportBadReplica::PATH, post(report_bad));
        let r = super::fake_mpu::routes(r).with_state(self);
        serve(r).await
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, MetaState> {
        self.state.lock().unwrap()
    }

    /// Adds an access key.
    pub fn add_key(&self, access_key: &str, secret_key: &str, allow_create_bucket: bool) {
        let info = AccessKeyInfo {
            access_key: access_key.into(),
            secret_key: Some(secret_key.into()),
            name: access_key.to_lowercase(),
            created_ms: 1,
            allow_create_bucket,
        };
        self.lock().keys.insert(access_key.into(), info);
    }

    /// Sets (or, with all flags false, removes) a key's grant on a bucket.
    pub fn grant(&self, bucket: &str, access_key: &str, permissions: Permissions) {
        let mut s = self.lock();
        let b = s.buckets.get_mut(bucket).expect("no such bucket");
        if permissions.is_empty() {
            b.grants.remove(access_key);
        } else {
            b.grants.insert(access_key.into(), permissions);
        }
    }
}

async fn get_key(State(m): State<FakeMeta>, Json(req): Json<GetAccessKey>) -> Reply<GetAccessKey> {
    m.key_lookups.fetch_add(1, Ordering::SeqCst);
    if req.access_key != ACCESS_KEY {
        return m
            .lock()
            .keys
            .get(&req.access_key)
            .cloned()
            .map(Json)
            .ok_or_else(|| api_err(ErrorCode::NoSuchAccessKey, "no such key"));
    }
    Ok(Json(AccessKeyInfo {
        access_key: ACCESS_KEY.into(),
        secret_key: Some(SECRET_KEY.into()),
        name: "test".into(),
        created_ms: 1,
        allow_create_bucket: true,
    }))
}

async fn list_buckets(State(m): State<FakeMeta>, Json(_): Json<ListBuckets>) -> Reply<ListBuckets> {
    Ok(Json(ListBucketsResponse {
        buckets: m.lock().buckets.values().cloned().collect(),
    }))
}

async fn create_bucket(
    State(m): State<FakeMeta>,
    Json(req): Json<CreateBucket>,
) -> Reply<CreateBucket> {
    let mut s = m.lock();
    if let Some(b) = s.buckets.get(&req.name) {
        let code = if b.owner == req.owner {
            ErrorCode::BucketAlreadyOwnedByYou
        } else {
            ErrorCode::BucketAlreadyExists
        };
        return Err(api_err(code, "exists"));
    }
    let info = BucketInfo {
        name: req.name.clone(),
        owner: req.owner,
        created_ms: 1_700_000_000_000,
        grants: Default::default(),
    };
    s.buckets.insert(req.name, info.clone());
    Ok(Json(info))
}

async fn get_bucket(State(m): State<FakeMeta>, Json(req): Json<GetBucket>) -> Reply<GetBucket> {
    m.lock()
        .buckets
        .get(&req.name)
        .cloned()
        .map(Json)
        .ok_or_else(|| api_err(ErrorCode::NoSuchBucket, "no bucket"))
}

async fn delete_bucket(
    State(m): State<FakeMeta>,
    Json(req): Json<DeleteBucket>,
) -> Reply<DeleteBucket> {
    let mut s = m.lock();
    if !s.buckets.contains_key(&req.name) {
        return Err(api_err(ErrorCode::NoSuchBucket, "no bucket"));
    }
    if s.objects.keys().any(|(b, _)| *b == req.name) {
        return Err(api_err(ErrorCode::BucketNotEmpty, "not empty"));
    }
    s.buckets.remove(&req.name);
    Ok(Json(Empty {}))
}

async fn commit(
    State(m): State<FakeMeta>,
    Json(mut req): Json<CommitObject>,
) -> Reply<CommitObject> {
    let mut s = m.lock();
    if !s.buckets.contains_key(&req.bucket) {
        return Err(api_err(ErrorCode::NoSuchBucket, "no bucket"));
    }
    if let Err(e) = req.object.validate() {
        return Err(api_err(ErrorCode::InvalidArgument, &e));
    }
    super::fake_mpu::check_condition(&s.objects, &req.bucket, &req.key, req.condition.as_ref())?;
    req.object.last_modified_ms = 1_700_000_123_000;
    s.commits += 1;
    s.objects.insert((req.bucket, req.key), req.object);
    Ok(Json(CommitObjectResponse {
        last_modified_ms: 1_700_000_123_000,
    }))
}

async fn get_object(State(m): State<FakeMeta>, Json(req): Json<GetObject>) -> Reply<GetObject> {
    let s = m.lock();
    if !s.buckets.contains_key(&req.bucket) {
        return Err(api_err(ErrorCode::NoSuchBucket, "no bucket"));
    }
    let Some(object) = s.objects.get(&(req.bucket, req.key)).cloned() else {
        return Err(api_err(ErrorCode::NoSuchKey, "no key"));
    };
    let chunkservers = s
        .chunkservers
        .iter()
        .map(|(id, addr, _)| (*id, addr.clone()))
        .collect();
    Ok(Json(GetObjectResponse {
        object,
        chunkservers,
    }))
}

async fn delete_object(
    State(m): State<FakeMeta>,
    Json(req): Json<DeleteObject>,
) -> Reply<DeleteObject> {
    let mut s = m.lock();
    if !s.buckets.contains_key(&req.bucket) {
        return Err(api_err(ErrorCode::NoSuchBucket, "no bucket"));
    }
    let existed = s.objects.remove(&(req.bucket, req.key)).is_some();
    Ok(Json(DeleteObjectResponse { existed }))
}

async fn list_objects(
    State(m): State<FakeMeta>,
    Json(req): Json<ListObjects>,
) -> Reply<ListObjects> {
    let s = m.lock();
    if !s.buckets.contains_key(&req.bucket) {
        return Err(api_err(ErrorCode::NoSuchBucket, "no bucket"));
    }
    // Entries in order: Ok(object) or Err(common prefix).
    let mut entries: Vec<Result<ObjectSummary, String>> = Vec::new();
    for ((b, key), rec) in s.objects.iter() {
        if *b != req.bucket || !key.starts_with(&req.prefix) {
            continue;
        }
        if req.start_after.as_ref().is_some_and(|a| key <= a) {
            continue;
        }
        if let Some(c) = &req.continue_after {
            let is_prefix = req
                .delimiter
                .as_ref()
                .is_some_and(|d| c.ends_with(d.as_str()));
            if key <= c || (is_prefix && key.starts_with(c.as_str())) {
                continue;
            }
        }
        let rolled = req.delimiter.as_ref().and_then(|d| {
            let rest = &key[req.prefix.len()..];
            rest.find(d.as_str())
                .map(|i| format!("{}{}", req.prefix, &rest[..i + d.len()]))
        });
        match rolled {
            Some(cp) => {
                if entries.last().and_then(|e| e.as_ref().err()) != Some(&cp) {
                    entries.push(Err(cp));
                }
            }
            None => entries.push(Ok(ObjectSummary {
                key: key.clone(),
                size: rec.size,
                etag: rec.etag.clone(),
                last_modified_ms: rec.last_modified_ms,
            })),
        }
    }
    let max = req.max_keys.min(1000) as usize;
    let is_truncated = entries.len() > max;
    entries.truncate(max);
    let next_marker = if is_truncated {
        entries.last().map(|e| match e {
            Ok(o) => o.key.clone(),
            Err(p) => p.clone(),
        })
    } else {
        None
    };
    let mut resp = ListObjectsResponse {
        is_truncated,
        next_marker,
        ..Default::default()
    };
    for e in entries {
        match e {
            Ok(o) => resp.objects.push(o),
            Err(p) => resp.common_prefixes.push(p),
        }
    }
    Ok(Json(resp))
}

async fn allocate(
    State(m): State<FakeMeta>,
    Json(req): Json<AllocateChunks>,
) -> Reply<AllocateChunks> {
    let mut s = m.lock();
    s.allocations.push(req.clone());
    let excluded: BTreeSet<u64> = req.exclude.iter().copied().collect();
    let usable: Vec<_> = s
        .chunkservers
        .iter()
        .filter(|(id, _, _)| !excluded.contains(id))
        .cloned()
        .collect();
    if usable.len() < req.replicas as usize {
        return Err(api_err(
            ErrorCode::InsufficientCapacity,
            "not enough chunkservers",
        ));
    }
    let mut chunks = Vec::new();
    for _ in 0..req.count {
        let id = ChunkId::from_u128(rand::random::<u128>());
        let targets = usable
            .iter()
            .take(req.replicas as usize)
            .map(|(cs, addr, disk)| ReplicaTarget {
                replica: Replica {
                    chunkserver: *cs,
                    disk: disk.clone(),
                },
                addr: addr.clone(),
            })
            .collect();
        chunks.push(ChunkPlacement { id, targets });
    }
    Ok(Json(AllocateChunksResponse { chunks }))
}

async fn report_bad(
    State(m): State<FakeMeta>,
    Json(req): Json<ReportBadReplica>,
) -> Reply<ReportBadReplica> {
    m.lock().bad_reports.push(req);
    Ok(Json(Empty {}))
}

// ------------------------------------------------------------------ chunkservers

#[derive(Clone, Default)]
pub struct FakeChunkserver {
    pub chunks: Arc<Mutex<HashMap<String, Bytes>>>,
    /// Refuse every PUT with DiskUnavailable.
    pub fail_puts: Arc<AtomicBool>,
    /// Answer every GET with Corrupt.
    pub corrupt: Arc<AtomicBool>,
    /// Answer every GET with wrong bytes of the right length (a lying replica).
    pub garble: Arc<AtomicBool>,
    pub puts: Arc<AtomicUsize>,
    pub gets: Arc<AtomicUsize>,
    /// Wait this many ms before answering a GET (a slow disk).
    pub stall_ms: Arc<AtomicU64>,
    /// Wait this many ms before storing a PUT (a stopped process, a fail-slow disk).
    pub stall_puts_ms: Arc<AtomicU64>,
}

impl FakeChunkserver {
    pub async fn start(self) -> String {
        let r = Router::new()
            .route("/v1/chunk/{disk}/{chunk}", put(put_chunk).get(get_chunk))
            .with_state(self);
        serve(r).await
    }

    pub fn chunk_count(&self) -> usize {
        self.chunks.lock().unwrap().len()
    }
}

async fn put_chunk(
    State(c): State<FakeChunkserver>,
    Path((disk, chunk)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    c.puts.fetch_add(1, Ordering::SeqCst);
    let stall = c.stall_puts_ms.load(Ordering::SeqCst);
    if stall > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(stall)).await;
    }
    if c.fail_puts.load(Ordering::SeqCst) {
        return api_err(ErrorCode::DiskUnavailable, "disk failed");
    }
    let digest = blake3::hash(&body).to_hex().to_string();
    let claimed = headers
        .get(BLAKE3_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if claimed != digest {
        return api_err(ErrorCode::DigestMismatch, "digest mismatch");
    }
    let length = body.len() as u64;
    c.chunks
        .lock()
        .unwrap()
        .insert(format!("{disk}/{chunk}"), body);
    Json(PutChunkResponse {
        length,
        blake3: digest,
    })
    .into_response()
}

async fn get_chunk(
    State(c): State<FakeChunkserver>,
    Path((disk, chunk)): Path<(String, String)>,
    Query(q): Query<ReadChunkQuery>,
) -> Response {
    c.gets.fetch_add(1, Ordering::SeqCst);
    let stall = c.stall_ms.load(Ordering::SeqCst);
    if stall > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(stall)).await;
    }
    if c.corrupt.load(Ordering::SeqCst) {
        return api_err(ErrorCode::Corrupt, "block digest mismatch");
    }
    let Some(data) = c
        .chunks
        .lock()
        .unwrap()
        .get(&format!("{disk}/{chunk}"))
        .cloned()
    else {
        return api_err(ErrorCode::NotFound, "no such chunk");
    };
    let off = q.offset.unwrap_or(0) as usize;
    let len = q
        .length
        .map_or(data.len().saturating_sub(off), |l| l as usize);
    if off + len > data.len() {
        return api_err(ErrorCode::InvalidArgument, "range");
    }
    let slice = data.slice(off..off + len);
    if c.garble.load(Ordering::SeqCst) {
        return Bytes::from(vec![0xAA; slice.len()]).into_response();
    }
    slice.into_response()
}
