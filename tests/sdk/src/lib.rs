//! Trireme's S3 endpoint driven by the official AWS SDK for Rust (`aws-sdk-s3`).
//!
//! The tests need a running cluster: they read its endpoint and keys from the environment
//! (`TRIREME_TEST_ENDPOINT`, `TRIREME_TEST_ACCESS_KEY`, `TRIREME_TEST_SECRET_KEY`,
//! `TRIREME_TEST_REGION`), so they are `#[ignore]`d by default and run by the Python cluster
//! suite (`tests/test_clients_rust_sdk.py`), which starts a cluster and calls
//! `cargo test -p trireme-sdk-tests -- --ignored`. Run with `--ignored` but without the
//! variables, they fail rather than pass.
//!
//! # Layout
//!
//! - `src/lib.rs`: [`Target`] (where the cluster is, from the environment) and [`client`]
//!   (an SDK client for it: path style, SigV4, rustls on ring, the SDK's default checksums).
//! - `tests/s3_sdk.rs`: PutObject (CRC32 header and aws-chunked with a trailing CRC32),
//!   GetObject, ListObjectsV2 with its paginator, a multipart upload, DeleteObject.

use anyhow::{bail, Context};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// The environment variables naming the cluster under test.
pub const ENV_VARS: [&str; 4] = [
    "TRIREME_TEST_ENDPOINT",
    "TRIREME_TEST_ACCESS_KEY",
    "TRIREME_TEST_SECRET_KEY",
    "TRIREME_TEST_REGION",
];

/// Where the cluster under test is and how to sign for it.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl Target {
    /// Reads the four `TRIREME_TEST_*` variables; an error names every one that is missing.
    pub fn from_env() -> anyhow::Result<Target> {
        let mut values = Vec::with_capacity(ENV_VARS.len());
        let mut missing = Vec::new();
        for name in ENV_VARS {
            match std::env::var(name) {
                Ok(v) if !v.is_empty() => values.push(v),
                _ => missing.push(name),
            }
        }
        if !missing.is_empty() {
            bail!(
                "these tests need a running Trireme cluster; set {} (tests/test_clients_rust_sdk.py does)",
                missing.join(", ")
            );
        }
        let [endpoint, access_key, secret_key, region]: [String; 4] = values
            .try_into()
            .map_err(|_| anyhow::anyhow!("expected {} values", ENV_VARS.len()))?;
        Ok(Target {
            endpoint,
            access_key,
            secret_key,
            region,
        })
    }
}

/// An SDK client for the cluster: path-style addressing, static keys, the SDK's defaults
/// otherwise (CRC32 request checksums, aws-chunked for streaming bodies, response checksum
/// validation).
pub fn client(target: &Target) -> anyhow::Result<aws_sdk_s3::Client> {
    if !target.endpoint.starts_with("http://") && !target.endpoint.starts_with("https://") {
        bail!(
            "TRIREME_TEST_ENDPOINT must be an http(s) URL, got {:?}",
            target.endpoint
        );
    }
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let creds = Credentials::new(
        &target.access_key,
        &target.secret_key,
        None,
        None,
        "trireme-test",
    );
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&target.endpoint)
        .region(Region::new(target.region.clone()))
        .credentials_provider(creds)
        .force_path_style(true)
        .http_client(http)
        .build();
    Ok(aws_sdk_s3::Client::from_conf(config))
}

/// The CRC32 of `data` as S3 spells it in `x-amz-checksum-crc32`: base64 of the big-endian
/// value.
pub fn crc32_base64(data: &[u8]) -> String {
    use base64::Engine;
    let mut h = crc32fast::Hasher::new();
    h.update(data);
    base64::engine::general_purpose::STANDARD.encode(h.finalize().to_be_bytes())
}

/// Context for an SDK call's error: the S3 error code and message when there is one.
pub fn describe<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err.as_service_error() {
        Some(e) => format!(
            "S3 error {}: {}",
            e.code().unwrap_or("(no code)"),
            e.message().unwrap_or("(no message)")
        ),
        None => format!("{}", aws_sdk_s3::error::DisplayErrorContext(err)),
    }
}

/// Adds `what` to an error from an SDK call, with its S3 code and message.
pub trait SdkContext<T> {
    fn sdk_context(self, what: &str) -> anyhow::Result<T>;
}

impl<T, E, R> SdkContext<T> for Result<T, aws_sdk_s3::error::SdkError<E, R>>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn sdk_context(self, what: &str) -> anyhow::Result<T> {
        match self {
            Ok(v) => Ok(v),
            Err(e) => {
                let d = describe(&e);
                Err(e).context(format!("{what}: {d}"))
            }
        }
    }
}
