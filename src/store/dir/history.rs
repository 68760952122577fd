//! The record directory of one key, `.versions/<key_id>`: opened with the
//! same privacy checks as the key directory, created with mode 0700, read,
//! written and emptied.

use super::file::{Replace, SecretFile, remove_if_present, sync_dir};
use super::open::{DIR_MODE, make_dir, open_new_dir};
use super::records::{Entry, Malformed, Record, decode, digest, encode, parse_entry};
use crate::error::{Error, ErrorKind, Result};
use crate::seal::MAX_SEALED_LEN;
use crate::store::backend::KeyView;
use crate::store::codec::{Codec, check_key_len};
use crate::store::fs::{FileName, Label, file_type, for_each_name, io_error, join, permissions};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The directory, inside the key directory, that holds older versions.
pub(super) const VERSIONS_DIR: &CStr = c".versions";

/// The record directory of one key.
pub(super) struct History<'a> {
    dir: OwnedFd,
    path: PathBuf,
    id: &'a str,
    uid: u32,
    codec: &'a Codec,
    /// The directory was made by this call (and is empty but for what the
    /// call writes).
    created: bool,
}

/// The records a key has, by kind, ascending.
#[derive(Debug, Default)]
pub(super) struct Listing {
    pub retained: Vec<u32>,
    pub staged: Vec<u32>,
    /// Names of records being written or left by killed writers.
    pub temporaries: Vec<CString>,
}

impl<'a> History<'a> {
    /// Opens the records of `id` in the key directory `root` (at
    /// `root_path`); `None` if there are none, unless `create` is set, in
    /// which case the directories are made (mode 0700) and made durable.
    pub fn open(
        root: &OwnedFd,
        root_path: &Path,
        id: &'a str,
        codec: &'a Codec,
        create: bool,
    ) -> Result<Option<History<'a>>> {
        let uid = rustix::process::geteuid().as_raw();
        let Some((parent, _)) = open_private_dir(root, root_path, VERSIONS_DIR, create, uid)?
        else {
            return Ok(None);
        };
        let parent_path = join(root_path, VERSIONS_DIR);
        let name = FileName::new("", id, "");
        let Some((dir, created)) = open_private_dir(&parent, &parent_path, &name, create, uid)?
        else {
            return Ok(None);
        };
        Ok(Some(History {
            dir,
            path: join(&parent_path, &name),
            id,
            uid,
            codec,
            created,
        }))
    }

    /// The file of a retained (`staged == false`) or staged record.
    pub fn file(&self, version: u32, staged: bool) -> SecretFile<'_> {
        let number = version.to_string();
        let suffix = if staged { ".staged" } else { "" };
        SecretFile {
            dir: &self.dir,
            dir_path: &self.path,
            name: FileName::new("", &number, suffix),
            temp: FileName::new(".", &number, if staged { ".staged.tmp" } else { ".tmp" }),
            label: Label::Version(self.id, version),
            max_len: MAX_SEALED_LEN,
        }
    }

    /// The records there are.
    pub fn list(&self) -> Result<Listing> {
        let mut listing = Listing::default();
        for_each_name(&self.dir, &self.path, |name| match parse_entry(name) {
            Some(Entry::Retained(n)) => listing.retained.push(n),
            Some(Entry::Staged(n)) => listing.staged.push(n),
            Some(Entry::Temporary) => listing.temporaries.extend(CString::new(name)),
            None => {}
        })?;
        listing.retained.sort_unstable();
        listing.staged.sort_unstable();
        Ok(listing)
    }

    /// Reads a record; `None` if it is absent.
    pub fn read(&self, version: u32, staged: bool) -> Result<Option<Record>> {
        let file = self.file(version, staged);
        let Some((raw, _)) = file.read(self.uid)? else {
            return Ok(None);
        };
        let what = file.describe();
        let decoded = self.codec.decode(self.id, Some(version), raw, &what)?;
        let record = decode(decoded.bytes, version).map_err(|why| {
            let why = match why {
                Malformed::Header => "has a damaged record header".to_string(),
                Malformed::Version(other) => format!("holds the record of version {other}"),
            };
            Error::new(ErrorKind::Corrupt, format!("{what} {why}"))
        })?;
        check_key_len(&what, &record.bytes)?;
        Ok(Some(record))
    }

    /// Rewrites, sealed under the current KEK, every record that is plain
    /// or sealed under a previous one. The highest record below the
    /// current version also gets the successor binding, if a 1.0 record
    /// lacks it. Returns how many it rewrote.
    pub fn seal_records(&self, base: &KeyView) -> Result<usize> {
        let listing = self.list()?;
        let highest = listing
            .retained
            .iter()
            .copied()
            .filter(|&v| v < base.current)
            .max();
        let entries = listing
            .retained
            .iter()
            .map(|&v| (v, false))
            .chain(listing.staged.iter().map(|&v| (v, true)));
        let mut count = 0;
        for (version, staged) in entries {
            let Some((raw, _)) = self.file(version, staged).read(self.uid)? else {
                continue;
            };
            let Some(record) = self.read(version, staged)? else {
                continue;
            };
            let binds = !staged && Some(version) == highest && record.successor.is_none();
            if !self.codec.needs_sealing(&raw) && !binds {
                continue;
            }
            let current_digest = digest(&base.bytes);
            let successor = match binds {
                true => Some((base.current, &current_digest)),
                false => record.successor.as_ref().map(|(next, d)| (*next, d)),
            };
            self.write(version, staged, &record.bytes, successor)?;
            count += 1;
        }
        Ok(count)
    }

    /// Whether a record exists.
    pub fn contains(&self, version: u32, staged: bool) -> Result<bool> {
        Ok(self.file(version, staged).stat()?.is_some())
    }

    /// Writes a record atomically and durably.
    pub fn write(
        &self,
        version: u32,
        staged: bool,
        key: &[u8],
        successor: Option<(u32, &[u8; 32])>,
    ) -> Result<()> {
        let file = self
            .codec
            .encode(self.id, version, &encode(version, key, successor))?;
        self.file(version, staged).write(&file, Replace::Yes)
    }

    /// Takes back what a failed write of the record of `version` left: the
    /// record if it did not exist before, and the directory if this call
    /// made it. Best effort: the failure being reported matters more, and
    /// a leftover record changes no version.
    pub fn undo(&self, version: u32, had_record: bool) {
        if !had_record {
            let _ = rustix::fs::unlinkat(
                &self.dir,
                &*self.file(version, false).name,
                AtFlags::empty(),
            );
        }
        if self.created {
            let parent_path = self.path.parent().unwrap_or(&self.path);
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            if let Ok(parent) = rustix::fs::openat(&self.dir, c"..", flags, Mode::empty()) {
                let _ = rustix::fs::unlinkat(
                    &parent,
                    &*FileName::new("", self.id, ""),
                    AtFlags::REMOVEDIR,
                );
                let _ = sync_dir(&parent, parent_path);
            }
        }
    }

    /// Removes these records (and the temporaries left by killed writers)
    /// and makes that durable. Checks first that each can be removed, so
    /// that a refusal removes none.
    pub fn remove(&self, versions: &[(u32, bool)], temporaries: &[CString]) -> Result<()> {
        let files: Vec<SecretFile<'_>> = versions
            .iter()
            .map(|&(v, staged)| self.file(v, staged))
            .collect();
        for file in &files {
            self.check_removable(&file.name)?;
        }
        for file in &files {
            remove_if_present(&self.dir, &self.path, &file.name)?;
        }
        for name in temporaries {
            remove_if_present(&self.dir, &self.path, name)?;
        }
        sync_dir(&self.dir, &self.path)
    }

    /// Fails, changing nothing, if an entry could not be removed by
    /// [`History::remove_all`] (a subdirectory, say).
    pub fn check_all_removable(&self) -> Result<()> {
        for name in self.entry_names()? {
            self.check_removable(&name)?;
        }
        Ok(())
    }

    fn check_removable(&self, name: &CStr) -> Result<()> {
        match rustix::fs::statat(&self.dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if file_type(&st) == FileType::Directory => Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "'{}' is a directory where a version record belongs; nothing was removed",
                    join(&self.path, name).display()
                ),
            )),
            Ok(_) | Err(Errno::NOENT) => Ok(()),
            Err(errno) => Err(io_error("cannot inspect", &join(&self.path, name), errno)),
        }
    }

    fn entry_names(&self) -> Result<Vec<CString>> {
        let mut names = Vec::new();
        for_each_name(&self.dir, &self.path, |name| {
            if name != b"." && name != b".." {
                names.extend(CString::new(name));
            }
        })?;
        Ok(names)
    }

    /// Removes every record (and every write in progress) and the
    /// directory, durably.
    pub fn remove_all(self, root: &OwnedFd, root_path: &Path) -> Result<()> {
        for name in &self.entry_names()? {
            remove_if_present(&self.dir, &self.path, name)?;
        }
        let parent_path = join(root_path, VERSIONS_DIR);
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let parent = rustix::fs::openat(root, VERSIONS_DIR, flags, Mode::empty())
            .map_err(|errno| io_error("cannot open", &parent_path, errno))?;
        match rustix::fs::unlinkat(
            &parent,
            &*FileName::new("", self.id, ""),
            AtFlags::REMOVEDIR,
        ) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(errno) => return Err(io_error("cannot remove", &self.path, errno)),
        }
        sync_dir(&parent, &parent_path)
    }
}

/// Opens the subdirectory `name` of `parent`, refusing a symbolic link or
/// a directory that is not private to this user; creates it (mode 0700,
/// durably) when absent and `create` is set, else returns `None`. A
/// directory of this user whose mode a umask narrowed below 0700 (just
/// made, or left by a writer killed before it fixed the mode) gets 0700
/// through its descriptor.
fn open_private_dir(
    parent: &OwnedFd,
    parent_path: &Path,
    name: &CStr,
    create: bool,
    uid: u32,
) -> Result<Option<(OwnedFd, bool)>> {
    let path = join(parent_path, name);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut created = false;
    let dir = match rustix::fs::openat(parent, name, flags, Mode::empty()) {
        Ok(dir) => dir,
        Err(Errno::NOENT) if create => {
            let name = OsStr::from_bytes(name.to_bytes());
            if make_dir(parent, name, &path)? {
                created = true;
                let dir = open_new_dir(parent, name, &path)?;
                sync_dir(parent, parent_path)?;
                dir
            } else {
                rustix::fs::openat(parent, name, flags, Mode::empty())
                    .map_err(|errno| refuse_open(&path, errno))?
            }
        }
        Err(Errno::NOENT) => return Ok(None),
        Err(errno) => return Err(refuse_open(&path, errno)),
    };
    let st = rustix::fs::fstat(&dir).map_err(|errno| io_error("cannot inspect", &path, errno))?;
    let mode = permissions(&st);
    if st.st_uid != uid || mode & 0o077 != 0 {
        return Err(Error::new(
            ErrorKind::InsecurePermissions,
            format!(
                "version directory '{}' must be owned by uid {uid} with mode 0700 (it is uid {}, mode {mode:04o})",
                path.display(),
                st.st_uid
            ),
        ));
    }
    // A writer killed between making a directory and setting its mode
    // leaves it empty with the mode the umask gave (0500 under umask 0277):
    // a writer completes it. A directory with records that someone made
    // read-only stays as it is, and writes into it fail.
    if mode != 0o700 && create && is_empty(&dir, &path)? {
        rustix::fs::fchmod(&dir, DIR_MODE)
            .map_err(|errno| io_error("cannot set mode 0700 on", &path, errno))?;
    }
    Ok(Some((dir, created)))
}

/// Whether the directory `dir` has no entries.
fn is_empty(dir: &OwnedFd, path: &Path) -> Result<bool> {
    let mut empty = true;
    for_each_name(dir, path, |name| empty &= name == b"." || name == b"..")?;
    Ok(empty)
}

/// Makes `.versions` (mode 0700) when a writable key directory is opened,
/// so that no write has to create a directory that other keys share. Best
/// effort: a directory this user cannot write gets none, and a write makes
/// it if it is missing.
pub(super) fn make_versions_dir(root: &OwnedFd, root_path: &Path) {
    let uid = rustix::process::geteuid().as_raw();
    let _ = open_private_dir(root, root_path, VERSIONS_DIR, true, uid);
}

fn refuse_open(path: &Path, errno: Errno) -> Error {
    match errno {
        Errno::LOOP | Errno::NOTDIR => Error::new(
            ErrorKind::InsecurePermissions,
            format!(
                "version directory '{}' is a symbolic link or not a directory",
                path.display()
            ),
        ),
        _ => io_error("cannot open", path, errno),
    }
}
