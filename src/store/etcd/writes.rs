//! Changes to one key in etcd, each one transaction guarded by the revision
//! its decision was read at.
//!
//! Every transaction compares:
//! - the `mod_revision` of every entry under `<prefix>/keys/<id>/` is below
//!   `base + 1` (nothing under the key changed since the read at `base`;
//!   every change rewrites the manifest or the delete marker, so every
//!   change shows here), and
//! - for a key that exists, its manifest's `version` is above 0 (it was not
//!   deleted, which would leave no entry for the first compare to see);
//!   for a key to create, its manifest's `create_revision` is 0.
//!
//! and writes, with a fresh nonce in the manifest (or the delete marker),
//! exactly the entries the change needs. A failed compare is a
//! [`Commit::Conflict`].

use super::EtcdBackend;
use super::layout::{DeletedMarker, KeyPaths, Manifest, runs};
use crate::error::{Error, ErrorKind, Result};
use crate::etcd::{Compare, CompareOp, Op};
use crate::random::random_bytes;
use crate::secret::SecretBytes;
use crate::store::backend::{Change, Commit, KeyView};

/// Version entries a seal transaction rewrites at most (etcd allows 128
/// operations per transaction by default; one more writes the manifest).
const SEAL_BATCH: usize = 100;

/// How often sealing one key reads it again after a concurrent change.
const SEAL_ATTEMPTS: usize = 64;

/// The operations of one transaction, owning the keys and values they
/// name.
#[derive(Default)]
struct Plan {
    /// Keys and values to put (values may be key material).
    puts: Vec<(Vec<u8>, SecretBytes)>,
    /// Keys to delete.
    deletes: Vec<Vec<u8>>,
    /// Key ranges to delete, `[from, to)`.
    ranges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Plan {
    fn put(&mut self, key: Vec<u8>, value: SecretBytes) {
        self.puts.push((key, value));
    }

    /// Puts the manifest of `paths` naming `current` and `staged`, written
    /// by the transaction `nonce`.
    fn put_manifest(&mut self, paths: &KeyPaths, current: u32, staged: Vec<u32>, nonce: &str) {
        let manifest = Manifest {
            current,
            staged,
            txn: nonce.to_owned(),
        };
        self.put(
            paths.manifest(),
            SecretBytes::from_slice(&manifest.to_json()),
        );
    }

    /// The operations, borrowing from the plan.
    fn ops(&self) -> Vec<Op<'_>> {
        let deletes = self.deletes.iter().map(|key| Op::Delete { key });
        let ranges = self
            .ranges
            .iter()
            .map(|(from, to)| Op::DeleteRange { from, to });
        let puts = self.puts.iter().map(|(key, value)| Op::Put {
            key,
            value: value.as_bytes(),
        });
        deletes.chain(ranges).chain(puts).collect()
    }
}

/// A fresh transaction nonce: 16 random bytes in hex.
fn new_nonce() -> Result<String> {
    let mut bytes = [0u8; 16];
    random_bytes(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The guard of a change to a key that existed at `base`.
fn existing_guard<'a>(base_key: &'a [u8], manifest: &'a [u8], base: i64) -> [Compare<'a>; 2] {
    [
        Compare::mod_revision(base_key, CompareOp::Less, base.saturating_add(1)).over_prefix(),
        Compare::version(manifest, CompareOp::Greater, 0),
    ]
}

/// The guard of a change to a key that did not exist at `base`.
fn absent_guard<'a>(base_key: &'a [u8], manifest: &'a [u8], base: i64) -> [Compare<'a>; 2] {
    [
        Compare::mod_revision(base_key, CompareOp::Less, base.saturating_add(1)).over_prefix(),
        Compare::create_revision(manifest, CompareOp::Equal, 0),
    ]
}

impl EtcdBackend {
    /// Applies `change` to `id`, whose state was `base` (read at the
    /// revision in its token), in one guarded transaction.
    pub(super) fn apply(
        &self,
        id: &str,
        base: Option<&KeyView>,
        change: Change<'_>,
    ) -> Result<Commit> {
        let paths = self.paths(id);
        let nonce = new_nonce()?;
        let Some(view) = base else {
            return self.apply_to_absent(&paths, id, change, &nonce);
        };
        let revision = i64::try_from(view.token.0).unwrap_or(i64::MAX);
        let mut plan = Plan::default();
        let mut staged = view.staged.clone();
        let current = match change {
            Change::Advance { to, bytes } => {
                plan.put(paths.version(to), self.codec.encode(id, to, bytes)?);
                to
            }
            Change::Stage { version, bytes } => {
                plan.put(
                    paths.version(version),
                    self.codec.encode(id, version, bytes)?,
                );
                staged.push(version);
                staged.sort_unstable();
                view.current
            }
            Change::Promote { version } => {
                staged.retain(|&v| v != version);
                version
            }
            Change::Remove { versions } => {
                let doomed = runs(&view.all_versions(), &versions);
                if doomed.is_empty() {
                    // Nothing to remove: the state read is already the result.
                    return Ok(Commit::Done);
                }
                for (first, last) in doomed {
                    plan.ranges
                        .push((paths.version(first), paths.after_version(last)));
                }
                staged.retain(|v| !versions.contains(v));
                view.current
            }
            Change::Delete => return self.delete(&paths, id, revision, &nonce),
            // Decided on a key that exists: never asked for; deciding again
            // on a fresh read is always safe.
            Change::Create { .. } | Change::Import { .. } => return Ok(Commit::Conflict),
        };
        plan.put_manifest(&paths, current, staged, &nonce);
        let manifest = paths.manifest();
        let guard = existing_guard(paths.base(), &manifest, revision);
        self.run(&paths, id, &guard, &plan, revision, &nonce)
    }

    /// Applies a change decided on a key that did not exist (or could not
    /// be read), guarded by a read of its entries made now.
    fn apply_to_absent(
        &self,
        paths: &KeyPaths,
        id: &str,
        change: Change<'_>,
        nonce: &str,
    ) -> Result<Commit> {
        let raw = self.read_raw(paths, id, None, true)?;
        if let Change::Delete = change {
            if !raw.manifest_present {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("{} not found", self.describe(id)),
                ));
            }
            return self.delete(paths, id, raw.revision, nonce);
        }
        if raw.manifest_present {
            // Created since the decision: decide again.
            return Ok(Commit::Conflict);
        }
        let mut plan = Plan::default();
        plan.deletes.push(paths.deleted());
        let (current, staged) = match change {
            Change::Create { bytes, .. } => {
                // Version entries no manifest names (put there by hand) go:
                // everything under `v/` but version 1, which is put.
                plan.ranges.push((paths.versions_start(), paths.version(1)));
                plan.ranges
                    .push((paths.after_version(1), paths.versions_end()));
                plan.put(paths.version(1), self.codec.encode(id, 1, bytes)?);
                (1, Vec::new())
            }
            Change::Import { versions, current } => {
                for number in raw.numbers() {
                    if versions.iter().all(|&(n, _)| n != number) {
                        plan.deletes.push(paths.version(number));
                    }
                }
                for &(number, bytes) in versions {
                    plan.put(paths.version(number), self.codec.encode(id, number, bytes)?);
                }
                let staged = versions.iter().map(|&(n, _)| n).filter(|&n| n > current);
                (current, staged.collect())
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("{} not found", self.describe(id)),
                ));
            }
        };
        plan.put_manifest(paths, current, staged, nonce);
        let manifest = paths.manifest();
        let guard = absent_guard(paths.base(), &manifest, raw.revision);
        self.run(paths, id, &guard, &plan, raw.revision, nonce)
    }

    /// Deletes every version and the manifest of a key that existed at
    /// `revision`, leaving the delete marker.
    fn delete(&self, paths: &KeyPaths, id: &str, revision: i64, nonce: &str) -> Result<Commit> {
        let mut plan = Plan::default();
        plan.ranges
            .push((paths.versions_start(), paths.versions_end()));
        plan.deletes.push(paths.manifest());
        let marker = DeletedMarker {
            txn: nonce.to_owned(),
        };
        plan.put(paths.deleted(), SecretBytes::from_slice(&marker.to_json()));
        let manifest = paths.manifest();
        let guard = existing_guard(paths.base(), &manifest, revision);
        self.run(paths, id, &guard, &plan, revision, nonce)
    }

    /// Runs one guarded transaction. When the client had to send it again
    /// after an attempt whose outcome is unknown and the guard then failed,
    /// the first attempt may be what changed the key: [`Self::recognise`]
    /// tells.
    fn run(
        &self,
        paths: &KeyPaths,
        id: &str,
        guard: &[Compare<'_>],
        plan: &Plan,
        base: i64,
        nonce: &str,
    ) -> Result<Commit> {
        let result = self
            .client
            .txn(guard, &plan.ops(), &[])
            .map_err(|err| self.in_context(id, "change", &err))?;
        if result.succeeded {
            return Ok(Commit::Done);
        }
        if !result.retried_after_unknown_outcome {
            return Ok(Commit::Conflict);
        }
        self.recognise(paths, id, base, nonce)
    }

    /// Rewrites, sealed under the current KEK, every version entry of `id`
    /// that is plain or sealed under a previous KEK, in guarded
    /// transactions of up to [`SEAL_BATCH`] entries; returns how many.
    pub(super) fn seal_values(&self, id: &str) -> Result<usize> {
        if !self.codec.seals() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "cannot seal '{}': the key store was opened without a KEK",
                    self.location
                ),
            ));
        }
        let paths = self.paths(id);
        let mut count = 0;
        for _ in 0..SEAL_ATTEMPTS {
            let raw = self.read_raw(&paths, id, None, false)?;
            let Some(manifest) = &raw.manifest else {
                return Ok(count);
            };
            let pending: Vec<_> = raw
                .versions
                .iter()
                .filter(|v| self.codec.needs_sealing(&v.value))
                .take(SEAL_BATCH)
                .collect();
            if pending.is_empty() {
                return Ok(count);
            }
            let mut plan = Plan::default();
            for stored in &pending {
                let bytes = self
                    .decode(id, stored.number, Some(&stored.value))?
                    .ok_or_else(|| Error::new(ErrorKind::Corrupt, "a version vanished"))?;
                plan.put(
                    paths.version(stored.number),
                    self.codec.encode(id, stored.number, &bytes)?,
                );
            }
            let nonce = new_nonce()?;
            plan.put_manifest(&paths, manifest.current, manifest.staged.clone(), &nonce);
            let manifest_key = paths.manifest();
            let guard = existing_guard(paths.base(), &manifest_key, raw.revision);
            if self.run(&paths, id, &guard, &plan, raw.revision, &nonce)? == Commit::Done {
                count += pending.len();
            }
        }
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "{} changed {SEAL_ATTEMPTS} times while it was being sealed; try again",
                self.describe(id)
            ),
        ))
    }
}
