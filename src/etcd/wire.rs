//! The JSON bodies of etcd's v3 gateway (etcd 3.4, `/v3/...`), as the
//! gateway writes them: protobuf field names, bytes in padded base64,
//! 64-bit integers as strings, and fields with default values left out.
//!
//! Each type mirrors the message of etcd's `api/etcdserverpb/rpc.proto`
//! (or `mvccpb/kv.proto`) it is named after, with the fields this client
//! uses; their meaning is the proto's. Secret bytes are encoded straight
//! into the request body (no base64 copy of their own) and decoded
//! straight from the response body into wiped buffers.

use super::codec::{SecretText, SecretValue, bytes, int, uint};
use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize, Serializer};

/// Bytes written as base64, encoded piecewise into the output.
pub(crate) struct B64<'a>(pub &'a [u8]);

impl Serialize for B64<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&Base64Display::new(self.0, &STANDARD))
    }
}

/// Owned bytes written as base64 (a computed range end).
pub(crate) struct B64Owned(pub Vec<u8>);

impl Serialize for B64Owned {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        B64(&self.0).serialize(serializer)
    }
}

/// A 64-bit integer written as a JSON string, as the gateway expects.
pub(crate) struct Int(pub i64);

impl Serialize for Int {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// `RangeRequest`.
#[derive(Serialize)]
pub(crate) struct RangeJson<'a> {
    pub key: B64<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_end: Option<B64<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<Int>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Int>,
    #[serde(skip_serializing_if = "is_false")]
    pub keys_only: bool,
}

/// `PutRequest`.
#[derive(Serialize)]
pub(crate) struct PutJson<'a> {
    pub key: B64<'a>,
    pub value: B64<'a>,
}

/// `DeleteRangeRequest`.
#[derive(Serialize)]
pub(crate) struct DeleteRangeJson<'a> {
    pub key: B64<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_end: Option<B64Owned>,
}

/// `Compare`: exactly one of the target fields is set, the one `target`
/// names.
#[derive(Serialize)]
pub(crate) struct CompareJson<'a> {
    pub key: B64<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_end: Option<B64<'a>>,
    pub target: &'static str,
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mod_revision: Option<Int>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_revision: Option<Int>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<Int>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<B64<'a>>,
}

/// `RequestOp`: one operation of a transaction.
#[derive(Serialize)]
pub(crate) enum RequestOpJson<'a> {
    /// A read.
    #[serde(rename = "request_range")]
    Range(RangeJson<'a>),
    /// A write.
    #[serde(rename = "request_put")]
    Put(PutJson<'a>),
    /// A delete of a key or a range.
    #[serde(rename = "request_delete_range")]
    DeleteRange(DeleteRangeJson<'a>),
}

/// `TxnRequest`.
#[derive(Serialize)]
pub(crate) struct TxnJson<'a> {
    pub compare: Vec<CompareJson<'a>>,
    pub success: Vec<RequestOpJson<'a>>,
    pub failure: Vec<RequestOpJson<'a>>,
}

/// `AuthenticateRequest`.
#[derive(Serialize)]
pub(crate) struct AuthenticateJson<'a> {
    pub name: &'a str,
    pub password: &'a str,
}

/// `WatchRequest` with a `create_request`.
#[derive(Serialize)]
pub(crate) struct WatchJson<'a> {
    pub create_request: WatchCreateJson<'a>,
}

/// `WatchCreateRequest`.
#[derive(Serialize)]
pub(crate) struct WatchCreateJson<'a> {
    pub key: B64<'a>,
    pub range_end: B64<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_revision: Option<Int>,
}

// ---------------------------------------------------------------- answers

/// `ResponseHeader`.
#[derive(Deserialize, Default, Debug)]
pub(crate) struct HeaderJson {
    #[serde(default, deserialize_with = "int")]
    pub revision: i64,
    #[serde(default, deserialize_with = "uint")]
    pub member_id: u64,
}

/// `mvccpb.KeyValue`.
#[derive(Deserialize)]
pub(crate) struct KeyValueJson {
    #[serde(default, deserialize_with = "bytes")]
    pub key: Vec<u8>,
    #[serde(default, deserialize_with = "int")]
    pub create_revision: i64,
    #[serde(default, deserialize_with = "int")]
    pub mod_revision: i64,
    #[serde(default, deserialize_with = "int")]
    pub version: i64,
    #[serde(default)]
    pub value: SecretValue,
}

/// `RangeResponse`.
#[derive(Deserialize, Default)]
pub(crate) struct RangeResponseJson {
    #[serde(default)]
    pub header: HeaderJson,
    #[serde(default)]
    pub kvs: Vec<KeyValueJson>,
    #[serde(default)]
    pub more: bool,
    #[serde(default, deserialize_with = "int")]
    pub count: i64,
}

/// `PutResponse` (and any answer of which only the header matters).
#[derive(Deserialize, Default)]
pub(crate) struct HeaderOnlyJson {
    #[serde(default)]
    pub header: HeaderJson,
}

/// `DeleteRangeResponse`.
#[derive(Deserialize, Default)]
pub(crate) struct DeleteRangeResponseJson {
    #[serde(default)]
    pub header: HeaderJson,
    #[serde(default, deserialize_with = "int")]
    pub deleted: i64,
}

/// `ResponseOp`: one of its fields is set.
#[derive(Deserialize, Default)]
pub(crate) struct ResponseOpJson {
    pub response_range: Option<RangeResponseJson>,
    pub response_put: Option<HeaderOnlyJson>,
    pub response_delete_range: Option<DeleteRangeResponseJson>,
}

/// `TxnResponse`.
#[derive(Deserialize, Default)]
pub(crate) struct TxnResponseJson {
    #[serde(default)]
    pub header: HeaderJson,
    #[serde(default)]
    pub succeeded: bool,
    #[serde(default)]
    pub responses: Vec<ResponseOpJson>,
}

/// `AuthenticateResponse`.
#[derive(Deserialize)]
pub(crate) struct AuthenticateResponseJson {
    pub token: SecretText,
}

/// `StatusResponse` (its field names are camelCase in etcd's proto).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusResponseJson {
    #[serde(default)]
    pub header: HeaderJson,
    #[serde(default)]
    pub version: String,
    #[serde(default, deserialize_with = "int")]
    pub db_size: i64,
    #[serde(default, deserialize_with = "uint")]
    pub leader: u64,
    #[serde(default, deserialize_with = "uint")]
    pub raft_term: u64,
    #[serde(default)]
    pub errors: Vec<String>,
}

/// `MemberListResponse`.
#[derive(Deserialize, Default)]
pub(crate) struct MemberListResponseJson {
    #[serde(default)]
    pub members: Vec<MemberJson>,
}

/// `Member` (field names as in etcd's proto).
#[derive(Deserialize)]
pub(crate) struct MemberJson {
    #[serde(rename = "ID", default, deserialize_with = "uint")]
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "peerURLs", default)]
    pub peer_urls: Vec<String>,
    #[serde(rename = "clientURLs", default)]
    pub client_urls: Vec<String>,
    #[serde(rename = "isLearner", default)]
    pub is_learner: bool,
}

/// The gateway's error body: `{"error": "...", "message": "...", "code":
/// N}` for a unary call, `{"error": {"message": "...", "grpc_code": N}}`
/// for a stream.
#[derive(Deserialize, Default)]
pub(crate) struct GatewayErrorJson {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub code: i32,
    pub error: Option<ErrorFieldJson>,
}

impl GatewayErrorJson {
    /// The gRPC code and message, whichever shape carried them.
    pub(crate) fn code_and_message(self) -> (i32, String) {
        match self.error {
            Some(ErrorFieldJson::Stream(stream)) if self.code == 0 => {
                (stream.grpc_code, stream.message)
            }
            _ => (self.code, self.message),
        }
    }
}

/// The `error` field of [`GatewayErrorJson`].
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum ErrorFieldJson {
    /// A stream's error object.
    Stream(StreamErrorJson),
    /// Anything else, such as a unary call's copy of `message`.
    Other(serde::de::IgnoredAny),
}

/// One line of the watch stream: a result, or the error that ends it.
#[derive(Deserialize)]
pub(crate) struct WatchLineJson {
    pub result: Option<WatchResultJson>,
    pub error: Option<StreamErrorJson>,
}

/// The error object of a streamed answer.
#[derive(Deserialize, Default)]
pub(crate) struct StreamErrorJson {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub grpc_code: i32,
}

/// `WatchResponse`; event values are skipped, never decoded or copied.
#[derive(Deserialize, Default)]
pub(crate) struct WatchResultJson {
    #[serde(default)]
    pub header: HeaderJson,
    #[serde(default)]
    pub created: bool,
    #[serde(default)]
    pub canceled: bool,
    #[serde(default, deserialize_with = "int")]
    pub compact_revision: i64,
    #[serde(default)]
    pub cancel_reason: String,
    #[serde(default)]
    pub events: Vec<EventJson>,
}

/// `mvccpb.Event`, reduced to the revision it happened at.
#[derive(Deserialize)]
pub(crate) struct EventJson {
    #[serde(default)]
    pub kv: EventKvJson,
}

/// The part of an event's key-value the watcher needs.
#[derive(Deserialize, Default)]
pub(crate) struct EventKvJson {
    #[serde(default, deserialize_with = "int")]
    pub mod_revision: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_use_base64_and_string_integers() {
        let op = RequestOpJson::Range(RangeJson {
            key: B64(b"k/"),
            range_end: Some(B64(b"k0")),
            revision: Some(Int(7)),
            limit: None,
            keys_only: true,
        });
        let text = serde_json::to_string(&op).unwrap();
        assert_eq!(
            text,
            r#"{"request_range":{"key":"ay8=","range_end":"azA=","revision":"7","keys_only":true}}"#
        );
    }

    #[test]
    fn answers_parse_as_the_gateway_writes_them() {
        let text = br#"{"header":{"cluster_id":"1","member_id":"12635203278010882041","revision":"3","raft_term":"2"},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"3"}}},{"response_range":{"header":{"revision":"3"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2","value":"YmF6"}],"count":"1"}}]}"#;
        let txn: TxnResponseJson = serde_json::from_slice(text).unwrap();
        assert!(txn.succeeded);
        assert_eq!(txn.header.revision, 3);
        assert_eq!(txn.header.member_id, 12635203278010882041);
        let range = txn.responses[1].response_range.as_ref().unwrap();
        assert_eq!(range.kvs[0].key, b"foo");
        assert_eq!(range.kvs[0].mod_revision, 3);
        assert!(txn.responses[0].response_put.is_some());

        let empty: RangeResponseJson = serde_json::from_slice(br#"{"header":{}}"#).unwrap();
        assert!(empty.kvs.is_empty() && empty.count == 0);
    }

    #[test]
    fn watch_lines_skip_values() {
        let line = br#"{"result":{"header":{"revision":"5"},"events":[{"kv":{"key":"Zm9v","mod_revision":"5","value":"c2VjcmV0"}},{"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"5"}}]}}"#;
        let parsed: WatchLineJson = serde_json::from_slice(line).unwrap();
        let result = parsed.result.unwrap();
        assert_eq!(result.events.len(), 2);
        assert_eq!(result.events[0].kv.mod_revision, 5);
        let error = br#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}"#;
        let parsed: WatchLineJson = serde_json::from_slice(error).unwrap();
        assert_eq!(parsed.error.unwrap().grpc_code, 14);
    }
}
