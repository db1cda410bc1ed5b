//! [`HealthView`]: which replicas count as healthy, from the replicated chunkserver and disk
//! states only, so every meta node computes the same ledger from the same state.

use crate::types::ChunkserverRecord;
use std::collections::HashMap;
use trireme_api::ids::{ChunkserverId, DiskId};
use trireme_api::meta::{ChunkserverState, DiskState};
use trireme_api::object::Replica;

/// How good a replica is to read from or copy: lower is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    /// Up chunkserver, healthy disk.
    Good,
    /// Up chunkserver, suspect or draining disk: a healthy copy, but read it last.
    Degraded,
    /// Dead chunkserver, failed/offline/unknown disk: not a healthy copy.
    Unhealthy,
}

#[derive(Clone, Debug, Default)]
pub struct HealthView {
    chunkservers: HashMap<ChunkserverId, (ChunkserverState, HashMap<DiskId, DiskState>)>,
}

impl HealthView {
    pub fn new(records: &[ChunkserverRecord]) -> Self {
        let chunkservers = records
            .iter()
            .map(|r| {
                let disks = r
                    .disks
                    .iter()
                    .map(|d| (d.disk_id.clone(), d.state))
                    .collect();
                (r.id, (r.state, disks))
            })
            .collect();
        HealthView { chunkservers }
    }

    pub fn rank(&self, replica: &Replica) -> Rank {
        let Some((state, disks)) = self.chunkservers.get(&replica.chunkserver) else {
            return Rank::Unhealthy;
        };
        if *state != ChunkserverState::Up {
            return Rank::Unhealthy;
        }
        match disks.get(&replica.disk) {
            Some(DiskState::Healthy) => Rank::Good,
            Some(s) if s.holds_healthy_replicas() => Rank::Degraded,
            _ => Rank::Unhealthy,
        }
    }

    /// On a disk being drained: a healthy copy that must be replaced elsewhere.
    pub fn is_draining(&self, replica: &Replica) -> bool {
        self.disk_state(replica.chunkserver, &replica.disk) == Some(DiskState::Draining)
    }

    pub fn is_healthy(&self, replica: &Replica) -> bool {
        self.rank(replica) != Rank::Unhealthy
    }

    pub fn healthy_count(&self, replicas: &[Replica]) -> usize {
        replicas.iter().filter(|r| self.is_healthy(r)).count()
    }

    /// `replicas` best first (stable within a rank).
    pub fn order(&self, replicas: &mut [Replica]) {
        replicas.sort_by_key(|r| self.rank(r));
    }

    pub fn disk_state(&self, chunkserver: ChunkserverId, disk: &DiskId) -> Option<DiskState> {
        self.chunkservers
            .get(&chunkserver)
            .and_then(|(_, d)| d.get(disk).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::DiskRecord;

    fn rec(id: u64, state: ChunkserverState, disks: &[(&str, DiskState)]) -> ChunkserverRecord {
        ChunkserverRecord {
            id,
            addr: String::new(),
            disks: disks
                .iter()
                .map(|(d, s)| DiskRecord {
                    disk_id: DiskId((*d).into()),
                    path: String::new(),
                    state: *s,
                    admin: Default::default(),
                    admin_since_ms: None,
                    replaces: None,
                    fill: None,
                })
                .collect(),
            state,
        }
    }

    fn rep(cs: u64, d: &str) -> Replica {
        Replica {
            chunkserver: cs,
            disk: DiskId(d.into()),
        }
    }

    #[test]
    fn ranks_and_order() {
        let v = HealthView::new(&[
            rec(
                1,
                ChunkserverState::Up,
                &[("a", DiskState::Healthy), ("b", DiskState::Failed)],
            ),
            rec(2, ChunkserverState::Dead, &[("c", DiskState::Healthy)]),
            rec(3, ChunkserverState::Up, &[("d", DiskState::Suspect)]),
        ]);
        assert_eq!(v.rank(&rep(1, "a")), Rank::Good);
        assert_eq!(v.rank(&rep(1, "b")), Rank::Unhealthy);
        assert_eq!(v.rank(&rep(2, "c")), Rank::Unhealthy);
        assert_eq!(v.rank(&rep(3, "d")), Rank::Degraded);
        assert_eq!(v.rank(&rep(9, "z")), Rank::Unhealthy);
        let mut r = vec![rep(2, "c"), rep(3, "d"), rep(1, "a")];
        v.order(&mut r);
        assert_eq!(r, vec![rep(1, "a"), rep(3, "d"), rep(2, "c")]);
        assert_eq!(v.healthy_count(&r), 2);
    }
}
