//! The disk swap on one chunkserver against a fake meta leader: a disk listed as removed is
//! released, the blank disk put in its slot is formatted with a new identity and serves
//! chunks, and the old disk or a foreign one put back is refused.

mod common;

use common::fake_meta::FakeMeta;
use common::*;
use std::fs;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use trireme_api::config::ClusterSettings;
use trireme_api::durability::ScrubControl;
use trireme_api::ids::DiskId;
use trireme_api::swap::{FormatDisk, FormatDiskResponse, SlotReport, SlotState};
use trireme_api::ErrorCode;
use trireme_chunkserver::disk::IDENTITY_FILE;
use trireme_client::ClientError;

async fn format(server: &Server, path: &Path) -> Result<FormatDiskResponse, ClientError> {
    let req = FormatDisk {
        path: path.display().to_string(),
        removed: Vec::new(),
    };
    client().transport().call(&server.addr, &req).await
}

/// Waits until the last heartbeat shows slot `index` in `state`; returns that slot.
async fn slot_becomes(meta: &FakeMeta, index: usize, state: SlotState) -> SlotReport {
    let what = format!("slot {index} is {}", state.as_str());
    wait_until(&what, || async {
        meta.slots().get(index).is_some_and(|s| s.state == state)
    })
    .await;
    meta.slots()[index].clone()
}

/// Whether nothing holds the lock on a disk's identity file.
fn unlocked(dir: &Path) -> bool {
    let Ok(f) = fs::File::open(dir.join(IDENTITY_FILE)) else {
        return false;
    };
    // SAFETY: flock on a descriptor we own; closing it drops the lock again.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

fn refusal(result: Result<FormatDiskResponse, ClientError>) -> String {
    match result {
        Err(ClientError::Api(e)) => {
            assert_eq!(e.code, ErrorCode::InvalidArgument, "{}", e.message);
            e.message
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn empty(dir: &Path) {
    fs::remove_dir_all(dir).expect("pull the disk");
    fs::create_dir(dir).expect("put in a blank one");
}

#[tokio::test]
async fn a_removed_disk_is_released_and_a_blank_one_formatted_in_its_slot() {
    let meta = FakeMeta::start(&[], ScrubControl::default()).await;
    let root = tempfile::tempdir().expect("tempdir");
    let dirs = vec![root.path().join("d0"), root.path().join("d1")];
    let server = Server::start(config(dirs.clone(), vec![meta.addr.clone()], None)).await;
    let ids = server.disk_ids().await;
    let (old0, old1) = (ids[0].clone(), ids[1].clone());
    let slot = slot_becomes(&meta, 0, SlotState::InService).await;
    assert_eq!(slot.disk, Some(old0.clone()));
    assert_eq!(slot.path, dirs[0].display().to_string());
    assert!(!slot.mounted);
    assert_eq!(meta.slots().len(), 2);

    let c = client();
    let data = random_bytes(3000);
    let chunk = random_chunk();
    c.put_chunk(&server.addr, &old0, &chunk, &digest(&data), data.clone())
        .await
        .expect("put on the old disk");

    // Removed: released, gone from the disks, no I/O, its lock dropped.
    meta.set_removed(vec![old0.clone()]);
    let slot = slot_becomes(&meta, 0, SlotState::Released).await;
    assert_eq!(slot.disk, Some(old0.clone()));
    assert!(slot.detail.contains("pull it"), "{}", slot.detail);
    wait_until("heartbeats no longer show the old disk", || async {
        let disks = meta.disks();
        disks.len() == 1 && disks[0].disk_id == old1
    })
    .await;
    assert_eq!(server.disk_ids().await, vec![old1.clone()]);
    let err = c
        .put_chunk(
            &server.addr,
            &old0,
            &random_chunk(),
            &digest(&data),
            data.clone(),
        )
        .await
        .expect_err("writes to a released disk are refused");
    assert_eq!(err.code(), Some(ErrorCode::DiskUnavailable));
    let err = c
        .get_chunk(&server.addr, &old0, &chunk, None, None)
        .await
        .expect_err("reads too");
    assert_eq!(err.code(), Some(ErrorCode::DiskUnavailable));
    wait_until("the old disk's lock is dropped", || async {
        unlocked(&dirs[0])
    })
    .await;
    assert!(refusal(format(&server, &dirs[0]).await).contains("pull it"));

    // Pulled, a blank disk put in: formatted with a new identity, it serves chunks.
    let old_identity = fs::read(dirs[0].join(IDENTITY_FILE)).expect("old identity");
    empty(&dirs[0]);
    let slot = slot_becomes(&meta, 0, SlotState::Blank).await;
    assert_eq!(slot.detail, "blank disk, ready to format");
    assert_eq!(slot.disk, None);
    let formatted = format(&server, &dirs[0]).await.expect("format");
    let new0 = formatted.disk.clone();
    assert_ne!(new0, old0);
    assert_eq!(formatted.report.disk_id, new0);
    assert_eq!(formatted.report.chunk_count, 0);
    assert!(!unlocked(&dirs[0]), "the new disk is locked while open");
    let data = random_bytes(5000);
    let chunk = random_chunk();
    c.put_chunk(&server.addr, &new0, &chunk, &digest(&data), data.clone())
        .await
        .expect("put on the new disk");
    let back = c
        .get_chunk(&server.addr, &new0, &chunk, None, None)
        .await
        .expect("get from the new disk");
    assert_eq!(back, data);
    let slot = slot_becomes(&meta, 0, SlotState::InService).await;
    assert_eq!(slot.disk, Some(new0.clone()));
    wait_until("heartbeats show the new disk with its chunk", || async {
        meta.disks()
            .iter()
            .any(|d| d.disk_id == new0 && d.chunk_count == 1)
    })
    .await;
    let again = refusal(format(&server, &dirs[0]).await);
    assert!(again.contains("in service"), "{again}");

    // The other disk removed too; the old disk put back in its slot is refused.
    meta.set_removed(vec![old0.clone(), old1.clone()]);
    slot_becomes(&meta, 1, SlotState::Released).await;
    empty(&dirs[1]);
    slot_becomes(&meta, 1, SlotState::Blank).await;
    fs::write(dirs[1].join(IDENTITY_FILE), &old_identity).expect("put the old disk back");
    let slot = slot_becomes(&meta, 1, SlotState::Retired).await;
    assert_eq!(slot.disk, Some(old0.clone()));
    let retired = refusal(format(&server, &dirs[1]).await);
    assert!(
        retired.contains(&format!(
            "this is disk {old0}, which was removed from service"
        )) && retired.contains("never rejoins"),
        "{retired}"
    );

    // A disk of another cluster is refused.
    let foreign =
        r#"{"format_version":1,"cluster_id":"other","chunkserver_id":1,"disk_id":"f00d"}"#;
    fs::write(dirs[1].join(IDENTITY_FILE), foreign).expect("a foreign disk");
    slot_becomes(&meta, 1, SlotState::Foreign).await;
    let refused = refusal(format(&server, &dirs[1]).await);
    assert!(
        refused.contains("disk of cluster other, not this one (test-cluster): refused"),
        "{refused}"
    );
    assert_eq!(
        fs::read(dirs[1].join(IDENTITY_FILE)).expect("read"),
        foreign.as_bytes(),
        "never formatted over"
    );

    // Unknown slots, and callers without the cluster secret.
    let missing = refusal(format(&server, &root.path().join("d9")).await);
    assert!(missing.starts_with("no disk slot at"), "{missing}");
    let stranger = client_with(ClusterSettings {
        cluster_id: CLUSTER.into(),
        secret: "wrong".into(),
    });
    let req = FormatDisk {
        path: dirs[1].display().to_string(),
        removed: vec![DiskId("f00d".into())],
    };
    let err = stranger
        .transport()
        .call(&server.addr, &req)
        .await
        .expect_err("unauthorized");
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
    server.stop().await;
}

#[tokio::test]
async fn a_disk_refused_at_start_up_shows_in_its_slot() {
    let meta = FakeMeta::start(&[], ScrubControl::default()).await;
    let root = tempfile::tempdir().expect("tempdir");
    let dirs = vec![root.path().join("d0"), root.path().join("d1")];
    fs::create_dir(&dirs[1]).expect("mkdir");
    fs::write(dirs[1].join("precious.txt"), b"x").expect("write");
    let server = Server::start(config(dirs.clone(), vec![meta.addr.clone()], None)).await;
    let slot = slot_becomes(&meta, 1, SlotState::NotEmpty).await;
    assert!(slot.detail.contains("never formatted over"), "{slot:?}");
    assert_eq!(meta.slots()[0].state, SlotState::InService);
    assert!(refusal(format(&server, &dirs[1]).await).contains("never formatted over"));

    // Emptied, it is blank and can be formatted: the offline placeholder gives way.
    empty(&dirs[1]);
    slot_becomes(&meta, 1, SlotState::Blank).await;
    let formatted = format(&server, &dirs[1]).await.expect("format");
    let ids = server.disk_ids().await;
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[1], formatted.disk);
    server.stop().await;
}
