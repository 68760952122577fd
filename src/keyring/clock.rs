//! The clock a keyring reads on every call when it refreshes by itself.
//!
//! `CLOCK_MONOTONIC_COARSE` is read from the vDSO without a system call and
//! without reading the hardware counter: measured at less than half the
//! cost of `Instant::now()` (`CLOCK_MONOTONIC`) in `benches/hot`. Its
//! resolution is the kernel tick (1 to 4 ms), fine for refresh intervals
//! in milliseconds.

use rustix::time::{ClockId, clock_gettime};

/// Milliseconds on the coarse monotonic clock.
#[inline(always)]
pub(super) fn now_ms() -> u64 {
    let now = clock_gettime(ClockId::MonotonicCoarse);
    let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
    let millis = u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000_000;
    seconds.saturating_mul(1000).saturating_add(millis)
}
