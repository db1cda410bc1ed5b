//! [`MetaClient`]: calls the meta-server group, wherever its leader is.
//!
//! Leader-only requests go to the last known leader. A `NotLeader` answer naming the leader
//! redirects there at once; a transport error or `Unavailable` moves on to the next member,
//! and after each full round the client backs off, until the deadline. Non-retryable errors
//! return immediately.
//!
//! Membership changes (`trireme meta add|remove`) are followed: at most every
//! `member_refresh` (30 s by default), after a successful leader-only call, the client asks
//! that leader for the members (`ClusterStatus`) and takes their addresses, so a long-lived
//! client (gateway, chunkserver) keeps reaching the group after every node it started with
//! was replaced.

use crate::error::ClientError;
use crate::transport::Transport;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trireme_api::{ErrorCode, Rpc};

#[derive(Debug)]
pub struct MetaClient {
    transport: Transport,
    members: Mutex<Vec<String>>,
    /// Index into `members` of the node to try first.
    preferred: Mutex<usize>,
    deadline: Duration,
    member_refresh: Duration,
    refreshed: Mutex<Instant>,
}

/// How often a client re-learns the members by default.
pub const MEMBER_REFRESH: Duration = Duration::from_secs(30);

impl MetaClient {
    /// A client for a group with these member addresses. `deadline` bounds the retries of
    /// one call (leader elections take a few seconds).
    pub fn new(transport: Transport, members: Vec<String>, deadline: Duration) -> Self {
        MetaClient {
            transport,
            members: Mutex::new(members),
            preferred: Mutex::new(0),
            deadline,
            member_refresh: MEMBER_REFRESH,
            refreshed: Mutex::new(Instant::now()),
        }
    }

    /// Re-learns the members at most this often (after a successful leader-only call).
    pub fn with_member_refresh(mut self, every: Duration) -> Self {
        self.member_refresh = every;
        self
    }

    /// Replaces the member addresses (keeping the preferred one first if still a member).
    pub fn set_members(&self, addrs: Vec<String>) {
        if addrs.is_empty() {
            return;
        }
        let current = self.current();
        let mut members = lock(&self.members);
        if *members == addrs {
            return;
        }
        tracing::info!(from = ?*members, to = ?addrs, "meta members changed");
        *members = addrs;
        *lock(&self.preferred) = members.iter().position(|m| *m == current).unwrap_or(0);
    }

    /// After a successful leader-only call to `leader`: asks it for the members if the last
    /// refresh is older than `member_refresh`. Failures are ignored (the next call retries).
    async fn maybe_refresh(&self, leader: &str) {
        {
            let mut last = lock(&self.refreshed);
            if last.elapsed() < self.member_refresh {
                return;
            }
            *last = Instant::now();
        }
        match self
            .transport
            .call(leader, &trireme_api::meta::ClusterStatus {})
            .await
        {
            Ok(status) => self.set_members(status.members.into_iter().map(|m| m.addr).collect()),
            Err(e) => tracing::debug!(error = %e, "refreshing the meta members failed"),
        }
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    pub fn members(&self) -> Vec<String> {
        lock(&self.members).clone()
    }

    /// Calls the group, following leader redirects and retrying retryable failures.
    pub async fn call<R: Rpc>(&self, req: &R) -> Result<R::Response, ClientError> {
        let start = Instant::now();
        let mut backoff = Duration::from_millis(50);
        let mut attempts_this_round = 0usize;
        loop {
            let addr = self.current();
            let result = self.transport.call(&addr, req).await;
            let err = match result {
                Ok(v) => {
                    if R::LEADER_ONLY {
                        self.maybe_refresh(&addr).await;
                    }
                    return Ok(v);
                }
                Err(e) => e,
            };
            if !err.is_retryable() || start.elapsed() >= self.deadline {
                return Err(err);
            }
            let redirected = match &err {
                ClientError::Api(api) if api.code == ErrorCode::NotLeader => match &api.leader {
                    Some(leader) if *leader != addr => {
                        self.prefer(leader);
                        true
                    }
                    _ => false,
                },
                _ => false,
            };
            if redirected {
                continue;
            }
            tracing::debug!(%addr, error = %err, "meta call failed, trying the next member");
            self.advance();
            attempts_this_round += 1;
            let n = lock(&self.members).len().max(1);
            if attempts_this_round >= n {
                attempts_this_round = 0;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(500));
            }
        }
    }

    /// Calls one specific member, without redirects or retries.
    pub async fn call_node<R: Rpc>(&self, addr: &str, req: &R) -> Result<R::Response, ClientError> {
        self.transport.call(addr, req).await
    }

    fn current(&self) -> String {
        let members = lock(&self.members);
        let i = *lock(&self.preferred) % members.len().max(1);
        members.get(i).cloned().unwrap_or_default()
    }

    fn advance(&self) {
        let n = lock(&self.members).len().max(1);
        let mut p = lock(&self.preferred);
        *p = (*p + 1) % n;
    }

    fn prefer(&self, addr: &str) {
        let mut members = lock(&self.members);
        let i = match members.iter().position(|m| m == addr) {
            Some(i) => i,
            None => {
                members.push(addr.to_string());
                members.len() - 1
            }
        };
        *lock(&self.preferred) = i;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
