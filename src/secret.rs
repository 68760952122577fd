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

/// Bytes of stack below the caller that [`scrubbed`] overwrites: more than
/// the deepest call of the HMAC, SHA-2 and HKDF code it wraps uses (about
/// 2 KiB optimised; unoptimised builds use several times that).
const SCRUB_BYTES: usize = if cfg!(debug_assertions) {
    32 * 1024
} else {
    4 * 1024
};

/// Runs `work` in a stack frame of its own, then overwrites with zeros the
/// stack it used. The HMAC, SHA-2 and HKDF crates keep keyed state, padded
/// key blocks and PRKs in local variables they do not wipe, and Rust leaves
/// copies behind when it moves values; this clears them before returning.
#[inline(always)]
pub(crate) fn scrubbed<T>(work: impl FnOnce() -> T) -> T {
    let result = in_own_frame(work);
    wipe_stack_below();
    result
}

#[inline(never)]
fn in_own_frame<T>(work: impl FnOnce() -> T) -> T {
    work()
}

/// Zeroes [`SCRUB_BYTES`] of stack: this function's frame starts where the
/// frame of the call that just returned started.
#[inline(never)]
fn wipe_stack_below() {
    let mut area = std::mem::MaybeUninit::<[u8; SCRUB_BYTES]>::uninit();
    // SAFETY: writes zeros into this local only.
    unsafe { area.as_mut_ptr().write_bytes(0, 1) };
    // The compiler must assume the zeros are read, so it cannot drop them.
    std::hint::black_box(&mut area);
}
