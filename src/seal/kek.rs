//! The key-encryption key (KEK) and its public identifier.

use crate::alg::HashAlg;
use crate::error::Result;
#[cfg(test)]
use crate::error::{Error, ErrorKind};
use crate::hmac::hmac;
use crate::sys::mem::LockedBox;
use std::fmt;

/// Length of a KEK in bytes: a 256-bit XChaCha20-Poly1305 key.
pub(crate) const KEK_LEN: usize = 32;

/// Length of a [`KekId`] in bytes.
pub(crate) const KEK_ID_LEN: usize = 8;

/// The message the KEK id is the HMAC-SHA256 of, under the KEK. Changing it
/// changes every KEK id, so it carries a version.
const KEK_ID_LABEL: &[u8] = b"codomyrmex_keys kek id v1";

/// The bytes of a KEK, in locked pages of their own that are left out of
/// core dumps (as a keyring's keys are; see `sys::mem`), so moving a
/// [`Kek`] copies no key bytes; the pages are zeroed when dropped.
pub(super) type KekBytes = LockedBox<[u8; KEK_LEN]>;

/// A key-encryption key: exactly [`KEK_LEN`] secret bytes that seal and
/// unseal key files, with its [`KekId`].
///
/// The bytes live in locked, non-dumpable memory and are wiped when the
/// `Kek` is dropped; `Debug` shows only the id.
pub(crate) struct Kek {
    /// The secret bytes.
    bytes: KekBytes,
    /// Their public identifier, computed once.
    id: KekId,
}

impl Kek {
    /// A KEK holding a copy of `bytes`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] unless `bytes` is exactly
    /// [`KEK_LEN`] bytes long.
    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Kek> {
        if bytes.len() != KEK_LEN {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "a KEK must be exactly {KEK_LEN} bytes; {} bytes were given",
                    bytes.len()
                ),
            ));
        }
        let mut kek = zeroed_kek_bytes()?;
        kek.copy_from_slice(bytes);
        Ok(Kek::from_kek_bytes(kek))
    }

    /// A KEK owning `bytes`, which already hold the key.
    pub(super) fn from_kek_bytes(bytes: KekBytes) -> Kek {
        let id = KekId::derive(&bytes[..]);
        Kek { bytes, id }
    }

    /// The KEK's public identifier, written into every file it seals.
    pub(crate) fn id(&self) -> KekId {
        self.id
    }

    /// The secret bytes.
    pub(super) fn as_bytes(&self) -> &[u8; KEK_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kek {{ id: {} }}", self.id)
    }
}

/// A zero-filled buffer for a KEK in locked memory, to be filled in place.
///
/// # Errors
/// [`crate::ErrorKind::Io`] if the pages cannot be mapped or left out of
/// core dumps.
pub(super) fn zeroed_kek_bytes() -> Result<KekBytes> {
    LockedBox::new_with(|| [0; KEK_LEN])
}

/// The public identifier of a KEK: the first [`KEK_ID_LEN`] bytes of
/// HMAC-SHA256(KEK, "codomyrmex_keys kek id v1").
///
/// It names the KEK in sealed files and in error messages, so an operator
/// can tell which KEK a file needs. It is a one-way function of the KEK and
/// reveals nothing usable about it; 64 bits make an accidental collision
/// between two KEKs of one deployment negligible (and a collision would only
/// turn "wrong KEK" into "failed authentication").
///
/// `Display` writes 16 lowercase hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct KekId([u8; KEK_ID_LEN]);

impl KekId {
    /// The id of the KEK `kek`.
    fn derive(kek: &[u8]) -> KekId {
        let mac = hmac(HashAlg::Sha256, kek, KEK_ID_LABEL);
        let mut id = [0; KEK_ID_LEN];
        id.copy_from_slice(&mac.as_bytes()[..KEK_ID_LEN]);
        KekId(id)
    }

    /// The id as read from a sealed file's header.
    pub(super) fn from_array(bytes: [u8; KEK_ID_LEN]) -> KekId {
        KekId(bytes)
    }

    /// The id's bytes, as written into a sealed file's header.
    pub(super) fn as_array(&self) -> &[u8; KEK_ID_LEN] {
        &self.0
    }
}

impl fmt::Display for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KekId({self})")
    }
}
