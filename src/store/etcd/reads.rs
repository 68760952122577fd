//! Reading keys from etcd: each key with one range request at one
//! revision; lists and existence with keys-only reads that move no key
//! material.

use super::EtcdBackend;
use super::layout::{KeyPaths, RawKey};
use crate::error::{Error, ErrorKind, Result};
use crate::etcd::RangeRequest;
use crate::keyring::{LoadedKey, Marker};
use crate::secret::SecretBytes;
use crate::store::backend::{KeyView, Token, VersionList};
use crate::store::codec::check_key_len;
use crate::store::key_id::is_valid_key_id;
use crate::store::status::SourceStatus;

impl EtcdBackend {
    /// Every entry of `id` at `revision` (`None`: the latest), keys only
    /// or with values.
    pub(super) fn read_raw(
        &self,
        paths: &KeyPaths,
        id: &str,
        revision: Option<i64>,
        keys_only: bool,
    ) -> Result<RawKey> {
        let mut request = RangeRequest::prefix(paths.base());
        if let Some(revision) = revision {
            request = request.at_revision(revision);
        }
        if keys_only {
            request = request.keys_only();
        }
        let range = self
            .client
            .range_with(&request)
            .map_err(|err| self.in_context(id, "read", &err))?;
        RawKey::from_range(paths, range, &self.describe(id))
    }

    /// The view of `id`: its current version decoded, the numbers of the
    /// others, and the revision they were read at as the token.
    pub(super) fn load_view(&self, id: &str) -> Result<Option<KeyView>> {
        let paths = self.paths(id);
        let raw = self.read_raw(&paths, id, None, false)?;
        let what = self.describe(id);
        let Some(VersionList {
            current,
            retained,
            staged,
        }) = raw.version_list(&what)?
        else {
            return Ok(None);
        };
        let bytes = self
            .decode(id, current, raw.value(current))?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Corrupt,
                    format!("{what}: version {current} has no value"),
                )
            })?;
        Ok(Some(KeyView {
            current,
            bytes,
            retained,
            staged,
            token: Token(u64::try_from(raw.revision).unwrap_or(0)),
            snapshot: None,
        }))
    }

    /// Every version of `id` with its bytes, from the one range read that
    /// also gives its view: one round trip, and one revision for all.
    pub(super) fn load_all_versions(&self, id: &str) -> Result<Option<LoadedKey>> {
        let paths = self.paths(id);
        let raw = self.read_raw(&paths, id, None, false)?;
        let Some(list) = raw.version_list(&self.describe(id))? else {
            return Ok(None);
        };
        let mut versions = Vec::with_capacity(1 + list.retained.len() + list.staged.len());
        for version in
            std::iter::once(list.current).chain(list.retained.into_iter().chain(list.staged))
        {
            let bytes = self
                .decode(id, version, raw.value(version))?
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Corrupt,
                        format!("version {version} of {} has no value", self.describe(id)),
                    )
                })?;
            versions.push((version, bytes));
        }
        Ok(Some(LoadedKey {
            current: list.current,
            versions,
        }))
    }

    /// The version numbers of `id`, from the manifest and the entry names:
    /// nothing is decoded, so no KEK is needed.
    pub(super) fn version_numbers(&self, id: &str) -> Result<Option<VersionList>> {
        let paths = self.paths(id);
        let raw = self.read_raw(&paths, id, None, false)?;
        raw.version_list(&self.describe(id))
    }

    /// The bytes of `version` of `id` as they were when `view` was read (as
    /// they are now if etcd has compacted that revision away); `None` if
    /// there is no such version.
    pub(super) fn read_stored_version(
        &self,
        id: &str,
        view: &KeyView,
        version: u32,
    ) -> Result<Option<SecretBytes>> {
        let key = self.paths(id).version(version);
        let at_view = i64::try_from(view.token.0)
            .ok()
            .filter(|&revision| revision > 0)
            .map(|revision| RangeRequest::key(&key).at_revision(revision));
        let range = match at_view.map(|request| self.client.range_with(&request)) {
            Some(Ok(range)) => Ok(range),
            // Compacted (or no revision known): the latest is as good, since
            // a caller that finds it gone reads the key again.
            Some(Err(err)) if err.kind() == ErrorKind::InvalidArgument => self.client.range(&key),
            Some(Err(err)) => Err(err),
            None => self.client.range(&key),
        }
        .map_err(|err| self.in_context(id, "read", &err))?;
        let value = range.kvs.into_iter().next().map(|kv| kv.value);
        self.decode(id, version, value.as_ref())
    }

    /// Decodes the stored `value` of `version` of `id`: unsealed (checking
    /// that it was sealed for this key and version) or plain, and of a
    /// valid key length.
    pub(super) fn decode(
        &self,
        id: &str,
        version: u32,
        value: Option<&SecretBytes>,
    ) -> Result<Option<SecretBytes>> {
        let Some(value) = value else {
            return Ok(None);
        };
        let what = format!("version {version} of {}", self.describe(id));
        let decoded = self.codec.decode(id, Some(version), value.clone(), &what)?;
        check_key_len(&what, &decoded.bytes)?;
        Ok(Some(decoded.bytes))
    }

    /// The ids of every key: the ids that have a manifest, from a keys-only
    /// read of the whole key set.
    pub(super) fn list_ids(&self) -> Result<Vec<String>> {
        let keys = format!("{}/keys/", self.prefix);
        let range = self
            .client
            .range_with(&RangeRequest::prefix(keys.as_bytes()).keys_only())
            .map_err(|err| {
                Error::new(
                    err.kind(),
                    format!(
                        "cannot list the keys in '{}': {}",
                        self.location,
                        err.message()
                    ),
                )
            })?;
        let ids = range.kvs.iter().filter_map(|kv| {
            let rest = kv.key.strip_prefix(keys.as_bytes())?;
            let id = rest.strip_suffix(b"/current")?;
            is_valid_key_id(id).then(|| String::from_utf8_lossy(id).into_owned())
        });
        Ok(ids.collect())
    }

    /// Whether `id` has a manifest (a keys-only read of it).
    pub(super) fn manifest_exists(&self, id: &str) -> Result<bool> {
        let manifest = self.paths(id).manifest();
        let range = self
            .client
            .range_with(&RangeRequest::key(&manifest).keys_only())
            .map_err(|err| self.in_context(id, "read", &err))?;
        Ok(!range.kvs.is_empty())
    }

    /// The change marker of `id`: the revision of the last transaction
    /// that changed it (each one rewrites its manifest or delete marker),
    /// from a keys-only read.
    pub(super) fn change_marker(&self, id: &str) -> Result<Marker> {
        let paths = self.paths(id);
        let raw = self.read_raw(&paths, id, None, true)?;
        if !raw.manifest_present {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{} not found", self.describe(id)),
            ));
        }
        Ok(revision_marker(raw.marker_revision))
    }

    /// Asks every member for its status: the newest revision and how many
    /// answered.
    pub(super) fn cluster_status(&self) -> Result<SourceStatus> {
        let statuses = self.client.status();
        let reachable: Vec<_> = statuses.iter().filter(|s| s.reachable).collect();
        if reachable.is_empty() {
            let why: Vec<String> = statuses
                .iter()
                .map(|s| {
                    format!(
                        "{} ({})",
                        s.endpoint,
                        s.error.as_deref().unwrap_or("no answer")
                    )
                })
                .collect();
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "no member of '{}' answered: {}",
                    self.location,
                    why.join(", ")
                ),
            ));
        }
        let revision = reachable.iter().map(|s| s.revision).max().unwrap_or(0);
        Ok(SourceStatus {
            revision: u64::try_from(revision).unwrap_or(0),
            members_reachable: reachable.len(),
            members: statuses.len(),
        })
    }
}

/// The change marker for the revision of a key's last change.
pub(super) fn revision_marker(revision: i64) -> Marker {
    Marker([u64::try_from(revision).unwrap_or(0), 0, 0, 0])
}
