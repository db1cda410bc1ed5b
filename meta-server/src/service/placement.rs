//! Replica placement: `replicas` distinct chunkservers, each on one healthy disk with room,
//! chosen at random weighted by free space (chunkservers by their eligible free bytes, then a
//! disk within each). Pure, so it is property-tested.

use rand::Rng;
use trireme_api::ids::{ChunkserverId, DiskId};
use trireme_api::meta::{DiskReport, DiskState, ReplicaTarget};
use trireme_api::object::Replica;

/// A disk needs at least this much free space to receive new chunks.
pub const MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct Candidate {
    pub id: ChunkserverId,
    pub addr: String,
    pub disks: Vec<DiskReport>,
}

fn eligible(d: &DiskReport) -> bool {
    d.state == DiskState::Healthy && d.free_bytes >= MIN_FREE_BYTES
}

/// Weighted pick of an index; weights are free bytes (in MiB, so sums never overflow).
fn pick_weighted<R: Rng>(weights: &[u64], rng: &mut R) -> Option<usize> {
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return None;
    }
    let mut x = rng.gen_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return Some(i);
        }
        x -= w;
    }
    None
}

fn weight(d: &DiskReport) -> u64 {
    (d.free_bytes / (1024 * 1024)).max(1)
}

/// Chooses targets for one chunk, or `None` if fewer than `replicas` chunkservers qualify.
pub fn place<R: Rng>(
    candidates: &[Candidate],
    replicas: usize,
    exclude: &[ChunkserverId],
    rng: &mut R,
) -> Option<Vec<ReplicaTarget>> {
    let mut pool: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| !exclude.contains(&c.id) && c.disks.iter().any(eligible))
        .collect();
    let mut out = Vec::with_capacity(replicas);
    while out.len() < replicas {
        let weights: Vec<u64> = pool
            .iter()
            .map(|c| c.disks.iter().filter(|d| eligible(d)).map(weight).sum())
            .collect();
        let i = pick_weighted(&weights, rng)?;
        let c = pool.swap_remove(i);
        let disks: Vec<&DiskReport> = c.disks.iter().filter(|d| eligible(d)).collect();
        let dw: Vec<u64> = disks.iter().map(|d| weight(d)).collect();
        let disk: DiskId = disks[pick_weighted(&dw, rng)?].disk_id.clone();
        out.push(ReplicaTarget {
            replica: Replica {
                chunkserver: c.id,
                disk,
            },
            addr: c.addr.clone(),
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    fn disk(id: &str, free: u64, state: DiskState) -> DiskReport {
        DiskReport {
            disk_id: DiskId(id.into()),
            path: String::new(),
            state,
            capacity_bytes: free,
            free_bytes: free,
            used_bytes: 0,
            chunk_count: 0,
            health: Default::default(),
        }
    }

    fn cluster(n: u64) -> Vec<Candidate> {
        (1..=n)
            .map(|id| Candidate {
                id,
                addr: format!("cs{id}"),
                disks: vec![
                    disk(&format!("{id}a"), 1 << 30, DiskState::Healthy),
                    disk(&format!("{id}b"), 1 << 30, DiskState::Healthy),
                ],
            })
            .collect()
    }

    proptest! {
        #[test]
        fn replicas_on_distinct_chunkservers(n in 3u64..8, seed in any::<u64>(), excl in 0u64..3) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let exclude: Vec<u64> = (1..=excl).collect();
            let got = place(&cluster(n), 3, &exclude, &mut rng);
            if n - excl >= 3 {
                let got = got.expect("enough chunkservers");
                let mut ids: Vec<u64> = got.iter().map(|t| t.replica.chunkserver).collect();
                ids.sort();
                ids.dedup();
                prop_assert_eq!(ids.len(), 3);
                prop_assert!(ids.iter().all(|i| !exclude.contains(i)));
            } else {
                prop_assert!(got.is_none());
            }
        }
    }

    #[test]
    fn never_uses_unhealthy_or_full_disks() {
        let mut c = cluster(3);
        c[0].disks[0].state = DiskState::Failed;
        c[1].disks[0].free_bytes = MIN_FREE_BYTES - 1;
        c[2].disks[0].state = DiskState::Draining;
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..200 {
            let got = place(&c, 3, &[], &mut rng).expect("placement");
            for t in got {
                assert!(t.replica.disk.0.ends_with('b'), "picked {}", t.replica.disk);
            }
        }
    }

    #[test]
    fn too_few_chunkservers_is_none() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert!(place(&cluster(2), 3, &[], &mut rng).is_none());
    }
}
