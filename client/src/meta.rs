//! [`MetaClient`]: calls the meta-server group, wherever its leader is.
//!
//! Leader-only requests go to the last known leader. A `NotLeader` answer naming the leader
//! redirects there at once; a transport error or `Unavailable` moves on to the next member,
//! and after each full round the client backs off, until the deadline. Non-retryable errors
//! return immediately.
//!
//! A leader-only call that has not answered within [`LEADER_PROBE_AFTER`] may be talking to
//! a leader that lost its group (partitioned away, or paused): while it waits, the client asks
//! the other members who leads (every [`LEADER_PROBE_EVERY`], each asked for at most
//! [`LEADER_PROBE_TIMEOUT`]), and when one of them names another leader the call is
//! abandoned and sent there. Abandoning is the same as a timeout, which the caller already
//! treats as an unknown outcome to retry; it only comes seconds sooner.
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
    /// The last leader probe: when, and the leader's address it found.
    last_probe: tokio::sync::Mutex<Option<(Instant, Option<String>)>>,
}

/// How long a leader-only call waits before asking the other members who leads.
pub const LEADER_PROBE_AFTER: Duration = Duration::from_millis(1000);
/// How often it asks again while the call still waits.
pub const LEADER_PROBE_EVERY: Duration = Duration::from_millis(500);
/// How long one member gets to answer that question.
pub const LEADER_PROBE_TIMEOUT: Duration = Duration::from_millis(500);

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
            last_probe: tokio::sync::Mutex::new(None),
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
            let result = if R::LEADER_ONLY {
                let attempt = self.transport.call(&addr, req);
                tokio::select! {
                    r = attempt => r,
                    moved = self.watch_leader(&addr) => {
                        tracing::info!(from = %addr, to = %moved, "the meta leader moved while a call waited: following it");
                        self.prefer(&moved);
                        continue;
                    }
                }
            } else {
                self.transport.call(&addr, req).await
            };
            let err = match result {
                Ok(v) => {
                    if R::LEADER_ONLY {
                        self.maybe_refresh(&addr).await;
                    }
                    return Ok(v);
                }
                Err(e) => e,
            };
            if !err.is_retryable() {
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
            if !redirected {
                // Before giving up at the deadline too: a member that timed out must not be
                // the first one the next call tries (a heartbeat whose whole deadline one
                // attempt used would otherwise try the same deposed leader forever).
                tracing::debug!(%addr, error = %err, "meta call failed, trying the next member");
                self.advance();
            }
            if start.elapsed() >= self.deadline {
                return Err(err);
            }
            if redirected {
                continue;
            }
            attempts_this_round += 1;
            let n = lock(&self.members).len().max(1);
            if attempts_this_round >= n {
                attempts_this_round = 0;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(500));
            }
        }
    }

    /// Resolves with the address of another leader once, after [`LEADER_PROBE_AFTER`], some
    /// other member names a leader that is not `addr`; never resolves otherwise.
    async fn watch_leader(&self, addr: &str) -> String {
        tokio::time::sleep(LEADER_PROBE_AFTER).await;
        loop {
            if let Some(other) = self.other_leader(addr).await {
                return other;
            }
            tokio::time::sleep(LEADER_PROBE_EVERY).await;
        }
    }

    /// The leader the other members name, if it is not `addr`. Concurrent calls share one
    /// probe: an answer younger than half of [`LEADER_PROBE_EVERY`] is reused.
    async fn other_leader(&self, addr: &str) -> Option<String> {
        let mut last = self.last_probe.lock().await;
        let fresh = last
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < LEADER_PROBE_EVERY / 2);
        if !fresh {
            *last = Some((Instant::now(), self.probe_leader(addr).await));
        }
        let leader = last.as_ref().and_then(|(_, l)| l.clone())?;
        (leader != addr).then_some(leader)
    }

    /// Asks every member but `addr` who leads; the answer of the highest term counts (a
    /// member may still name an old leader), and only if it names one.
    async fn probe_leader(&self, addr: &str) -> Option<String> {
        let others: Vec<String> = self.members().into_iter().filter(|m| m != addr).collect();
        let asks = others.iter().map(|m| {
            tokio::time::timeout(
                LEADER_PROBE_TIMEOUT,
                self.transport.call(m, &trireme_api::meta::ClusterStatus {}),
            )
        });
        let answers: Vec<_> = futures::future::join_all(asks)
            .await
            .into_iter()
            .filter_map(|a| a.ok()?.ok())
            .collect();
        let term = answers.iter().map(|s| s.term).max()?;
        let best = answers
            .iter()
            .find(|s| s.term == term && s.leader.is_some())?;
        let leader = best.leader?;
        Some(best.members.iter().find(|m| m.id == leader)?.addr.clone())
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
