//! Where snapshots live and how they are built without stopping the apply loop.
//!
//! Why (issue 6): a snapshot used to be dumped into memory on the state machine task and kept
//! as one RocksDB value. With a million objects that is hundreds of MiB, copied every
//! `snapshot_every_logs` entries while no entry could be applied: PUTs stalled for the whole
//! dump, and memory grew with the bucket. Now:
//!
//! - [`capture`] (on the state machine task) makes a RocksDB checkpoint: hard links to the SST
//!   files after a memtable flush, milliseconds whatever the size. Nothing is applied between
//!   the last entry and the checkpoint, so it is a consistent view.
//! - [`build`] (in openraft's spawned builder task, on a blocking thread) opens the checkpoint
//!   read-only, streams its dump into a temporary file, fsyncs it and renames it over
//!   `current.snap`, then removes the checkpoint. Applying goes on meanwhile.
//! - The file lives in `trireme-snapshots/` inside the database directory.
//!
//! File format: `[u32 LE meta length][SnapshotMeta as JSON][dump]`, the dump in the versioned
//! format of `snapshot.rs`. Versions before this kept the same bytes as the value `current` of
//! the `snapshot` column family; [`load`] still reads that when there is no file, and the first
//! file saved deletes it.

use super::keys::*;
use super::snapshot::{applied_state, dump_to};
use super::{cf, decode, StoreError};
use crate::types::{LogId, SnapshotMeta};
use rocksdb::checkpoint::Checkpoint;
use rocksdb::{Options, DB};
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Inside the database directory (RocksDB leaves names it does not know alone), so the
/// snapshot goes wherever the database goes.
const DIR_NAME: &str = "trireme-snapshots";
const CURRENT: &str = "current.snap";
const TMP_SUFFIX: &str = ".tmp";
const CHECKPOINT_PREFIX: &str = "checkpoint-";

/// The snapshot directory of one database; saves are serialised and never replace a newer
/// snapshot with an older one.
#[derive(Clone, Debug)]
pub struct SnapDir {
    dir: PathBuf,
    lock: Arc<Mutex<()>>,
}

impl SnapDir {
    /// The directory for the database at `db_path`, created if needed, with what an
    /// interrupted build left (checkpoints, temporary files) removed.
    pub fn open(db_path: &Path) -> Result<SnapDir, StoreError> {
        let dir = db_path.join(DIR_NAME);
        fs::create_dir_all(&dir)?;
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let n = entry.file_name().to_string_lossy().into_owned();
            if n.starts_with(CHECKPOINT_PREFIX) {
                fs::remove_dir_all(entry.path())?;
            } else if n.ends_with(TMP_SUFFIX) {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(SnapDir {
            dir,
            lock: Arc::new(Mutex::new(())),
        })
    }

    fn current(&self) -> PathBuf {
        self.dir.join(CURRENT)
    }

    /// An unnamed temporary file here, for a snapshot being received (gone when closed).
    pub fn incoming(&self) -> Result<File, StoreError> {
        Ok(tempfile::tempfile_in(&self.dir)?)
    }
}

/// A consistent view of the database taken on the state machine task.
pub struct Captured {
    checkpoint: PathBuf,
}

impl Drop for Captured {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.checkpoint);
    }
}

/// Takes a checkpoint of `db` (fast: hard links).
pub fn capture(db: &DB, dir: &SnapDir, seq: u64) -> Result<Captured, StoreError> {
    let checkpoint = dir.dir.join(format!("{CHECKPOINT_PREFIX}{seq}"));
    if checkpoint.exists() {
        fs::remove_dir_all(&checkpoint)?;
    }
    Checkpoint::new(db)?.create_checkpoint(&checkpoint)?;
    Ok(Captured { checkpoint })
}

/// Streams a captured view into `current.snap` (unless a newer snapshot is there already) and
/// returns its meta; the dump never sits in memory. `make_meta` names the snapshot from the
/// view's applied state.
pub fn build(
    captured: Captured,
    dir: &SnapDir,
    make_meta: impl FnOnce(Option<LogId>, crate::types::StoredMembership) -> SnapshotMeta,
) -> Result<SnapshotMeta, StoreError> {
    let ro = open_read_only(&captured.checkpoint)?;
    let (applied, membership) = applied_state(&ro)?;
    let meta = make_meta(applied, membership);
    save_with(dir, &meta, |w| dump_to(&ro, w))?;
    Ok(meta)
}

fn open_read_only(path: &Path) -> Result<DB, StoreError> {
    let opts = Options::default();
    Ok(DB::open_cf_for_read_only(&opts, path, ALL_CFS, false)?)
}

/// Makes `meta` + `data` the current snapshot, durably, unless the current one is newer.
pub fn save(dir: &SnapDir, meta: &SnapshotMeta, data: &[u8]) -> Result<(), StoreError> {
    save_with(dir, meta, |w| Ok(w.write_all(data)?))
}

fn save_with(
    dir: &SnapDir,
    meta: &SnapshotMeta,
    write_data: impl FnOnce(&mut dyn Write) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let _guard = dir.lock.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(existing) = read_meta(&dir.current())? {
        if existing.last_log_id > meta.last_log_id {
            return Ok(());
        }
    }
    let meta_json = serde_json::to_vec(meta)?;
    let tmp = dir.dir.join(format!("{CURRENT}{TMP_SUFFIX}"));
    let written = (|| {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
        w.write_all(&(meta_json.len() as u32).to_le_bytes())?;
        w.write_all(&meta_json)?;
        write_data(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok::<_, StoreError>(())
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, dir.current())?;
    File::open(&dir.dir)?.sync_all()?;
    Ok(())
}

/// Installs the dump in `data` (a received snapshot, read from its start) into `db` and
/// makes it the current snapshot file, reading it once as a stream: the dump is copied into
/// the new file as it is parsed, the database written, and only then the file renamed into
/// place (a crash in between leaves the older snapshot, which is valid). If the current file
/// is newer, only the database is written.
pub fn install(db: &DB, dir: &SnapDir, meta: &SnapshotMeta, data: File) -> Result<(), StoreError> {
    let mut reader = std::io::BufReader::with_capacity(1 << 20, data);
    let mut installed = false;
    save_with(dir, meta, |w| {
        installed = true;
        super::snapshot::install_from(db, meta, &mut reader, w)
    })?;
    if !installed {
        super::snapshot::install_from(db, meta, &mut reader, &mut std::io::sink())?;
    }
    Ok(())
}

/// The current snapshot file, opened, with its meta and where its dump starts. A snapshot an
/// older version kept in the database is written to the file first.
pub fn open_current(
    db: &DB,
    dir: &SnapDir,
) -> Result<Option<(SnapshotMeta, File, u64)>, StoreError> {
    if !dir.current().exists() {
        let legacy = db.get_cf(cf(db, CF_SNAPSHOT)?, KEY_CURRENT_SNAPSHOT)?;
        let Some(value) = legacy else {
            return Ok(None);
        };
        let (meta, at) = split_meta(&value)?;
        save(dir, &meta, &value[at..])?;
        forget_legacy(db)?;
    }
    let _guard = dir.lock.lock().unwrap_or_else(|p| p.into_inner());
    let mut f = match File::open(dir.current()) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let meta = read_meta_from(&mut f)?;
    let base = std::io::Seek::stream_position(&mut f)?;
    Ok(Some((meta, f, base)))
}

/// Drops the snapshot an older version kept inside the database, once a file holds one.
pub fn forget_legacy(db: &DB) -> Result<(), StoreError> {
    let handle = cf(db, CF_SNAPSHOT)?;
    if db.get_pinned_cf(handle, KEY_CURRENT_SNAPSHOT)?.is_some() {
        db.delete_cf(handle, KEY_CURRENT_SNAPSHOT)?;
    }
    Ok(())
}

/// The current snapshot: the file, else the one an older version kept in the database.
#[cfg(test)]
pub fn load(db: &DB, dir: &SnapDir) -> Result<Option<(SnapshotMeta, Vec<u8>)>, StoreError> {
    let _guard = dir.lock.lock().unwrap_or_else(|p| p.into_inner());
    let value = match fs::read(dir.current()) {
        Ok(v) => v,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match db.get_cf(cf(db, CF_SNAPSHOT)?, KEY_CURRENT_SNAPSHOT)? {
                Some(v) => v,
                None => return Ok(None),
            }
        }
        Err(e) => return Err(e.into()),
    };
    let (meta, at) = split_meta(&value)?;
    // In place: a snapshot can be hundreds of MiB, so no second copy.
    let mut data = value;
    data.drain(..at);
    Ok(Some((meta, data)))
}

fn read_meta(path: &Path) -> Result<Option<SnapshotMeta>, StoreError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    read_meta_from(&mut f).map(Some)
}

/// The meta at the start of a snapshot file; leaves `f` where the dump starts.
fn read_meta_from(f: &mut File) -> Result<SnapshotMeta, StoreError> {
    let mut len = [0u8; 4];
    f.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_META {
        return Err(corrupt("snapshot meta too long"));
    }
    let mut meta = vec![0u8; len];
    f.read_exact(&mut meta)?;
    decode(CF_SNAPSHOT, &meta)
}

/// Far above any real meta (a membership of a few nodes), far below anything harmful.
const MAX_META: usize = 1 << 20;

fn split_meta(value: &[u8]) -> Result<(SnapshotMeta, usize), StoreError> {
    let len_bytes: [u8; 4] = value
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt("truncated"))?;
    let len = u32::from_le_bytes(len_bytes) as usize;
    let meta_bytes = value
        .get(4..4 + len)
        .ok_or_else(|| corrupt("truncated meta"))?;
    Ok((decode(CF_SNAPSHOT, meta_bytes)?, 4 + len))
}

fn corrupt(message: &str) -> StoreError {
    StoreError::Corrupt {
        cf: CF_SNAPSHOT,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::open_db;
    use crate::types::StoredMembership;

    fn assert_only_current(dir: &Path) {
        let left: Vec<_> = fs::read_dir(dir)
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from(CURRENT)]);
    }

    fn log_id(index: u64) -> LogId {
        openraft::LogId::new(openraft::CommittedLeaderId::new(1, 1), index)
    }

    fn applied(db: &DB, index: u64) {
        let meta = cf(db, CF_SM_META).expect("cf");
        let v = serde_json::to_vec(&Some(log_id(index))).expect("json");
        db.put_cf(meta, KEY_LAST_APPLIED, v).expect("put");
    }

    fn meta_named(applied: Option<LogId>, membership: StoredMembership) -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: applied,
            last_membership: membership,
            snapshot_id: "t".into(),
        }
    }

    #[test]
    fn a_snapshot_streams_from_one_file_into_another_database() {
        let tmp = tempfile::tempdir().expect("tmp");
        let db = open_db(tmp.path()).expect("db");
        let dir = SnapDir::open(tmp.path()).expect("dir");
        let objects = cf(&db, CF_OBJECTS).expect("cf");
        for i in 0..1000u32 {
            db.put_cf(objects, format!("k{i:04}"), vec![i as u8; 300])
                .expect("put");
        }
        applied(&db, 9);
        let meta = build(capture(&db, &dir, 0).expect("capture"), &dir, meta_named).expect("build");
        // What a leader sends: the file from just past its header.
        let (opened, mut file, base) = open_current(&db, &dir).expect("open").expect("some");
        assert_eq!(opened, meta);
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(base)).expect("seek");
        let mut wire = Vec::new();
        file.read_to_end(&mut wire).expect("read");
        assert_eq!(
            &wire[..8],
            b"TRSNAP01",
            "the bare dump, as older versions send"
        );
        // What a follower receives into and installs from.
        let other = tempfile::tempdir().expect("tmp");
        let db2 = open_db(other.path()).expect("db");
        let dir2 = SnapDir::open(other.path()).expect("dir");
        db2.put_cf(cf(&db2, CF_OBJECTS).expect("cf"), b"stale", b"x")
            .expect("put");
        let mut received = dir2.incoming().expect("incoming");
        received.write_all(&wire).expect("write");
        std::io::Seek::rewind(&mut received).expect("rewind");
        install(&db2, &dir2, &meta, received).expect("install");
        let objects2 = cf(&db2, CF_OBJECTS).expect("cf");
        assert!(db2.get_cf(objects2, b"stale").expect("get").is_none());
        assert_eq!(
            db2.get_cf(objects2, b"k0999").expect("get"),
            Some(vec![999u32 as u8; 300])
        );
        assert_eq!(applied_state(&db2).expect("state").0, Some(log_id(9)));
        // The follower keeps it as its own current snapshot, byte for byte.
        let (kept, _) = load(&db2, &dir2).expect("load").expect("kept");
        assert_eq!(kept, meta);
        assert_eq!(
            fs::read(dir2.current()).expect("read"),
            fs::read(dir.current()).expect("read")
        );
        assert_only_current(&dir2.dir);
        // A truncated transfer is an error and leaves the database as it was.
        let db3_dir = tempfile::tempdir().expect("tmp");
        let db3 = open_db(db3_dir.path()).expect("db");
        let dir3 = SnapDir::open(db3_dir.path()).expect("dir");
        let mut cut = dir3.incoming().expect("incoming");
        cut.write_all(&wire[..wire.len() / 2]).expect("write");
        std::io::Seek::rewind(&mut cut).expect("rewind");
        assert!(install(&db3, &dir3, &meta, cut).is_err());
        assert_eq!(applied_state(&db3).expect("state").0, None);
        assert_eq!(
            fs::read_dir(&dir3.dir).expect("ls").count(),
            0,
            "nothing left behind"
        );
    }

    #[test]
    fn a_build_sees_the_state_at_capture_not_later_writes() {
        let tmp = tempfile::tempdir().expect("tmp");
        let db = open_db(tmp.path()).expect("db");
        let dir = SnapDir::open(tmp.path()).expect("dir");
        let objects = cf(&db, CF_OBJECTS).expect("cf");
        db.put_cf(objects, b"before", b"1").expect("put");
        applied(&db, 7);
        let captured = capture(&db, &dir, 0).expect("capture");
        // Applying goes on after the capture; the snapshot must not see it.
        db.put_cf(objects, b"after", b"2").expect("put");
        applied(&db, 8);
        let meta = build(captured, &dir, meta_named).expect("build");
        assert_eq!(meta.last_log_id, Some(log_id(7)));
        let (loaded, data) = load(&db, &dir).expect("load").expect("a snapshot");
        assert_eq!(loaded.last_log_id, Some(log_id(7)));
        // Installing it into a fresh database gives exactly the captured state.
        let other = tempfile::tempdir().expect("tmp");
        let db2 = open_db(other.path()).expect("db");
        let dir2 = SnapDir::open(other.path()).expect("dir");
        crate::store::snapshot::install(&db2, &dir2, &loaded, &data).expect("install");
        let objects2 = cf(&db2, CF_OBJECTS).expect("cf");
        assert!(db2.get_cf(objects2, b"before").expect("get").is_some());
        assert!(db2.get_cf(objects2, b"after").expect("get").is_none());
        // The checkpoint is gone once built.
        assert_only_current(&dir.dir);
    }

    #[test]
    fn an_older_snapshot_never_replaces_a_newer_one() {
        let tmp = tempfile::tempdir().expect("tmp");
        let db = open_db(tmp.path()).expect("db");
        let dir = SnapDir::open(tmp.path()).expect("dir");
        let newer = meta_named(Some(log_id(20)), StoredMembership::default());
        let older = meta_named(Some(log_id(10)), StoredMembership::default());
        save(&dir, &newer, b"new").expect("save");
        save(&dir, &older, b"old").expect("save");
        let (meta, data) = load(&db, &dir).expect("load").expect("some");
        assert_eq!(
            (meta.last_log_id, data),
            (Some(log_id(20)), b"new".to_vec())
        );
    }

    #[test]
    fn a_snapshot_kept_in_the_database_by_an_older_version_is_read_then_dropped() {
        let tmp = tempfile::tempdir().expect("tmp");
        let db = open_db(tmp.path()).expect("db");
        let dir = SnapDir::open(tmp.path()).expect("dir");
        let meta = meta_named(Some(log_id(5)), StoredMembership::default());
        let json = serde_json::to_vec(&meta).expect("json");
        let mut value = (json.len() as u32).to_le_bytes().to_vec();
        value.extend_from_slice(&json);
        value.extend_from_slice(b"legacy");
        db.put_cf(
            cf(&db, CF_SNAPSHOT).expect("cf"),
            KEY_CURRENT_SNAPSHOT,
            value,
        )
        .expect("put");
        let (m, data) = load(&db, &dir).expect("load").expect("legacy");
        assert_eq!((m.last_log_id, data), (Some(log_id(5)), b"legacy".to_vec()));
        save(
            &dir,
            &meta_named(Some(log_id(6)), StoredMembership::default()),
            b"file",
        )
        .expect("save");
        forget_legacy(&db).expect("forget");
        let handle = cf(&db, CF_SNAPSHOT).expect("cf");
        assert!(db
            .get_cf(handle, KEY_CURRENT_SNAPSHOT)
            .expect("get")
            .is_none());
        assert_eq!(
            load(&db, &dir).expect("load").expect("file").1,
            b"file".to_vec()
        );
    }

    #[test]
    fn opening_removes_what_an_interrupted_build_left() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join(DIR_NAME);
        fs::create_dir_all(dir.join("checkpoint-3")).expect("mkdir");
        fs::write(dir.join("checkpoint-3").join("000001.sst"), b"x").expect("write");
        fs::write(dir.join(format!("{CURRENT}{TMP_SUFFIX}")), b"partial").expect("write");
        fs::write(dir.join(CURRENT), b"kept").expect("write");
        SnapDir::open(tmp.path()).expect("open");
        assert_only_current(&dir);
    }

    #[test]
    fn a_truncated_or_garbled_file_is_an_error_not_a_panic() {
        let tmp = tempfile::tempdir().expect("tmp");
        let db = open_db(tmp.path()).expect("db");
        let dir = SnapDir::open(tmp.path()).expect("dir");
        for bad in [&b""[..], b"\x01", b"\xff\xff\xff\x7f{}", b"\x02\0\0\0{"] {
            fs::write(dir.current(), bad).expect("write");
            assert!(load(&db, &dir).is_err(), "{bad:?}");
        }
    }
}
