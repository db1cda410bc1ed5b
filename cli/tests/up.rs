//! End-to-end tests of `trireme up` and the admin commands, with fake server processes
//! (tests/fake) standing in for the real meta-server, chunkserver and gateway binaries.

mod fake;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use trireme_api::cluster_file::ClusterFile;

const TRIREME: &str = env!("CARGO_BIN_EXE_trireme");
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Not a test: the body of the fake server processes (see `fake::write_wrappers`).
#[test]
#[ignore = "runs only as a fake server process started by the other tests"]
fn fake_server() {
    fake::main_if_asked();
}

/// A running `trireme up`, with its stdout lines forwarded to a channel.
struct Up {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Up {
    fn start(bin_dir: &Path, data_dir: &Path, extra_env: &[(&str, &str)]) -> Up {
        let mut cmd = Command::new(TRIREME);
        cmd.args(["up", "--data-dir"])
            .arg(data_dir)
            .args([
                "--s3-addr",
                "127.0.0.1:0",
                "--chunkservers",
                "3",
                "--heartbeat-ms",
                "100",
            ])
            .env("TRIREME_BIN_DIR", bin_dir)
            .env_remove("TRIREME_DATA_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start trireme up");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Up {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for the banner's last line.
    fn wait_banner(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let done = line.contains("Ctrl-C to stop");
                    self.seen.push(line);
                    if done {
                        return;
                    }
                }
                Err(e) => {
                    let status = self.child.try_wait().ok().flatten();
                    panic!("no banner from trireme up ({e}, exit status {status:?}); stdout so far: {:?}", self.seen)
                }
            }
        }
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on a child we started and have not reaped.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, sig);
        }
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "trireme up did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal(libc::SIGTERM);
            let _ = self.wait_exit(Duration::from_secs(30));
        }
    }
}

fn trireme(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(TRIREME)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("TRIREME_DATA_DIR")
        .env_remove("TRIREME_TOKEN")
        .output()
        .expect("run trireme")
}

fn json_ok(data_dir: &Path, args: &[&str]) -> Value {
    let out = trireme(data_dir, args);
    assert!(
        out.status.success(),
        "trireme {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn read_cluster(data_dir: &Path) -> ClusterFile {
    let text = std::fs::read_to_string(data_dir.join("cluster.json")).expect("cluster.json");
    serde_json::from_str(&text).expect("parse cluster.json")
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

fn wait_dead(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while pids.iter().any(|p| alive(*p)) {
        assert!(
            Instant::now() < deadline,
            "children still running: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    fake::write_wrappers(&bin);
    let data = tmp.path().join("data");
    (tmp, bin, data)
}

#[test]
fn up_admin_stop_and_restart() {
    let (_tmp, bin, data) = setup();
    let mut up = Up::start(&bin, &data, &[]);
    up.wait_banner();
    let first = read_cluster(&data);
    assert_eq!(first.processes.len(), 3 + 3 + 1);
    assert_eq!(first.meta.len(), 3);
    assert_eq!(first.region, "us-east-1");
    assert!(!first.endpoint.ends_with(":0") && first.endpoint.starts_with("http://127.0.0.1:"));
    assert!(
        up.seen.iter().any(|l| l.contains(&first.endpoint)),
        "banner shows the endpoint"
    );
    assert!(
        up.seen.iter().any(|l| l.contains(&first.secret_key)),
        "banner shows the secret key"
    );
    // Operator tokens: one admin, one reader, in cluster.json, and the banner says where.
    let (admin, reader) = (
        first.admin_token.clone().expect("admin token"),
        first.reader_token.clone().expect("reader token"),
    );
    assert!(admin.starts_with("trt_") && reader.starts_with("trt_") && admin != reader);
    assert!(
        up.seen
            .iter()
            .any(|l| l.contains("admin_token and reader_token in")),
        "banner names the tokens: {:?}",
        up.seen
    );
    let tokens = json_ok(&data, &["token", "list", "--json"]);
    let roles: Vec<(&str, &str)> = tokens["tokens"]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap_or(""),
                t["role"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(roles, [("admin", "admin"), ("reader", "reader")]);
    let cs: Vec<_> = first
        .processes
        .iter()
        .filter(|p| p.role == "chunkserver")
        .collect();
    assert_eq!(cs.len(), 3);
    assert!(cs
        .iter()
        .all(|p| p.disks.len() == 2 && p.disks.iter().all(|d| d.is_dir())));
    for p in &first.processes {
        let config = std::fs::read_to_string(&p.config).expect("config");
        assert!(
            config.contains(&format!("listen = \"{}\"", p.addr)),
            "{} pinned to its address",
            p.config.display()
        );
    }

    // Admin commands against the running cluster.
    let status = json_ok(&data, &["cluster", "status", "--json"]);
    assert_eq!(status["leader"], 1);
    assert_eq!(status["members"].as_array().map(Vec::len), Some(3));
    assert_eq!(status["chunkservers"]["alive"], 3);
    assert_eq!(status["chunkservers"]["disks_by_state"]["healthy"], 6);
    let text = trireme(&data, &["cluster", "status"]);
    assert!(text.status.success());
    assert!(String::from_utf8_lossy(&text.stdout).contains("chunkservers  3/3 alive"));
    let list = json_ok(&data, &["chunkserver", "list", "--json"]);
    assert_eq!(list["chunkservers"].as_array().map(Vec::len), Some(3));
    let disks = json_ok(&data, &["disk", "list", "--json"]);
    assert_eq!(disks["disks"].as_array().map(Vec::len), Some(6));
    assert_eq!(disks["disks"][0]["chunkserver"], 1);
    assert_eq!(list["chunkservers"][0]["state"], "up");
    assert_eq!(disks["disks"][0]["health"]["probe_latency_us"], 420);
    let text = trireme(&data, &["chunkserver", "list"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.starts_with("ID  ADDR"), "{text}");
    let up_rows = text
        .lines()
        .filter(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.get(2) == Some(&"up") && cells.get(3) == Some(&"alive")
        })
        .count();
    assert_eq!(up_rows, 3, "{text}");
    let text = trireme(&data, &["disk", "list"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("PROBE  IO ERRORS  CORRUPT"), "{text}");
    assert_eq!(text.matches("  420us  ").count(), 6, "{text}");

    let created = json_ok(&data, &["bucket", "create", "photos", "--json"]);
    assert_eq!(created["owner"], first.access_key.as_str());
    json_ok(
        &data,
        &[
            "bucket", "create", "full-one", "--owner", "AKOTHER", "--json",
        ],
    );
    let buckets = json_ok(&data, &["bucket", "list", "--json"]);
    assert_eq!(buckets["buckets"].as_array().map(Vec::len), Some(2));
    let table = trireme(&data, &["bucket", "list"]);
    let table = String::from_utf8_lossy(&table.stdout).to_string();
    assert!(
        table.starts_with("NAME") && table.contains("full-one  AKOTHER"),
        "{table}"
    );
    let full = trireme(&data, &["bucket", "delete", "full-one", "--yes"]);
    assert_eq!(full.status.code(), Some(1));
    let err = String::from_utf8_lossy(&full.stderr).to_string();
    // The plan first, then the error on one line.
    assert!(err.starts_with("Will delete bucket full-one"), "{err}");
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("trireme: error: ") && last.contains("BucketNotEmpty"),
        "{err}"
    );
    assert_eq!(
        trireme(&data, &["bucket", "delete", "photos", "--yes"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        trireme(&data, &["bucket", "delete", "photos", "--yes"])
            .status
            .code(),
        Some(1)
    );
    let key = json_ok(&data, &["key", "create", "--name", "ci", "--json"]);
    assert!(key["secret_key"].as_str().is_some_and(|s| !s.is_empty()));
    let keys = json_ok(&data, &["key", "list", "--json"]);
    assert_eq!(keys["keys"].as_array().map(Vec::len), Some(2));
    assert!(
        keys["keys"][0].get("secret_key").is_none(),
        "listings carry no secrets"
    );

    // Stop: exit 0, every child gone.
    up.signal(libc::SIGTERM);
    assert!(up.wait_exit(Duration::from_secs(30)).success());
    let pids: Vec<u32> = first.processes.iter().map(|p| p.pid).collect();
    wait_dead(&pids);
    let down = trireme(&data, &["cluster", "status"]);
    assert_eq!(
        down.status.code(),
        Some(2),
        "unreachable: {}",
        String::from_utf8_lossy(&down.stderr)
    );

    // Restart: same ports and keys, new pids.
    let mut up = Up::start(&bin, &data, &[]);
    up.wait_banner();
    let second = read_cluster(&data);
    assert_eq!(second.access_key, first.access_key);
    assert_eq!(second.secret, first.secret);
    assert_eq!(second.admin_token, first.admin_token);
    assert_eq!(second.reader_token, first.reader_token);
    assert_eq!(second.endpoint, first.endpoint);
    assert_eq!(second.meta, first.meta);
    for (a, b) in first.processes.iter().zip(&second.processes) {
        assert_eq!((&a.role, a.id, &a.addr), (&b.role, b.id, &b.addr));
        assert_ne!(a.pid, b.pid);
    }
    assert_eq!(
        json_ok(&data, &["cluster", "status", "--json"])["chunkservers"]["alive"],
        3
    );

    // A second `up` on the same directory refuses while the first runs.
    let mut again = Up::start(&bin, &data, &[]);
    let status = again.wait_exit(Duration::from_secs(30));
    assert_eq!(status.code(), Some(1));

    up.signal(libc::SIGINT);
    assert!(up.wait_exit(Duration::from_secs(30)).success());
    wait_dead(&second.processes.iter().map(|p| p.pid).collect::<Vec<_>>());
}

#[test]
fn up_reports_a_server_that_fails_to_start() {
    let (_tmp, bin, data) = setup();
    let mut up = Up::start(&bin, &data, &[(fake::FAIL_ENV, "chunkserver")]);
    let status = up.wait_exit(START_TIMEOUT);
    assert_eq!(status.code(), Some(1));
    let log = std::fs::read_to_string(data.join("chunkserver-1/log")).expect("log");
    assert!(log.contains("failing on purpose"));
    assert!(!data.join("cluster.json").exists());
    // The metas it had started are stopped again.
    let meta_ready =
        std::fs::read_to_string(data.join("meta-1/ready.json")).expect("meta ready file");
    let ready: trireme_api::config::ReadyFile = serde_json::from_str(&meta_ready).expect("ready");
    wait_dead(&[ready.pid]);
}

#[test]
fn up_names_a_missing_binary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new(TRIREME)
        .args(["up", "--data-dir"])
        .arg(tmp.path().join("data"))
        .env("TRIREME_BIN_DIR", tmp.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trireme-meta"));
}

#[test]
fn admin_without_a_cluster_file_exits_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = trireme(&tmp.path().join("nothing"), &["cluster", "status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("no cluster file") && err.trim_end().lines().count() == 1,
        "{err}"
    );

    let file = tmp.path().join("elsewhere.json");
    let out = Command::new(TRIREME)
        .args(["bucket", "list", "--config"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("from --config"));
}
