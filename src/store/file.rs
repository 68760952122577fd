//! One file of key bytes: read with every check, written atomically and
//! durably, removed.

use super::sys::{Dir, Stat, file_type_name, fstat};
use super::{MAX_KEY_ID_LEN, MAX_KEY_LEN};
use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretBytes;
use std::ffi::{CStr, OsStr};
use std::fmt;
use std::fs::Permissions;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Mode of every file that holds key bytes, from the instant it exists.
pub(super) const FILE_MODE: u32 = 0o600;

/// Whether a write may replace an existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Replace {
    Yes,
    No,
}

/// A file name built in place: `<prefix><text><suffix>` and a NUL, for a
/// text of at most [`MAX_KEY_ID_LEN`] bytes with no NUL (a valid key id or
/// a version number). Building one allocates nothing, so reading a key
/// costs no allocation besides its bytes.
pub(super) struct FileName {
    bytes: [u8; MAX_KEY_ID_LEN + 12],
    len: usize,
}

impl FileName {
    /// `<prefix><text><suffix>`; `text` is cut at the limit (no valid id is
    /// that long) and must not contain NUL.
    pub fn new(prefix: &str, text: &str, suffix: &str) -> FileName {
        let mut name = FileName {
            bytes: [0; MAX_KEY_ID_LEN + 12],
            len: 0,
        };
        let text = &text.as_bytes()[..text.len().min(MAX_KEY_ID_LEN)];
        for part in [prefix.as_bytes(), text, suffix.as_bytes()] {
            // Prefixes and suffixes are a few bytes: this always fits, with
            // room for the NUL that the zeroed buffer already holds.
            let end = (name.len + part.len()).min(name.bytes.len() - 1);
            name.bytes[name.len..end].copy_from_slice(&part[..end - name.len]);
            name.len = end;
        }
        name
    }

    /// The name as a C string (the bytes up to the first NUL).
    pub fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.bytes[..=self.len]).unwrap_or_default()
    }
}

impl std::ops::Deref for FileName {
    type Target = CStr;

    fn deref(&self) -> &CStr {
        self.as_c_str()
    }
}

/// What a file is, for messages: `key 'api'`, `key 'api' version 3`.
#[derive(Clone, Copy)]
pub(super) enum Label<'a> {
    Key(&'a str),
    Version(&'a str, u32),
}

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Label::Key(id) => write!(f, "key '{id}'"),
            Label::Version(id, version) => write!(f, "key '{id}' version {version}"),
        }
    }
}

/// A file that was read, kept open: while it is open its inode cannot be
/// freed and given to another file, so comparing device and inode numbers
/// tells whether a name still refers to it.
pub(super) struct OpenedFile {
    identity: (u64, u64),
    _open: std::fs::File,
}

/// A file holding key bytes (a current key or an older version), its
/// temporary sibling, and how messages name it.
pub(super) struct SecretFile<'a> {
    /// The directory holding the file.
    pub dir: &'a Dir,
    /// That directory's path, for messages only.
    pub dir_path: &'a Path,
    /// The file's name in `dir`.
    pub name: FileName,
    /// What the file is, for messages; also gives the temporary's name.
    pub label: Label<'a>,
}

impl SecretFile<'_> {
    /// Name of the temporary file a write goes through: `.<id>.key.tmp`,
    /// `.<version>.tmp`. The caller holds the key's lock, so no one else
    /// writes it.
    pub fn temp(&self) -> FileName {
        match self.label {
            Label::Key(id) => FileName::new(".", id, ".key.tmp"),
            Label::Version(_, version) => FileName::new(".", &version.to_string(), ".tmp"),
        }
    }

    /// The file's path, for messages.
    pub fn path(&self) -> PathBuf {
        join(self.dir_path, &self.name)
    }

    /// Reads the file, refusing one that is not a private regular file of
    /// 1 to [`MAX_KEY_LEN`] bytes owned by `uid`; `None` if it is absent.
    pub fn read(&self, uid: u32) -> Result<Option<SecretBytes>> {
        Ok(self.read_identified(uid)?.map(|(bytes, _)| bytes))
    }

    /// [`SecretFile::read`], also returning the file read, still open, so a
    /// caller can tell whether the name still refers to it.
    pub fn read_identified(&self, uid: u32) -> Result<Option<(SecretBytes, OpenedFile)>> {
        let mut file = match self.dir.open_read(&self.name) {
            Ok(file) => file,
            Err(err) => {
                return match err.raw_os_error() {
                    Some(libc::ENOENT) => Ok(None),
                    Some(libc::ELOOP) => Err(self.refuse(
                        ErrorKind::InsecurePermissions,
                        "is a symbolic link; key files must be regular files",
                    )),
                    // Opening a socket fails this way: not a key file.
                    Some(libc::ENXIO) => {
                        Err(self.refuse(ErrorKind::Corrupt, "is not a regular file"))
                    }
                    _ => Err(Error::io("cannot open", &self.path(), &err)),
                };
            }
        };
        let st = fstat(&file).map_err(|err| Error::io("cannot inspect", &self.path(), &err))?;
        self.check(&st, uid)?;
        // The size was checked against MAX_KEY_LEN, so it fits in usize.
        let mut bytes = SecretBytes::zeroed(usize::try_from(st.size).unwrap_or(MAX_KEY_LEN));
        file.read_exact(bytes.as_mut_bytes()).map_err(|err| {
            if err.kind() == io::ErrorKind::UnexpectedEof {
                self.refuse(ErrorKind::Corrupt, "shrank while it was read")
            } else {
                Error::io("cannot read", &self.path(), &err)
            }
        })?;
        Ok(Some((
            bytes,
            OpenedFile {
                identity: st.identity,
                _open: file,
            },
        )))
    }

    /// Whether the name still refers to `opened` (it was not replaced or
    /// removed since that file was read).
    pub fn still_names(&self, opened: &OpenedFile) -> Result<bool> {
        match self.dir.stat_at(&self.name) {
            Ok(st) => Ok(st.identity == opened.identity),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(Error::io("cannot inspect", &self.path(), &err)),
        }
    }

    /// Refuses a file that is not a private regular file of a valid size.
    pub fn check(&self, st: &Stat, uid: u32) -> Result<()> {
        if st.file_type() != libc::S_IFREG {
            return Err(self.wrong_type(st));
        }
        if st.uid != uid {
            return Err(self.refuse(
                ErrorKind::InsecurePermissions,
                &format!("is owned by uid {}, not by this user (uid {uid})", st.uid),
            ));
        }
        if st.permissions() & 0o077 != 0 {
            return Err(self.refuse(
                ErrorKind::InsecurePermissions,
                &format!(
                    "is accessible by group or others (mode {:04o}, expected 0600)",
                    st.permissions()
                ),
            ));
        }
        // 0 links is a file replaced by a rename after it was opened: what
        // is read from it is still the complete previous key.
        if st.nlink > 1 {
            return Err(self.refuse(
                ErrorKind::InsecurePermissions,
                &format!(
                    "has {} hard links; a key file must have exactly one",
                    st.nlink
                ),
            ));
        }
        if st.size == 0 {
            return Err(self.refuse(ErrorKind::Corrupt, "is empty"));
        }
        if st.size > MAX_KEY_LEN as u64 {
            return Err(self.refuse(
                ErrorKind::Corrupt,
                &format!("has {} bytes, over the limit of {MAX_KEY_LEN}", st.size),
            ));
        }
        Ok(())
    }

    /// The error for an entry of the wrong type: a symbolic link is
    /// insecure, anything else not a key file.
    pub fn wrong_type(&self, st: &Stat) -> Error {
        match st.file_type() {
            libc::S_IFLNK => self.refuse(
                ErrorKind::InsecurePermissions,
                "is a symbolic link; key files must be regular files",
            ),
            other => self.refuse(
                ErrorKind::Corrupt,
                &format!("is {}, not a regular file", file_type_name(other)),
            ),
        }
    }

    /// An error of `kind` saying this file `why`.
    pub fn refuse(&self, kind: ErrorKind, why: &str) -> Error {
        Error::new(
            kind,
            format!("{}: '{}' {why}", self.label, self.path().display()),
        )
    }

    /// Writes `bytes` durably and atomically: to the temporary file (mode
    /// 0600 from its creation), flushed to disk, renamed over the file
    /// (or, with [`Replace::No`], only if the file is absent), and the
    /// directory flushed. A temporary file left by a killed writer is
    /// replaced. On error the file is unchanged and the temporary removed.
    pub fn write(&self, bytes: &[u8], replace: Replace) -> Result<()> {
        let temp_name = self.temp();
        let mut temp = match self.dir.create_new(&temp_name, FILE_MODE) {
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                remove_if_present(self.dir, self.dir_path, &temp_name)?;
                self.dir.create_new(&temp_name, FILE_MODE)
            }
            other => other,
        }
        .map_err(|err| Error::io("cannot create", &join(self.dir_path, &temp_name), &err))?;
        let written = temp
            // The umask may have narrowed the mode; make it exactly 0600.
            .set_permissions(Permissions::from_mode(FILE_MODE))
            .and_then(|()| temp.write_all(bytes))
            .and_then(|()| temp.sync_data());
        drop(temp);
        let committed = written
            .map_err(|err| Error::io("cannot write", &join(self.dir_path, &temp_name), &err))
            .and_then(|()| self.rename_into_place(&temp_name, replace));
        if committed.is_err() {
            // Best effort: the failure being reported matters more.
            let _ = self.dir.unlink(&temp_name);
            return committed;
        }
        sync_dir(self.dir, self.dir_path)
    }

    fn rename_into_place(&self, temp: &CStr, replace: Replace) -> Result<()> {
        let renamed = match replace {
            Replace::Yes => self.dir.rename(temp, &self.name),
            Replace::No => self.dir.rename_noreplace(temp, &self.name),
        };
        renamed.map_err(|err| match err.raw_os_error() {
            Some(libc::EEXIST) => Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "{} already exists in '{}'",
                    self.label,
                    self.dir_path.display()
                ),
            ),
            Some(libc::EISDIR | libc::ENOTEMPTY) => {
                self.refuse(ErrorKind::Corrupt, "is a directory, not a regular file")
            }
            _ => Error::io("cannot rename into place", &self.path(), &err),
        })
    }
}

/// Removes `name` from `dir` if it is there.
pub(super) fn remove_if_present(dir: &Dir, dir_path: &Path, name: &CStr) -> Result<()> {
    match dir.unlink(name) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => {
            Err(Error::io("cannot remove", &join(dir_path, name), &err))
        }
        _ => Ok(()),
    }
}

/// Flushes the entries of `dir` to disk.
pub(super) fn sync_dir(dir: &Dir, dir_path: &Path) -> Result<()> {
    dir.sync()
        .map_err(|err| Error::io("cannot flush directory", dir_path, &err))
}

/// `dir_path/name`, for messages.
pub(super) fn join(dir_path: &Path, name: &CStr) -> PathBuf {
    dir_path.join(OsStr::from_bytes(name.to_bytes()))
}
