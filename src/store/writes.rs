//! Writing keys: every change goes through [`KeyManager::transact`], which
//! holds the writers' lock (or retries on a conflict) while it reads the
//! key, decides the change and commits it.

use super::backend::Change;
use super::backend::{Commit, KeyView};
use super::{COMMIT_ATTEMPTS, KeyManager, MAX_KEY_LEN, nonzero, not_found};
use crate::error::{Argument, Error, ErrorKind, Result};
use crate::random::random_bytes;
use crate::secret::SecretBytes;
use std::num::NonZeroU32;

impl KeyManager {
    /// Stores `key` (1 to [`MAX_KEY_LEN`] bytes) under `key_id`, atomically
    /// and durably. A new id becomes version 1; over an existing key, `key`
    /// becomes the next version and the previous one is kept.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidKeyId`], [`ErrorKind::InvalidArgument`] (key
    /// length, read-only source, a key that starts with the sealed-file
    /// magic in a store without a KEK, where it would read back as a
    /// sealed file), the errors of [`KeyManager::get`] for an
    /// existing key that cannot be read, [`ErrorKind::Io`]. On error nothing
    /// is changed.
    pub fn store(&self, key_id: &str, key: &[u8]) -> Result<()> {
        self.rotate(key_id, key).map(drop)
    }

    /// Stores `key` under `key_id` as version 1 only if no key with that id
    /// exists, even against a concurrent writer in another process.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`] if the id is taken; otherwise as
    /// [`KeyManager::store`].
    pub fn create(&self, key_id: &str, key: &[u8]) -> Result<()> {
        let id = self.writable_id(key_id)?;
        check_key_len(key)?;
        self.create_new(
            id,
            Change::Create {
                bytes: key,
                replace: false,
            },
        )
    }

    /// Creates `key_id`, which must not exist, with exactly the versions
    /// given as (number, key) pairs: `current` becomes the current version,
    /// lower numbers are kept as older versions and higher ones are staged.
    /// All or nothing. For moving a key with its history from elsewhere (a
    /// Tink keyset, another store), so that MACs tagged with its version
    /// numbers keep verifying.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`] if the id is taken;
    /// [`ErrorKind::InvalidArgument`] for no versions, a number given twice,
    /// `current` not among them, or a key length out of range; otherwise as
    /// [`KeyManager::store`].
    pub fn create_with_versions(
        &self,
        key_id: &str,
        versions: &[(NonZeroU32, &[u8])],
        current: NonZeroU32,
    ) -> Result<()> {
        let id = self.writable_id(key_id)?;
        let mut numbered: Vec<(u32, &[u8])> =
            versions.iter().map(|&(n, key)| (n.get(), key)).collect();
        numbered.sort_unstable_by_key(|&(n, _)| n);
        for (i, &(number, key)) in numbered.iter().enumerate() {
            check_key_len(key)?;
            if i > 0 && numbered[i - 1].0 == number {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("version {number} of key '{id}' is given twice"),
                ));
            }
        }
        if numbered
            .binary_search_by_key(&current.get(), |&(n, _)| n)
            .is_err()
        {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "the current version {current} of key '{id}' is not among the versions given"
                ),
            ));
        }
        self.create_new(
            id,
            Change::Import {
                versions: &numbered,
                current: current.get(),
            },
        )
    }

    /// Commits `change`, which creates `id`, unless something already
    /// stands under that id: a readable key, or one that cannot be read
    /// (wrong owner or mode, damaged) and must not be overwritten either.
    fn create_new(&self, id: &str, change: Change<'_>) -> Result<()> {
        for _ in 0..COMMIT_ATTEMPTS {
            let _lock = self.backend.lock(id)?;
            match self.backend.load(id) {
                Ok(None) => {}
                Ok(Some(_)) => return Err(already_exists(self, id)),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::InsecurePermissions | ErrorKind::Corrupt
                    ) =>
                {
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "key '{id}' already exists in '{}' (and cannot be read: {})",
                            self.location(),
                            e.message()
                        ),
                    ));
                }
                Err(e) => return Err(e),
            }
            if self.backend.commit(id, None, change.clone())? == Commit::Done {
                return Ok(());
            }
        }
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "key '{id}' changed {COMMIT_ATTEMPTS} times while it was being created; try again"
            ),
        ))
    }

    /// Creates a random key of `key_len` bytes (1 to [`MAX_KEY_LEN`]) from
    /// the OS CSPRNG under `key_id`, which must not exist yet.
    ///
    /// # Errors
    /// As [`KeyManager::create`].
    pub fn generate(&self, key_id: &str, key_len: usize) -> Result<()> {
        let id = self.writable_id(key_id)?;
        self.create(id, &random_key(key_len)?)
    }

    /// Stores `new_key` as the next version of `key_id` and returns the key
    /// it replaced (`None` if there was none; the new key is stored all the
    /// same, as version 1). The replaced version is kept. Atomic against
    /// concurrent writers of the same key in any process: of N concurrent
    /// rotations each returns the key the previous one stored.
    ///
    /// # Errors
    /// As [`KeyManager::store`]; on error nothing is changed.
    pub fn rotate(&self, key_id: &str, new_key: &[u8]) -> Result<Option<SecretBytes>> {
        self.rotate_if(key_id, new_key, |_| Ok(()))
    }

    /// [`KeyManager::rotate`], only if `check` accepts the key it would
    /// replace (`None` if there is none). The check runs while writers are
    /// excluded, so the key it sees is the one replaced; if it fails,
    /// nothing is changed and its error is returned.
    ///
    /// # Errors
    /// As [`KeyManager::rotate`], and whatever `check` returns.
    pub fn rotate_if<E: From<Error>>(
        &self,
        key_id: &str,
        new_key: &[u8],
        mut check: impl FnMut(Option<&[u8]>) -> Result<(), E>,
    ) -> Result<Option<SecretBytes>, E> {
        let id = self.writable_id(key_id)?;
        check_key_len(new_key)?;
        self.transact(id, |view| {
            check(view.map(|view| view.bytes.as_bytes()))?;
            Ok(match view {
                None => (
                    Change::Create {
                        bytes: new_key,
                        replace: true,
                    },
                    None,
                ),
                Some(view) => {
                    let to = next_version(id, view)?;
                    let change = Change::Advance { to, bytes: new_key };
                    (change, Some(view.bytes.clone()))
                }
            })
        })
    }

    /// Removes the key `key_id` and every version of it.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if there is none; [`ErrorKind::Corrupt`] if
    /// a directory stands at its name; [`ErrorKind::InvalidKeyId`],
    /// [`ErrorKind::InvalidArgument`] (read-only source), [`ErrorKind::Io`].
    pub fn delete(&self, key_id: &str) -> Result<()> {
        let id = self.writable_id(key_id)?;
        for _ in 0..COMMIT_ATTEMPTS {
            let _lock = self.backend.lock(id)?;
            // A key file that cannot be read (a link, wrong permissions) is
            // removed all the same; the backend refuses what it cannot remove.
            let base = match self.backend.load(id) {
                Ok(None) => return Err(not_found(self, id)),
                Ok(view) => view,
                Err(err)
                    if matches!(
                        err.kind(),
                        ErrorKind::InsecurePermissions | ErrorKind::Corrupt
                    ) =>
                {
                    None
                }
                Err(err) => return Err(err),
            };
            if self.backend.commit(id, base.as_ref(), Change::Delete)? == Commit::Done {
                return Ok(());
            }
        }
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "key '{id}' changed {COMMIT_ATTEMPTS} times while it was being deleted; try again"
            ),
        ))
    }

    /// Removes every version of `key_id` but the newest `keep_newest` up to
    /// the current one (the current version is always kept; staged versions
    /// newer than it are not touched). No file of the source holds the
    /// bytes of a removed version afterwards.
    ///
    /// # Errors
    /// As [`KeyManager::get`], plus [`ErrorKind::InvalidArgument`] for a
    /// read-only source.
    pub fn prune(&self, key_id: &str, keep_newest: NonZeroU32) -> Result<()> {
        let id = self.writable_id(key_id)?;
        self.transact(id, |view| {
            let view = view.ok_or_else(|| not_found(self, id))?;
            let keep = usize::try_from(keep_newest.get()).unwrap_or(usize::MAX);
            let older: Vec<u32> = view
                .all_versions()
                .into_iter()
                .filter(|&v| v < view.current)
                .collect();
            let doomed = older[..older.len().saturating_sub(keep - 1)].to_vec();
            Ok((Change::Remove { versions: doomed }, ()))
        })
    }

    /// Adds `key` as a staged version of the existing key `key_id`: accepted
    /// by [`Key::hmac_verify_tagged`] and readable by version, but not used
    /// to make MACs until [`KeyManager::promote`]. Returns its number.
    ///
    /// # Errors
    /// As [`KeyManager::store`], plus [`ErrorKind::NotFound`] if the key
    /// does not exist.
    pub fn stage(&self, key_id: &str, key: &[u8]) -> Result<NonZeroU32> {
        let id = self.writable_id(key_id)?;
        check_key_len(key)?;
        self.transact(id, |view| {
            let view = view.ok_or_else(|| not_found(self, id))?;
            let version = next_version(id, view)?;
            Ok((
                Change::Stage {
                    version,
                    bytes: key,
                },
                version,
            ))
        })
        .map(nonzero)
    }

    /// [`KeyManager::stage`] with a random key of `key_len` bytes.
    ///
    /// # Errors
    /// As [`KeyManager::stage`].
    pub fn stage_generate(&self, key_id: &str, key_len: usize) -> Result<NonZeroU32> {
        let id = self.writable_id(key_id)?;
        self.stage(id, &random_key(key_len)?)
    }

    /// Makes the staged version `version` of `key_id` current; the version
    /// it replaces is kept.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] unless `version` is staged; otherwise as
    /// [`KeyManager::store`].
    pub fn promote(&self, key_id: &str, version: NonZeroU32) -> Result<()> {
        let id = self.writable_id(key_id)?;
        let version = version.get();
        self.transact(id, |view| {
            let view = view.ok_or_else(|| not_found(self, id))?;
            if view.staged.binary_search(&version).is_err() {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("key '{id}' has no staged version {version}"),
                ));
            }
            if version < view.current {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "key '{id}': staged version {version} is older than the current version \
                         {}, so it can no longer become current; stage a new version",
                        view.current
                    ),
                ));
            }
            Ok((Change::Promote { version }, ()))
        })
    }

    /// Seals every plain key file and version record in place, and rewrites
    /// those sealed under a previous KEK (see
    /// [`OpenOptions::previous_kek_file`]) under the current one: each file
    /// atomically, so a crash leaves every file readable, and a second run
    /// finishes the work. Returns how many files it rewrote (0 when all
    /// were sealed under the current KEK already).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] if the store was opened without a KEK
    /// or is read-only; otherwise as [`KeyManager::get`] for any key.
    pub fn seal_all(&self) -> Result<usize> {
        if self.backend.read_only() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "'{}' is a read-only key source; nothing was sealed",
                    self.location()
                ),
            ));
        }
        let mut count = 0;
        for id in self.backend.list()? {
            let _lock = self.backend.lock(&id)?;
            // A key deleted since the listing has nothing left to seal.
            if let Some(view) = self.backend.load(&id)? {
                count += self.backend.seal_files(&id, &view)?;
            }
        }
        Ok(count)
    }
}

/// The number a new version of `id` gets.
fn next_version(id: &str, view: &KeyView) -> Result<u32> {
    view.next_version().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("key '{id}' has used every version number"),
        )
    })
}

fn random_key(key_len: usize) -> Result<SecretBytes> {
    if !(1..=MAX_KEY_LEN).contains(&key_len) {
        return Err(key_len_error(Argument::KeyLength, key_len));
    }
    let mut key = SecretBytes::zeroed(key_len);
    random_bytes(key.as_mut_bytes())?;
    Ok(key)
}

fn check_key_len(key: &[u8]) -> Result<()> {
    if (1..=MAX_KEY_LEN).contains(&key.len()) {
        Ok(())
    } else {
        Err(key_len_error(Argument::Key, key.len()))
    }
}

fn key_len_error(argument: Argument, len: usize) -> Error {
    Error::invalid(
        argument,
        format!("key length {len} is out of range: keys are 1 to {MAX_KEY_LEN} bytes"),
    )
}

fn already_exists(km: &KeyManager, id: &str) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        format!("key '{id}' already exists in '{}'", km.location()),
    )
}
