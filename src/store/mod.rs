//! The key store: keys with numbered versions, kept in a source (a private
//! directory or a mounted one), used without leaving the library.
//!
//! [`KeyManager`] holds the rules every source shares — the key-id rule,
//! which version a call uses, how a rotation, a prune or a staged version
//! changes a key, and how writers exclude each other — once, above the
//! [`backend::Backend`] trait that each source implements.

mod backend;
mod beneath;
mod codec;
mod default_dir;
mod dir;
#[cfg(feature = "etcd")]
mod etcd;
mod fs;
mod key;
mod key_id;
mod location;
mod mounted;
mod options;
mod status;
mod tagged;

pub use default_dir::{KEY_DIR_ENV, default_key_dir};
pub use key::{Key, Version, Versions};
pub use key_id::{MAX_KEY_ID_LEN, validate_key_id};
pub use location::{DEFAULT_ETCD_PREFIX, Location};
pub use options::{DEFAULT_ETCD_TIMEOUT, DEFAULT_LOCK_TIMEOUT, OpenOptions};
pub use status::SourceStatus;
pub use tagged::{TAG_OVERHEAD, TaggedHmacStream, TaggedMac, TaggedVerifier};

use crate::error::{Argument, Error, ErrorKind, Result};
use crate::random::random_bytes;
use crate::secret::SecretBytes;
use backend::{Backend, Change, Commit, KeyView};
use std::num::NonZeroU32;
use std::path::Path;

/// How often a write reads and decides again when its commit finds that
/// the key changed meanwhile (only sources without locks can).
const COMMIT_ATTEMPTS: usize = 64;

/// The largest key, in bytes (64 KiB).
pub const MAX_KEY_LEN: usize = 65536;

/// An open key store.
///
/// All methods may be called from many threads at once. Writers of the same
/// key (in this or any other process) exclude each other; readers never
/// wait and always see a complete key, old or new.
///
/// Every key has versions 1, 2, 3, …; the highest that is not staged is
/// current. Storing over an existing key or rotating it makes a new current
/// version and keeps the previous one until [`KeyManager::prune`] or
/// [`KeyManager::delete`].
#[derive(Debug)]
pub struct KeyManager {
    backend: Box<dyn Backend>,
}

impl KeyManager {
    /// Opens the private key directory `dir`, creating it (and missing
    /// parents) with mode 0700 if absent, with default [`OpenOptions`].
    ///
    /// # Errors
    /// - [`ErrorKind::InsecurePermissions`] if `dir` is a symbolic link, is
    ///   owned by another user, is writable by group or others, or sits in a
    ///   directory another user could swap it in;
    /// - [`ErrorKind::InvalidArgument`] if the path is empty or ends in `..`;
    /// - [`ErrorKind::Io`] if it cannot be created or opened.
    pub fn open(dir: impl AsRef<Path>) -> Result<KeyManager> {
        KeyManager::open_with(
            &Location::Dir(dir.as_ref().to_path_buf()),
            &OpenOptions::new(),
        )
    }

    /// Opens [`default_key_dir`].
    ///
    /// # Errors
    /// As [`KeyManager::open`]; a default directory that exists but belongs
    /// to another user is [`ErrorKind::InsecurePermissions`] with a message
    /// naming the owner and saying how to choose another directory.
    pub fn open_default() -> Result<KeyManager> {
        KeyManager::open_default_with(&OpenOptions::new())
    }

    /// Opens [`default_key_dir`] with `options`.
    ///
    /// # Errors
    /// As [`KeyManager::open_default`].
    pub fn open_default_with(options: &OpenOptions) -> Result<KeyManager> {
        let dir = default_key_dir();
        default_dir::check_not_squatted(&dir)?;
        KeyManager::open_with(&Location::Dir(dir), options)
    }

    /// Opens the key store at `location` with `options`.
    ///
    /// # Errors
    /// As [`KeyManager::open`] for a directory; for a mounted source,
    /// [`ErrorKind::InsecurePermissions`] if it is not trusted (see
    /// [`Location::Mounted`]) and [`ErrorKind::Io`] if it cannot be opened;
    /// for etcd, [`ErrorKind::InvalidArgument`] for a malformed endpoint, a
    /// zero timeout, TLS client files not given together, or a library
    /// built without the `etcd` feature, and
    /// [`ErrorKind::InsecurePermissions`] for a password or TLS key file
    /// others can read. Opening etcd sends nothing: an unreachable cluster
    /// fails the first call with [`ErrorKind::Io`].
    pub fn open_with(location: &Location, options: &OpenOptions) -> Result<KeyManager> {
        let backend: Box<dyn Backend> = match location {
            Location::Dir(path) => Box::new(dir::DirBackend::open(path, options)?),
            Location::Mounted(path) => Box::new(mounted::MountedBackend::open(path, options)?),
            Location::Etcd { .. } => open_etcd(location, options)?,
        };
        if !backend.read_only() {
            backend.sweep();
        }
        Ok(KeyManager { backend })
    }

    /// Where the keys are, as resolved when the store was opened.
    pub fn location(&self) -> &Location {
        self.backend.location()
    }

    /// Whether every write is refused.
    pub fn is_read_only(&self) -> bool {
        self.backend.read_only()
    }

    /// The ids of all keys, sorted bytewise ascending.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] if the source cannot be read.
    pub fn list(&self) -> Result<Vec<String>> {
        let mut ids = self.backend.list()?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Whether a key `key_id` exists (exactly when [`KeyManager::list`]
    /// shows it).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidKeyId`]; [`ErrorKind::InsecurePermissions`] or
    /// [`ErrorKind::Corrupt`] if something that is not a key file stands at
    /// its name; [`ErrorKind::Io`].
    pub fn exists(&self, key_id: &str) -> Result<bool> {
        self.backend.exists(validate_key_id(key_id.as_bytes())?)
    }

    /// The current version of the key `key_id`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if there is none; [`ErrorKind::InsecurePermissions`]
    /// if its file is not private (or not trusted); [`ErrorKind::Corrupt`] if it
    /// is unusable; [`ErrorKind::InvalidKeyId`]; [`ErrorKind::Io`].
    pub fn get(&self, key_id: &str) -> Result<SecretBytes> {
        self.key(key_id)?.get()
    }

    /// The key `key_id`, for reading a version or using it (HMAC, HKDF,
    /// tagged MACs) without its bytes leaving the library. Checks the id
    /// only; nothing is read yet.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidKeyId`].
    pub fn key<'a>(&'a self, key_id: &'a str) -> Result<Key<'a>> {
        Ok(Key::new(self, validate_key_id(key_id.as_bytes())?))
    }

    /// Stores `key` (1 to [`MAX_KEY_LEN`] bytes) under `key_id`, atomically
    /// and durably. A new id becomes version 1; over an existing key, `key`
    /// becomes the next version and the previous one is kept.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidKeyId`], [`ErrorKind::InvalidArgument`] (key
    /// length, read-only source), the errors of [`KeyManager::get`] for an
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
        self.transact(id, |view| match view {
            Some(_) => Err(already_exists(self, id)),
            None => Ok((
                Change::Create {
                    bytes: key,
                    replace: false,
                },
                (),
            )),
        })
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
        let numbered = &numbered;
        self.transact(id, |view| match view {
            Some(_) => Err(already_exists(self, id)),
            None => Ok((
                Change::Import {
                    versions: numbered,
                    current: current.get(),
                },
                (),
            )),
        })
    }

    /// Creates a random key of `key_len` bytes (1 to [`MAX_KEY_LEN`]) from
    /// the OS CSPRNG under `key_id`, which must not exist yet.
    ///
    /// # Errors
    /// As [`KeyManager::create`].
    pub fn generate(&self, key_id: &str, key_len: usize) -> Result<()> {
        self.create(key_id, &random_key(key_len)?)
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
        self.stage(key_id, &random_key(key_len)?)
    }

    /// Makes the staged version `version` of `key_id` current; the version
    /// it replaces is kept.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] unless `version` is staged;
    /// [`ErrorKind::InvalidArgument`] if a rotation made a newer current
    /// version since it was staged; otherwise as [`KeyManager::store`].
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
            // The current version is the newest that is not staged: a
            // rotation since the stage went past this one.
            if version < view.current {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "staged version {version} of key '{id}' is older than the current \
                         version {}: stage it again to make it current",
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

    /// The backend, for [`Key`].
    fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    /// Checks `key_id` and that this store may be written.
    fn writable_id<'a>(&self, key_id: &'a str) -> Result<&'a str> {
        let id = validate_key_id(key_id.as_bytes())?;
        if self.backend.read_only() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "'{}' is a read-only key source; key '{id}' was not changed",
                    self.location()
                ),
            ));
        }
        Ok(id)
    }

    /// Runs one write: under the writers' lock, reads the key, lets
    /// `decide` choose the change, and commits it; reads and decides again
    /// when a source without locks reports that the key changed meanwhile.
    fn transact<'c, T, E: From<Error>>(
        &self,
        id: &str,
        mut decide: impl FnMut(Option<&KeyView>) -> Result<(Change<'c>, T), E>,
    ) -> Result<T, E> {
        for _ in 0..COMMIT_ATTEMPTS {
            let _lock = self.backend.lock(id)?;
            let view = self.backend.load(id)?;
            let (change, result) = decide(view.as_ref())?;
            if self.backend.commit(id, view.as_ref(), change)? == Commit::Done {
                return Ok(result);
            }
        }
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "key '{id}' changed {COMMIT_ATTEMPTS} times while it was being written; try again"
            ),
        )
        .into())
    }
}

/// The backend of an etcd location.
#[cfg(feature = "etcd")]
fn open_etcd(location: &Location, options: &OpenOptions) -> Result<Box<dyn Backend>> {
    Ok(Box::new(etcd::EtcdBackend::open(location, options)?))
}

/// Without the `etcd` feature, an etcd location is refused.
#[cfg(not(feature = "etcd"))]
fn open_etcd(location: &Location, _options: &OpenOptions) -> Result<Box<dyn Backend>> {
    location::check_etcd_support(location)?;
    Err(Error::new(
        ErrorKind::InvalidArgument,
        format!("'{location}' is not a key source this library can open"),
    ))
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

fn nonzero(version: u32) -> NonZeroU32 {
    NonZeroU32::new(version).unwrap_or(NonZeroU32::MIN)
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

/// The error for a key that does not exist.
fn not_found(km: &KeyManager, id: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("key '{id}' not found in '{}'", km.location()),
    )
}

fn already_exists(km: &KeyManager, id: &str) -> Error {
    Error::new(
        ErrorKind::AlreadyExists,
        format!("key '{id}' already exists in '{}'", km.location()),
    )
}
