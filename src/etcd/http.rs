//! One HTTP exchange with one etcd member over blocking `ureq`, and what
//! its failure means for the caller: try another member, authenticate
//! again, or stop with a definite answer.
//!
//! Copies of request and response bodies this module cannot wipe: ureq's
//! input and output buffers, rustls's record buffers, and the kernel's
//! socket buffers. Every body buffer owned here is a [`WipedBuf`].

use super::buffer::WipedBuf;
use super::wire::GatewayErrorJson;
use crate::error::{Error, ErrorKind, describe_os_error};
use std::io;
use std::time::Duration;

/// Largest answer accepted from a member, in bytes: far above etcd's own
/// limits (1.5 MiB requests by default), low enough to stop a runaway.
pub(crate) const MAX_ANSWER_BYTES: usize = 256 * 1024 * 1024;

/// gRPC status codes the gateway reports in `code`.
mod grpc {
    /// The call was cancelled (the member is going away).
    pub(super) const CANCELLED: i32 = 1;
    /// The gateway's own failure, such as its deadline passing.
    pub(super) const UNKNOWN: i32 = 2;
    /// A bad request: empty key, too large, too many operations, bad password.
    pub(super) const INVALID_ARGUMENT: i32 = 3;
    /// The member's deadline passed.
    pub(super) const DEADLINE_EXCEEDED: i32 = 4;
    /// Database full, or too many requests.
    pub(super) const RESOURCE_EXHAUSTED: i32 = 8;
    /// A revision compacted away or in the future.
    pub(super) const OUT_OF_RANGE: i32 = 11;
    /// No leader, leader changed, timed out: another member may answer.
    pub(super) const UNAVAILABLE: i32 = 14;
    /// The auth token is unknown or expired.
    pub(super) const UNAUTHENTICATED: i32 = 16;
}

/// Why an exchange with one member did not give an answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The member is unusable for now: try another.
    Endpoint {
        /// Why, in a few words (never a credential).
        reason: String,
        /// Whether trying this member again later in the same call may help
        /// (not so for a certificate it does not accept).
        retry_later: bool,
        /// Whether the member may have executed the request.
        maybe_applied: bool,
    },
    /// The member refused the auth token (expired or unknown).
    TokenRejected,
    /// The cluster gave a definite answer; trying elsewhere cannot change it.
    Final(Error),
}

/// One request to one member.
pub(crate) struct Request<'a> {
    /// The member's base URL, `scheme://host:port`.
    pub base_url: &'a str,
    /// The gateway path, such as `/v3/kv/range`.
    pub path: &'static str,
    /// The JSON body.
    pub body: &'a [u8],
    /// The auth token, if any.
    pub token: Option<&'a str>,
    /// Ask the member to refuse at once when it has no leader, instead of
    /// waiting (gRPC metadata `hasleader`, passed by the gateway).
    pub require_leader: bool,
    /// Bound on the whole exchange; for a stream, on connecting and on the
    /// answer's head only.
    pub budget: Duration,
    /// The answer is a stream read for as long as it lasts.
    pub stream: bool,
}

/// Sends `request` and returns the answer's body once it is complete.
pub(crate) fn exchange(agent: &ureq::Agent, request: &Request) -> Result<WipedBuf, Failure> {
    let response = send(agent, request)?;
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut answer = WipedBuf::with_capacity(4096);
    if let Err(err) = answer.read_to_end(&mut body.as_reader(), MAX_ANSWER_BYTES) {
        return Err(from_ureq(ureq::Error::from(err), request.budget));
    }
    if status == 200 {
        Ok(answer)
    } else {
        Err(from_status(status, answer.as_slice()))
    }
}

/// Sends `request` and returns the body of a 200 answer unread (a stream).
pub(crate) fn open_stream(agent: &ureq::Agent, request: &Request) -> Result<ureq::Body, Failure> {
    let response = send(agent, request)?;
    let status = response.status().as_u16();
    let mut body = response.into_body();
    if status == 200 {
        return Ok(body);
    }
    let mut answer = WipedBuf::with_capacity(1024);
    // The error body is short; if it cannot be read the status says enough.
    let _ = answer.read_to_end(&mut body.as_reader(), 64 * 1024);
    Err(from_status(status, answer.as_slice()))
}

/// Sends the request; the answer's head has arrived when this returns.
fn send(
    agent: &ureq::Agent,
    request: &Request,
) -> Result<ureq::http::Response<ureq::Body>, Failure> {
    let mut builder = agent
        .post(format!("{}{}", request.base_url, request.path))
        .header("Content-Type", "application/json");
    if let Some(token) = request.token {
        builder = builder.header("Authorization", token);
    }
    if request.require_leader {
        builder = builder.header("Grpc-Metadata-Hasleader", "true");
    }
    let config = builder.config();
    let config = if request.stream {
        config
            .timeout_connect(Some(request.budget))
            .timeout_recv_response(Some(request.budget))
    } else {
        config.timeout_global(Some(request.budget))
    };
    config
        .build()
        .send(request.body)
        .map_err(|err| from_ureq(err, request.budget))
}

/// What a transport failure means: ureq's error, in a few words.
fn from_ureq(err: ureq::Error, budget: Duration) -> Failure {
    use ureq::Timeout;
    let (reason, retry_later, maybe_applied) = match &err {
        ureq::Error::Timeout(Timeout::Resolve | Timeout::Connect) => (
            format!("no connection within {} ms", budget.as_millis()),
            true,
            false,
        ),
        ureq::Error::Timeout(_) => (
            format!("no answer within {} ms", budget.as_millis()),
            true,
            true,
        ),
        ureq::Error::HostNotFound => ("host not found".to_owned(), true, false),
        // rustls reports a refused handshake as an I/O error around its own.
        ureq::Error::Io(io_err) if tls_error(io_err).is_some() => {
            (format!("TLS: {io_err}"), false, false)
        }
        ureq::Error::Io(io_err) => {
            let refused = matches!(
                io_err.kind(),
                io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
            );
            (describe_io_error(io_err), true, !refused)
        }
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
            (format!("TLS: {err}"), false, false)
        }
        ureq::Error::BodyExceedsLimit(_) | ureq::Error::LargeResponseHeader(..) => {
            (format!("answer too large: {err}"), false, true)
        }
        _ => (err.to_string(), true, true),
    };
    Failure::Endpoint {
        reason,
        retry_later,
        maybe_applied,
    }
}

/// The TLS error inside an I/O error, if that is what it is.
fn tls_error(err: &io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

/// A network error in a few words.
fn describe_io_error(err: &io::Error) -> String {
    let words = match err.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused",
        io::ErrorKind::ConnectionReset => "connection reset",
        io::ErrorKind::ConnectionAborted => "connection aborted",
        io::ErrorKind::UnexpectedEof | io::ErrorKind::BrokenPipe => {
            "connection closed by the member"
        }
        io::ErrorKind::TimedOut => "timed out",
        io::ErrorKind::HostUnreachable => "host unreachable",
        io::ErrorKind::NetworkUnreachable => "network unreachable",
        _ => return describe_os_error(err),
    };
    words.to_owned()
}

/// What a non-200 answer means, from the gateway's JSON error body.
fn from_status(status: u16, body: &[u8]) -> Failure {
    let Ok(error) = serde_json::from_slice::<GatewayErrorJson>(body) else {
        // Not the gateway speaking (a proxy, another server, an old etcd).
        return Failure::Endpoint {
            reason: format!("HTTP {status} without an etcd error"),
            retry_later: status >= 500,
            maybe_applied: status >= 500,
        };
    };
    let (code, message) = error.code_and_message();
    classify(code, &message, status)
}

/// Sorts an etcd error (gRPC code and message) into a [`Failure`].
pub(crate) fn classify(code: i32, message: &str, status: u16) -> Failure {
    let message = if message.is_empty() {
        format!("HTTP {status}")
    } else {
        message.to_owned()
    };
    let endpoint = |maybe_applied| Failure::Endpoint {
        reason: message.clone(),
        retry_later: true,
        maybe_applied,
    };
    match code {
        grpc::UNAVAILABLE => {
            // Refused before a proposal: no leader (with `hasleader`), a
            // learner, a member not yet able to serve.
            let refused_early = ["no leader", "not capable", "learner", "server stopped"]
                .iter()
                .any(|cause| message.contains(cause));
            endpoint(!refused_early)
        }
        grpc::DEADLINE_EXCEEDED | grpc::UNKNOWN | grpc::CANCELLED => endpoint(true),
        grpc::RESOURCE_EXHAUSTED if message.contains("too many requests") => endpoint(false),
        grpc::UNAUTHENTICATED => Failure::TokenRejected,
        grpc::INVALID_ARGUMENT | grpc::OUT_OF_RANGE => {
            let hint = if message.contains("user name is empty") {
                " (the cluster requires authentication; configure a user)"
            } else {
                ""
            };
            Failure::Final(Error::new(
                ErrorKind::InvalidArgument,
                format!("{message}{hint}"),
            ))
        }
        _ => Failure::Final(Error::new(ErrorKind::Io, message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason_of(failure: Failure) -> (String, bool) {
        match failure {
            Failure::Endpoint {
                reason,
                maybe_applied,
                ..
            } => (reason, maybe_applied),
            other => panic!("not an endpoint failure: {other:?}"),
        }
    }

    #[test]
    fn no_leader_moves_on_without_a_doubt() {
        let body =
            br#"{"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14}"#;
        assert_eq!(
            reason_of(from_status(503, body)),
            ("etcdserver: no leader".to_owned(), false)
        );
        let body = br#"{"error":"etcdserver: request timed out","message":"etcdserver: request timed out","code":14}"#;
        assert!(reason_of(from_status(503, body)).1);
    }

    #[test]
    fn definite_answers_stop() {
        let body =
            br#"{"message":"etcdserver: mvcc: required revision has been compacted","code":11}"#;
        match from_status(400, body) {
            Failure::Final(err) => assert_eq!(err.kind(), ErrorKind::InvalidArgument),
            other => panic!("{other:?}"),
        }
        let body = br#"{"message":"etcdserver: invalid auth token","code":16}"#;
        assert!(matches!(from_status(401, body), Failure::TokenRejected));
        let body = br#"{"message":"etcdserver: permission denied","code":7}"#;
        match from_status(403, body) {
            Failure::Final(err) => assert_eq!(err.kind(), ErrorKind::Io),
            other => panic!("{other:?}"),
        }
        let body = br#"{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}"#;
        assert_eq!(
            reason_of(from_status(503, body)),
            ("etcdserver: no leader".to_owned(), false)
        );
        assert!(matches!(
            from_status(404, b"Not Found"),
            Failure::Endpoint {
                retry_later: false,
                ..
            }
        ));
    }
}
