//! Shorthands over the safe key-store API for tests that think in version
//! numbers, and the rotation with a bound on the previous key that the C
//! layer builds on `KeyManager::rotate_if`.

use codomyrmex_keys::{Error, ErrorKind, KeyManager, Result, SecretBytes, Version};
use std::num::NonZeroU32;
use std::path::PathBuf;

/// Version `n` of a key (`n` is 1 or more).
pub fn v(n: u32) -> Version {
    Version::Number(NonZeroU32::new(n).expect("version numbers start at 1"))
}

/// Every version number of `key_id`, ascending: retained, current and
/// staged.
pub fn version_list(km: &KeyManager, key_id: &str) -> Result<Vec<u32>> {
    let versions = km.key(key_id)?.versions()?;
    Ok(versions.all().into_iter().map(NonZeroU32::get).collect())
}

/// The number of the current version of `key_id`.
pub fn current_number(km: &KeyManager, key_id: &str) -> Result<u32> {
    Ok(km.key(key_id)?.current_version()?.get())
}

/// The bytes of version `n` of `key_id`.
pub fn version_bytes(km: &KeyManager, key_id: &str, n: u32) -> Result<SecretBytes> {
    km.key(key_id)?.at(v(n)).get()
}

/// The kind of the error a call must have returned.
pub fn kind<T: std::fmt::Debug>(result: Result<T>) -> ErrorKind {
    result.expect_err("expected an error").kind()
}

/// Why [`rotate_bounded`] failed.
#[derive(Debug)]
pub enum Bounded {
    /// The previous key has `needed` bytes, more than the bound.
    TooLong { needed: usize },
    /// The store refused.
    Store(Error),
}

impl From<Error> for Bounded {
    fn from(err: Error) -> Bounded {
        Bounded::Store(err)
    }
}

impl Bounded {
    /// The store's error; panics for [`Bounded::TooLong`].
    pub fn into_store_error(self) -> Error {
        match self {
            Bounded::Store(err) => err,
            Bounded::TooLong { needed } => panic!("refused a {needed}-byte previous key"),
        }
    }
}

/// `KeyManager::rotate` for a caller that can take back a previous key of
/// at most `max_old_len` bytes, as the C function does for its buffer: a
/// longer one refuses the rotation before anything is changed.
pub fn rotate_bounded(
    km: &KeyManager,
    key_id: &str,
    new_key: &[u8],
    max_old_len: usize,
) -> std::result::Result<Option<SecretBytes>, Bounded> {
    km.rotate_if(key_id, new_key, |previous| match previous {
        Some(old) if old.len() > max_old_len => Err(Bounded::TooLong { needed: old.len() }),
        _ => Ok(()),
    })
}

/// A key manager on `<fresh temp dir>/keys`; the temporary directory is
/// returned too, so that it lives as long as the test needs it.
pub fn fresh() -> (tempfile::TempDir, PathBuf, KeyManager) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = KeyManager::open(&dir).unwrap();
    (tmp, dir, km)
}
