//! The history model, its JSON-lines form, the loader's refusals and the recorder.

mod common;

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use common::{hash, put_kind, read_of, H};
use trireme_torture::jsonl::{self, LoadError};
use trireme_torture::{History, HistoryError, OpKind, Outcome, RecordError, Recorder};

fn sample() -> H {
    let mut h = H::new();
    h.put(0, "k", 1, 0, 10);
    h.multipart(1, "k", 2, 5, 30);
    h.get(2, "k", Some(1), 12, 20);
    h.get(2, "k", None, 21, 25);
    h.delete(3, "k", 26, 40);
    h.put_unknown(0, "k", 3, 41, Some(90));
    h.put_fail(1, "k", 4, 42, 43);
    h.list(2, "", &["k"], 44, 50);
    h
}

fn load_str(text: &str) -> Result<History, LoadError> {
    jsonl::load(text.as_bytes())
}

#[test]
fn json_lines_round_trip() {
    let history = sample().history();
    let mut out = Vec::new();
    jsonl::write(&history, &mut out).expect("write to a Vec");
    let text = String::from_utf8(out).expect("utf-8");
    assert_eq!(text.lines().count(), 16);
    let loaded = load_str(&text).expect("load");
    assert_eq!(loaded.ops(), history.ops());
}

#[test]
fn documented_records_load() {
    let h = hash(7);
    let text = format!(
        r#"{{"type":"invoke","id":3,"process":1,"time":1200,"op":{{"kind":"put","key":"k1","value":7,"hash":"{h}","size":1024}}}}
{{"type":"invoke","id":4,"process":2,"time":1300,"op":{{"kind":"get","key":"k1"}}}}

{{"type":"complete","id":3,"time":5400,"outcome":{{"status":"ok","result":{{"kind":"written"}}}}}}
{{"type":"complete","id":4,"time":5600,"outcome":{{"status":"ok","result":{{"kind":"read","value":{{"value":7,"hash":"{h}","size":1024}}}}}}}}
{{"type":"invoke","id":5,"process":2,"time":6000,"op":{{"kind":"list","prefix":"k"}}}}
{{"type":"mark","time":9500,"label":"partition healed"}}
"#
    );
    let history = load_str(&text).expect("load");
    assert_eq!(history.len(), 3);
    let get = history.op(4).expect("op 4");
    assert_eq!(get.read().flatten().map(|r| r.value), Some(7));
    let list = history.op(5).expect("op 5");
    assert!(list.is_unknown() && list.completed_at.is_none());
    assert_eq!(history.marks()[0].label, "partition healed");
}

#[test]
fn malformed_line_is_refused_with_its_number() {
    let good = r#"{"type":"invoke","id":1,"process":0,"time":5,"op":{"kind":"get","key":"k"}}"#;
    let text = format!("{good}\n\n{{\"type\":\"complete\",\"id\":1,\n");
    let err = load_str(&text).expect_err("malformed");
    assert!(matches!(err, LoadError::Json { line: 3, .. }), "{err}");
    assert!(err.to_string().contains("line 3"), "{err}");

    let unknown_type = r#"{"type":"teleport","id":1}"#;
    let err = load_str(unknown_type).expect_err("unknown record type");
    assert!(matches!(err, LoadError::Json { line: 1, .. }), "{err}");
}

#[test]
fn inconsistent_events_are_refused_with_their_line() {
    let put = |id: u64, value: u64| {
        jsonl::Record::Invoke {
            id,
            process: 0,
            time: 10,
            op: put_kind("k", value),
        }
        .to_line()
    };
    let done = |id: u64, time: u64, outcome: Outcome| {
        jsonl::Record::Complete { id, time, outcome }.to_line()
    };
    let cases: Vec<(Vec<String>, usize, HistoryError)> = vec![
        (
            vec![put(1, 1), put(1, 2)],
            2,
            HistoryError::DuplicateOp { id: 1 },
        ),
        (
            vec![put(1, 1), put(2, 1)],
            2,
            HistoryError::DuplicateValue {
                id: 2,
                value: 1,
                first: 1,
            },
        ),
        (
            vec![put(1, 1), done(9, 20, Outcome::written())],
            2,
            HistoryError::NotInvoked { id: 9 },
        ),
        (
            vec![
                put(1, 1),
                done(1, 20, Outcome::written()),
                done(1, 30, Outcome::written()),
            ],
            3,
            HistoryError::CompletedTwice { id: 1 },
        ),
        (
            vec![put(1, 1), done(1, 5, Outcome::written())],
            2,
            HistoryError::CompletedBeforeInvoked {
                id: 1,
                invoked: 10,
                completed: 5,
            },
        ),
        (
            vec![put(1, 1), done(1, 20, Outcome::listed(vec![]))],
            2,
            HistoryError::ResultMismatch {
                id: 1,
                kind: "put",
                result: "listed",
            },
        ),
    ];
    for (lines, line, expected) in cases {
        let err = load_str(&lines.join("\n")).expect_err("inconsistent");
        match err {
            LoadError::Invalid { line: got, source } => {
                assert_eq!((got, source), (line, expected));
            }
            other => panic!("unexpected {other}"),
        }
    }
    let bad_hash = r#"{"type":"invoke","id":1,"process":0,"time":5,"op":{"kind":"put","key":"k","value":1,"hash":"xyz","size":1}}"#;
    assert!(matches!(
        load_str(bad_hash),
        Err(LoadError::Invalid {
            line: 1,
            source: HistoryError::BadHash { .. }
        })
    ));
}

#[test]
fn from_ops_refuses_ok_without_completion() {
    let mut h = H::new();
    h.op(
        0,
        OpKind::Delete { key: "k".into() },
        0,
        None,
        Outcome::written(),
    );
    assert_eq!(
        History::from_ops(h.into_ops()).err(),
        Some(HistoryError::MissingCompletion { id: 0 })
    );
}

#[test]
fn history_indexes() {
    let history = sample().history();
    assert_eq!(history.keys().collect::<Vec<_>>(), ["k"]);
    assert_eq!(history.ops_of_key("k").count(), 7);
    assert_eq!(history.put_of(2).map(|op| op.id), Some(1));
    assert!(history.put_of(99).is_none());
    assert_eq!(history.keys_with_prefix("").collect::<Vec<_>>(), ["k"]);
    assert_eq!(history.keys_with_prefix("l").count(), 0);
}

/// A writer sharing its bytes with the test.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn recorder_is_thread_safe_and_streams() {
    let shared = Shared::default();
    let recorder = Recorder::streaming(shared.clone());
    recorder.mark("start").expect("mark");
    let workers: Vec<_> = (0..8u64)
        .map(|process| {
            let recorder = recorder.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let value = recorder.next_value();
                    let put = recorder
                        .invoke(process, put_kind("k", value))
                        .expect("invoke");
                    recorder
                        .complete(put, Outcome::written())
                        .expect("complete");
                    let get = recorder
                        .invoke(
                            process,
                            OpKind::Get {
                                key: format!("k{i}"),
                            },
                        )
                        .expect("invoke");
                    recorder
                        .complete(get, Outcome::read(None))
                        .expect("complete");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker");
    }
    let hanging = recorder
        .invoke(99, OpKind::Delete { key: "k".into() })
        .expect("invoke");
    assert_eq!(hanging.id(), 800);
    let history = recorder.finish().expect("finish");
    assert_eq!(history.len(), 801);
    assert!(history.op(800).is_some_and(|op| op.is_unknown()));
    let streamed = String::from_utf8(shared.0.lock().expect("lock").clone()).expect("utf-8");
    let loaded = load_str(&streamed).expect("streamed history loads");
    assert_eq!(loaded.ops(), history.ops());
    assert_eq!(loaded.marks(), history.marks());
}

#[test]
fn recorder_refuses_a_mismatched_outcome_without_streaming_it() {
    let shared = Shared::default();
    let recorder = Recorder::streaming(shared.clone());
    let get = recorder
        .invoke(0, OpKind::Get { key: "k".into() })
        .expect("invoke");
    let err = recorder
        .complete(get, Outcome::written())
        .expect_err("mismatch");
    assert!(matches!(
        err,
        RecordError::History(HistoryError::ResultMismatch { .. })
    ));
    let streamed = String::from_utf8(shared.0.lock().expect("lock").clone()).expect("utf-8");
    assert_eq!(streamed.lines().count(), 1);
}

#[test]
fn recorder_streams_to_a_file() {
    let path = std::env::temp_dir().join(format!("trireme-torture-{}.jsonl", std::process::id()));
    let recorder = Recorder::create_file(&path).expect("create");
    let value = recorder.next_value();
    let put = recorder.invoke(0, put_kind("k", value)).expect("invoke");
    recorder
        .complete(put, Outcome::written())
        .expect("complete");
    let get = recorder
        .invoke(1, OpKind::Get { key: "k".into() })
        .expect("invoke");
    recorder
        .complete(get, Outcome::read(Some(read_of(value))))
        .expect("complete");
    let loaded = jsonl::load_file(&path).expect("load");
    std::fs::remove_file(&path).expect("remove");
    assert_eq!(loaded.ops(), recorder.snapshot().ops());
    assert!(loaded.ops()[0].invoked_at <= loaded.ops()[0].completed_or_max());
    let missing = jsonl::load_file(&path).expect_err("gone");
    assert!(matches!(missing, LoadError::Open { .. }));
}
