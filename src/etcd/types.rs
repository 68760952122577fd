//! The typed requests and answers of the client: ranges, compares,
//! transaction operations, and what etcd answers to them.

use super::wire::{
    B64, B64Owned, CompareJson, DeleteRangeJson, DeleteRangeResponseJson, Int, KeyValueJson,
    MemberJson, PutJson, RangeJson, RangeResponseJson, RequestOpJson, ResponseOpJson,
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

/// Which keys a request covers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Span {
    /// Exactly the key.
    Key,
    /// Every key that starts with the key (the `range_end` to send).
    Prefix(Vec<u8>),
}

impl Span {
    fn prefix(prefix: &[u8]) -> Span {
        Span::Prefix(prefix_end(prefix))
    }

    fn range_end(&self) -> Option<B64<'_>> {
        match self {
            Span::Key => None,
            Span::Prefix(end) => Some(B64(end)),
        }
    }
}

/// The smallest key greater than every key that starts with `prefix`: the
/// prefix with its last byte below 0xff incremented and what follows
/// dropped; `[0]` (etcd's "to the end of the key space") if there is none.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    match prefix.iter().rposition(|&b| b < 0xff) {
        Some(last) => {
            let mut end = prefix[..=last].to_vec();
            end[last] += 1;
            end
        }
        None => vec![0],
    }
}

/// A range read: one key or a prefix, optionally at an older revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeRequest<'a> {
    key: &'a [u8],
    span: Span,
    revision: Option<i64>,
    limit: Option<i64>,
    keys_only: bool,
}

impl<'a> RangeRequest<'a> {
    /// Reads the one key `key`.
    pub fn key(key: &'a [u8]) -> Self {
        RangeRequest {
            key,
            span: Span::Key,
            revision: None,
            limit: None,
            keys_only: false,
        }
    }

    /// Reads every key that starts with `prefix`.
    pub fn prefix(prefix: &'a [u8]) -> Self {
        RangeRequest {
            span: Span::prefix(prefix),
            ..RangeRequest::key(prefix)
        }
    }

    /// Reads the store as it was at `revision` (fails once compacted).
    pub fn at_revision(mut self, revision: i64) -> Self {
        self.revision = Some(revision);
        self
    }

    /// Returns at most `limit` keys (`more` tells whether there were more).
    pub fn limit(mut self, limit: i64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Returns keys and revisions without values (no key material moves).
    pub fn keys_only(mut self) -> Self {
        self.keys_only = true;
        self
    }

    pub(crate) fn to_json(&self) -> RangeJson<'_> {
        RangeJson {
            key: B64(self.key),
            range_end: self.span.range_end(),
            revision: self.revision.map(Int),
            limit: self.limit.map(Int),
            keys_only: self.keys_only,
        }
    }
}

/// How a compare relates the stored attribute to the given one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// Stored == given.
    Equal,
    /// Stored > given.
    Greater,
    /// Stored < given.
    Less,
    /// Stored != given.
    NotEqual,
}

impl CompareOp {
    fn wire_name(self) -> &'static str {
        match self {
            CompareOp::Equal => "EQUAL",
            CompareOp::Greater => "GREATER",
            CompareOp::Less => "LESS",
            CompareOp::NotEqual => "NOT_EQUAL",
        }
    }
}

/// The attribute a compare looks at, with the value to compare it to. A
/// key that does not exist has revisions and version 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareTarget<'a> {
    /// Revision of the key's last change.
    ModRevision(i64),
    /// Revision at which the key was created.
    CreateRevision(i64),
    /// Number of changes since creation.
    Version(i64),
    /// The value's bytes.
    Value(&'a [u8]),
}

/// One condition of a transaction, on one key or on every key under a prefix
/// (then it must hold for each of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare<'a> {
    key: &'a [u8],
    span: Span,
    op: CompareOp,
    target: CompareTarget<'a>,
}

impl<'a> Compare<'a> {
    /// `target` of `key` compared by `op`.
    pub fn new(key: &'a [u8], op: CompareOp, target: CompareTarget<'a>) -> Self {
        Compare {
            key,
            span: Span::Key,
            op,
            target,
        }
    }

    /// The key's last change happened at a revision that compares by `op`
    /// to `revision` (`Equal`, 0: the key does not exist).
    pub fn mod_revision(key: &'a [u8], op: CompareOp, revision: i64) -> Self {
        Compare::new(key, op, CompareTarget::ModRevision(revision))
    }

    /// The key's creation revision compares by `op` to `revision`.
    pub fn create_revision(key: &'a [u8], op: CompareOp, revision: i64) -> Self {
        Compare::new(key, op, CompareTarget::CreateRevision(revision))
    }

    /// The key's version compares by `op` to `version`.
    pub fn version(key: &'a [u8], op: CompareOp, version: i64) -> Self {
        Compare::new(key, op, CompareTarget::Version(version))
    }

    /// The key's value compares by `op` to `value` (bytewise).
    pub fn value(key: &'a [u8], op: CompareOp, value: &'a [u8]) -> Self {
        Compare::new(key, op, CompareTarget::Value(value))
    }

    /// Applies the compare to every key that starts with the key instead.
    pub fn over_prefix(mut self) -> Self {
        self.span = Span::prefix(self.key);
        self
    }

    pub(crate) fn to_json(&self) -> CompareJson<'_> {
        let mut json = CompareJson {
            key: B64(self.key),
            range_end: self.span.range_end(),
            target: "",
            result: self.op.wire_name(),
            mod_revision: None,
            create_revision: None,
            version: None,
            value: None,
        };
        match self.target {
            CompareTarget::ModRevision(r) => {
                (json.target, json.mod_revision) = ("MOD", Some(Int(r)))
            }
            CompareTarget::CreateRevision(r) => {
                (json.target, json.create_revision) = ("CREATE", Some(Int(r)))
            }
            CompareTarget::Version(v) => (json.target, json.version) = ("VERSION", Some(Int(v))),
            CompareTarget::Value(v) => (json.target, json.value) = ("VALUE", Some(B64(v))),
        }
        json
    }
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op<'a> {
    /// Sets `key` to `value`.
    Put {
        /// The key.
        key: &'a [u8],
        /// The value, sent without a copy of its own.
        value: &'a [u8],
    },
    /// Deletes `key` if it exists.
    Delete {
        /// The key.
        key: &'a [u8],
    },
    /// Deletes every key that starts with `prefix`.
    DeletePrefix {
        /// The prefix.
        prefix: &'a [u8],
    },
    /// Reads, in the transaction's snapshot.
    Range(RangeRequest<'a>),
}

impl Op<'_> {
    pub(crate) fn to_json(&self) -> RequestOpJson<'_> {
        match self {
            Op::Put { key, value } => RequestOpJson::Put(PutJson {
                key: B64(key),
                value: B64(value),
            }),
            Op::Delete { key } => RequestOpJson::DeleteRange(DeleteRangeJson {
                key: B64(key),
                range_end: None,
            }),
            Op::DeletePrefix { prefix } => RequestOpJson::DeleteRange(DeleteRangeJson {
                key: B64(prefix),
                range_end: Some(B64Owned(prefix_end(prefix))),
            }),
            Op::Range(range) => RequestOpJson::Range(range.to_json()),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte_below_0xff() {
        assert_eq!(prefix_end(b"k/"), b"k0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"a\xfe\xff\xff"), b"a\xff");
        assert_eq!(prefix_end(b"\xff\xff"), [0]);
        assert_eq!(prefix_end(b""), [0]);
    }

    #[test]
    fn compares_name_their_target() {
        let json = serde_json::to_string(
            &Compare::mod_revision(b"k", CompareOp::Less, 9)
                .over_prefix()
                .to_json(),
        )
        .unwrap();
        assert_eq!(
            json,
            r#"{"key":"aw==","range_end":"bA==","target":"MOD","result":"LESS","mod_revision":"9"}"#
        );
        let json =
            serde_json::to_string(&Compare::value(b"k", CompareOp::NotEqual, b"v").to_json())
                .unwrap();
        assert!(json.contains(r#""target":"VALUE","result":"NOT_EQUAL","value":"dg==""#));
    }
}
