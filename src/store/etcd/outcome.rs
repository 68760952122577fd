//! Whether a transaction sent again after a lost answer had committed the
//! first time.
//!
//! When a member fails after receiving a transaction, the client sends it
//! to another member; if the first attempt did commit, the second finds its
//! guard failing, because of that very commit. The guard only lets a
//! transaction commit while nothing under the key has changed since the
//! revision `base` its decision was read at, so the transaction committed
//! exactly when the *first* change to the key after `base` is its own. Every
//! change rewrites the manifest or the delete marker, with a nonce of its
//! own, so that first change is found by looking, at successive revisions,
//! for the first one at which either was written after `base` (once one of
//! them is, one of them stays so: a delete replaces the manifest with the
//! marker, a create the marker with the manifest), and it is ours exactly
//! when it carries our nonce.

use super::EtcdBackend;
use super::layout::KeyPaths;
use crate::error::{Error, ErrorKind, Result};
use crate::store::backend::Commit;

impl EtcdBackend {
    /// Whether the transaction `nonce`, guarded by `base`, committed:
    /// [`Commit::Done`] if so, [`Commit::Conflict`] if another change came
    /// first (so it cannot have).
    pub(super) fn recognise(
        &self,
        paths: &KeyPaths,
        id: &str,
        base: i64,
        nonce: &str,
    ) -> Result<Commit> {
        // Whatever stopped the check (no member, a compacted revision),
        // the outcome is unknown: an I/O failure, not a wrong argument.
        let unknown = |err: Error| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "the change to {} may or may not have been applied (its answer was lost, and \
                     checking failed): {}",
                    self.describe(id),
                    err.message()
                ),
            )
        };
        let now = self.read_raw(paths, id, None, false).map_err(unknown)?;
        if now.written_by(nonce) {
            return Ok(Commit::Done);
        }
        if now.marker_revision <= base {
            // The guard failed on something no change of this library
            // writes alone; ours did not commit.
            return Ok(Commit::Conflict);
        }
        let first = self
            .first_change_after(paths, id, base, now.revision)
            .map_err(unknown)?;
        let then = self
            .read_raw(paths, id, Some(first), false)
            .map_err(unknown)?;
        Ok(match then.written_by(nonce) {
            true => Commit::Done,
            false => Commit::Conflict,
        })
    }

    /// The first revision in `(base, latest]` at which the manifest or the
    /// delete marker of the key had been written after `base`, by
    /// bisection with keys-only reads (`latest` is such a revision).
    fn first_change_after(
        &self,
        paths: &KeyPaths,
        id: &str,
        base: i64,
        latest: i64,
    ) -> Result<i64> {
        let (mut low, mut high) = (base.saturating_add(1), latest);
        while low < high {
            let middle = low + (high - low) / 2;
            let raw = self.read_raw(paths, id, Some(middle), true)?;
            if raw.marker_revision > base {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        Ok(high)
    }
}
