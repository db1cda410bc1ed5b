//! [`CliError`]: what went wrong, and the exit code it maps to.

use trireme_api::ErrorCode;
use trireme_client::ClientError;

/// An error ending a `trireme` command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad usage or a missing/unreadable cluster file (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The cluster could not be reached or refused our credentials (exit code 2).
    #[error("{0}")]
    Unreachable(String),
    /// Our credentials lack the permission the command needs, e.g. a reader token on an
    /// admin command (exit code 2: the command cannot run with these credentials).
    #[error("{0}")]
    Denied(String),
    /// The operation itself failed (exit code 1).
    #[error("{0}")]
    Failed(String),
    /// A check ran and found a problem, e.g. `repair lost` found lost objects (exit code 1).
    #[error("{0}")]
    Problem(String),
    /// A check could not complete (exit code 2, so that 1 keeps meaning "found a problem").
    #[error("{0}")]
    CheckFailed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_)
            | CliError::Unreachable(_)
            | CliError::Denied(_)
            | CliError::CheckFailed(_) => 2,
            CliError::Failed(_) | CliError::Problem(_) => 1,
        }
    }

    /// The same error from a check command: any failure to complete the check exits 2.
    pub fn in_check(self) -> Self {
        match self {
            CliError::Failed(m) => CliError::CheckFailed(m),
            other => other,
        }
    }

    /// The prefix the message is printed with on stderr.
    pub fn prefix(&self) -> &'static str {
        match self {
            CliError::Problem(_) => "trireme: ",
            _ => "trireme: error: ",
        }
    }

    /// Classifies a client error: transport failures, `Unavailable`/`NotLeader` after the
    /// retry deadline, and refused credentials mean the cluster is unreachable; any other
    /// API error is the operation failing.
    pub fn from_client(context: &str, e: ClientError) -> Self {
        let msg = one_line(&format!("{context}: {e}"));
        match &e {
            ClientError::Transport { .. } => {
                CliError::Unreachable(format!("cannot reach the cluster: {msg}"))
            }
            ClientError::Api(api) => match api.code {
                ErrorCode::Unavailable | ErrorCode::NotLeader => {
                    CliError::Unreachable(format!("the cluster is unavailable: {msg}"))
                }
                ErrorCode::Unauthorized | ErrorCode::WrongCluster => {
                    CliError::Unreachable(format!("the cluster refused our credentials: {msg}"))
                }
                // "permission denied: needs an admin token; ..." as the server words it.
                ErrorCode::Forbidden => {
                    CliError::Denied(one_line(&format!("{context}: {}", api.message)))
                }
                _ => CliError::Failed(msg),
            },
            ClientError::Decode { .. } => CliError::Failed(msg),
        }
    }
}

/// Collapses whitespace runs (newlines included) so an error prints on one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use trireme_api::ApiError;

    #[test]
    fn classifies_client_errors() {
        let t = ClientError::Transport {
            addr: "a".into(),
            message: "refused".into(),
        };
        assert_eq!(CliError::from_client("x", t).exit_code(), 2);
        let u = ClientError::Api(ApiError::unavailable("no quorum"));
        assert_eq!(CliError::from_client("x", u).exit_code(), 2);
        let n = ClientError::Api(ApiError::new(ErrorCode::BucketNotEmpty, "has objects"));
        let e = CliError::from_client("delete bucket b", n);
        assert_eq!(e.exit_code(), 1);
        assert_eq!(
            e.to_string(),
            "delete bucket b: BucketNotEmpty: has objects"
        );
    }

    #[test]
    fn checks_exit_1_for_a_problem_and_2_when_they_cannot_run() {
        let p = CliError::Problem("2 objects are lost".into());
        assert_eq!((p.exit_code(), p.prefix()), (1, "trireme: "));
        let n = ClientError::Api(ApiError::new(ErrorCode::Internal, "sweep failed"));
        let e = CliError::from_client("list lost objects", n).in_check();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(e.prefix(), "trireme: error: ");
        assert_eq!(CliError::Usage("x".into()).in_check().exit_code(), 2);
    }

    #[test]
    fn forbidden_is_one_line_permission_denied_exit_2() {
        let f = ClientError::Api(ApiError::new(
            ErrorCode::Forbidden,
            "permission denied: needs an admin token; token \"ro\" is a reader token",
        ));
        let e = CliError::from_client("delete bucket b", f);
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "delete bucket b: permission denied: needs an admin token; token \"ro\" is a reader token"
        );
        assert_eq!(e.in_check().exit_code(), 2);
    }

    #[test]
    fn one_line_collapses_newlines() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
    }
}
