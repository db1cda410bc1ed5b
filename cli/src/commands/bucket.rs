//! `trireme bucket create|list|delete` (`allow|deny` are in [`super::grant`]).

use crate::cluster::Cluster;
use crate::confirm::confirm;
use crate::error::CliError;
use crate::output::{emit, format_utc_ms, print_json};
use crate::table::Table;
use serde::Serialize;
use std::collections::BTreeMap;
use trireme_api::meta::{
    BucketInfo, CreateBucket, DeleteBucket, GetBucket, ListBuckets, ListBucketsResponse,
    Permissions,
};

pub async fn create(
    cluster: &Cluster,
    name: &str,
    owner: Option<&str>,
    json: bool,
) -> Result<(), CliError> {
    let owner = owner.unwrap_or(&cluster.file.access_key).to_string();
    let req = CreateBucket {
        name: name.to_string(),
        owner,
    };
    let info = cluster
        .client
        .call(&req)
        .await
        .map_err(|e| CliError::from_client(&format!("create bucket {name}"), e))?;
    if json {
        return print_json(&info);
    }
    emit(&format!(
        "created bucket {} (owner {})\n",
        info.name, info.owner
    ))
}

pub async fn list(cluster: &Cluster, json: bool) -> Result<(), CliError> {
    let resp = cluster
        .client
        .call(&ListBuckets {})
        .await
        .map_err(|e| CliError::from_client("list buckets", e))?;
    if json {
        return print_json(&resp);
    }
    emit(&render(&resp))
}

/// The JSON answer of `bucket delete`.
#[derive(Serialize)]
struct Deleted<'a> {
    deleted: &'a str,
}

/// Shows what deleting the bucket does, asks (unless `yes`), then deletes it.
pub async fn delete(cluster: &Cluster, name: &str, yes: bool, json: bool) -> Result<(), CliError> {
    let action = format!("delete bucket {name}");
    let info = cluster
        .client
        .call(&GetBucket {
            name: name.to_string(),
        })
        .await
        .map_err(|e| CliError::from_client(&action, e))?;
    confirm(&render_delete_plan(&info), &action, yes)?;
    cluster
        .client
        .call(&DeleteBucket {
            name: name.to_string(),
        })
        .await
        .map_err(|e| CliError::from_client(&action, e))?;
    if json {
        return print_json(&Deleted { deleted: name });
    }
    emit(&format!("deleted bucket {name}\n"))
}

/// What `bucket delete` is about to do.
pub fn render_delete_plan(info: &BucketInfo) -> String {
    let mut out = format!(
        "Will delete bucket {} (owner {}, created {} UTC) and abort its multipart uploads in \
         progress.\nOnly an empty bucket is deleted: one that holds objects is refused.\n",
        info.name,
        info.owner,
        format_utc_ms(info.created_ms)
    );
    let grants = grants_cell(&info.grants);
    if grants != "-" {
        out.push_str(&format!("Its grants go with it: {grants}\n"));
    }
    out
}

/// The bucket table, sorted by name. GRANTS lists `KEY:flags` (r read, w write, o owner).
pub fn render(resp: &ListBucketsResponse) -> String {
    let mut buckets: Vec<_> = resp.buckets.iter().collect();
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    let mut t = Table::new(&["NAME", "OWNER", "GRANTS", "CREATED (UTC)"]);
    for b in buckets {
        t.row([
            b.name.clone(),
            b.owner.clone(),
            grants_cell(&b.grants),
            format_utc_ms(b.created_ms),
        ]);
    }
    t.render()
}

/// `AK1:rw AK2:o`, or `-` without grants.
pub fn grants_cell(grants: &BTreeMap<String, Permissions>) -> String {
    let cells: Vec<String> = grants
        .iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(k, p)| {
            let mut flags = String::new();
            for (on, c) in [(p.read, 'r'), (p.write, 'w'), (p.owner, 'o')] {
                if on {
                    flags.push(c);
                }
            }
            format!("{k}:{flags}")
        })
        .collect();
    if cells.is_empty() {
        "-".to_string()
    } else {
        cells.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::meta::BucketInfo;

    #[test]
    fn table_sorted_by_name() {
        let resp = ListBucketsResponse {
            buckets: vec![
                BucketInfo {
                    name: "zeta".into(),
                    owner: "AK1".into(),
                    created_ms: 0,
                    grants: Default::default(),
                },
                BucketInfo {
                    name: "alpha".into(),
                    owner: "AK2".into(),
                    created_ms: 1_700_000_000_000,
                    grants: [
                        (
                            "AK3".to_string(),
                            Permissions {
                                read: true,
                                write: true,
                                owner: false,
                            },
                        ),
                        (
                            "AK4".to_string(),
                            Permissions {
                                owner: true,
                                ..Default::default()
                            },
                        ),
                    ]
                    .into_iter()
                    .collect(),
                },
            ],
        };
        let expected = "\
NAME   OWNER  GRANTS        CREATED (UTC)
alpha  AK2    AK3:rw AK4:o  2023-11-14 22:13:20
zeta   AK1    -             1970-01-01 00:00:00
";
        assert_eq!(render(&resp), expected);
        let plan = render_delete_plan(&resp.buckets[1]);
        assert!(
            plan.starts_with(
                "Will delete bucket alpha (owner AK2, created 2023-11-14 22:13:20 UTC)"
            ),
            "{plan}"
        );
        assert!(
            plan.contains("Its grants go with it: AK3:rw AK4:o\n"),
            "{plan}"
        );
        assert!(!render_delete_plan(&resp.buckets[0]).contains("grants"));
    }
}
