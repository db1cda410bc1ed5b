//! Parsing tests of the command line (`cli.rs`).
use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("trireme").chain(args.iter().copied()))
}

#[test]
fn global_options_before_or_after_the_subcommand() {
    let a = parse(&["--json", "--data-dir", "/d", "bucket", "list"]).expect("parses");
    let b = parse(&["bucket", "list", "--json", "--data-dir", "/d"]).expect("parses");
    for c in [a, b] {
        assert!(c.global.json);
        assert_eq!(c.global.data_dir, Some(PathBuf::from("/d")));
        assert!(matches!(c.command, Command::Bucket(BucketCommand::List)));
    }
}

#[test]
fn bucket_create_with_owner() {
    let c = parse(&["bucket", "create", "b1", "--owner", "AK"]).expect("parses");
    match c.command {
        Command::Bucket(BucketCommand::Create { name, owner }) => {
            assert_eq!(name, "b1");
            assert_eq!(owner.as_deref(), Some("AK"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn key_create_default_name() {
    let c = parse(&["key", "create"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Key(KeyCommand::Create { ref name, no_create_bucket: false }) if name == "cli"
    ));
    let c = parse(&["key", "create", "--name", "ci", "--no-create-bucket"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Key(KeyCommand::Create { ref name, no_create_bucket: true }) if name == "ci"
    ));
}

#[test]
fn key_import_and_delete() {
    let c = parse(&["key", "import", "AKID", "SECRET", "--name", "old"]).expect("parses");
    match c.command {
        Command::Key(KeyCommand::Import {
            access_key,
            secret_key,
            name,
            no_create_bucket,
        }) => {
            assert_eq!(
                (access_key.as_str(), secret_key.as_str()),
                ("AKID", "SECRET")
            );
            assert_eq!(name, "old");
            assert!(!no_create_bucket);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        parse(&["key", "import", "AKID"])
            .expect_err("no secret")
            .exit_code(),
        2
    );
    let c = parse(&["key", "delete", "AKID", "--yes"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Key(KeyCommand::Delete { ref access_key, yes: true }) if access_key == "AKID"
    ));
}

#[test]
fn bucket_allow_and_deny() {
    let c = parse(&["bucket", "allow", "b", "--key", "AK", "--read", "--owner"]).expect("parses");
    match c.command {
        Command::Bucket(BucketCommand::Allow { bucket, grant }) => {
            assert_eq!((bucket.as_str(), grant.key.as_str()), ("b", "AK"));
            assert!(grant.read && !grant.write && grant.owner);
        }
        other => panic!("unexpected {other:?}"),
    }
    let c = parse(&["bucket", "deny", "b", "--key", "AK"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Bucket(BucketCommand::Deny { ref grant, .. })
            if !grant.read && !grant.write && !grant.owner
    ));
    assert_eq!(
        parse(&["bucket", "allow", "b", "--read"])
            .expect_err("no key")
            .exit_code(),
        2
    );
}

#[test]
fn up_flags() {
    let c = parse(&[
        "up",
        "--data-dir",
        "x",
        "--s3-addr",
        "127.0.0.1:0",
        "--meta",
        "1",
        "--chunkservers",
        "3",
        "--disks",
        "1",
        "--chunk-size",
        "1MiB",
        "--chunkserver-timeout-ms",
        "1500",
        "--heartbeat-ms",
        "100",
        "--replicas",
        "2",
    ])
    .expect("parses");
    let Command::Up(up) = c.command else {
        panic!("not up")
    };
    assert_eq!(c.global.data_dir, Some(PathBuf::from("x")));
    assert_eq!(up.s3_addr.as_deref(), Some("127.0.0.1:0"));
    assert_eq!(
        (up.meta, up.chunkservers, up.disks),
        (Some(1), Some(3), Some(1))
    );
    assert_eq!(up.chunk_size, Some(1 << 20));
    assert_eq!(
        (up.chunkserver_timeout_ms, up.heartbeat_ms, up.replicas),
        (Some(1500), Some(100), Some(2))
    );
}

#[test]
fn usage_errors_exit_2() {
    let e = parse(&["up", "--meta", "0"]).expect_err("0 metas");
    assert_eq!(e.exit_code(), 2);
    let e = parse(&["bucket", "create"]).expect_err("missing name");
    assert_eq!(e.exit_code(), 2);
    assert_eq!(parse(&["frobnicate"]).expect_err("unknown").exit_code(), 2);
}

#[test]
fn durability_commands() {
    let c = parse(&["repair", "status"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Repair(RepairCommand::Status { watch: None })
    ));
    let c = parse(&["repair", "status", "--watch"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Repair(RepairCommand::Status { watch: Some(2) })
    ));
    let c = parse(&["repair", "status", "--watch", "5", "--json"]).expect("parses");
    assert!(c.global.json);
    assert!(matches!(
        c.command,
        Command::Repair(RepairCommand::Status { watch: Some(5) })
    ));
    assert_eq!(
        parse(&["repair", "status", "--watch", "0"])
            .expect_err("0 s")
            .exit_code(),
        2
    );
    let c = parse(&["repair", "lost"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Repair(RepairCommand::Lost { limit: 1000 })
    ));
    let c = parse(&["repair", "lost", "--limit", "7"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Repair(RepairCommand::Lost { limit: 7 })
    ));
    for bad in ["0", "10001", "x"] {
        let e = parse(&["repair", "lost", "--limit", bad]).expect_err(bad);
        assert_eq!(e.exit_code(), 2, "{bad}");
    }
    let c = parse(&["worker", "set", "repair.concurrency", "8"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Worker(WorkerCommand::Set { ref key, ref value })
            if key == "repair.concurrency" && value == "8"
    ));
    assert_eq!(
        parse(&["worker", "set", "repair.concurrency"])
            .expect_err("no value")
            .exit_code(),
        2
    );
    assert!(matches!(
        parse(&["worker", "list"]).expect("parses").command,
        Command::Worker(WorkerCommand::List)
    ));
    for (word, want) in [
        ("start", "Start"),
        ("pause", "Pause"),
        ("resume", "Resume"),
        ("status", "Status"),
    ] {
        let c = parse(&["scrub", word]).expect("parses");
        let Command::Scrub(s) = c.command else {
            panic!("not scrub")
        };
        assert_eq!(format!("{s:?}"), want);
    }
    assert_eq!(parse(&["scrub", "stop"]).expect_err("no").exit_code(), 2);
}

#[test]
fn sizes() {
    assert_eq!(parse_size("4096"), Ok(4096));
    assert_eq!(parse_size("64KiB"), Ok(64 << 10));
    assert_eq!(parse_size("4M"), Ok(4 << 20));
    assert_eq!(parse_size("1gb"), Ok(1 << 30));
    assert!(parse_size("0").is_err());
    assert!(parse_size("12XB").is_err());
    assert!(parse_size("MiB").is_err());
}

#[test]
fn token_audit_reason_and_yes() {
    let c = parse(&["token", "create", "--role", "reader", "--name", "ro"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Token(TokenCommand::Create { role: trireme_api::admin::Role::Reader, ref name }) if name == "ro"
    ));
    assert_eq!(
        parse(&["token", "create", "--role", "root", "--name", "x"])
            .expect_err("bad role")
            .exit_code(),
        2
    );
    let c = parse(&["token", "revoke", "ro", "-y"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Token(TokenCommand::Revoke { yes: true, .. })
    ));
    let c = parse(&["audit", "--limit", "5", "--json"]).expect("parses");
    assert!(matches!(c.command, Command::Audit(AuditArgs { limit: 5 })));
    assert!(c.global.json);
    let c = parse(&["audit"]).expect("parses");
    assert!(matches!(c.command, Command::Audit(AuditArgs { limit: 50 })));
    let c = parse(&[
        "bucket",
        "delete",
        "b",
        "--yes",
        "--reason",
        "old project",
        "--token",
        "trt_x",
    ])
    .expect("parses");
    assert!(matches!(
        c.command,
        Command::Bucket(BucketCommand::Delete { yes: true, .. })
    ));
    assert_eq!(c.global.reason.as_deref(), Some("old project"));
    assert_eq!(c.global.token.as_deref(), Some("trt_x"));
    let c = parse(&["--reason", "r", "worker", "set", "repair.concurrency", "4"]).expect("parses");
    assert_eq!(c.global.reason.as_deref(), Some("r"));
}

#[test]
fn clap_definition_is_consistent() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}

#[test]
fn disk_swap_and_its_status() {
    let c = parse(&["disk", "swap", "d1", "--yes", "--reason", "r"]).expect("parses");
    match c.command {
        Command::Disk(DiskCommand::Swap(a)) => {
            assert_eq!(a.id.as_deref(), Some("d1"));
            assert!(a.yes && !a.no_wait && a.command.is_none());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.global.reason.as_deref(), Some("r"));
    let c = parse(&["disk", "swap", "status", "d1", "--watch"]).expect("parses");
    match c.command {
        Command::Disk(DiskCommand::Swap(a)) => assert!(matches!(
            a.command,
            Some(SwapCommand::Status { watch: true, .. })
        )),
        other => panic!("{other:?}"),
    }
    assert!(parse(&["disk", "swap"]).is_err(), "an id is required");
    let c = parse(&["disk", "replace", "d1", "--no-wait", "--force"]).expect("parses");
    assert!(matches!(
        c.command,
        Command::Disk(DiskCommand::Replace {
            no_wait: true,
            force: true,
            yes: false,
            ..
        })
    ));
}
