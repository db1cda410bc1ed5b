//! A fake meta-server process (tests/fake, already a leader) with a hand-written
//! cluster.json naming it, and helpers to run `trireme` against it and check its output.

#![allow(dead_code)]

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use trireme_api::cluster_file::{ClusterFile, CLUSTER_FILE_VERSION};
use trireme_api::config::{ClusterSettings, MetaConfigFile, ReadyFile};

pub const TRIREME: &str = env!("CARGO_BIN_EXE_trireme");
pub const ADMIN_KEY: &str = "AKADMIN";
/// The operator tokens of the fake cluster (in its cluster.json).
pub const ADMIN_TOKEN: &str = "trt_fakeadmin";
pub const READER_TOKEN: &str = "trt_fakereader";

/// A fake meta-server process (already a leader) and the cluster file naming it.
pub struct FakeCluster {
    _tmp: tempfile::TempDir,
    pub data: PathBuf,
    meta: Child,
}

impl Drop for FakeCluster {
    fn drop(&mut self) {
        let _ = self.meta.kill();
        let _ = self.meta.wait();
    }
}

impl FakeCluster {
    pub fn start() -> FakeCluster {
        let tmp = tempfile::tempdir().expect("tempdir");
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin dir");
        super::write_wrappers(&bin);
        let data = tmp.path().join("data");
        let meta_dir = data.join("meta-1").join("db");
        std::fs::create_dir_all(&meta_dir).expect("meta dir");
        // An initialised member list: the fake answers as the leader.
        std::fs::write(meta_dir.join("members.json"), r#"{"1":"127.0.0.1:1"}"#).expect("members");
        let tokens = serde_json::json!([
            {"token": ADMIN_TOKEN, "name": "admin", "role": "admin"},
            {"token": READER_TOKEN, "name": "reader", "role": "reader"},
        ]);
        std::fs::write(data.join(super::admin::TOKENS_FILE), tokens.to_string()).expect("tokens");
        let cluster = ClusterSettings {
            cluster_id: "c1".into(),
            secret: "internal-secret".into(),
        };
        let ready = data.join("meta1.ready");
        let config = MetaConfigFile {
            cluster: cluster.clone(),
            node_id: 1,
            listen: "127.0.0.1:0".into(),
            data_dir: meta_dir,
            ready_file: Some(ready.clone()),
            chunkserver_timeout_ms: 10_000,
            raft_heartbeat_ms: 250,
            snapshot_every_logs: 10_000,
            gc_grace_ms: 3_600_000,
            ledger_sweep_ms: 10_000,
        };
        let config_path = data.join("meta1.toml");
        std::fs::write(&config_path, toml::to_string(&config).expect("toml")).expect("config");
        let meta = Command::new(bin.join("trireme-meta"))
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::null())
            .spawn()
            .expect("start the fake meta-server");
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            if let Ok(text) = std::fs::read_to_string(&ready) {
                if let Ok(r) = serde_json::from_str::<ReadyFile>(&text) {
                    break r.addr;
                }
            }
            assert!(Instant::now() < deadline, "the fake meta never got ready");
            std::thread::sleep(Duration::from_millis(20));
        };
        let file = ClusterFile {
            version: CLUSTER_FILE_VERSION,
            cluster_id: cluster.cluster_id,
            secret: cluster.secret,
            endpoint: "http://127.0.0.1:1".into(),
            region: "us-east-1".into(),
            access_key: ADMIN_KEY.into(),
            secret_key: "admin-secret".into(),
            meta: vec![addr],
            processes: vec![],
            admin_token: Some(ADMIN_TOKEN.into()),
            reader_token: Some(READER_TOKEN.into()),
        };
        std::fs::write(
            data.join("cluster.json"),
            serde_json::to_vec(&file).expect("json"),
        )
        .expect("cluster.json");
        FakeCluster {
            _tmp: tmp,
            data,
            meta,
        }
    }

    /// Runs `trireme --data-dir DATA args...` with `stdin` as its standard input.
    pub fn run_with_input(&self, args: &[&str], stdin: &str) -> Output {
        self.run_with_env(args, stdin, &[])
    }

    /// Like [`Self::run_with_input`], with extra environment variables.
    pub fn run_with_env(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let mut child = Command::new(TRIREME)
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .env_remove("TRIREME_DATA_DIR")
            .env_remove("TRIREME_TOKEN")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run trireme");
        let mut input = child.stdin.take().expect("stdin");
        // A command that never reads its input may exit before we write it.
        if let Err(e) = input.write_all(stdin.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
        drop(input);
        child.wait_with_output().expect("wait for trireme")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, "")
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "trireme {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON output")
    }

    pub fn text(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "trireme {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Exit code and the (single-line) error of a failed command.
pub fn failure(out: &Output) -> (Option<i32>, String) {
    let err = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    (out.status.code(), err)
}

pub fn one_line_error(out: &Output, code: i32, needle: &str) {
    let (got, err) = failure(out);
    assert_eq!(got, Some(code), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("trireme: error: ") && last.contains(needle),
        "{err}"
    );
}
