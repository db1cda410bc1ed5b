//! The corrupt-chunks fault: bytes flipped in some chunk files of one disk and others
//! truncated (`DISK/chunks/XX/ID`, see the chunkserver's `disk.rs`), chunks of live objects
//! first (found through `ListObjects` and `ExplainObject` on the leader).

use super::client::Clients;
use super::cluster::Cluster;
use super::diskfault::{mark, meta};
use anyhow::{anyhow, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use std::collections::HashSet;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use trireme_api::inspect::ExplainObject;
use trireme_api::meta::ListObjects;

/// Files to damage per round: at most this many flipped, and this many truncated.
const FLIPS: usize = 8;
const TRUNCATES: usize = 4;

/// Damages chunk files on disk `path` of chunkserver `cs`, chunks of live objects first;
/// returns (path, inode) of each.
pub async fn damage_round(
    cluster: &Cluster,
    clients: &Clients,
    cs: u64,
    path: &str,
    label: &str,
    seed: u64,
) -> Result<Vec<(PathBuf, u64)>> {
    let dir = PathBuf::from(path);
    let live = referenced(cluster, &clients.bucket, cs, path).await;
    let damaged = tokio::task::spawn_blocking(move || damage(&dir, &live, seed)).await??;
    let flipped = damaged.iter().filter(|d| d.2).count();
    let named = damaged.iter().filter(|d| d.3).count();
    mark(
        clients,
        format!(
            "fault: flipped bytes in {flipped} and truncated {} chunk files on {label} \
             ({named} of them chunks of live objects)",
            damaged.len() - flipped
        ),
    );
    Ok(damaged.into_iter().map(|(p, ino, _, _)| (p, ino)).collect())
}

/// Every chunk file on a disk (`chunks/XX/ID`).
pub fn chunk_files(disk: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(disk.join("chunks")) else {
        return out;
    };
    for d in dirs.filter_map(|e| e.ok()) {
        if let Ok(files) = std::fs::read_dir(d.path()) {
            out.extend(
                files
                    .filter_map(|e| e.ok())
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .map(|e| e.path()),
            );
        }
    }
    out.sort();
    out
}

/// Which files to damage, given `preferred` files (chunks of live objects) and `others`:
/// indexes into `preferred ++ others`, preferred first, each with whether to flip bytes
/// (true) or truncate; two flips for every truncation, at most `FLIPS + TRUNCATES` files.
pub fn plan_damage(preferred: usize, others: usize, rng: &mut impl Rng) -> Vec<(usize, bool)> {
    let mut a: Vec<usize> = (0..preferred).collect();
    let mut b: Vec<usize> = (preferred..preferred + others).collect();
    a.shuffle(rng);
    b.shuffle(rng);
    a.into_iter()
        .chain(b)
        .take(FLIPS + TRUNCATES)
        .enumerate()
        .map(|(k, i)| (i, k % 3 != 2))
        .collect()
}

/// The chunks of (some of) the live objects of `bucket` with a replica on disk `path` of
/// chunkserver `cs` (best effort: empty on any error).
async fn referenced(cluster: &Cluster, bucket: &str, cs: u64, path: &str) -> HashSet<String> {
    let client = meta(cluster);
    let mut out = HashSet::new();
    let list = ListObjects {
        bucket: bucket.to_string(),
        prefix: String::new(),
        delimiter: None,
        start_after: None,
        continue_after: None,
        max_keys: 1000,
    };
    let Ok(objects) = client.call(&list).await else {
        return out;
    };
    for o in objects.objects.iter().rev().take(60) {
        let req = ExplainObject {
            bucket: bucket.to_string(),
            key: o.key.clone(),
        };
        let Ok(e) = client.call(&req).await else {
            continue;
        };
        for c in e.chunks {
            let here = c
                .replicas
                .iter()
                .any(|r| r.chunkserver == cs && r.path.as_deref() == Some(path));
            if here {
                out.insert(c.id.0);
            }
        }
    }
    out
}

/// Damages chunk files on `disk`, chunks in `live` first: (path, inode, flipped, live).
fn damage(
    disk: &Path,
    live: &HashSet<String>,
    seed: u64,
) -> Result<Vec<(PathBuf, u64, bool, bool)>> {
    use rand::SeedableRng;
    let mut rng = StdRng::seed_from_u64(seed);
    let start = Instant::now();
    let mut files = chunk_files(disk);
    while files.len() < 8 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(500));
        files = chunk_files(disk);
    }
    let is_live = |p: &PathBuf| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| live.contains(n))
    };
    let (mut files, others): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(is_live);
    let preferred = files.len();
    files.extend(others);
    let mut out = Vec::new();
    for (i, flip) in plan_damage(preferred, files.len() - preferred, &mut rng) {
        let path = &files[i];
        let Ok(f) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
        else {
            continue;
        };
        let len = f.metadata()?.len();
        if len == 0 {
            continue;
        }
        if flip {
            let at = rng.gen_range(len / 2..len);
            let mut buf = [0u8; 16];
            let n = f.read_at(&mut buf, at)?;
            for b in &mut buf[..n] {
                *b ^= 0x5a;
            }
            f.write_at(&buf[..n], at)?;
        } else {
            f.set_len(rng.gen_range(0..len))?;
        }
        f.sync_all()?;
        out.push((path.clone(), f.metadata()?.ino(), flip, i < preferred));
    }
    if out.is_empty() {
        return Err(anyhow!("no chunk files to damage on {}", disk.display()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn damage_plans_flip_and_truncate_distinct_files() {
        let mut rng = StdRng::seed_from_u64(7);
        let plan = plan_damage(5, 95, &mut rng);
        assert_eq!(plan.len(), FLIPS + TRUNCATES);
        assert_eq!(plan.iter().filter(|p| p.1).count(), FLIPS);
        let mut idx: Vec<usize> = plan.iter().map(|p| p.0).collect();
        // The preferred files come first.
        let mut head = idx[..5].to_vec();
        head.sort();
        assert_eq!(head, [0, 1, 2, 3, 4]);
        idx.sort();
        idx.dedup();
        assert_eq!(idx.len(), plan.len());
        let small = plan_damage(0, 5, &mut rng);
        assert_eq!((small.len(), small.iter().filter(|p| p.1).count()), (5, 4));
        assert!(plan_damage(0, 0, &mut rng).is_empty());
    }

    #[test]
    fn chunk_files_walks_two_levels() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path().join("chunks").join("ab");
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("abcd"), b"x").expect("write");
        std::fs::write(dir.path().join("trireme-disk.json"), b"{}").expect("write");
        assert_eq!(chunk_files(dir.path()), vec![d.join("abcd")]);
        assert!(chunk_files(&dir.path().join("none")).is_empty());
    }
}
