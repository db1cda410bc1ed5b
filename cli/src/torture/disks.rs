//! Real file systems under the chunkservers' disks: each disk slot `DIR/cN/disk-K` is a
//! loop-mounted sparse image, disk-0 XFS (so it can die with `xfs_io -x -c shutdown`) and
//! disk-1 ext4 mounted `errors=remount-ro` (so a file-system error makes it read-only).
//!
//! The servers run under `ip netns exec`, which gives each a mount namespace of its own, a
//! slave of the driver's: so that a disk unmounted or mounted by the driver while a
//! chunkserver runs (a disk swap) is seen by it, `DIR` is bind-mounted onto itself and made
//! shared first. [`Disks`] owns the bind, the loop devices and the mounts and removes them on
//! drop (the cluster guard has killed the processes by then). Images are
//! `DIR/images/trt-RUN-cN-disk-K[-gG].img` and `/run/trireme-torture-disks/RUN` names `DIR`,
//! so `trireme torture --cleanup` finds what a crashed run left ([`cleanup_leftovers`]).

use super::net::{live_driver, sh};
use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Where each run records the directory whose mounts are its disks.
pub const RECORDS_DIR: &str = "/run/trireme-torture-disks";
/// Image sizes: mkfs.xfs wants at least 300 MB; both are sparse.
pub const XFS_BYTES: u64 = 3 << 30;
pub const EXT4_BYTES: u64 = 1 << 30;
/// How long an unmount may stay busy before it is done lazily.
const UMOUNT_PATIENCE: Duration = Duration::from_secs(20);

/// The file system of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsKind {
    Xfs,
    Ext4,
}

impl FsKind {
    /// Slot 0 is XFS, the others ext4.
    pub fn of_slot(k: u64) -> FsKind {
        if k == 0 {
            FsKind::Xfs
        } else {
            FsKind::Ext4
        }
    }

    pub fn bytes(self) -> u64 {
        match self {
            FsKind::Xfs => XFS_BYTES,
            FsKind::Ext4 => EXT4_BYTES,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FsKind::Xfs => "xfs",
            FsKind::Ext4 => "ext4",
        }
    }

    /// The mkfs command line for `target` (an image or a device).
    pub fn mkfs(self, target: &str) -> (&'static str, Vec<String>) {
        match self {
            FsKind::Xfs => ("mkfs.xfs", vec!["-q".into(), "-f".into(), target.into()]),
            FsKind::Ext4 => ("mkfs.ext4", vec!["-q".into(), "-F".into(), target.into()]),
        }
    }

    /// `mount -o` options.
    pub fn options(self) -> &'static str {
        match self {
            FsKind::Xfs => "defaults",
            FsKind::Ext4 => "errors=remount-ro",
        }
    }
}

/// The image file name of slot `k` of node `node`, generation `gen` (1: the first disk).
pub fn image_name(run: &str, node: &str, k: u64, gen: u32) -> String {
    match gen {
        0 | 1 => format!("trt-{run}-{node}-disk-{k}.img"),
        g => format!("trt-{run}-{node}-disk-{k}-g{g}.img"),
    }
}

/// The run id in an image file name (`trt-RUN-...img`).
pub fn run_of_image(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("trt-")?;
    let run = rest.get(..4)?;
    let ok = run.chars().all(|c| c.is_ascii_hexdigit())
        && rest[4..].starts_with('-')
        && name.ends_with(".img");
    ok.then_some(run)
}

/// One loop-mounted disk.
#[derive(Clone, Debug)]
pub struct Mount {
    /// `c1`..`c4`.
    pub node: String,
    pub slot: u64,
    pub kind: FsKind,
    pub mountpoint: PathBuf,
    pub image: PathBuf,
    /// `/dev/loopN` while attached.
    pub device: Option<String>,
    pub mounted: bool,
    generation: u32,
    run: String,
}

impl Mount {
    pub fn label(&self) -> String {
        format!("{} disk-{} ({})", self.node, self.slot, self.kind.name())
    }

    /// `loopN`, the name under `/sys/fs/ext4/`.
    pub fn device_name(&self) -> Option<&str> {
        self.device.as_deref()?.strip_prefix("/dev/")
    }

    /// Creates a fresh sparse image with a new file system and attaches it.
    fn make(&mut self) -> Result<()> {
        let dir = self
            .image
            .parent()
            .ok_or_else(|| anyhow!("image without a directory"))?;
        self.image = dir.join(image_name(
            &self.run,
            &self.node,
            self.slot,
            self.generation,
        ));
        let f = std::fs::File::create(&self.image)
            .with_context(|| format!("creating {}", self.image.display()))?;
        f.set_len(self.kind.bytes())
            .with_context(|| format!("sizing {}", self.image.display()))?;
        drop(f);
        let img = self.image.to_string_lossy().into_owned();
        let (prog, args) = self.kind.mkfs(&img);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sh(prog, &args)?;
        let dev = sh("losetup", &["-f", "--show", &img])?.trim().to_string();
        if !dev.starts_with("/dev/loop") {
            return Err(anyhow!("losetup gave {dev:?} for {img}"));
        }
        self.device = Some(dev);
        Ok(())
    }

    /// Mounts the attached image on the slot.
    pub fn mount(&mut self) -> Result<()> {
        let dev = self
            .device
            .clone()
            .ok_or_else(|| anyhow!("{}: no loop device", self.label()))?;
        std::fs::create_dir_all(&self.mountpoint)?;
        let mp = self.mountpoint.to_string_lossy().into_owned();
        let opts = self.kind.options();
        sh("mount", &["-t", self.kind.name(), "-o", opts, &dev, &mp])?;
        self.mounted = true;
        Ok(())
    }

    /// Unmounts, retrying while busy, then lazily.
    pub fn unmount(&mut self) -> Result<()> {
        if !self.mounted {
            return Ok(());
        }
        umount_patiently(&self.mountpoint)?;
        self.mounted = false;
        Ok(())
    }

    /// `e2fsck -fy` on the (unmounted) device; exit codes 0-3 mean clean or repaired.
    pub fn fsck(&self) -> Result<String> {
        let dev = self
            .device
            .as_deref()
            .ok_or_else(|| anyhow!("{}: no loop device", self.label()))?;
        let out = Command::new("e2fsck").args(["-fy", dev]).output()?;
        match out.status.code() {
            Some(c) if c <= 3 => Ok(format!("e2fsck exit {c}")),
            _ => Err(anyhow!(
                "e2fsck -fy {dev} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stdout).trim()
            )),
        }
    }

    /// Pulls the disk and puts a new blank one in the slot: unmount, detach and delete the
    /// old image, then a new image with a new file system, mounted on the slot.
    pub fn replace_with_blank(&mut self) -> Result<()> {
        self.unmount()?;
        self.detach();
        let _ = std::fs::remove_file(&self.image);
        self.generation += 1;
        self.make()?;
        self.mount()
    }

    fn detach(&mut self) {
        if let Some(dev) = self.device.take() {
            let _ = sh("losetup", &["-d", &dev]);
        }
    }
}

/// Unmounts `path`, retrying for a while if busy, then lazily (`umount -l`).
fn umount_patiently(path: &Path) -> Result<()> {
    let p = path.to_string_lossy().into_owned();
    let start = Instant::now();
    loop {
        match sh("umount", &[&p]) {
            Ok(_) => return Ok(()),
            Err(e) if start.elapsed() >= UMOUNT_PATIENCE => {
                eprintln!("  {p} stays busy ({e:#}); unmounting it lazily");
                sh("umount", &["-l", &p])?;
                return Ok(());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Every disk of a torture cluster, and the shared bind that carries mounts into the
/// servers' mount namespaces. Dropping it unmounts and detaches everything.
pub struct Disks {
    pub mounts: Vec<Mount>,
    dir: PathBuf,
    bound: bool,
    record: PathBuf,
    /// What a disk fault's recovery must still see (see [`super::diskcheck`]).
    pub pending: std::sync::Mutex<Option<super::diskcheck::Pending>>,
    /// The repair figures of the last disk fault, for the scenario's report.
    pub figures: std::sync::Mutex<Option<String>>,
}

impl Disks {
    /// Makes `dir` a shared mount and mounts a new file system on `disks` slots of every
    /// chunkserver (`(name, node dir)`), at `NODE_DIR/disk-K`.
    pub fn create(
        dir: &Path,
        run: &str,
        chunkservers: &[(String, PathBuf)],
        disks: u64,
    ) -> Result<Disks> {
        Disks::try_create(dir, run, chunkservers, disks).map_err(|e| {
            anyhow!("cannot set up the loop-mounted chunkserver disks (needs root, loop devices, xfsprogs and e2fsprogs): {e:#}")
        })
    }

    fn try_create(
        dir: &Path,
        run: &str,
        chunkservers: &[(String, PathBuf)],
        disks: u64,
    ) -> Result<Disks> {
        for (prog, pkg) in [
            ("losetup", "util-linux"),
            ("mkfs.xfs", "xfsprogs"),
            ("xfs_io", "xfsprogs"),
            ("mkfs.ext4", "e2fsprogs"),
            ("e2fsck", "e2fsprogs"),
        ] {
            if sh(prog, &["-V"]).is_err() {
                return Err(anyhow!("`{prog}` is missing: install `{pkg}`"));
            }
        }
        std::fs::create_dir_all(dir)?;
        std::fs::create_dir_all(RECORDS_DIR)?;
        let mut me = Disks {
            mounts: Vec::new(),
            dir: dir.to_path_buf(),
            bound: false,
            record: Path::new(RECORDS_DIR).join(run),
            pending: std::sync::Mutex::new(None),
            figures: std::sync::Mutex::new(None),
        };
        std::fs::write(&me.record, dir.to_string_lossy().as_bytes())?;
        let d = dir.to_string_lossy().into_owned();
        sh("mount", &["--bind", &d, &d])?;
        me.bound = true;
        sh("mount", &["--make-shared", &d])?;
        let images = dir.join("images");
        std::fs::create_dir_all(&images)?;
        for (node, node_dir) in chunkservers {
            for k in 0..disks {
                let mut m = Mount {
                    node: node.clone(),
                    slot: k,
                    kind: FsKind::of_slot(k),
                    mountpoint: node_dir.join(format!("disk-{k}")),
                    image: images.join("x"),
                    device: None,
                    mounted: false,
                    generation: 1,
                    run: run.to_string(),
                };
                let made = m.make();
                me.mounts.push(m);
                made?;
                if let Some(m) = me.mounts.last_mut() {
                    m.mount()?;
                }
            }
        }
        Ok(me)
    }

    /// The disk in slot `k` of node `node`.
    pub fn get_mut(&mut self, node: &str, k: u64) -> Option<&mut Mount> {
        self.mounts
            .iter_mut()
            .find(|m| m.node == node && m.slot == k)
    }

    pub fn get(&self, node: &str, k: u64) -> Option<&Mount> {
        self.mounts.iter().find(|m| m.node == node && m.slot == k)
    }

    /// Unmounts and detaches everything (processes must be gone).
    pub fn remove(&mut self) {
        for m in &mut self.mounts {
            if let Err(e) = m.unmount() {
                eprintln!("  {e:#}");
            }
            m.detach();
        }
        self.mounts.clear();
        if self.bound {
            if let Err(e) = umount_patiently(&self.dir) {
                eprintln!("  {e:#}");
            }
            self.bound = false;
        }
        let _ = std::fs::remove_file(&self.record);
    }
}

impl Drop for Disks {
    fn drop(&mut self) {
        self.remove();
    }
}

/// One line of `/proc/self/mountinfo`: (mount point, source).
pub fn parse_mountinfo_line(line: &str) -> Option<(String, String)> {
    let (left, right) = line.split_once(" - ")?;
    let target = left.split(' ').nth(4)?;
    let source = right.split(' ').nth(1)?;
    Some((unescape(target), unescape(source)))
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match oct {
            Some(d) => {
                out.push(d.iter().fold(0u8, |a, c| a.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn mounts() -> Vec<(String, String)> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(parse_mountinfo_line)
        .collect()
}

/// Removes the disks of earlier runs whose driver is gone: their loop mounts, loop devices
/// and shared binds. Processes must be gone first (`net::cleanup_leftovers` kills them).
pub fn cleanup_leftovers() -> Vec<String> {
    let mut removed = Vec::new();
    let unmount = |target: &str, removed: &mut Vec<String>| {
        if umount_patiently(Path::new(target)).is_ok() {
            removed.push(format!("mount {target}"));
        }
    };
    // Loop devices backed by our images, and whatever mounts them.
    let loops =
        std::fs::read_dir("/sys/block").map(|d| d.filter_map(|e| e.ok()).collect::<Vec<_>>());
    for entry in loops.unwrap_or_default() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(backing) = std::fs::read_to_string(entry.path().join("loop/backing_file")) else {
            continue;
        };
        let backing = backing.trim().trim_end_matches(" (deleted)");
        let file = Path::new(backing)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(run) = run_of_image(&file) else {
            continue;
        };
        if live_driver(run).is_some() {
            continue;
        }
        let dev = format!("/dev/{name}");
        for (target, _) in mounts().into_iter().filter(|(_, s)| *s == dev).rev() {
            unmount(&target, &mut removed);
        }
        if sh("losetup", &["-d", &dev]).is_ok() {
            removed.push(format!("loop device {dev} ({file})"));
        }
    }
    // The shared binds (and anything still mounted under them).
    if let Ok(entries) = std::fs::read_dir(RECORDS_DIR) {
        for run in entries.filter_map(|e| e.ok()?.file_name().into_string().ok()) {
            if live_driver(&run).is_some() {
                continue;
            }
            let record = Path::new(RECORDS_DIR).join(&run);
            let dir = std::fs::read_to_string(&record).unwrap_or_default();
            if !dir.is_empty() {
                let under = format!("{dir}/");
                let mut targets: Vec<String> = mounts()
                    .into_iter()
                    .map(|(t, _)| t)
                    .filter(|t| *t == dir || t.starts_with(&under))
                    .collect();
                targets.sort_by_key(|t| std::cmp::Reverse(t.len()));
                for t in targets {
                    unmount(&t, &mut removed);
                }
            }
            let _ = std::fs::remove_file(&record);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_carry_the_run() {
        assert_eq!(image_name("ab12", "c3", 1, 1), "trt-ab12-c3-disk-1.img");
        assert_eq!(image_name("ab12", "c3", 0, 2), "trt-ab12-c3-disk-0-g2.img");
        assert_eq!(run_of_image("trt-ab12-c3-disk-1.img"), Some("ab12"));
        assert_eq!(run_of_image("trt-ab12-c3-disk-0-g2.img"), Some("ab12"));
        assert_eq!(run_of_image("trt-xyzw-c3-disk-1.img"), None);
        assert_eq!(run_of_image("trt-ab12-c3-disk-1.raw"), None);
        assert_eq!(run_of_image("disk.img"), None);
    }

    #[test]
    fn slots_alternate_xfs_and_ext4() {
        assert_eq!(FsKind::of_slot(0), FsKind::Xfs);
        assert_eq!(FsKind::of_slot(1), FsKind::Ext4);
        assert!(FsKind::Xfs.bytes() >= 300_000_000);
        assert_eq!(FsKind::Ext4.options(), "errors=remount-ro");
        let (prog, args) = FsKind::Xfs.mkfs("/dev/loop3");
        assert_eq!(
            (prog, args.join(" ").as_str()),
            ("mkfs.xfs", "-q -f /dev/loop3")
        );
    }

    #[test]
    fn mountinfo_lines() {
        let line = "36 35 98:0 / /r/a\\040b/c1/disk-0 rw,noatime shared:1 - xfs /dev/loop3 rw";
        assert_eq!(
            parse_mountinfo_line(line),
            Some(("/r/a b/c1/disk-0".into(), "/dev/loop3".into()))
        );
        assert_eq!(parse_mountinfo_line("garbage"), None);
    }
}
