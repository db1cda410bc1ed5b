//! Fake server processes for the `trireme up` tests: just enough of the meta-server,
//! chunkserver and gateway behaviour (ready files, Raft init/status, heartbeats, keys,
//! buckets, the secret check) to drive `trireme up` and the admin commands end to end
//! without the real servers. The test binary runs itself as a fake server: see
//! `write_wrappers`.
//!
//! - [`cluster`]: a lone fake meta-server process and a cluster.json naming it, for admin
//!   command tests without `trireme up`.
//! - [`durability`]: the fake meta's canned answers for `trireme repair|worker|scrub`.
//! - [`inspect`]: canned answers for `trireme object explain`, `chunkserver show`, `disk show`.
//! - [`admin`]: credentials (cluster secret or operator token, roles), the audit log and
//!   the token RPCs.

pub mod admin;
pub mod cluster;
pub mod durability;
pub mod inspect;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use trireme_api::config::{ChunkserverConfigFile, GatewayConfigFile, MetaConfigFile, ReadyFile};
use trireme_api::ids::DiskId;
use trireme_api::meta::*;
use trireme_api::{ApiError, ErrorCode, Rpc};
use trireme_client::{MetaClient, Transport};

pub const ROLE_ENV: &str = "FAKE_TRIREME_ROLE";
pub const CONFIG_ENV: &str = "FAKE_TRIREME_CONFIG";
/// A role named here prints a message and exits 1 instead of starting.
pub const FAIL_ENV: &str = "FAKE_TRIREME_FAIL";

/// Writes `trireme-meta`, `trireme-chunkserver` and `trireme-gateway` wrappers into `dir`
/// that run this test binary's ignored `fake_server` test with the role and config in the
/// environment (the config path stays on the command line, like a real server's).
pub fn write_wrappers(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let exe = std::env::current_exe().expect("current exe");
    for (name, role) in [
        ("trireme-meta", "meta"),
        ("trireme-chunkserver", "chunkserver"),
        ("trireme-gateway", "gateway"),
    ] {
        let script = format!(
            "#!/bin/sh\nexport {ROLE_ENV}={role} {CONFIG_ENV}=\"$2\"\nexec '{}' --exact --ignored --nocapture fake_server \"$2\"\n",
            exe.display()
        );
        let p = dir.join(name);
        std::fs::write(&p, script).expect("write wrapper");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

/// Runs the fake server named by the environment; returns at once if none is.
pub fn main_if_asked() {
    let (Ok(role), Ok(config)) = (std::env::var(ROLE_ENV), std::env::var(CONFIG_ENV)) else {
        return;
    };
    if std::env::var(FAIL_ENV).ok().as_deref() == Some(role.as_str()) {
        println!("fake {role}: failing on purpose");
        std::process::exit(1);
    }
    let text = std::fs::read_to_string(&config).expect("read config");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        match role.as_str() {
            "meta" => meta(toml::from_str(&text).expect("meta config")).await,
            "chunkserver" => chunkserver(toml::from_str(&text).expect("cs config")).await,
            _ => gateway(toml::from_str(&text).expect("gw config")).await,
        }
    });
}

async fn bind(listen: &str, ready_file: Option<&Path>) -> tokio::net::TcpListener {
    let l = tokio::net::TcpListener::bind(listen).await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    println!("fake server listening on {addr}");
    if let Some(p) = ready_file {
        let tmp = p.with_extension("tmp");
        let ready = ReadyFile {
            addr,
            pid: std::process::id(),
        };
        std::fs::write(&tmp, serde_json::to_vec(&ready).expect("json")).expect("write ready");
        std::fs::rename(&tmp, p).expect("rename ready");
    }
    l
}

async fn gateway(c: GatewayConfigFile) {
    let l = bind(&c.listen, c.ready_file.as_deref()).await;
    loop {
        let _ = l.accept().await;
    }
}

async fn chunkserver(c: ChunkserverConfigFile) {
    let l = bind(&c.listen, c.ready_file.as_deref()).await;
    let addr = l.local_addr().expect("addr").to_string();
    let client = MetaClient::new(
        Transport::new(c.cluster.clone(), Duration::from_secs(2)),
        c.meta.clone(),
        Duration::from_secs(2),
    );
    let disks: Vec<DiskReport> = c
        .disks
        .iter()
        .enumerate()
        .map(|(i, p)| DiskReport {
            disk_id: DiskId(format!("cs{}-d{i}", c.id)),
            path: p.display().to_string(),
            state: DiskState::Healthy,
            capacity_bytes: 100 << 30,
            free_bytes: 90 << 30,
            used_bytes: 1 << 30,
            chunk_count: 3,
            health: DiskHealth {
                probe_latency_us: Some(420),
                ..Default::default()
            },
        })
        .collect();
    loop {
        let hb = Heartbeat {
            chunkserver: c.id,
            addr: addr.clone(),
            disks: disks.clone(),
            workers: Vec::new(),
            scrub: None,
            slots: Vec::new(),
        };
        if let Err(e) = client.call(&hb).await {
            println!("heartbeat failed: {e}");
        }
        tokio::time::sleep(Duration::from_millis(c.heartbeat_ms)).await;
    }
}

struct FakeMeta {
    config: MetaConfigFile,
    members: BTreeMap<u64, String>,
    chunkservers: BTreeMap<u64, (String, Instant, Vec<DiskReport>)>,
    keys: Vec<AccessKeyInfo>,
    buckets: BTreeMap<String, BucketInfo>,
    settings: BTreeMap<String, String>,
    scrub: trireme_api::durability::ScrubControl,
    audit: Vec<trireme_api::admin::AuditEntry>,
}

type Shared = Arc<Mutex<FakeMeta>>;

impl FakeMeta {
    fn init_file(&self) -> std::path::PathBuf {
        self.config.data_dir.join("members.json")
    }

    /// Operator tokens, shared by the fake metas of one cluster as a real cluster shares them
    /// through Raft: in the cluster's data directory (a meta's `data_dir` is
    /// `DATA/meta-N/db`, as `trireme up` lays it out).
    fn tokens_file(&self) -> std::path::PathBuf {
        let dir = self
            .config
            .data_dir
            .ancestors()
            .nth(2)
            .unwrap_or(&self.config.data_dir);
        dir.join(admin::TOKENS_FILE)
    }

    fn leader(&self) -> Result<(), ApiError> {
        if self.members.is_empty() {
            Err(ApiError::not_leader(None))
        } else {
            Ok(())
        }
    }
}

async fn meta(c: MetaConfigFile) {
    std::fs::create_dir_all(&c.data_dir).expect("data dir");
    let l = bind(&c.listen, c.ready_file.as_deref()).await;
    let mut state = FakeMeta {
        config: c,
        members: BTreeMap::new(),
        chunkservers: BTreeMap::new(),
        keys: vec![],
        buckets: BTreeMap::new(),
        settings: BTreeMap::new(),
        scrub: Default::default(),
        audit: vec![],
    };
    if let Ok(text) = std::fs::read_to_string(state.init_file()) {
        state.members = serde_json::from_str(&text).expect("members");
    }
    let shared: Shared = Arc::new(Mutex::new(state));
    let router = Router::new();
    let router = route::<InitCluster>(router, |m, req| {
        if !m.members.is_empty() {
            return Err(ApiError::new(ErrorCode::AlreadyInitialized, "already"));
        }
        m.members = req.members;
        std::fs::write(m.init_file(), serde_json::to_vec(&m.members).expect("json"))
            .expect("persist");
        Ok(Empty {})
    });
    let router = route::<ClusterStatus>(router, |m, _| {
        Ok(ClusterStatusResponse {
            cluster_id: m.config.cluster.cluster_id.clone(),
            node_id: m.config.node_id,
            leader: (!m.members.is_empty()).then_some(1),
            term: 1,
            last_log_index: Some(7),
            last_applied: Some(7),
            members: m
                .members
                .iter()
                .map(|(id, addr)| MemberInfo {
                    id: *id,
                    addr: addr.clone(),
                    voter: true,
                    matched_index: Some(7),
                })
                .collect(),
        })
    });
    let router = route::<Heartbeat>(router, |m, hb| {
        m.leader()?;
        m.chunkservers
            .insert(hb.chunkserver, (hb.addr, Instant::now(), hb.disks));
        Ok(HeartbeatResponse {
            removed_disks: Vec::new(),
            cluster_id: m.config.cluster.cluster_id.clone(),
            settings: Default::default(),
            scrub: Default::default(),
        })
    });
    let router = route::<ListChunkservers>(router, |m, _| {
        m.leader()?;
        let chunkservers = m
            .chunkservers
            .iter()
            .map(|(id, (addr, seen, disks))| ChunkserverInfo {
                id: *id,
                addr: addr.clone(),
                alive: seen.elapsed() < Duration::from_secs(3),
                last_heartbeat_ms_ago: Some(seen.elapsed().as_millis() as u64),
                disks: disks.clone(),
                state: Default::default(),
            })
            .collect();
        Ok(ListChunkserversResponse { chunkservers })
    });
    let router = route::<CreateAccessKey>(router, |m, req| {
        m.leader()?;
        let n = m.keys.len() + 1;
        let access_key = req.access_key.unwrap_or_else(|| format!("AKFAKE{n}"));
        if m.keys.iter().any(|k| k.access_key == access_key) {
            return Err(ApiError::new(
                ErrorCode::AccessKeyExists,
                "the access key exists",
            ));
        }
        let info = AccessKeyInfo {
            access_key,
            secret_key: Some(req.secret_key.unwrap_or_else(|| format!("secret{n}"))),
            name: req.name,
            created_ms: 1_700_000_000_000 + n as u64,
            allow_create_bucket: req.allow_create_bucket,
        };
        m.keys.push(AccessKeyInfo {
            secret_key: None,
            ..info.clone()
        });
        Ok(info)
    });
    let router = route::<GetAccessKey>(router, |m, req| {
        m.leader()?;
        m.keys
            .iter()
            .find(|k| k.access_key == req.access_key)
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::NoSuchAccessKey, "no such access key"))
    });
    let router = route::<DeleteAccessKey>(router, |m, req| {
        m.leader()?;
        let before = m.keys.len();
        m.keys.retain(|k| k.access_key != req.access_key);
        if m.keys.len() == before {
            return Err(ApiError::new(
                ErrorCode::NoSuchAccessKey,
                "no such access key",
            ));
        }
        Ok(Empty {})
    });
    let router = route::<GetBucket>(router, |m, req| {
        m.leader()?;
        m.buckets
            .get(&req.name)
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::NoSuchBucket, "no such bucket"))
    });
    let router = route::<SetBucketGrant>(router, |m, req| {
        m.leader()?;
        if !m.keys.iter().any(|k| k.access_key == req.access_key) {
            return Err(ApiError::new(
                ErrorCode::NoSuchAccessKey,
                "no such access key",
            ));
        }
        let b = m
            .buckets
            .get_mut(&req.bucket)
            .ok_or_else(|| ApiError::new(ErrorCode::NoSuchBucket, "no such bucket"))?;
        if req.permissions.is_empty() {
            b.grants.remove(&req.access_key);
        } else {
            b.grants.insert(req.access_key, req.permissions);
        }
        Ok(b.clone())
    });
    let router = route::<ListAccessKeys>(router, |m, _| {
        m.leader()?;
        Ok(ListAccessKeysResponse {
            keys: m.keys.clone(),
        })
    });
    let router = route::<CreateBucket>(router, |m, req| {
        m.leader()?;
        let info = BucketInfo {
            name: req.name.clone(),
            owner: req.owner,
            created_ms: 1_700_000_000_000,
            grants: Default::default(),
        };
        m.buckets.insert(req.name, info.clone());
        Ok(info)
    });
    let router = route::<ListBuckets>(router, |m, _| {
        m.leader()?;
        Ok(ListBucketsResponse {
            buckets: m.buckets.values().cloned().collect(),
        })
    });
    let router = route::<DeleteBucket>(router, |m, req| {
        m.leader()?;
        if req.name.starts_with("full") {
            return Err(ApiError::new(
                ErrorCode::BucketNotEmpty,
                "the bucket holds objects",
            ));
        }
        m.buckets
            .remove(&req.name)
            .map(|_| Empty {})
            .ok_or_else(|| ApiError::new(ErrorCode::NoSuchBucket, "no such bucket"))
    });
    let router = durability::routes(router);
    let router = inspect::routes(router);
    let router = admin::routes(router);
    axum::serve(l, router.with_state(shared))
        .await
        .expect("serve");
}

/// Mounts one typed RPC: credentials and role check, JSON decode, the handler under the
/// state lock, the audit record of an admin action by a token.
fn route<R: Rpc>(
    router: Router<Shared>,
    f: fn(&mut FakeMeta, R) -> Result<R::Response, ApiError>,
) -> Router<Shared> {
    router.route(
        R::PATH,
        post(
            move |State(s): State<Shared>, headers: HeaderMap, body: Bytes| async move {
                let mut m = s.lock().expect("lock");
                let caller = match admin::check(&m, &headers, R::PATH) {
                    Ok(c) => c,
                    Err(e) => return error(e),
                };
                let req: R = match serde_json::from_slice(&body) {
                    Ok(r) => r,
                    Err(e) => return error(ApiError::invalid(e.to_string())),
                };
                let result = f(&mut m, req);
                let outcome = result.as_ref().map(|_| ()).map_err(Clone::clone);
                admin::record(&mut m, &caller, &headers, R::PATH, &body, &outcome);
                match result {
                    Ok(resp) => Json(resp).into_response(),
                    Err(e) => error(e),
                }
            },
        ),
    )
}

fn error(e: ApiError) -> Response {
    let status =
        StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(e)).into_response()
}
