//! The changes to one key of a private directory, each atomic and durable:
//! a crash at any instant leaves the old state or the new one. The caller
//! holds the key's lock.

use super::file::{Replace, remove_if_present, sync_dir};
use super::records::{digest, same_bytes};
use super::{DirBackend, RECORDED};
use crate::error::{Error, ErrorKind, Result};
use crate::store::backend::KeyView;
use crate::store::fs::{file_type, io_error, wrong_type};
use rustix::fs::{AtFlags, FileType};

impl DirBackend {
    /// Makes `bytes` version `to` and current, keeping the current version
    /// as a record that names its successor.
    pub(super) fn advance(&self, id: &str, base: &KeyView, to: u32, bytes: &[u8]) -> Result<()> {
        let key_file = self.key_file(id);
        // The new key file is written first: a full disk or a read-only file
        // system fails here, before anything has changed. A sealed key file
        // names its version, so it is rewritten even for the same bytes.
        let prepared = match same_bytes(bytes, &base.bytes) && !self.codec.seals() {
            true => None,
            false => Some(key_file.prepare(&self.codec.encode(id, to, bytes)?)?),
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
                // The plain key file already holds these bytes: the new
                // record is the whole rotation.
                None => history.write(to, false, bytes, None),
            });
        if committed.is_err() {
            history.undo(base.current, had_record);
        }
        committed
    }

    /// Adds the staged version `version`.
    pub(super) fn stage(&self, id: &str, base: &KeyView, version: u32, bytes: &[u8]) -> Result<()> {
        // Refused now rather than when it is promoted into the key file.
        self.codec.check_storable(id, bytes)?;
        let history = self.own_history(id, base)?;
        // The current version is recorded first, so that the staged record
        // belongs to this key's history from the start.
        if base.token.0 & RECORDED == 0 {
            history.write(base.current, false, &base.bytes, None)?;
        }
        history.write(version, true, bytes, None)?;
        self.renew_key_file(id, base)
    }

    /// Makes the staged version `version` current.
    pub(super) fn promote(&self, id: &str, base: &KeyView, version: u32) -> Result<()> {
        let staged = self
            .own_history(id, base)?
            .read(version, true)?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("key '{id}' has no staged version {version}"),
                )
            })?;
        self.advance(id, base, version, &staged.bytes)?;
        // The promoted version is current now; its staged copy is surplus
        // (and ignored if a crash leaves it).
        match self.history(id, false)? {
            Some(history) => history.remove(&[(version, true)], &[]),
            None => Ok(()),
        }
    }

    /// Rewrites the key file with the same key: a change that leaves the
    /// current version alone (a stage, a prune) still gives the key file a
    /// new identity, which is what keyrings watch.
    fn renew_key_file(&self, id: &str, base: &KeyView) -> Result<()> {
        let file = self.codec.encode(id, base.current, &base.bytes)?;
        self.key_file(id).write(&file, Replace::Yes)
    }

    /// Removes retained or staged versions.
    pub(super) fn remove(&self, id: &str, base: &KeyView, versions: &[u32]) -> Result<()> {
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
        history.remove(&doomed, &listing.temporaries)?;
        self.renew_key_file(id, base)
    }

    /// Writes version 1 of a key that does not exist, after removing any
    /// records an earlier key of that id left.
    pub(super) fn create(&self, id: &str, bytes: &[u8], replace: bool) -> Result<()> {
        self.remove_history(id)?;
        let replace = if replace { Replace::Yes } else { Replace::No };
        self.key_file(id)
            .write(&self.codec.encode(id, 1, bytes)?, replace)
    }

    /// Writes a key that does not exist with exactly `versions`: every
    /// record first (the current one too, so the key file stands recorded),
    /// then the key file, the commit point. Until then the records belong
    /// to no key file and are ignored; a failure removes them.
    pub(super) fn import(&self, id: &str, versions: &[(u32, &[u8])], current: u32) -> Result<()> {
        // The current key and the staged ones may become the key file.
        for &(_, bytes) in versions.iter().filter(|&&(v, _)| v >= current) {
            self.codec.check_storable(id, bytes)?;
        }
        self.remove_history(id)?;
        let written = self.history(id, true)?.ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                format!("the version directory of key '{id}' vanished"),
            )
        });
        let committed = written.and_then(|history| {
            for &(version, bytes) in versions {
                history.write(version, version > current, bytes, None)?;
            }
            let key = versions
                .iter()
                .find(|&&(v, _)| v == current)
                .map_or(&[][..], |&(_, b)| b);
            self.key_file(id)
                .write(&self.codec.encode(id, current, key)?, Replace::No)
        });
        if committed.is_err() {
            // Best effort: records without a key file are ignored anyway.
            let _ = self.remove_history(id);
        }
        committed
    }

    /// Removes the key file (the commit point), then every record.
    pub(super) fn delete(&self, id: &str) -> Result<()> {
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
        // From here on the key does not exist, and records left by a kill
        // belong to nothing.
        rustix::fs::unlinkat(&self.dir, &*key_file.name, AtFlags::empty())
            .map_err(|errno| io_error("cannot remove", &key_file.path(), errno))?;
        remove_if_present(&self.dir, self.path(), &key_file.temp)?;
        sync_dir(&self.dir, self.path())?;
        match history {
            Some(history) => history.remove_all(&self.dir, self.path()),
            None => Ok(()),
        }
    }

    /// Rewrites, sealed under the current KEK, every file of `id` that is
    /// plain or sealed under a previous KEK: records first, the key file
    /// last, each atomically. Returns how many files it rewrote.
    pub(super) fn seal_key(&self, id: &str, base: &KeyView) -> Result<usize> {
        if !self.codec.seals() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "cannot seal '{}': the key store was opened without a KEK",
                    self.location
                ),
            ));
        }
        let mut count = 0;
        if let Some(history) = self.history(id, false)?
            && base.token.0 & super::STRAY_RECORDS == 0
        {
            count += history.seal_records(base)?;
        }
        let key_file = self.key_file(id);
        if let Some((raw, _)) = key_file.read(self.uid)?
            && self.codec.needs_sealing(&raw)
        {
            key_file.write(
                &self.codec.encode(id, base.current, &base.bytes)?,
                Replace::Yes,
            )?;
            count += 1;
        }
        Ok(count)
    }
}
