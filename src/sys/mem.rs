//! Memory for secrets held long-term: whole pages of their own, mapped
//! anonymously, locked into RAM when the system allows it, excluded from
//! core dumps, and zeroed before they are unmapped.
//!
//! Its `unsafe` blocks are the system calls and raw memory accesses this
//! needs, each with the reason it is sound.
//!
//! - `mmap` of private anonymous pages: nothing else in the process shares
//!   them, and the allocator never hands them out again.
//! - `madvise(MADV_DONTDUMP)` is required: a mapping that could end up in a
//!   core file is refused (it cannot fail for a private anonymous mapping on
//!   Linux, so a failure means something is badly wrong).
//! - `mlock` is best effort: it fails when `RLIMIT_MEMLOCK` is exhausted (a
//!   few unprivileged containers still have 64 KiB). The memory is still
//!   private and never dumped, only swappable; [`lock_stats`] counts what
//!   is locked and what is not, so the failure can be reported.
//! - On drop the values are dropped, every byte of the pages is zeroed with
//!   volatile writes, then the pages are unmapped (which also unlocks them).
//!
//! No guard pages: the values are only reached through bounds-checked safe
//! code, and each would cost two more pages of address space per mapping.

use crate::error::{Error, ErrorKind, Result, describe_os_error};
use rustix::mm::{Advice, MapFlags, ProtFlags};
use std::ffi::c_void;
use std::marker::PhantomData;
use std::mem::{align_of, size_of};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering, compiler_fence};

/// Bytes of locked memory currently mapped by this module.
static LOCKED_BYTES: AtomicUsize = AtomicUsize::new(0);
/// Bytes currently mapped by this module that `mlock` refused.
static UNLOCKED_BYTES: AtomicUsize = AtomicUsize::new(0);
/// How many times `mlock` has failed since the process started.
static LOCK_FAILURES: AtomicUsize = AtomicUsize::new(0);

/// What the memory of long-lived secrets costs in locked RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockStats {
    /// Bytes mapped and locked now.
    pub locked_bytes: usize,
    /// Bytes mapped now that could not be locked (still never dumped).
    pub unlocked_bytes: usize,
    /// `mlock` failures since the process started.
    pub lock_failures: usize,
}

/// The current totals of the memory this module maps.
pub fn lock_stats() -> LockStats {
    LockStats {
        locked_bytes: LOCKED_BYTES.load(Ordering::Relaxed),
        unlocked_bytes: UNLOCKED_BYTES.load(Ordering::Relaxed),
        lock_failures: LOCK_FAILURES.load(Ordering::Relaxed),
    }
}

/// Private anonymous pages, never dumped, locked if the system allows it.
struct Pages {
    start: NonNull<u8>,
    len: usize,
    locked: bool,
}

// SAFETY: `Pages` owns its mapping outright; the raw pointer is not shared
// with anything else, so it may move to and be used from any thread.
unsafe impl Send for Pages {}
// SAFETY: `Pages` gives no access to the memory through `&self`; the types
// that wrap it decide what shared access means for their contents.
unsafe impl Sync for Pages {}

impl Pages {
    /// At least `bytes` bytes (at least one page), zero-filled.
    fn map(bytes: usize) -> Result<Pages> {
        let page = rustix::param::page_size();
        let len = bytes
            .max(1)
            .checked_next_multiple_of(page)
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "locked memory too large"))?;
        // SAFETY: a new private anonymous mapping at an address the kernel
        // chooses; it overlaps nothing that exists.
        let raw = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }
        .map_err(|err| os_error("mmap of locked memory", err))?;
        let start = NonNull::new(raw.cast::<u8>())
            .ok_or_else(|| Error::new(ErrorKind::Io, "mmap returned a null mapping"))?;
        let mut pages = Pages {
            start,
            len,
            locked: false,
        };
        // SAFETY: the range is exactly the mapping made above.
        unsafe { rustix::mm::madvise(pages.raw(), len, Advice::LinuxDontDump) }
            .map_err(|err| os_error("madvise(MADV_DONTDUMP)", err))?;
        // SAFETY: the range is exactly the mapping made above.
        pages.locked = unsafe { rustix::mm::mlock(pages.raw(), len) }.is_ok();
        if pages.locked {
            LOCKED_BYTES.fetch_add(len, Ordering::Relaxed);
        } else {
            LOCK_FAILURES.fetch_add(1, Ordering::Relaxed);
            UNLOCKED_BYTES.fetch_add(len, Ordering::Relaxed);
        }
        Ok(pages)
    }

    fn raw(&self) -> *mut c_void {
        self.start.as_ptr().cast()
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        let words = self.start.as_ptr().cast::<u64>();
        for i in 0..self.len / size_of::<u64>() {
            // SAFETY: the mapping is page-aligned, `len` bytes long and
            // writable; nothing references it any more.
            unsafe { words.add(i).write_volatile(0) };
        }
        compiler_fence(Ordering::SeqCst);
        let counter = if self.locked {
            &LOCKED_BYTES
        } else {
            &UNLOCKED_BYTES
        };
        counter.fetch_sub(self.len, Ordering::Relaxed);
        // SAFETY: the range is exactly the mapping this value owns, unmapped
        // once, here. A failure (impossible for a whole mapping) leaks it.
        let _ = unsafe { rustix::mm::munmap(self.raw(), self.len) };
    }
}

fn os_error(what: &str, err: rustix::io::Errno) -> Error {
    let err = std::io::Error::from_raw_os_error(err.raw_os_error());
    Error::new(
        ErrorKind::Io,
        format!("{what} failed: {}", describe_os_error(&err)),
    )
}

/// A fixed number of values in locked, non-dumpable pages of their own,
/// packed one after the other.
///
/// The values are built in place (see [`LockedSlice::new_with`]) and never
/// move; dropping the slice drops them, then zeroes and unmaps the pages.
pub(crate) struct LockedSlice<T> {
    pages: Pages,
    len: usize,
    _values: PhantomData<T>,
}

// SAFETY: the slice owns its values like a `Box<[T]>` does.
unsafe impl<T: Send> Send for LockedSlice<T> {}
// SAFETY: shared access only hands out `&T`, like a `Box<[T]>`.
unsafe impl<T: Sync> Sync for LockedSlice<T> {}

/// Drops the values built so far if building the rest panics.
struct PartlyBuilt<T> {
    first: *mut T,
    built: usize,
}

impl<T> Drop for PartlyBuilt<T> {
    fn drop(&mut self) {
        // SAFETY: the first `built` values were written and not yet dropped.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(self.first, self.built))
        };
    }
}

impl<T> LockedSlice<T> {
    /// `len` values, value `i` made by `make(i)` and moved straight into the
    /// locked pages.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] if the pages cannot be mapped or excluded from core
    /// dumps; [`ErrorKind::InvalidArgument`] if the size overflows.
    pub(crate) fn new_with(len: usize, mut make: impl FnMut(usize) -> T) -> Result<Self> {
        const { assert!(align_of::<T>() <= 4096, "page alignment is at least 4096") };
        let bytes = len
            .checked_mul(size_of::<T>())
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "locked memory too large"))?;
        let pages = Pages::map(bytes)?;
        let mut progress = PartlyBuilt {
            first: pages.start.as_ptr().cast::<T>(),
            built: 0,
        };
        while progress.built < len {
            let value = make(progress.built);
            // SAFETY: slot `built` lies inside the mapping (len × size bytes
            // fit), is aligned (page-aligned start, T's stride) and unused.
            unsafe { progress.first.add(progress.built).write(value) };
            progress.built += 1;
        }
        std::mem::forget(progress);
        Ok(LockedSlice {
            pages,
            len,
            _values: PhantomData,
        })
    }

    /// Whether the pages are locked in RAM (`mlock` succeeded).
    pub(crate) fn is_locked(&self) -> bool {
        self.pages.locked
    }

    /// The address range of the pages, for tests that inspect the mapping.
    #[cfg(test)]
    pub(crate) fn page_range(&self) -> std::ops::Range<usize> {
        let start = self.pages.start.as_ptr() as usize;
        start..start + self.pages.len
    }
}

impl<T> Deref for LockedSlice<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        // SAFETY: the first `len` slots hold values written by `new_with`,
        // alive until drop; shared access matches `&self`.
        unsafe { std::slice::from_raw_parts(self.pages.start.as_ptr().cast::<T>(), self.len) }
    }
}

impl<T> DerefMut for LockedSlice<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`; `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.pages.start.as_ptr().cast::<T>(), self.len) }
    }
}

impl<T> Drop for LockedSlice<T> {
    fn drop(&mut self) {
        let values =
            std::ptr::slice_from_raw_parts_mut(self.pages.start.as_ptr().cast::<T>(), self.len);
        // SAFETY: the values are alive and dropped once, here; the pages
        // (zeroed and unmapped when `self.pages` drops next) outlive them.
        unsafe { std::ptr::drop_in_place(values) };
    }
}

/// One value in locked, non-dumpable pages of its own: a key store's
/// key-encryption key (`seal::Kek`).
pub(crate) struct LockedBox<T>(LockedSlice<T>);

impl<T> LockedBox<T> {
    /// The value made by `make`, moved straight into locked pages.
    ///
    /// # Errors
    /// As [`LockedSlice::new_with`].
    pub(crate) fn new_with(make: impl FnOnce() -> T) -> Result<Self> {
        let mut make = Some(make);
        let slice = LockedSlice::new_with(1, |_| match make.take() {
            Some(make) => make(),
            None => unreachable!("one value is made once"),
        })?;
        Ok(LockedBox(slice))
    }

    /// Whether the pages are locked in RAM.
    #[cfg(test)]
    pub(crate) fn is_locked(&self) -> bool {
        self.0.is_locked()
    }
}

impl<T> Deref for LockedBox<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0[0]
    }
}

impl<T> DerefMut for LockedBox<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0[0]
    }
}

/// Measuring how deep a computation writes into the stack (tests only).
#[cfg(test)]
pub(crate) mod stack_probe {
    /// A stretch of dead stack filled with one byte value.
    pub(crate) struct Painted {
        low: usize,
        high: usize,
        pattern: u8,
    }

    /// Fills `BYTES` bytes of stack just below the caller's frame with
    /// `pattern`, where the frames of the caller's next call will lie.
    #[inline(never)]
    pub(crate) fn paint<const BYTES: usize>(pattern: u8) -> Painted {
        let mut area = [pattern; BYTES];
        std::hint::black_box(&mut area);
        let low = area.as_ptr() as usize;
        Painted {
            low,
            high: low + BYTES,
            pattern,
        }
    }

    impl Painted {
        /// The highest address painted, plus one.
        pub(crate) fn top(&self) -> usize {
            self.high
        }
    }

    /// The lowest address of `painted` that no longer holds the pattern
    /// (its top if none changed).
    #[inline(never)]
    pub(crate) fn deepest_change(painted: &Painted) -> usize {
        for address in painted.low..painted.high {
            // SAFETY: the address lies in this thread's stack, in the area
            // `paint` filled below the caller's frame: mapped, and holding
            // no live Rust value (a byte read of dead frames).
            let byte = unsafe { std::ptr::read_volatile(address as *const u8) };
            if byte != painted.pattern {
                return address;
            }
        }
        painted.high
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_built_in_place_and_dropped() {
        use std::sync::Arc;
        let witness = Arc::new(());
        let slice = LockedSlice::new_with(3, |i| (i * 10, Arc::clone(&witness))).unwrap();
        assert_eq!(slice.iter().map(|v| v.0).collect::<Vec<_>>(), [0, 10, 20]);
        assert_eq!(Arc::strong_count(&witness), 4);
        drop(slice);
        assert_eq!(Arc::strong_count(&witness), 1);
    }

    #[test]
    fn a_panic_while_building_drops_what_was_built() {
        use std::sync::Arc;
        let witness = Arc::new(());
        let built = std::panic::catch_unwind(|| {
            LockedSlice::new_with(3, |i| {
                assert!(i < 2, "the third value fails");
                Arc::clone(&witness)
            })
        });
        assert!(built.is_err());
        assert_eq!(Arc::strong_count(&witness), 1);
    }

    #[test]
    fn pages_are_never_dumped_and_counted() {
        let boxed = LockedBox::new_with(|| [0x5au8; 5000]).unwrap();
        assert!(boxed.iter().all(|&b| b == 0x5a));
        let range = boxed.0.page_range();
        assert_eq!(range.len(), 8192);
        let flags = vm_flags_of(range.start);
        assert!(flags.contains(&"dd".to_string()), "flags {flags:?}");
        if boxed.is_locked() {
            assert!(flags.contains(&"lo".to_string()), "flags {flags:?}");
            assert!(lock_stats().locked_bytes >= 8192);
        } else {
            assert!(lock_stats().lock_failures >= 1);
        }
    }

    #[test]
    fn empty_slices_and_zero_sized_values_map_one_page() {
        let empty = LockedSlice::<u64>::new_with(0, |_| 0).unwrap();
        assert!(empty.is_empty());
        let units = LockedSlice::new_with(1000, |_| ()).unwrap();
        assert_eq!(units.len(), 1000);
    }

    /// The `VmFlags` of the mapping that starts at `start`, from
    /// `/proc/self/smaps`.
    pub(crate) fn vm_flags_of(start: usize) -> Vec<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let head = format!("{start:x}-");
        let mut lines = smaps.lines().skip_while(|line| !line.starts_with(&head));
        assert!(lines.next().is_some(), "no mapping at {head}");
        let flags = lines
            .find(|line| line.starts_with("VmFlags:"))
            .expect("a VmFlags line");
        flags
            .split_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect()
    }
}
