//! `trireme repair status|lost`, `worker list|set` and `scrub start|pause|resume|status`
//! against one fake meta-server process (tests/fake) with canned durability answers: the
//! tables, `--json` and the exit codes.

mod fake;

use fake::cluster::{failure, one_line_error, FakeCluster};
use fake::durability::FAILING_LIMIT;

/// Not a test: the body of the fake server processes (see `fake::write_wrappers`).
#[test]
#[ignore = "runs only as a fake server process started by the other tests"]
fn fake_server() {
    fake::main_if_asked();
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or_default()
}

#[test]
fn repair_status_table_json_and_watch() {
    let c = FakeCluster::start();
    let text = c.text(&["repair", "status"]);
    assert!(text.starts_with("ledger "), "{text}");
    assert!(
        text.contains("chunks            40 (3+ healthy replicas: 30, 2: 6, 1: 3, none: 1)"),
        "{text}"
    );
    assert!(
        text.contains("under-replicated  10 chunks, 40.0 MiB"),
        "{text}"
    );
    assert!(text.contains("CHUNKSERVER  CHUNKS  3+"), "{text}");
    assert!(
        text.contains("AT RISK: 1 COPY  AT RISK: 2 COPIES"),
        "{text}"
    );
    assert!(text.contains("cs1-d0"), "{text}");
    assert!(text.contains("rate       8.0 MiB/s"), "{text}");
    assert!(text.contains("eta        about 5 seconds"), "{text}");
    assert!(
        last_line(&text).starts_with("repair not complete: 10 chunks (40.0 MiB) still under-replicated; 1 chunk with no healthy replica"),
        "{text}"
    );

    let json = c.json(&["repair", "status", "--json"]);
    assert_eq!(json["complete"], false);
    assert_eq!(json["ledger"]["total"]["three"], 30);
    assert_eq!(json["ledger"]["total"]["under_replicated"], 10);
    assert_eq!(json["ledger"]["by_disk"][0]["disk"], "cs1-d0");
    assert_eq!(json["repair"]["queued"], 8);

    // Once repaired: the last line says so, and --watch returns at once.
    c.json(&["bucket", "create", "repaired", "--json"]);
    let text = c.text(&["repair", "status"]);
    let last = last_line(&text);
    assert!(
        last.starts_with(
            "repair complete: every chunk has 3 healthy replicas (verified by the sweep at "
        ) && last.ends_with(" UTC)"),
        "{text}"
    );
    let watched = c.text(&["repair", "status", "--watch", "1"]);
    assert!(
        watched.contains("every 1s until repair is complete"),
        "{watched}"
    );
    assert!(
        last_line(&watched).starts_with("repair complete"),
        "{watched}"
    );
    let watched = c.text(&["repair", "status", "--watch", "--json"]);
    assert_eq!(watched.lines().count(), 1, "{watched}");
    let doc: serde_json::Value = serde_json::from_str(watched.trim()).expect("json line");
    assert_eq!(doc["complete"], true);
}

#[test]
fn repair_lost_lists_objects_with_exit_codes() {
    let c = FakeCluster::start();
    // Nothing lost: exit 0.
    let text = c.text(&["repair", "lost"]);
    assert_eq!(
        text,
        "no lost objects: every object's chunks have a healthy replica\n"
    );
    let json = c.json(&["repair", "lost", "--json"]);
    assert_eq!(json["objects"].as_array().map(Vec::len), Some(0));

    // Two lost objects: listed, exit 1, one line on stderr.
    c.json(&["bucket", "create", "lost-a", "--json"]);
    c.json(&["bucket", "create", "lost-gone", "--json"]);
    let out = c.run(&["repair", "lost"]);
    let (code, err) = failure(&out);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err, "trireme: 2 objects have lost data: listed above");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.starts_with("BUCKET     KEY"), "{text}");
    let a = text
        .lines()
        .find(|l| l.starts_with("lost-a "))
        .expect("lost-a row");
    assert!(
        a.contains("photos/cat.jpg  5.0 MiB") && a.ends_with("yes"),
        "{text}"
    );
    let gone = text
        .lines()
        .find(|l| l.starts_with("lost-gone "))
        .expect("lost-gone row");
    assert!(gone.ends_with("no"), "{text}");
    assert!(text.contains("2 objects lost (2 chunks without a healthy replica); 1 recoverable"));

    let out = c.run(&["repair", "lost", "--json", "--limit", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["objects"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["objects"][0]["bucket"], "lost-a");
    assert_eq!(json["objects"][0]["recoverable"], true);
    assert_eq!(json["truncated"], true);
    assert_eq!(json["lost_chunks"], 2);
    let text =
        String::from_utf8_lossy(&c.run(&["repair", "lost", "--limit", "1"]).stdout).into_owned();
    assert!(text.contains("more lost objects than --limit 1"), "{text}");

    // The list could not be made: exit 2, not 1.
    let limit = FAILING_LIMIT.to_string();
    let out = c.run(&["repair", "lost", "--limit", &limit]);
    one_line_error(
        &out,
        2,
        "list lost objects: Internal: the ledger sweep failed",
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        c.run(&["repair", "lost", "--limit", "0"]).status.code(),
        Some(2)
    );
}

#[test]
fn worker_list_and_set() {
    let c = FakeCluster::start();
    let text = c.text(&["worker", "list"]);
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("NODE") && h.contains("LAST ERROR")),
        "{text}"
    );
    assert!(text.contains("chunkserver-1  scrub   throttled"), "{text}");
    assert!(
        text.contains("copy to chunkserver 3 failed: timeout"),
        "{text}"
    );
    assert!(text.contains("SETTING"), "{text}");
    assert!(
        text.contains("chunk copies in flight at once (0 pauses repair)"),
        "{text}"
    );
    let json = c.json(&["worker", "list", "--json"]);
    assert_eq!(json["workers"][0]["name"], "repair");
    assert_eq!(json["workers"][0]["state"], "busy");
    assert_eq!(json["settings"]["repair.concurrency"], "4");

    let text = c.text(&["worker", "set", "repair.concurrency", "8"]);
    assert!(
        text.starts_with("repair.concurrency = 8\n\nSETTING"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("repair.concurrency ") && !l.contains(" = "))
        .expect("row");
    assert_eq!(
        row.split_whitespace().take(3).collect::<Vec<_>>(),
        ["repair.concurrency", "8", "4"]
    );
    let json = c.json(&["worker", "set", "scrub.bandwidth_mib", "064", "--json"]);
    assert_eq!(json["settings"]["scrub.bandwidth_mib"], "64");
    assert_eq!(json["settings"]["repair.concurrency"], "8");
    let json = c.json(&["worker", "list", "--json"]);
    assert_eq!(json["settings"]["scrub.bandwidth_mib"], "64");

    one_line_error(
        &c.run(&["worker", "set", "repair.speed", "8"]),
        2,
        "unknown setting \"repair.speed\"",
    );
    one_line_error(
        &c.run(&["worker", "set", "repair.concurrency", "many"]),
        2,
        "must be an unsigned integer",
    );
    one_line_error(
        &c.run(&["worker", "set", "repair.concurrency", "-1"]),
        2,
        "must be an unsigned integer, not \"-1\"",
    );
    let json = c.json(&["worker", "list", "--json"]);
    assert_eq!(json["settings"]["repair.concurrency"], "8");
}

#[test]
fn scrub_control_and_status() {
    let c = FakeCluster::start();
    let text = c.text(&["scrub", "status"]);
    assert!(
        text.starts_with("scrub  running, pass 0 asked for\n"),
        "{text}"
    );
    assert!(
        text.contains("CHUNKSERVER  ALIVE  STATE      PASS  DONE    CHUNKS"),
        "{text}"
    );
    assert!(text.contains("41%  412/1000  1.0 GiB          2"), "{text}");
    assert!(text.contains("2  no     no report"), "{text}");

    let text = c.text(&["scrub", "start"]);
    assert!(
        text.starts_with("scrub started: every chunkserver starts pass 1 with its next heartbeat"),
        "{text}"
    );
    let json = c.json(&["scrub", "start", "--json"]);
    assert_eq!(json["control"]["epoch"], 2);
    assert_eq!(json["control"]["running"], true);

    let text = c.text(&["scrub", "pause"]);
    assert!(text.starts_with("scrub paused"), "{text}");
    assert!(text.contains("scrub  paused, pass 2 asked for"), "{text}");
    let json = c.json(&["scrub", "status", "--json"]);
    assert_eq!(json["control"]["running"], false);
    assert_eq!(json["chunkservers"][0]["progress"]["state"], "paused");
    assert_eq!(json["chunkservers"][1]["alive"], false);

    let text = c.text(&["scrub", "resume"]);
    assert!(text.starts_with("scrub resumed\n"), "{text}");
    assert_eq!(
        c.json(&["scrub", "status", "--json"])["control"]["running"],
        true
    );
}
