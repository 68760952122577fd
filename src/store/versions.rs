//! Older versions of a key: `.versions/<key_id>/<n>`, one file of raw key
//! bytes per version number `n`, under the same rules as current keys.
//!
//! The current key stays `<key_id>.key`; which version it is follows from
//! the records (see [`current_version`]), so a rotation commits with the
//! single rename of the key file and a crash never leaves a lost version.

use super::file::{FileName, Label, Replace, SecretFile, join, remove_if_present, sync_dir};
use super::sys::{Dir, Entry, effective_uid};
use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretBytes;
use std::ffi::{CStr, CString};
use std::io;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

/// The directory, inside the key directory, that holds older versions.
pub(super) const VERSIONS_DIR: &CStr = c".versions";
/// Mode of the version directories.
const DIR_MODE: u32 = 0o700;

/// The version records of one key: the directory `.versions/<key_id>`.
pub(super) struct Versions {
    dir: Dir,
    path: PathBuf,
    id: String,
}

impl Versions {
    /// Opens the records of `id` in the key directory `root` (at
    /// `root_path`); `None` if there are none, unless `create` is set, in
    /// which case the directories are created (mode 0700) and made durable.
    pub fn open(root: &Dir, root_path: &Path, id: &str, create: bool) -> Result<Option<Versions>> {
        let Some(parent) = open_private_dir(root, root_path, VERSIONS_DIR, create)? else {
            return Ok(None);
        };
        let parent_path = join(root_path, VERSIONS_DIR);
        let name = CString::new(id)
            .map_err(|_| Error::new(ErrorKind::InvalidKeyId, "key id contains a NUL byte"))?;
        let Some(dir) = open_private_dir(&parent, &parent_path, &name, create)? else {
            return Ok(None);
        };
        Ok(Some(Versions {
            dir,
            path: join(&parent_path, &name),
            id: id.to_owned(),
        }))
    }

    /// The recorded version numbers, ascending. Names that are not a
    /// version number (such as a write in progress) are ignored.
    pub fn numbers(&self) -> Result<Vec<u32>> {
        let mut numbers = Vec::new();
        self.dir
            .for_each_entry(|name, _| numbers.extend(parse_version(name)))
            .map_err(|err| Error::io("cannot list versions in", &self.path, &err))?;
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// The record file of `version`.
    pub fn file(&self, version: u32) -> SecretFile<'_> {
        SecretFile {
            dir: &self.dir,
            dir_path: &self.path,
            name: FileName::new("", &version.to_string(), ""),
            label: Label::Version(&self.id, version),
        }
    }

    /// Reads `version`; `None` if it is not recorded.
    pub fn read(&self, version: u32) -> Result<Option<SecretBytes>> {
        self.file(version).read(effective_uid())
    }

    /// Records `bytes` as `version`, atomically and durably.
    pub fn write(&self, version: u32, bytes: &[u8]) -> Result<()> {
        self.file(version).write(bytes, Replace::Yes)
    }

    /// Removes the records of `versions` and makes that durable. Checks
    /// first that each can be removed, so that a refusal removes none.
    pub fn remove(&self, versions: &[u32]) -> Result<()> {
        let files: Vec<SecretFile<'_>> = versions.iter().map(|&v| self.file(v)).collect();
        for file in &files {
            self.check_removable_entry(&file.name)?;
        }
        for file in &files {
            remove_if_present(&self.dir, &self.path, &file.name)?;
        }
        sync_dir(&self.dir, &self.path)
    }

    /// Fails, changing nothing, if an entry of the directory could not be
    /// removed by [`Versions::remove_all`] (a subdirectory, say).
    pub fn check_removable(&self) -> Result<()> {
        for name in self.entry_names()? {
            self.check_removable_entry(&name)?;
        }
        Ok(())
    }

    fn check_removable_entry(&self, name: &CStr) -> Result<()> {
        match self.dir.stat_at(name) {
            Ok(st) if st.file_type() == libc::S_IFDIR => Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "'{}' is a directory where a version record belongs; nothing was removed",
                    join(&self.path, name).display()
                ),
            )),
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                Err(Error::io("cannot inspect", &join(&self.path, name), &err))
            }
            _ => Ok(()),
        }
    }

    fn entry_names(&self) -> Result<Vec<CString>> {
        let mut names = Vec::new();
        self.dir
            .for_each_entry(|name, _| {
                if name != b"." && name != b".." {
                    names.extend(CString::new(name));
                }
            })
            .map_err(|err| Error::io("cannot list versions in", &self.path, &err))?;
        Ok(names)
    }

    /// Removes every record (and any write in progress) and the directory.
    pub fn remove_all(self, root: &Dir, root_path: &Path) -> Result<()> {
        for name in &self.entry_names()? {
            remove_if_present(&self.dir, &self.path, name)?;
        }
        let parent_path = join(root_path, VERSIONS_DIR);
        let parent = root
            .open_dir(VERSIONS_DIR)
            .map_err(|err| Error::io("cannot open", &parent_path, &err))?;
        let name = CString::new(self.id.as_str()).unwrap_or_default();
        match parent.rmdir(&name) {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                return Err(Error::io("cannot remove", &self.path, &err));
            }
            _ => {}
        }
        sync_dir(&parent, &parent_path)
    }
}

/// The number of the current version, given the current key's bytes and
/// the records, and whether it is itself recorded.
///
/// A rotation records the version it replaces before it renames the new key
/// into place, so:
/// - no records: the key is version 1 (as written by the original module or
///   before versions existed);
/// - the highest record equals the current key: that is its number;
/// - otherwise the current key is one past the highest record (the key file
///   was replaced after the records were written: by a rotation, or by a
///   writer that knows nothing of versions).
pub(super) fn current_version(
    current: &[u8],
    highest: Option<(u32, &[u8])>,
) -> Result<(u32, bool)> {
    match highest {
        None => Ok((1, false)),
        Some((number, bytes)) if same_bytes(bytes, current) => Ok((number, true)),
        Some((number, _)) => number
            .checked_add(1)
            .map(|next| (next, false))
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "version numbers are exhausted")),
    }
}

/// Whether two keys are equal, in time independent of their content.
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A version number from a record name: decimal digits without a leading
/// zero, 1 to `u32::MAX`.
fn parse_version(name: &[u8]) -> Option<u32> {
    if name.first() == Some(&b'0') || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name)
        .ok()?
        .parse()
        .ok()
        .filter(|&n| n > 0)
}

/// Opens the subdirectory `name` of `parent`, refusing a symbolic link or a
/// directory that is not private to this user; creates it (mode 0700,
/// durably) when absent and `create` is set, else returns `None`.
fn open_private_dir(
    parent: &Dir,
    parent_path: &Path,
    name: &CStr,
    create: bool,
) -> Result<Option<Dir>> {
    let path = join(parent_path, name);
    let dir = match parent.open_dir(name) {
        Ok(dir) => dir,
        Err(err) if err.kind() == io::ErrorKind::NotFound && create => {
            match parent.create_exact(name, Entry::Directory, DIR_MODE) {
                Err(err) if err.kind() != io::ErrorKind::AlreadyExists => {
                    return Err(Error::io("cannot create", &path, &err));
                }
                _ => {}
            }
            let dir = parent
                .open_dir(name)
                .map_err(|err| refuse_open(&path, &err))?;
            sync_dir(parent, parent_path)?;
            dir
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(refuse_open(&path, &err)),
    };
    let st = dir
        .stat()
        .map_err(|err| Error::io("cannot inspect", &path, &err))?;
    let uid = effective_uid();
    if st.uid != uid || st.permissions() & 0o077 != 0 {
        return Err(Error::new(
            ErrorKind::InsecurePermissions,
            format!(
                "version directory '{}' must be owned by uid {uid} with mode 0700 (it is uid {}, mode {:04o})",
                path.display(),
                st.uid,
                st.permissions()
            ),
        ));
    }
    Ok(Some(dir))
}

fn refuse_open(path: &Path, err: &io::Error) -> Error {
    match err.raw_os_error() {
        Some(libc::ELOOP | libc::ENOTDIR) => Error::new(
            ErrorKind::InsecurePermissions,
            format!(
                "version directory '{}' is a symbolic link or not a directory",
                path.display()
            ),
        ),
        _ => Error::io("cannot open", path, err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_are_strict() {
        assert_eq!(parse_version(b"1"), Some(1));
        assert_eq!(parse_version(b"4294967295"), Some(u32::MAX));
        for bad in [
            &b""[..],
            b"0",
            b"01",
            b"4294967296",
            b".1.tmp",
            b"1a",
            b"-1",
            b"+1",
            b".",
        ] {
            assert_eq!(parse_version(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn current_version_follows_the_records() {
        assert_eq!(current_version(b"k", None).unwrap(), (1, false));
        assert_eq!(current_version(b"k", Some((3, b"k"))).unwrap(), (3, true));
        assert_eq!(
            current_version(b"new", Some((3, b"old"))).unwrap(),
            (4, false)
        );
        assert!(current_version(b"new", Some((u32::MAX, b"old"))).is_err());
    }
}
