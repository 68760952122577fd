//! Calls that fail over: members are tried in turn, from the last one that
//! answered, until one answers or the call's time is up; an expired auth
//! token is replaced on the way.

use super::agent::build_agent;
use super::buffer::WipedBuf;
use super::config::{AuthConfig, EtcdConfig, read_password};
use super::http::{Failure, Request, exchange};
use super::wire::{AuthenticateJson, AuthenticateResponseJson};
use crate::error::{Error, ErrorKind, Result};
use serde::de::DeserializeOwned;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The shortest time an attempt gets while that much of the call remains,
/// however many members are still to try (so a slow but sound member is
/// not abandoned too early).
const MIN_ATTEMPT: Duration = Duration::from_secs(1);

/// Pause after a round in which every member failed: doubles from this...
const FIRST_PAUSE: Duration = Duration::from_millis(50);

/// ...up to this.
const MAX_PAUSE: Duration = Duration::from_millis(500);

/// How long a stream read waits before the reader looks up (watchers).
pub(crate) const STREAM_POLL: Duration = Duration::from_millis(200);

/// The members of one cluster, the HTTP agents that reach them, and the
/// auth token in use. Shared by a client and its watchers.
pub(crate) struct Transport {
    /// The configuration, checked.
    config: EtcdConfig,
    /// `scheme://host:port` of each member, in configuration order.
    base_urls: Vec<String>,
    /// The agent for calls (keeps idle connections for reuse).
    agent: ureq::Agent,
    /// The agent for watch streams.
    stream_agent: ureq::Agent,
    /// The member that answered last.
    preferred: AtomicUsize,
    /// The auth token, once authenticated.
    token: Mutex<Option<Zeroizing<String>>>,
}

/// A successful answer.
pub(crate) struct Reply {
    /// The body (JSON).
    pub body: WipedBuf,
    /// An earlier attempt of this call may have been executed.
    pub retried_after_unknown_outcome: bool,
}

/// What happened so far in one call.
struct Attempts {
    /// The last failure at each member, for the error message.
    failures: Vec<Option<String>>,
    /// Some attempt may have been executed by the member.
    maybe_applied: bool,
    /// Some member of this round may answer if tried again.
    worth_another_round: bool,
    /// When the call began.
    started: Instant,
}

impl Attempts {
    /// Notes a failed attempt at member `index`; returns the error that
    /// ends the call if trying other members cannot change the answer.
    fn note(&mut self, index: usize, failure: Failure) -> Option<Error> {
        match failure {
            Failure::Endpoint {
                reason,
                retry_later,
                maybe_applied,
            } => {
                self.failures[index] = Some(reason);
                self.maybe_applied |= maybe_applied;
                self.worth_another_round |= retry_later;
                None
            }
            Failure::Final(err) => Some(err),
            Failure::TokenRejected => Some(Error::new(ErrorKind::Io, "refused the auth token")),
        }
    }
}

impl Transport {
    /// Checks `config` and prepares the agents; no network traffic yet.
    pub(crate) fn new(config: EtcdConfig) -> Result<Transport> {
        config.validate()?;
        let scheme = config.scheme();
        let base_urls = config
            .endpoints
            .iter()
            .map(|endpoint| format!("{scheme}://{endpoint}"))
            .collect();
        Ok(Transport {
            agent: build_agent(&config, None)?,
            stream_agent: build_agent(&config, Some(STREAM_POLL))?,
            config,
            base_urls,
            preferred: AtomicUsize::new(0),
            token: Mutex::new(None),
        })
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &EtcdConfig {
        &self.config
    }

    /// `scheme://host:port` of member `index`.
    pub(crate) fn base_url(&self, index: usize) -> &str {
        &self.base_urls[index]
    }

    /// The agent for streams (each read waits at most [`STREAM_POLL`]).
    pub(crate) fn stream_agent(&self) -> &ureq::Agent {
        &self.stream_agent
    }

    /// The member that answered last (where calls start).
    pub(crate) fn preferred(&self) -> usize {
        self.preferred.load(Ordering::Relaxed)
    }

    /// Posts `body` to `path` and parses the answer as `T`.
    pub(crate) fn call_json<T: DeserializeOwned>(
        &self,
        path: &'static str,
        body: &[u8],
    ) -> Result<(T, bool)> {
        let reply = self.call(path, body, true)?;
        let parsed = parse(&reply.body, path)?;
        Ok((parsed, reply.retried_after_unknown_outcome))
    }

    /// Posts `body` to `path`, failing over between members, within the
    /// configured timeout; `require_leader` makes a member without a
    /// leader refuse at once (so the call moves on) instead of waiting.
    pub(crate) fn call(
        &self,
        path: &'static str,
        body: &[u8],
        require_leader: bool,
    ) -> Result<Reply> {
        let started = Instant::now();
        let deadline = started + self.config.timeout;
        let count = self.base_urls.len();
        let mut attempts = Attempts {
            failures: vec![None; count],
            maybe_applied: false,
            worth_another_round: false,
            started,
        };
        let mut pause = FIRST_PAUSE;
        loop {
            let first = self.preferred();
            attempts.worth_another_round = false;
            for step in 0..count {
                let index = (first + step) % count;
                let Some(budget) = attempt_budget(deadline, count - step) else {
                    attempts.worth_another_round = true;
                    return Err(self.exhausted(path, &attempts));
                };
                let request = Request {
                    base_url: &self.base_urls[index],
                    path,
                    body,
                    token: None,
                    require_leader,
                    budget,
                    stream: false,
                };
                match self.send_with_token(index, request) {
                    Ok(body) => {
                        self.preferred.store(index, Ordering::Relaxed);
                        return Ok(Reply {
                            body,
                            retried_after_unknown_outcome: attempts.maybe_applied,
                        });
                    }
                    Err(failure) => {
                        if let Some(err) = attempts.note(index, failure) {
                            return Err(self.in_context(index, path, &err));
                        }
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !attempts.worth_another_round || left.is_zero() {
                return Err(self.exhausted(path, &attempts));
            }
            std::thread::sleep(pause.min(left));
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    /// One attempt at member `index`: with the current token (fetched
    /// first if there is none), and once more with a fresh one if the
    /// member refuses it.
    fn send_with_token(&self, index: usize, request: Request) -> Result<WipedBuf, Failure> {
        let attempt_deadline = Instant::now() + request.budget;
        let mut refreshed = false;
        loop {
            let token = self.token_for(index, attempt_deadline)?;
            let request = Request {
                token: token.as_ref().map(|token| token.as_str()),
                budget: attempt_deadline.saturating_duration_since(Instant::now()),
                ..request
            };
            match exchange(&self.agent, &request) {
                Err(Failure::TokenRejected) if token.is_some() && !refreshed => {
                    refreshed = true;
                    self.forget_token();
                }
                other => return other,
            }
        }
    }

    /// The auth token to send, authenticating at member `index` if there is
    /// none yet; `None` without authentication.
    pub(crate) fn token_for(
        &self,
        index: usize,
        deadline: Instant,
    ) -> Result<Option<Zeroizing<String>>, Failure> {
        let Some(auth) = &self.config.auth else {
            return Ok(None);
        };
        if let Some(token) = self.lock_token().as_ref() {
            return Ok(Some(token.clone()));
        }
        // The lock is not held over the network: a slow member must not
        // hold up other threads beyond their own deadlines.
        let token = self.authenticate(index, auth, deadline)?;
        *self.lock_token() = Some(token.clone());
        Ok(Some(token))
    }

    /// Drops the current token, so the next call authenticates again.
    pub(crate) fn forget_token(&self) {
        *self.lock_token() = None;
    }

    /// The token slot, locked.
    fn lock_token(&self) -> std::sync::MutexGuard<'_, Option<Zeroizing<String>>> {
        // A panic elsewhere while holding the lock leaves a valid Option.
        self.token
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Exchanges the password (read from its file now) for a token.
    fn authenticate(
        &self,
        index: usize,
        auth: &AuthConfig,
        deadline: Instant,
    ) -> Result<Zeroizing<String>, Failure> {
        let user = auth.user.as_str();
        let password = read_password(&auth.password_file).map_err(Failure::Final)?;
        let mut body = WipedBuf::with_capacity(64 + user.len() + 2 * password.len());
        let json = AuthenticateJson {
            name: user,
            password: &password,
        };
        serde_json::to_writer(&mut body, &json)
            .map_err(|_| Failure::Final(Error::new(ErrorKind::InvalidArgument, "bad user name")))?;
        let request = Request {
            base_url: &self.base_urls[index],
            path: "/v3/auth/authenticate",
            body: body.as_slice(),
            token: None,
            require_leader: true,
            budget: deadline.saturating_duration_since(Instant::now()),
            stream: false,
        };
        let answer = exchange(&self.agent, &request).map_err(|failure| match failure {
            Failure::Final(err) => Failure::Final(Error::new(
                err.kind(),
                format!(
                    "authentication as etcd user '{user}' failed: {}",
                    err.message()
                ),
            )),
            other => other,
        })?;
        let parsed: AuthenticateResponseJson =
            parse(&answer, "/v3/auth/authenticate").map_err(Failure::Final)?;
        Ok(parsed.token.0)
    }

    /// One exchange with member `index` only, within `budget`, without
    /// failover or token (for per-member status).
    pub(crate) fn call_member(
        &self,
        index: usize,
        path: &'static str,
        budget: Duration,
    ) -> Result<WipedBuf, Failure> {
        let request = Request {
            base_url: &self.base_urls[index],
            path,
            body: b"{}",
            token: None,
            require_leader: false,
            budget,
            stream: false,
        };
        exchange(&self.agent, &request)
    }

    /// `err` with the member and the path it came from.
    fn in_context(&self, index: usize, path: &str, err: &Error) -> Error {
        Error::new(
            err.kind(),
            format!(
                "etcd {} ({path}): {}",
                self.config.endpoints[index],
                err.message()
            ),
        )
    }

    /// The error of a call that found no member to answer in time,
    /// naming each member and its last failure.
    fn exhausted(&self, path: &str, attempts: &Attempts) -> Error {
        let tried: Vec<String> = self
            .config
            .endpoints
            .iter()
            .zip(&attempts.failures)
            .map(|(endpoint, failure)| {
                format!("{endpoint} ({})", failure.as_deref().unwrap_or("not tried"))
            })
            .collect();
        let when = if attempts.worth_another_round {
            format!("within {} ms", self.config.timeout.as_millis())
        } else {
            // Every member failed in a way that waiting would not mend.
            format!(
                "({} ms; no member worth trying again)",
                attempts.started.elapsed().as_millis()
            )
        };
        // A write that reached a member may still commit there.
        let maybe = match attempts.maybe_applied {
            true => "; a request was sent before its answer was lost, so it may have been applied",
            false => "",
        };
        Error::new(
            ErrorKind::Io,
            format!(
                "etcd: no member answered {path} {when}: {}{maybe}",
                tried.join(", ")
            ),
        )
    }
}

/// Time for the next attempt when `untried` members remain in this round:
/// an equal share of what is left of the call, but at least
/// [`MIN_ATTEMPT`] while that much is left; `None` when time is up.
pub(crate) fn attempt_budget(deadline: Instant, untried: usize) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left < Duration::from_millis(1) {
        return None;
    }
    let share = left / u32::try_from(untried.max(1)).unwrap_or(u32::MAX);
    Some(share.max(left.min(MIN_ATTEMPT)))
}

/// Parses an answer; the message names only the position of a problem,
/// never the content (which may be key material).
pub(crate) fn parse<T: DeserializeOwned>(body: &WipedBuf, path: &str) -> Result<T> {
    serde_json::from_slice(body.as_slice()).map_err(|err| {
        Error::new(
            ErrorKind::Io,
            format!(
                "etcd answered {path} with JSON this client does not understand (line {}, column {}, {:?})",
                err.line(),
                err.column(),
                err.classify()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_share_what_is_left() {
        let deadline = Instant::now() + Duration::from_secs(6);
        let budget = attempt_budget(deadline, 3).unwrap();
        assert!(budget <= Duration::from_secs(2) && budget > Duration::from_millis(1900));
        let short = Instant::now() + Duration::from_millis(900);
        let budget = attempt_budget(short, 3).unwrap();
        assert!(budget > Duration::from_millis(800), "{budget:?}");
        assert!(attempt_budget(Instant::now(), 1).is_none());
    }

    #[test]
    fn calls_fail_over_and_name_every_member() {
        // Two closed loopback ports: both refuse at once.
        let closed: Vec<String> = (0..2)
            .map(|_| {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                listener.local_addr().unwrap().to_string()
            })
            .collect();
        let mut config = EtcdConfig::new(closed.clone());
        config.timeout = Duration::from_millis(400);
        let transport = Transport::new(config).unwrap();
        let started = Instant::now();
        let err = transport.call("/v3/kv/range", b"{}", true).err().unwrap();
        assert!(started.elapsed() < Duration::from_millis(1400));
        assert_eq!(err.kind(), ErrorKind::Io);
        for endpoint in &closed {
            assert!(err.message().contains(endpoint.as_str()), "{err}");
        }
        assert!(err.message().contains("connection refused"), "{err}");
    }
}
