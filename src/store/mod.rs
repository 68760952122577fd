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
mod loading;
mod location;
mod mounted;
mod options;
mod status;
mod tagged;
mod writes;

#[cfg(test)]
pub(crate) use dir::successor_digest;

pub use default_dir::{KEY_DIR_ENV, default_key_dir};
pub use key::{Key, Version, Versions};
pub use key_id::{MAX_KEY_ID_LEN, validate_key_id};
pub use location::{DEFAULT_ETCD_PREFIX, Location};
pub use options::{DEFAULT_ETCD_TIMEOUT, DEFAULT_LOCK_TIMEOUT, OpenOptions};
pub use status::SourceStatus;
pub(crate) use tagged::split_tag;
pub use tagged::{TAG_OVERHEAD, TaggedHmacStream, TaggedMac, TaggedVerifier};

use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretBytes;
use backend::{Backend, Change, Commit, KeyView};
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;

/// How often a write reads and decides again when its commit finds that
/// the key changed meanwhile (only sources without locks can).
pub(super) const COMMIT_ATTEMPTS: usize = 64;

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
    backend: Arc<dyn Backend>,
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
        let backend: Arc<dyn Backend> = match location {
            Location::Dir(path) => Arc::new(dir::DirBackend::open(path, options)?),
            Location::Mounted(path) => Arc::new(mounted::MountedBackend::open(path, options)?),
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
fn open_etcd(location: &Location, options: &OpenOptions) -> Result<Arc<dyn Backend>> {
    Ok(Arc::new(etcd::EtcdBackend::open(location, options)?))
}

/// Without the `etcd` feature, an etcd location is refused.
#[cfg(not(feature = "etcd"))]
fn open_etcd(location: &Location, _options: &OpenOptions) -> Result<Arc<dyn Backend>> {
    location::check_etcd_support(location)?;
    Err(Error::new(
        ErrorKind::InvalidArgument,
        format!("'{location}' is not a key source this library can open"),
    ))
}

fn nonzero(version: u32) -> NonZeroU32 {
    NonZeroU32::new(version).unwrap_or(NonZeroU32::MIN)
}

/// The error for a key that does not exist.
fn not_found(km: &KeyManager, id: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("key '{id}' not found in '{}'", km.location()),
    )
}
