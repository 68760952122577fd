//! Reading one key of a private directory consistently, without a lock:
//! the key file, then its records, then a check that the key file is still
//! the file that was read.

use super::history::Listing;
use super::records::{Standing, standing};
use super::{DirBackend, RECORDED, STRAY_RECORDS, lock};
use crate::error::{Error, ErrorKind, Result};
use crate::keyring::Marker;
use crate::secret::SecretBytes;
use crate::store::backend::{KeyView, Token, VersionList};
use crate::store::codec::check_key_len;

/// How often a reader tries again when writers keep replacing the key file
/// while it reads.
const READ_ATTEMPTS: usize = 100;

impl DirBackend {
    /// A consistent view of `id`, read again while writers change it.
    pub(super) fn load_view(&self, id: &str) -> Result<Option<KeyView>> {
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

    /// The current key of `id`. Damaged or tampered version records do not
    /// keep a plain key file (or one sealed as version 1) from being used:
    /// the key file alone is the current key, as release 1.0 read it. A
    /// key file sealed as a later version is refused with the records'
    /// error, since only they show it is not an older key put back.
    pub(super) fn load_current_bytes(&self, id: &str) -> Result<Option<SecretBytes>> {
        let unreadable_records = match self.load_view(id) {
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::InsecurePermissions | ErrorKind::Corrupt
                ) =>
            {
                err
            }
            other => return other.map(|view| view.map(|view| view.bytes)),
        };
        let file = self.key_file(id);
        let Some((raw, _)) = file.read(self.uid)? else {
            return Ok(None);
        };
        let what = file.describe();
        let decoded = self.codec.decode(id, None, raw, &what)?;
        check_key_len(&what, &decoded.bytes)?;
        match decoded.sealed_as {
            None | Some(1) => Ok(Some(decoded.bytes)),
            Some(_) => Err(unreadable_records),
        }
    }

    /// The version numbers of `id`. A sealed key file says which version
    /// it holds in its header, so they are known without the KEK.
    pub(super) fn list_versions(&self, id: &str) -> Result<Option<VersionList>> {
        let file = self.key_file(id);
        let Some((raw, _)) = file.read(self.uid)? else {
            return Ok(None);
        };
        let Some(claimed) = self.codec.claimed_version(id, &raw)? else {
            return Ok(self.load_view(id)?.map(VersionList::from));
        };
        if self.codec.can_unseal(&raw) {
            return Ok(self.load_view(id)?.map(VersionList::from));
        }
        let listing = match self.history(id, false)? {
            Some(history) => history.list()?,
            None => Listing::default(),
        };
        Ok(Some(VersionList {
            current: claimed,
            retained: listing
                .retained
                .into_iter()
                .filter(|&v| v < claimed)
                .collect(),
            staged: listing
                .staged
                .into_iter()
                .filter(|&v| v != claimed)
                .collect(),
        }))
    }

    /// The change marker of `id`: the key file's identity and change time,
    /// and the record directory's. Every change to a key's versions
    /// replaces its key file (a rotation by design; a stage, promotion or
    /// prune by rewriting it), so two `fstatat` calls tell whether anything
    /// changed, without reading a file.
    pub(super) fn key_marker(&self, id: &str) -> Result<Marker> {
        let file = self.key_file(id);
        let Some(key) = file.stat()? else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("key '{id}' not found in '{}'", self.location),
            ));
        };
        let name = crate::store::fs::FileName::new(".versions/", id, "");
        let records =
            rustix::fs::statat(&self.dir, &*name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).ok();
        let nanos = |sec: i64, nsec: u64| {
            u64::try_from(sec)
                .unwrap_or(0)
                .wrapping_mul(1_000_000_000)
                .wrapping_add(nsec)
        };
        let (dir_ino, dir_time) = records.map_or((0, 0), |st| {
            (st.st_ino, nanos(st.st_mtime, st.st_mtime_nsec))
        });
        Ok(Marker([
            key.st_ino,
            key.st_dev ^ nanos(key.st_ctime, key.st_ctime_nsec),
            dir_ino,
            dir_time,
        ]))
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
        if let Ok(Some(Some(view))) = self.try_load(id)
            && view.token.0 & STRAY_RECORDS != 0
        {
            let _ = self.remove_history(id);
        }
    }

    /// Reads the key file and its records once; `None` from the outer
    /// option when a writer changed them meanwhile.
    pub(super) fn try_load(&self, id: &str) -> Result<Option<Option<KeyView>>> {
        let file = self.key_file(id);
        let Some((raw, opened)) = file.read(self.uid)? else {
            return Ok(Some(None));
        };
        let what = file.describe();
        let decoded = self.codec.decode(id, None, raw, &what)?;
        check_key_len(&what, &decoded.bytes)?;
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
        let highest = highest.as_ref().map(|(n, record)| (*n, record));
        let standing = standing(&decoded.bytes, decoded.sealed_as, highest);
        if !file.still_names(&opened)? {
            return Ok(None);
        }
        let standing = standing.map_err(|claimed| {
            Error::new(
                ErrorKind::Corrupt,
                format!(
                    "{what}: sealed for another key (the file holds version {claimed}, which the \
                     version records of '{id}' do not lead to: an old version put back as current?)"
                ),
            )
        })?;
        Ok(Some(Some(view(
            decoded.bytes,
            standing,
            listing,
            history.is_some(),
        ))))
    }
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
