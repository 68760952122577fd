//! The key store: one file per key in a private directory.
//!
//! Layout of a key directory:
//!
//! ```text
//! <key_dir>/            mode 0700, owned by the user
//!   <key_id>.key        the key's raw bytes, mode 0600
//!   .<key_id>.key.tmp   a write in progress (or left by a killed writer;
//!                       ignored, replaced by the next write, removed by delete)
//!   .lock               lock file: writers of a key lock one byte of it
//! ```
//!
//! Every operation is relative to the directory descriptor opened once by
//! [`KeyManager::open`]; no path is resolved again later.

mod key_id;
mod sys;

pub use key_id::{MAX_KEY_ID_LEN, validate_key_id};

use crate::alg::HashAlg;
use crate::error::{Error, ErrorKind, Result};
use crate::hkdf::hkdf_derive;
use crate::hmac::{Mac, hmac, hmac_verify};
use crate::random::random_bytes;
use crate::secret::SecretBytes;
use std::ffi::{CStr, CString, OsStr};
use std::fs::{File, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use sys::{Dir, Stat, effective_uid, file_type_name, fstat};

/// The largest key, in bytes (64 KiB).
pub const MAX_KEY_LEN: usize = 65536;

/// Mode of the key directory when the library creates it.
const DIR_MODE: u32 = 0o700;
/// Mode of every key file, from the instant it exists.
const FILE_MODE: u32 = 0o600;
/// Name of the lock file in the key directory.
const LOCK_FILE: &CStr = c".lock";
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
/// key (in this or any other process) are serialized by a lock; readers
/// never wait and always see a complete key, old or new.
#[derive(Debug)]
pub struct KeyManager {
    dir: Dir,
    path: PathBuf,
    uid: u32,
}

/// The file names that belong to one key.
struct KeyFiles<'a> {
    id: &'a str,
    key: CString,
    temp: CString,
}

impl<'a> KeyFiles<'a> {
    fn new(key_id: &'a str) -> Result<Self> {
        let id = validate_key_id(key_id.as_bytes())?;
        // A valid id has no NUL byte, so neither name can fail.
        let name = |text: String| {
            CString::new(text)
                .map_err(|_| Error::new(ErrorKind::InvalidKeyId, "key id contains a NUL byte"))
        };
        Ok(KeyFiles {
            id,
            key: name(format!("{id}.key"))?,
            temp: name(format!(".{id}.key.tmp"))?,
        })
    }

    /// The lock-file byte that writers of this key lock (FNV-1a of the id).
    fn lock_slot(&self) -> u32 {
        let hash = self.id.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        hash & 0x3fff_ffff
    }
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
        let created = create_private_dir(path)?;
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
        if created && st.permissions() != DIR_MODE {
            // The umask narrowed the mode; make it exactly 0700.
            dir.chmod(DIR_MODE)
                .map_err(|err| Error::io("cannot set mode 0700 on key directory", path, &err))?;
        } else if st.permissions() & 0o022 != 0 {
            return Err(Error::new(
                ErrorKind::InsecurePermissions,
                format!(
                    "key directory '{}' is writable by group or others (mode {:04o})",
                    path.display(),
                    st.permissions()
                ),
            ));
        }
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

    /// Stores `key` (1 to [`MAX_KEY_LEN`] bytes) under `key_id`, replacing
    /// any previous key atomically and durably.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidKeyId`], [`ErrorKind::InvalidArgument`] (key
    /// length), [`ErrorKind::Corrupt`] (a directory stands at the key's
    /// name), [`ErrorKind::Io`]. On error the stored key is unchanged.
    pub fn store(&self, key_id: &str, key: &[u8]) -> Result<()> {
        let files = KeyFiles::new(key_id)?;
        check_key_len(key)?;
        let _lock = self.lock(&files)?;
        self.write_key(&files, key, Replace::Yes)
    }

    /// Stores `key` under `key_id` only if no key with that id exists, even
    /// against a concurrent writer in another process.
    ///
    /// # Errors
    /// [`ErrorKind::AlreadyExists`] if the id is taken; otherwise as
    /// [`KeyManager::store`].
    pub fn create(&self, key_id: &str, key: &[u8]) -> Result<()> {
        let files = KeyFiles::new(key_id)?;
        check_key_len(key)?;
        let _lock = self.lock(&files)?;
        self.write_key(&files, key, Replace::No)
    }

    /// Creates a random key of `key_len` bytes (1 to [`MAX_KEY_LEN`]) from
    /// the OS CSPRNG under `key_id`, which must not exist yet.
    ///
    /// # Errors
    /// As [`KeyManager::create`].
    pub fn generate(&self, key_id: &str, key_len: usize) -> Result<()> {
        let files = KeyFiles::new(key_id)?;
        if !(1..=MAX_KEY_LEN).contains(&key_len) {
            return Err(key_len_error(key_len));
        }
        let mut key = SecretBytes::zeroed(key_len);
        random_bytes(key.as_mut_bytes())?;
        let _lock = self.lock(&files)?;
        self.write_key(&files, &key, Replace::No)
    }

    /// Reads the key stored under `key_id`.
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
        let files = KeyFiles::new(key_id)?;
        self.read_key(&files)?.ok_or_else(|| self.not_found(&files))
    }

    /// Whether a key file `<key_id>.key` exists as a regular file (exactly
    /// when [`KeyManager::list`] would show `key_id`).
    ///
    /// # Errors
    /// [`ErrorKind::InsecurePermissions`] if the name is a symbolic link,
    /// [`ErrorKind::Corrupt`] if it is another kind of file,
    /// [`ErrorKind::InvalidKeyId`], [`ErrorKind::Io`].
    pub fn exists(&self, key_id: &str) -> Result<bool> {
        let files = KeyFiles::new(key_id)?;
        match self.dir.stat_at(&files.key) {
            Ok(st) if st.file_type() == libc::S_IFREG => Ok(true),
            Ok(st) => Err(self.wrong_type(&files, &st)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(self.io_error("cannot inspect", &files.key, &err)),
        }
    }

    /// Removes the key `key_id`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if there is none, [`ErrorKind::Corrupt`] if a
    /// directory stands at its name, [`ErrorKind::InvalidKeyId`],
    /// [`ErrorKind::Io`].
    pub fn delete(&self, key_id: &str) -> Result<()> {
        let files = KeyFiles::new(key_id)?;
        let _lock = self.lock(&files)?;
        match self.dir.stat_at(&files.key) {
            Ok(st) if st.file_type() == libc::S_IFDIR => return Err(self.wrong_type(&files, &st)),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(self.not_found(&files));
            }
            Err(err) => return Err(self.io_error("cannot inspect", &files.key, &err)),
        }
        self.dir
            .unlink(&files.key)
            .map_err(|err| self.io_error("cannot remove", &files.key, &err))?;
        self.remove_if_present(&files.temp)?;
        self.sync_dir()
    }

    /// The ids of all keys, sorted bytewise ascending. Only entries named
    /// `<valid key id>.key` that are regular files count; temporary files,
    /// the lock file and anything else are ignored.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] if the directory cannot be read.
    pub fn list(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut stat_error = None;
        self.dir
            .for_each_entry(|name, d_type| {
                let Some(id) = name.strip_suffix(b".key") else {
                    return;
                };
                let Ok(id) = validate_key_id(id) else {
                    return;
                };
                let regular = match d_type {
                    libc::DT_REG => true,
                    libc::DT_UNKNOWN => match CString::new(name) {
                        Ok(c_name) => match self.dir.stat_at(&c_name) {
                            Ok(st) => st.file_type() == libc::S_IFREG,
                            Err(err) if err.kind() == io::ErrorKind::NotFound => false,
                            Err(err) => {
                                stat_error.get_or_insert(err);
                                false
                            }
                        },
                        Err(_) => false,
                    },
                    _ => false,
                };
                if regular {
                    ids.push(id.to_owned());
                }
            })
            .map_err(|err| Error::io("cannot list key directory", &self.path, &err))?;
        if let Some(err) = stat_error {
            return Err(Error::io("cannot list key directory", &self.path, &err));
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// Stores `new_key` under `key_id` and returns the key it replaced
    /// (`None` if there was none; the new key is stored all the same).
    /// Atomic against concurrent `rotate`, `store` and `delete` of the same
    /// key in any process: of N concurrent rotations each returns the key
    /// the previous one stored.
    ///
    /// # Errors
    /// As [`KeyManager::store`], plus the errors of [`KeyManager::get`] for
    /// the previous key; on error nothing is changed.
    pub fn rotate(&self, key_id: &str, new_key: &[u8]) -> Result<Option<SecretBytes>> {
        self.rotate_bounded(key_id, new_key, usize::MAX)
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
        let files = KeyFiles::new(key_id)?;
        check_key_len(new_key)?;
        let _lock = self.lock(&files)?;
        let old = self.read_key(&files)?;
        if let Some(old) = old.as_ref().filter(|old| old.len() > max_old_len) {
            return Err(Error::new(
                ErrorKind::BufferTooSmall { needed: old.len() },
                format!(
                    "old_out: capacity {max_old_len} is too small for the previous key of '{}' ({} bytes); nothing was changed",
                    files.id,
                    old.len()
                ),
            ));
        }
        self.write_key(&files, new_key, Replace::Yes)?;
        Ok(old)
    }

    /// HMAC of `data` under the key `key_id`, which never leaves the library.
    ///
    /// # Errors
    /// As [`KeyManager::get`], plus nothing else.
    pub fn hmac(&self, key_id: &str, alg: HashAlg, data: &[u8]) -> Result<Mac> {
        Ok(hmac(alg, &self.get(key_id)?, data))
    }

    /// Checks `mac` against the HMAC of `data` under the key `key_id`, in
    /// constant time in the MAC's content.
    ///
    /// # Errors
    /// [`ErrorKind::VerifyFailed`] if it does not match; as
    /// [`KeyManager::get`] otherwise.
    pub fn hmac_verify(&self, key_id: &str, alg: HashAlg, data: &[u8], mac: &[u8]) -> Result<()> {
        hmac_verify(alg, &self.get(key_id)?, data, mac)
    }

    /// HKDF with the key `key_id` as input key material: fills `okm`
    /// (1 to 255 × HashLen bytes).
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
        let key = self.get(key_id)?;
        hkdf_derive(alg, &key, salt, info, okm)
    }

    /// Serializes writers of this key across threads and processes until
    /// the returned guard is dropped.
    fn lock(&self, files: &KeyFiles<'_>) -> Result<File> {
        self.dir
            .lock(LOCK_FILE, files.lock_slot())
            .map_err(|err| self.io_error("cannot lock", LOCK_FILE, &err))
    }

    /// Reads the key file, checking it is a private regular file of a valid
    /// size; `None` if it does not exist.
    fn read_key(&self, files: &KeyFiles<'_>) -> Result<Option<SecretBytes>> {
        let mut file = match self.dir.open_read(&files.key) {
            Ok(file) => file,
            Err(err) => {
                return match err.raw_os_error() {
                    Some(libc::ENOENT) => Ok(None),
                    Some(libc::ELOOP) => Err(Error::new(
                        ErrorKind::InsecurePermissions,
                        format!(
                            "key '{}': '{}' is a symbolic link; key files must be regular files",
                            files.id,
                            self.display(&files.key)
                        ),
                    )),
                    // Opening a socket fails this way: not a key file.
                    Some(libc::ENXIO) => Err(Error::new(
                        ErrorKind::Corrupt,
                        format!(
                            "key '{}': '{}' is not a regular file",
                            files.id,
                            self.display(&files.key)
                        ),
                    )),
                    _ => Err(self.io_error("cannot open", &files.key, &err)),
                };
            }
        };
        let st = fstat(&file).map_err(|err| self.io_error("cannot inspect", &files.key, &err))?;
        self.check_key_file(files, &st)?;
        // The size was checked against MAX_KEY_LEN, so it fits in usize.
        let size = usize::try_from(st.size).unwrap_or(MAX_KEY_LEN);
        let mut key = SecretBytes::zeroed(size);
        file.read_exact(key.as_mut_bytes()).map_err(|err| {
            if err.kind() == io::ErrorKind::UnexpectedEof {
                Error::new(
                    ErrorKind::Corrupt,
                    format!(
                        "key '{}': '{}' shrank while it was read",
                        files.id,
                        self.display(&files.key)
                    ),
                )
            } else {
                self.io_error("cannot read", &files.key, &err)
            }
        })?;
        Ok(Some(key))
    }

    /// Refuses a key file that is not a private regular file of a valid size.
    fn check_key_file(&self, files: &KeyFiles<'_>, st: &Stat) -> Result<()> {
        let refuse = |kind, why: String| {
            Err(Error::new(
                kind,
                format!("key '{}': '{}' {why}", files.id, self.display(&files.key)),
            ))
        };
        if st.file_type() != libc::S_IFREG {
            return Err(self.wrong_type(files, st));
        }
        if st.uid != self.uid {
            return refuse(
                ErrorKind::InsecurePermissions,
                format!(
                    "is owned by uid {}, not by this user (uid {})",
                    st.uid, self.uid
                ),
            );
        }
        if st.permissions() & 0o077 != 0 {
            return refuse(
                ErrorKind::InsecurePermissions,
                format!(
                    "is accessible by group or others (mode {:04o}, expected 0600)",
                    st.permissions()
                ),
            );
        }
        if st.nlink != 1 {
            return refuse(
                ErrorKind::InsecurePermissions,
                format!(
                    "has {} hard links; a key file must have exactly one",
                    st.nlink
                ),
            );
        }
        if st.size == 0 {
            return refuse(ErrorKind::Corrupt, "is empty".to_string());
        }
        if st.size > MAX_KEY_LEN as u64 {
            return refuse(
                ErrorKind::Corrupt,
                format!("has {} bytes, over the limit of {MAX_KEY_LEN}", st.size),
            );
        }
        Ok(())
    }

    /// Writes `key` to the temporary file (mode 0600 from its creation),
    /// flushes it to disk, renames it to the key's name and flushes the
    /// directory. The caller holds the key's lock, so the temporary name is
    /// this call's alone; one left by a killed writer is replaced.
    fn write_key(&self, files: &KeyFiles<'_>, key: &[u8], replace: Replace) -> Result<()> {
        let mut temp = match self.dir.create_new(&files.temp, FILE_MODE) {
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                self.remove_if_present(&files.temp)?;
                self.dir.create_new(&files.temp, FILE_MODE)
            }
            other => other,
        }
        .map_err(|err| self.io_error("cannot create", &files.temp, &err))?;
        let written = temp
            .set_permissions(Permissions::from_mode(FILE_MODE))
            .and_then(|()| temp.write_all(key))
            .and_then(|()| temp.sync_data());
        drop(temp);
        let committed = written
            .map_err(|err| self.io_error("cannot write", &files.temp, &err))
            .and_then(|()| self.commit(files, replace));
        if committed.is_err() {
            // Best effort: the failure being reported matters more.
            let _ = self.dir.unlink(&files.temp);
            return committed;
        }
        self.sync_dir()
    }

    /// Renames the written temporary file to the key's name.
    fn commit(&self, files: &KeyFiles<'_>, replace: Replace) -> Result<()> {
        let renamed = match replace {
            Replace::Yes => self.dir.rename(&files.temp, &files.key),
            Replace::No => self.dir.rename_noreplace(&files.temp, &files.key),
        };
        renamed.map_err(|err| match err.raw_os_error() {
            Some(libc::EEXIST) => Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "key '{}' already exists in '{}'",
                    files.id,
                    self.path.display()
                ),
            ),
            Some(libc::EISDIR | libc::ENOTEMPTY) => Error::new(
                ErrorKind::Corrupt,
                format!(
                    "key '{}': '{}' is a directory",
                    files.id,
                    self.display(&files.key)
                ),
            ),
            _ => self.io_error("cannot rename into place", &files.key, &err),
        })
    }

    fn remove_if_present(&self, name: &CStr) -> Result<()> {
        match self.dir.unlink(name) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                Err(self.io_error("cannot remove", name, &err))
            }
            _ => Ok(()),
        }
    }

    fn sync_dir(&self) -> Result<()> {
        self.dir
            .sync()
            .map_err(|err| Error::io("cannot flush key directory", &self.path, &err))
    }

    fn display(&self, name: &CStr) -> String {
        self.path
            .join(OsStr::from_bytes(name.to_bytes()))
            .display()
            .to_string()
    }

    fn io_error(&self, action: &str, name: &CStr, err: &io::Error) -> Error {
        Error::io(
            action,
            &self.path.join(OsStr::from_bytes(name.to_bytes())),
            err,
        )
    }

    fn not_found(&self, files: &KeyFiles<'_>) -> Error {
        Error::new(
            ErrorKind::NotFound,
            format!("key '{}' not found in '{}'", files.id, self.path.display()),
        )
    }

    fn wrong_type(&self, files: &KeyFiles<'_>, st: &Stat) -> Error {
        let (kind, what) = match st.file_type() {
            libc::S_IFLNK => (ErrorKind::InsecurePermissions, "a symbolic link"),
            other => (ErrorKind::Corrupt, file_type_name(other)),
        };
        Error::new(
            kind,
            format!(
                "key '{}': '{}' is {what}, not a regular file",
                files.id,
                self.display(&files.key)
            ),
        )
    }
}

/// Whether a write may replace an existing key.
#[derive(Clone, Copy)]
enum Replace {
    Yes,
    No,
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

/// Creates `path` with mode 0700 (parents too) if it is absent; true if this
/// call created it.
fn create_private_dir(path: &Path) -> Result<bool> {
    use std::os::unix::fs::DirBuilderExt;
    let mut builder = std::fs::DirBuilder::new();
    builder.mode(DIR_MODE);
    match builder.create(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                builder
                    .recursive(true)
                    .create(parent)
                    .map_err(|err| Error::io("cannot create key directory parent", parent, &err))?;
            }
            match std::fs::DirBuilder::new().mode(DIR_MODE).create(path) {
                Ok(()) => Ok(true),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                Err(err) => Err(Error::io("cannot create key directory", path, &err)),
            }
        }
        Err(err) => Err(Error::io("cannot create key directory", path, &err)),
    }
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
