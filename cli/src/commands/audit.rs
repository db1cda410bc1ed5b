//! `trireme audit`: the admin audit log, newest first. Any operator token may read it.

use crate::cluster::Cluster;
use crate::error::{one_line, CliError};
use crate::output::{emit, format_utc_ms, print_json};
use crate::table::Table;
use trireme_api::admin::{ListAudit, ListAuditResponse};

pub async fn list(cluster: &Cluster, limit: u32, json: bool) -> Result<(), CliError> {
    let resp = cluster
        .client
        .call(&ListAudit {
            limit,
            before: None,
        })
        .await
        .map_err(|e| CliError::from_client("read the audit log", e))?;
    if json {
        return print_json(&resp);
    }
    emit(&render(&resp))
}

/// One row per action: Raft log index, time, who, the action and its arguments, the reason
/// and the result.
pub fn render(resp: &ListAuditResponse) -> String {
    if resp.entries.is_empty() {
        return "no admin actions recorded\n".to_string();
    }
    let mut t =
        Table::new(&["INDEX", "WHEN (UTC)", "WHO", "ACTION", "REASON", "RESULT"]).right(&[0]);
    for e in &resp.entries {
        let args = args_text(&e.args);
        let action = if args.is_empty() {
            e.action.clone()
        } else {
            format!("{} {args}", e.action)
        };
        t.row([
            e.index.to_string(),
            format_utc_ms(e.at_ms),
            e.who.clone(),
            action,
            e.reason
                .as_deref()
                .map(one_line)
                .unwrap_or_else(|| "-".into()),
            one_line(&e.result),
        ]);
    }
    let mut out = t.render();
    if resp.more {
        out.push_str("(older entries not shown; use --limit)\n");
    }
    out
}

/// `key=value` pairs of a request's fields (strings unquoted, other values as JSON).
pub fn args_text(args: &serde_json::Value) -> String {
    match args {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::admin::{AuditEntry, Role};

    #[test]
    fn table_newest_first_with_args_and_reasons() {
        let entry = |index, action: &str, args, reason: Option<&str>, ok| AuditEntry {
            index,
            at_ms: 1_700_000_000_000,
            who: "ops".into(),
            role: Some(Role::Admin),
            action: action.into(),
            args,
            reason: reason.map(str::to_string),
            ok,
            result: if ok {
                "ok".into()
            } else {
                "BucketNotEmpty: b".into()
            },
        };
        let resp = ListAuditResponse {
            entries: vec![
                entry(
                    12,
                    "delete_bucket",
                    serde_json::json!({"name": "photos"}),
                    Some("old\nproject"),
                    false,
                ),
                entry(
                    9,
                    "set_worker_setting",
                    serde_json::json!({"key": "repair.concurrency", "value": "4", "x": null}),
                    None,
                    true,
                ),
            ],
            more: true,
        };
        let expected = "\
INDEX  WHEN (UTC)           WHO  ACTION                                             REASON       RESULT
   12  2023-11-14 22:13:20  ops  delete_bucket name=photos                          old project  BucketNotEmpty: b
    9  2023-11-14 22:13:20  ops  set_worker_setting key=repair.concurrency value=4  -            ok
(older entries not shown; use --limit)
";
        assert_eq!(render(&resp), expected);
        assert_eq!(
            render(&ListAuditResponse::default()),
            "no admin actions recorded\n"
        );
        assert_eq!(
            args_text(&serde_json::json!({"n": 3, "b": true})),
            "b=true n=3"
        );
    }
}
