//! The key store: one file per key in a private directory, with older
//! versions kept aside.
//!
//! Layout of a key directory:
//!
//! ```text
//! <key_dir>/                 mode 0700, owned by the user
//!   <key_id>.key             the current version's raw bytes, mode 0600
//!   .<key_id>.key.tmp        a write in progress (or left by a killed writer:
//!                            ignored, replaced by the next write, removed by delete)
//!   .lock                    lock file: writers of a key lock one byte of it
//!   .versions/<key_id>/<n>   version n's raw bytes, mode 0600 (dirs 0700),
//!                            for every version kept since the first rotation
//! ```
//!
//! Every operation is relative to the directory descriptor opened once by
//! [`KeyManager::open`]; no path is resolved again later.

mod file;
mod key_id;
mod sys;
mod tagged;
mod versions;

use key_id::is_valid_key_id;
pub use key_id::{MAX_KEY_ID_LEN, validate_key_id};
pub use tagged::{TAG_OVERHEAD, TaggedHmacStream, TaggedMac, TaggedVerifier};

use crate::alg::HashAlg;
use crate::error::{Error, ErrorKind, Result};
use crate::hkdf::{check_okm_len, hkdf_derive};
use crate::hmac::{HmacStream, Mac, hmac, hmac_verify};
use crate::random::random_bytes;
use crate::secret::SecretBytes;
use file::{FileName, Label, Replace, SecretFile, remove_if_present, sync_dir};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use sys::{Dir, effective_uid};
use tagged::split_tag;
use versions::{Versions, current_version, same_bytes};

/// The largest key, in bytes (64 KiB).
pub const MAX_KEY_LEN: usize = 65536;

/// Mode of the key directory when the library creates it.
const DIR_MODE: u32 = 0o700;
/// Name of the lock file in the key directory.
const LOCK_FILE: &CStr = c".lock";
/// Mode of the lock file.
const LOCK_FILE_MODE: u32 = 0o600;
/// Name of the key directory inside the temporary directory by default.
const DEFAULT_DIR_NAME: &str = "codomyrmex_keys";

/// The default key directory: `<tmp>/codomyrmex_keys`, where `<tmp>` is the
/// first non-empty of `$TMPDIR`, `$TEMP`, `$TMP`, else `/tmp`.
///
/// Temporary directories may be cleaned at reboot: pass a stable directory
/// to [`KeyManager::open`] for keys that must persist.
pub fn default_key_dir() -> PathBuf {
    ["TMPDIR", "TEMP", "TMP"]
        .iter()
        .filter_map(std::env::var_os)
        .find(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from)
        .join(DEFAULT_DIR_NAME)
}

/// A key directory, opened once.
///
/// All methods may be called from many threads at once. Writers of the same
/// key (in this or any other process) are serialized by a lock; readers of
/// the current key never wait and always see a complete key, old or new.
///
/// Every key has versions 1, 2, 3, …; the highest is current. Storing over
/// an existing key or rotating it makes a new current version and keeps the
/// previous one until [`KeyManager::prune`] or [`KeyManager::delete`].
#[derive(Debug)]
pub struct KeyManager {
    dir: Dir,
    path: PathBuf,
    uid: u32,
}

/// The current key read together with its version number.
struct Current {
    bytes: SecretBytes,
    version: u32,
    /// Whether `.versions/<id>/<version>` exists.
    recorded: bool,
    versions: Option<Versions>,
    /// The recorded version numbers, ascending, read with the rest.
    numbers: Vec<u32>,
}

impl KeyManager {
    /// Opens the key directory `dir`, creating it (and missing parents) with
    /// mode 0700 if absent.
    ///
    /// # Errors
    /// - [`ErrorKind::InsecurePermissions`] if `dir` is a symbolic link, is
    ///   owned by another user, or is writable by group or others;
    /// - [`ErrorKind::InvalidArgument`] if `dir` is empty or contains a NUL byte;
    /// - [`ErrorKind::Io`] if it cannot be created or opened, or is not a
    ///   directory.
    pub fn open(dir: impl AsRef<Path>) -> Result<KeyManager> {
        let path = dir.as_ref();
        let c_path = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::new(ErrorKind::InvalidArgument, "key_dir contains a NUL byte"))?;
        if path.as_os_str().is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "key_dir is empty"));
        }
        create_private_dir(path)?;
        let dir = Dir::open(&c_path).map_err(|err| refuse_dir_open(path, &err))?;
        let st = dir
            .stat()
            .map_err(|err| Error::io("cannot inspect key directory", path, &err))?;
        let uid = effective_uid();
        if st.uid != uid {
            return Err(Error::new(
                ErrorKind::InsecurePermissions,
                format!(
                    "key directory '{}' is owned by uid {}, not by this user (uid {uid})",
                    path.display(),
                    st.uid
                ),
            ));
        }
        if st.permissions() & 0o022 != 0 {
            return Err(Error::new(
                ErrorKind::InsecurePermissions,
                format!(
                    "key directory '{}' is writable by group or others (mode {:04o})",
                    path.display(),
                    st.permissions()
                ),
            ));
        }
        // Create the lock file now, so that a failing write later leaves
        // the directory as it was. A read-only directory has none: reading
        // needs no lock there, and writing fails anyway.
        let _ = dir.open_or_create(LOCK_FILE, LOCK_FILE_MODE);
        let path = std::fs::canonicalize(path)
            .or_else(|_| std::path::absolute(path))
            .unwrap_or_else(|_| path.to_path_buf());
        Ok(KeyManager { dir, path, uid })
    }

    /// Opens [`default_key_dir`].
    ///
    /// # Errors
    /// As [`KeyManager::open`].
    pub fn open_default() -> Result<KeyManager> {
        KeyManager::open(default_key_dir())
    }

    /// The directory, as resolved when it was opened.
    pub fn dir(&self) -> &Path {
        &self.path
    }

    /// Stores `key` (1 to [`MAX_KEY_LEN`] bytes) under `key_id`, atomically
    /// and durably. A new id becomes version 1; over an existing key, `key`
    /// becomes the next version and the previous one is kept.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidKeyId`], [`ErrorKind::InvalidArgument`] (key
    /// length), the errors of [`KeyManager::get`] for an existing key that
    /// cannot be read, [`ErrorKind::Io`]. On error nothing is changed.
    pub fn store(&self, key_id: &str, key: &[u8]) -> Result<()> {
        self.replace(key_id, key, usize::MAX).map(drop)
    }

    /// Stores `key` under `key_id` as version 1 only if no key with that id
    /// exists, even against a concurrent writer in another process.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`] if the id is taken; otherwise as
    /// [`KeyManager::store`].
    pub fn create(&self, key_id: &str, key: &[u8]) -> Result<()> {
        let file = self.key_file(key_id)?;
        check_key_len(key)?;
        let _lock = self.lock(key_id)?;
        self.create_locked(key_id, &file, key)
    }

    /// Creates a random key of `key_len` bytes (1 to [`MAX_KEY_LEN`]) from
    /// the OS CSPRNG under `key_id`, which must not exist yet.
    ///
    /// # Errors
    /// As [`KeyManager::create`].
    pub fn generate(&self, key_id: &str, key_len: usize) -> Result<()> {
        let file = self.key_file(key_id)?;
        if !(1..=MAX_KEY_LEN).contains(&key_len) {
            return Err(key_len_error(key_len));
        }
        let mut key = SecretBytes::zeroed(key_len);
        random_bytes(key.as_mut_bytes())?;
        let _lock = self.lock(key_id)?;
        self.create_locked(key_id, &file, &key)
    }

    /// Reads the current version of the key `key_id`.
    ///
    /// # Errors
    /// - [`ErrorKind::NotFound`] if there is none;
    /// - [`ErrorKind::InsecurePermissions`] if the key file is a symbolic
    ///   link, has another owner, more than one hard link, or any access for
    ///   group or others;
    /// - [`ErrorKind::Corrupt`] if it is not a regular file, is empty or is
    ///   over [`MAX_KEY_LEN`];
    /// - [`ErrorKind::InvalidKeyId`], [`ErrorKind::Io`].
    pub fn get(&self, key_id: &str) -> Result<SecretBytes> {
        let file = self.key_file(key_id)?;
        file.read(self.uid)?.ok_or_else(|| self.not_found(key_id))
    }

    /// Whether a key file `<key_id>.key` exists as a regular file (exactly
    /// when [`KeyManager::list`] would show `key_id`).
    ///
    /// # Errors
    /// [`ErrorKind::InsecurePermissions`] if the name is a symbolic link,
    /// [`ErrorKind::Corrupt`] if it is another kind of file,
    /// [`ErrorKind::InvalidKeyId`], [`ErrorKind::Io`].
    pub fn exists(&self, key_id: &str) -> Result<bool> {
        let file = self.key_file(key_id)?;
        match self.dir.stat_at(&file.name) {
            Ok(st) if st.file_type() == libc::S_IFREG => Ok(true),
            Ok(st) => Err(file.wrong_type(&st)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(Error::io("cannot inspect", &file.path(), &err)),
        }
    }

    /// Removes the key `key_id` and every version of it.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if there is none, [`ErrorKind::Corrupt`] if a
    /// directory stands at its name, [`ErrorKind::InvalidKeyId`],
    /// [`ErrorKind::Io`].
    pub fn delete(&self, key_id: &str) -> Result<()> {
        let file = self.key_file(key_id)?;
        let _lock = self.lock(key_id)?;
        match self.dir.stat_at(&file.name) {
            Ok(st) if st.file_type() == libc::S_IFDIR => return Err(file.wrong_type(&st)),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(self.not_found(key_id));
            }
            Err(err) => return Err(Error::io("cannot inspect", &file.path(), &err)),
        }
        // Refuse version records that could not be removed before changing
        // anything.
        let versions = Versions::open(&self.dir, &self.path, key_id, false)?;
        if let Some(versions) = &versions {
            versions.check_removable()?;
        }
        // Removing the key file is the commit point: from here on the key
        // does not exist, whatever happens to the rest.
        self.dir
            .unlink(&file.name)
            .map_err(|err| Error::io("cannot remove", &file.path(), &err))?;
        remove_if_present(&self.dir, &self.path, &file.temp())?;
        sync_dir(&self.dir, &self.path)?;
        match versions {
            Some(versions) => versions.remove_all(&self.dir, &self.path),
            None => Ok(()),
        }
    }

    /// The ids of all keys, sorted bytewise ascending. Only entries named
    /// `<valid key id>.key` that are regular files count; temporary files,
    /// the lock file, older versions and anything else are ignored.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] if the directory cannot be read.
    pub fn list(&self) -> Result<Vec<String>> {
        let (joined, count) = self.list_joined()?;
        let mut ids = Vec::with_capacity(count);
        ids.extend(
            joined
                .split(|&b| b == 0)
                .take(count)
                .map(|id| String::from_utf8_lossy(id).into_owned()),
        );
        Ok(ids)
    }

    /// [`KeyManager::list`] as the C interface returns it: the ids sorted,
    /// each followed by a NUL byte, in one buffer; and their number.
    ///
    /// The ids are gathered into one buffer (no allocation per id) and
    /// sorted by their first 16 bytes as one integer, which decides every
    /// comparison of ids up to 16 bytes long.
    pub(crate) fn list_joined(&self) -> Result<(Vec<u8>, usize)> {
        /// An id in `names`: its first 16 bytes big-endian (zero-padded, so
        /// a shorter id sorts first), where it starts, its length.
        struct Entry {
            prefix: u128,
            start: usize,
            len: usize,
        }
        let mut names = Vec::new();
        let mut entries = Vec::new();
        let mut stat_error = None;
        self.dir
            .for_each_entry(|name, d_type| {
                let Some(id) = name.strip_suffix(b".key") else {
                    return;
                };
                if !is_valid_key_id(id) {
                    return;
                }
                let regular = match d_type {
                    libc::DT_REG => true,
                    libc::DT_UNKNOWN => {
                        match CString::new(name).map(|name| self.dir.stat_at(&name)) {
                            Ok(Ok(st)) => st.file_type() == libc::S_IFREG,
                            Ok(Err(err)) if err.kind() != io::ErrorKind::NotFound => {
                                stat_error.get_or_insert(err);
                                false
                            }
                            _ => false,
                        }
                    }
                    _ => false,
                };
                if regular {
                    let mut prefix = [0u8; 16];
                    let head = id.len().min(16);
                    prefix[..head].copy_from_slice(&id[..head]);
                    entries.push(Entry {
                        prefix: u128::from_be_bytes(prefix),
                        start: names.len(),
                        len: id.len(),
                    });
                    names.extend_from_slice(id);
                }
            })
            .map_err(|err| Error::io("cannot list key directory", &self.path, &err))?;
        if let Some(err) = stat_error {
            return Err(Error::io("cannot list key directory", &self.path, &err));
        }
        let id = |e: &Entry| &names[e.start..e.start + e.len];
        entries.sort_unstable_by(|a, b| a.prefix.cmp(&b.prefix).then_with(|| id(a).cmp(id(b))));
        let mut joined = Vec::with_capacity(names.len() + entries.len());
        for entry in &entries {
            joined.extend_from_slice(id(entry));
            joined.push(0);
        }
        Ok((joined, entries.len()))
    }

    /// Stores `new_key` as the next version of `key_id` and returns the key
    /// it replaced (`None` if there was none; the new key is stored all the
    /// same). The replaced version is kept. Atomic against concurrent
    /// `rotate`, `store` and `delete` of the same key in any process: of N
    /// concurrent rotations each returns the key the previous one stored.
    ///
    /// # Errors
    /// As [`KeyManager::store`]; on error nothing is changed.
    pub fn rotate(&self, key_id: &str, new_key: &[u8]) -> Result<Option<SecretBytes>> {
        self.replace(key_id, new_key, usize::MAX)
    }

    /// [`KeyManager::rotate`] for a caller that can take back a previous key
    /// of at most `max_old_len` bytes: a longer one fails with
    /// [`ErrorKind::BufferTooSmall`] (carrying its length) before anything
    /// is changed.
    ///
    /// # Errors
    /// As [`KeyManager::rotate`], plus [`ErrorKind::BufferTooSmall`].
    pub fn rotate_bounded(
        &self,
        key_id: &str,
        new_key: &[u8],
        max_old_len: usize,
    ) -> Result<Option<SecretBytes>> {
        self.replace(key_id, new_key, max_old_len)
    }

    /// HMAC of `data` under the current version of `key_id`, which never
    /// leaves the library.
    ///
    /// # Errors
    /// As [`KeyManager::get`].
    pub fn hmac(&self, key_id: &str, alg: HashAlg, data: &[u8]) -> Result<Mac> {
        Ok(hmac(alg, &self.get(key_id)?, data))
    }

    /// Checks `mac` against the HMAC of `data` under the current version of
    /// `key_id`, in constant time in the MAC's content.
    ///
    /// # Errors
    /// [`ErrorKind::VerifyFailed`] if it does not match; as
    /// [`KeyManager::get`] otherwise.
    pub fn hmac_verify(&self, key_id: &str, alg: HashAlg, data: &[u8], mac: &[u8]) -> Result<()> {
        hmac_verify(alg, &self.get(key_id)?, data, mac)
    }

    /// HKDF with the current version of `key_id` as input key material:
    /// fills `okm` (1 to 255 × HashLen bytes).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for an out-of-range `okm` length; as
    /// [`KeyManager::get`] otherwise. `okm` is untouched on error.
    pub fn derive(
        &self,
        key_id: &str,
        alg: HashAlg,
        salt: &[u8],
        info: &[u8],
        okm: &mut [u8],
    ) -> Result<()> {
        // Arguments first, in order: the id, then the length, then the disk.
        validate_key_id(key_id.as_bytes())?;
        check_okm_len(alg, okm.len())?;
        hkdf_derive(alg, &self.get(key_id)?, salt, info, okm)
    }

    /// The current version number of `key_id` (1 for a key never rotated).
    ///
    /// # Errors
    /// As [`KeyManager::get`].
    pub fn current_version(&self, key_id: &str) -> Result<u32> {
        let file = self.key_file(key_id)?;
        Ok(self.current_or_not_found(key_id, &file)?.version)
    }

    /// The versions of `key_id` that are kept, ascending; the last is the
    /// current one.
    ///
    /// # Errors
    /// As [`KeyManager::get`].
    pub fn list_versions(&self, key_id: &str) -> Result<Vec<u32>> {
        let file = self.key_file(key_id)?;
        let current = self.current_or_not_found(key_id, &file)?;
        let mut numbers = current.numbers;
        numbers.retain(|&n| n < current.version);
        numbers.push(current.version);
        Ok(numbers)
    }

    /// Reads version `version` of `key_id`; 0 means the current version.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if the key does not exist or the version was
    /// never made or has been pruned; otherwise as [`KeyManager::get`].
    pub fn get_version(&self, key_id: &str, version: u32) -> Result<SecretBytes> {
        let file = self.key_file(key_id)?;
        let current = self.current_or_not_found(key_id, &file)?;
        Self::version_bytes(current, version)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("key '{key_id}' has no version {version} (never made, or pruned)"),
            )
        })
    }

    /// Removes all but the newest `keep_newest` versions of `key_id` (the
    /// current one is always kept). No file in the key directory holds the
    /// bytes of a removed version afterwards.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] if `keep_newest` is 0; otherwise as
    /// [`KeyManager::get`] and [`ErrorKind::Io`].
    pub fn prune(&self, key_id: &str, keep_newest: u32) -> Result<()> {
        let file = self.key_file(key_id)?;
        if keep_newest == 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "keep_newest is 0: the current version is always kept, so it must be at least 1",
            ));
        }
        let _lock = self.lock(key_id)?;
        let current = self.current_or_not_found(key_id, &file)?;
        let Some(versions) = &current.versions else {
            return Ok(());
        };
        let oldest_kept = current.version.saturating_sub(keep_newest - 1);
        let doomed: Vec<u32> = current
            .numbers
            .iter()
            .copied()
            .filter(|&n| n < oldest_kept)
            .collect();
        if doomed.is_empty() {
            return Ok(());
        }
        // The current version's number follows from the highest record, so
        // it must be recorded before older records go.
        if !current.recorded {
            versions.write(current.version, &current.bytes)?;
        }
        versions.remove(&doomed)
    }

    /// HMAC of `data` under version `version` (0: current) of `key_id`.
    ///
    /// # Errors
    /// As [`KeyManager::get_version`].
    pub fn hmac_version(
        &self,
        key_id: &str,
        version: u32,
        alg: HashAlg,
        data: &[u8],
    ) -> Result<Mac> {
        Ok(hmac(alg, &self.get_version(key_id, version)?, data))
    }

    /// HKDF with version `version` (0: current) of `key_id` as input key
    /// material: fills `okm` (1 to 255 × HashLen bytes).
    ///
    /// # Errors
    /// As [`KeyManager::get_version`] and [`KeyManager::derive`].
    pub fn derive_version(
        &self,
        key_id: &str,
        version: u32,
        alg: HashAlg,
        salt: &[u8],
        info: &[u8],
        okm: &mut [u8],
    ) -> Result<()> {
        validate_key_id(key_id.as_bytes())?;
        check_okm_len(alg, okm.len())?;
        hkdf_derive(alg, &self.get_version(key_id, version)?, salt, info, okm)
    }

    /// A tagged MAC of `data` made with the current version of `key_id`:
    /// `0x01 || version (4 bytes, big-endian) || HMAC`. It keeps verifying
    /// with [`KeyManager::hmac_verify_tagged`] after rotations, until that
    /// version is pruned.
    ///
    /// # Errors
    /// As [`KeyManager::get`].
    pub fn hmac_tagged(&self, key_id: &str, alg: HashAlg, data: &[u8]) -> Result<TaggedMac> {
        let mut stream = self.hmac_tagged_stream(key_id, alg)?;
        stream.update(data);
        Ok(stream.finish())
    }

    /// [`KeyManager::hmac_tagged`] for data that arrives in pieces: a stream
    /// keyed with the version of `key_id` that is current now.
    ///
    /// # Errors
    /// As [`KeyManager::get`].
    pub fn hmac_tagged_stream(&self, key_id: &str, alg: HashAlg) -> Result<TaggedHmacStream> {
        let file = self.key_file(key_id)?;
        let current = self.current_or_not_found(key_id, &file)?;
        Ok(TaggedHmacStream::new(
            current.version,
            HmacStream::new(alg, &current.bytes),
        ))
    }

    /// Checks a tagged MAC against `data` with the version of `key_id` it
    /// names, in constant time in the MAC.
    ///
    /// # Errors
    /// [`ErrorKind::VerifyFailed`] for a bad format byte, a wrong length, an
    /// unknown or pruned version (0 included) or a MAC mismatch;
    /// [`ErrorKind::NotFound`] if the key itself does not exist; otherwise
    /// as [`KeyManager::get`].
    pub fn hmac_verify_tagged(
        &self,
        key_id: &str,
        alg: HashAlg,
        data: &[u8],
        tag: &[u8],
    ) -> Result<()> {
        let mut verifier = self.hmac_verify_tagged_stream(key_id, alg, tag)?;
        verifier.update(data);
        verifier.finish()
    }

    /// [`KeyManager::hmac_verify_tagged`] for data that arrives in pieces.
    /// A malformed tag or an unknown version is reported by
    /// [`TaggedVerifier::finish`], as a mismatch would be.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if the key itself does not exist; otherwise
    /// as [`KeyManager::get`].
    pub fn hmac_verify_tagged_stream(
        &self,
        key_id: &str,
        alg: HashAlg,
        tag: &[u8],
    ) -> Result<TaggedVerifier> {
        let file = self.key_file(key_id)?;
        let current = self.current_or_not_found(key_id, &file)?;
        let check = match split_tag(tag, alg) {
            Ok((version, mac)) => {
                let key = match version {
                    0 => None,
                    _ => Self::version_bytes(current, version)?,
                };
                key.map(|key| (HmacStream::new(alg, &key), mac))
                    .ok_or_else(|| {
                        format!("key '{key_id}' has no version {version} (never made, or pruned)")
                    })
            }
            Err(why) => Err(why),
        };
        Ok(TaggedVerifier::new(check))
    }

    /// The key file of `key_id`, after checking the id. Allocates nothing.
    fn key_file<'a>(&'a self, key_id: &'a str) -> Result<SecretFile<'a>> {
        let id = validate_key_id(key_id.as_bytes())?;
        Ok(SecretFile {
            dir: &self.dir,
            dir_path: &self.path,
            name: FileName::new("", id, ".key"),
            label: Label::Key(id),
        })
    }

    /// Serializes writers of `key_id` across threads and processes until
    /// the guard is dropped. Readers take no lock.
    fn lock(&self, key_id: &str) -> Result<File> {
        self.dir
            .lock(LOCK_FILE, LOCK_FILE_MODE, lock_slot(key_id))
            .map_err(|err| Error::io("cannot lock", &self.path.join(".lock"), &err))
    }

    /// The current key and its version number; `None` if the key does not
    /// exist.
    ///
    /// Takes no lock. The number follows from the key file and the highest
    /// record, read one after the other; a rotation commits by replacing the
    /// key file, so if the key file still is the one read at the end, the
    /// pair was consistent. Otherwise (a writer committed meanwhile) it is
    /// read again. The key file stays open meanwhile, so its inode number
    /// cannot pass to a file created after a delete.
    fn current(&self, key_id: &str, file: &SecretFile<'_>) -> Result<Option<Current>> {
        const ATTEMPTS: usize = 100;
        for _ in 0..ATTEMPTS {
            let Some((bytes, opened)) = file.read_identified(self.uid)? else {
                return Ok(None);
            };
            let versions = Versions::open(&self.dir, &self.path, key_id, false)?;
            let numbers = match versions.as_ref().map(Versions::numbers) {
                Some(Ok(numbers)) => numbers,
                None => Vec::new(),
                // The records vanished with a delete since the key was read.
                Some(Err(_)) if !file.still_names(&opened)? => continue,
                Some(Err(err)) => return Err(err),
            };
            let highest = match (&versions, numbers.last()) {
                (Some(versions), Some(&number)) => match versions.read(number)? {
                    Some(record) => Some((number, record)),
                    // Pruned since it was listed: look again.
                    None => continue,
                },
                _ => None,
            };
            let (version, recorded) = current_version(
                &bytes,
                highest.as_ref().map(|(n, record)| (*n, record.as_bytes())),
            )?;
            if file.still_names(&opened)? {
                return Ok(Some(Current {
                    bytes,
                    version,
                    recorded,
                    versions,
                    numbers,
                }));
            }
        }
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "key '{key_id}' changed {ATTEMPTS} times while its version was read; try again"
            ),
        ))
    }

    fn current_or_not_found(&self, key_id: &str, file: &SecretFile<'_>) -> Result<Current> {
        self.current(key_id, file)?
            .ok_or_else(|| self.not_found(key_id))
    }

    /// The bytes of `version` (0: current); `None` if there is no such
    /// version.
    fn version_bytes(current: Current, version: u32) -> Result<Option<SecretBytes>> {
        if version == 0 || version == current.version {
            return Ok(Some(current.bytes));
        }
        match (&current.versions, version < current.version) {
            (Some(versions), true) => versions.read(version),
            _ => Ok(None),
        }
    }

    /// Store and rotate: makes `new_key` the next version of `key_id`,
    /// keeping the previous one, and returns the previous key.
    fn replace(
        &self,
        key_id: &str,
        new_key: &[u8],
        max_old_len: usize,
    ) -> Result<Option<SecretBytes>> {
        let file = self.key_file(key_id)?;
        check_key_len(new_key)?;
        let _lock = self.lock(key_id)?;
        let Some(current) = self.current(key_id, &file)? else {
            self.remove_versions(key_id)?;
            file.write(new_key, Replace::Yes)?;
            return Ok(None);
        };
        if current.bytes.len() > max_old_len {
            return Err(Error::new(
                ErrorKind::BufferTooSmall {
                    needed: current.bytes.len(),
                },
                format!(
                    "old_out: capacity {max_old_len} is too small for the previous key of '{key_id}' ({} bytes); nothing was changed",
                    current.bytes.len()
                ),
            ));
        }
        let next = current.version.checked_add(1).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("key '{key_id}' has used every version number"),
            )
        })?;
        let versions = match current.versions {
            Some(versions) => versions,
            None => Versions::open(&self.dir, &self.path, key_id, true)?.ok_or_else(|| {
                Error::new(ErrorKind::Io, "version directory vanished after creation")
            })?,
        };
        // Record the version being replaced before replacing it: a crash
        // after this leaves the old state, complete.
        if !current.recorded {
            versions.write(current.version, &current.bytes)?;
        }
        if same_bytes(new_key, &current.bytes) {
            // The key file already holds these bytes: recording the next
            // version is the whole rotation.
            versions.write(next, new_key)?;
        } else {
            // The commit point: once renamed, the key file differs from the
            // highest record, which makes it version `next`.
            file.write(new_key, Replace::Yes)?;
        }
        Ok(Some(current.bytes))
    }

    /// Create and generate: writes version 1 of a key that must not exist.
    fn create_locked(&self, key_id: &str, file: &SecretFile<'_>, key: &[u8]) -> Result<()> {
        match self.dir.stat_at(&file.name) {
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("key '{key_id}' already exists in '{}'", self.path.display()),
                ));
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(Error::io("cannot inspect", &file.path(), &err)),
        }
        self.remove_versions(key_id)?;
        file.write(key, Replace::No)
    }

    /// Removes the version records of `key_id`, if any: after a delete, or
    /// left by a delete that was interrupted.
    fn remove_versions(&self, key_id: &str) -> Result<()> {
        match Versions::open(&self.dir, &self.path, key_id, false)? {
            Some(versions) => versions.remove_all(&self.dir, &self.path),
            None => Ok(()),
        }
    }

    fn not_found(&self, key_id: &str) -> Error {
        Error::new(
            ErrorKind::NotFound,
            format!("key '{key_id}' not found in '{}'", self.path.display()),
        )
    }
}

/// The lock-file byte that writers of `key_id` lock (FNV-1a of the id).
fn lock_slot(key_id: &str) -> u32 {
    let hash = key_id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash & 0x3fff_ffff
}

fn check_key_len(key: &[u8]) -> Result<()> {
    if (1..=MAX_KEY_LEN).contains(&key.len()) {
        Ok(())
    } else {
        Err(key_len_error(key.len()))
    }
}

fn key_len_error(len: usize) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("key length {len} is out of range: keys are 1 to {MAX_KEY_LEN} bytes"),
    )
}

/// Creates `path` and any missing parents, each with mode exactly 0700
/// (whatever the umask).
fn create_private_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let missing: Vec<&Path> = path
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .take_while(|p| std::fs::symlink_metadata(p).is_err())
        .collect();
    for dir in missing.iter().rev() {
        match std::fs::create_dir(dir) {
            Ok(()) => {
                // Only this process knows the directory yet: set its mode
                // exactly (mkdir's is narrowed by the umask).
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))
                    .map_err(|err| Error::io("cannot set mode 0700 on", dir, &err))?;
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(Error::io("cannot create key directory", dir, &err)),
        }
    }
    Ok(())
}

/// The error for a key directory that could not be opened.
fn refuse_dir_open(path: &Path, err: &io::Error) -> Error {
    let is_symlink = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_symlink || err.raw_os_error() == Some(libc::ELOOP) {
        Error::new(
            ErrorKind::InsecurePermissions,
            format!("key directory '{}' is a symbolic link", path.display()),
        )
    } else {
        Error::io("cannot open key directory", path, err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_keep_versions_and_tags_verify_until_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let km = KeyManager::open(dir.path().join("keys")).unwrap();
        km.store("k", b"one").unwrap();
        assert_eq!(km.current_version("k").unwrap(), 1);
        let tag1 = km.hmac_tagged("k", HashAlg::Sha256, b"msg").unwrap();
        assert_eq!(tag1.version(), 1);
        assert_eq!(km.rotate("k", b"two").unwrap().unwrap().as_bytes(), b"one");
        km.store("k", b"two").unwrap();
        assert_eq!(km.list_versions("k").unwrap(), [1, 2, 3]);
        assert_eq!(km.get_version("k", 1).unwrap().as_bytes(), b"one");
        assert_eq!(km.get_version("k", 3).unwrap().as_bytes(), b"two");
        assert_eq!(km.get_version("k", 0).unwrap().as_bytes(), b"two");
        assert_eq!(
            km.get_version("k", 4).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        km.hmac_verify_tagged("k", HashAlg::Sha256, b"msg", tag1.as_bytes())
            .unwrap();
        km.prune("k", 2).unwrap();
        assert_eq!(km.list_versions("k").unwrap(), [2, 3]);
        assert_eq!(
            km.hmac_verify_tagged("k", HashAlg::Sha256, b"msg", tag1.as_bytes())
                .unwrap_err()
                .kind(),
            ErrorKind::VerifyFailed
        );
        km.delete("k").unwrap();
        assert!(!dir.path().join("keys/.versions/k").exists());
        km.create("k", b"fresh").unwrap();
        assert_eq!(km.list_versions("k").unwrap(), [1]);
    }
}
