//! A leader-only call stuck at a leader that lost its group follows the leader the other
//! members name, long before the transport timeout.

use axum::routing::post;
use axum::{Json, Router};
use std::time::{Duration, Instant};
use trireme_api::config::ClusterSettings;
use trireme_api::meta::{
    ClusterStatus, ClusterStatusResponse, ListChunkservers, ListChunkserversResponse, MemberInfo,
};
use trireme_api::Rpc;
use trireme_client::{MetaClient, Transport};

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// A member that never answers a leader-only call (cut off from its group, or paused).
fn silent() -> Router {
    Router::new().route(
        ListChunkservers::PATH,
        post(|| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Json(ListChunkserversResponse {
                chunkservers: vec![],
            })
        }),
    )
}

/// A member that answers it at once.
fn answering() -> Router {
    Router::new().route(
        ListChunkservers::PATH,
        post(|| async {
            Json(ListChunkserversResponse {
                chunkservers: vec![],
            })
        }),
    )
}

fn status(node_id: u64, leader: u64, term: u64, addrs: &[String]) -> ClusterStatusResponse {
    ClusterStatusResponse {
        cluster_id: "c".into(),
        node_id,
        leader: Some(leader),
        term,
        last_log_index: None,
        last_applied: None,
        members: addrs
            .iter()
            .enumerate()
            .map(|(i, a)| MemberInfo {
                id: i as u64 + 1,
                addr: a.clone(),
                voter: true,
                matched_index: None,
            })
            .collect(),
    }
}

#[tokio::test]
async fn a_call_stuck_at_a_deposed_leader_follows_the_new_one() {
    // Node 1: the old leader, which never answers (cut off from its group).
    let old = serve(silent()).await;
    // Nodes 2 and 3 are bound first so that their addresses can be named.
    let l2 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let l3 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addrs = vec![
        old.clone(),
        l2.local_addr().unwrap().to_string(),
        l3.local_addr().unwrap().to_string(),
    ];
    // Node 2 leads now (term 5); node 3 still names the old leader at an older term.
    let a = addrs.clone();
    let new_leader = answering().route(
        ClusterStatus::PATH,
        post(move || {
            let s = status(2, 2, 5, &a);
            async move { Json(s) }
        }),
    );
    let a = addrs.clone();
    let lagging = Router::new().route(
        ClusterStatus::PATH,
        post(move || {
            let s = status(3, 1, 4, &a);
            async move { Json(s) }
        }),
    );
    tokio::spawn(async move { axum::serve(l2, new_leader).await });
    tokio::spawn(async move { axum::serve(l3, lagging).await });

    let settings = ClusterSettings {
        cluster_id: "c".into(),
        secret: "s".into(),
    };
    let client = MetaClient::new(
        Transport::new(settings, Duration::from_secs(30)),
        addrs,
        Duration::from_secs(60),
    );
    let started = Instant::now();
    client
        .call(&ListChunkservers {})
        .await
        .expect("the new leader answers");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the call waited for the deposed leader: {took:?}"
    );
    assert!(took >= trireme_client::meta::LEADER_PROBE_AFTER);
}

#[tokio::test]
async fn a_member_that_timed_out_is_not_tried_first_again() {
    // A heartbeat-like client: one attempt uses its whole deadline.
    let addrs = vec![serve(silent()).await, serve(answering()).await];
    let settings = ClusterSettings {
        cluster_id: "c".into(),
        secret: "s".into(),
    };
    let client = MetaClient::new(
        Transport::new(settings, Duration::from_millis(300)),
        addrs,
        Duration::from_millis(300),
    );
    assert!(client.call(&ListChunkservers {}).await.is_err());
    let started = Instant::now();
    client
        .call(&ListChunkservers {})
        .await
        .expect("the next call goes to the other member");
    assert!(started.elapsed() < Duration::from_millis(300));
}
