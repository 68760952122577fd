//! The precomputed HMAC keys of every version of one key id, in locked
//! memory.

use super::source::LoadedKey;
use crate::alg::HashAlg;
use crate::error::{Error, ErrorKind, Result};
use crate::hmac_key::HmacKey;
use crate::secret::{scrubbed, stack};
use crate::sys::mem::LockedSlice;

/// Every version of one key id, as HMAC keys of one algorithm.
///
/// The keys are packed into one mapping of locked, non-dumpable pages (a
/// SHA-512 key takes 304 bytes, so a page holds 13 versions: under the
/// 64 KiB `RLIMIT_MEMLOCK` some systems still have, one page per version
/// would stop locking at 16 versions; packed, a set of 50 versions takes 4
/// pages). The pages are zeroed and unmapped when the set is dropped.
pub struct KeySet {
    alg: HashAlg,
    /// Version numbers, ascending; `keys[i]` is version `versions[i]`.
    versions: Vec<u32>,
    current_index: usize,
    keys: LockedSlice<HmacKey>,
}

impl KeySet {
    /// The set of `loaded`'s versions for `alg`.
    ///
    /// # Errors
    /// [`ErrorKind::Corrupt`] if `loaded` has no versions, a version 0, a
    /// version twice, or a current version it does not hold;
    /// [`ErrorKind::Io`] if locked memory cannot be mapped.
    pub fn new(alg: HashAlg, loaded: &LoadedKey) -> Result<KeySet> {
        let mut order: Vec<usize> = (0..loaded.versions.len()).collect();
        order.sort_by_key(|&i| loaded.versions[i].0);
        let versions: Vec<u32> = order.iter().map(|&i| loaded.versions[i].0).collect();
        check_versions(&versions, loaded.current)?;
        let current_index = versions
            .binary_search(&loaded.current)
            .map_err(|_| corrupt("the current version is missing"))?;
        // Each key is built on the stack and moved into its slot: the
        // copies left behind are scrubbed with the frames.
        let keys = scrubbed::<{ stack::KEY_SET }, _>(|| {
            LockedSlice::new_with(order.len(), |slot| {
                HmacKey::new(alg, &loaded.versions[order[slot]].1)
            })
        })?;
        Ok(KeySet {
            alg,
            versions,
            current_index,
            keys,
        })
    }

    /// The version MACs are made with.
    pub fn current_version(&self) -> u32 {
        self.versions[self.current_index]
    }

    /// The key of the current version.
    pub fn current_key(&self) -> &HmacKey {
        &self.keys[self.current_index]
    }

    /// The key of `version`, if the set holds it.
    pub fn key(&self, version: u32) -> Option<&HmacKey> {
        let index = self.versions.binary_search(&version).ok()?;
        self.keys.get(index)
    }

    /// Whether the keys are locked in RAM (`mlock` succeeded; if not, they
    /// are still never dumped, but may be swapped out).
    pub fn is_locked(&self) -> bool {
        self.keys.is_locked()
    }

    /// The address range of the locked pages (for tests that inspect it).
    #[cfg(test)]
    pub(crate) fn page_range(&self) -> std::ops::Range<usize> {
        self.keys.page_range()
    }
}

/// Checks sorted `versions` and `current` for what a set needs.
fn check_versions(versions: &[u32], current: u32) -> Result<()> {
    if versions.is_empty() {
        return Err(corrupt("the key has no versions"));
    }
    if versions[0] == 0 {
        return Err(corrupt("version 0 does not exist"));
    }
    if versions.windows(2).any(|pair| pair[0] == pair[1]) {
        return Err(corrupt("a version is listed twice"));
    }
    if current == 0 || versions.binary_search(&current).is_err() {
        return Err(corrupt(format!("the current version {current} is missing")));
    }
    Ok(())
}

fn corrupt(why: impl Into<String>) -> Error {
    Error::new(
        ErrorKind::Corrupt,
        format!(
            "the key source returned an unusable key set: {}",
            why.into()
        ),
    )
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KeySet({}, versions {:?}, current {})",
            self.alg,
            self.versions,
            self.current_version()
        )
    }
}
