//! Where a keyring's keys come from: the interface a key store implements.

use crate::error::Result;
use crate::secret::SecretBytes;

/// A value that changes whenever the key's set of versions changes: a
/// rotation, a prune, a promotion, a re-creation. Comparing two markers
/// must be all a keyring needs to know that nothing changed, so a source
/// builds it from cheap facts (a file's device, inode, size and change
/// time; a directory's; an etcd revision), never from the key bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Marker(pub [u64; 4]);

/// Every version of one key id, as a source read them.
pub struct LoadedKey {
    /// The version MACs are made with.
    pub current: u32,
    /// Every version that verifies, `current` included, each once; a
    /// version other than the current one (older, or staged for a later
    /// promotion) is used to verify only.
    pub versions: Vec<(u32, SecretBytes)>,
}

/// The origin of one key id's versions (a private key directory, a mounted
/// source, a remote store), as seen by a keyring.
///
/// Both calls may run on any thread, but a keyring never calls them from
/// two threads at once.
pub trait KeySource: Send + Sync {
    /// The key's change marker now.
    ///
    /// # Errors
    /// [`crate::ErrorKind::NotFound`] if the key no longer exists (it was
    /// deleted); any other error if the source cannot be read right now.
    fn change_marker(&self) -> Result<Marker>;

    /// Every version of the key. A source must read the marker it reports
    /// at or before the versions it returns (the keyring asks for the
    /// marker first, then loads), so that a change racing with a load is
    /// seen by the next check.
    ///
    /// # Errors
    /// As [`KeySource::change_marker`], and
    /// [`crate::ErrorKind::Corrupt`] for unusable key files.
    fn load(&self) -> Result<LoadedKey>;

    /// Starts following the key's changes after `since` (a marker from
    /// [`KeySource::change_marker`]) in the background, waking `waker`
    /// after each one; `false` when the source has no such feed (its
    /// marker is cheap to read, so calls check it themselves). While the
    /// feed works, [`KeySource::change_marker`] answers from it.
    ///
    /// # Errors
    /// When the feed cannot be started.
    fn follow(&self, since: Marker, waker: std::thread::Thread) -> Result<bool> {
        let _ = (since, waker);
        Ok(false)
    }
}

/// Changes of one key, followed in the background (an etcd watch). Dropped
/// to stop following.
pub trait ChangeFeed: Send + Sync {
    /// The marker of the last change the feed has seen; `None` while the
    /// feed is not working (the source is then asked directly).
    fn marker(&self) -> Option<Marker>;
}
