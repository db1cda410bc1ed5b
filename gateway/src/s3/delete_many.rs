//! DeleteObjects: up to 1000 keys in one DeleteObjects RPC (one Raft command). As in
//! Amazon S3, a key that does not exist is reported Deleted; Quiet mode reports only errors.
//! A `VersionId` other than `null` names a version that was never kept: nothing is deleted
//! for it and it is reported Deleted (a malformed one is a per-key InvalidArgument).

use super::versions::{check_version_id, Version};
use super::{names, TriremeS3};
use crate::error;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use trireme_api::meta::DeleteObjects;

/// Most keys in one request.
pub const MAX_KEYS: usize = 1000;

/// What happens to one requested entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Delete the key (the current object).
    Delete,
    /// Nothing to delete, reported Deleted.
    Nothing,
    /// Reported as an error with this code and message.
    Fail(&'static str, String),
}

/// One requested entry and what to do with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub key: String,
    pub version_id: Option<String>,
    pub action: Action,
}

/// Validates the request (1..=1000 objects, else MalformedXML) and plans each entry.
pub fn plan(delete: &Delete) -> S3Result<Vec<Planned>> {
    if delete.objects.is_empty() || delete.objects.len() > MAX_KEYS {
        return Err(S3Error::with_message(
            S3ErrorCode::MalformedXML,
            "The XML you provided was not well-formed or did not validate against our \
             published schema",
        ));
    }
    Ok(delete
        .objects
        .iter()
        .map(|o| {
            let action = if !names::key_len_ok(&o.key) {
                Action::Fail("KeyTooLongError", "Your key is too long.".into())
            } else {
                match check_version_id(o.version_id.as_deref()) {
                    Ok(Version::Current) => Action::Delete,
                    Ok(Version::Missing) => Action::Nothing,
                    Err(e) => Action::Fail(
                        "InvalidArgument",
                        e.message().unwrap_or("Invalid version id specified").into(),
                    ),
                }
            };
            Planned {
                key: o.key.clone(),
                version_id: o.version_id.clone(),
                action,
            }
        })
        .collect())
}

/// The answer for planned entries (the deletes having succeeded).
pub fn answer(planned: Vec<Planned>, quiet: bool) -> DeleteObjectsOutput {
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for p in planned {
        match p.action {
            Action::Delete | Action::Nothing => {
                if !quiet {
                    deleted.push(DeletedObject {
                        key: Some(p.key),
                        version_id: p.version_id,
                        ..Default::default()
                    });
                }
            }
            Action::Fail(code, message) => errors.push(Error {
                code: Some(code.to_string()),
                key: Some(p.key),
                message: Some(message),
                version_id: p.version_id,
            }),
        }
    }
    DeleteObjectsOutput {
        deleted: Some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    }
}

pub async fn delete_objects(
    s3: &TriremeS3,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    let input = req.input;
    let planned = plan(&input.delete)?;
    let keys: Vec<String> = planned
        .iter()
        .filter(|p| p.action == Action::Delete)
        .map(|p| p.key.clone())
        .collect();
    if keys.is_empty() {
        // Nothing to delete, but a missing bucket is still NoSuchBucket.
        s3.ensure_bucket(&input.bucket).await?;
    } else {
        let n = keys.len();
        s3.meta
            .call(&DeleteObjects {
                bucket: input.bucket.clone(),
                keys,
            })
            .await
            .map_err(|e| error::from_client(&e))?;
        tracing::debug!(bucket = %input.bucket, keys = n, "batch delete");
    }
    let quiet = input.delete.quiet.unwrap_or(false);
    Ok(S3Response::new(answer(planned, quiet)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(key: &str, version: Option<&str>) -> ObjectIdentifier {
        ObjectIdentifier {
            key: key.into(),
            version_id: version.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn plans_and_answers() {
        let too_many = Delete {
            objects: (0..1001).map(|i| obj(&i.to_string(), None)).collect(),
            quiet: None,
        };
        assert_eq!(
            plan(&too_many).unwrap_err().code(),
            &S3ErrorCode::MalformedXML
        );
        let none = Delete {
            objects: vec![],
            quiet: None,
        };
        assert_eq!(plan(&none).unwrap_err().code(), &S3ErrorCode::MalformedXML);
        let exactly = Delete {
            objects: (0..1000).map(|i| obj(&i.to_string(), None)).collect(),
            quiet: None,
        };
        assert_eq!(plan(&exactly).unwrap().len(), 1000);

        let d = Delete {
            objects: vec![
                obj("a", None),
                obj("b", Some("null")),
                obj("c", Some("Kf0P2QSZ7TXe5hCtlNbK0dpbsWDA7AfX")),
                obj("d", Some("bad")),
                obj(&"k".repeat(1025), None),
            ],
            quiet: Some(true),
        };
        let p = plan(&d).unwrap();
        let actions: Vec<&Action> = p.iter().map(|p| &p.action).collect();
        assert_eq!(actions[0], &Action::Delete);
        assert_eq!(actions[1], &Action::Delete);
        assert_eq!(actions[2], &Action::Nothing);
        assert!(matches!(actions[3], Action::Fail("InvalidArgument", _)));
        assert!(matches!(actions[4], Action::Fail("KeyTooLongError", _)));

        let loud = answer(p.clone(), false);
        let deleted = loud.deleted.unwrap();
        assert_eq!(deleted.len(), 3);
        assert_eq!(deleted[1].version_id.as_deref(), Some("null"));
        assert_eq!(loud.errors.unwrap().len(), 2);
        let quiet = answer(p, true);
        assert!(quiet.deleted.unwrap().is_empty());
        assert_eq!(quiet.errors.unwrap()[0].key.as_deref(), Some("d"));
    }
}
