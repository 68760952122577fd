//! The private directory: one file per key in a directory this user owns,
//! with older and staged versions kept aside.
//!
//! ```text
//! <key_dir>/                    mode 0700, owned by the user
//!   <key_id>.key                the current version's raw bytes, mode 0600
//!   .<key_id>.key.tmp           a write in progress (or left by a killed
//!                               writer: replaced by the next write, removed
//!                               by the next open)
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
mod records;
mod sweep;

use super::backend::{Backend, Change, KeyView, Token, WriteLock};
use super::fs::{FileName, Label, file_type, for_each_name, wrong_type};
use super::key_id::is_valid_key_id;
use super::{Location, MAX_KEY_LEN, OpenOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::secret::SecretBytes;
use file::{Replace, SecretFile, remove_if_present, sync_dir};
use history::{History, Listing};
use records::{Standing, digest, same_bytes, standing};
use rustix::fs::{AtFlags, FileType};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Duration;

/// Token bit: the current version has a record of its own.
const RECORDED: u64 = 1;
/// Token bit: records are present that do not belong to the key file.
const STRAY_RECORDS: u64 = 2;

/// How often a reader tries again when writers keep replacing the key file
/// while it reads.
const READ_ATTEMPTS: usize = 100;

/// A private key directory, opened once.
#[derive(Debug)]
pub(crate) struct DirBackend {
    dir: OwnedFd,
    location: Location,
    uid: u32,
    read_only: bool,
    lock_timeout: Option<Duration>,
}

impl DirBackend {
    /// Opens (and unless read-only, creates) the key directory `path`.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<DirBackend> {
        let opened = open::open_private_dir(path, !options.read_only)?;
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
            max_len: MAX_KEY_LEN,
        }
    }

    fn history<'a>(&self, id: &'a str, create: bool) -> Result<Option<History<'a>>> {
        History::open(&self.dir, self.path(), id, create)
    }

    /// The record directory of `id`, created if needed, with any records
    /// that do not belong to the key removed first.
    fn own_history<'a>(&self, id: &'a str, base: &KeyView) -> Result<History<'a>> {
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

    /// Removes records that belong to no key file, if no writer of `id` is
    /// busy (a writer removes them itself). Best effort: until then they
    /// are ignored.
    fn remove_stray_records(&self, id: &str) {
        if self.read_only {
            return;
        }
        let Ok(Some(_lock)) = lock::try_lock_key(&self.dir, self.path(), id) else {
            return;
        };
        if let Ok(Some(Some(view))) = self.try_load(id) {
            if view.token.0 & STRAY_RECORDS != 0 {
                let _ = self.remove_history(id);
            }
        }
    }

    /// Reads the key file and its records once; `None` from the inner
    /// option when a writer changed them meanwhile.
    fn try_load(&self, id: &str) -> Result<Option<Option<KeyView>>> {
        let file = self.key_file(id);
        let Some((bytes, opened)) = file.read(self.uid)? else {
            return Ok(Some(None));
        };
        let history = self.history(id, false)?;
        let (listing, highest) = match &history {
            None => (Listing::default(), None),
            Some(history) => {
                let listing = match history.list() {
                    Ok(listing) => listing,
                    // The records vanished with a delete since the key was read.
                    Err(_) if !file.still_names(&opened)? => return Ok(None),
                    Err(err) => return Err(err),
                };
                let highest = match listing.retained.last() {
                    Some(&number) => match history.read(number, false)? {
                        Some(record) => Some((number, record)),
                        // Pruned since it was listed: look again.
                        None => return Ok(None),
                    },
                    None => None,
                };
                (listing, highest)
            }
        };
        let standing = standing(&bytes, highest.as_ref().map(|(n, record)| (*n, record)));
        if !file.still_names(&opened)? {
            return Ok(None);
        }
        Ok(Some(Some(view(
            bytes,
            standing,
            listing,
            history.is_some(),
        ))))
    }

    fn advance(&self, id: &str, base: &KeyView, to: u32, bytes: &[u8]) -> Result<()> {
        let key_file = self.key_file(id);
        // The new key is written first: a full disk or a read-only file
        // system fails here, before anything has changed.
        let prepared = match same_bytes(bytes, &base.bytes) {
            true => None,
            false => Some(key_file.prepare(bytes)?),
        };
        let history = self.own_history(id, base)?;
        let had_record = history.contains(base.current, false)?;
        // Recorded before the commit: a crash after this leaves the old
        // state, complete, and the record names the key that replaces it.
        let committed = history
            .write(base.current, false, &base.bytes, Some((to, &digest(bytes))))
            .and_then(|()| match prepared {
                // The commit point: once renamed, the key file is the
                // successor the record names.
                Some(prepared) => prepared.commit(Replace::Yes),
                // The key file already holds these bytes: the new record is
                // the whole rotation.
                None => history.write(to, false, bytes, None),
            });
        if committed.is_err() {
            history.undo(base.current, had_record);
        }
        committed
    }

    fn stage(&self, id: &str, base: &KeyView, version: u32, bytes: &[u8]) -> Result<()> {
        let history = self.own_history(id, base)?;
        // The current version is recorded first, so that the staged record
        // belongs to this key's history from the start.
        if base.token.0 & RECORDED == 0 {
            history.write(base.current, false, &base.bytes, None)?;
        }
        history.write(version, true, bytes, None)
    }

    fn promote(&self, id: &str, base: &KeyView, version: u32) -> Result<()> {
        let history = self.own_history(id, base)?;
        let staged = history.read(version, true)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("key '{id}' has no staged version {version}"),
            )
        })?;
        drop(history);
        self.advance(id, base, version, &staged.bytes)?;
        // The promoted version is current now; its staged copy is surplus
        // (and ignored if a crash leaves it).
        match self.history(id, false)? {
            Some(history) => history.remove(&[(version, true)], &[]),
            None => Ok(()),
        }
    }

    fn remove(&self, id: &str, base: &KeyView, versions: &[u32]) -> Result<()> {
        if versions.is_empty() {
            return Ok(());
        }
        let history = self.own_history(id, base)?;
        // The current version's number follows from the highest record, so
        // it must be recorded before older records go.
        if base.token.0 & RECORDED == 0 {
            history.write(base.current, false, &base.bytes, None)?;
        }
        let listing = history.list()?;
        let doomed: Vec<(u32, bool)> = versions
            .iter()
            .map(|&v| (v, base.staged.binary_search(&v).is_ok()))
            .collect();
        history.remove(&doomed, &listing.temporaries)
    }

    fn create(&self, id: &str, bytes: &[u8], replace: bool) -> Result<()> {
        self.remove_history(id)?;
        let replace = if replace { Replace::Yes } else { Replace::No };
        self.key_file(id).write(bytes, replace)
    }

    fn delete(&self, id: &str) -> Result<()> {
        let key_file = self.key_file(id);
        match key_file.stat()? {
            None => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("key '{id}' not found in '{}'", self.location),
                ));
            }
            Some(st) if file_type(&st) == FileType::Directory => {
                return Err(wrong_type(
                    key_file.label,
                    &key_file.path(),
                    FileType::Directory,
                ));
            }
            Some(_) => {}
        }
        // Refuse records that could not be removed before changing anything.
        let history = self.history(id, false)?;
        if let Some(history) = &history {
            history.check_all_removable()?;
        }
        // Removing the key file is the commit point: from here on the key
        // does not exist, and records left by a kill belong to nothing.
        rustix::fs::unlinkat(&self.dir, &*key_file.name, AtFlags::empty())
            .map_err(|errno| super::fs::io_error("cannot remove", &key_file.path(), errno))?;
        remove_if_present(&self.dir, self.path(), &key_file.temp)?;
        sync_dir(&self.dir, self.path())?;
        match history {
            Some(history) => history.remove_all(&self.dir, self.path()),
            None => Ok(()),
        }
    }
}

/// The key id in a key file's temporary name, `.<id>.key.tmp`.
fn key_id_of_temp(name: &[u8]) -> Option<&str> {
    let id = name.strip_prefix(b".")?.strip_suffix(b".key.tmp")?;
    is_valid_key_id(id)
        .then(|| std::str::from_utf8(id).ok())
        .flatten()
}

/// The view of a key from its file's bytes and where it stands.
fn view(bytes: SecretBytes, standing: Standing, listing: Listing, has_records: bool) -> KeyView {
    let current = standing.current();
    let applies = standing.records_apply();
    let mut token = 0;
    if matches!(standing, Standing::Recorded(_)) {
        token |= RECORDED;
    }
    if has_records && !applies {
        token |= STRAY_RECORDS;
    }
    let (retained, staged) = match applies {
        true => (
            listing
                .retained
                .into_iter()
                .filter(|&v| v < current)
                .collect(),
            listing
                .staged
                .into_iter()
                .filter(|&v| v != current)
                .collect(),
        ),
        false => (Vec::new(), Vec::new()),
    };
    KeyView {
        current,
        bytes,
        retained,
        staged,
        token: Token(token),
        snapshot: None,
    }
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
        for _ in 0..READ_ATTEMPTS {
            if let Some(view) = self.try_load(id)? {
                if view
                    .as_ref()
                    .is_some_and(|view| view.token.0 & STRAY_RECORDS != 0)
                {
                    self.remove_stray_records(id);
                }
                return Ok(view);
            }
        }
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "key '{id}' changed {READ_ATTEMPTS} times while its version was read; try again"
            ),
        ))
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

    fn commit(&self, id: &str, base: Option<&KeyView>, change: Change<'_>) -> Result<()> {
        let base_view = || {
            base.ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("key '{id}' not found in '{}'", self.location),
                )
            })
        };
        match change {
            Change::Create { bytes, replace } => self.create(id, bytes, replace)?,
            Change::Advance { to, bytes } => self.advance(id, base_view()?, to, bytes)?,
            Change::Stage { version, bytes } => self.stage(id, base_view()?, version, bytes)?,
            Change::Promote { version } => self.promote(id, base_view()?, version)?,
            Change::Remove { versions } => self.remove(id, base_view()?, &versions)?,
            Change::Delete => self.delete(id)?,
        }
        Ok(())
    }

    fn sweep(&self) {
        sweep::sweep(self);
    }
}
