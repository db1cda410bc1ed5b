//! Inspection RPCs (`trireme object explain`, `chunkserver show`, `disk show`): leader-only,
//! after a linearizable read. Replicas come from the chunk index (object records keep only
//! their initial placement), healthiness from the replicated states ([`HealthView`]), liveness,
//! capacity, health figures and last scrub times from the leader's heartbeat soft state.

use super::inspect_risk::{at_risk, chunks_on_chunkserver};
use super::Serve;
use crate::durability::view::HealthView;
use crate::error::MetaResult;
use crate::node::{lock, HeartbeatState, MetaNode};
use crate::store::chunks::ChunkEntry;
use crate::types::ChunkserverRecord;
use std::collections::HashMap;
use trireme_api::ids::{ChunkserverId, DiskId};
use trireme_api::inspect::*;
use trireme_api::meta::{ChunkserverInfo, DiskReport};
use trireme_api::object::{ObjectRecord, Replica};
use trireme_api::{ApiError, ErrorCode};

/// What the leader knows of every chunkserver: Raft records, healthiness, heartbeats.
pub struct Places {
    pub records: Vec<ChunkserverRecord>,
    pub view: HealthView,
    pub heartbeats: HashMap<ChunkserverId, HeartbeatState>,
    /// Chunkservers whose heartbeats arrive within the liveness timeout.
    pub alive: HashMap<ChunkserverId, bool>,
}

impl Places {
    fn of(node: &MetaNode) -> MetaResult<Places> {
        let records = node.reader.list_chunkservers()?;
        let heartbeats = lock(&node.heartbeats).clone();
        let alive = heartbeats
            .iter()
            .map(|(id, s)| (*id, node.is_alive(s.last_seen)))
            .collect();
        Ok(Places {
            view: HealthView::new(&records),
            records,
            heartbeats,
            alive,
        })
    }

    fn record(&self, id: ChunkserverId) -> Option<&ChunkserverRecord> {
        self.records.iter().find(|r| r.id == id)
    }

    fn reported(&self, id: ChunkserverId, disk: &DiskId) -> Option<&DiskReport> {
        self.heartbeats
            .get(&id)
            .and_then(|s| s.disks.iter().find(|d| &d.disk_id == disk))
    }

    /// One replica with its chunkserver's and disk's states.
    pub fn replica(&self, r: &Replica) -> ReplicaExplain {
        let record = self.record(r.chunkserver);
        let recorded_disk = record.and_then(|c| c.disks.iter().find(|d| d.disk_id == r.disk));
        let reported = self.reported(r.chunkserver, &r.disk);
        ReplicaExplain {
            chunkserver: r.chunkserver,
            addr: self
                .heartbeats
                .get(&r.chunkserver)
                .map(|s| s.addr.clone())
                .or_else(|| record.map(|c| c.addr.clone())),
            chunkserver_state: record.map(|c| c.state),
            alive: self.alive.get(&r.chunkserver).copied().unwrap_or(false),
            disk: r.disk.clone(),
            path: reported
                .map(|d| d.path.clone())
                .or_else(|| recorded_disk.map(|d| d.path.clone())),
            disk_state: self.view.disk_state(r.chunkserver, &r.disk),
            healthy: self.view.is_healthy(r),
            last_scrub_ms: reported.and_then(|d| d.health.last_scrub_ms),
        }
    }

    /// A chunkserver as `ListChunkservers` shows it.
    fn info(&self, record: &ChunkserverRecord) -> ChunkserverInfo {
        let hb = self.heartbeats.get(&record.id);
        ChunkserverInfo {
            id: record.id,
            addr: hb.map_or_else(|| record.addr.clone(), |s| s.addr.clone()),
            alive: self.alive.get(&record.id).copied().unwrap_or(false),
            last_heartbeat_ms_ago: hb.map(|s| s.last_seen.elapsed().as_millis() as u64),
            disks: match hb {
                Some(s) => s.disks.clone(),
                None => record.disks.iter().map(recorded_report).collect(),
            },
            state: record.state,
        }
    }
}

/// A disk as Raft recorded it, with zero figures (no heartbeat from its chunkserver yet).
fn recorded_report(d: &crate::types::DiskRecord) -> DiskReport {
    DiskReport {
        disk_id: d.disk_id.clone(),
        path: d.path.clone(),
        state: d.state,
        capacity_bytes: 0,
        free_bytes: 0,
        used_bytes: 0,
        chunk_count: 0,
        health: Default::default(),
    }
}

/// The explanation of one object: each chunk in order with its index entry's replicas (the
/// record's, for a chunk the index does not know).
pub fn explain(
    bucket: String,
    key: String,
    record: ObjectRecord,
    entries: &[Option<ChunkEntry>],
    places: &Places,
) -> ExplainObjectResponse {
    let mut chunks = Vec::with_capacity(record.chunks.len());
    let mut summary = ExplainSummary::default();
    let mut offset = 0u64;
    for (i, c) in record.chunks.iter().enumerate() {
        let entry = entries.get(i).and_then(Option::as_ref);
        let replicas: &[Replica] = entry.map_or(&c.replicas, |e| &e.replicas);
        let want = entry.map_or(c.replicas.len().max(1) as u32, |e| e.want);
        let healthy = places.view.healthy_count(replicas) as u32;
        summary.chunks += 1;
        summary.under_replicated += u64::from(healthy < want);
        summary.lost += u64::from(healthy == 0);
        summary.min_healthy = Some(summary.min_healthy.map_or(healthy, |m| m.min(healthy)));
        chunks.push(ChunkExplain {
            id: c.id.clone(),
            offset,
            length: c.length,
            blake3: c.blake3.clone(),
            part: part_of(&record.part_sizes, offset),
            refs: entry.map(|e| e.refs),
            want,
            healthy,
            replicas: replicas.iter().map(|r| places.replica(r)).collect(),
        });
        offset += c.length;
    }
    ExplainObjectResponse {
        bucket,
        key,
        size: record.size,
        etag: record.etag,
        last_modified_ms: record.last_modified_ms,
        content_type: record.content_type,
        checksums: record.checksums,
        inline: record.inline.is_some(),
        part_sizes: record.part_sizes,
        chunks,
        summary,
    }
}

/// The part (1-based) holding the byte at `offset`, for a multipart object.
fn part_of(part_sizes: &[u64], offset: u64) -> Option<u32> {
    let mut end = 0u64;
    for (i, size) in part_sizes.iter().enumerate() {
        end += size;
        if offset < end {
            return Some(i as u32 + 1);
        }
    }
    None
}

fn check_limit(limit: u32) -> MetaResult<()> {
    if limit > MAX_LIST_OBJECTS {
        return Err(ApiError::invalid(format!("limit must be 0..={MAX_LIST_OBJECTS}")).into());
    }
    Ok(())
}

fn not_found(message: String) -> crate::error::MetaError {
    ApiError::new(ErrorCode::NotFound, message).into()
}

impl Serve<ExplainObject> for MetaNode {
    async fn serve(&self, req: ExplainObject) -> MetaResult<ExplainObjectResponse> {
        self.linearizable().await?;
        self.require_bucket(&req.bucket)?;
        let record = self
            .reader
            .get_object(&req.bucket, &req.key)?
            .ok_or_else(|| ApiError::new(ErrorCode::NoSuchKey, format!("no key {}", req.key)))?;
        let entries = record
            .chunks
            .iter()
            .map(|c| self.reader.get_chunk(&c.id))
            .collect::<Result<Vec<_>, _>>()?;
        let places = Places::of(self)?;
        Ok(explain(req.bucket, req.key, record, &entries, &places))
    }
}

impl MetaNode {
    /// Every disk of a chunkserver (recorded ones in their order, then any reported only),
    /// with its chunk count from the location index.
    fn disk_details(
        &self,
        places: &Places,
        record: &ChunkserverRecord,
    ) -> MetaResult<Vec<DiskDetail>> {
        let mut out = Vec::new();
        for (i, d) in record.disks.iter().enumerate() {
            let reported = places.reported(record.id, &d.disk_id);
            out.push(DiskDetail {
                index: i as u32,
                report: reported.cloned().unwrap_or_else(|| recorded_report(d)),
                reported: reported.is_some(),
                recorded_state: Some(d.state),
                indexed_chunks: self.reader.chunks_on_disk(record.id, &d.disk_id)?.len() as u64,
            });
        }
        let extra: Vec<DiskReport> = places
            .heartbeats
            .get(&record.id)
            .map(|s| s.disks.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|r| !record.disks.iter().any(|d| d.disk_id == r.disk_id))
            .collect();
        for r in extra {
            out.push(DiskDetail {
                index: out.len() as u32,
                indexed_chunks: self.reader.chunks_on_disk(record.id, &r.disk_id)?.len() as u64,
                report: r,
                reported: true,
                recorded_state: None,
            });
        }
        Ok(out)
    }
}

impl Serve<ShowChunkserver> for MetaNode {
    async fn serve(&self, req: ShowChunkserver) -> MetaResult<ShowChunkserverResponse> {
        check_limit(req.limit)?;
        self.linearizable().await?;
        let places = Places::of(self)?;
        let record = places
            .record(req.id)
            .cloned()
            .ok_or_else(|| not_found(format!("no chunkserver {}", req.id)))?;
        let disks = self.disk_details(&places, &record)?;
        let chunks = chunks_on_chunkserver(&self.reader, req.id)?;
        let risk = at_risk(
            &self.reader,
            &places.view,
            chunks,
            |r| r.chunkserver == req.id,
            req.limit,
        )?;
        let hb = places.heartbeats.get(&req.id);
        Ok(ShowChunkserverResponse {
            chunkserver: places.info(&record),
            disks,
            scrub: hb.and_then(|s| s.scrub.clone()),
            workers: hb.map(|s| s.workers.clone()).unwrap_or_default(),
            risk,
        })
    }
}

/// The (chunkserver, disk index) a selector names among the recorded disks.
pub fn resolve(
    records: &[ChunkserverRecord],
    sel: &DiskSelector,
) -> Result<(ChunkserverId, usize), ApiError> {
    let all = records
        .iter()
        .flat_map(|c| c.disks.iter().enumerate().map(move |(i, d)| (c.id, i, d)));
    let found: Vec<(ChunkserverId, usize)> = match sel {
        DiskSelector::Index { chunkserver, index } => {
            let Some(c) = records.iter().find(|c| c.id == *chunkserver) else {
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!("no chunkserver {chunkserver}"),
                ));
            };
            if *index as usize >= c.disks.len() {
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!(
                        "chunkserver {chunkserver} has {} disks (index 0..{})",
                        c.disks.len(),
                        c.disks.len()
                    ),
                ));
            }
            vec![(*chunkserver, *index as usize)]
        }
        DiskSelector::Id(id) => all
            .filter(|(_, _, d)| &d.disk_id == id)
            .map(|(c, i, _)| (c, i))
            .collect(),
        DiskSelector::Path(p) => {
            let want = trim_path(p);
            all.filter(|(_, _, d)| trim_path(&d.path) == want)
                .map(|(c, i, _)| (c, i))
                .collect()
        }
    };
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no disk {}", describe(sel)),
        )),
        many => {
            let on: Vec<String> = many.iter().map(|(c, i)| format!("{c}/{i}")).collect();
            Err(ApiError::invalid(format!(
                "{} names several disks ({}): name one as CHUNKSERVER/INDEX",
                describe(sel),
                on.join(", ")
            )))
        }
    }
}

fn trim_path(p: &str) -> &str {
    match p.trim_end_matches('/') {
        "" if p.starts_with('/') => "/",
        t => t,
    }
}

fn describe(sel: &DiskSelector) -> String {
    match sel {
        DiskSelector::Id(id) => format!("with id {id}"),
        DiskSelector::Index { chunkserver, index } => format!("{chunkserver}/{index}"),
        DiskSelector::Path(p) => format!("at path {p}"),
    }
}

impl Serve<ShowDisk> for MetaNode {
    async fn serve(&self, req: ShowDisk) -> MetaResult<ShowDiskResponse> {
        check_limit(req.limit)?;
        self.linearizable().await?;
        let places = Places::of(self)?;
        let (cs, index) = resolve(&places.records, &req.disk)?;
        let record = places
            .record(cs)
            .cloned()
            .ok_or_else(|| not_found(format!("no chunkserver {cs}")))?;
        let mut details = self.disk_details(&places, &record)?;
        if index >= details.len() {
            return Err(not_found(format!("no disk {}", describe(&req.disk))));
        }
        let disk = details.swap_remove(index);
        let id = disk.report.disk_id.clone();
        let chunks = self.reader.chunks_on_disk(cs, &id)?;
        let risk = at_risk(
            &self.reader,
            &places.view,
            chunks,
            |r| r.chunkserver == cs && r.disk == id,
            req.limit,
        )?;
        let info = places.info(&record);
        Ok(ShowDiskResponse {
            chunkserver: cs,
            chunkserver_addr: info.addr,
            chunkserver_state: info.state,
            chunkserver_alive: info.alive,
            last_heartbeat_ms_ago: info.last_heartbeat_ms_ago,
            disk,
            risk,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_by_offset() {
        let sizes = [5, 5, 2];
        assert_eq!(part_of(&sizes, 0), Some(1));
        assert_eq!(part_of(&sizes, 4), Some(1));
        assert_eq!(part_of(&sizes, 5), Some(2));
        assert_eq!(part_of(&sizes, 11), Some(3));
        assert_eq!(part_of(&sizes, 12), None);
        assert_eq!(part_of(&[], 0), None);
    }

    #[test]
    fn paths_ignore_a_trailing_slash() {
        assert_eq!(trim_path("/a/b/"), "/a/b");
        assert_eq!(trim_path("/a/b"), "/a/b");
        assert_eq!(trim_path("/"), "/");
        assert_eq!(trim_path("//"), "/");
    }
}
