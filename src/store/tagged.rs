//! Tagged MACs: `0x01 || version (4 bytes, big-endian) || HMAC`, a MAC that
//! names the key version that made it, so it keeps verifying across
//! rotations until that version is pruned.

use crate::alg::{HashAlg, MAX_DIGEST_LEN};
use crate::error::{Error, ErrorKind, Result};
use crate::hmac::{HmacStream, Mac};
use std::fmt;

/// Bytes a tagged MAC adds to the HMAC: a format byte (`0x01`) and the
/// version number (4 bytes, big-endian).
pub const TAG_OVERHEAD: usize = 5;

/// The format byte that starts every tagged MAC.
const TAG_FORMAT: u8 = 0x01;

/// A MAC that names the key version that made it:
/// `0x01 || version (4 bytes, big-endian) || HMAC`.
#[derive(Clone, Copy)]
pub struct TaggedMac {
    bytes: [u8; TAG_OVERHEAD + MAX_DIGEST_LEN],
    len: usize,
}

impl TaggedMac {
    /// The tag of `mac`, made with `version`.
    pub(crate) fn new(version: u32, mac: &Mac) -> TaggedMac {
        let mut bytes = [0; TAG_OVERHEAD + MAX_DIGEST_LEN];
        bytes[0] = TAG_FORMAT;
        bytes[1..TAG_OVERHEAD].copy_from_slice(&version.to_be_bytes());
        bytes[TAG_OVERHEAD..TAG_OVERHEAD + mac.len()].copy_from_slice(mac.as_bytes());
        TaggedMac {
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

impl AsRef<[u8]> for TaggedMac {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for TaggedMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TaggedMac(version {}, {} bytes)",
            self.version(),
            self.len
        )
    }
}

/// A tagged MAC computed over data that arrives in pieces, made with the
/// key version that was current when the stream started.
#[derive(Debug)]
pub struct TaggedHmacStream {
    version: u32,
    stream: HmacStream,
}

impl TaggedHmacStream {
    pub(super) fn new(version: u32, stream: HmacStream) -> TaggedHmacStream {
        TaggedHmacStream { version, stream }
    }

    /// The key version this stream MACs with.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Feeds `data` to the MAC.
    pub fn update(&mut self, data: &[u8]) {
        self.stream.update(data);
    }

    /// The tagged MAC of everything fed.
    pub fn finish(mut self) -> TaggedMac {
        TaggedMac::new(self.version, &self.stream.finish())
    }
}

/// The check of one tagged MAC over data that arrives in pieces.
#[derive(Debug)]
pub struct TaggedVerifier {
    /// The keyed stream and the MAC part of the tag, or why the tag cannot
    /// verify whatever the data (bad format, unknown version).
    check: std::result::Result<(HmacStream, Mac), String>,
}

impl TaggedVerifier {
    pub(super) fn new(check: std::result::Result<(HmacStream, Mac), String>) -> TaggedVerifier {
        TaggedVerifier { check }
    }

    /// Feeds `data` to the check.
    pub fn update(&mut self, data: &[u8]) {
        if let Ok((stream, _)) = &mut self.check {
            stream.update(data);
        }
    }

    /// Whether the tag is the tagged MAC of everything fed, compared in
    /// constant time in the MAC.
    ///
    /// # Errors
    /// [`ErrorKind::VerifyFailed`] for a bad format byte, a wrong length, an
    /// unknown or pruned version, or a MAC mismatch.
    pub fn finish(self) -> Result<()> {
        match self.check {
            Ok((mut stream, mac)) => stream.finish_verify(mac.as_bytes()),
            Err(why) => Err(Error::new(
                ErrorKind::VerifyFailed,
                format!("tagged MAC verification failed: {why}"),
            )),
        }
    }
}

/// Splits a tagged MAC for `alg` into its version and its HMAC, or says why
/// it is malformed.
pub(crate) fn split_tag(tag: &[u8], alg: HashAlg) -> std::result::Result<(u32, Mac), String> {
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
    Ok((version, Mac::from_slice(&tag[TAG_OVERHEAD..])))
}
