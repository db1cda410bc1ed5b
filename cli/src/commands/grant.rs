//! `trireme bucket allow|deny`: a key's permissions on a bucket it does not own.
//!
//! Both read the bucket's current grant and send the changed one (SetBucketGrant replaces a
//! key's grant as a whole), so `allow --write` keeps an existing `read`. Gateways cache bucket
//! grants for a few seconds, so a change reaches S3 requests within seconds.

use crate::cli::GrantArgs;
use crate::cluster::Cluster;
use crate::error::CliError;
use crate::output::{emit, print_json};
use trireme_api::meta::{BucketInfo, GetBucket, Permissions, SetBucketGrant};

/// The permissions named by the flags.
pub fn flags(args: &GrantArgs) -> Permissions {
    Permissions {
        read: args.read,
        write: args.write,
        owner: args.owner,
    }
}

/// `have` plus `add`.
pub fn union(have: Permissions, add: Permissions) -> Permissions {
    Permissions {
        read: have.read || add.read,
        write: have.write || add.write,
        owner: have.owner || add.owner,
    }
}

/// `have` without `remove`; an empty `remove` removes everything.
pub fn without(have: Permissions, remove: Permissions) -> Permissions {
    if remove.is_empty() {
        return Permissions::default();
    }
    Permissions {
        read: have.read && !remove.read,
        write: have.write && !remove.write,
        owner: have.owner && !remove.owner,
    }
}

/// `read, write`, `owner`, or `none`.
pub fn describe(p: Permissions) -> String {
    let names: Vec<&str> = [(p.read, "read"), (p.write, "write"), (p.owner, "owner")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

async fn get_bucket(
    cluster: &Cluster,
    bucket: &str,
    context: &str,
) -> Result<BucketInfo, CliError> {
    cluster
        .client
        .call(&GetBucket {
            name: bucket.to_string(),
        })
        .await
        .map_err(|e| CliError::from_client(context, e))
}

async fn set(
    cluster: &Cluster,
    bucket: &str,
    key: &str,
    permissions: Permissions,
    context: &str,
) -> Result<BucketInfo, CliError> {
    cluster
        .client
        .call(&SetBucketGrant {
            bucket: bucket.to_string(),
            access_key: key.to_string(),
            permissions,
        })
        .await
        .map_err(|e| CliError::from_client(context, e))
}

pub async fn allow(
    cluster: &Cluster,
    bucket: &str,
    args: &GrantArgs,
    json: bool,
) -> Result<(), CliError> {
    let add = flags(args);
    if add.is_empty() {
        return Err(CliError::Usage(
            "name the permissions to grant: --read, --write and/or --owner".to_string(),
        ));
    }
    let key = &args.key;
    let context = format!("grant {} on {bucket} to {key}", describe(add));
    let info = get_bucket(cluster, bucket, &context).await?;
    if &info.owner == key {
        if json {
            return print_json(&info);
        }
        return emit(&format!(
            "{key} owns bucket {bucket}: it already has every permission\n"
        ));
    }
    let had = info.grants.get(key).copied().unwrap_or_default();
    let now = union(had, add);
    let info = set(cluster, bucket, key, now, &context).await?;
    if json {
        return print_json(&info);
    }
    emit(&format!(
        "{key} on bucket {bucket}: {} (was: {})\n",
        describe(now),
        describe(had)
    ))
}

pub async fn deny(
    cluster: &Cluster,
    bucket: &str,
    args: &GrantArgs,
    json: bool,
) -> Result<(), CliError> {
    let remove = flags(args);
    let key = &args.key;
    let what = if remove.is_empty() {
        "all permissions".to_string()
    } else {
        describe(remove)
    };
    let context = format!("deny {what} on {bucket} to {key}");
    let info = get_bucket(cluster, bucket, &context).await?;
    if &info.owner == key {
        return Err(CliError::Failed(format!(
            "{context}: {key} owns the bucket; an owner's rights cannot be denied (delete the key or the bucket instead)"
        )));
    }
    let Some(had) = info.grants.get(key).copied() else {
        if json {
            return print_json(&info);
        }
        return emit(&format!("{key} holds no grant on bucket {bucket}\n"));
    };
    let now = without(had, remove);
    let info = set(cluster, bucket, key, now, &context).await?;
    if json {
        return print_json(&info);
    }
    emit(&format!(
        "{key} on bucket {bucket}: {} (was: {})\n",
        describe(now),
        describe(had)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(read: bool, write: bool, owner: bool) -> Permissions {
        Permissions { read, write, owner }
    }

    #[test]
    fn allow_adds_to_what_is_there() {
        assert_eq!(
            union(p(true, false, false), p(false, true, false)),
            p(true, true, false)
        );
        assert_eq!(
            union(Permissions::default(), p(false, false, true)),
            p(false, false, true)
        );
    }

    #[test]
    fn deny_removes_named_flags_or_all() {
        assert_eq!(
            without(p(true, true, true), p(false, true, false)),
            p(true, false, true)
        );
        assert_eq!(
            without(p(true, true, true), Permissions::default()),
            Permissions::default()
        );
        assert_eq!(
            without(p(true, false, false), p(false, true, false)),
            p(true, false, false)
        );
    }

    #[test]
    fn describes_permissions() {
        assert_eq!(describe(p(true, true, false)), "read, write");
        assert_eq!(describe(p(false, false, true)), "owner");
        assert_eq!(describe(Permissions::default()), "none");
    }
}
