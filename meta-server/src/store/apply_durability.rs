//! Applying the durability engine's commands: chunkserver state transitions, replicas added
//! by repair or dropped as bad, and the cluster-wide worker settings and scrub control. Also
//! the reads of those settings.

use super::apply::refused;
use super::chunks::{put_entry, ChunkEntry};
use super::keys::*;
use super::read::Reader;
use super::records::StoredChunkserver;
use super::{cf, decode, StoreError};
use crate::types::CommandResult;
use rocksdb::WriteBatch;
use std::collections::BTreeMap;
use trireme_api::durability::ScrubControl;
use trireme_api::ids::{ChunkId, ChunkserverId};
use trireme_api::meta::ChunkserverState;
use trireme_api::object::Replica;
use trireme_api::ErrorCode;

pub fn set_chunkserver_state(
    r: &Reader,
    batch: &mut WriteBatch,
    id: ChunkserverId,
    state: ChunkserverState,
) -> Result<CommandResult, StoreError> {
    let Some(mut record) = r.list_chunkservers()?.into_iter().find(|c| c.id == id) else {
        return Ok(refused(ErrorCode::NotFound, format!("no chunkserver {id}")));
    };
    record.state = state;
    batch.put_cf(
        cf(r.db(), CF_CHUNKSERVERS)?,
        chunkserver_key(id),
        serde_json::to_vec(&StoredChunkserver::V1(record))?,
    );
    Ok(CommandResult::Done)
}

pub fn add_replica(
    r: &Reader,
    batch: &mut WriteBatch,
    chunk: &ChunkId,
    replica: Replica,
    drop: &[Replica],
) -> Result<CommandResult, StoreError> {
    let Some(old) = r.get_chunk(chunk)? else {
        return Ok(refused(
            ErrorCode::NotFound,
            format!("chunk {chunk} is no longer referenced"),
        ));
    };
    let mut new = old.clone();
    new.replicas.retain(|x| !drop.contains(x));
    if !new.replicas.contains(&replica) {
        new.replicas.push(replica);
    }
    put_entry(r, batch, chunk, Some(&old), Some(&new))?;
    Ok(CommandResult::Done)
}

pub fn drop_replica(
    r: &Reader,
    batch: &mut WriteBatch,
    chunk: &ChunkId,
    replica: &Replica,
) -> Result<CommandResult, StoreError> {
    let Some(old) = r.get_chunk(chunk)? else {
        return Ok(CommandResult::Done);
    };
    if !old.replicas.contains(replica) {
        return Ok(CommandResult::Done);
    }
    let new = ChunkEntry {
        replicas: old
            .replicas
            .iter()
            .filter(|x| *x != replica)
            .cloned()
            .collect(),
        ..old.clone()
    };
    put_entry(r, batch, chunk, Some(&old), Some(&new))?;
    Ok(CommandResult::Done)
}

pub fn set_worker_setting(
    r: &Reader,
    batch: &mut WriteBatch,
    key: String,
    value: String,
) -> Result<CommandResult, StoreError> {
    let mut settings = r.worker_settings()?;
    settings.insert(key, value);
    batch.put_cf(
        cf(r.db(), CF_SETTINGS)?,
        KEY_WORKER_SETTINGS,
        serde_json::to_vec(&StoredSettings::V1(settings))?,
    );
    Ok(CommandResult::Done)
}

pub fn set_scrub_control(
    r: &Reader,
    batch: &mut WriteBatch,
    control: &ScrubControl,
) -> Result<CommandResult, StoreError> {
    batch.put_cf(
        cf(r.db(), CF_SETTINGS)?,
        KEY_SCRUB_CONTROL,
        serde_json::to_vec(&StoredScrub::V1(control.clone()))?,
    );
    Ok(CommandResult::Done)
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "v")]
enum StoredSettings {
    #[serde(rename = "1")]
    V1(BTreeMap<String, String>),
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "v")]
enum StoredScrub {
    #[serde(rename = "1")]
    V1(ScrubControl),
}

impl Reader {
    /// Settings changed with `trireme worker set` (keys never set are absent: defaults).
    pub fn worker_settings(&self) -> Result<BTreeMap<String, String>, StoreError> {
        match self
            .db()
            .get_cf(cf(self.db(), CF_SETTINGS)?, KEY_WORKER_SETTINGS)?
        {
            Some(v) => {
                let StoredSettings::V1(m) = decode(CF_SETTINGS, &v)?;
                Ok(m)
            }
            None => Ok(BTreeMap::new()),
        }
    }

    pub fn scrub_control(&self) -> Result<ScrubControl, StoreError> {
        match self
            .db()
            .get_cf(cf(self.db(), CF_SETTINGS)?, KEY_SCRUB_CONTROL)?
        {
            Some(v) => {
                let StoredScrub::V1(c) = decode(CF_SETTINGS, &v)?;
                Ok(c)
            }
            None => Ok(ScrubControl::default()),
        }
    }
}
