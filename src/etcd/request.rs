//! The typed requests of the client: range reads, compares and
//! transaction operations. They borrow keys and values from the caller, so
//! a value is encoded into the request body without a copy of its own.

use super::wire::{
    B64, B64Owned, CompareJson, DeleteRangeJson, Int, PutJson, RangeJson, RequestOpJson,
};

/// Which keys a request covers.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Span {
    /// Exactly the key.
    Key,
    /// Every key that starts with the key (the `range_end` to send).
    Prefix(Vec<u8>),
}

impl Span {
    /// The keys under `prefix`.
    fn prefix(prefix: &[u8]) -> Span {
        Span::Prefix(prefix_end(prefix))
    }

    /// The `range_end` field to send, if any.
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
    /// The key, or the prefix.
    key: &'a [u8],
    /// Whether `key` is a prefix.
    span: Span,
    /// The revision to read at; `None`: the latest.
    revision: Option<i64>,
    /// At most this many keys; `None`: all.
    limit: Option<i64>,
    /// Leave the values out.
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

    /// The read as the gateway expects it.
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
    /// The name the gateway expects.
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
    /// The key, or the prefix.
    key: &'a [u8],
    /// Whether `key` is a prefix.
    span: Span,
    /// How stored and given values must relate.
    op: CompareOp,
    /// The attribute compared, and the given value.
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

    /// The compare as the gateway expects it.
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
    /// Deletes every key from `from` (included) to `to` (excluded), in
    /// byte order.
    DeleteRange {
        /// The first key.
        from: &'a [u8],
        /// The key after the last.
        to: &'a [u8],
    },
    /// Reads, in the transaction's snapshot.
    Range(RangeRequest<'a>),
}

impl Op<'_> {
    /// The operation as the gateway expects it.
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
            Op::DeleteRange { from, to } => RequestOpJson::DeleteRange(DeleteRangeJson {
                key: B64(from),
                range_end: Some(B64Owned(to.to_vec())),
            }),
            Op::Range(range) => RequestOpJson::Range(range.to_json()),
        }
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
