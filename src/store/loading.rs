//! Keyrings of a key store: a key's versions loaded once, refreshed when
//! the store's change marker for the key moves.

use super::KeyManager;
use super::backend::Backend;
use crate::alg::HashAlg;
use crate::error::{Error, ErrorKind, Result};
use crate::keyring::{ChangeFeed, KeySource, Keyring, LoadedKey, Marker};
use std::sync::{Arc, Mutex};
use std::time::Duration;

impl KeyManager {
    /// Loads every version of `key_id` (current, older and staged) into a
    /// [`Keyring`] for `alg`, with the HMAC key schedules precomputed: a MAC
    /// then costs no file access and about two compressions plus the data.
    /// With `refresh` set, a change in the store (a rotation, a prune, a
    /// promotion, a delete) is served at most that long after it happened:
    /// on a local source a call checks the store's change marker (a cheap
    /// `fstatat`) once `refresh` has passed; on etcd a background thread
    /// follows the key's changes through a watch and reloads it, so no
    /// call ever waits on the network. With `None` only
    /// [`Keyring::refresh`] reloads. The keyring keeps working after this
    /// key manager is dropped.
    ///
    /// # Errors
    /// As [`KeyManager::get`] for the key and each of its versions;
    /// [`ErrorKind::Io`] if memory for the keys cannot be mapped.
    pub fn load(&self, key_id: &str, alg: HashAlg, refresh: Option<Duration>) -> Result<Keyring> {
        let id = super::validate_key_id(key_id.as_bytes())?;
        let refresh_ms = refresh.map_or(0, |every| {
            u32::try_from(every.as_millis().max(1)).unwrap_or(u32::MAX)
        });
        let source = StoreSource {
            backend: Arc::clone(&self.backend),
            id: id.to_owned(),
            feed: Mutex::new(None),
        };
        Keyring::new(Box::new(source), alg, refresh_ms)
    }
}

/// One key of a store, as a keyring's source.
struct StoreSource {
    backend: Arc<dyn Backend>,
    id: String,
    /// The key's changes, when the backend follows them in the background.
    feed: Mutex<Option<Box<dyn ChangeFeed>>>,
}

impl KeySource for StoreSource {
    fn change_marker(&self) -> Result<Marker> {
        let fed = self
            .feed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .and_then(|feed| feed.marker());
        match fed {
            Some(marker) => Ok(marker),
            None => self.backend.marker(&self.id),
        }
    }

    fn follow(&self, since: Marker, waker: std::thread::Thread) -> Result<bool> {
        let feed = self.backend.follow(&self.id, since, waker)?;
        let following = feed.is_some();
        *self
            .feed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = feed;
        Ok(following)
    }

    fn load(&self) -> Result<LoadedKey> {
        self.backend.load_every_version(&self.id)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "key '{}' not found in '{}'",
                    self.id,
                    self.backend.location()
                ),
            )
        })
    }
}
