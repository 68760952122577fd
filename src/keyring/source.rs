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
}
