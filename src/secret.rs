//! Heap buffers for key material that wipe themselves.

use crate::alg::HashAlg;
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

/// Bytes of stack every scrub overwrites in an unoptimised build, whatever
/// the operation: unoptimised code uses several times the stack of the
/// release build, and nobody measures its speed.
const DEBUG_SCRUB_BYTES: usize = 32 * 1024;

/// The stack an operation may use in a release build, or the debug scrub.
const fn budget(release_bytes: usize) -> usize {
    if cfg!(debug_assertions) {
        DEBUG_SCRUB_BYTES
    } else {
        release_bytes
    }
}

/// How many bytes of stack below the caller each kind of operation is
/// scrubbed of: the deepest write measured (`crate::stack_depth` tests, on
/// every operation, algorithm and input shape, with the SHA-NI/AVX2 and
/// the portable SHA-2 back ends) plus about 25%, rounded up to 256 bytes.
/// Measured in release builds (SHA-NI/AVX2 · portable): one-shot HMAC
/// 1168 · 1304 (SHA-256), 2632 · 1992 (SHA-384/512); streams 2656 · 2792,
/// 3864 · 3208; precomputed keys 1120 · 1256, 2584 · 1944; HKDF
/// 1824 · 2056, 3208 · 2824. A test fails when a measured depth exceeds its
/// budget, so a dependency upgrade that deepens the stack cannot go
/// unnoticed.
pub(crate) mod stack {
    use super::budget;

    /// One-shot HMAC and its verification over SHA-256.
    pub(crate) const HMAC_SHA256: usize = budget(1792);
    /// One-shot HMAC over SHA-384 or SHA-512.
    pub(crate) const HMAC_SHA512: usize = budget(3328);
    /// A step of an HMAC stream (new, update, finish, clone) over SHA-256.
    pub(crate) const STREAM_SHA256: usize = budget(3584);
    /// A step of an HMAC stream over SHA-384 or SHA-512.
    pub(crate) const STREAM_SHA512: usize = budget(4864);
    /// A MAC with a precomputed key (and making one) over SHA-256.
    pub(crate) const KEY_SHA256: usize = budget(1792);
    /// A MAC with a precomputed key over SHA-384 or SHA-512.
    pub(crate) const KEY_SHA512: usize = budget(3328);
    /// HKDF over SHA-256: derive, extract, expand.
    pub(crate) const HKDF_SHA256: usize = budget(2560);
    /// HKDF over SHA-384 or SHA-512.
    pub(crate) const HKDF_SHA512: usize = budget(4096);
    /// Sealing or unsealing a key file (XChaCha20-Poly1305 over up to
    /// 64 KiB, in place): 2784 bytes measured, about 50 KiB unoptimised.
    pub(crate) const SEAL: usize = if cfg!(debug_assertions) {
        96 * 1024
    } else {
        3584
    };
    /// The digest that binds a version record to its successor (SHA-256 of
    /// a key): 512 bytes measured.
    pub(crate) const DIGEST: usize = budget(768);
    /// Building a keyring's key set: every version's key absorbed, and
    /// moved into locked pages (mapping them included): 4216 bytes
    /// measured, 36 KiB unoptimised. Rare, so generous.
    pub(crate) const KEY_SET: usize = if cfg!(debug_assertions) {
        64 * 1024
    } else {
        16 * 1024
    };
}

/// The kinds of scrubbed operation, each with a budget per algorithm.
#[derive(Clone, Copy)]
pub(crate) enum Op {
    /// One-shot HMAC.
    Hmac,
    /// A step of an HMAC stream.
    Stream,
    /// A precomputed HMAC key: made, or used for a MAC.
    Key,
    /// HKDF.
    Hkdf,
}

/// Runs `work` in a stack frame of its own, then overwrites with zeros the
/// `STACK` bytes of stack below the caller that it may have used (a budget
/// from [`stack`]). The HMAC, SHA-2 and HKDF crates keep keyed state,
/// padded key blocks and PRKs in local variables they do not wipe, and Rust
/// leaves copies behind when it moves values; this clears them before
/// returning.
#[inline(always)]
pub(crate) fn scrubbed<const STACK: usize, T>(work: impl FnOnce() -> T) -> T {
    #[cfg(test)]
    let probe = depth_probe::paint_if_armed();
    let result = in_own_frame(work);
    #[cfg(test)]
    let deepest_write = depth_probe::deepest_write(&probe);
    let _lowest_wiped = wipe_stack_below::<STACK>();
    #[cfg(test)]
    depth_probe::record(probe, deepest_write, _lowest_wiped, STACK);
    result
}

/// [`scrubbed`] with the budget of `op` over `alg`.
#[inline(always)]
pub(crate) fn scrubbed_op<T>(op: Op, alg: HashAlg, work: impl FnOnce() -> T) -> T {
    let wide = alg != HashAlg::Sha256;
    match (op, wide) {
        (Op::Hmac, false) => scrubbed::<{ stack::HMAC_SHA256 }, T>(work),
        (Op::Hmac, true) => scrubbed::<{ stack::HMAC_SHA512 }, T>(work),
        (Op::Stream, false) => scrubbed::<{ stack::STREAM_SHA256 }, T>(work),
        (Op::Stream, true) => scrubbed::<{ stack::STREAM_SHA512 }, T>(work),
        (Op::Key, false) => scrubbed::<{ stack::KEY_SHA256 }, T>(work),
        (Op::Key, true) => scrubbed::<{ stack::KEY_SHA512 }, T>(work),
        (Op::Hkdf, false) => scrubbed::<{ stack::HKDF_SHA256 }, T>(work),
        (Op::Hkdf, true) => scrubbed::<{ stack::HKDF_SHA512 }, T>(work),
    }
}

#[inline(never)]
fn in_own_frame<T>(work: impl FnOnce() -> T) -> T {
    work()
}

/// Zeroes `BYTES` bytes of stack: this function's frame starts where the
/// frame of the call that just returned started. Returns the lowest
/// address zeroed (which the tests' depth probe compares with the deepest
/// write of the work).
#[inline(never)]
fn wipe_stack_below<const BYTES: usize>() -> usize {
    let mut area = [0u8; BYTES];
    // The compiler must assume the zeros are read, so it cannot drop them.
    std::hint::black_box(&mut area);
    area.as_ptr() as usize
}

/// Tests only: measures the stack each scrubbed call really used.
///
/// While a thread has armed the probe, every [`scrubbed`] call on it first
/// paints the stack below with a pattern (in a frame placed like the one
/// the work will use), and after the work records how far down the pattern
/// was overwritten, beside the budget the call scrubs.
#[cfg(test)]
pub(crate) mod depth_probe {
    use crate::sys::mem::stack_probe::{Painted, deepest_change, paint};
    use std::cell::{Cell, RefCell};

    /// Bytes painted below the caller: more than any budget.
    const PAINT_BYTES: usize = if cfg!(debug_assertions) {
        128 * 1024
    } else {
        32 * 1024
    };

    thread_local! {
        static PATTERN: Cell<Option<u8>> = const { Cell::new(None) };
        static RECORDS: RefCell<Vec<Record>> = const { RefCell::new(Vec::new()) };
    }

    /// What one scrubbed call did, in bytes below the top of the painted
    /// area (just below the caller's frame).
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Record {
        /// The budget the call scrubs (its `STACK`).
        pub(crate) budget: usize,
        /// How deep the work wrote.
        pub(crate) used: usize,
        /// How deep the wipe reached.
        pub(crate) wiped: usize,
    }

    /// Paints the stack if this thread armed the probe.
    #[inline(always)]
    pub(crate) fn paint_if_armed() -> Option<Painted> {
        PATTERN.with(Cell::get).map(paint::<PAINT_BYTES>)
    }

    /// The lowest address the work wrote to, if the stack was painted.
    #[inline(always)]
    pub(crate) fn deepest_write(painted: &Option<Painted>) -> Option<usize> {
        painted.as_ref().map(deepest_change)
    }

    /// Records one painted call: its budget, how far below the top of the
    /// painted area the work wrote, and how far the wipe reached.
    #[inline(always)]
    pub(crate) fn record(
        painted: Option<Painted>,
        deepest_write: Option<usize>,
        lowest_wiped: usize,
        budget: usize,
    ) {
        if let (Some(painted), Some(deepest)) = (painted, deepest_write) {
            let used = painted.top().saturating_sub(deepest);
            let wiped = painted.top().saturating_sub(lowest_wiped);
            RECORDS.with(|records| {
                records.borrow_mut().push(Record {
                    budget,
                    used,
                    wiped,
                })
            });
        }
    }

    /// Runs `operations` with the probe armed with `pattern`; returns the
    /// record of every scrubbed call they made, in order.
    pub(crate) fn measure(pattern: u8, operations: impl FnOnce()) -> Vec<Record> {
        RECORDS.with(|records| records.borrow_mut().clear());
        PATTERN.with(|p| p.set(Some(pattern)));
        operations();
        PATTERN.with(|p| p.set(None));
        RECORDS.with(|records| std::mem::take(&mut *records.borrow_mut()))
    }
}
