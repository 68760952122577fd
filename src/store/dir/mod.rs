//! The private directory: one file per key in a directory this user owns,
//! with older and staged versions kept aside.
//!
//! ```text
//! <key_dir>/                    mode 0700, owned by the user
//!   <key_id>.key                the current version: raw bytes (the
//!                               original layout) or sealed, mode 0600
//!   .<key_id>.key.tmp           a write in progress (or left by a killed
//!                               writer: removed by the next open)
//!   .lock                       writers of a key lock one byte of it
//!   .versions/<key_id>/<n>      the record of version n (mode 0600, dirs 0700)
//!   .versions/<key_id>/<n>.staged  a staged version
//! ```
//!
//! Every operation is relative to the directory descriptor opened once;
//! no path is resolved again later.

mod file;
mod history;
mod lock;
mod open;
mod reads;
mod records;
mod sweep;
mod writes;

/// The digest that binds a version record to the key replacing it, for the
/// stack-depth measurement.
#[cfg(test)]
pub(crate) use records::digest as successor_digest;

use super::backend::{Backend, Change, Commit, KeyView, WriteLock};
use super::codec::Codec;
use super::fs::{FileName, Label, file_type, for_each_name, wrong_type};
use super::key_id::is_valid_key_id;
use super::options::KekSource;
use super::{Location, OpenOptions};
use crate::error::{Argument, Error, ErrorKind, Result};
use crate::keyring::Marker;
use crate::seal::MAX_SEALED_LEN;
use crate::secret::SecretBytes;
use file::SecretFile;
use history::History;
use rustix::fs::{AtFlags, FileType};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Duration;

/// Token bit: the current version has a record of its own.
const RECORDED: u64 = 1;
/// Token bit: records are present that do not belong to the key file.
const STRAY_RECORDS: u64 = 2;

/// A private key directory, opened once.
#[derive(Debug)]
pub(crate) struct DirBackend {
    dir: OwnedFd,
    location: Location,
    uid: u32,
    read_only: bool,
    lock_timeout: Option<Duration>,
    codec: Codec,
}

impl DirBackend {
    /// Opens (and unless read-only, creates) the key directory `path`.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<DirBackend> {
        let opened = open::open_private_dir(path, !options.read_only)?;
        check_kek_elsewhere(&opened.fd, options)?;
        let codec = Codec::new(options)?;
        if !options.read_only {
            // Made now, so that a failing write later leaves the directory
            // as it was. A directory this user cannot write has neither:
            // reading needs no lock there, and writing fails anyway.
            match lock::open_lock_file(&opened.fd, &opened.path) {
                Err(err) if err.kind() == ErrorKind::InsecurePermissions => return Err(err),
                _ => {}
            }
            history::make_versions_dir(&opened.fd, &opened.path);
        }
        Ok(DirBackend {
            dir: opened.fd,
            location: Location::Dir(opened.path),
            uid: rustix::process::geteuid().as_raw(),
            read_only: options.read_only,
            lock_timeout: options.lock_timeout,
            codec,
        })
    }

    fn path(&self) -> &Path {
        self.location.path()
    }

    /// The key file of `id`.
    fn key_file<'a>(&'a self, id: &'a str) -> SecretFile<'a> {
        SecretFile {
            dir: &self.dir,
            dir_path: self.path(),
            name: FileName::new("", id, ".key"),
            temp: FileName::new(".", id, ".key.tmp"),
            label: Label::Key(id),
            max_len: MAX_SEALED_LEN,
        }
    }

    fn history<'a>(&'a self, id: &'a str, create: bool) -> Result<Option<History<'a>>> {
        History::open(&self.dir, self.path(), id, &self.codec, create)
    }

    /// The record directory of `id`, created if needed, with any records
    /// that do not belong to the key removed first.
    fn own_history<'a>(&'a self, id: &'a str, base: &KeyView) -> Result<History<'a>> {
        if base.token.0 & STRAY_RECORDS != 0 {
            self.remove_history(id)?;
        }
        self.history(id, true)?.ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                format!("the version directory of key '{id}' vanished"),
            )
        })
    }

    fn remove_history(&self, id: &str) -> Result<()> {
        match self.history(id, false)? {
            Some(history) => {
                history.check_all_removable()?;
                history.remove_all(&self.dir, self.path())
            }
            None => Ok(()),
        }
    }
}

/// Refuses a KEK file kept in the key directory it protects: a copy of the
/// directory would carry the key to open every file in it.
fn check_kek_elsewhere(dir: &OwnedFd, options: &OpenOptions) -> Result<()> {
    let Some(KekSource::File(kek)) = &options.kek else {
        return Ok(());
    };
    let parent = kek
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let (Ok(here), Ok(there)) = (rustix::fs::fstat(dir), rustix::fs::stat(parent)) else {
        return Ok(());
    };
    if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino) {
        return Err(Error::invalid(
            Argument::Location,
            format!(
                "the KEK file '{}' is inside the key directory it protects; keep it elsewhere",
                kek.display()
            ),
        ));
    }
    Ok(())
}

/// The key id in a key file's temporary name, `.<id>.key.tmp`.
fn key_id_of_temp(name: &[u8]) -> Option<&str> {
    let id = name.strip_prefix(b".")?.strip_suffix(b".key.tmp")?;
    is_valid_key_id(id)
        .then(|| std::str::from_utf8(id).ok())
        .flatten()
}

impl Backend for DirBackend {
    fn location(&self) -> &Location {
        &self.location
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn list(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut stat_error = None;
        for_each_name(&self.dir, self.path(), |name| {
            let Some(id) = name.strip_suffix(b".key").filter(|id| is_valid_key_id(id)) else {
                return;
            };
            match rustix::fs::statat(&self.dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if file_type(&st) == FileType::RegularFile => {
                    ids.push(String::from_utf8_lossy(id).into_owned());
                }
                Err(errno) if errno != rustix::io::Errno::NOENT => {
                    stat_error.get_or_insert(errno);
                }
                _ => {}
            }
        })?;
        match stat_error {
            Some(errno) => Err(super::fs::io_error(
                "cannot list key directory",
                self.path(),
                errno,
            )),
            None => Ok(ids),
        }
    }

    fn exists(&self, id: &str) -> Result<bool> {
        let file = self.key_file(id);
        match file.stat()? {
            None => Ok(false),
            Some(st) if file_type(&st) == FileType::RegularFile => Ok(true),
            Some(st) => Err(wrong_type(file.label, &file.path(), file_type(&st))),
        }
    }

    fn load(&self, id: &str) -> Result<Option<KeyView>> {
        self.load_view(id)
    }

    fn load_current(&self, id: &str) -> Result<Option<SecretBytes>> {
        self.load_current_bytes(id)
    }

    fn versions(&self, id: &str) -> Result<Option<super::backend::VersionList>> {
        self.list_versions(id)
    }

    fn read_version(&self, id: &str, view: &KeyView, version: u32) -> Result<Option<SecretBytes>> {
        let Some(history) = self.history(id, false)? else {
            return Ok(None);
        };
        let staged = view.staged.binary_search(&version).is_ok();
        Ok(history.read(version, staged)?.map(|record| record.bytes))
    }

    fn lock(&self, id: &str) -> Result<Box<dyn WriteLock + '_>> {
        Ok(Box::new(lock::lock_key(
            &self.dir,
            self.path(),
            id,
            self.lock_timeout,
        )?))
    }

    fn commit(&self, id: &str, base: Option<&KeyView>, change: Change<'_>) -> Result<Commit> {
        let base_view = || {
            base.ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("key '{id}' not found in '{}'", self.location),
                )
            })
        };
        match change {
            Change::Create { bytes, replace } => self.create(id, bytes, replace),
            Change::Import { versions, current } => self.import(id, versions, current),
            Change::Advance { to, bytes } => self.advance(id, base_view()?, to, bytes),
            Change::Stage { version, bytes } => self.stage(id, base_view()?, version, bytes),
            Change::Promote { version } => self.promote(id, base_view()?, version),
            Change::Remove { versions } => self.remove(id, base_view()?, &versions),
            Change::Delete => self.delete(id),
        }
        .map(|()| Commit::Done)
    }

    fn marker(&self, id: &str) -> Result<Marker> {
        self.key_marker(id)
    }

    fn seal_files(&self, id: &str, base: &KeyView) -> Result<usize> {
        self.seal_key(id, base)
    }

    fn sweep(&self) {
        sweep::sweep(self);
    }
}
