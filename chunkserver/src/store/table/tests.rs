//! Tests of the slot table: start-up, release, inspection and formatting.

use super::*;
use crate::disk::IDENTITY_FILE;
use crate::report::Reporter;
use std::fs;

fn settings(require_mounted_disks: bool) -> StoreSettings {
    StoreSettings {
        cluster_id: "c1".into(),
        chunkserver: 2,
        require_mounted_disks,
        fault_injection: false,
    }
}

async fn open(paths: &[PathBuf], require_mounted: bool) -> Arc<Store> {
    let reporter = Arc::new(Reporter::new(2, false));
    Arc::new(Store::open(settings(require_mounted), paths, reporter).await)
}

fn states(store: &Store) -> Vec<SlotState> {
    store.slot_reports().iter().map(|r| r.state).collect()
}

#[tokio::test]
async fn an_unmounted_blank_slot_is_not_formatted_when_mounts_are_required() {
    let root = tempfile::tempdir().expect("tempdir");
    let path = root.path().join("d0");
    fs::create_dir(&path).expect("mkdir");
    let store = open(std::slice::from_ref(&path), true).await;
    assert_eq!(states(&store), vec![SlotState::NoDisk]);
    assert!(!path.join(IDENTITY_FILE).exists(), "never formatted");
    let disks = store.disks();
    assert_eq!(disks.len(), 1);
    assert!(disks[0].is_offline(), "reported as an offline placeholder");
    let err = store.format_slot(&path.display().to_string(), &[]).await;
    match err {
        Err(StoreError::InvalidArgument(m)) => assert!(m.contains("require_mounted_disks"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_slot_is_formatted_once_blank() {
    let root = tempfile::tempdir().expect("tempdir");
    let paths = vec![root.path().join("d0"), root.path().join("d1")];
    let store = open(&paths, false).await;
    assert_eq!(states(&store), vec![SlotState::InService; 2]);
    let old = store.disks()[0].clone();
    let old_id = old.id.clone();

    assert_eq!(
        store.release(std::slice::from_ref(&old_id)),
        vec![old_id.clone()]
    );
    assert!(
        store.release(std::slice::from_ref(&old_id)).is_empty(),
        "once"
    );
    assert!(old.is_released());
    let reports = store.slot_reports();
    assert_eq!(reports[0].state, SlotState::Released);
    assert_eq!(reports[0].disk, Some(old_id.clone()));
    assert_eq!(store.disks().len(), 1);
    let chunk = trireme_api::ids::ChunkId::from_u128(7);
    match store.get(&old_id, &chunk, None, None, None).await {
        Err(StoreError::DiskUnavailable(m)) => assert!(m.contains("removed"), "{m}"),
        other => panic!("expected DiskUnavailable, got {other:?}"),
    }
    // The lock goes with the last reference.
    drop(old);
    drop(Disk::open_existing(&paths[0], "c1", 2).expect("no lock left"));

    // Still there: released, and not formattable.
    store.inspect_slots(&[], true);
    assert_eq!(states(&store)[0], SlotState::Released);
    let path = paths[0].display().to_string();
    assert!(matches!(
        store.format_slot(&path, &[]).await,
        Err(StoreError::InvalidArgument(_))
    ));

    // Pulled and replaced by a blank disk: two formats at once, one wins.
    fs::remove_dir_all(&paths[0]).expect("pull");
    fs::create_dir(&paths[0]).expect("blank");
    store.inspect_slots(&[], true);
    assert_eq!(states(&store)[0], SlotState::Blank);
    let (a, b) = tokio::join!(store.format_slot(&path, &[]), store.format_slot(&path, &[]));
    let won: Vec<_> = [a, b].into_iter().filter_map(Result::ok).collect();
    assert_eq!(won.len(), 1, "exactly one format wins");
    let new_id = won[0].disk.clone();
    assert_ne!(new_id, old_id);
    assert_eq!(won[0].report.disk_id, new_id);
    assert_eq!(states(&store), vec![SlotState::InService; 2]);
    assert_eq!(store.disks()[0].id, new_id);
    assert!(matches!(
        store.format_slot(&path, &[]).await,
        Err(StoreError::InvalidArgument(_))
    ));
    assert!(matches!(
        store.format_slot("/no/such/slot", &[]).await,
        Err(StoreError::InvalidArgument(m)) if m == "no disk slot at /no/such/slot"
    ));
}

#[tokio::test]
async fn a_disk_of_ours_found_later_is_taken_into_service() {
    let root = tempfile::tempdir().expect("tempdir");
    let path = root.path().join("d0");
    fs::create_dir(&path).expect("mkdir");
    fs::write(path.join("stray"), b"x").expect("write");
    let store = open(std::slice::from_ref(&path), false).await;
    assert_eq!(states(&store), vec![SlotState::NotEmpty]);

    // Our own disk put in the slot is opened, unless the removed list is unknown.
    fs::remove_dir_all(&path).expect("rm");
    drop(Disk::open(&path, "c1", 2).expect("format elsewhere"));
    store.inspect_slots(&[], false);
    assert_eq!(states(&store), vec![SlotState::NoDisk]);
    store.inspect_slots(&[], true);
    assert_eq!(states(&store), vec![SlotState::InService]);
    assert!(!store.disks()[0].is_offline());
}
