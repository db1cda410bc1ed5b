//! Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
//! GetBucketLocation.
//!
//! A bucket's owner is the access key that created it; who may do what on a bucket is
//! decided before the operation runs ([`crate::access`]). ListBuckets lists the buckets the
//! key owns or holds a grant on.

use super::{access_key, names, TriremeS3};
use crate::error;
use base64::Engine;
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use trireme_api::meta::{CreateBucket, DeleteBucket, GetBucket, ListBuckets};

const US_EAST_1: &str = "us-east-1";

fn owner(id: &str) -> Owner {
    Owner {
        display_name: Some(id.to_string()),
        id: Some(id.to_string()),
    }
}

pub async fn list_buckets(
    s3: &TriremeS3,
    req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    let me = access_key(&req)?;
    let input = req.input;
    let mut all = s3
        .meta
        .call(&ListBuckets {})
        .await
        .map_err(|e| error::from_client(&e))?
        .buckets;
    all.retain(|b| crate::access::may_list(b, &me));
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let prefix = input.prefix.clone().unwrap_or_default();
    let after = match &input.continuation_token {
        Some(t) => Some(decode_name_token(t)?),
        None => None,
    };
    let max = match input.max_buckets {
        Some(n) if !(1..=10_000).contains(&n) => {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "MaxBuckets must be in 1..=10000",
            ))
        }
        Some(n) => n as usize,
        None => usize::MAX,
    };
    let mut matching = all
        .into_iter()
        .filter(|b| b.name.starts_with(&prefix))
        .filter(|b| after.as_ref().is_none_or(|a| b.name.as_str() > a.as_str()));
    let page: Vec<_> = matching.by_ref().take(max).collect();
    let more = matching.next().is_some();
    let continuation_token = match (more, page.last()) {
        (true, Some(last)) => Some(base64::engine::general_purpose::STANDARD.encode(&last.name)),
        _ => None,
    };
    let buckets = page
        .into_iter()
        .map(|b| Bucket {
            bucket_region: Some(s3.region.clone()),
            creation_date: Some(super::headers::timestamp_ms(b.created_ms)),
            name: Some(b.name),
        })
        .collect();
    let output = ListBucketsOutput {
        buckets: Some(buckets),
        continuation_token,
        owner: Some(owner(&me)),
        prefix: input.prefix,
    };
    Ok(S3Response::new(output))
}

fn decode_name_token(t: &str) -> S3Result<String> {
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            S3Error::with_message(
                S3ErrorCode::InvalidArgument,
                "The continuation token is not valid.",
            )
        })
}

pub async fn create_bucket(
    s3: &TriremeS3,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    let me = access_key(&req)?;
    let name = req.input.bucket;
    if !names::is_valid_bucket_name(&name) {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidBucketName,
            "The specified bucket is not valid.",
        ));
    }
    // Any LocationConstraint is accepted: the cluster is one region whatever a client
    // calls it in the body (its signature must name the gateway's region, `sigcheck`).
    s3.meta
        .call(&CreateBucket {
            name: name.clone(),
            owner: me,
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    Ok(S3Response::new(CreateBucketOutput {
        location: Some(format!("/{name}")),
    }))
}

pub async fn head_bucket(
    s3: &TriremeS3,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    s3.meta
        .call(&GetBucket {
            name: req.input.bucket,
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    Ok(S3Response::new(HeadBucketOutput {
        bucket_region: Some(s3.region.clone()),
        ..Default::default()
    }))
}

pub async fn delete_bucket(
    s3: &TriremeS3,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    let name = req.input.bucket;
    s3.forget_bucket(&name);
    s3.meta
        .call(&DeleteBucket { name: name.clone() })
        .await
        .map_err(|e| error::from_client(&e))?;
    s3.forget_bucket(&name);
    Ok(S3Response::new(DeleteBucketOutput {}))
}

pub async fn get_bucket_location(
    s3: &TriremeS3,
    req: S3Request<GetBucketLocationInput>,
) -> S3Result<S3Response<GetBucketLocationOutput>> {
    s3.meta
        .call(&GetBucket {
            name: req.input.bucket,
        })
        .await
        .map_err(|e| error::from_client(&e))?;
    // Amazon S3 answers an empty LocationConstraint for us-east-1.
    let location_constraint =
        (s3.region != US_EAST_1).then(|| BucketLocationConstraint::from(s3.region.clone()));
    Ok(S3Response::new(GetBucketLocationOutput {
        location_constraint,
    }))
}
