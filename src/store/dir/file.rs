//! One file of key bytes in a private directory: read with every check,
//! written atomically and durably, removed.

use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretBytes;
use crate::store::fs::{
    FileName, Label, OPEN_FLAGS, file_type, io_error, join, open_error, permissions,
    read_key_bytes, refuse, wrong_type,
};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags, Stat};
use rustix::io::Errno;
use std::ffi::CStr;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

/// Mode of every file that holds key bytes, from the instant it exists.
pub(super) const FILE_MODE: Mode = Mode::RUSR.union(Mode::WUSR);

/// Whether a write may replace an existing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Replace {
    Yes,
    No,
}

/// A file that was read, kept open: while it is open its inode cannot be
/// freed and given to another file, so comparing device and inode numbers
/// tells whether a name still refers to it.
pub(super) struct Opened {
    identity: (u64, u64),
    _file: OwnedFd,
}

/// A file holding key bytes (a current key or a version record) in a
/// directory opened once, its temporary sibling, and how messages name it.
pub(super) struct SecretFile<'a> {
    /// The directory holding the file.
    pub dir: &'a OwnedFd,
    /// That directory's path, for messages only.
    pub dir_path: &'a Path,
    /// The file's name in `dir`.
    pub name: FileName,
    /// The name of the temporary file a write goes through. The writer
    /// holds the key's lock, so no one else writes it.
    pub temp: FileName,
    /// What the file is, for messages.
    pub label: Label<'a>,
    /// The largest size the file may have.
    pub max_len: usize,
}

impl SecretFile<'_> {
    /// The file's path, for messages.
    pub fn path(&self) -> PathBuf {
        join(self.dir_path, &self.name)
    }

    /// The file named for messages: `key 'api': '/keys/api.key'`.
    pub fn describe(&self) -> String {
        format!("{}: '{}'", self.label, self.path().display())
    }

    /// Reads the file, refusing one that is not a private regular file
    /// owned by `uid`; `None` if it is absent. The file stays open in the
    /// result, so the caller can tell whether the name still refers to it.
    pub fn read(&self, uid: u32) -> Result<Option<(SecretBytes, Opened)>> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OPEN_FLAGS;
        let file = match rustix::fs::openat(self.dir, &*self.name, flags, Mode::empty()) {
            Ok(file) => file,
            Err(Errno::NOENT) => return Ok(None),
            Err(errno) => return Err(open_error(self.label, &self.path(), errno)),
        };
        let st = rustix::fs::fstat(&file)
            .map_err(|errno| io_error("cannot inspect", &self.path(), errno))?;
        self.check(&st, uid)?;
        let bytes = read_key_bytes(&file, &st, self.max_len, self.label, &self.path())?;
        let identity = (st.st_dev, st.st_ino);
        Ok(Some((
            bytes,
            Opened {
                identity,
                _file: file,
            },
        )))
    }

    /// Whether the name still refers to `opened` (it was not replaced or
    /// removed since that file was read).
    pub fn still_names(&self, opened: &Opened) -> Result<bool> {
        match rustix::fs::statat(self.dir, &*self.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok((st.st_dev, st.st_ino) == opened.identity),
            Err(Errno::NOENT) => Ok(false),
            Err(errno) => Err(io_error("cannot inspect", &self.path(), errno)),
        }
    }

    /// The status of the entry itself (a link is not followed); `None` if
    /// absent.
    pub fn stat(&self) -> Result<Option<Stat>> {
        match rustix::fs::statat(self.dir, &*self.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::NOENT) => Ok(None),
            Err(errno) => Err(io_error("cannot inspect", &self.path(), errno)),
        }
    }

    /// Refuses a file that is not a private regular file owned by `uid`
    /// with exactly one name.
    pub fn check(&self, st: &Stat, uid: u32) -> Result<()> {
        if file_type(st) != FileType::RegularFile {
            return Err(wrong_type(self.label, &self.path(), file_type(st)));
        }
        let why = if st.st_uid != uid {
            format!(
                "is owned by uid {}, not by this user (uid {uid})",
                st.st_uid
            )
        } else if permissions(st) & 0o077 != 0 {
            format!(
                "is accessible by group or others (mode {:04o}, expected 0600)",
                permissions(st)
            )
        } else if st.st_nlink > 1 {
            // 0 links is a file replaced by a rename after it was opened:
            // what is read from it is still the complete previous key.
            format!(
                "has {} hard links; a key file must have exactly one",
                st.st_nlink
            )
        } else {
            return Ok(());
        };
        Err(refuse(
            self.label,
            &self.path(),
            ErrorKind::InsecurePermissions,
            &why,
        ))
    }

    /// Writes `bytes` to the temporary file (mode 0600 from its creation,
    /// whatever the umask) and flushes it to disk, without making it
    /// visible: [`Prepared::commit`] does that. A temporary file left by a
    /// killed writer is replaced.
    pub fn prepare(&self, bytes: &[u8]) -> Result<Prepared<'_>> {
        let temp_path = join(self.dir_path, &self.temp);
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OPEN_FLAGS;
        let created = match rustix::fs::openat(self.dir, &*self.temp, flags, FILE_MODE) {
            Err(Errno::EXIST) => {
                remove_if_present(self.dir, self.dir_path, &self.temp)?;
                rustix::fs::openat(self.dir, &*self.temp, flags, FILE_MODE)
            }
            other => other,
        };
        let file = created.map_err(|errno| io_error("cannot create", &temp_path, errno))?;
        let prepared = Prepared { file: self };
        // The umask may have narrowed the mode; make it exactly 0600.
        rustix::fs::fchmod(&file, FILE_MODE)
            .and_then(|()| write_all(&file, bytes))
            .and_then(|()| rustix::fs::fdatasync(&file))
            .map_err(|errno| io_error("cannot write", &temp_path, errno))?;
        Ok(prepared)
    }

    /// [`SecretFile::prepare`] and [`Prepared::commit`] in one.
    pub fn write(&self, bytes: &[u8], replace: Replace) -> Result<()> {
        self.prepare(bytes)?.commit(replace)
    }
}

/// A temporary file written and flushed, not yet renamed into place. If it
/// is dropped without being committed, it is removed.
pub(super) struct Prepared<'a> {
    file: &'a SecretFile<'a>,
}

impl Prepared<'_> {
    /// Renames the temporary file over the file (or, with [`Replace::No`],
    /// only if the file is absent) and flushes the directory: the commit
    /// point of every write.
    pub fn commit(self, replace: Replace) -> Result<()> {
        let file = self.file;
        let flags = match replace {
            Replace::Yes => RenameFlags::empty(),
            Replace::No => RenameFlags::NOREPLACE,
        };
        rustix::fs::renameat_with(file.dir, &*file.temp, file.dir, &*file.name, flags)
            .map_err(|errno| rename_error(file, errno))?;
        std::mem::forget(self);
        sync_dir(file.dir, file.dir_path)
    }
}

impl Drop for Prepared<'_> {
    fn drop(&mut self) {
        // Best effort: the failure being reported matters more.
        let _ = rustix::fs::unlinkat(self.file.dir, &*self.file.temp, AtFlags::empty());
    }
}

fn rename_error(file: &SecretFile<'_>, errno: Errno) -> Error {
    match errno {
        Errno::EXIST => Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} already exists in '{}'",
                file.label,
                file.dir_path.display()
            ),
        ),
        Errno::ISDIR | Errno::NOTEMPTY => refuse(
            file.label,
            &file.path(),
            ErrorKind::Corrupt,
            "is a directory, not a regular file",
        ),
        _ => io_error("cannot rename into place", &file.path(), errno),
    }
}

fn write_all(file: &OwnedFd, mut bytes: &[u8]) -> rustix::io::Result<()> {
    while !bytes.is_empty() {
        match rustix::io::write(file, bytes) {
            Ok(0) => return Err(Errno::IO),
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// Removes the non-directory entry `name` from `dir` if it is there.
pub(super) fn remove_if_present(dir: &OwnedFd, dir_path: &Path, name: &CStr) -> Result<()> {
    match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(errno) => Err(io_error("cannot remove", &join(dir_path, name), errno)),
    }
}

/// Flushes the entries of `dir` (renames, creations, removals) to disk.
pub(super) fn sync_dir(dir: &OwnedFd, dir_path: &Path) -> Result<()> {
    rustix::fs::fsync(dir).map_err(|errno| io_error("cannot flush directory", dir_path, errno))
}
