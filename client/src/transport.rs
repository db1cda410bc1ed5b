//! The shared HTTP transport: one connection pool, TCP_NODELAY, the credentials on every
//! request (the cluster secret for servers, an operator token for the CLI), and typed JSON
//! calls.

use crate::error::ClientError;
use std::time::Duration;
use trireme_api::admin::{encode_reason, REASON_HEADER, TOKEN_HEADER};
use trireme_api::auth::{CLUSTER_HEADER, SECRET_HEADER};
use trireme_api::config::ClusterSettings;
use trireme_api::{ApiError, ErrorCode, Rpc};

/// An authenticated HTTP client for internal RPC. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Transport {
    http: reqwest::Client,
    settings: ClusterSettings,
    /// An operator token sent instead of the cluster secret.
    token: Option<String>,
    /// The operator's reason, sent with every request (recorded with admin actions).
    reason: Option<String>,
}

impl Transport {
    /// A transport whose requests time out after `timeout`.
    pub fn new(settings: ClusterSettings, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(2))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Transport {
            http,
            settings,
            token: None,
            reason: None,
        }
    }

    /// The same transport authenticating as an operator with `token` (see
    /// [`trireme_api::admin`]) instead of the cluster secret, which it no longer sends.
    pub fn with_operator_token(mut self, token: String) -> Self {
        self.token = Some(token);
        self
    }

    /// The same transport sending `reason` (the audit log's "why") with every request.
    pub fn with_reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason;
        self
    }

    pub fn settings(&self) -> &ClusterSettings {
        &self.settings
    }

    /// A request builder for `method http://addr{path}` carrying the cluster credentials.
    pub fn request(
        &self,
        method: reqwest::Method,
        addr: &str,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let req = self
            .http
            .request(method, format!("http://{addr}{path}"))
            .header(CLUSTER_HEADER, &self.settings.cluster_id);
        let req = match &self.token {
            Some(token) => req.header(TOKEN_HEADER, token),
            None => req.header(SECRET_HEADER, &self.settings.secret),
        };
        match &self.reason {
            Some(reason) => req.header(REASON_HEADER, encode_reason(reason)),
            None => req,
        }
    }

    /// Sends one typed request to one address; no retries.
    pub async fn call<R: Rpc>(&self, addr: &str, req: &R) -> Result<R::Response, ClientError> {
        let resp = self
            .request(reqwest::Method::POST, addr, R::PATH)
            .json(req)
            .send()
            .await
            .map_err(|e| transport_error(addr, e))?;
        decode_json::<R::Response>(addr, resp).await
    }
}

pub(crate) fn transport_error(addr: &str, e: reqwest::Error) -> ClientError {
    ClientError::Transport {
        addr: addr.to_string(),
        message: format!("{e:#}"),
    }
}

/// Turns a non-200 answer into its [`ApiError`] (or a best-effort one if the body is not one).
pub(crate) async fn error_from(addr: &str, resp: reqwest::Response) -> ClientError {
    let status = resp.status();
    match resp.bytes().await {
        Ok(body) => match serde_json::from_slice::<ApiError>(&body) {
            Ok(e) => ClientError::Api(e),
            Err(_) => {
                let code = if status.is_server_error() {
                    ErrorCode::Unavailable
                } else {
                    ErrorCode::Internal
                };
                ClientError::Api(ApiError::new(
                    code,
                    format!(
                        "{addr} answered {status}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(200)])
                    ),
                ))
            }
        },
        Err(e) => transport_error(addr, e),
    }
}

pub(crate) async fn decode_json<T: serde::de::DeserializeOwned>(
    addr: &str,
    resp: reqwest::Response,
) -> Result<T, ClientError> {
    if !resp.status().is_success() {
        return Err(error_from(addr, resp).await);
    }
    let body = resp.bytes().await.map_err(|e| transport_error(addr, e))?;
    serde_json::from_slice(&body).map_err(|e| ClientError::Decode {
        addr: addr.to_string(),
        message: e.to_string(),
    })
}
