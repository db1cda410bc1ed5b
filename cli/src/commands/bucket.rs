//! `trireme bucket create|list|delete`.

use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{emit, format_utc_ms, print_json};
use crate::table::Table;
use serde::Serialize;
use trireme_api::meta::{CreateBucket, DeleteBucket, ListBuckets, ListBucketsResponse};

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

pub async fn delete(cluster: &Cluster, name: &str, json: bool) -> Result<(), CliError> {
    let req = DeleteBucket {
        name: name.to_string(),
    };
    cluster
        .client
        .call(&req)
        .await
        .map_err(|e| CliError::from_client(&format!("delete bucket {name}"), e))?;
    if json {
        return print_json(&Deleted { deleted: name });
    }
    emit(&format!("deleted bucket {name}\n"))
}

/// The bucket table, sorted by name.
pub fn render(resp: &ListBucketsResponse) -> String {
    let mut buckets: Vec<_> = resp.buckets.iter().collect();
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    let mut t = Table::new(&["NAME", "OWNER", "CREATED (UTC)"]);
    for b in buckets {
        t.row([b.name.clone(), b.owner.clone(), format_utc_ms(b.created_ms)]);
    }
    t.render()
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
                    grants: Default::default(),
                },
            ],
        };
        let expected = "\
NAME   OWNER  CREATED (UTC)
alpha  AK2    2023-11-14 22:13:20
zeta   AK1    1970-01-01 00:00:00
";
        assert_eq!(render(&resp), expected);
    }
}
