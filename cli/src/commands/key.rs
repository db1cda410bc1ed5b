//! `trireme key create|import|list|delete`.

use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{emit, format_utc_ms, print_json};
use crate::table::Table;
use serde::Serialize;
use std::io::BufRead;
use trireme_api::meta::{
    AccessKeyInfo, BucketInfo, CreateAccessKey, DeleteAccessKey, GetAccessKey, ListAccessKeys,
    ListAccessKeysResponse, ListBuckets, Permissions, SetBucketGrant,
};
use trireme_api::ErrorCode;
use trireme_client::ClientError;

pub async fn create(
    cluster: &Cluster,
    name: &str,
    allow_create_bucket: bool,
    json: bool,
) -> Result<(), CliError> {
    let req = CreateAccessKey {
        name: name.to_string(),
        allow_create_bucket,
        ..Default::default()
    };
    let info = cluster
        .client
        .call(&req)
        .await
        .map_err(|e| CliError::from_client("create access key", e))?;
    if json {
        return print_json(&info);
    }
    emit(&render_created(&info))
}

pub async fn import(
    cluster: &Cluster,
    access_key: &str,
    secret_key: &str,
    name: &str,
    allow_create_bucket: bool,
    json: bool,
) -> Result<(), CliError> {
    let req = CreateAccessKey {
        name: name.to_string(),
        access_key: Some(access_key.to_string()),
        secret_key: Some(secret_key.to_string()),
        allow_create_bucket,
    };
    let info = cluster
        .client
        .call(&req)
        .await
        .map_err(|e| CliError::from_client(&format!("import access key {access_key}"), e))?;
    if json {
        return print_json(&info);
    }
    emit(&render_created(&info))
}

/// The secret of `key import`: the argument itself, or one line of standard input for `-`.
pub fn secret_arg(arg: &str) -> Result<String, CliError> {
    if arg != "-" {
        return Ok(arg.to_string());
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("cannot read the secret key from stdin: {e}")))?;
    let secret = line.trim_end_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        return Err(CliError::Usage(
            "no secret key on standard input".to_string(),
        ));
    }
    Ok(secret)
}

pub async fn list(cluster: &Cluster, json: bool) -> Result<(), CliError> {
    let resp = cluster
        .client
        .call(&ListAccessKeys {})
        .await
        .map_err(|e| CliError::from_client("list access keys", e))?;
    if json {
        return print_json(&resp);
    }
    emit(&render(&resp))
}

/// The JSON answer of `key delete`.
#[derive(Serialize)]
struct Deleted<'a> {
    deleted: &'a str,
}

/// Shows what deleting the key affects, asks (unless `yes`), then deletes it.
pub async fn delete(
    cluster: &Cluster,
    access_key: &str,
    yes: bool,
    json: bool,
) -> Result<(), CliError> {
    let context = format!("delete access key {access_key}");
    let info = match cluster
        .client
        .call(&GetAccessKey {
            access_key: access_key.to_string(),
        })
        .await
    {
        Ok(info) => info,
        Err(ClientError::Api(e)) if e.code == ErrorCode::NoSuchAccessKey => {
            return Err(CliError::Failed(format!(
                "{context}: there is no access key {access_key}"
            )))
        }
        Err(e) => return Err(CliError::from_client(&context, e)),
    };
    let buckets = cluster
        .client
        .call(&ListBuckets {})
        .await
        .map_err(|e| CliError::from_client(&context, e))?
        .buckets;
    let plan = render_plan(&info, &buckets, access_key == cluster.file.access_key);
    crate::confirm::confirm(&plan, &context, yes)?;
    // Revoke its grants first: once the key is gone they could no longer be removed, and a
    // key imported later under the same id would inherit them.
    for b in buckets.iter().filter(|b| b.grants.contains_key(access_key)) {
        let revoke = SetBucketGrant {
            bucket: b.name.clone(),
            access_key: access_key.to_string(),
            permissions: Permissions::default(),
        };
        match cluster.client.call(&revoke).await {
            Ok(_) => {}
            Err(ClientError::Api(e)) if e.code == ErrorCode::NoSuchBucket => {}
            Err(e) => return Err(CliError::from_client(&context, e)),
        }
    }
    cluster
        .client
        .call(&DeleteAccessKey {
            access_key: access_key.to_string(),
        })
        .await
        .map_err(|e| CliError::from_client(&context, e))?;
    if json {
        return print_json(&Deleted {
            deleted: access_key,
        });
    }
    emit(&format!("deleted access key {access_key}\n"))
}

/// What `key delete` is about to do: the key, the buckets it owns (they stay) and the grants
/// it holds (revoked).
pub fn render_plan(info: &AccessKeyInfo, buckets: &[BucketInfo], is_cluster_key: bool) -> String {
    let ak = &info.access_key;
    let mut out = format!(
        "Will delete access key {ak} (name {:?}, created {} UTC).\n",
        info.name,
        format_utc_ms(info.created_ms)
    );
    let mut owned: Vec<&str> = buckets
        .iter()
        .filter(|b| &b.owner == ak)
        .map(|b| b.name.as_str())
        .collect();
    owned.sort_unstable();
    let mut granted: Vec<&str> = buckets
        .iter()
        .filter(|b| b.grants.contains_key(ak))
        .map(|b| b.name.as_str())
        .collect();
    granted.sort_unstable();
    if owned.is_empty() {
        out.push_str("It owns no bucket.\n");
    } else {
        out.push_str(&format!(
            "It owns {} bucket(s), which stay with their objects but can no longer be used with this key: {}\n",
            owned.len(),
            owned.join(", ")
        ));
    }
    if !granted.is_empty() {
        out.push_str(&format!(
            "Its grants are removed from: {}\n",
            granted.join(", ")
        ));
    }
    if is_cluster_key {
        out.push_str(
            "This is the access key of cluster.json: S3 clients using it will be refused.\n",
        );
    }
    out.push_str("Requests signed with it are refused within seconds.\n");
    out
}

/// The new key, secret included (it is shown only once).
pub fn render_created(info: &AccessKeyInfo) -> String {
    format!(
        "access key:     {}\nsecret key:     {}\nname:           {}\ncreate buckets: {}\n",
        info.access_key,
        info.secret_key.as_deref().unwrap_or("(not returned)"),
        info.name,
        yes_no(info.allow_create_bucket)
    )
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// The key table (no secrets), oldest first.
pub fn render(resp: &ListAccessKeysResponse) -> String {
    let mut keys: Vec<_> = resp.keys.iter().collect();
    keys.sort_by(|a, b| (a.created_ms, &a.access_key).cmp(&(b.created_ms, &b.access_key)));
    let mut t = Table::new(&["ACCESS KEY", "NAME", "CREATE BUCKETS", "CREATED (UTC)"]);
    for k in keys {
        t.row([
            k.access_key.clone(),
            k.name.clone(),
            yes_no(k.allow_create_bucket).to_string(),
            format_utc_ms(k.created_ms),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::meta::Permissions;

    fn key(ak: &str, name: &str, created_ms: u64) -> AccessKeyInfo {
        AccessKeyInfo {
            access_key: ak.into(),
            secret_key: None,
            name: name.into(),
            created_ms,
            allow_create_bucket: true,
        }
    }

    #[test]
    fn table_oldest_first() {
        let mut restricted = key("AK2", "cli", 2000);
        restricted.allow_create_bucket = false;
        let resp = ListAccessKeysResponse {
            keys: vec![restricted, key("AK1", "admin", 1000)],
        };
        let expected = "\
ACCESS KEY  NAME   CREATE BUCKETS  CREATED (UTC)
AK1         admin  yes             1970-01-01 00:00:01
AK2         cli    no              1970-01-01 00:00:02
";
        assert_eq!(render(&resp), expected);
    }

    #[test]
    fn created_shows_the_secret() {
        let mut k = key("AK", "n", 0);
        k.secret_key = Some("SK".into());
        assert_eq!(
            render_created(&k),
            "access key:     AK\nsecret key:     SK\nname:           n\ncreate buckets: yes\n"
        );
    }

    #[test]
    fn plan_names_owned_and_granted_buckets() {
        let bucket = |name: &str, owner: &str, grantee: Option<&str>| BucketInfo {
            name: name.into(),
            owner: owner.into(),
            created_ms: 0,
            grants: grantee
                .map(|g| {
                    (
                        g.to_string(),
                        Permissions {
                            read: true,
                            ..Default::default()
                        },
                    )
                })
                .into_iter()
                .collect(),
        };
        let buckets = vec![
            bucket("zeta", "AK", None),
            bucket("alpha", "AK", None),
            bucket("other", "AK9", Some("AK")),
            bucket("unrelated", "AK9", None),
        ];
        let plan = render_plan(&key("AK", "n", 0), &buckets, true);
        assert!(
            plan.starts_with("Will delete access key AK (name \"n\""),
            "{plan}"
        );
        assert!(plan.contains("owns 2 bucket(s)"), "{plan}");
        assert!(plan.contains(": alpha, zeta\n"), "{plan}");
        assert!(plan.contains("grants are removed from: other\n"), "{plan}");
        assert!(plan.contains("cluster.json"), "{plan}");
        let plan = render_plan(&key("AKX", "n", 0), &buckets, false);
        assert!(plan.contains("owns no bucket"), "{plan}");
        assert!(!plan.contains("grants are") && !plan.contains("cluster.json"));
    }
}
