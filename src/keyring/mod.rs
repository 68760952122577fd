//! Keyrings: every version of one key id held in memory as precomputed HMAC
//! keys, for services that MAC or verify on every request.
//!
//! # Sharing and replacing
//!
//! A [`Keyring`] is `Send + Sync`. The key set it serves sits behind an
//! [`ArcSwap`]: a call takes a reference to the whole set (no lock, no
//! write to a shared cache line) and keeps it for the call, so a call sees
//! the old set or the new one, never a mix, and callers never wait for
//! each other or for a reload. A replaced set is wiped and unmapped when
//! its last reader lets go of it.
//!
//! # Refresh
//!
//! - `refresh_ms == 0`: the set changes only through [`Keyring::refresh`].
//! - `refresh_ms > 0`: a call reads the coarse monotonic clock (a few ns:
//!   no system call, see `clock`); once `refresh_ms` has passed since the
//!   last check, the one call that takes the reload lock (`try_lock`, so
//!   others never wait) compares the source's change marker with the one
//!   of the set it loaded, and reloads only when it changed. A change is
//!   seen within `refresh_ms` plus the coarse clock's resolution (1 to
//!   4 ms).
//! - A check or reload that fails keeps the last good set; the error is
//!   reported by [`Keyring::refresh`] only (which tries again).
//! - A key the source says was deleted (`NotFound`) is wiped from memory:
//!   deleting a key is how an operator revokes it, so MACs and
//!   verifications fail with `NotFound` from then on; every refresh reports
//!   `NotFound` until the key exists again, when the next check loads it.

mod clock;
mod set;
mod source;

#[cfg(test)]
mod core_dump_tests;
#[cfg(test)]
mod tests;

pub(crate) use set::KeySet;
pub(crate) use source::{ChangeFeed, KeySource, LoadedKey, Marker};

use crate::alg::HashAlg;
use crate::error::{Error, ErrorKind, Result};
use crate::hmac::Mac;
use crate::store::{TaggedMac, split_tag};
use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// What a keyring serves: a key set, or nothing since its key was deleted.
enum Served {
    Keys(KeySet),
    Deleted,
}

impl Served {
    fn keys(&self) -> Result<&KeySet> {
        match self {
            Served::Keys(set) => Ok(set),
            Served::Deleted => Err(Error::new(
                ErrorKind::NotFound,
                "the keyring's key was deleted from its source",
            )),
        }
    }
}

/// The marker of the set being served (`None` once deleted), guarded by
/// the reload lock.
struct Loaded {
    marker: Option<Marker>,
}

/// Every version of one key id, loaded once with its HMAC key schedule
/// precomputed, ready to MAC and verify from many threads at once (from
/// [`KeyManager::load`](crate::KeyManager::load)). The keys live in memory
/// that is locked (best effort) and left out of core dumps, and are wiped
/// when replaced or dropped.
pub struct Keyring {
    // Declared first, so dropped first: the thread stops before the keys
    // and the source go.
    follower: Option<Follower>,
    shared: Arc<Shared>,
}

/// What the calls and the follower thread share.
struct Shared {
    alg: HashAlg,
    source: Box<dyn KeySource>,
    served: ArcSwap<Served>,
    /// What a refresh may take before `refresh` asks again (0: never).
    refresh_ms: u64,
    /// How often calls check the source (0: never; the follower thread
    /// does it instead, or only `refresh` does).
    call_check_ms: AtomicU64,
    /// Coarse-clock time (ms) from which the next call checks the source.
    next_check_ms: AtomicU64,
    reload: Mutex<Loaded>,
}

/// The thread that follows a source's change feed and reloads the keys,
/// so that no call waits on a remote source.
struct Follower {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The follower thread's name (Linux shows 15 bytes).
const FOLLOWER_THREAD_NAME: &str = "keyring-refresh";

impl Keyring {
    /// A keyring of `source`'s key for `alg`, loaded now.
    ///
    /// # Errors
    /// Whatever the source reports, [`ErrorKind::Corrupt`] for a key set
    /// that cannot be served, [`ErrorKind::Io`] if locked memory cannot be
    /// had.
    pub(crate) fn new(
        source: Box<dyn KeySource>,
        alg: HashAlg,
        refresh_ms: u32,
    ) -> Result<Keyring> {
        let marker = source.change_marker()?;
        let set = KeySet::new(alg, &source.load()?)?;
        let refresh_ms = u64::from(refresh_ms);
        let shared = Arc::new(Shared {
            alg,
            source,
            served: ArcSwap::from_pointee(Served::Keys(set)),
            refresh_ms,
            call_check_ms: AtomicU64::new(refresh_ms),
            next_check_ms: AtomicU64::new(clock::now_ms().saturating_add(refresh_ms)),
            reload: Mutex::new(Loaded {
                marker: Some(marker),
            }),
        });
        let follower = match refresh_ms {
            0 => None,
            _ => Follower::start(&shared, marker)?,
        };
        if follower.is_some() {
            shared.call_check_ms.store(0, Ordering::Relaxed);
        }
        Ok(Keyring { follower, shared })
    }

    /// The algorithm of every MAC this keyring makes.
    pub fn alg(&self) -> HashAlg {
        self.shared.alg
    }

    /// Whether a background thread follows the source's changes (an etcd
    /// watch) instead of calls checking the source.
    pub fn is_followed(&self) -> bool {
        self.follower.is_some()
    }

    /// The HMAC of `data` with the current version.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if the key was deleted.
    pub fn hmac(&self, data: &[u8]) -> Result<Mac> {
        self.check_if_due();
        let served = self.shared.served.load();
        Ok(served.keys()?.current_key().mac(data))
    }

    /// Checks `mac` against the HMAC of `data` with the current version, in
    /// constant time in its content.
    ///
    /// # Errors
    /// [`ErrorKind::VerifyFailed`] if it does not match or has the wrong
    /// length; [`ErrorKind::NotFound`] if the key was deleted.
    pub fn hmac_verify(&self, data: &[u8], mac: &[u8]) -> Result<()> {
        self.check_if_due();
        let served = self.shared.served.load();
        served.keys()?.current_key().verify(data, mac)
    }

    /// The tagged MAC of `data` (`0x01 || version || HMAC`) with the
    /// current version.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if the key was deleted.
    pub fn hmac_tagged(&self, data: &[u8]) -> Result<TaggedMac> {
        self.check_if_due();
        let served = self.shared.served.load();
        let set = served.keys()?;
        let mac = set.current_key().mac(data);
        Ok(TaggedMac::new(set.current_version(), &mac))
    }

    /// Checks a tagged MAC of `data` with the version it names (any version
    /// the set holds, staged ones included), in constant time in the MAC.
    ///
    /// # Errors
    /// [`ErrorKind::VerifyFailed`] for a bad format byte, a wrong length, a
    /// version the set does not hold (0 included) or a mismatch;
    /// [`ErrorKind::NotFound`] if the key was deleted.
    pub fn hmac_verify_tagged(&self, data: &[u8], tag: &[u8]) -> Result<()> {
        self.check_if_due();
        let served = self.shared.served.load();
        let set = served.keys()?;
        let refuse = |why: String| {
            Error::new(
                ErrorKind::VerifyFailed,
                format!("tagged MAC verification failed: {why}"),
            )
        };
        let (version, mac) = split_tag(tag, self.shared.alg).map_err(refuse)?;
        match set.key(version) {
            Some(key) => key.verify(data, mac.as_bytes()),
            None => Err(refuse(format!("the keyring has no version {version}"))),
        }
    }

    /// The version MACs are made with now.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if the key was deleted.
    pub fn current_version(&self) -> Result<u32> {
        self.check_if_due();
        Ok(self.shared.served.load().keys()?.current_version())
    }

    /// Whether the keys served now are locked in RAM (see [`KeySet`]).
    pub fn is_locked(&self) -> bool {
        matches!(&**self.shared.served.load(), Served::Keys(set) if set.is_locked())
    }

    /// Checks the source now and reloads if the key changed; `true` if the
    /// set served changed.
    ///
    /// # Errors
    /// The source's error, or that of building the new set: the last good
    /// set is still served. [`ErrorKind::NotFound`] if the key was deleted
    /// (its keys are wiped; see the module documentation).
    pub fn refresh(&self) -> Result<bool> {
        self.shared.refresh()
    }

    /// The hot path's part of refreshing: one clock read and one relaxed
    /// load, unless a check is due.
    #[inline(always)]
    fn check_if_due(&self) {
        let shared = &*self.shared;
        if shared.call_check_ms.load(Ordering::Relaxed) == 0 {
            return;
        }
        let now = clock::now_ms();
        if now >= shared.next_check_ms.load(Ordering::Relaxed) {
            shared.check_in_call(now);
        }
    }
}

impl Shared {
    /// [`Keyring::refresh`].
    fn refresh(&self) -> Result<bool> {
        let mut loaded = lock(&self.reload);
        self.next_check_ms.store(
            clock::now_ms().saturating_add(self.refresh_ms),
            Ordering::Relaxed,
        );
        self.check(&mut loaded)
    }

    /// A due check, made by the one call that gets the reload lock; the
    /// others go on with the set they have. Errors wait for `refresh`.
    #[cold]
    #[inline(never)]
    fn check_in_call(&self, now: u64) {
        let mut loaded = match self.reload.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return,
        };
        if now < self.next_check_ms.load(Ordering::Relaxed) {
            return; // another call has just checked
        }
        self.next_check_ms
            .store(now.saturating_add(self.refresh_ms), Ordering::Relaxed);
        let _ = self.check(&mut loaded);
    }

    /// Compares the source's marker with the loaded one and reloads if it
    /// changed. The caller holds the reload lock.
    fn check(&self, loaded: &mut Loaded) -> Result<bool> {
        let marker = match self.source.change_marker() {
            Ok(marker) => marker,
            Err(err) if err.kind() == ErrorKind::NotFound => return Err(self.deleted(loaded, err)),
            Err(err) => return Err(err),
        };
        if loaded.marker == Some(marker) {
            return Ok(false);
        }
        let versions = match self.source.load() {
            Ok(versions) => versions,
            Err(err) if err.kind() == ErrorKind::NotFound => return Err(self.deleted(loaded, err)),
            Err(err) => return Err(err),
        };
        let set = KeySet::new(self.alg, &versions)?;
        self.served.store(Arc::new(Served::Keys(set)));
        loaded.marker = Some(marker);
        Ok(true)
    }

    /// The key is gone from the source: stop serving (and drop) its keys.
    fn deleted(&self, loaded: &mut Loaded, err: Error) -> Error {
        if loaded.marker.take().is_some() {
            self.served.store(Arc::new(Served::Deleted));
        }
        err
    }
}

fn lock(mutex: &Mutex<Loaded>) -> MutexGuard<'_, Loaded> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Follower {
    /// Starts the thread and asks the source to wake it after each change
    /// after `since`; `None` (and no thread) if the source has no feed.
    fn start(shared: &Arc<Shared>, since: Marker) -> Result<Option<Follower>> {
        let stop = Arc::new(AtomicBool::new(false));
        let period = Duration::from_millis(shared.refresh_ms);
        let thread = std::thread::Builder::new()
            .name(FOLLOWER_THREAD_NAME.to_owned())
            .spawn({
                let (shared, stop) = (Arc::downgrade(shared), Arc::clone(&stop));
                move || follow_changes(&shared, &stop, period)
            })
            .map_err(|err| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot start the keyring's refresh thread: {err}"),
                )
            })?;
        let waker = thread.thread().clone();
        let follower = Follower {
            stop,
            thread: Some(thread),
        };
        // Without a feed the follower is dropped here, which stops it.
        Ok(shared.source.follow(since, waker)?.then_some(follower))
    }
}

impl Drop for Follower {
    /// Stops the thread and waits for it (it may be finishing a reload).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // A panic in the thread has nothing left to report here.
            let _ = thread.join();
        }
    }
}

/// The follower thread: refreshes when the feed wakes it, and every
/// `period` at the latest (when the feed is down, the check asks the
/// source itself). Errors wait for [`Keyring::refresh`], as in calls.
fn follow_changes(shared: &Weak<Shared>, stop: &AtomicBool, period: Duration) {
    loop {
        std::thread::park_timeout(period);
        if stop.load(Ordering::Acquire) {
            return;
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let _ = shared.refresh();
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = &*self.shared;
        match &**shared.served.load() {
            Served::Keys(set) => write!(f, "Keyring({set:?}, refresh {} ms)", shared.refresh_ms),
            Served::Deleted => write!(f, "Keyring({}, deleted)", shared.alg),
        }
    }
}
