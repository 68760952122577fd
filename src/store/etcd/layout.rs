//! Where one key lives in etcd's key space, and what its entries hold: the
//! names of the entries, the manifest, and one key's entries read back at
//! one revision.

use crate::error::{Error, ErrorKind, Result};
use crate::etcd::RangeResult;
use crate::secret::SecretBytes;
use crate::store::backend::VersionList;
use serde::Deserialize;

/// Digits of a version number in an entry name: zero-padded, so that byte
/// order is number order and a run of versions is one key range.
const VERSION_DIGITS: usize = 10;

/// The etcd keys of one key id: `<prefix>/keys/<id>/` and what is under it.
pub(super) struct KeyPaths {
    /// `<prefix>/keys/<id>/`.
    base: Vec<u8>,
}

/// What an etcd key under a key id's base is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
    /// `current`: the manifest.
    Manifest,
    /// `deleted`: the marker a delete leaves.
    Deleted,
    /// `v/<n>`: the bytes of version `n`.
    Version(u32),
    /// Anything else (not written by this library; ignored).
    Other,
}

impl KeyPaths {
    /// The keys of `id` under the source's `prefix`.
    pub fn new(prefix: &str, id: &str) -> KeyPaths {
        KeyPaths {
            base: format!("{prefix}/keys/{id}/").into_bytes(),
        }
    }

    /// `<prefix>/keys/<id>/`: every entry of the key starts with it.
    pub fn base(&self) -> &[u8] {
        &self.base
    }

    /// `<base>current`: the manifest.
    pub fn manifest(&self) -> Vec<u8> {
        [&self.base[..], b"current"].concat()
    }

    /// `<base>deleted`: the marker of the last delete.
    pub fn deleted(&self) -> Vec<u8> {
        [&self.base[..], b"deleted"].concat()
    }

    /// `<base>v/<n>`, `n` zero-padded to ten digits.
    pub fn version(&self, number: u32) -> Vec<u8> {
        let mut key = [&self.base[..], b"v/"].concat();
        key.extend_from_slice(format!("{number:0width$}", width = VERSION_DIGITS).as_bytes());
        key
    }

    /// The key just after `<base>v/<n>`: the end of a range that ends with
    /// version `n`.
    pub fn after_version(&self, number: u32) -> Vec<u8> {
        let mut key = self.version(number);
        key.push(0);
        key
    }

    /// `<base>v/`: the first key of the version entries.
    pub fn versions_start(&self) -> Vec<u8> {
        [&self.base[..], b"v/"].concat()
    }

    /// The key after every version entry (`<base>v0`, as `'0'` follows `'/'`).
    pub fn versions_end(&self) -> Vec<u8> {
        [&self.base[..], b"v0"].concat()
    }

    /// What the etcd key `key` is, if it is under this base.
    pub fn classify(&self, key: &[u8]) -> Option<Entry> {
        let name = key.strip_prefix(&self.base[..])?;
        Some(match name {
            b"current" => Entry::Manifest,
            b"deleted" => Entry::Deleted,
            _ => name
                .strip_prefix(b"v/")
                .and_then(parse_version)
                .map_or(Entry::Other, Entry::Version),
        })
    }
}

/// A ten-digit, non-zero version number.
fn parse_version(digits: &[u8]) -> Option<u32> {
    if digits.len() != VERSION_DIGITS || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits)
        .ok()?
        .parse::<u32>()
        .ok()
        .filter(|&n| n > 0)
}

/// The manifest of a key (`<base>current`, JSON): which version is
/// current, which are staged, and the nonce of the transaction that wrote
/// it. Holds no key material.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(super) struct Manifest {
    /// The current version.
    pub current: u32,
    /// Staged versions, ascending.
    #[serde(default)]
    pub staged: Vec<u32>,
    /// The nonce of the transaction that wrote this manifest.
    pub txn: String,
}

/// What a delete leaves (`<base>deleted`, JSON): the nonce of its
/// transaction, so that its writer can recognise it. Holds no key material.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(super) struct DeletedMarker {
    /// The nonce of the delete's transaction.
    pub txn: String,
}

impl Manifest {
    /// The manifest as stored: `{"current":3,"staged":[4],"txn":"<hex>"}`.
    pub fn to_json(&self) -> Vec<u8> {
        let staged: Vec<String> = self.staged.iter().map(u32::to_string).collect();
        format!(
            r#"{{"current":{},"staged":[{}],"txn":"{}"}}"#,
            self.current,
            staged.join(","),
            self.txn.escape_default()
        )
        .into_bytes()
    }
}

impl DeletedMarker {
    /// The marker as stored: `{"txn":"<hex>"}`.
    pub fn to_json(&self) -> Vec<u8> {
        format!(r#"{{"txn":"{}"}}"#, self.txn.escape_default()).into_bytes()
    }
}

/// One version's stored bytes (codec-encoded: plain or sealed).
pub(super) struct StoredVersion {
    /// The version number.
    pub number: u32,
    /// The stored bytes.
    pub value: SecretBytes,
}

/// Every entry of one key as etcd had it at one revision.
pub(super) struct RawKey {
    /// The revision the entries were read at.
    pub revision: i64,
    /// The manifest; `None`: there is no such key (or a keys-only read).
    pub manifest: Option<Manifest>,
    /// Whether the manifest exists (known by a keys-only read too).
    pub manifest_present: bool,
    /// The nonce of the last delete, if its marker is there.
    pub deleted_txn: Option<String>,
    /// The latest revision at which the manifest or the delete marker was
    /// written (0 if neither exists).
    pub marker_revision: i64,
    /// The version entries, ascending by number (values empty for a
    /// keys-only read).
    pub versions: Vec<StoredVersion>,
}

impl RawKey {
    /// Sorts the entries of one key out of a range read of its base;
    /// `what` names the key in messages. A keys-only read fills only
    /// `revision`, `marker_revision` and the version numbers.
    pub fn from_range(paths: &KeyPaths, range: RangeResult, what: &str) -> Result<RawKey> {
        let mut raw = RawKey {
            revision: range.revision,
            manifest: None,
            manifest_present: false,
            deleted_txn: None,
            marker_revision: 0,
            versions: Vec::new(),
        };
        for kv in range.kvs {
            match paths.classify(&kv.key) {
                Some(Entry::Manifest) => {
                    raw.manifest_present = true;
                    raw.marker_revision = raw.marker_revision.max(kv.mod_revision);
                    if !kv.value.is_empty() {
                        raw.manifest = Some(parse_json(&kv.value, what, "manifest")?);
                    }
                }
                Some(Entry::Deleted) => {
                    raw.marker_revision = raw.marker_revision.max(kv.mod_revision);
                    // A marker that does not parse only makes an earlier
                    // delete unrecognisable; it does not make the key unusable.
                    raw.deleted_txn = parse_json::<DeletedMarker>(&kv.value, what, "delete marker")
                        .ok()
                        .map(|marker| marker.txn);
                }
                Some(Entry::Version(number)) => raw.versions.push(StoredVersion {
                    number,
                    value: kv.value,
                }),
                Some(Entry::Other) | None => {}
            }
        }
        raw.versions.sort_unstable_by_key(|v| v.number);
        Ok(raw)
    }

    /// The stored bytes of version `number`.
    pub fn value(&self, number: u32) -> Option<&SecretBytes> {
        self.versions
            .binary_search_by_key(&number, |v| v.number)
            .ok()
            .map(|index| &self.versions[index].value)
    }

    /// The numbers of every version entry, ascending.
    pub fn numbers(&self) -> Vec<u32> {
        self.versions.iter().map(|v| v.number).collect()
    }

    /// Whether the manifest or the delete marker was written by the
    /// transaction whose nonce is `nonce`.
    pub fn written_by(&self, nonce: &str) -> bool {
        self.manifest.as_ref().is_some_and(|m| m.txn == nonce)
            || self.deleted_txn.as_deref() == Some(nonce)
    }

    /// The version numbers the manifest names, checked against the entries.
    /// Retained versions are the entries below
    /// the current one that are not staged; staged versions without an
    /// entry are left out.
    pub fn version_list(&self, what: &str) -> Result<Option<VersionList>> {
        let Some(manifest) = &self.manifest else {
            return Ok(None);
        };
        let current = manifest.current;
        if current == 0 || self.value(current).is_none() {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!(
                    "{what}: its manifest names version {current} as current, which has no value"
                ),
            ));
        }
        let mut staged: Vec<u32> = manifest
            .staged
            .iter()
            .copied()
            .filter(|&n| n != current && self.value(n).is_some())
            .collect();
        staged.sort_unstable();
        staged.dedup();
        let retained = self
            .numbers()
            .into_iter()
            .filter(|&n| n < current && staged.binary_search(&n).is_err())
            .collect();
        Ok(Some(VersionList {
            current,
            retained,
            staged,
        }))
    }
}

/// Parses a JSON entry written by this library.
fn parse_json<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str, entry: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|err| {
        Error::new(
            ErrorKind::Corrupt,
            format!(
                "{what}: its {entry} is not understood (line {}, column {})",
                err.line(),
                err.column()
            ),
        )
    })
}

/// The ranges of versions to delete so that exactly `doomed` go: runs of
/// versions that are adjacent in `all` (every version, ascending), as
/// (first, last) pairs. Versions not in `all` are skipped.
pub(super) fn runs(all: &[u32], doomed: &[u32]) -> Vec<(u32, u32)> {
    let mut runs = Vec::new();
    let mut open: Option<(u32, u32)> = None;
    for &version in all {
        if doomed.contains(&version) {
            open = Some(match open {
                Some((first, _)) => (first, version),
                None => (version, version),
            });
        } else if let Some(run) = open.take() {
            runs.push(run);
        }
    }
    runs.extend(open);
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_named_under_the_key_base() {
        let paths = KeyPaths::new("/fleet", "api");
        assert_eq!(paths.base(), b"/fleet/keys/api/");
        assert_eq!(paths.manifest(), b"/fleet/keys/api/current");
        assert_eq!(paths.version(3), b"/fleet/keys/api/v/0000000003");
        assert_eq!(paths.version(u32::MAX), b"/fleet/keys/api/v/4294967295");
        assert!(
            paths.version(9) < paths.version(10),
            "byte order is number order"
        );
        assert!(paths.version(u32::MAX) < paths.versions_end());
        assert!(paths.after_version(3) < paths.version(4));
        assert_eq!(paths.classify(&paths.version(42)), Some(Entry::Version(42)));
        assert_eq!(paths.classify(&paths.manifest()), Some(Entry::Manifest));
        assert_eq!(paths.classify(&paths.deleted()), Some(Entry::Deleted));
        for other in [
            &b"/fleet/keys/api/v/0000000000"[..],
            b"/fleet/keys/api/v/42",
            b"/fleet/keys/api/x",
        ] {
            assert_eq!(paths.classify(other), Some(Entry::Other));
        }
        assert_eq!(paths.classify(b"/fleet/keys/api2/current"), None);
    }

    #[test]
    fn runs_group_adjacent_versions() {
        assert_eq!(
            runs(&[1, 2, 3, 5, 8, 9], &[1, 2, 5, 9]),
            [(1, 2), (5, 5), (9, 9)]
        );
        assert_eq!(runs(&[1, 2, 3], &[]), []);
        assert_eq!(runs(&[1, 4, 7], &[1, 4, 7, 11]), [(1, 7)]);
    }

    #[test]
    fn manifests_round_trip_as_json() {
        let manifest = Manifest {
            current: 3,
            staged: vec![4],
            txn: "ab".into(),
        };
        let bytes = manifest.to_json();
        assert_eq!(bytes, br#"{"current":3,"staged":[4],"txn":"ab"}"#);
        let back: Manifest = parse_json(&bytes, "key", "manifest").unwrap();
        assert_eq!(back, manifest);
        let marker = DeletedMarker { txn: "cd".into() }.to_json();
        assert_eq!(
            parse_json::<DeletedMarker>(&marker, "k", "m").unwrap().txn,
            "cd"
        );
        let err = parse_json::<Manifest>(b"{", "key 'a'", "manifest").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corrupt);
    }
}
