//! `trireme object explain`, `chunkserver show`, `disk show` and the health part of
//! `cluster status` against one fake meta-server process (tests/fake) with canned answers:
//! tables, `--json` and exit codes.

mod fake;

use fake::cluster::{failure, one_line_error, FakeCluster};

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
fn object_explain_table_json_and_exit_codes() {
    let c = FakeCluster::start();
    let text = c.text(&["object", "explain", "s3://demo/cat.jpg"]);
    assert!(
        text.starts_with("object         s3://demo/cat.jpg\n"),
        "{text}"
    );
    assert!(
        text.contains("size           512.0 KiB (524288 bytes)\n"),
        "{text}"
    );
    assert!(
        text.contains("chunk 1  000000000000000000000000000000c1  offset 262144, 256.0 KiB\n"),
        "{text}"
    );
    assert!(
        text.contains("  replicas 3/3 healthy; 1 reference\n"),
        "{text}"
    );
    assert!(
        text.contains("  CHUNKSERVER  ADDR            STATE  LIVE   DISK    PATH"),
        "{text}"
    );
    assert_eq!(last_line(&text), "3/3 healthy replicas for every chunk");
    // Without the scheme too, and --check passes.
    let out = c.run(&["object", "explain", "demo/cat.jpg", "--check"]);
    assert_eq!(out.status.code(), Some(0));

    let json = c.json(&["object", "explain", "s3://demo/risky", "--json"]);
    assert_eq!(json["summary"]["under_replicated"], 1);
    assert_eq!(json["chunks"][0]["healthy"], 2);
    assert_eq!(
        json["chunks"][0]["replicas"][1]["chunkserver_state"],
        "dead"
    );
    assert_eq!(json["chunks"][0]["replicas"][1]["healthy"], false);
    let text = c.text(&["object", "explain", "s3://demo/risky"]);
    assert!(
        text.contains("  replicas 2/3 healthy; 1 reference\n"),
        "{text}"
    );
    assert!(
        last_line(&text).starts_with("at risk: 1 chunk of 1 below the wanted healthy replicas: "),
        "{text}"
    );
    // --check: an under-replicated chunk is exit 1, explained on stdout.
    let out = c.run(&["object", "explain", "s3://demo/risky", "--check"]);
    let (code, err) = failure(&out);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        err,
        "trireme: s3://demo/risky: 1 chunk has fewer healthy replicas than wanted"
    );
    assert!(!out.stdout.is_empty());

    // A missing key fails (1), or cannot be checked (2); a bad argument is usage (2).
    one_line_error(
        &c.run(&["object", "explain", "s3://demo/nope"]),
        1,
        "NoSuchKey",
    );
    one_line_error(
        &c.run(&["object", "explain", "s3://demo/nope", "--check"]),
        2,
        "NoSuchKey",
    );
    one_line_error(
        &c.run(&["object", "explain", "s3://other/x"]),
        1,
        "NoSuchBucket",
    );
    one_line_error(
        &c.run(&["object", "explain", "s3://demo"]),
        2,
        "expected s3://BUCKET/KEY",
    );
}

#[test]
fn chunkserver_and_disk_show() {
    let c = FakeCluster::start();
    let text = c.text(&["chunkserver", "show", "1"]);
    assert!(
        text.starts_with("chunkserver  1 (127.0.0.1:7001)\n"),
        "{text}"
    );
    assert!(
        text.contains("state        up (Raft), alive: last heartbeat 300ms ago\n"),
        "{text}"
    );
    assert!(text.contains("INDEX  DISK    PATH"), "{text}");
    assert!(text.contains("if chunkserver 1 failed now:\n"), "{text}");
    assert!(
        last_line(&text).starts_with(
            "no data would be lost; 0 chunks would be left with 1 healthy replica and 8 with 2"
        ),
        "{text}"
    );
    let json = c.json(&["chunkserver", "show", "1", "--json"]);
    assert_eq!(json["chunkserver"]["id"], 1);
    assert_eq!(json["disks"][1]["report"]["disk_id"], "cs1-d1");
    assert_eq!(json["risk"]["if_failed"]["two"], 8);
    one_line_error(&c.run(&["chunkserver", "show", "9"]), 1, "no chunkserver 9");
    assert_eq!(c.run(&["chunkserver", "show", "x"]).status.code(), Some(2));

    for sel in ["cs1-d0", "1/0", "/data/cs1/disk-0"] {
        let text = c.text(&["disk", "show", sel]);
        assert!(
            text.starts_with("disk         cs1-d0 (chunkserver 1, index 0)\n"),
            "{sel}: {text}"
        );
        assert!(
            text.contains("reads        p50 200us, p99 900us\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "DATA WOULD BE LOST: 2 chunks have their only healthy replica on disk cs1-d0\n"
            ),
            "{text}"
        );
        assert!(text.contains("demo    a.bin"), "{text}");
    }
    let text = c.text(&["disk", "show", "cs1-d0", "--limit", "1"]);
    assert!(!text.contains("b.bin"), "{text}");
    assert_eq!(
        last_line(&text),
        "more objects would lose data: only the first 1 are listed (--limit)"
    );
    let json = c.json(&["disk", "show", "1/0", "--json", "--limit", "1"]);
    assert_eq!(json["risk"]["would_lose_chunks"], 2);
    assert_eq!(json["risk"]["objects"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["risk"]["objects_truncated"], true);
    assert_eq!(json["disk"]["indexed_chunks"], 4);
    one_line_error(&c.run(&["disk", "show", "zz"]), 1, "no such disk");
    assert_eq!(
        c.run(&["disk", "show", "cs1-d0", "--limit", "10001"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn cluster_status_warnings_and_check() {
    let c = FakeCluster::start();
    let text = c.text(&["cluster", "status"]);
    assert!(
        text.contains(
            "durability    40 chunks (3+ healthy replicas: 30, 2: 6, 1: 3, none: 1), swept "
        ),
        "{text}"
    );
    assert!(
        text.contains("\n              repair not complete: "),
        "{text}"
    );
    assert!(
        text.contains(
            "\nrepair        2 copies in flight, 8 chunks queued, 8.0 MiB/s, about 5 seconds left;"
        ),
        "{text}"
    );
    assert!(
        text.contains("\nscrub         running, pass 0: 412/1000 chunks verified"),
        "{text}"
    );
    assert!(text.contains("\nwarnings ("), "{text}");
    assert!(
        text.contains("  - 1 chunk has no healthy replica: run `trireme repair lost`\n"),
        "{text}"
    );
    assert!(
        text.contains("  - 9 chunks are under-replicated (6 with 2 healthy replicas, 3 with only 1; 40.0 MiB): repair in progress, about 5 seconds left at 8.0 MiB/s\n"),
        "{text}"
    );
    assert!(
        text.contains("  - no chunkserver has registered: nothing can be stored\n"),
        "{text}"
    );

    let json = c.json(&["cluster", "status", "--json"]);
    let kinds: Vec<&str> = json["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["kind"].as_str())
        .collect();
    for k in ["lost", "no_chunkservers", "under_replicated"] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    assert_eq!(json["durability"]["chunks"]["zero"], 1);
    assert_eq!(json["durability"]["repair"]["queued"], 8);
    assert_eq!(json["scrub"]["running"], true);

    // --check: warnings are exit 1 (the status is printed all the same).
    let out = c.run(&["cluster", "status", "--check"]);
    let (code, err) = failure(&out);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.starts_with("trireme: the cluster has ") && err.ends_with(" warnings: listed above"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("warnings ("));
    let out = c.run(&["cluster", "status", "--check", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).ends_with("listed in the JSON above\n"));

    // Lost objects are counted once the leader lists them.
    c.json(&["bucket", "create", "lost-a", "--json"]);
    let text = c.text(&["cluster", "status"]);
    assert!(
        text.contains("  - 1 object has lost data (1 chunk without a healthy replica): run `trireme repair lost`\n"),
        "{text}"
    );

    // A part that cannot be fetched: exit 1, or 2 with --check.
    c.json(&["bucket", "create", "broken", "--json"]);
    let out = c.run(&["cluster", "status"]);
    one_line_error(
        &out,
        1,
        "incomplete status: repair status: Internal: the ledger is broken",
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("durability    unknown (repair status not fetched)\n"),
        "{text}"
    );
    assert!(
        text.contains("not fetched: repair status: Internal: the ledger is broken\n"),
        "{text}"
    );
    one_line_error(
        &c.run(&["cluster", "status", "--check"]),
        2,
        "incomplete status",
    );
}
