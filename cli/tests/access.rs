//! `trireme key create|import|list|delete` and `trireme bucket allow|deny|list` against one
//! fake meta-server process (tests/fake), with a hand-written cluster.json.

mod fake;

use fake::cluster::{failure, one_line_error, FakeCluster, ADMIN_KEY};
use serde_json::Value;

/// Not a test: the body of the fake server processes (see `fake::write_wrappers`).
#[test]
#[ignore = "runs only as a fake server process started by the other tests"]
fn fake_server() {
    fake::main_if_asked();
}

fn keys(c: &FakeCluster) -> Vec<String> {
    c.json(&["key", "list", "--json"])["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["access_key"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn keys_create_import_list_delete() {
    let c = FakeCluster::start();
    let created = c.json(&[
        "key",
        "create",
        "--name",
        "ci",
        "--no-create-bucket",
        "--json",
    ]);
    assert_eq!(created["allow_create_bucket"], false);
    assert_eq!(created["name"], "ci");
    let text = c.text(&["key", "create"]);
    assert!(text.contains("create buckets: yes"), "{text}");

    let imported = c.json(&[
        "key",
        "import",
        "AKIMPORTED",
        "imported-secret",
        "--name",
        "old",
        "--json",
    ]);
    assert_eq!(imported["access_key"], "AKIMPORTED");
    assert_eq!(imported["secret_key"], "imported-secret");
    assert_eq!(imported["allow_create_bucket"], true);
    let again = c.run(&["key", "import", "AKIMPORTED", "other-secret"]);
    one_line_error(&again, 1, "AccessKeyExists");
    let piped = c.run_with_input(
        &["key", "import", "AKSTDIN", "-", "--json"],
        "secret-from-stdin\n",
    );
    assert!(piped.status.success(), "{:?}", failure(&piped));
    let piped: Value = serde_json::from_slice(&piped.stdout).expect("json");
    assert_eq!(piped["secret_key"], "secret-from-stdin");

    let table = c.text(&["key", "list"]);
    assert!(table.starts_with("ACCESS KEY"), "{table}");
    assert!(table.contains("CREATE BUCKETS"), "{table}");
    let ci_row = table.lines().find(|l| l.contains(" ci ")).expect("ci row");
    assert!(ci_row.contains(" no "), "{table}");
    assert_eq!(keys(&c).len(), 4);

    // Delete: the plan first, then the question; anything but y keeps the key.
    c.json(&[
        "bucket",
        "create",
        "kept",
        "--owner",
        "AKIMPORTED",
        "--json",
    ]);
    c.json(&["bucket", "create", "shared", "--json"]);
    c.json(&[
        "bucket",
        "allow",
        "shared",
        "--key",
        "AKIMPORTED",
        "--write",
        "--json",
    ]);
    // Without --yes and without a terminal: the plan, then a one-line refusal (exit 2);
    // even a piped "y" does not confirm.
    for input in ["n\n", "y\n", ""] {
        let no = c.run_with_input(&["key", "delete", "AKIMPORTED"], input);
        let (code, err) = failure(&no);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("Will delete access key AKIMPORTED"), "{err}");
        assert!(
            err.contains("owns 1 bucket(s)") && err.contains("kept"),
            "{err}"
        );
        assert!(err.contains("grants are removed from: shared"), "{err}");
        one_line_error(&no, 2, "delete access key AKIMPORTED: refused: standard input is not a terminal to confirm on; pass --yes");
        assert!(keys(&c).contains(&"AKIMPORTED".to_string()));
    }

    let yes = c.run(&["key", "delete", "AKIMPORTED", "--yes"]);
    assert!(yes.status.success(), "{:?}", failure(&yes));
    assert_eq!(
        String::from_utf8_lossy(&yes.stdout),
        "deleted access key AKIMPORTED\n"
    );
    assert!(!keys(&c).contains(&"AKIMPORTED".to_string()));
    // Its grant went with it; the bucket it owned stays.
    let buckets = c.json(&["bucket", "list", "--json"])["buckets"].clone();
    let shared = buckets
        .as_array()
        .and_then(|bs| bs.iter().find(|b| b["name"] == "shared"))
        .expect("shared");
    assert!(shared.get("grants").is_none(), "{shared}");
    assert!(buckets.to_string().contains("\"kept\""));
    let deleted = c.json(&["key", "delete", "AKSTDIN", "--yes", "--json"]);
    assert_eq!(deleted["deleted"], "AKSTDIN");
    let missing = c.run(&["key", "delete", "AKSTDIN", "--yes"]);
    one_line_error(&missing, 1, "no access key AKSTDIN");
}

#[test]
fn bucket_allow_deny_and_list() {
    let c = FakeCluster::start();
    c.json(&["key", "import", "AKFRIEND", "friend-secret", "--json"]);
    c.json(&["bucket", "create", "photos", "--json"]);

    let b = c.json(&[
        "bucket", "allow", "photos", "--key", "AKFRIEND", "--read", "--json",
    ]);
    assert_eq!(b["grants"]["AKFRIEND"]["read"], true);
    assert_eq!(b["grants"]["AKFRIEND"]["write"], false);
    let text = c.text(&["bucket", "allow", "photos", "--key", "AKFRIEND", "--write"]);
    assert_eq!(text, "AKFRIEND on bucket photos: read, write (was: read)\n");

    let list = c.json(&["bucket", "list", "--json"]);
    let photos = &list["buckets"][0];
    assert_eq!(photos["owner"], ADMIN_KEY);
    assert_eq!(photos["grants"]["AKFRIEND"]["write"], true);
    let table = c.text(&["bucket", "list"]);
    assert!(
        table.starts_with("NAME") && table.contains("GRANTS"),
        "{table}"
    );
    assert!(
        table.contains(&format!("photos  {ADMIN_KEY}  AKFRIEND:rw")),
        "{table}"
    );

    let none = c.run(&["bucket", "allow", "photos", "--key", "AKFRIEND"]);
    one_line_error(&none, 2, "--read");
    let unknown = c.run(&["bucket", "allow", "photos", "--key", "AKNOBODY", "--read"]);
    one_line_error(&unknown, 1, "NoSuchAccessKey");
    let no_bucket = c.run(&["bucket", "allow", "nope", "--key", "AKFRIEND", "--read"]);
    one_line_error(&no_bucket, 1, "NoSuchBucket");
    let owner = c.run(&["bucket", "deny", "photos", "--key", ADMIN_KEY]);
    one_line_error(&owner, 1, "owns the bucket");

    let text = c.text(&["bucket", "deny", "photos", "--key", "AKFRIEND", "--write"]);
    assert_eq!(text, "AKFRIEND on bucket photos: read (was: read, write)\n");
    let b = c.json(&["bucket", "deny", "photos", "--key", "AKFRIEND", "--json"]);
    assert!(b.get("grants").is_none(), "{b}");
    let text = c.text(&["bucket", "deny", "photos", "--key", "AKFRIEND"]);
    assert_eq!(text, "AKFRIEND holds no grant on bucket photos\n");
    let table = c.text(&["bucket", "list"]);
    assert!(
        table.contains(&format!("photos  {ADMIN_KEY}  -")),
        "{table}"
    );
}
