//! Version records of a private directory: `.versions/<key_id>/<n>` for a
//! retained version `n`, `.versions/<key_id>/<n>.staged` for a staged one.
//!
//! The current key stays `<key_id>.key` as raw bytes (the original layout),
//! so its number follows from the records: a record names, besides its own
//! number and key, the version that replaced it and a digest of that key.
//! A key file that nobody replaced through the library therefore matches
//! no record, and starts a history of its own (see [`standing`]).
//!
//! A record file is `RECORD_MAGIC`, a format byte (1), its version number
//! and its successor's number (4 bytes each, big-endian, 0 for none), the
//! successor's digest (32 bytes, zero for none), then the key. A file
//! without the magic is a record written by release 1.0: raw key bytes.

use crate::secret::{SecretBytes, scrubbed, stack};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The first bytes of every record written since release 1.1. A raw 1.0
/// record (random key bytes) starts with them with probability 2^-64.
pub(super) const RECORD_MAGIC: [u8; 8] = *b"\x89CDMXVR\n";
/// The record format this release writes.
const RECORD_FORMAT: u8 = 1;
/// Bytes before the key in a record.
pub(super) const RECORD_HEADER_LEN: usize = 8 + 1 + 4 + 4 + 32;
/// Domain separation of the successor digest.
const DIGEST_CONTEXT: &[u8] = b"codomyrmex_keys successor v1\0";

/// A digest of a key, stored in the record of the version it replaced.
pub(crate) type KeyDigest = [u8; 32];

/// The digest that binds a record to the key that replaced it.
pub(crate) fn digest(key: &[u8]) -> KeyDigest {
    scrubbed::<{ stack::DIGEST }, _>(|| {
        let mut hash = Sha256::new();
        hash.update(DIGEST_CONTEXT);
        hash.update(key);
        hash.finalize().into()
    })
}

/// A version record as read.
pub(super) struct Record {
    /// The key of this version.
    pub bytes: SecretBytes,
    /// The version that replaced this one and its key's digest, if a
    /// rotation of this release recorded it.
    pub successor: Option<(u32, KeyDigest)>,
    /// Written by release 1.0 (raw bytes, nothing else known).
    pub legacy: bool,
}

/// Why a record file cannot be decoded.
pub(super) enum Malformed {
    /// The header is cut short or has an unknown format.
    Header,
    /// The record says it is another version than its name.
    Version(u32),
}

/// Decodes a record file of version `expected`.
pub(super) fn decode(file: SecretBytes, expected: u32) -> Result<Record, Malformed> {
    if !file.starts_with(&RECORD_MAGIC) {
        return Ok(Record {
            bytes: file,
            successor: None,
            legacy: true,
        });
    }
    if file.len() <= RECORD_HEADER_LEN || file[8] != RECORD_FORMAT {
        return Err(Malformed::Header);
    }
    let number =
        |at: usize| u32::from_be_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]);
    let version = number(9);
    if version != expected {
        return Err(Malformed::Version(version));
    }
    let successor = match number(13) {
        0 => None,
        next => {
            let mut key_digest = [0; 32];
            key_digest.copy_from_slice(&file[17..RECORD_HEADER_LEN]);
            Some((next, key_digest))
        }
    };
    Ok(Record {
        bytes: SecretBytes::from_slice(&file[RECORD_HEADER_LEN..]),
        successor,
        legacy: false,
    })
}

/// Encodes the record of `version` holding `key`, replaced by `successor`.
pub(super) fn encode(
    version: u32,
    key: &[u8],
    successor: Option<(u32, &KeyDigest)>,
) -> SecretBytes {
    let mut file = SecretBytes::zeroed(RECORD_HEADER_LEN + key.len());
    let out = file.as_mut_bytes();
    out[..8].copy_from_slice(&RECORD_MAGIC);
    out[8] = RECORD_FORMAT;
    out[9..13].copy_from_slice(&version.to_be_bytes());
    if let Some((next, key_digest)) = successor {
        out[13..17].copy_from_slice(&next.to_be_bytes());
        out[17..RECORD_HEADER_LEN].copy_from_slice(key_digest);
    }
    out[RECORD_HEADER_LEN..].copy_from_slice(key);
    file
}

/// Where the current key file stands against the highest retained record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Standing {
    /// No records: the key is version 1 (as the original module, or this
    /// library before its first rotation, wrote it).
    NoHistory,
    /// The highest record holds the key file's bytes: it is that version.
    Recorded(u32),
    /// The highest record names the key file as its successor.
    Successor(u32),
    /// The highest record is a 1.0 record: the key file is one past it, as
    /// release 1.0 decided.
    Legacy(u32),
    /// The records belong to a key that was removed without the library
    /// (or by a delete that was killed): the key file starts a history of
    /// its own as version 1, and the records are ignored until a writer
    /// removes them.
    Orphaned,
}

impl Standing {
    /// The current version's number.
    pub fn current(self) -> u32 {
        match self {
            Standing::NoHistory | Standing::Orphaned => 1,
            Standing::Recorded(n) | Standing::Successor(n) | Standing::Legacy(n) => n,
        }
    }

    /// Whether the records on disk belong to the key file.
    pub fn records_apply(self) -> bool {
        !matches!(self, Standing::NoHistory | Standing::Orphaned)
    }
}

/// Where the key file `key` stands, given the highest retained record
/// (its number and content) — a pure decision from facts on disk.
/// `sealed_as` is the version a sealed key file is authenticated for
/// (`None` for a plain file); a sealed key file whose version the records
/// do not lead to is refused: `Err` with the version it claims.
pub(super) fn standing(
    key: &[u8],
    sealed_as: Option<u32>,
    highest: Option<(u32, &Record)>,
) -> Result<Standing, u32> {
    let Some((number, record)) = highest else {
        return match sealed_as {
            None | Some(1) => Ok(Standing::NoHistory),
            Some(claimed) => Err(claimed),
        };
    };
    let succeeds = |next: u32| {
        record.successor.is_some_and(|(successor, key_digest)| {
            successor == next && next > number && bool::from(digest(key).ct_eq(&key_digest))
        })
    };
    let Some(claimed) = sealed_as else {
        return Ok(plain_standing(key, number, record));
    };
    if claimed == number && same_bytes(&record.bytes, key) {
        Ok(Standing::Recorded(number))
    } else if succeeds(claimed) {
        Ok(Standing::Successor(claimed))
    } else if claimed == 1 {
        Ok(Standing::Orphaned)
    } else {
        Err(claimed)
    }
}

/// [`standing`] of a plain key file, which says nothing of its version.
fn plain_standing(key: &[u8], number: u32, record: &Record) -> Standing {
    if same_bytes(&record.bytes, key) {
        return Standing::Recorded(number);
    }
    match record.successor {
        Some((next, key_digest)) if next > number && bool::from(digest(key).ct_eq(&key_digest)) => {
            Standing::Successor(next)
        }
        None if record.legacy => match number.checked_add(1) {
            Some(next) => Standing::Legacy(next),
            None => Standing::Orphaned,
        },
        _ => Standing::Orphaned,
    }
}

/// Whether two keys are equal, in time independent of their content.
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// What a name in a key's record directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry {
    /// `<n>`: retained version `n`.
    Retained(u32),
    /// `<n>.staged`: staged version `n`.
    Staged(u32),
    /// `.<anything>.tmp`: a record being written (or left by a killed writer).
    Temporary,
}

/// Parses a name in a key's record directory; `None` for anything else.
pub(super) fn parse_entry(name: &[u8]) -> Option<Entry> {
    if name.starts_with(b".") && name.ends_with(b".tmp") && name.len() > 5 {
        return Some(Entry::Temporary);
    }
    match name.strip_suffix(b".staged") {
        Some(number) => parse_version(number).map(Entry::Staged),
        None => parse_version(name).map(Entry::Retained),
    }
}

/// A version number: decimal digits without a leading zero, 1 to
/// `u32::MAX`.
fn parse_version(name: &[u8]) -> Option<u32> {
    if name.first() == Some(&b'0') || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name)
        .ok()?
        .parse()
        .ok()
        .filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(version: u32, key: &[u8], successor: Option<(u32, &[u8])>) -> Record {
        let successor = successor.map(|(n, key)| (n, digest(key)));
        let file = encode(version, key, successor.as_ref().map(|(n, d)| (*n, d)));
        decode(file, version).ok().unwrap()
    }

    #[test]
    fn records_round_trip_and_refuse_another_version() {
        let file = encode(7, b"key", Some((9, &digest(b"next"))));
        let decoded = decode(file.clone(), 7).ok().unwrap();
        assert_eq!(decoded.bytes.as_bytes(), b"key");
        assert_eq!(decoded.successor, Some((9, digest(b"next"))));
        assert!(matches!(decode(file, 8), Err(Malformed::Version(7))));
        let raw = decode(SecretBytes::from_slice(b"raw"), 3).ok().unwrap();
        assert!(raw.legacy && raw.successor.is_none());
        let mut cut = encode(1, b"k", None).as_bytes().to_vec();
        cut.truncate(RECORD_HEADER_LEN);
        assert!(matches!(
            decode(SecretBytes::from_slice(&cut), 1),
            Err(Malformed::Header)
        ));
    }

    #[test]
    fn the_key_file_stands_where_the_records_say() {
        let plain = |key: &[u8], highest| standing(key, None, highest).unwrap();
        assert_eq!(plain(b"k", None), Standing::NoHistory);
        let recorded = record(3, b"k", None);
        assert_eq!(plain(b"k", Some((3, &recorded))), Standing::Recorded(3));
        let rotated = record(3, b"old", Some((4, b"new")));
        assert_eq!(plain(b"new", Some((3, &rotated))), Standing::Successor(4));
        assert_eq!(plain(b"old", Some((3, &rotated))), Standing::Recorded(3));
        // A key file that the library did not write matches nothing.
        assert_eq!(plain(b"copied", Some((3, &rotated))), Standing::Orphaned);
        assert_eq!(plain(b"copied", Some((3, &recorded))), Standing::Orphaned);
        let legacy = decode(SecretBytes::from_slice(b"old"), 2).ok().unwrap();
        assert_eq!(plain(b"new", Some((2, &legacy))), Standing::Legacy(3));
        assert_eq!(plain(b"new", Some((u32::MAX, &legacy))), Standing::Orphaned);
    }

    #[test]
    fn a_sealed_key_file_stands_only_where_its_version_is_led_to() {
        let rotated = record(3, b"old", Some((4, b"new")));
        assert_eq!(
            standing(b"new", Some(4), Some((3, &rotated))),
            Ok(Standing::Successor(4))
        );
        assert_eq!(
            standing(b"old", Some(3), Some((3, &rotated))),
            Ok(Standing::Recorded(3))
        );
        // The same bytes rotated: the record names them as version 4.
        let same = record(3, b"k", Some((4, b"k")));
        assert_eq!(
            standing(b"k", Some(4), Some((3, &same))),
            Ok(Standing::Successor(4))
        );
        assert_eq!(
            standing(b"k", Some(3), Some((3, &same))),
            Ok(Standing::Recorded(3))
        );
        // An old version put back as current, or a claim nothing leads to.
        assert_eq!(standing(b"old", Some(2), Some((3, &rotated))), Err(2));
        assert_eq!(standing(b"new", Some(5), Some((3, &rotated))), Err(5));
        assert_eq!(standing(b"k", Some(7), None), Err(7));
        assert_eq!(standing(b"k", Some(1), None), Ok(Standing::NoHistory));
        assert_eq!(
            standing(b"fresh", Some(1), Some((3, &rotated))),
            Ok(Standing::Orphaned)
        );
    }

    #[test]
    fn entry_names_are_strict() {
        assert_eq!(parse_entry(b"1"), Some(Entry::Retained(1)));
        assert_eq!(parse_entry(b"4294967295"), Some(Entry::Retained(u32::MAX)));
        assert_eq!(parse_entry(b"12.staged"), Some(Entry::Staged(12)));
        assert_eq!(parse_entry(b".3.tmp"), Some(Entry::Temporary));
        for bad in [
            &b""[..],
            b"0",
            b"01",
            b"4294967296",
            b"1a",
            b"-1",
            b".",
            b"..",
            b"0.staged",
        ] {
            assert_eq!(parse_entry(bad), None, "{bad:?}");
        }
    }
}
