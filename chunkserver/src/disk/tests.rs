//! Tests of disk identity, layout and usage scanning.

use super::*;

fn open(path: &Path) -> Result<Disk, DiskOpenError> {
    Disk::open(path, "c1", 7)
}

#[test]
fn formats_a_missing_directory_and_reopens_with_the_same_id() {
    let root = tempfile::tempdir().expect("tempdir");
    let path = root.path().join("d0");
    let id = {
        let disk = open(&path).expect("format");
        assert!(disk.is_online());
        assert!(path.join(IDENTITY_FILE).is_file());
        for sub in [CHUNKS, TMP, QUARANTINE] {
            assert!(path.join(sub).is_dir(), "{sub} missing");
        }
        disk.id.clone()
    };
    let again = open(&path).expect("reopen");
    assert_eq!(again.id, id);
    let identity: DiskIdentity =
        serde_json::from_slice(&fs::read(path.join(IDENTITY_FILE)).expect("read")).expect("json");
    assert_eq!(identity.format_version, 1);
    assert_eq!(identity.chunkserver_id, 7);
    assert_eq!(identity.cluster_id, "c1");
}

#[test]
fn refuses_foreign_and_unknown_directories() {
    let root = tempfile::tempdir().expect("tempdir");
    let path = root.path().join("d");
    drop(open(&path).expect("format"));
    assert!(matches!(
        Disk::open(&path, "other", 7),
        Err(DiskOpenError::ForeignCluster { .. })
    ));
    assert!(matches!(
        Disk::open(&path, "c1", 8),
        Err(DiskOpenError::ForeignChunkserver { .. })
    ));

    let full = root.path().join("full");
    fs::create_dir(&full).expect("mkdir");
    fs::write(full.join("precious.txt"), b"x").expect("write");
    assert!(matches!(open(&full), Err(DiskOpenError::NotEmpty)));
    assert!(!full.join(IDENTITY_FILE).exists());

    let garbled = root.path().join("garbled");
    fs::create_dir(&garbled).expect("mkdir");
    fs::write(garbled.join(IDENTITY_FILE), b"{not json").expect("write");
    assert!(matches!(open(&garbled), Err(DiskOpenError::BadIdentity(_))));
}

#[test]
fn lost_and_found_does_not_count_as_content() {
    let root = tempfile::tempdir().expect("tempdir");
    fs::create_dir(root.path().join("lost+found")).expect("mkdir");
    assert!(open(root.path()).is_ok());
}

#[test]
fn a_disk_cannot_be_opened_twice() {
    let root = tempfile::tempdir().expect("tempdir");
    let first = open(root.path()).expect("open");
    assert!(matches!(open(root.path()), Err(DiskOpenError::Locked)));
    drop(first);
    assert!(open(root.path()).is_ok());
}

#[test]
fn startup_cleans_tmp_and_counts_chunks() {
    let root = tempfile::tempdir().expect("tempdir");
    let id = ChunkId::from_u128(0xab00_0000_0000_0000_0000_0000_0000_0001);
    {
        let disk = open(root.path()).expect("open");
        let dir = disk.ensure_chunk_dir(&id).expect("dir");
        assert!(dir.ends_with("chunks/ab"));
        fs::write(disk.chunk_path(&id), vec![0u8; 1234]).expect("write chunk");
        fs::write(disk.tmp_path(&id), b"half").expect("write tmp");
        fs::write(dir.join("stray"), b"??").expect("write stray");
    }
    let disk = open(root.path()).expect("reopen");
    assert_eq!(fs::read_dir(root.path().join(TMP)).expect("ls").count(), 0);
    assert_eq!(
        *disk.usage(),
        DiskUsage {
            used_bytes: 1234,
            chunk_count: 1
        }
    );
    let report = disk.report();
    assert_eq!(report.state, DiskState::Healthy);
    assert_eq!(report.chunk_count, 1);
    assert!(report.capacity_bytes > 0);
}

#[test]
fn offline_disks_report_offline() {
    let disk = Disk::offline(Path::new("/nonexistent/trireme"), 3);
    assert!(!disk.is_online());
    let report = disk.report();
    assert_eq!(report.state, DiskState::Offline);
    assert_eq!(report.disk_id.0, "offline-3");
    assert!(report.disk_id.is_valid());
}
