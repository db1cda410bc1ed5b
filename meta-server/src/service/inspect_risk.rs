//! "At risk if it failed now" for a disk or a whole chunkserver, computed fresh from the
//! location index and the replicated states ([`HealthView`]): the chunks with a replica there
//! by healthy replicas now and after the failure, and the first objects that would lose data
//! (a chunk whose every healthy replica is there).

use crate::durability::view::HealthView;
use crate::store::keys::{chunkserver_key, CF_LOCATIONS};
use crate::store::read::Reader;
use crate::store::{cf, StoreError};
use rocksdb::{Direction, IteratorMode};
use std::collections::BTreeSet;
use trireme_api::ids::{ChunkId, ChunkserverId};
use trireme_api::inspect::{AtRisk, ExposedObject};
use trireme_api::object::Replica;

/// The chunks the location index places on any disk of one chunkserver.
pub fn chunks_on_chunkserver(
    reader: &Reader,
    chunkserver: ChunkserverId,
) -> Result<BTreeSet<ChunkId>, StoreError> {
    let prefix = chunkserver_key(chunkserver);
    let mut out = BTreeSet::new();
    for item in reader.db().iterator_cf(
        cf(reader.db(), CF_LOCATIONS)?,
        IteratorMode::From(&prefix, Direction::Forward),
    ) {
        let (k, _) = item?;
        if !k.starts_with(&prefix) {
            break;
        }
        // [chunkserver: 8][disk len: 1][disk][chunk]
        let Some(&disk_len) = k.get(prefix.len()) else {
            continue;
        };
        let start = prefix.len() + 1 + disk_len as usize;
        if let Some(chunk) = k.get(start..) {
            out.insert(ChunkId(String::from_utf8_lossy(chunk).into_owned()));
        }
    }
    Ok(out)
}

/// What `chunks` (those with a replica where `here` holds) would keep if every replica where
/// `here` holds stopped counting; lists at most `limit` objects that would lose data.
pub fn at_risk(
    reader: &Reader,
    view: &HealthView,
    chunks: impl IntoIterator<Item = ChunkId>,
    here: impl Fn(&Replica) -> bool,
    limit: u32,
) -> Result<AtRisk, StoreError> {
    let mut risk = AtRisk::default();
    let mut losing: BTreeSet<ChunkId> = BTreeSet::new();
    for id in chunks {
        let Some(e) = reader.get_chunk(&id)? else {
            continue;
        };
        let want = e.want as usize;
        let now = view.healthy_count(&e.replicas);
        let after = e
            .replicas
            .iter()
            .filter(|r| !here(r) && view.is_healthy(r))
            .count();
        risk.now.add(now, want, e.length);
        risk.if_failed.add(after, want, e.length);
        risk.bytes += e.length;
        if now > 0 && after == 0 {
            losing.insert(id);
        }
    }
    risk.would_lose_chunks = losing.len() as u64;
    if losing.is_empty() {
        return Ok(risk);
    }
    if limit == 0 {
        risk.objects_truncated = true;
        return Ok(risk);
    }
    reader.for_each_object(|bucket, key, record| {
        let chunks: Vec<ChunkId> = record
            .chunks
            .iter()
            .filter(|c| losing.contains(&c.id))
            .map(|c| c.id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if chunks.is_empty() {
            return true;
        }
        if risk.objects.len() >= limit as usize {
            risk.objects_truncated = true;
            return false;
        }
        risk.objects.push(ExposedObject {
            bucket,
            key,
            size: record.size,
            chunks,
        });
        true
    })?;
    Ok(risk)
}
