//! Tagged MACs made by a keyring: `0x01 || version (4 bytes, big-endian) ||
//! HMAC`, the format of the key store's tagged MACs (`crate::TaggedMac`),
//! byte for byte.

use crate::alg::{HashAlg, MAX_DIGEST_LEN};
use crate::hmac::Mac;
use crate::store::TAG_OVERHEAD;
use std::fmt;

/// The format byte that starts every tagged MAC.
const TAG_FORMAT: u8 = 0x01;

/// A MAC that names the key version that made it.
#[derive(Clone, Copy)]
pub struct KeyringTag {
    bytes: [u8; TAG_OVERHEAD + MAX_DIGEST_LEN],
    len: usize,
}

impl KeyringTag {
    /// The tag of `mac`, made with `version`.
    pub(crate) fn new(version: u32, mac: &Mac) -> KeyringTag {
        let mut bytes = [0; TAG_OVERHEAD + MAX_DIGEST_LEN];
        bytes[0] = TAG_FORMAT;
        bytes[1..TAG_OVERHEAD].copy_from_slice(&version.to_be_bytes());
        bytes[TAG_OVERHEAD..TAG_OVERHEAD + mac.len()].copy_from_slice(mac.as_bytes());
        KeyringTag {
            bytes,
            len: TAG_OVERHEAD + mac.len(),
        }
    }

    /// The whole tag.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The version of the key that made it.
    pub fn version(&self) -> u32 {
        u32::from_be_bytes([self.bytes[1], self.bytes[2], self.bytes[3], self.bytes[4]])
    }
}

impl fmt::Debug for KeyringTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyringTag(version {}, {} bytes)",
            self.version(),
            self.len
        )
    }
}

/// The version and the HMAC of a tag for `alg`, or why it is malformed.
pub(crate) fn split_tag(tag: &[u8], alg: HashAlg) -> Result<(u32, &[u8]), String> {
    let expected_len = TAG_OVERHEAD + alg.digest_len();
    if tag.len() != expected_len {
        return Err(format!(
            "it has {} bytes, a tagged HMAC-{} has {expected_len}",
            tag.len(),
            alg.name().to_ascii_uppercase()
        ));
    }
    if tag[0] != TAG_FORMAT {
        return Err(format!(
            "unknown format byte 0x{:02x} (expected 0x01)",
            tag[0]
        ));
    }
    let version = u32::from_be_bytes([tag[1], tag[2], tag[3], tag[4]]);
    Ok((version, &tag[TAG_OVERHEAD..]))
}
