//! `trireme worker list|set`: the named background workers of every server (state,
//! progress, error counts) and the cluster-wide run-time settings
//! ([`trireme_api::durability::WORKER_SETTINGS`]).

use crate::cluster::Cluster;
use crate::error::{one_line, CliError};
use crate::output::{emit, human_bytes, print_json, wire_name};
use crate::table::Table;
use trireme_api::durability::{
    setting, ListWorkers, ListWorkersResponse, SetWorkerSetting, WORKER_SETTINGS,
};

pub async fn list(cluster: &Cluster, json: bool) -> Result<(), CliError> {
    let resp = cluster
        .client
        .call(&ListWorkers {})
        .await
        .map_err(|e| CliError::from_client("list workers", e))?;
    if json {
        return print_json(&resp);
    }
    let mut out = render_workers(&resp);
    out.push('\n');
    out.push_str(&render_settings(&resp));
    emit(&out)
}

pub async fn set(cluster: &Cluster, key: &str, value: &str, json: bool) -> Result<(), CliError> {
    let value = validate(key, value)?;
    let resp = cluster
        .client
        .call(&SetWorkerSetting {
            key: key.to_string(),
            value: value.to_string(),
        })
        .await
        .map_err(|e| CliError::from_client(&format!("set {key}"), e))?;
    if json {
        return print_json(&resp);
    }
    emit(&format!("{key} = {value}\n\n{}", render_settings(&resp)))
}

/// Checks a setting before it is sent: a known key and an unsigned integer value.
pub fn validate(key: &str, value: &str) -> Result<u64, CliError> {
    if !WORKER_SETTINGS.iter().any(|s| s.key == key) {
        let keys: Vec<&str> = WORKER_SETTINGS.iter().map(|s| s.key).collect();
        return Err(CliError::Usage(format!(
            "unknown setting {key:?}; the settings are: {}",
            keys.join(", ")
        )));
    }
    value.trim().parse::<u64>().map_err(|_| {
        CliError::Usage(format!(
            "the value of {key} must be an unsigned integer, not {:?}",
            one_line(value)
        ))
    })
}

/// One row per worker, by node then name.
pub fn render_workers(resp: &ListWorkersResponse) -> String {
    let mut workers: Vec<_> = resp.workers.iter().collect();
    workers.sort_by(|a, b| (&a.node, &a.name).cmp(&(&b.node, &b.name)));
    let mut t = Table::new(&[
        "NODE",
        "NAME",
        "STATE",
        "ITEMS",
        "BYTES",
        "ERRORS",
        "PROGRESS",
        "LAST ERROR",
    ])
    .right(&[3, 4, 5]);
    for w in workers {
        t.row([
            if w.node.is_empty() {
                "-"
            } else {
                w.node.as_str()
            }
            .to_string(),
            w.name.clone(),
            wire_name(&w.state),
            w.items.to_string(),
            human_bytes(w.bytes),
            w.errors.to_string(),
            w.progress.clone().unwrap_or_else(|| "-".into()),
            w.last_error.as_deref().map_or_else(|| "-".into(), one_line),
        ]);
    }
    t.render()
}

/// Every known setting with its value, default and meaning; then any unknown key the
/// cluster holds.
pub fn render_settings(resp: &ListWorkersResponse) -> String {
    let mut t = Table::new(&["SETTING", "VALUE", "DEFAULT", "MEANING"]).right(&[1, 2]);
    for s in WORKER_SETTINGS {
        t.row([
            s.key.to_string(),
            setting(&resp.settings, s.key).to_string(),
            s.default.to_string(),
            s.help.to_string(),
        ]);
    }
    for (k, v) in &resp.settings {
        if !WORKER_SETTINGS.iter().any(|s| s.key == k) {
            t.row([
                k.clone(),
                v.clone(),
                "-".into(),
                "(unknown to this CLI)".into(),
            ]);
        }
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::durability::{WorkerState, WorkerStatus};

    fn sample() -> ListWorkersResponse {
        ListWorkersResponse {
            workers: vec![
                WorkerStatus {
                    name: "scrub".into(),
                    node: "chunkserver-1".into(),
                    state: WorkerState::Throttled,
                    items: 412,
                    bytes: 3 << 20,
                    errors: 0,
                    last_error: None,
                    progress: Some("412/1000 chunks".into()),
                },
                WorkerStatus {
                    name: "repair".into(),
                    node: "meta-1".into(),
                    state: WorkerState::Busy,
                    items: 7,
                    bytes: 0,
                    errors: 2,
                    last_error: Some("copy to\nchunkserver 4 failed".into()),
                    progress: None,
                },
            ],
            settings: [("repair.concurrency".to_string(), "8".to_string())]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn workers_table() {
        let expected = "\
NODE           NAME    STATE      ITEMS    BYTES  ERRORS  PROGRESS         LAST ERROR
chunkserver-1  scrub   throttled    412  3.0 MiB       0  412/1000 chunks  -
meta-1         repair  busy           7      0 B       2  -                copy to chunkserver 4 failed
";
        assert_eq!(render_workers(&sample()), expected);
    }

    #[test]
    fn settings_table_with_defaults() {
        let text = render_settings(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + WORKER_SETTINGS.len(), "{text}");
        assert!(lines[0].starts_with("SETTING"), "{text}");
        let conc = lines
            .iter()
            .find(|l| l.starts_with("repair.concurrency"))
            .expect("row");
        assert!(
            conc.contains("  8  ") && conc.contains("(0 pauses repair)"),
            "{text}"
        );
        let bw = lines
            .iter()
            .find(|l| l.starts_with("repair.bandwidth_mib"))
            .expect("row");
        let cells: Vec<&str> = bw.split_whitespace().take(3).collect();
        assert_eq!(cells, ["repair.bandwidth_mib", "200", "200"], "{text}");
    }

    #[test]
    fn validation() {
        assert_eq!(validate("repair.concurrency", "8").ok(), Some(8));
        assert_eq!(validate("gc.enabled", " 0 ").ok(), Some(0));
        for (k, v, needle) in [
            ("repair.speed", "8", "unknown setting \"repair.speed\""),
            ("repair.concurrency", "-1", "must be an unsigned integer"),
            ("repair.concurrency", "1.5", "must be an unsigned integer"),
            ("repair.concurrency", "lots\nof", "not \"lots of\""),
        ] {
            let e = validate(k, v).expect_err(k);
            assert_eq!(e.exit_code(), 2);
            let msg = e.to_string();
            assert!(msg.contains(needle) && !msg.contains('\n'), "{msg}");
        }
        let e = validate("nope", "1").expect_err("unknown").to_string();
        assert!(
            e.contains("repair.concurrency, repair.bandwidth_mib"),
            "{e}"
        );
    }
}
