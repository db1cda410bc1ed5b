//! The scrub history persisted on each disk (`<disk>/scrub-state.json`, versioned), so a
//! restart neither repeats a finished pass nor forgets an unfinished one or the operator's
//! epoch. Every disk holds the chunkserver's pass record plus when its own part of a pass
//! last finished; at start-up the newest pass record over all disks wins.

use crate::disk::Disk;
use crate::fsutil::write_file_atomic;
use serde::{Deserialize, Serialize};
use std::io;

/// File name at the root of each disk.
pub const FILE: &str = "scrub-state.json";
const TMP: &str = ".scrub-state.json.tmp";
/// Version of the record this code writes.
pub const VERSION: u32 = 1;

/// One disk's scrub record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedScrub {
    /// Format version ([`VERSION`]).
    pub v: u32,
    /// Epoch of the last pass started.
    pub epoch: u64,
    /// Unix ms when the last pass started.
    pub pass_started_ms: Option<u64>,
    /// Unix ms when the last complete pass finished.
    pub pass_completed_ms: Option<u64>,
    /// Epoch of the last complete pass.
    pub last_pass_epoch: Option<u64>,
    /// Unix ms when this disk's part of a pass last finished.
    pub disk_scrubbed_ms: Option<u64>,
}

impl SavedScrub {
    /// Whether the last pass started was never completed.
    pub fn unfinished(&self) -> bool {
        match (self.pass_started_ms, self.pass_completed_ms) {
            (Some(started), Some(done)) => done < started,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

/// The record of a disk, if it has a readable one of this version. Blocking.
pub fn load(disk: &Disk) -> Option<SavedScrub> {
    let path = disk.path.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read scrub state");
            return None;
        }
    };
    match serde_json::from_slice::<SavedScrub>(&bytes) {
        Ok(s) if s.v == VERSION => Some(s),
        Ok(s) => {
            tracing::warn!(path = %path.display(), v = s.v, "unknown scrub state version");
            None
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "unreadable scrub state");
            None
        }
    }
}

/// Writes a disk's record atomically. Blocking.
pub fn save(disk: &Disk, state: &SavedScrub) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(state).map_err(io::Error::other)?;
    write_file_atomic(&disk.path.join(TMP), &disk.path.join(FILE), &json)
}

/// The chunkserver's pass record: the one that started last.
pub fn newest<'a>(records: impl IntoIterator<Item = &'a SavedScrub>) -> Option<SavedScrub> {
    records
        .into_iter()
        .max_by_key(|s| (s.pass_started_ms, s.pass_completed_ms, s.epoch))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_picks_the_newest() {
        let root = tempfile::tempdir().expect("tempdir");
        let disk = Disk::open(&root.path().join("d0"), "c1", 1).expect("open");
        assert_eq!(load(&disk), None);
        let s = SavedScrub {
            v: VERSION,
            epoch: 3,
            pass_started_ms: Some(100),
            pass_completed_ms: None,
            last_pass_epoch: Some(2),
            disk_scrubbed_ms: Some(50),
        };
        save(&disk, &s).expect("save");
        assert_eq!(load(&disk), Some(s.clone()));
        assert!(s.unfinished());
        let done = SavedScrub {
            pass_completed_ms: Some(200),
            ..s.clone()
        };
        assert!(!done.unfinished());
        let older = SavedScrub {
            pass_started_ms: Some(10),
            ..SavedScrub::default()
        };
        assert_eq!(newest([&older, &done, &s]), Some(done));
        assert_eq!(newest([]), None);
    }
}
