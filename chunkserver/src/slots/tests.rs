//! Tests of slot classification on temporary directories (never mount points).

use super::*;
use crate::disk::{DiskIdentity, IDENTITY_VERSION};
use crate::format::IDENTITY_TMP;
use std::fs;

const CLUSTER: &str = "c1";
const ME: ChunkserverId = 2;

fn write_identity(dir: &Path, cluster: &str, chunkserver: ChunkserverId, disk: &str) {
    fs::create_dir_all(dir).expect("mkdir");
    let identity = DiskIdentity {
        format_version: IDENTITY_VERSION,
        cluster_id: cluster.into(),
        chunkserver_id: chunkserver,
        disk_id: DiskId(disk.into()),
    };
    fs::write(
        dir.join(IDENTITY_FILE),
        serde_json::to_vec(&identity).expect("json"),
    )
    .expect("write identity");
}

fn judge(path: &Path, removed: &[&str], require_mounted: bool) -> Inspection {
    let removed: BTreeSet<DiskId> = removed.iter().map(|d| DiskId(d.to_string())).collect();
    let ctx = SlotContext {
        cluster_id: CLUSTER,
        chunkserver: ME,
        require_mounted,
        removed: &removed,
        released: None,
    };
    inspect(3, path, &ctx)
}

fn state(path: &Path) -> SlotState {
    judge(path, &[], false).report.state
}

#[test]
fn empty_directories_are_blank() {
    let root = tempfile::tempdir().expect("tempdir");
    let found = judge(root.path(), &[], false);
    assert_eq!(found.report.state, SlotState::Blank);
    assert_eq!(found.report.index, 3);
    assert_eq!(found.report.path, root.path().display().to_string());
    assert_eq!(found.report.detail, "blank disk, ready to format");
    assert!(!found.report.mounted, "a tempdir is not a mount point");
    assert_eq!(found.ours, None);

    fs::create_dir(root.path().join("lost+found")).expect("mkdir");
    assert_eq!(state(root.path()), SlotState::Blank);
    fs::write(root.path().join(IDENTITY_TMP), b"half written").expect("write");
    assert_eq!(state(root.path()), SlotState::Blank);
}

#[test]
fn files_without_an_identity_are_never_formatted_over() {
    let root = tempfile::tempdir().expect("tempdir");
    fs::write(root.path().join("family-photos.jpg"), b"precious").expect("write");
    let found = judge(root.path(), &[], false);
    assert_eq!(found.report.state, SlotState::NotEmpty);
    assert!(
        found.report.detail.contains("no trireme-disk.json"),
        "{}",
        found.report.detail
    );

    let garbled = root.path().join("garbled");
    fs::create_dir(&garbled).expect("mkdir");
    fs::write(garbled.join(IDENTITY_FILE), b"{not json").expect("write");
    let found = judge(&garbled, &[], false);
    assert_eq!(found.report.state, SlotState::NotEmpty);
    assert!(found.report.detail.contains("unreadable"));
}

#[test]
fn foreign_disks_are_refused() {
    let root = tempfile::tempdir().expect("tempdir");
    let other_cluster = root.path().join("a");
    write_identity(&other_cluster, "other", ME, "d-abc");
    let found = judge(&other_cluster, &[], false);
    assert_eq!(found.report.state, SlotState::Foreign);
    assert_eq!(found.report.disk, Some(DiskId("d-abc".into())));
    assert_eq!(
        found.report.detail,
        "disk of cluster other, not this one (c1): refused"
    );

    let other_server = root.path().join("b");
    write_identity(&other_server, CLUSTER, 3, "d-abc");
    let found = judge(&other_server, &["d-abc"], false);
    assert_eq!(found.report.state, SlotState::Foreign);
    assert_eq!(
        found.report.detail,
        "disk of chunkserver 3, this is chunkserver 2: refused"
    );
    assert_eq!(found.ours, None);
}

#[test]
fn removed_disks_are_retired_or_released() {
    let root = tempfile::tempdir().expect("tempdir");
    write_identity(root.path(), CLUSTER, ME, "d-old");
    let found = judge(root.path(), &["d-old"], false);
    assert_eq!(found.report.state, SlotState::Retired);
    assert_eq!(found.report.disk, Some(DiskId("d-old".into())));
    assert!(found.report.detail.contains("never rejoins"));
    assert_eq!(found.ours, None);

    // Still the disk this process released: released, on the same device only.
    let removed = BTreeSet::from([DiskId("d-old".into())]);
    let dev = found.dev;
    assert!(dev.is_some());
    let with_dev = |dev| {
        let released = Released {
            disk: DiskId("d-old".into()),
            dev,
        };
        let ctx = SlotContext {
            cluster_id: CLUSTER,
            chunkserver: ME,
            require_mounted: false,
            removed: &removed,
            released: Some(&released),
        };
        inspect(0, root.path(), &ctx).report
    };
    let found = with_dev(dev);
    assert_eq!(found.state, SlotState::Released);
    assert!(found.detail.contains("pull it"));
    let found = with_dev(dev.map(|d| d + 1));
    assert_eq!(found.state, SlotState::Retired, "remounted");
}

#[test]
fn a_disk_of_ours_never_removed_can_be_opened() {
    let root = tempfile::tempdir().expect("tempdir");
    write_identity(root.path(), CLUSTER, ME, "d-mine");
    let found = judge(root.path(), &["d-other"], false);
    assert_eq!(found.ours, Some(DiskId("d-mine".into())));
    assert_eq!(found.report.disk, Some(DiskId("d-mine".into())));
}

#[test]
fn missing_or_unmounted_paths_hold_no_disk() {
    let root = tempfile::tempdir().expect("tempdir");
    let missing = root.path().join("missing");
    let found = judge(&missing, &[], false);
    assert_eq!(found.report.state, SlotState::NoDisk);
    assert!(found.report.detail.contains("missing"));

    let file = root.path().join("file");
    fs::write(&file, b"x").expect("write");
    assert_eq!(state(&file), SlotState::NoDisk);

    // A blank directory on its parent's filesystem is no disk when a mount is required,
    // and a disk of ours there is not opened either.
    let blank = root.path().join("blank");
    fs::create_dir(&blank).expect("mkdir");
    let found = judge(&blank, &[], true);
    assert_eq!(found.report.state, SlotState::NoDisk);
    assert!(!found.report.mounted);
    assert_eq!(
        found.report.detail,
        format!(
            "no filesystem mounted on {} (require_mounted_disks)",
            blank.display()
        )
    );
    write_identity(&blank, CLUSTER, ME, "d-mine");
    assert_eq!(judge(&blank, &[], true).ours, None);
}

#[test]
fn the_root_directory_is_a_mount_point() {
    assert!(mount_of(Path::new("/")).expect("stat /").mounted);
    let root = tempfile::tempdir().expect("tempdir");
    assert!(!mount_of(root.path()).expect("stat").mounted);
}
