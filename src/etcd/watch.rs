//! Change notification without waiting on the network: one background
//! thread per [`Watcher`] follows etcd's watch stream for a prefix and
//! publishes the latest revision at which something under it changed, so
//! a caller asks "did anything change since revision R?" with one atomic
//! load.
//!
//! The thread reconnects to the next member when the stream fails and
//! resumes from the revision after the last one it saw, so no change is
//! missed while history lasts. After a compaction it publishes the
//! compaction revision as a change (it cannot know what it missed) and
//! goes on from there. Event values are never decoded; the stream's bytes
//! that pass through its own buffer are wiped.

use super::buffer::WipedBuf;
use super::failover::Transport;
use super::http::{Failure, Request, open_stream};
use super::request::prefix_end;
use super::wire::{B64, Int, WatchCreateJson, WatchJson, WatchLineJson, WatchResultJson};
use crate::error::{Error, ErrorKind, Result};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

/// Pause before reconnecting after a failure: doubles from this...
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// ...up to this.
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// The name of every watcher's thread (at most 15 bytes, so that Linux
/// shows it whole in `/proc/<pid>/task/<tid>/comm`).
pub const WATCH_THREAD_NAME: &str = "etcd-watcher";

/// Largest watch message accepted, in bytes.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// What a watcher has seen, readable at any time without blocking on the
/// network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchStatus {
    /// The stream is established and has not failed since.
    pub healthy: bool,
    /// The latest revision at which a key under the prefix changed, as far
    /// as the watcher knows (`start_revision - 1` until the first change).
    pub latest_revision: i64,
    /// How many times `latest_revision` moved.
    pub generation: u64,
    /// The last failure of the stream (kept after it recovers), naming the
    /// member; never a credential.
    pub last_error: Option<String>,
}

/// A watch on a prefix, followed by a background thread that stops when
/// this is dropped.
pub struct Watcher {
    /// What the thread publishes.
    shared: Arc<Shared>,
    /// The thread, joined on drop.
    thread: Option<JoinHandle<()>>,
}

/// State shared by a watcher and its thread.
struct Shared {
    /// See [`WatchStatus::latest_revision`].
    latest_revision: AtomicI64,
    /// See [`WatchStatus::generation`].
    generation: AtomicU64,
    /// See [`WatchStatus::healthy`].
    healthy: AtomicBool,
    /// Set when the watcher is dropped.
    stop: AtomicBool,
    /// See [`WatchStatus::last_error`].
    last_error: Mutex<Option<String>>,
    /// Woken after each change and each failure (see
    /// [`Watcher::wake_on_change`]).
    waker: Mutex<Option<Thread>>,
}

impl Shared {
    /// Whether the watcher was dropped.
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Records a change at `revision` if it is newer than the last one.
    fn publish(&self, revision: i64) {
        if self.latest_revision.fetch_max(revision, Ordering::AcqRel) < revision {
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.wake();
        }
    }

    /// Wakes the thread that asked to be woken, if any.
    fn wake(&self) {
        if let Some(thread) = &*self
            .waker
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
        {
            thread.unpark();
        }
    }

    /// Marks the stream failed, with why.
    fn fail(&self, message: String) {
        self.healthy.store(false, Ordering::Release);
        *self
            .last_error
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(message);
        self.wake();
    }

    /// Sleeps for `pause`, or less if the watcher is dropped meanwhile.
    fn pause(&self, pause: Duration) {
        let until = Instant::now() + pause;
        while !self.stopping() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::park_timeout(left);
        }
    }
}

impl Watcher {
    /// Starts following changes under `prefix` from `start_revision` (0:
    /// from now on).
    pub(crate) fn start(
        transport: Arc<Transport>,
        prefix: &[u8],
        start_revision: i64,
    ) -> Result<Watcher> {
        let shared = Arc::new(Shared {
            latest_revision: AtomicI64::new(start_revision.saturating_sub(1).max(0)),
            generation: AtomicU64::new(0),
            healthy: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            last_error: Mutex::new(None),
            waker: Mutex::new(None),
        });
        let follower = Follower {
            prefix: prefix.to_vec(),
            range_end: prefix_end(prefix),
            next_revision: start_revision.max(0),
            member: transport.preferred(),
            transport,
            shared: Arc::clone(&shared),
        };
        let thread = std::thread::Builder::new()
            .name(WATCH_THREAD_NAME.to_owned())
            .spawn(move || follower.run())
            .map_err(|err| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot start the etcd watch thread: {err}"),
                )
            })?;
        Ok(Watcher {
            shared,
            thread: Some(thread),
        })
    }

    /// The latest revision at which a key under the prefix changed, as far
    /// as the watcher knows.
    pub fn latest_revision(&self) -> i64 {
        self.shared.latest_revision.load(Ordering::Acquire)
    }

    /// Counts the moves of [`Watcher::latest_revision`].
    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::Acquire)
    }

    /// Whether a key under the prefix changed after `revision`, as far as
    /// the watcher knows (check [`Watcher::is_healthy`] to know how far
    /// that is).
    pub fn changed_since(&self, revision: i64) -> bool {
        self.latest_revision() > revision
    }

    /// Whether the stream is established and has not failed since; when it
    /// is not, a caller that cannot wait should poll instead.
    pub fn is_healthy(&self) -> bool {
        self.shared.healthy.load(Ordering::Acquire)
    }

    /// Unparks `thread` after every change the watcher sees and whenever
    /// the stream fails, so that it need not poll.
    pub fn wake_on_change(&self, thread: Thread) {
        *self
            .shared
            .waker
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = Some(thread);
    }

    /// Everything the watcher knows, at once.
    pub fn status(&self) -> WatchStatus {
        WatchStatus {
            healthy: self.is_healthy(),
            latest_revision: self.latest_revision(),
            generation: self.generation(),
            last_error: self
                .shared
                .last_error
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .clone(),
        }
    }
}

impl Drop for Watcher {
    /// Stops the thread and waits for it: it looks up between stream reads
    /// (every 200 ms at most) and wakes from its pauses at once.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // A panic in the thread has nothing left to report here.
            let _ = thread.join();
        }
    }
}

/// Why one stream ended.
enum End {
    /// The watcher was dropped.
    Stopped,
    /// Start a new stream at once (after a compaction).
    Restart,
    /// The stream failed: move to the next member after a pause.
    Failed(String),
}

/// The background thread's state.
struct Follower {
    /// The members and credentials (shared with the client).
    transport: Arc<Transport>,
    /// What the watcher reads.
    shared: Arc<Shared>,
    /// The prefix watched.
    prefix: Vec<u8>,
    /// The end of the prefix's range.
    range_end: Vec<u8>,
    /// The first revision the next stream asks for (0: from now on).
    next_revision: i64,
    /// The member followed now.
    member: usize,
}

impl Follower {
    /// The thread's body: streams, one member after the other, until the
    /// watcher is dropped.
    fn run(mut self) {
        let members = self.transport.config().endpoints.len();
        let mut pause = FIRST_PAUSE;
        loop {
            let started = Instant::now();
            match self.follow() {
                End::Stopped => return,
                End::Restart => continue,
                End::Failed(reason) => {
                    let endpoint = &self.transport.config().endpoints[self.member];
                    self.shared
                        .fail(format!("etcd watch at {endpoint}: {reason}"));
                }
            }
            if started.elapsed() > MAX_PAUSE * 5 {
                pause = FIRST_PAUSE;
            }
            self.member = (self.member + 1) % members;
            self.shared.pause(pause);
            if self.shared.stopping() {
                return;
            }
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    /// Opens one stream at the current member and follows it until it
    /// ends.
    fn follow(&mut self) -> End {
        let timeout = self.transport.config().timeout;
        let token = match self
            .transport
            .token_for(self.member, Instant::now() + timeout)
        {
            Ok(token) => token,
            Err(failure) => return self.failed(failure),
        };
        let json = WatchJson {
            create_request: WatchCreateJson {
                key: B64(&self.prefix),
                range_end: B64(&self.range_end),
                start_revision: (self.next_revision > 0).then_some(Int(self.next_revision)),
            },
        };
        let Ok(body) = serde_json::to_vec(&json) else {
            return End::Failed("cannot encode the watch request".to_owned());
        };
        let request = Request {
            base_url: self.transport.base_url(self.member),
            path: "/v3/watch",
            body: &body,
            token: token.as_ref().map(|token| token.as_str()),
            require_leader: true,
            budget: timeout,
            stream: true,
        };
        let stream = match open_stream(self.transport.stream_agent(), &request) {
            Ok(stream) => stream,
            Err(failure) => return self.failed(failure),
        };
        self.read(stream)
    }

    /// Reads messages (one JSON object a line) until the stream ends or
    /// the watcher is dropped.
    fn read(&mut self, mut stream: ureq::Body) -> End {
        let mut reader = stream.as_reader();
        let mut pending = WipedBuf::with_capacity(16 * 1024);
        loop {
            if self.shared.stopping() {
                return End::Stopped;
            }
            match pending.read_some(&mut reader, MAX_MESSAGE_BYTES) {
                Ok(0) => return End::Failed("the member closed the stream".to_owned()),
                Ok(_) => {}
                Err(err) if is_poll_timeout(&err) => continue,
                Err(err) => return End::Failed(format!("stream broke: {err}")),
            }
            while let Some(newline) = pending.as_slice().iter().position(|&b| b == b'\n') {
                let outcome = self.handle(&pending.as_slice()[..newline]);
                pending.remove_front(newline + 1);
                if let Some(end) = outcome {
                    return end;
                }
            }
        }
    }

    /// Handles one message; `Some` when it ends the stream.
    fn handle(&mut self, line: &[u8]) -> Option<End> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let message: WatchLineJson = match serde_json::from_slice(line) {
            Ok(message) => message,
            Err(err) => {
                return Some(End::Failed(format!(
                    "unreadable watch message (column {})",
                    err.column()
                )));
            }
        };
        if let Some(error) = message.error {
            if error.grpc_code == 16 {
                self.transport.forget_token();
            }
            return Some(End::Failed(error.message));
        }
        self.apply(message.result?)
    }

    /// Applies one watch response; `Some` when it ends the stream.
    fn apply(&mut self, result: WatchResultJson) -> Option<End> {
        if result.canceled {
            if result.compact_revision > 0 {
                // History before it is gone: report a change, go on from it.
                self.shared.publish(result.compact_revision);
                self.next_revision = result.compact_revision;
                return Some(End::Restart);
            }
            if result.cancel_reason.contains("auth") || result.cancel_reason.contains("user name") {
                self.transport.forget_token();
            }
            return Some(End::Failed(format!(
                "watch canceled: {}",
                result.cancel_reason
            )));
        }
        if result.created {
            if self.next_revision == 0 {
                self.next_revision = result.header.revision + 1;
            }
            self.shared.healthy.store(true, Ordering::Release);
        }
        if let Some(latest) = result.events.iter().map(|e| e.kv.mod_revision).max() {
            self.shared.publish(latest);
            self.next_revision = self.next_revision.max(latest + 1);
        }
        None
    }

    /// How a failure to open a stream ends it.
    fn failed(&self, failure: Failure) -> End {
        match failure {
            Failure::Endpoint { reason, .. } => End::Failed(reason),
            Failure::TokenRejected => {
                self.transport.forget_token();
                End::Failed("the member refused the auth token".to_owned())
            }
            Failure::Final(err) => End::Failed(err.message().to_owned()),
        }
    }
}

/// Whether a read error is only the per-read timeout of a quiet stream.
fn is_poll_timeout(err: &io::Error) -> bool {
    if matches!(
        err.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    ) {
        return true;
    }
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        .is_some_and(|inner| matches!(inner, ureq::Error::Timeout(_)))
}
