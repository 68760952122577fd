//! The layout of a sealed file: its header (everything before the
//! ciphertext, authenticated as associated data) and how a file is split
//! into header, ciphertext and tag before anything is decrypted.

use super::kek::{Kek, KekId};
use super::{
    AEAD_XCHACHA20_POLY1305, FIXED_HEADER_LEN, FORMAT_VERSION, MAGIC, MAX_SEALED_LEN, NONCE_LEN,
    TAG_LEN, Target, sealed_overhead,
};
use crate::error::Result;

/// The header of a sealed file (everything before the ciphertext).
pub(super) struct Header<'a> {
    /// The id of the KEK the file is sealed under.
    pub(super) kek_id: KekId,
    /// The id of the key sealed (as read: any bytes).
    pub(super) key_id: &'a [u8],
    /// The version of the key sealed.
    pub(super) version: u32,
    /// The AEAD nonce.
    pub(super) nonce: [u8; NONCE_LEN],
}

impl Header<'_> {
    /// Its length in bytes.
    pub(super) fn len(&self) -> usize {
        FIXED_HEADER_LEN + self.key_id.len()
    }

    /// Appends its bytes to `out`. The key id is valid, so its length fits
    /// the length byte.
    pub(super) fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION);
        out.push(AEAD_XCHACHA20_POLY1305);
        out.extend_from_slice(self.kek_id.as_array());
        out.push(u8::try_from(self.key_id.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(self.key_id);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.nonce);
    }
}

/// A sealed file split into its parts; nothing authenticated yet.
pub(super) struct Sealed<'a> {
    /// The header's fields.
    pub(super) header: Header<'a>,
    /// The header's bytes: the associated data.
    pub(super) aad: &'a [u8],
    /// The encrypted key.
    pub(super) ciphertext: &'a [u8],
    /// The Poly1305 tag over the header and the ciphertext.
    pub(super) tag: &'a [u8; TAG_LEN],
}

impl<'a> Sealed<'a> {
    /// Splits `file`, or says why it is not a sealed file this code reads.
    pub(super) fn parse(file: &'a [u8]) -> std::result::Result<Sealed<'a>, String> {
        if file.len() > MAX_SEALED_LEN {
            return Err(format!(
                "sealed file has {} bytes, over the limit of {MAX_SEALED_LEN}",
                file.len()
            ));
        }
        let mut reader = Reader { rest: file };
        let truncated = || truncated(file.len());
        if reader.take(MAGIC.len()).ok_or_else(truncated)? != MAGIC {
            return Err("not a sealed file (no sealed-file magic)".to_string());
        }
        let [format] = reader.array().ok_or_else(truncated)?;
        if format != FORMAT_VERSION {
            return Err(format!(
                "sealed file has format version {format}; this library reads version {FORMAT_VERSION}"
            ));
        }
        let [aead] = reader.array().ok_or_else(truncated)?;
        if aead != AEAD_XCHACHA20_POLY1305 {
            return Err(format!(
                "sealed file names AEAD {aead}, unknown to this library"
            ));
        }
        let kek_id = KekId::from_array(reader.array().ok_or_else(truncated)?);
        let [key_id_len] = reader.array().ok_or_else(truncated)?;
        let key_id = reader.take(usize::from(key_id_len)).ok_or_else(truncated)?;
        let version = u32::from_be_bytes(reader.array().ok_or_else(truncated)?);
        let nonce = reader.array().ok_or_else(truncated)?;
        let aad = &file[..file.len() - reader.rest.len()];
        // At least one key byte: no key is empty.
        if reader.rest.len() <= TAG_LEN {
            return Err(truncated());
        }
        let (ciphertext, tag) = reader.rest.split_at(reader.rest.len() - TAG_LEN);
        let tag = tag.try_into().map_err(|_| truncated())?;
        let header = Header {
            kek_id,
            key_id,
            version,
            nonce,
        };
        Ok(Sealed {
            header,
            aad,
            ciphertext,
            tag,
        })
    }

    /// Refuses a file whose header names another key id or version.
    pub(super) fn check_target(&self, target: &Target<'_>) -> Result<()> {
        let header = &self.header;
        if header.key_id == target.key_id.as_bytes() && header.version == target.version {
            return Ok(());
        }
        Err(target.corrupt(&format!(
            "sealed for another key (the file holds key '{}' version {})",
            header.key_id.escape_ascii(),
            header.version
        )))
    }

    /// The KEK to open the file with: `kek` if it is the one the header
    /// names, else an error naming the KEK ids.
    pub(super) fn check_kek<'k>(
        &self,
        kek: Option<&'k Kek>,
        target: &Target<'_>,
    ) -> Result<&'k Kek> {
        let needed = self.header.kek_id;
        match kek {
            Some(kek) if kek.id() == needed => Ok(kek),
            Some(kek) => Err(target.corrupt(&format!(
                "sealed under KEK {needed}, but the KEK given is {}; open the key store with KEK {needed}",
                kek.id()
            ))),
            None => Err(target.corrupt(&format!(
                "sealed under KEK {needed}, and no KEK was given; open the key store with KEK {needed}"
            ))),
        }
    }
}

/// The message for a file too short to be a sealed file.
fn truncated(len: usize) -> String {
    format!(
        "sealed file is truncated ({len} bytes; the smallest is {})",
        sealed_overhead(1) + 1
    )
}

/// Reads fields off the front of a byte string.
struct Reader<'a> {
    /// What is left to read.
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// The next `len` bytes, or `None` if fewer remain.
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let (field, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        Some(field)
    }

    /// The next `N` bytes as an array, or `None` if fewer remain.
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}
