//! Version records as the library writes them, `.versions/<id>/<n>`: the
//! magic `\x89CDMXVR\n`, a format byte (1), the record's own version and its
//! successor's (4 bytes each, big-endian, 0 for none), a 32-byte digest of
//! the successor's key, then the key. A file without the magic is a record
//! of release 1.0: the raw key bytes.

use std::path::Path;

/// The first bytes of every record written since release 1.1.
pub const RECORD_MAGIC: &[u8; 8] = b"\x89CDMXVR\n";
/// Bytes before the key in a record.
pub const RECORD_HEADER_LEN: usize = 8 + 1 + 4 + 4 + 32;
/// Domain separation of the successor digest.
const DIGEST_CONTEXT: &[u8] = b"codomyrmex_keys successor v1\0";

/// A decoded record file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The version the record says it holds (`None` for a 1.0 record).
    pub version: Option<u32>,
    /// The version that replaced it and the digest of that key, if known.
    pub successor: Option<(u32, [u8; 32])>,
    /// The key bytes of the version.
    pub key: Vec<u8>,
}

/// Decodes the content of a record file; panics on a damaged header, so a
/// test never mistakes one for key bytes.
pub fn decode_record(file: &[u8]) -> Record {
    let Some(rest) = file.strip_prefix(RECORD_MAGIC) else {
        return Record {
            version: None,
            successor: None,
            key: file.to_vec(),
        };
    };
    assert!(
        file.len() > RECORD_HEADER_LEN && rest[0] == 1,
        "a damaged record header ({} bytes, format {:?})",
        file.len(),
        rest.first()
    );
    let number = |at: usize| u32::from_be_bytes(file[at..at + 4].try_into().unwrap());
    let successor = match number(13) {
        0 => None,
        next => Some((next, file[17..RECORD_HEADER_LEN].try_into().unwrap())),
    };
    Record {
        version: Some(number(9)),
        successor,
        key: file[RECORD_HEADER_LEN..].to_vec(),
    }
}

/// Reads and decodes the record file at `path`.
pub fn read_record(path: &Path) -> Record {
    let file = std::fs::read(path)
        .unwrap_or_else(|e| panic!("cannot read record {}: {e}", path.display()));
    decode_record(&file)
}

/// The key bytes held by the record file at `path`.
pub fn record_key(path: &Path) -> Vec<u8> {
    read_record(path).key
}

/// The digest a record keeps of the key that replaced it.
pub fn successor_digest(key: &[u8]) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    context.update(DIGEST_CONTEXT);
    context.update(key);
    context.finish().as_ref().try_into().unwrap()
}

/// The content of a record of `version` holding `key`, replaced by
/// `successor` (its number and key), as the library writes it.
pub fn encode_record(version: u32, key: &[u8], successor: Option<(u32, &[u8])>) -> Vec<u8> {
    let mut file = RECORD_MAGIC.to_vec();
    file.push(1);
    file.extend_from_slice(&version.to_be_bytes());
    match successor {
        Some((next, next_key)) => {
            file.extend_from_slice(&next.to_be_bytes());
            file.extend_from_slice(&successor_digest(next_key));
        }
        None => file.extend_from_slice(&[0; 36]),
    }
    file.extend_from_slice(key);
    file
}
