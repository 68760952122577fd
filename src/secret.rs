//! Heap buffers for key material that wipe themselves.

use std::fmt;
use std::ops::Deref;
use zeroize::Zeroizing;

/// Key bytes owned by the caller of the safe API.
///
/// The buffer is overwritten with zeros when the value is dropped, and is
/// never reallocated (which would leave an unwiped copy behind). `Debug`
/// prints only the length.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// A zero-filled secret of exactly `len` bytes, allocated once.
    pub(crate) fn zeroed(len: usize) -> Self {
        SecretBytes(Zeroizing::new(vec![0; len]))
    }

    /// A copy of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Self {
        SecretBytes(Zeroizing::new(bytes.to_vec()))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, writable (for filling a fresh secret).
    pub(crate) fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl Deref for SecretBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([redacted; {}])", self.0.len())
    }
}
