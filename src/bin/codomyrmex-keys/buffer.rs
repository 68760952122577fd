//! Secret output built in place: a buffer allocated once at its exact final
//! size and wiped when dropped, so that building a manifest, a keyset or a
//! serialized key never leaves a copy behind in memory that a reallocation
//! freed.

use crate::encoding::{base64_len, encode_base64_into};
use crate::failure::Failure;
use zeroize::Zeroizing;

/// Bytes written by a builder function that runs twice: once to measure,
/// once to write into a buffer of exactly the measured size.
pub struct SecretBuffer {
    /// `None` while measuring.
    bytes: Option<Zeroizing<Vec<u8>>>,
    /// Bytes pushed so far.
    len: usize,
}

impl SecretBuffer {
    /// Runs `write` to measure its output, then again into a buffer of that
    /// exact size. `write` must push the same bytes both times.
    pub fn build(
        mut write: impl FnMut(&mut SecretBuffer) -> Result<(), Failure>,
    ) -> Result<SecretBuffer, Failure> {
        let mut measure = SecretBuffer {
            bytes: None,
            len: 0,
        };
        write(&mut measure)?;
        let mut buffer = SecretBuffer {
            bytes: Some(Zeroizing::new(Vec::with_capacity(measure.len))),
            len: 0,
        };
        write(&mut buffer)?;
        if buffer.len != measure.len {
            return Err(Failure::internal(
                "a builder wrote a different length twice",
            ));
        }
        Ok(buffer)
    }

    /// The bytes written.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Appends `text`.
    pub fn push(&mut self, text: &str) -> Result<(), Failure> {
        self.push_bytes(text.as_bytes())
    }

    /// Appends `bytes`.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let measuring = self.bytes.is_none();
        let tail = self.grow(bytes.len())?;
        if !measuring {
            tail.copy_from_slice(bytes);
        }
        Ok(())
    }

    /// Appends the standard, padded base64 encoding of `bytes`.
    pub fn push_base64(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        let measuring = self.bytes.is_none();
        let tail = self.grow(base64_len(bytes.len()))?;
        if measuring {
            return Ok(());
        }
        encode_base64_into(bytes, tail)
    }

    /// Reserves `n` more bytes and returns them (empty while measuring),
    /// refusing to outgrow the buffer's capacity.
    fn grow(&mut self, n: usize) -> Result<&mut [u8], Failure> {
        self.len += n;
        let Some(bytes) = self.bytes.as_mut() else {
            return Ok(&mut []);
        };
        let start = bytes.len();
        if self.len > bytes.capacity() {
            return Err(Failure::internal(
                "a builder wrote more than it measured; refusing to reallocate secret bytes",
            ));
        }
        bytes.resize(self.len, 0);
        Ok(&mut bytes[start..])
    }
}
