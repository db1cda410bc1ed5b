//! [`Op`]: the S3 operation types the benchmark measures, each reported on its own row.

use serde::Serialize;

/// One S3 operation type. A multipart upload counts as one `Put`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Put,
    Get,
    Head,
    Delete,
    List,
}

impl Op {
    pub const ALL: [Op; 5] = [Op::Put, Op::Get, Op::Head, Op::Delete, Op::List];

    pub fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get => "get",
            Op::Head => "head",
            Op::Delete => "delete",
            Op::List => "list",
        }
    }

    /// Position in [`Op::ALL`] (for per-op arrays).
    pub fn index(self) -> usize {
        match self {
            Op::Put => 0,
            Op::Get => 1,
            Op::Head => 2,
            Op::Delete => 3,
            Op::List => 4,
        }
    }

    pub fn from_name(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == s)
    }
}
