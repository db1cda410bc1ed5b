//! `trireme key create|list`.

use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{emit, format_utc_ms, print_json};
use crate::table::Table;
use trireme_api::meta::{AccessKeyInfo, CreateAccessKey, ListAccessKeys, ListAccessKeysResponse};

pub async fn create(cluster: &Cluster, name: &str, json: bool) -> Result<(), CliError> {
    let req = CreateAccessKey {
        name: name.to_string(),
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

/// The new key, secret included (it is shown only once).
pub fn render_created(info: &AccessKeyInfo) -> String {
    format!(
        "access key: {}\nsecret key: {}\nname:       {}\n",
        info.access_key,
        info.secret_key.as_deref().unwrap_or("(not returned)"),
        info.name
    )
}

/// The key table (no secrets), oldest first.
pub fn render(resp: &ListAccessKeysResponse) -> String {
    let mut keys: Vec<_> = resp.keys.iter().collect();
    keys.sort_by(|a, b| (a.created_ms, &a.access_key).cmp(&(b.created_ms, &b.access_key)));
    let mut t = Table::new(&["ACCESS KEY", "NAME", "CREATED (UTC)"]);
    for k in keys {
        t.row([
            k.access_key.clone(),
            k.name.clone(),
            format_utc_ms(k.created_ms),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let resp = ListAccessKeysResponse {
            keys: vec![key("AK2", "cli", 2000), key("AK1", "admin", 1000)],
        };
        let expected = "\
ACCESS KEY  NAME   CREATED (UTC)
AK1         admin  1970-01-01 00:00:01
AK2         cli    1970-01-01 00:00:02
";
        assert_eq!(render(&resp), expected);
    }

    #[test]
    fn created_shows_the_secret() {
        let mut k = key("AK", "n", 0);
        k.secret_key = Some("SK".into());
        assert_eq!(
            render_created(&k),
            "access key: AK\nsecret key: SK\nname:       n\n"
        );
    }
}
