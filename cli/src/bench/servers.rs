//! What the servers of a local cluster spend during a phase: CPU per process group, and the
//! bytes the data disk read.
//!
//! When the endpoint comes from a cluster file (`trireme up`), every node's directory next to
//! it holds a `ready.json` with the node's pid; `/proc/PID/stat` gives its CPU time. With the
//! CPU of the gateways, chunkservers and meta-servers the report can say how many CPU-seconds
//! the whole cluster spent per GiB moved (a target of issue 6). The block device holding the
//! cluster's data directory (or the `--limits` directory) gives the bytes read from disk, which
//! says whether a large GET was served from the disk or from the page cache.
//!
//! Everything here is best effort: a node that is gone or a `/proc` that cannot be read leaves
//! its figure out, never fails the run.

use serde::Serialize;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The processes and the disk to watch.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// (group, pid): group is "gateway", "chunkserver" or "meta-server".
    procs: Vec<(String, i32)>,
    /// `/sys/dev/block/MAJ:MIN/stat` of the data disk.
    disk_stat: Option<PathBuf>,
}

/// One reading.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// Clock ticks per group.
    ticks: BTreeMap<String, u64>,
    disk_read_sectors: Option<u64>,
}

/// What the servers spent between two samples.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Usage {
    /// CPU-seconds per process group.
    pub cpu_s: BTreeMap<String, f64>,
    /// Bytes read from the data disk (all readers on that device).
    pub disk_read_bytes: Option<u64>,
}

impl Usage {
    /// CPU-seconds of all server processes.
    pub fn total_cpu_s(&self) -> f64 {
        self.cpu_s.values().sum()
    }
}

impl Probe {
    /// Finds the nodes of the cluster whose cluster file is in `cluster_dir` (may be none)
    /// and the device of `disk_dir`.
    pub fn discover(cluster_dir: Option<&Path>, disk_dir: Option<&Path>) -> Probe {
        let mut procs = Vec::new();
        if let Some(entries) = cluster_dir.and_then(|d| std::fs::read_dir(d).ok()) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(group) = group_of(&name) else {
                    continue;
                };
                if let Some(pid) = ready_pid(&e.path().join("ready.json")) {
                    procs.push((group.to_string(), pid));
                }
            }
        }
        procs.sort();
        Probe {
            procs,
            disk_stat: disk_dir.and_then(device_stat_path),
        }
    }

    /// Whether there is anything to watch.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty() && self.disk_stat.is_none()
    }

    /// Reads the counters now.
    pub fn sample(&self) -> Sample {
        let mut ticks = BTreeMap::new();
        for (group, pid) in &self.procs {
            if let Some(t) = proc_ticks(*pid) {
                *ticks.entry(group.clone()).or_insert(0) += t;
            }
        }
        Sample {
            ticks,
            disk_read_sectors: self.disk_stat.as_deref().and_then(read_sectors),
        }
    }
}

/// The usage between `before` and `after`.
pub fn usage(before: &Sample, after: &Sample) -> Usage {
    let hz = clock_ticks_per_s();
    let cpu_s = after
        .ticks
        .iter()
        .filter_map(|(g, t)| {
            let t0 = before.ticks.get(g)?;
            Some((g.clone(), t.saturating_sub(*t0) as f64 / hz))
        })
        .collect();
    let disk_read_bytes = match (before.disk_read_sectors, after.disk_read_sectors) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) * 512),
        _ => None,
    };
    Usage {
        cpu_s,
        disk_read_bytes,
    }
}

/// The process group of a node directory `trireme up` made ("chunkserver-3" -> chunkserver).
fn group_of(dir_name: &str) -> Option<&'static str> {
    let (kind, n) = dir_name.rsplit_once('-')?;
    n.parse::<u32>().ok()?;
    match kind {
        "gateway" => Some("gateway"),
        "chunkserver" => Some("chunkserver"),
        "meta" => Some("meta-server"),
        _ => None,
    }
}

fn ready_pid(path: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(path).ok()?;
    let ready: trireme_api::config::ReadyFile = serde_json::from_str(&text).ok()?;
    i32::try_from(ready.pid).ok()
}

/// utime + stime of a live process, in clock ticks.
fn proc_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_ticks(&stat)
}

/// Fields 14 and 15 of `/proc/PID/stat`; the command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its closing parenthesis.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ")": field 3 (state) is the first; utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_s() -> f64 {
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// `/sys/dev/block/MAJ:MIN/stat` for the device holding `dir`.
fn device_stat_path(dir: &Path) -> Option<PathBuf> {
    let dev = std::fs::metadata(dir).ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let p = PathBuf::from(format!("/sys/dev/block/{major}:{minor}/stat"));
    p.exists().then_some(p)
}

/// Sectors read (the third field of a block device's `stat`).
fn read_sectors(path: &Path) -> Option<u64> {
    parse_sectors_read(&std::fs::read_to_string(path).ok()?)
}

pub fn parse_sectors_read(stat: &str) -> Option<u64> {
    stat.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let stat = "123 (tokio (rt) x) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        assert_eq!(parse_stat_ticks(stat), Some(300));
        assert_eq!(parse_stat_ticks("garbage"), None);
        assert_eq!(parse_stat_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn sectors_read_is_the_third_field() {
        let stat = "   41350        0  7012838    10871   126413";
        assert_eq!(parse_sectors_read(stat), Some(7_012_838));
        assert_eq!(parse_sectors_read("1 2"), None);
    }

    #[test]
    fn node_directories_map_to_groups() {
        assert_eq!(group_of("chunkserver-12"), Some("chunkserver"));
        assert_eq!(group_of("meta-1"), Some("meta-server"));
        assert_eq!(group_of("gateway-1"), Some("gateway"));
        assert_eq!(group_of("gateway"), None);
        assert_eq!(group_of("cluster.json"), None);
        assert_eq!(group_of("meta-x"), None);
    }

    #[test]
    fn this_process_is_measured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = dir.path().join("gateway-1");
        std::fs::create_dir(&node).expect("mkdir");
        let ready = format!(r#"{{"addr":"127.0.0.1:1","pid":{}}}"#, std::process::id());
        std::fs::write(node.join("ready.json"), ready).expect("write");
        std::fs::create_dir(dir.path().join("meta-1")).expect("mkdir without ready file");
        let probe = Probe::discover(Some(dir.path()), Some(dir.path()));
        assert_eq!(probe.procs.len(), 1);
        let before = probe.sample();
        let t = std::time::Instant::now();
        let mut x = 0u64;
        while t.elapsed() < std::time::Duration::from_millis(300) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let u = usage(&before, &probe.sample());
        let cpu = u.cpu_s.get("gateway").copied().unwrap_or_default();
        assert!(cpu > 0.05 && cpu < 5.0, "{cpu}");
    }
}
