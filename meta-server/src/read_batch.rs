//! Linearizable reads share ReadIndex rounds.
//!
//! openraft 0.9's `ensure_linearizable` confirms leadership with a round of heartbeats to the
//! followers, one round per call: under 16 concurrent GETs the leader sent two heartbeat RPCs
//! per GET and the followers answered each, most of the meta-servers' CPU for a small GET.
//! Here one round runs at a time. A read that arrives while a round is running waits for the
//! next one, which starts when the running one ends and answers every read that arrived
//! meanwhile. That keeps each read linearizable: its round reads the commit index after the
//! read arrived, so it sees every write acknowledged before it. A read that finds no round
//! running starts one at once, so an idle cluster's latency is unchanged.

use crate::error::{MetaError, MetaResult};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// How a round ended, for every read it answers.
#[derive(Clone, Debug)]
pub enum Outcome {
    Linearizable,
    NotLeader { leader_addr: Option<String> },
    Failed(String),
}

impl Outcome {
    /// The outcome of a round that failed with `e`.
    pub fn failed(e: MetaError) -> Self {
        match e {
            MetaError::NotLeader { leader_addr } => Outcome::NotLeader { leader_addr },
            other => Outcome::Failed(other.to_string()),
        }
    }

    fn into_result(self) -> MetaResult<()> {
        match self {
            Outcome::Linearizable => Ok(()),
            Outcome::NotLeader { leader_addr } => Err(MetaError::NotLeader { leader_addr }),
            Outcome::Failed(e) => Err(MetaError::Raft(e)),
        }
    }
}

/// One ReadIndex round.
pub type Round = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + Sync>;

/// The shared rounds (see the module doc).
pub struct ReadBatcher {
    round: Round,
    inner: Arc<Mutex<Inner>>,
    rounds: Arc<AtomicU64>,
}

#[derive(Default)]
struct Inner {
    running: bool,
    waiting: Vec<oneshot::Sender<Outcome>>,
}

impl ReadBatcher {
    pub fn new(round: Round) -> Self {
        ReadBatcher {
            round,
            inner: Default::default(),
            rounds: Default::default(),
        }
    }

    /// Returns once a round that started after this call has confirmed leadership and the
    /// state machine has applied everything committed when it started.
    pub async fn read_index(&self) -> MetaResult<()> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut inner = lock(&self.inner);
            inner.waiting.push(tx);
            !std::mem::replace(&mut inner.running, true)
        };
        if start {
            // A task of its own, so a read whose client goes away does not end the round
            // the others wait for.
            tokio::spawn(run(
                self.round.clone(),
                self.inner.clone(),
                self.rounds.clone(),
            ));
        }
        match rx.await {
            Ok(outcome) => outcome.into_result(),
            Err(_) => Err(MetaError::Raft(
                "the read round ended without an answer".into(),
            )),
        }
    }

    /// Rounds run so far.
    pub fn rounds(&self) -> u64 {
        self.rounds.load(Ordering::Relaxed)
    }

    /// Reads waiting for the next round.
    pub fn waiting(&self) -> usize {
        lock(&self.inner).waiting.len()
    }
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Clears `running` if the task ends any other way than finding no read waiting (a panic
/// in a round), dropping the senders of the reads still waiting so they fail instead of
/// hanging.
struct Running {
    inner: Arc<Mutex<Inner>>,
    armed: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.armed {
            let mut inner = lock(&self.inner);
            inner.running = false;
            inner.waiting.clear();
        }
    }
}

async fn run(round: Round, inner: Arc<Mutex<Inner>>, rounds: Arc<AtomicU64>) {
    let mut guard = Running { inner, armed: true };
    loop {
        let batch = {
            let mut inner = lock(&guard.inner);
            if inner.waiting.is_empty() {
                // From here a new read may start the next task: this one must not touch
                // `running` again.
                inner.running = false;
                None
            } else {
                Some(std::mem::take(&mut inner.waiting))
            }
        };
        let Some(batch) = batch else {
            guard.armed = false;
            return;
        };
        let outcome = round().await;
        rounds.fetch_add(1, Ordering::Relaxed);
        for tx in batch {
            let _ = tx.send(outcome.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn counting(delay: Duration, outcome: Outcome) -> (Round, Arc<AtomicU64>) {
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        let round: Round = Arc::new(move || {
            let c = c.clone();
            let outcome = outcome.clone();
            Box::pin(async move {
                c.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                outcome
            })
        });
        (round, calls)
    }

    #[tokio::test]
    async fn a_lone_read_runs_its_own_round() {
        let (round, calls) = counting(Duration::ZERO, Outcome::Linearizable);
        let b = ReadBatcher::new(round);
        for _ in 0..3 {
            b.read_index().await.expect("read");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    /// A round that waits until the test opens `gate` (one permit per round).
    fn gated() -> (Round, Arc<AtomicU64>, Arc<tokio::sync::Semaphore>) {
        let calls = Arc::new(AtomicU64::new(0));
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let (c, g) = (calls.clone(), gate.clone());
        let round: Round = Arc::new(move || {
            let (c, g) = (c.clone(), g.clone());
            Box::pin(async move {
                c.fetch_add(1, Ordering::SeqCst);
                if let Ok(p) = g.acquire().await {
                    p.forget();
                }
                Outcome::Linearizable
            })
        });
        (round, calls, gate)
    }

    async fn until(what: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !what() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "condition never met"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    #[tokio::test]
    async fn concurrent_reads_share_rounds() {
        let (round, calls, gate) = gated();
        let b = Arc::new(ReadBatcher::new(round));
        let spawn = |b: &Arc<ReadBatcher>| {
            let b = b.clone();
            tokio::spawn(async move { b.read_index().await })
        };
        let first = spawn(&b);
        until(|| calls.load(Ordering::SeqCst) == 1).await;
        // 49 reads arrive while round 1 runs: they all wait for round 2, none rides round 1.
        let rest: Vec<_> = (0..49).map(|_| spawn(&b)).collect();
        until(|| b.waiting() == 49).await;
        assert!(!first.is_finished());
        gate.add_permits(1);
        first.await.expect("task").expect("first read");
        until(|| calls.load(Ordering::SeqCst) == 2).await;
        assert!(
            rest.iter().all(|r| !r.is_finished()),
            "a read rode a round older than it"
        );
        gate.add_permits(1);
        for r in rest {
            r.await.expect("task").expect("read");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "50 reads, 2 rounds");
        assert_eq!(b.rounds(), 2);
    }

    #[tokio::test]
    async fn every_read_of_a_round_gets_its_error() {
        let (round, _) = counting(
            Duration::from_millis(5),
            Outcome::NotLeader {
                leader_addr: Some("127.0.0.1:1".into()),
            },
        );
        let b = Arc::new(ReadBatcher::new(round));
        let reads: Vec<_> = (0..5)
            .map(|_| {
                let b = b.clone();
                tokio::spawn(async move { b.read_index().await })
            })
            .collect();
        for r in reads {
            match r.await.expect("task") {
                Err(MetaError::NotLeader { leader_addr }) => {
                    assert_eq!(leader_addr.as_deref(), Some("127.0.0.1:1"))
                }
                other => panic!("expected NotLeader, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_panicking_round_fails_its_reads_and_the_next_read_starts_afresh() {
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        let round: Round = Arc::new(move || {
            let first = c.fetch_add(1, Ordering::SeqCst) == 0;
            Box::pin(async move {
                if first {
                    panic!("round failed");
                }
                Outcome::Linearizable
            })
        });
        let b = ReadBatcher::new(round);
        assert!(b.read_index().await.is_err());
        b.read_index().await.expect("a new round after the panic");
    }
}
