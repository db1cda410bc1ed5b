//! Column families and key encodings of the meta-server's RocksDB.
//!
//! Object keys are `[len(bucket)][bucket][key]`: all objects of a bucket are one contiguous
//! range in key order, so listing is a range scan. Raft log keys are big-endian indexes.

pub const CF_LOGS: &str = "raft_logs";
pub const CF_RAFT: &str = "raft_state";
pub const CF_SM_META: &str = "sm_meta";
pub const CF_BUCKETS: &str = "buckets";
pub const CF_OBJECTS: &str = "objects";
pub const CF_KEYS: &str = "access_keys";
pub const CF_CHUNKSERVERS: &str = "chunkservers";
pub const CF_SNAPSHOT: &str = "snapshot";
pub const CF_UPLOADS: &str = "uploads";
pub const CF_PARTS: &str = "parts";
/// Chunk id -> [`super::chunks::StoredChunk`]: length, digest, reference count and the
/// authoritative replica locations of every referenced chunk.
pub const CF_CHUNKS: &str = "chunks";
/// `[chunkserver u64 BE][len(disk)][disk][chunk id]` -> empty: which chunks each disk should
/// hold (inventory checks, per-disk ledger, drains).
pub const CF_LOCATIONS: &str = "locations";
/// Cluster-wide settings changed through Raft (worker settings, scrub control).
pub const CF_SETTINGS: &str = "settings";
/// Operator tokens: hex SHA-256 of the token -> its name, role and creation (never the token).
pub const CF_TOKENS: &str = "admin_tokens";
/// The admin audit log: Raft log index (u64 BE) -> one audit entry, so entries are in order.
pub const CF_AUDIT: &str = "admin_audit";

/// Column families that make up the state machine (copied into snapshots). Append only: a
/// snapshot names column families by their index in this list.
pub const SM_DATA_CFS: [&str; 11] = [
    CF_BUCKETS,
    CF_OBJECTS,
    CF_KEYS,
    CF_CHUNKSERVERS,
    CF_UPLOADS,
    CF_PARTS,
    CF_CHUNKS,
    CF_LOCATIONS,
    CF_SETTINGS,
    CF_TOKENS,
    CF_AUDIT,
];

pub const ALL_CFS: [&str; 15] = [
    CF_LOGS,
    CF_RAFT,
    CF_SM_META,
    CF_BUCKETS,
    CF_OBJECTS,
    CF_KEYS,
    CF_CHUNKSERVERS,
    CF_SNAPSHOT,
    CF_UPLOADS,
    CF_PARTS,
    CF_CHUNKS,
    CF_LOCATIONS,
    CF_SETTINGS,
    CF_TOKENS,
    CF_AUDIT,
];

pub const KEY_VOTE: &[u8] = b"vote";
pub const KEY_LAST_PURGED: &[u8] = b"last_purged";
pub const KEY_COMMITTED: &[u8] = b"committed";
pub const KEY_LAST_APPLIED: &[u8] = b"last_applied";
/// How far into a batch entry applying got: `(log id, commands applied)`, written with each
/// command of a [`crate::types::Command::Batch`] so a restart in the middle of one resumes
/// after the last command that reached RocksDB instead of applying it twice.
pub const KEY_BATCH_PROGRESS: &[u8] = b"batch_progress";
pub const KEY_MEMBERSHIP: &[u8] = b"membership";
pub const KEY_CURRENT_SNAPSHOT: &[u8] = b"current";
/// In `sm_meta`: the version of the chunk index built from the records (absent: rebuild).
pub const KEY_CHUNK_INDEX: &[u8] = b"chunk_index";
/// In `settings`: the worker settings map and the scrub control.
pub const KEY_WORKER_SETTINGS: &[u8] = b"workers";
pub const KEY_SCRUB_CONTROL: &[u8] = b"scrub";

pub fn log_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

pub fn log_index(key: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = key.try_into().ok()?;
    Some(u64::from_be_bytes(arr))
}

/// The prefix shared by every object of `bucket`.
pub fn bucket_prefix(bucket: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(bucket.len() + 1);
    v.push(bucket.len().min(255) as u8);
    v.extend_from_slice(bucket.as_bytes());
    v
}

pub fn object_key(bucket: &str, key: &str) -> Vec<u8> {
    let mut v = bucket_prefix(bucket);
    v.extend_from_slice(key.as_bytes());
    v
}

/// The smallest encoded key greater than every key that starts with `prefix`'s object-key
/// part. Object keys are UTF-8, which never contains 0xFF, so appending 0xFF works.
pub fn after_all_with_prefix(encoded_prefix: &[u8]) -> Vec<u8> {
    let mut v = encoded_prefix.to_vec();
    v.push(0xFF);
    v
}

/// The smallest encoded key strictly greater than `encoded`.
pub fn strictly_after(encoded: &[u8]) -> Vec<u8> {
    let mut v = encoded.to_vec();
    v.push(0x00);
    v
}

/// Uploads sort by bucket, then key, then upload id: `[len(bucket)][bucket][key] 0x00 [upload id]`.
/// Keys never contain NUL (the gateway refuses it), so the separator is unambiguous.
pub fn upload_key(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
    let mut v = object_key(bucket, key);
    v.push(0);
    v.extend_from_slice(upload_id.as_bytes());
    v
}

/// Parts of one upload: `[upload id] 0x00 [part number, big-endian u32]`.
pub fn part_prefix(upload_id: &str) -> Vec<u8> {
    let mut v = upload_id.as_bytes().to_vec();
    v.push(0);
    v
}

pub fn part_key(upload_id: &str, part_number: u32) -> Vec<u8> {
    let mut v = part_prefix(upload_id);
    v.extend_from_slice(&part_number.to_be_bytes());
    v
}

pub fn chunkserver_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// The prefix of every location on one disk of one chunkserver.
pub fn disk_location_prefix(chunkserver: u64, disk: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(9 + disk.len() + 32);
    v.extend_from_slice(&chunkserver.to_be_bytes());
    v.push(disk.len().min(255) as u8);
    v.extend_from_slice(disk.as_bytes());
    v
}

pub fn location_key(chunkserver: u64, disk: &str, chunk: &str) -> Vec<u8> {
    let mut v = disk_location_prefix(chunkserver, disk);
    v.extend_from_slice(chunk.as_bytes());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_group_by_bucket() {
        let a = object_key("ab", "zzz");
        let b = object_key("abc", "");
        // Different bucket lengths never interleave with a bucket's own range.
        assert!(a.starts_with(&bucket_prefix("ab")));
        assert!(!b.starts_with(&bucket_prefix("ab")));
        assert!(after_all_with_prefix(&object_key("ab", "x/")) > object_key("ab", "x/\u{10FFFF}"));
        assert!(strictly_after(&object_key("ab", "x")) < object_key("ab", "x\u{1}"));
    }

    #[test]
    fn log_keys_round_trip_in_order() {
        assert_eq!(log_index(&log_key(42)), Some(42));
        assert!(log_key(255) < log_key(256));
    }
}
