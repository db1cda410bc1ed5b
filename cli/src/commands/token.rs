//! `trireme token create|list|revoke`: operator tokens. All three need an admin token.

use crate::cluster::Cluster;
use crate::confirm::confirm;
use crate::error::CliError;
use crate::output::{emit, format_utc_ms, print_json};
use crate::table::Table;
use trireme_api::admin::{
    CreateToken, CreateTokenResponse, ListTokens, ListTokensResponse, RevokeToken, Role,
};

pub async fn create(cluster: &Cluster, role: Role, name: &str, json: bool) -> Result<(), CliError> {
    let resp = cluster
        .client
        .call(&CreateToken {
            name: name.to_string(),
            role,
        })
        .await
        .map_err(|e| CliError::from_client(&format!("create token {name}"), e))?;
    if json {
        return print_json(&resp);
    }
    emit(&render_created(&resp))
}

pub async fn list(cluster: &Cluster, json: bool) -> Result<(), CliError> {
    let resp = cluster
        .client
        .call(&ListTokens {})
        .await
        .map_err(|e| CliError::from_client("list tokens", e))?;
    if json {
        return print_json(&resp);
    }
    emit(&render(&resp))
}

/// Says what revoking does, asks (unless `yes`), then revokes.
pub async fn revoke(cluster: &Cluster, name: &str, yes: bool, json: bool) -> Result<(), CliError> {
    let action = format!("revoke token {name}");
    let plan = format!(
        "Will revoke operator token {name:?}: every request carrying it is refused from then on \
         (scripts and people using it lose access).\n"
    );
    confirm(&plan, &action, yes)?;
    let info = cluster
        .client
        .call(&RevokeToken {
            name: name.to_string(),
        })
        .await
        .map_err(|e| CliError::from_client(&action, e))?;
    if json {
        return print_json(&info);
    }
    emit(&format!("revoked token {} ({})\n", info.name, info.role))
}

/// The new token (shown only once) and how to use it.
pub fn render_created(resp: &CreateTokenResponse) -> String {
    format!(
        "token:  {}\nname:   {}\nrole:   {}\nid:     {}\n\n\
         The token is shown only now: keep it like a password. Use it with --token or \
         $TRIREME_TOKEN.\n",
        resp.token, resp.info.name, resp.info.role, resp.info.id
    )
}

/// The token table, oldest first (as the server sends it).
pub fn render(resp: &ListTokensResponse) -> String {
    let mut t = Table::new(&["NAME", "ROLE", "ID", "CREATED (UTC)", "CREATED BY"]);
    for k in &resp.tokens {
        t.row([
            k.name.clone(),
            k.role.to_string(),
            k.id.clone(),
            format_utc_ms(k.created_ms),
            k.created_by.clone(),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::admin::TokenInfo;

    fn info(name: &str, role: Role) -> TokenInfo {
        TokenInfo {
            name: name.into(),
            role,
            id: "0123456789ab".into(),
            created_ms: 1_700_000_000_000,
            created_by: "cluster-secret".into(),
        }
    }

    #[test]
    fn table_and_created() {
        let resp = ListTokensResponse {
            tokens: vec![info("admin", Role::Admin), info("ro", Role::Reader)],
        };
        let expected = "\
NAME   ROLE    ID            CREATED (UTC)        CREATED BY
admin  admin   0123456789ab  2023-11-14 22:13:20  cluster-secret
ro     reader  0123456789ab  2023-11-14 22:13:20  cluster-secret
";
        assert_eq!(render(&resp), expected);
        let created = render_created(&CreateTokenResponse {
            token: "trt_x".into(),
            info: info("ro", Role::Reader),
        });
        assert!(
            created.starts_with("token:  trt_x\nname:   ro\nrole:   reader\n"),
            "{created}"
        );
    }
}
