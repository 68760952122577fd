//! The seam between what a key store means and where its keys live.
//!
//! Above the [`Backend`] trait (in [`super::KeyManager`] and
//! [`super::Key`]): the key-id rule, which version is used for what,
//! rotation, pruning, staging, tagged MACs and the retry-or-lock discipline
//! of writers. Below it, each source stores one thing: for every key id, a
//! set of numbered versions, one of them current and some of them staged,
//! and changes that set atomically.

use crate::error::{Error, ErrorKind, Result};
use crate::keyring::{ChangeFeed, LoadedKey, Marker};
use crate::secret::SecretBytes;
use std::fmt;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// How often [`Backend::load_every_version`] starts again when a version
/// vanishes while it reads (pruned, or replaced by an orchestrator's update).
const LOAD_ATTEMPTS: usize = 16;

/// One key as a backend found it, consistently: the current version's
/// number and bytes, and the numbers of the other versions it keeps.
pub(crate) struct KeyView {
    /// The number of the current version.
    pub current: u32,
    /// The current version's bytes.
    pub bytes: SecretBytes,
    /// Older versions kept for verification, ascending, all below `current`.
    pub retained: Vec<u32>,
    /// Versions accepted for verification but not yet used to make MACs,
    /// ascending.
    pub staged: Vec<u32>,
    /// What the backend needs to know, at commit time, about the state this
    /// view was read from (a revision, for a store that compares one).
    pub token: Token,
    /// The state the view was read from, for a source that can hold on to
    /// one (a mounted source's snapshot directory), so that versions read
    /// later for this view come from the same update.
    pub snapshot: Option<Arc<OwnedFd>>,
}

impl KeyView {
    /// Whether `version` exists (current, retained or staged).
    pub fn has(&self, version: u32) -> bool {
        version == self.current
            || self.retained.binary_search(&version).is_ok()
            || self.staged.binary_search(&version).is_ok()
    }

    /// Every version, ascending: retained, current and staged.
    pub fn all_versions(&self) -> Vec<u32> {
        let mut all = self.retained.clone();
        all.push(self.current);
        all.extend_from_slice(&self.staged);
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The number the next new version gets: one past every version that
    /// exists, staged ones included.
    pub fn next_version(&self) -> Option<u32> {
        let highest = self.staged.last().copied().unwrap_or(0).max(self.current);
        highest.checked_add(1)
    }
}

/// The version numbers of one key, without its bytes.
pub(crate) struct VersionList {
    /// The current version.
    pub current: u32,
    /// Older versions kept, ascending.
    pub retained: Vec<u32>,
    /// Staged versions, ascending.
    pub staged: Vec<u32>,
}

impl From<KeyView> for VersionList {
    fn from(view: KeyView) -> VersionList {
        VersionList {
            current: view.current,
            retained: view.retained,
            staged: view.staged,
        }
    }
}

/// A backend's note of the state a [`KeyView`] was read from; opaque to
/// the layer above, each backend defines what it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Token(pub u64);

/// One atomic change to one key. A backend applies all of it or none of it,
/// even if the process is killed at any instant.
#[derive(Clone)]
pub(crate) enum Change<'a> {
    /// The key does not exist: make `bytes` its version 1, removing any
    /// version records an earlier key of that id left behind. With
    /// `replace: false`, fail with `AlreadyExists` if a key file appears
    /// meanwhile (a writer that does not take the lock).
    Create { bytes: &'a [u8], replace: bool },
    /// The key does not exist: give it exactly `versions` (number, bytes),
    /// `current` being current, lower numbers retained and higher ones
    /// staged. Fail with `AlreadyExists` if a key file appears meanwhile.
    Import {
        versions: &'a [(u32, &'a [u8])],
        current: u32,
    },
    /// Make `bytes` version `to` and current; the current version becomes a
    /// retained one.
    Advance { to: u32, bytes: &'a [u8] },
    /// Add `bytes` as the staged version `version`.
    Stage { version: u32, bytes: &'a [u8] },
    /// Make the staged version `version` current; the current version
    /// becomes a retained one.
    Promote { version: u32 },
    /// Remove these retained or staged versions (never the current one).
    Remove { versions: Vec<u32> },
    /// Remove the key and every version of it.
    Delete,
}

/// Held while a writer reads, decides and commits; dropped to release.
pub(crate) trait WriteLock {}

/// A place where keys live: a private directory, a mounted source, a
/// remote store.
pub(crate) trait Backend: Send + Sync + fmt::Debug {
    /// Where the keys are, as the user named it, for messages and
    /// [`super::KeyManager::location`].
    fn location(&self) -> &super::Location;

    /// Whether every write is refused.
    fn read_only(&self) -> bool;

    /// The ids of all keys, in any order.
    fn list(&self) -> Result<Vec<String>>;

    /// Whether `id` names a key (without reading its bytes).
    fn exists(&self, id: &str) -> Result<bool>;

    /// A consistent view of `id`; `None` if there is no such key.
    fn load(&self, id: &str) -> Result<Option<KeyView>>;

    /// The bytes of the current version of `id`, for a use that needs no
    /// version number; `None` if there is no such key. A backend may
    /// answer this where [`Backend::load`] fails for want of the older
    /// versions.
    fn load_current(&self, id: &str) -> Result<Option<SecretBytes>> {
        Ok(self.load(id)?.map(|view| view.bytes))
    }

    /// The version numbers of `id`, where possible without reading (or
    /// being able to unseal) its key; `None` if there is no such key.
    fn versions(&self, id: &str) -> Result<Option<VersionList>> {
        Ok(self.load(id)?.map(VersionList::from))
    }

    /// The bytes of `version` of `id`, which `view` lists as retained or
    /// staged; `None` if it has gone since.
    fn read_version(&self, id: &str, view: &KeyView, version: u32) -> Result<Option<SecretBytes>>;

    /// Every version of `id` (current, retained and staged) with its bytes,
    /// all from one state of the key; `None` if there is no such key. By
    /// default [`Backend::load`] and then [`Backend::read_version`] for each
    /// other version, starting again when one vanished in between; a source
    /// that reads them all at once does so.
    fn load_every_version(&self, id: &str) -> Result<Option<LoadedKey>> {
        'attempt: for _ in 0..LOAD_ATTEMPTS {
            let Some(view) = self.load(id)? else {
                return Ok(None);
            };
            let mut versions = vec![(view.current, view.bytes.clone())];
            for &version in view.retained.iter().chain(view.staged.iter()) {
                match self.read_version(id, &view, version)? {
                    Some(bytes) => versions.push((version, bytes)),
                    None => continue 'attempt,
                }
            }
            return Ok(Some(LoadedKey {
                current: view.current,
                versions,
            }));
        }
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "key '{id}' in '{}' changed {LOAD_ATTEMPTS} times while it was loaded; try again",
                self.location()
            ),
        ))
    }

    /// Excludes every other writer of `id` until the guard is dropped; a
    /// backend whose commits compare the state they start from may return a
    /// guard that excludes nothing.
    fn lock(&self, id: &str) -> Result<Box<dyn WriteLock + '_>>;

    /// Applies `change` to `id`, whose state was `base` when read under the
    /// lock, atomically. A backend that compares states instead of locking
    /// returns [`Commit::Conflict`], having changed nothing, when `id`
    /// changed since `base` was read; the caller reads and decides again.
    fn commit(&self, id: &str, base: Option<&KeyView>, change: Change<'_>) -> Result<Commit>;

    /// A cheap value that changes whenever the versions of `id` change (a
    /// rotation, a prune, a promotion, a delete and re-creation, an
    /// orchestrator's update): what a keyring compares, at most every
    /// `refresh_ms`, before it reloads. `NotFound` if there is no such key.
    /// Built from cheap facts (a file's identity, a revision), never from
    /// key bytes.
    fn marker(&self, id: &str) -> Result<Marker>;

    /// Starts following the changes of `id` after `since` (a marker this
    /// source gave) in the background, waking `waker` after each change
    /// and whenever the feed fails; `None` when this source has no such
    /// feed, because its marker is cheap enough to read in a call.
    fn follow(
        &self,
        id: &str,
        since: Marker,
        waker: std::thread::Thread,
    ) -> Result<Option<Box<dyn ChangeFeed>>> {
        let _ = (id, since, waker);
        Ok(None)
    }

    /// Rewrites every file of `id` that is not sealed under the source's
    /// current KEK (plain, or sealed under a previous KEK), each atomically;
    /// returns how many it rewrote.
    fn seal_files(&self, id: &str, base: &KeyView) -> Result<usize> {
        let _ = (id, base);
        Err(crate::error::Error::new(
            crate::error::ErrorKind::InvalidArgument,
            format!(
                "the key source '{}' cannot be sealed in place",
                self.location()
            ),
        ))
    }

    /// For a source shared by many hosts, its revision and the members
    /// that answer; `None` for a local source.
    fn source_status(&self) -> Result<Option<super::status::SourceStatus>> {
        Ok(None)
    }

    /// Removes, as far as it can prove them dead, what killed writers left
    /// behind (temporary files, records of deleted keys); done once when a
    /// writable source is opened. Best effort: leftovers are harmless, and
    /// the next write of their key removes them too.
    fn sweep(&self) {}
}

/// How a commit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// The change is applied.
    Done,
    /// Nothing was applied: the key changed since it was read (only a
    /// source without a writers' lock, etcd, reports it).
    #[cfg_attr(not(feature = "etcd"), allow(dead_code))]
    Conflict,
}
