//! A blocking etcd v3 client over etcd's JSON gateway (`/v3/...`, served
//! by etcd 3.4 and later on its client port), for keys shared by many
//! hosts.
//!
//! Why this shape: the library lives inside C processes, so it starts no
//! async runtime and no thread of its own (a [`Watcher`] is the one
//! exception, and it stops when dropped); HTTP/1.1 with `ureq` and `rustls`
//! is a fraction of the code of a gRPC stack. Every call is bounded by the
//! configured timeout, fails over between members, and reports every
//! member it tried when it gives up (`ErrorKind::Io`). See `docs/etcd.md`.
//!
//! Values may be key material: they are encoded straight from the caller's
//! slices into request bodies, and decoded straight from response bodies
//! into [`SecretBytes`]; every body buffer this module owns is wiped.

mod agent;
mod answer;
mod buffer;
mod codec;
mod config;
mod failover;
mod http;
mod request;
mod watch;
mod wire;

pub use answer::{
    DeleteResult, EndpointStatus, KeyValue, Member, OpResponse, RangeResult, TxnResult,
};
pub(crate) use config::check_endpoint;
pub use config::{AuthConfig, DEFAULT_TIMEOUT, EtcdConfig, TlsFiles};
pub use request::{Compare, CompareOp, CompareTarget, Op, RangeRequest};
pub use watch::{WATCH_THREAD_NAME, WatchStatus, Watcher};

use crate::error::{Error, ErrorKind, Result};
#[cfg(doc)]
use crate::secret::SecretBytes;
use buffer::WipedBuf;
use failover::{Transport, attempt_budget, parse};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;
use wire::{
    B64, DeleteRangeJson, DeleteRangeResponseJson, HeaderOnlyJson, MemberListResponseJson, PutJson,
    RangeResponseJson, StatusResponseJson, TxnJson, TxnResponseJson,
};

/// A connection to one etcd cluster; cheap to share between threads
/// (`&Client` is enough for every call).
pub struct Client {
    /// Members, agents and token, shared with the client's watchers.
    transport: Arc<Transport>,
}

impl Client {
    /// Checks `config` (endpoints, timeout, TLS and password files) and
    /// prepares the connection. Nothing is sent yet: the first call
    /// connects, and authenticates if a user is configured.
    pub fn connect(config: EtcdConfig) -> Result<Client> {
        Ok(Client {
            transport: Arc::new(Transport::new(config)?),
        })
    }

    /// The configuration this client uses.
    pub fn config(&self) -> &EtcdConfig {
        self.transport.config()
    }

    /// Reads `key` (no key: an empty result with the cluster's revision).
    pub fn range(&self, key: &[u8]) -> Result<RangeResult> {
        self.range_with(&RangeRequest::key(key))
    }

    /// Reads every key that starts with `prefix`, at `revision` or at the
    /// latest one.
    pub fn range_prefix(&self, prefix: &[u8], revision: Option<i64>) -> Result<RangeResult> {
        let request = RangeRequest::prefix(prefix);
        match revision {
            Some(revision) => self.range_with(&request.at_revision(revision)),
            None => self.range_with(&request),
        }
    }

    /// Reads what `request` describes (linearizable: what the cluster has
    /// committed when the read arrives).
    pub fn range_with(&self, request: &RangeRequest) -> Result<RangeResult> {
        let body = encode(&request.to_json(), 256)?;
        let (answer, _): (RangeResponseJson, _) =
            self.transport.call_json("/v3/kv/range", body.as_slice())?;
        Ok(answer.into())
    }

    /// Sets `key` to `value`; returns the revision of the change.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<i64> {
        let json = PutJson {
            key: B64(key),
            value: B64(value),
        };
        let body = encode(&json, value.len() * 4 / 3 + key.len() * 2 + 64)?;
        let (answer, _): (HeaderOnlyJson, _) =
            self.transport.call_json("/v3/kv/put", body.as_slice())?;
        Ok(answer.header.revision)
    }

    /// Deletes `key` if it exists.
    pub fn delete(&self, key: &[u8]) -> Result<DeleteResult> {
        self.delete_range(&Op::Delete { key })
    }

    /// Deletes every key that starts with `prefix` (which must not be
    /// empty: that would be the whole key space).
    pub fn delete_prefix(&self, prefix: &[u8]) -> Result<DeleteResult> {
        self.delete_range(&Op::DeletePrefix { prefix })
    }

    /// Sends a delete operation as a `DeleteRangeRequest`.
    fn delete_range(&self, op: &Op) -> Result<DeleteResult> {
        check_op(op)?;
        let wire::RequestOpJson::DeleteRange(json) = op.to_json() else {
            return Err(Error::new(ErrorKind::InvalidArgument, "not a delete"));
        };
        let body = encode::<DeleteRangeJson>(&json, 256)?;
        let (answer, _): (DeleteRangeResponseJson, _) = self
            .transport
            .call_json("/v3/kv/deleterange", body.as_slice())?;
        Ok(answer.into())
    }

    /// Runs a transaction: if every `compare` holds, the `success`
    /// operations, else the `failure` ones, atomically at one revision.
    /// etcd allows at most 128 operations per branch by default
    /// (`--max-txn-ops`) and a request of 1.5 MiB (`--max-request-bytes`).
    pub fn txn(&self, compare: &[Compare], success: &[Op], failure: &[Op]) -> Result<TxnResult> {
        for op in success.iter().chain(failure) {
            check_op(op)?;
        }
        let json = TxnJson {
            compare: compare.iter().map(Compare::to_json).collect(),
            success: success.iter().map(Op::to_json).collect(),
            failure: failure.iter().map(Op::to_json).collect(),
        };
        let hint = success
            .iter()
            .chain(failure)
            .map(|op| match op {
                Op::Put { key, value } => (key.len() + value.len()) * 4 / 3 + 64,
                _ => 128,
            })
            .sum::<usize>()
            + compare.len() * 160
            + 64;
        let body = encode(&json, hint)?;
        let (answer, retried): (TxnResponseJson, _) =
            self.transport.call_json("/v3/kv/txn", body.as_slice())?;
        let revision = answer.header.revision;
        let responses = answer
            .responses
            .into_iter()
            .map(|response| OpResponse::from_json(response, revision))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Io,
                    "etcd answered a transaction with an operation this client did not send",
                )
            })?;
        Ok(TxnResult {
            succeeded: answer.succeeded,
            revision,
            responses,
            retried_after_unknown_outcome: retried,
        })
    }

    /// Asks every member, one after the other, for its status; a member
    /// that does not answer is reported as unreachable. The whole call is
    /// bounded by the timeout; it needs no authentication.
    pub fn status(&self) -> Vec<EndpointStatus> {
        let endpoints = &self.config().endpoints;
        let deadline = Instant::now() + self.config().timeout;
        let mut statuses = Vec::with_capacity(endpoints.len());
        for (index, endpoint) in endpoints.iter().enumerate() {
            let mut status = EndpointStatus {
                endpoint: endpoint.clone(),
                reachable: false,
                error: Some("not tried: the timeout ran out".to_owned()),
                member_id: 0,
                leader: 0,
                raft_term: 0,
                revision: 0,
                version: String::new(),
                db_size: 0,
            };
            if let Some(budget) = attempt_budget(deadline, endpoints.len() - index) {
                let answer = self
                    .transport
                    .call_member(index, "/v3/maintenance/status", budget);
                fill_status(&mut status, answer);
            }
            statuses.push(status);
        }
        statuses
    }

    /// The members of the cluster, as the first member that answers sees
    /// them.
    pub fn member_list(&self) -> Result<Vec<Member>> {
        let (answer, _): (MemberListResponseJson, _) =
            self.transport.call_json("/v3/cluster/member/list", b"{}")?;
        Ok(answer.members.into_iter().map(Member::from).collect())
    }

    /// Starts a [`Watcher`] of every key under `prefix`, from
    /// `start_revision` (typically one more than the revision a caller's
    /// snapshot was read at; 0: from now on). It runs one thread until it
    /// is dropped.
    pub fn watch_prefix(&self, prefix: &[u8], start_revision: i64) -> Result<Watcher> {
        Watcher::start(Arc::clone(&self.transport), prefix, start_revision)
    }
}

/// Refuses operations that would reach further than a caller can mean.
fn check_op(op: &Op) -> Result<()> {
    match op {
        Op::DeletePrefix { prefix: [] } => Err(Error::new(
            ErrorKind::InvalidArgument,
            "refusing to delete an empty prefix (the whole etcd key space)",
        )),
        // An empty `from` or `to` would reach to the ends of the key space.
        Op::DeleteRange { from, to } if from.is_empty() || to.is_empty() || from >= to => {
            Err(Error::new(
                ErrorKind::InvalidArgument,
                "refusing to delete a range that is empty or reaches an end of the key space",
            ))
        }
        _ => Ok(()),
    }
}

/// Encodes a request body into a wiped buffer with room for `hint` bytes.
fn encode<T: Serialize>(json: &T, hint: usize) -> Result<WipedBuf> {
    let mut body = WipedBuf::with_capacity(hint);
    serde_json::to_writer(&mut body, json).map_err(|err| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("cannot encode an etcd request: {err}"),
        )
    })?;
    Ok(body)
}

/// Fills `status` from a member's answer to `/v3/maintenance/status`.
fn fill_status(status: &mut EndpointStatus, answer: Result<WipedBuf, http::Failure>) {
    let body = match answer {
        Ok(body) => body,
        Err(http::Failure::Endpoint { reason, .. }) => {
            status.error = Some(reason);
            return;
        }
        Err(http::Failure::Final(err)) => {
            status.error = Some(err.message().to_owned());
            return;
        }
        Err(http::Failure::TokenRejected) => {
            status.error = Some("refused the request without a token".to_owned());
            return;
        }
    };
    match parse::<StatusResponseJson>(&body, "/v3/maintenance/status") {
        Ok(json) => {
            status.reachable = true;
            status.error = (!json.errors.is_empty()).then(|| json.errors.join("; "));
            status.member_id = json.header.member_id;
            status.leader = json.leader;
            status.raft_term = json.raft_term;
            status.revision = json.header.revision;
            status.version = json.version;
            status.db_size = json.db_size;
        }
        Err(err) => status.error = Some(err.message().to_owned()),
    }
}
