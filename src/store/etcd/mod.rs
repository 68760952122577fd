//! An etcd v3 cluster as a key source: one key set shared by many hosts.
//!
//! ```text
//! <prefix>/keys/<key_id>/current         the manifest, JSON, no key material:
//!                                        {"current":3,"staged":[4],"txn":"<nonce>"}
//! <prefix>/keys/<key_id>/v/0000000003    version 3: raw bytes, or sealed under
//!                                        the KEK for (key_id, 3)
//! <prefix>/keys/<key_id>/deleted         left by a delete: {"txn":"<nonce>"}
//! ```
//!
//! Versions are zero-padded to ten digits, so byte order is number order
//! and a run of versions is one key range. Staged versions are version
//! entries the manifest lists as staged; retained ones are the entries
//! below the current one that are not staged. A key exists exactly when
//! its manifest does.
//!
//! A read is one range request over `<prefix>/keys/<key_id>/` at one
//! revision (the view's token), so no reader sees a manifest without the
//! versions it names. A change is one transaction guarded by that
//! revision: nothing under the key changed after it, and the manifest
//! still exists (or, to create, does not); it rewrites the manifest (or
//! the delete marker) with a fresh nonce, so that a writer whose request
//! may have been applied before a failover can recognise its own
//! transaction (see [`outcome`]). A guard that fails is a
//! [`Commit::Conflict`]: the store reads and decides again. No lock is
//! taken. See `docs/etcd.md`.

mod layout;
mod outcome;
mod reads;
mod writes;

use super::backend::{Backend, Change, Commit, KeyView, VersionList, WriteLock};
use super::codec::Codec;
use super::options::{AuthOptions, TlsOptions};
use super::status::SourceStatus;
use super::{Location, OpenOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::etcd::{AuthConfig, Client, EtcdConfig, TlsFiles, Watcher};
use crate::keyring::{ChangeFeed, LoadedKey, Marker};
use crate::secret::SecretBytes;
use layout::KeyPaths;
use std::fmt;
use std::thread::Thread;

/// An etcd cluster holding a key set under one prefix.
pub(crate) struct EtcdBackend {
    /// The cluster.
    client: Client,
    /// `etcd://endpoints/prefix`, for messages.
    location: Location,
    /// Where the key set starts: `/` and no trailing `/`.
    prefix: String,
    /// Whether every write is refused.
    read_only: bool,
    /// Plain or sealed values.
    codec: Codec,
}

impl fmt::Debug for EtcdBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EtcdBackend")
            .field("location", &self.location)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// A write lock that excludes nothing: every commit compares the revision
/// its decision was read at instead.
struct NoLock;

impl WriteLock for NoLock {}

impl EtcdBackend {
    /// Prepares the client for `location` (an etcd location) with
    /// `options`, and loads the KEKs. Nothing is sent yet: an unreachable
    /// cluster fails the first call, not the open.
    pub fn open(location: &Location, options: &OpenOptions) -> Result<EtcdBackend> {
        let Location::Etcd { endpoints, prefix } = location else {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("'{location}' is not an etcd location"),
            ));
        };
        let config = EtcdConfig {
            endpoints: endpoints.clone(),
            timeout: options.timeout,
            tls: options.tls.as_ref().map(tls_files),
            auth: options.auth.as_ref().map(auth_config),
        };
        let client = Client::connect(config)
            .map_err(|err| Error::new(err.kind(), format!("'{location}': {}", err.message())))?;
        Ok(EtcdBackend {
            client,
            location: location.clone(),
            prefix: prefix.clone(),
            read_only: options.read_only,
            codec: Codec::new(options)?,
        })
    }

    /// The etcd keys of `id`.
    fn paths(&self, id: &str) -> KeyPaths {
        KeyPaths::new(&self.prefix, id)
    }

    /// `key '<id>' in etcd://...`, for messages.
    fn describe(&self, id: &str) -> String {
        format!("key '{id}' in '{}'", self.location)
    }

    /// `err` from the client, with the key it concerned.
    fn in_context(&self, id: &str, doing: &str, err: &Error) -> Error {
        Error::new(
            err.kind(),
            format!("cannot {doing} {}: {}", self.describe(id), err.message()),
        )
    }
}

fn tls_files(tls: &TlsOptions) -> TlsFiles {
    TlsFiles {
        ca_file: tls.ca_file.clone(),
        cert_file: tls.cert_file.clone(),
        key_file: tls.key_file.clone(),
    }
}

fn auth_config(auth: &AuthOptions) -> AuthConfig {
    AuthConfig {
        user: auth.user.clone(),
        password_file: auth.password_file.clone(),
    }
}

impl Backend for EtcdBackend {
    fn location(&self) -> &Location {
        &self.location
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn list(&self) -> Result<Vec<String>> {
        self.list_ids()
    }

    fn exists(&self, id: &str) -> Result<bool> {
        self.manifest_exists(id)
    }

    fn load(&self, id: &str) -> Result<Option<KeyView>> {
        self.load_view(id)
    }

    fn versions(&self, id: &str) -> Result<Option<VersionList>> {
        self.version_numbers(id)
    }

    fn load_every_version(&self, id: &str) -> Result<Option<LoadedKey>> {
        self.load_all_versions(id)
    }

    fn read_version(&self, id: &str, view: &KeyView, version: u32) -> Result<Option<SecretBytes>> {
        self.read_stored_version(id, view, version)
    }

    fn lock(&self, _id: &str) -> Result<Box<dyn WriteLock + '_>> {
        Ok(Box::new(NoLock))
    }

    fn commit(&self, id: &str, base: Option<&KeyView>, change: Change<'_>) -> Result<Commit> {
        self.apply(id, base, change)
    }

    fn marker(&self, id: &str) -> Result<Marker> {
        self.change_marker(id)
    }

    fn follow(
        &self,
        id: &str,
        since: Marker,
        waker: Thread,
    ) -> Result<Option<Box<dyn ChangeFeed>>> {
        let start = i64::try_from(since.0[0])
            .unwrap_or(i64::MAX)
            .saturating_add(1);
        let watcher = self
            .client
            .watch_prefix(self.paths(id).base(), start)
            .map_err(|err| self.in_context(id, "watch", &err))?;
        watcher.wake_on_change(waker);
        Ok(Some(Box::new(KeyFeed(watcher))))
    }

    fn seal_files(&self, id: &str, base: &KeyView) -> Result<usize> {
        let _ = base;
        self.seal_values(id)
    }

    fn source_status(&self) -> Result<Option<SourceStatus>> {
        self.cluster_status().map(Some)
    }
}

/// The changes of one key, from an etcd watch on its entries: while the
/// stream works, the revision of the last change is the key's marker.
struct KeyFeed(Watcher);

impl ChangeFeed for KeyFeed {
    fn marker(&self) -> Option<Marker> {
        self.0
            .is_healthy()
            .then(|| reads::revision_marker(self.0.latest_revision()))
    }
}
