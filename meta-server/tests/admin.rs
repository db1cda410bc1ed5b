//! Operator tokens and the audit log on a three-node meta cluster: unknown and revoked tokens
//! are Unauthorized, a reader token is Forbidden on admin RPCs and every token on server-only
//! ones, and admin actions are recorded in order with who, what, why and the result.

mod common;

use common::*;
use std::time::Duration;
use tempfile::TempDir;
use trireme_api::admin::*;
use trireme_api::durability::ListWorkers;
use trireme_api::meta::*;
use trireme_api::{ErrorCode, Rpc};
use trireme_client::{ClientError, MetaClient, Transport};

fn operator(nodes: &[Node], token: &str, reason: Option<&str>) -> MetaClient {
    let transport = Transport::new(settings(), Duration::from_secs(5))
        .with_operator_token(token.to_string())
        .with_reason(reason.map(str::to_string));
    MetaClient::new(
        transport,
        nodes.iter().map(|n| n.addr.clone()).collect(),
        Duration::from_secs(20),
    )
}

fn code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (ErrorCode, String) {
    match r.expect_err("must fail") {
        ClientError::Api(e) => (e.code, e.message),
        other => panic!("not an API error: {other}"),
    }
}

async fn create(client: &MetaClient, name: &str, role: Role) -> String {
    let created = client
        .call(&CreateToken {
            name: name.into(),
            role,
        })
        .await
        .expect("create token");
    assert_eq!(
        (created.info.name.as_str(), created.info.role),
        (name, role)
    );
    assert!(created.token.starts_with("trt_"));
    created.token
}

async fn audit(client: &MetaClient) -> Vec<AuditEntry> {
    client
        .call(&ListAudit {
            limit: 0,
            before: None,
        })
        .await
        .expect("audit")
        .entries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_roles_and_audit() {
    let dir = TempDir::new().expect("tmp");
    let (mut nodes, server, transport) = start_cluster(dir.path()).await;
    let admin_token = create(&server, "ops", Role::Admin).await;
    let reader_token = create(&server, "viewer", Role::Reader).await;
    let admin = operator(&nodes, &admin_token, Some("ticket 42: new bucket"));
    let reader = operator(&nodes, &reader_token, None);

    // Unknown token, and no credentials at all: Unauthorized.
    let stranger = operator(&nodes, "trt_not-a-token", None);
    let (c, m) = code(stranger.call(&ClusterStatus {}).await);
    assert_eq!(c, ErrorCode::Unauthorized, "{m}");
    let bare = reqwest::Client::new()
        .post(format!("http://{}{}", nodes[0].addr, ClusterStatus::PATH))
        .header(trireme_api::auth::CLUSTER_HEADER, settings().cluster_id)
        .json(&ClusterStatus {})
        .send()
        .await
        .expect("send");
    assert_eq!(bare.status().as_u16(), 401);

    // A reader reads, and is Forbidden on admin RPCs; no token reaches server-only ones.
    reader.call(&ClusterStatus {}).await.expect("status");
    reader.call(&ListBuckets {}).await.expect("list buckets");
    reader.call(&ListWorkers {}).await.expect("list workers");
    let (c, m) = code(
        reader
            .call(&DeleteBucket {
                name: "anything".into(),
            })
            .await,
    );
    assert_eq!(c, ErrorCode::Forbidden);
    assert!(
        m.starts_with("permission denied: needs an admin token"),
        "{m}"
    );
    assert_eq!(
        code(reader.call(&ListTokens {}).await).0,
        ErrorCode::Forbidden
    );
    for client in [&reader, &admin] {
        let hb = Heartbeat {
            chunkserver: 9,
            addr: "127.0.0.1:1".into(),
            disks: vec![],
            workers: vec![],
            scrub: None,
            slots: vec![],
        };
        assert_eq!(code(client.call(&hb).await).0, ErrorCode::Forbidden);
    }

    // Admin actions, each with its reason; a failing one is recorded as failed.
    admin
        .call(&CreateBucket {
            name: "bkt-1".into(),
            owner: "AK".into(),
        })
        .await
        .expect("create bucket");
    let leader = leader_of(&transport, &nodes).await.expect("leader");
    let leader_addr = &nodes[(leader - 1) as usize].addr;
    let applied = transport
        .call(leader_addr, &ClusterStatus {})
        .await
        .expect("status")
        .last_applied;
    let cleanup = operator(&nodes, &admin_token, Some("cleanup"));
    cleanup
        .call(&DeleteBucket {
            name: "bkt-1".into(),
        })
        .await
        .expect("delete bucket");
    let (c, _) = code(
        cleanup
            .call(&DeleteBucket {
                name: "bkt-1".into(),
            })
            .await,
    );
    assert_eq!(c, ErrorCode::NoSuchBucket);
    let key = admin
        .call(&CreateAccessKey {
            name: "k".into(),
            secret_key: Some("super-secret-key".into()),
            access_key: Some("AKSECRET".into()),
            ..Default::default()
        })
        .await
        .expect("create key");
    admin
        .call(&GetAccessKey {
            access_key: key.access_key.clone(),
        })
        .await
        .expect("get key");

    let entries = audit(&reader).await;
    let summary: Vec<(&str, &str, bool)> = entries
        .iter()
        .map(|e| (e.who.as_str(), e.action.as_str(), e.ok))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("ops", "get_key", true),
            ("ops", "create_key", true),
            ("ops", "delete_bucket", false),
            ("ops", "delete_bucket", true),
            ("ops", "create_bucket", true),
            (SERVER_PRINCIPAL, "create_token", true),
            (SERVER_PRINCIPAL, "create_token", true),
        ]
    );
    assert!(entries.windows(2).all(|w| w[0].index > w[1].index));
    let [get, create_key, failed, deleted, created, viewer, ops] = &entries[..] else {
        panic!("{entries:?}")
    };
    // The entry's index is the Raft log index of the command that applied the action.
    assert_eq!(Some(created.index), applied);
    assert_eq!(created.reason.as_deref(), Some("ticket 42: new bucket"));
    assert_eq!(created.args["name"], "bkt-1");
    assert_eq!(created.role, Some(Role::Admin));
    assert_eq!(deleted.reason.as_deref(), Some("cleanup"));
    assert_eq!(failed.result, "NoSuchBucket: no bucket bkt-1");
    assert!(!create_key.args.to_string().contains("super-secret-key"));
    assert_eq!(create_key.args["secret_key"], "<redacted>");
    assert_eq!(get.args["access_key"], "AKSECRET");
    assert_eq!(ops.args["name"], "ops");
    assert_eq!(viewer.args["role"], "reader");
    assert!(created.at_ms >= ops.at_ms);
    // Paging back in time.
    let page = reader
        .call(&ListAudit {
            limit: 2,
            before: Some(deleted.index),
        })
        .await
        .expect("page");
    assert_eq!(page.entries.len(), 2);
    assert_eq!(page.entries[0].index, created.index);
    assert!(page.more);

    // Tokens: listed without secrets; revoked ones are refused at once; never the last admin.
    let listed = admin.call(&ListTokens {}).await.expect("list tokens");
    let names: Vec<&str> = listed.tokens.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["ops", "viewer"]);
    assert_eq!(listed.tokens[0].created_by, SERVER_PRINCIPAL);
    let revoked = admin
        .call(&RevokeToken {
            name: "viewer".into(),
        })
        .await
        .expect("revoke");
    assert_eq!(revoked.role, Role::Reader);
    let (c, m) = code(reader.call(&ListBuckets {}).await);
    assert_eq!(c, ErrorCode::Unauthorized, "{m}");
    let (c, m) = code(admin.call(&RevokeToken { name: "ops".into() }).await);
    assert_eq!(c, ErrorCode::InvalidArgument);
    assert!(m.contains("last admin token"), "{m}");
    let (c, _) = code(
        admin
            .call(&RevokeToken {
                name: "viewer".into(),
            })
            .await,
    );
    assert_eq!(c, ErrorCode::NotFound);
    // An admin token may create tokens; it is their creator.
    let second = create(&admin, "ops2", Role::Admin).await;
    let (c, _) = code(
        admin
            .call(&CreateToken {
                name: "ops2".into(),
                role: Role::Reader,
            })
            .await,
    );
    assert_eq!(c, ErrorCode::InvalidArgument);
    let ops2 = operator(&nodes, &second, None);
    ops2.call(&RevokeToken { name: "ops".into() })
        .await
        .expect("revoke the first admin token");
    let entries = audit(&ops2).await;
    let recent: Vec<(&str, &str, bool)> = entries
        .iter()
        .take(6)
        .map(|e| (e.who.as_str(), e.action.as_str(), e.ok))
        .collect();
    assert_eq!(
        recent,
        vec![
            ("ops2", "revoke_token", true),
            ("ops", "create_token", false),
            ("ops", "create_token", true),
            ("ops", "revoke_token", false),
            ("ops", "revoke_token", false),
            ("ops", "revoke_token", true),
        ]
    );
    let tokens = ops2.call(&ListTokens {}).await.expect("list");
    assert_eq!(tokens.tokens.len(), 1);
    assert_eq!(tokens.tokens[0].created_by, "ops");

    for n in &mut nodes {
        n.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reasons_are_bounded_and_decoded() {
    let dir = TempDir::new().expect("tmp");
    let (mut nodes, server, _t) = start_cluster(dir.path()).await;
    let token = create(&server, "ops", Role::Admin).await;
    let long = operator(&nodes, &token, Some(&"x".repeat(MAX_REASON_LEN + 1)));
    let (c, _) = code(long.call(&ListBuckets {}).await);
    assert_eq!(c, ErrorCode::InvalidArgument);
    let unicode = operator(&nodes, &token, Some("disque 3 crépite\n#7"));
    unicode
        .call(&CreateBucket {
            name: "bkt-2".into(),
            owner: "AK".into(),
        })
        .await
        .expect("create");
    let entries = audit(&unicode).await;
    assert_eq!(entries[0].action, "create_bucket");
    assert_eq!(entries[0].reason.as_deref(), Some("disque 3 crépite\n#7"));
    for n in &mut nodes {
        n.stop().await;
    }
}

/// A leadership transfer writes no command of its own, and its node is no longer the leader
/// when it finishes: the entry is recorded through the new leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leadership_transfer_is_recorded_by_the_new_leader() {
    use trireme_api::membership::TransferLeader;
    let dir = TempDir::new().expect("tmp");
    let (mut nodes, server, transport) = start_cluster(dir.path()).await;
    let token = create(&server, "ops", Role::Admin).await;
    let admin = operator(&nodes, &token, Some("move off meta-1"));
    let leader = leader_of(&transport, &nodes).await.expect("leader");
    let to = if leader == 1 { 2 } else { 1 };
    let moved = admin.call(&TransferLeader { to }).await.expect("transfer");
    assert_eq!(moved.leader, Some(to));
    let entries = audit(&admin).await;
    let e = &entries[0];
    assert_eq!(
        (e.who.as_str(), e.action.as_str()),
        ("ops", "members/transfer_leader")
    );
    assert!(e.ok, "{e:?}");
    assert_eq!(e.reason.as_deref(), Some("move off meta-1"));
    assert_eq!(e.args["to"], to);
    for n in &mut nodes {
        n.stop().await;
    }
}
