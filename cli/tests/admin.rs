//! Operator credentials, the audit log and confirmations, against one fake meta-server
//! process (tests/fake) with a hand-written cluster.json holding an admin and a reader token.

mod fake;

use fake::cluster::{failure, one_line_error, FakeCluster, ADMIN_TOKEN, READER_TOKEN, TRIREME};
use serde_json::Value;
use std::process::{Command, Stdio};

/// Not a test: the body of the fake server processes (see `fake::write_wrappers`).
#[test]
#[ignore = "runs only as a fake server process started by the other tests"]
fn fake_server() {
    fake::main_if_asked();
}

fn bucket_names(c: &FakeCluster) -> Vec<String> {
    c.json(&["bucket", "list", "--json"])["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_reader_token_reads_but_is_denied_admin_commands() {
    let c = FakeCluster::start();
    c.json(&["bucket", "create", "photos", "--json"]);
    let reader = ["--token", READER_TOKEN];
    let listed = c.run(&["bucket", "list", "--json", reader[0], reader[1]]);
    assert!(listed.status.success(), "{:?}", failure(&listed));
    let keys = c.run_with_env(&["key", "list"], "", &[("TRIREME_TOKEN", READER_TOKEN)]);
    assert!(keys.status.success(), "{:?}", failure(&keys));

    let denied = c.run(&["bucket", "delete", "photos", "--yes", reader[0], reader[1]]);
    one_line_error(
        &denied,
        2,
        "delete bucket photos: permission denied: needs an admin token",
    );
    let denied = c.run_with_env(
        &["bucket", "create", "more"],
        "",
        &[("TRIREME_TOKEN", READER_TOKEN)],
    );
    one_line_error(&denied, 2, "permission denied: needs an admin token");
    for args in [
        &["token", "list"][..],
        &["token", "create", "--role", "admin", "--name", "x"],
        &["worker", "set", "repair.concurrency", "2"],
    ] {
        let mut argv = args.to_vec();
        argv.extend(reader);
        one_line_error(&c.run(&argv), 2, "permission denied: needs an admin token");
    }
    assert_eq!(bucket_names(&c), ["photos"]);

    // --token wins over $TRIREME_TOKEN, which wins over the cluster file.
    let flag_wins = c.run_with_env(
        &["bucket", "create", "third", "--token", ADMIN_TOKEN],
        "",
        &[("TRIREME_TOKEN", READER_TOKEN)],
    );
    assert!(flag_wins.status.success(), "{:?}", failure(&flag_wins));
    // An unknown token: the cluster refuses our credentials (exit 2).
    let stranger = c.run(&["bucket", "list", "--token", "trt_nobody"]);
    one_line_error(&stranger, 2, "refused our credentials");
}

#[test]
fn tokens_create_list_revoke() {
    let c = FakeCluster::start();
    let created = c.json(&[
        "token", "create", "--role", "reader", "--name", "ci", "--json",
    ]);
    let token = created["token"].as_str().expect("token").to_string();
    assert_eq!(created["info"]["role"], "reader");
    let text = c.text(&["token", "create", "--role", "admin", "--name", "alice"]);
    assert!(text.starts_with("token:  trt_"), "{text}");
    assert!(text.contains("shown only now"), "{text}");
    let table = c.text(&["token", "list"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("ci ") && l.contains(" reader ")),
        "{table}"
    );
    assert!(!table.contains(&token), "the list shows no token: {table}");
    let dup = c.run(&["token", "create", "--role", "reader", "--name", "ci"]);
    one_line_error(&dup, 1, "exists");

    // The new token works; revoking asks first and refuses without a terminal.
    let works = c.run(&["bucket", "list", "--token", &token]);
    assert!(works.status.success(), "{:?}", failure(&works));
    let refused = c.run_with_input(&["token", "revoke", "ci"], "y\n");
    let (_, err) = failure(&refused);
    assert!(
        err.starts_with("Will revoke operator token \"ci\""),
        "{err}"
    );
    one_line_error(
        &refused,
        2,
        "revoke token ci: refused: standard input is not a terminal to confirm on; pass --yes",
    );
    let revoked = c.json(&["token", "revoke", "ci", "--yes", "--json"]);
    assert_eq!(revoked["name"], "ci");
    one_line_error(
        &c.run(&["bucket", "list", "--token", &token]),
        2,
        "unknown or revoked operator token",
    );
    one_line_error(
        &c.run(&["token", "revoke", "ci", "--yes"]),
        1,
        "no token named",
    );
}

#[test]
fn audit_lists_admin_actions_with_reasons_newest_first() {
    let c = FakeCluster::start();
    c.json(&[
        "bucket",
        "create",
        "photos",
        "--reason",
        "ticket 7: new project",
        "--json",
    ]);
    c.json(&[
        "worker",
        "set",
        "repair.concurrency",
        "4",
        "--reason",
        "speed up repair",
        "--json",
    ]);
    c.json(&["bucket", "create", "full-x", "--json"]);
    let gone = c.run(&["bucket", "delete", "full-x", "--yes", "--reason", "cleanup"]);
    assert_eq!(gone.status.code(), Some(1), "{:?}", failure(&gone));
    // Reads are not admin actions.
    c.json(&["bucket", "list", "--json"]);

    let audit = c.json(&["audit", "--json", "--token", READER_TOKEN]);
    let entries = audit["entries"].as_array().expect("entries");
    let actions: Vec<(&str, &str, bool)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default(),
                e["reason"].as_str().unwrap_or("-"),
                e["ok"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("delete_bucket", "cleanup", false),
            ("create_bucket", "-", true),
            ("set_worker_setting", "speed up repair", true),
            ("create_bucket", "ticket 7: new project", true),
        ],
        "{audit}"
    );
    assert!(entries.iter().all(|e| e["who"] == "admin"), "{audit}");
    assert_eq!(entries[3]["args"]["name"], "photos");
    assert!(
        entries[0]["result"]
            .as_str()
            .unwrap_or_default()
            .contains("BucketNotEmpty"),
        "{audit}"
    );

    let table = c.text(&["audit"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("INDEX  WHEN (UTC)"), "{table}");
    assert!(
        lines[1].contains("delete_bucket name=full-x") && lines[1].contains("BucketNotEmpty"),
        "{table}"
    );
    assert!(
        lines[3].contains("set_worker_setting key=repair.concurrency value=4")
            && lines[3].contains("speed up repair"),
        "{table}"
    );
    assert!(
        lines[4].contains("create_bucket") && lines[4].contains("ticket 7"),
        "{table}"
    );
    let one: Value = c.json(&["audit", "--limit", "1", "--json"]);
    assert_eq!(one["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(one["more"], true);
}

#[test]
fn bucket_delete_shows_the_plan_and_confirms() {
    let c = FakeCluster::start();
    c.json(&["bucket", "create", "photos", "--json"]);
    let refused = c.run_with_input(&["bucket", "delete", "photos"], "y\n");
    let (code, err) = failure(&refused);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("Will delete bucket photos (owner AKADMIN"),
        "{err}"
    );
    one_line_error(&refused, 2, "pass --yes");
    assert_eq!(bucket_names(&c), ["photos"]);
    let missing = c.run(&["bucket", "delete", "nope", "--yes"]);
    one_line_error(&missing, 1, "NoSuchBucket");

    // On a terminal (`script` gives the command one), "n" keeps it and "y" deletes it.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("no `script` command: skipping the interactive part");
        return;
    }
    let on_terminal = |answer: &str| {
        let cmd = format!(
            "'{TRIREME}' --data-dir '{}' bucket delete photos",
            c.data.display()
        );
        let mut child = Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env_remove("TRIREME_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script");
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(answer.as_bytes()).expect("answer");
        drop(input);
        child.wait_with_output().expect("wait")
    };
    let kept = on_terminal("n\n");
    let out = String::from_utf8_lossy(&kept.stdout).to_string();
    assert_eq!(kept.status.code(), Some(1), "{out}");
    assert!(
        out.contains("Go on? [y/N]") && out.contains("not confirmed"),
        "{out}"
    );
    assert_eq!(bucket_names(&c), ["photos"]);
    let deleted = on_terminal("y\n");
    let out = String::from_utf8_lossy(&deleted.stdout).to_string();
    assert!(deleted.status.success(), "{out}");
    assert!(out.contains("deleted bucket photos"), "{out}");
    assert!(bucket_names(&c).is_empty());
}

#[test]
fn a_cluster_file_without_tokens_needs_one() {
    let c = FakeCluster::start();
    let path = c.data.join("cluster.json");
    let mut file: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let obj = file.as_object_mut().expect("object");
    obj.remove("admin_token");
    obj.remove("reader_token");
    std::fs::write(&path, file.to_string()).expect("write");
    let out = c.run(&["bucket", "list"]);
    one_line_error(
        &out,
        2,
        "no operator token: pass --token or set $TRIREME_TOKEN",
    );
    // A token from the command line will do.
    let ok = c.run(&["bucket", "list", "--token", ADMIN_TOKEN]);
    assert!(ok.status.success(), "{:?}", failure(&ok));
}
