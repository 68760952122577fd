//! Keys sealed at rest: key files encrypted under a key-encryption key
//! (KEK), so that a backup, a disk image or a copied key directory reveals
//! no key.
//!
//! - [`Kek`]: 32 secret bytes, read once from a private file
//!   ([`Kek::load_file`]) or a systemd credential
//!   ([`Kek::load_credential`]) straight into locked memory left out of
//!   core dumps, wiped on drop, known by its [`KekId`].
//! - [`seal`] turns a key into the bytes of a sealed file; [`unseal`] gives
//!   the key back only if the file is intact, was sealed for that key id
//!   and version, and under that KEK.
//! - [`is_sealed`] tells a sealed file from the raw key bytes of the
//!   original layout, which stay readable.
//!
//! A sealed file is a header (magic, format version, AEAD id, KEK id, key
//! id, version number, nonce) and the key encrypted with XChaCha20-Poly1305,
//! the header being the associated data. SECURITY.md ("Sealed files") describes
//! it byte by byte, with a test vector. In short:
//!
//! ```text
//! offset     length  field
//! 0          8       magic 89 43 44 58 53 45 41 4c ("\x89CDXSEAL")
//! 8          1       format version, 1
//! 9          1       AEAD id, 1 = XChaCha20-Poly1305
//! 10         8       KEK id
//! 18         1       key-id length n (1 to 128)
//! 19         n       key id (ASCII)
//! 19+n       4       version number, u32 big-endian
//! 23+n       24      nonce
//! 47+n       m       ciphertext of the m key bytes
//! 47+n+m     16      Poly1305 tag
//! ```
//!
//! The associated data is the header, bytes 0 to 47+n: every field is
//! authenticated.

mod format;
mod kek;
mod kek_file;
#[cfg(test)]
mod tests;

pub(crate) use kek::{Kek, KekId};
pub(crate) use kek_file::check_credential_name;

use format::{Header, Sealed};
use kek::KEK_ID_LEN;

use crate::error::{Error, ErrorKind, Result};
use crate::random::random_bytes;
use crate::secret::{SecretBytes, scrubbed, stack};
use crate::store::{MAX_KEY_ID_LEN, MAX_KEY_LEN, validate_key_id};
use chacha20poly1305::{AeadInOut, KeyInit, XChaCha20Poly1305};
use std::fmt;
use zeroize::Zeroizing;

/// The first bytes of every sealed file. 0x89 is not ASCII, so no text key
/// starts with it; the rest spells `CDXSEAL`.
pub(crate) const MAGIC: [u8; 8] = *b"\x89CDXSEAL";

/// The format version this code writes and reads.
pub(crate) const FORMAT_VERSION: u8 = 1;

/// AEAD id of XChaCha20-Poly1305 (the only one so far).
pub(crate) const AEAD_XCHACHA20_POLY1305: u8 = 1;

/// Length of the XChaCha20-Poly1305 nonce.
pub(crate) const NONCE_LEN: usize = 24;

/// Length of the Poly1305 tag.
pub(crate) const TAG_LEN: usize = 16;

/// Header bytes besides the key id: magic, format version, AEAD id, KEK id,
/// key-id length, version number, nonce.
const FIXED_HEADER_LEN: usize = MAGIC.len() + 1 + 1 + KEK_ID_LEN + 1 + 4 + NONCE_LEN;

/// Bytes a sealed file adds to a key whose id has `key_id_len` bytes.
pub(crate) const fn sealed_overhead(key_id_len: usize) -> usize {
    FIXED_HEADER_LEN + key_id_len + TAG_LEN
}

/// The most bytes one sealed file holds: a key of [`MAX_KEY_LEN`] bytes and
/// room for the few bytes of metadata a version record keeps with it.
pub(crate) const MAX_PAYLOAD_LEN: usize = MAX_KEY_LEN + 64;

/// The largest sealed file: the largest payload under the longest key id.
/// A key store reading sealed files must allow files this large.
pub(crate) const MAX_SEALED_LEN: usize = MAX_PAYLOAD_LEN + sealed_overhead(MAX_KEY_ID_LEN);

/// Whether `bytes` (a key file's content) is a sealed file rather than the
/// raw key bytes the original layout stores: whether it starts with
/// [`MAGIC`].
///
/// A raw random key starts with the magic with probability 2^-64; such a
/// key would then be read as a sealed file and refused as
/// [`ErrorKind::Corrupt`] (its "header" fails the format, KEK or
/// authentication checks), never returned as a wrong key.
pub(crate) fn is_sealed(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Whether `bytes` starts with the sealed-file magic with one byte altered:
/// a sealed file damaged in its first bytes, which must be refused rather
/// than read as a plain key. A raw random key does so with probability
/// about 2^-53.
pub(crate) fn is_damaged_seal(bytes: &[u8]) -> bool {
    let Some(head) = bytes.get(..MAGIC.len()) else {
        return false;
    };
    let matching = head.iter().zip(MAGIC).filter(|(a, b)| *a == b).count();
    matching + 1 == MAGIC.len()
}

/// Seals `key`, version `version` of the key `key_id`, under `kek` with a
/// fresh random nonce; returns the file's bytes.
///
/// # Errors
/// As [`seal_with_nonce`]; [`ErrorKind::Io`] if the system's random number
/// generator fails.
pub(crate) fn seal(kek: &Kek, key_id: &str, version: u32, key: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0; NONCE_LEN];
    random_bytes(&mut nonce)?;
    seal_with_nonce(kek, key_id, version, key, &nonce)
}

/// [`seal`] with the given nonce. A nonce must never be used twice under
/// one KEK: only known-answer tests choose it.
///
/// # Errors
/// [`ErrorKind::InvalidKeyId`] for a key id that breaks the key-id rule;
/// [`ErrorKind::InvalidArgument`] for version 0 or a payload that is empty
/// or over [`MAX_PAYLOAD_LEN`] bytes.
pub(crate) fn seal_with_nonce(
    kek: &Kek,
    key_id: &str,
    version: u32,
    key: &[u8],
    nonce: &[u8; NONCE_LEN],
) -> Result<Vec<u8>> {
    validate_key_id(key_id.as_bytes())?;
    if version == 0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("cannot seal key '{key_id}' as version 0; versions start at 1"),
        ));
    }
    if key.is_empty() || key.len() > MAX_PAYLOAD_LEN {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "cannot seal key '{key_id}': it has {} bytes, a sealed file holds 1 to {MAX_PAYLOAD_LEN}",
                key.len()
            ),
        ));
    }
    let header = Header {
        kek_id: kek.id(),
        key_id: key_id.as_bytes(),
        version,
        nonce: *nonce,
    };
    // Allocated once at its final size, so no reallocation leaves a copy of
    // the key behind; wiped if encryption fails with the key still in it.
    let mut file = Zeroizing::new(Vec::with_capacity(header.len() + key.len() + TAG_LEN));
    header.write_to(&mut file);
    let header_len = file.len();
    file.extend_from_slice(key);
    let (aad, body) = file.split_at_mut(header_len);
    let tag = encrypt(kek, nonce, aad, body)?;
    file.extend_from_slice(&tag);
    Ok(std::mem::take(&mut *file))
}

/// Opens the sealed `file` expected to hold version `version` of the key
/// `key_id`, with `kek` (`None`: the store was opened without a KEK).
///
/// The header is checked before any decryption, so a file moved to
/// another key id or version, or sealed under another KEK, is named as
/// such; then the AEAD authenticates the whole file.
///
/// # Errors
/// [`ErrorKind::Corrupt`] with a one-line message (never key material) for
/// a file that is not a sealed file of a known format, is truncated, is
/// "sealed for another key", needs a KEK that was not given or another KEK
/// than the one given (naming the KEK ids), or fails authentication.
pub(crate) fn unseal(
    kek: Option<&Kek>,
    key_id: &str,
    version: u32,
    file: &[u8],
) -> Result<SecretBytes> {
    let target = Target { key_id, version };
    let sealed = Sealed::parse(file).map_err(|why| target.corrupt(&why))?;
    sealed.check_target(&target)?;
    let kek = sealed.check_kek(kek, &target)?;
    let mut key = SecretBytes::from_slice(sealed.ciphertext);
    decrypt(
        kek,
        &sealed.header.nonce,
        sealed.aad,
        key.as_mut_bytes(),
        sealed.tag,
    )
    .map_err(|()| target.corrupt("sealed file failed authentication (altered or damaged)"))?;
    Ok(key)
}

/// The version number the sealed `file` says it holds, read without a KEK
/// (so not yet authenticated: [`unseal`] with that number authenticates
/// it).
///
/// # Errors
/// [`ErrorKind::Corrupt`] if `file` is not a sealed file of a known format,
/// or names another key id than `key_id`.
pub(crate) fn claimed_version(key_id: &str, file: &[u8]) -> Result<u32> {
    let sealed = Sealed::parse(file)
        .map_err(|why| Error::new(ErrorKind::Corrupt, format!("key '{key_id}': {why}")))?;
    let header = &sealed.header;
    if header.key_id != key_id.as_bytes() {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "key '{key_id}': sealed for another key (the file holds key '{}' version {})",
                header.key_id.escape_ascii(),
                header.version
            ),
        ));
    }
    Ok(header.version)
}

/// The id of the KEK the sealed `file` names, if it parses as one.
pub(crate) fn kek_id_of(file: &[u8]) -> Option<KekId> {
    Sealed::parse(file).ok().map(|sealed| sealed.header.kek_id)
}

/// The key a caller expects a sealed file to hold, for checks and messages.
struct Target<'a> {
    /// The key id the caller asked for.
    key_id: &'a str,
    /// The version the caller asked for.
    version: u32,
}

impl Target<'_> {
    /// A [`ErrorKind::Corrupt`] error about this key saying `why`.
    fn corrupt(&self, why: &str) -> Error {
        Error::new(ErrorKind::Corrupt, format!("{self}: {why}"))
    }
}

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "key '{}' version {}",
            self.key_id.escape_debug(),
            self.version
        )
    }
}

/// Encrypts `buffer` in place under `kek` and returns the tag. The cipher's
/// copies of the key and its stack are wiped before returning.
fn encrypt(
    kek: &Kek,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buffer: &mut [u8],
) -> Result<[u8; TAG_LEN]> {
    scrubbed::<{ stack::SEAL }, _>(|| {
        let cipher = XChaCha20Poly1305::new(kek.as_bytes().into());
        cipher
            .encrypt_inout_detached(nonce.into(), aad, buffer.into())
            .map(Into::into)
            .map_err(|_| Error::new(ErrorKind::InvalidArgument, "key too long for the AEAD"))
    })
}

/// Decrypts `buffer` in place under `kek` if `tag` authenticates it and
/// `aad`; on failure `buffer` still holds the ciphertext. The cipher's
/// copies of the key and its stack are wiped before returning.
fn decrypt(
    kek: &Kek,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buffer: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> std::result::Result<(), ()> {
    scrubbed::<{ stack::SEAL }, _>(|| {
        let cipher = XChaCha20Poly1305::new(kek.as_bytes().into());
        cipher
            .decrypt_inout_detached(nonce.into(), aad, buffer.into(), tag.into())
            .map_err(|_| ())
    })
}
