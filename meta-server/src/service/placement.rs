//! Replica placement: `replicas` distinct chunkservers, each on one healthy disk with room,
//! chosen at random weighted by free space (chunkservers by their eligible free bytes, then a
//! disk within each). Pure, so it is property-tested.
//!
//! New writes ([`place_write`]) fall back to suspect disks: when fewer than `replicas`
//! chunkservers have a healthy disk with room, every one that has is used (on a healthy
//! disk) and the rest are filled from chunkservers with a suspect disk with room. A suspect
//! disk answers (slow, or with a recent I/O error) and its replicas are verified like any
//! other; refusing the write instead fails the client, which is worse (a loaded machine can
//! make every disk look slow at once). Replicas still go to `replicas` distinct chunkservers,
//! and failed, draining, offline or full disks are never picked. Repair ([`place`]) stays
//! strict: it has no client waiting and must not copy onto a disk already in doubt.

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

/// How many candidates have a disk a new write may use (healthy or suspect, with room).
pub fn writable(candidates: &[Candidate]) -> usize {
    candidates
        .iter()
        .filter(|c| c.disks.iter().any(|d| eligible(d) || eligible_fallback(d)))
        .count()
}

/// A disk a new write may use when healthy ones run short.
fn eligible_fallback(d: &DiskReport) -> bool {
    d.state == DiskState::Suspect && d.free_bytes >= MIN_FREE_BYTES
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

/// Chooses targets for one chunk on healthy disks only, or `None` if fewer than `replicas`
/// chunkservers qualify (repair).
pub fn place<R: Rng>(
    candidates: &[Candidate],
    replicas: usize,
    exclude: &[ChunkserverId],
    rng: &mut R,
) -> Option<Vec<ReplicaTarget>> {
    let mut out = Vec::with_capacity(replicas);
    fill(candidates, replicas, exclude, eligible, &mut out, rng)?;
    Some(out)
}

/// Chooses targets for one new chunk: healthy disks first, then suspect ones on other
/// chunkservers (see the module doc); `None` if fewer than `replicas` chunkservers have a
/// healthy or suspect disk with room.
pub fn place_write<R: Rng>(
    candidates: &[Candidate],
    replicas: usize,
    exclude: &[ChunkserverId],
    rng: &mut R,
) -> Option<Vec<ReplicaTarget>> {
    if let Some(out) = place(candidates, replicas, exclude, rng) {
        return Some(out);
    }
    let mut out = Vec::with_capacity(replicas);
    let healthy = candidates
        .iter()
        .filter(|c| !exclude.contains(&c.id) && c.disks.iter().any(eligible))
        .count();
    fill(candidates, healthy, exclude, eligible, &mut out, rng)?;
    let mut taken: Vec<ChunkserverId> = exclude.to_vec();
    taken.extend(out.iter().map(|t| t.replica.chunkserver));
    fill(
        candidates,
        replicas,
        &taken,
        eligible_fallback,
        &mut out,
        rng,
    )?;
    Some(out)
}

/// Adds targets on disks passing `ok`, on chunkservers not in `exclude`, until `out` holds
/// `want`; `None` if they run out first.
fn fill<R: Rng>(
    candidates: &[Candidate],
    want: usize,
    exclude: &[ChunkserverId],
    ok: fn(&DiskReport) -> bool,
    out: &mut Vec<ReplicaTarget>,
    rng: &mut R,
) -> Option<()> {
    let mut pool: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| !exclude.contains(&c.id) && c.disks.iter().any(ok))
        .collect();
    while out.len() < want {
        let weights: Vec<u64> = pool
            .iter()
            .map(|c| c.disks.iter().filter(|d| ok(d)).map(weight).sum())
            .collect();
        let i = pick_weighted(&weights, rng)?;
        let c = pool.swap_remove(i);
        let disks: Vec<&DiskReport> = c.disks.iter().filter(|d| ok(d)).collect();
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
    Some(())
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
    fn writes_fall_back_to_suspect_disks_on_distinct_chunkservers() {
        let mut c = cluster(4);
        // Chunkserver 1: healthy; 2: suspect and failed; 3: all suspect; 4: suspect but full.
        c[1].disks[0].state = DiskState::Suspect;
        c[1].disks[1].state = DiskState::Failed;
        for d in &mut c[2].disks {
            d.state = DiskState::Suspect;
        }
        for d in &mut c[3].disks {
            d.state = DiskState::Suspect;
            d.free_bytes = MIN_FREE_BYTES - 1;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        assert!(place(&c, 3, &[], &mut rng).is_none(), "repair stays strict");
        for _ in 0..200 {
            let got = place_write(&c, 3, &[], &mut rng).expect("fallback placement");
            let mut ids: Vec<u64> = got.iter().map(|t| t.replica.chunkserver).collect();
            ids.sort();
            assert_eq!(ids, vec![1, 2, 3], "distinct, never the full one");
            for t in &got {
                let d = c
                    .iter()
                    .flat_map(|c| &c.disks)
                    .find(|d| d.disk_id == t.replica.disk)
                    .expect("a known disk");
                assert_ne!(d.state, DiskState::Failed, "never a failed disk");
                if t.replica.chunkserver == 1 {
                    assert_eq!(d.state, DiskState::Healthy, "healthy first");
                }
            }
        }
        // Healthy everywhere: the fallback changes nothing.
        let got = place_write(&cluster(3), 3, &[], &mut rng).expect("placement");
        assert_eq!(got.len(), 3);
        // Not enough chunkservers even with suspect disks: still none.
        assert!(place_write(&c, 3, &[3], &mut rng).is_none());
        c[2].disks[0].state = DiskState::Failed;
        c[2].disks[1].state = DiskState::Draining;
        assert!(place_write(&c, 3, &[], &mut rng).is_none());
    }

    #[test]
    fn too_few_chunkservers_is_none() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert!(place(&cluster(2), 3, &[], &mut rng).is_none());
    }
}
