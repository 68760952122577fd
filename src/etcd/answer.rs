//! The typed answers of the client: key-values, range, delete and
//! transaction results, member status and membership.

use super::wire::{
    DeleteRangeResponseJson, KeyValueJson, MemberJson, RangeResponseJson, ResponseOpJson,
};
use crate::secret::SecretBytes;

/// A key, its value and its revisions, as etcd stores them.
#[derive(Debug)]
pub struct KeyValue {
    /// The key.
    pub key: Vec<u8>,
    /// The value; wiped when dropped (it may be key material).
    pub value: SecretBytes,
    /// Revision of the change that created the key (since its last delete).
    pub create_revision: i64,
    /// Revision of the last change to the key.
    pub mod_revision: i64,
    /// Number of changes since the key was created (1 after the first put).
    pub version: i64,
}

/// The answer to a range read.
#[derive(Debug)]
pub struct RangeResult {
    /// The revision of the store the read saw (the cluster's revision when
    /// no revision was asked for).
    pub revision: i64,
    /// Matching keys in ascending byte order (keys only: values empty).
    pub kvs: Vec<KeyValue>,
    /// Whether more keys matched than a limit let through.
    pub more: bool,
    /// Number of keys that matched.
    pub count: i64,
}

/// The answer to a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteResult {
    /// The cluster's revision after the delete.
    pub revision: i64,
    /// Number of keys deleted.
    pub deleted: i64,
}

/// What one operation of a transaction answered.
#[derive(Debug)]
pub enum OpResponse {
    /// A put; the revision is the transaction's.
    Put {
        /// The cluster's revision after the transaction.
        revision: i64,
    },
    /// A delete (of a key or a prefix).
    Delete(DeleteResult),
    /// A range read.
    Range(RangeResult),
}

/// The answer to a transaction.
#[derive(Debug)]
pub struct TxnResult {
    /// Whether every compare held, so the success operations ran (else the
    /// failure operations did).
    pub succeeded: bool,
    /// The cluster's revision after the transaction (unchanged if it wrote
    /// nothing).
    pub revision: i64,
    /// One answer per operation that ran, in order.
    pub responses: Vec<OpResponse>,
    /// The request was sent again after an attempt whose outcome is unknown
    /// (the connection broke or the member timed out after sending it). If
    /// `succeeded` is false, that earlier attempt may have committed: read
    /// back before concluding that the change did not happen.
    pub retried_after_unknown_outcome: bool,
}

/// What one endpoint said about itself (`/v3/maintenance/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    /// The endpoint as configured (`host:port`).
    pub endpoint: String,
    /// Whether it answered.
    pub reachable: bool,
    /// Why it did not answer, or the errors it reported (such as
    /// "etcdserver: no leader"), joined.
    pub error: Option<String>,
    /// Its member id.
    pub member_id: u64,
    /// The member id of the leader it follows (0: none).
    pub leader: u64,
    /// Its raft term.
    pub raft_term: u64,
    /// Its store revision.
    pub revision: i64,
    /// The etcd version it runs.
    pub version: String,
    /// Size of its database file in bytes.
    pub db_size: i64,
}

impl EndpointStatus {
    /// Reachable, following a leader, and reporting no error.
    pub fn is_healthy(&self) -> bool {
        self.reachable && self.leader != 0 && self.error.is_none()
    }
}

/// A member of the cluster (`/v3/cluster/member/list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its member id.
    pub id: u64,
    /// Its name (empty until it has started).
    pub name: String,
    /// URLs its peers reach it at.
    pub peer_urls: Vec<String>,
    /// URLs clients reach it at.
    pub client_urls: Vec<String>,
    /// Whether it is a non-voting learner.
    pub is_learner: bool,
}

impl From<MemberJson> for Member {
    fn from(json: MemberJson) -> Self {
        Member {
            id: json.id,
            name: json.name,
            peer_urls: json.peer_urls,
            client_urls: json.client_urls,
            is_learner: json.is_learner,
        }
    }
}

impl From<KeyValueJson> for KeyValue {
    fn from(json: KeyValueJson) -> Self {
        KeyValue {
            key: json.key,
            value: json.value.into_secret(),
            create_revision: json.create_revision,
            mod_revision: json.mod_revision,
            version: json.version,
        }
    }
}

impl From<RangeResponseJson> for RangeResult {
    fn from(json: RangeResponseJson) -> Self {
        RangeResult {
            revision: json.header.revision,
            kvs: json.kvs.into_iter().map(KeyValue::from).collect(),
            more: json.more,
            count: json.count,
        }
    }
}

impl From<DeleteRangeResponseJson> for DeleteResult {
    fn from(json: DeleteRangeResponseJson) -> Self {
        DeleteResult {
            revision: json.header.revision,
            deleted: json.deleted,
        }
    }
}

impl OpResponse {
    /// Converts one response of a transaction; `None` if it has none of
    /// the fields an operation of ours answers with.
    pub(crate) fn from_json(json: ResponseOpJson, txn_revision: i64) -> Option<OpResponse> {
        if let Some(range) = json.response_range {
            return Some(OpResponse::Range(range.into()));
        }
        if json.response_put.is_some() {
            return Some(OpResponse::Put {
                revision: txn_revision,
            });
        }
        json.response_delete_range
            .map(|delete| OpResponse::Delete(delete.into()))
    }
}
