//! What a shared source says about its own health, for operators.

use super::KeyManager;
use crate::error::Result;

/// The state of a source shared by many hosts (etcd), as
/// [`KeyManager::source_status`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceStatus {
    /// The newest revision a reachable member reported: every change to
    /// the key set has a revision at most this.
    pub revision: u64,
    /// How many of the configured members answered.
    pub members_reachable: usize,
    /// How many members are configured.
    pub members: usize,
}

impl KeyManager {
    /// For a source shared by many hosts (etcd): its revision and the
    /// members that answer, asked of each member in turn within the
    /// source's timeout; `None` for a directory or a mounted source.
    ///
    /// # Errors
    /// [`ErrorKind::Io`](crate::ErrorKind::Io) if no member answers,
    /// naming each and why.
    pub fn source_status(&self) -> Result<Option<SourceStatus>> {
        self.backend().source_status()
    }
}
