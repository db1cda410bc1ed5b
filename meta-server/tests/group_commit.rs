//! Group commit entries in the state machine: each command of a batch sees the ones before
//! it and gets its own result, and a batch cut short by a crash resumes where it stopped.

mod sm;

use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, EntryPayload};
use trireme_api::ErrorCode;
use trireme_meta::store::keys::{CF_SM_META, KEY_BATCH_PROGRESS};
use trireme_meta::store::sm::StateMachineStore;
use trireme_meta::store::{cf, open_db};
use trireme_meta::types::{Command, CommandResult, Entry, LogId};

fn put(bucket: &str, key: &str, etag: &str) -> Command {
    Command::PutObject {
        bucket: bucket.into(),
        key: key.into(),
        object: sm::record(1, etag, vec![]),
        condition: None,
    }
}

fn entry(index: u64, commands: Vec<Command>) -> (LogId, Entry) {
    let log_id = LogId::new(CommittedLeaderId::new(1, 1), index);
    (
        log_id,
        Entry {
            log_id,
            payload: EntryPayload::Normal(Command::Batch { commands }),
        },
    )
}

fn code(r: &CommandResult) -> Option<ErrorCode> {
    match r {
        CommandResult::Refused(e) => Some(e.code),
        _ => None,
    }
}

#[tokio::test]
async fn each_command_sees_the_ones_before_it() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let db = open_db(dir.path()).expect("db");
    let mut store = StateMachineStore::new(db).expect("store");
    let reader = store.reader();
    let (log_id, e) = entry(
        3,
        vec![
            Command::CreateBucket {
                name: "b".into(),
                owner: "o".into(),
                created_ms: 0,
            },
            put("b", "k", "first"),
            put("b", "k", "second"),
            Command::DeleteBucket { name: "b".into() },
            put("nope", "k", "x"),
            Command::Batch { commands: vec![] },
        ],
    );
    let out = store.apply(vec![e]).await.expect("apply");
    let [CommandResult::Batch(results)] = &out[..] else {
        panic!("one batch result expected, got {out:?}");
    };
    assert_eq!(results.len(), 6);
    assert!(
        matches!(results[0], CommandResult::Bucket(_)),
        "{:?}",
        results[0]
    );
    assert_eq!(code(&results[1]), None);
    assert_eq!(code(&results[2]), None);
    assert_eq!(code(&results[3]), Some(ErrorCode::BucketNotEmpty));
    assert_eq!(code(&results[4]), Some(ErrorCode::NoSuchBucket));
    assert_eq!(code(&results[5]), Some(ErrorCode::InvalidArgument));
    let got = reader.get_object("b", "k").expect("read").expect("object");
    assert_eq!(got.etag, "second");
    let (applied, _) = store.applied_state().await.expect("applied");
    assert_eq!(applied, Some(log_id));
}

#[tokio::test]
async fn a_batch_cut_short_resumes_after_what_was_applied() {
    let dir = tempfile::TempDir::new().expect("tmp");
    let db = open_db(dir.path()).expect("db");
    let mut store = StateMachineStore::new(db.clone()).expect("store");
    let reader = store.reader();
    let (_, first) = entry(
        1,
        vec![Command::CreateBucket {
            name: "b".into(),
            owner: "o".into(),
            created_ms: 0,
        }],
    );
    store.apply(vec![first]).await.expect("bucket");
    // The entry at index 2 had its first two commands applied before a crash. Applying the
    // bucket creation again would be refused (the bucket exists): it must be skipped.
    let (log_id, e) = entry(
        2,
        vec![
            Command::CreateBucket {
                name: "b2".into(),
                owner: "o".into(),
                created_ms: 0,
            },
            put("b", "gone", "g"),
            Command::DeleteObject {
                bucket: "b".into(),
                key: "gone".into(),
            },
            put("b", "c", "c1"),
        ],
    );
    sm::apply(
        &reader,
        Command::CreateBucket {
            name: "b2".into(),
            owner: "o".into(),
            created_ms: 0,
        },
    );
    sm::apply(&reader, put("b", "gone", "g"));
    let meta = cf(&db, CF_SM_META).expect("cf");
    db.put_cf(
        meta,
        KEY_BATCH_PROGRESS,
        serde_json::to_vec(&(log_id, 2usize)).expect("json"),
    )
    .expect("progress");
    let out = store.apply(vec![e]).await.expect("apply");
    let [CommandResult::Batch(results)] = &out[..] else {
        panic!("one batch result expected, got {out:?}");
    };
    assert_eq!(results.len(), 4);
    assert_eq!(
        results[0],
        CommandResult::Done,
        "the applied creation was skipped"
    );
    assert_eq!(code(&results[2]), None);
    assert!(reader.get_object("b", "gone").expect("read").is_none());
    assert_eq!(
        reader.get_object("b", "c").expect("read").expect("c").etag,
        "c1"
    );
    let (applied, _) = store.applied_state().await.expect("applied");
    assert_eq!(applied, Some(log_id));
}
