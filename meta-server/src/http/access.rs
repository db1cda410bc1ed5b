//! Who may call which metadata RPC: the one classification of every route.
//!
//! - [`Access::Server`]: the cluster secret only (chunkservers, gateways, Raft peers): the data
//!   path, heartbeats, inventories, Raft, cluster initialisation.
//! - [`Access::Read`]: also any operator token (reader or admin): status and listings.
//! - [`Access::Admin`]: also an admin token: everything that changes the cluster, and reads
//!   that reveal secrets (`get_key` answers an S3 secret key). Audited when called with a
//!   token (`service/audit.rs`).
//!
//! The cluster secret may call everything: it is the servers' root credential (a holder can
//! speak Raft to the meta-servers anyway), and the gateway itself creates and deletes buckets
//! for S3 clients. Operators do not get it: the CLI sends a token.
//!
//! Every typed route needs a [`Classified`] impl (the typed handler requires it), so a new RPC
//! cannot be routed without being classified here; the middleware looks paths up in
//! [`TABLE`], and a path that is not in it (the Raft endpoints) is server-only.

use trireme_api::admin::{CreateToken, ListAudit, ListTokens, RecordAudit, RevokeToken, Role};
use trireme_api::durability::*;
use trireme_api::inspect::{ExplainObject, ShowChunkserver, ShowDisk};
use trireme_api::inventory::ReportInventory;
use trireme_api::membership::{
    AddLearner, MetaMembers, PromoteVoter, RemoveMember, StartElection, TransferLeader,
};
use trireme_api::meta::*;
use trireme_api::multipart::*;
use trireme_api::ops::{DrainDisk, DrainStatus, PlanDiskRemove, RemoveDisk};
use trireme_api::swap::{AdmitDisk, ListSwaps, SwapStatus, VerifyDiskCopies};
use trireme_api::{ApiError, ErrorCode, Rpc};

/// What an RPC requires of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Server,
    Read,
    Admin,
}

/// An RPC with its access class.
pub trait Classified: Rpc {
    const ACCESS: Access;
}

macro_rules! classify {
    ($($access:ident: [$($t:ty),* $(,)?];)*) => {
        $($(impl Classified for $t {
            const ACCESS: Access = Access::$access;
        })*)*
        /// Every classified RPC path with its access class.
        pub const TABLE: &[(&str, Access)] = &[$($((<$t as Rpc>::PATH, Access::$access),)*)*];
    };
}

classify! {
    Server: [
        InitCluster, CommitObject, CopyObject, DeleteObject, DeleteObjects, AllocateChunks,
        ReportBadReplica, Heartbeat, CreateMultipartUpload, RecordPart,
        CompleteMultipartUpload, AbortMultipartUpload, ReportInventory, StartElection,
        RecordAudit,
    ];
    Read: [
        ClusterStatus, GetBucket, ListBuckets, GetObject, ListObjects, ListAccessKeys,
        ListChunkservers, GetUpload, ListParts, GetParts, ListMultipartUploads, RepairStatus,
        ListLost, ListWorkers, ScrubStatus, DrainStatus, PlanDiskRemove, ExplainObject,
        ShowChunkserver, ShowDisk, MetaMembers, ListAudit, SwapStatus,
        ListSwaps,
    ];
    Admin: [
        CreateBucket, DeleteBucket, SetBucketGrant, CreateAccessKey, GetAccessKey,
        DeleteAccessKey, SetWorkerSetting, ControlScrub, DrainDisk, RemoveDisk, AddLearner,
        PromoteVoter, RemoveMember, TransferLeader, CreateToken, ListTokens, RevokeToken,
        AdmitDisk, VerifyDiskCopies,
    ];
}

/// The access class of a request path; paths not in [`TABLE`] are server-only.
pub fn access_of(path: &str) -> Access {
    TABLE
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, a)| *a)
        .unwrap_or(Access::Server)
}

/// Who sent a request, as authenticated by the middleware (`http/auth.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    /// The cluster secret: a server.
    Server,
    /// An operator token.
    Operator { name: String, role: Role },
}

/// Whether `principal` may call an RPC of class `access`: `Forbidden` if not.
pub fn authorize(principal: &Principal, access: Access) -> Result<(), ApiError> {
    let denied = |m: String| Err(ApiError::new(ErrorCode::Forbidden, m));
    match (principal, access) {
        (Principal::Server, _) => Ok(()),
        (Principal::Operator { .. }, Access::Server) => {
            denied("permission denied: servers only (operator tokens cannot call this RPC)".into())
        }
        (Principal::Operator { role, .. }, Access::Read) => match role {
            Role::Admin | Role::Reader => Ok(()),
        },
        (Principal::Operator { role, name }, Access::Admin) => match role {
            Role::Admin => Ok(()),
            Role::Reader => denied(format!(
                "permission denied: needs an admin token; token {name:?} is a reader token"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_unique_and_raft_is_server_only() {
        let mut paths: Vec<&str> = TABLE.iter().map(|(p, _)| *p).collect();
        paths.sort_unstable();
        let n = paths.len();
        paths.dedup();
        assert_eq!(paths.len(), n, "a path is classified twice");
        for raft in [
            crate::network::PATH_APPEND,
            crate::network::PATH_VOTE,
            crate::network::PATH_SNAPSHOT,
        ] {
            assert_eq!(access_of(raft), Access::Server);
        }
        assert_eq!(access_of("/v1/meta/nope"), Access::Server);
    }

    #[test]
    fn examples_of_each_class() {
        assert_eq!(access_of(Heartbeat::PATH), Access::Server);
        assert_eq!(access_of(CommitObject::PATH), Access::Server);
        assert_eq!(access_of(ClusterStatus::PATH), Access::Read);
        assert_eq!(access_of(ListAudit::PATH), Access::Read);
        assert_eq!(access_of(DeleteBucket::PATH), Access::Admin);
        assert_eq!(access_of(GetAccessKey::PATH), Access::Admin);
        assert_eq!(access_of(SetWorkerSetting::PATH), Access::Admin);
        assert_eq!(access_of(RevokeToken::PATH), Access::Admin);
    }

    #[test]
    fn roles() {
        let admin = Principal::Operator {
            name: "a".into(),
            role: Role::Admin,
        };
        let reader = Principal::Operator {
            name: "r".into(),
            role: Role::Reader,
        };
        for access in [Access::Server, Access::Read, Access::Admin] {
            assert!(authorize(&Principal::Server, access).is_ok());
        }
        assert!(authorize(&admin, Access::Admin).is_ok());
        assert!(authorize(&admin, Access::Read).is_ok());
        assert!(authorize(&reader, Access::Read).is_ok());
        let e = authorize(&reader, Access::Admin).expect_err("reader on admin");
        assert_eq!(e.code, ErrorCode::Forbidden);
        assert!(
            e.message
                .starts_with("permission denied: needs an admin token"),
            "{}",
            e.message
        );
        for p in [&admin, &reader] {
            let e = authorize(p, Access::Server).expect_err("token on a server RPC");
            assert_eq!(e.code, ErrorCode::Forbidden);
        }
    }
}
