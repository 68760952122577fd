//! The library wipes the secrets it held before their memory goes back to
//! the allocator.
//!
//! This test binary runs on an inspecting global allocator (a wrapper over
//! `System`). While a test has inspection switched on for its own thread,
//! every block that thread frees or reallocates is searched, just before it
//! is released, for any 16-byte window of the test's secret patterns (key
//! bytes, PRKs, keyed HMAC chaining values); a match is a violation. Blocks
//! allocated meanwhile are tracked, so a test can also show that a secret
//! *was* in the heap during the operation (the inspector can see it there)
//! and that no live block still holds it when the test ends. Reallocating a
//! block that holds a secret counts as a violation too: the copy left behind
//! can never be wiped.
//!
//! An HMAC stream's own block is checked field by field (where its chaining
//! values lay must be zero when it is freed); the whole block, padding
//! included, is the subject of an ignored test that documents a library bug.
//! Another ignored test looks at the stack, which the allocator cannot see.
//!
//! The hooks never allocate: their state is static and fixed in size. The
//! tests take a global lock, so they run one at a time, and each pattern is
//! used by one test only, so bytes left in freed memory by one test can
//! never make another look right.

mod common;

use codomyrmex_keys::ffi::hmac::{
    codomyrmex_hmac, codomyrmex_hmac_finish, codomyrmex_hmac_free, codomyrmex_hmac_new,
    codomyrmex_hmac_update,
};
use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_free, codomyrmex_key_manager_get,
    codomyrmex_key_manager_get_version, codomyrmex_key_manager_hmac,
    codomyrmex_key_manager_hmac_tagged, codomyrmex_key_manager_open, codomyrmex_key_manager_rotate,
    codomyrmex_key_manager_store,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::CODOMYRMEX_OK;
use codomyrmex_keys::{
    HashAlg, HmacStream, KeyManager, Prk, SecretBytes, Version, hkdf_derive, hkdf_extract,
};
use common::store::{Bounded, rotate_bounded, v, version_list};
use inspector::{Event, Inspection, Report};
use std::ffi::CString;
use std::num::NonZeroU32;
use std::os::unix::ffi::OsStrExt;
use std::sync::{Mutex, MutexGuard};
use zeroize::{Zeroize, Zeroizing};

mod inspector {
    //! The inspecting allocator and its static state.

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::UnsafeCell;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A match of this many consecutive bytes of a pattern is a violation.
    pub const WINDOW: usize = 16;
    /// Patterns per inspection.
    pub const MAX_PATTERNS: usize = 8;
    /// The longest pattern.
    pub const MAX_PATTERN_LEN: usize = 128;
    /// Violations recorded in detail (more are only counted).
    pub const MAX_VIOLATIONS: usize = 32;
    const MAX_LIVE: usize = 8192;
    const JOURNAL_BYTES: usize = 8 << 20;
    const MAX_JOURNAL_ENTRIES: usize = 16384;
    const MAX_SIGHTINGS: usize = 64;
    /// The largest block [`Inspection::set_aside`] can capture.
    pub const MAX_CAPTURE: usize = 4096;

    /// When a secret was found where it must not be.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Event {
        /// In a block being freed.
        Freed,
        /// In a block being reallocated (its old copy cannot be wiped).
        Reallocated,
        /// In a block allocated during the inspection and still live at its end.
        LeftLive,
    }

    /// One secret found in the heap.
    #[derive(Clone, Copy, Debug)]
    pub struct Violation {
        pub event: Event,
        /// Index of the pattern in the inspection.
        pub pattern: usize,
        pub block_size: usize,
        /// Where in the block the match starts.
        pub offset: usize,
        /// Which window of the pattern matched (its start in the pattern).
        pub window: usize,
    }

    const NO_VIOLATION: Violation = Violation {
        event: Event::Freed,
        pattern: 0,
        block_size: 0,
        offset: 0,
        window: 0,
    };

    /// A secret to look for: its bytes and, per byte value, a bit mask of
    /// the windows that start with that value.
    #[derive(Clone, Copy)]
    struct Pattern {
        len: usize,
        bytes: [u8; MAX_PATTERN_LEN],
        starts: [u128; 256],
        /// Whether the inspection must see it in a live block.
        expected: bool,
    }

    impl Pattern {
        const EMPTY: Pattern = Pattern {
            len: 0,
            bytes: [0; MAX_PATTERN_LEN],
            starts: [0; 256],
            expected: false,
        };

        fn new(bytes: &[u8], expected: bool) -> Pattern {
            assert!(
                (WINDOW..=MAX_PATTERN_LEN).contains(&bytes.len()),
                "patterns have {WINDOW} to {MAX_PATTERN_LEN} bytes"
            );
            let mut pattern = Pattern::EMPTY;
            pattern.len = bytes.len();
            pattern.bytes[..bytes.len()].copy_from_slice(bytes);
            pattern.expected = expected;
            for (start, &first) in bytes[..=bytes.len() - WINDOW].iter().enumerate() {
                pattern.starts[usize::from(first)] |= 1 << start;
            }
            pattern
        }

        /// The first window of the pattern in `block`: (offset, window).
        fn find(&self, block: &[u8]) -> Option<(usize, usize)> {
            if self.len == 0 || block.len() < WINDOW {
                return None;
            }
            for offset in 0..=block.len() - WINDOW {
                let mut starts = self.starts[usize::from(block[offset])];
                while starts != 0 {
                    let window = starts.trailing_zeros() as usize;
                    if block[offset..offset + WINDOW] == self.bytes[window..window + WINDOW] {
                        return Some((offset, window));
                    }
                    starts &= starts - 1;
                }
            }
            None
        }
    }

    struct State {
        patterns: [Pattern; MAX_PATTERNS],
        pattern_count: usize,
        seen: [bool; MAX_PATTERNS],
        all_seen: bool,
        live: [(usize, usize); MAX_LIVE],
        live_count: usize,
        live_overflow: bool,
        violations: [Violation; MAX_VIOLATIONS],
        violation_count: usize,
        journal_on: bool,
        journal_used: usize,
        entries: [(usize, usize); MAX_JOURNAL_ENTRIES],
        entry_count: usize,
        journal_overflow: bool,
        watch_size: usize,
        sightings: [[u8; MAX_PATTERN_LEN]; MAX_SIGHTINGS],
        sighting_count: usize,
        /// A block checked by the test itself: copied when freed instead of
        /// searched.
        aside: usize,
        capture: [u8; MAX_CAPTURE],
        capture_len: Option<usize>,
    }

    impl State {
        const INIT: State = State {
            patterns: [Pattern::EMPTY; MAX_PATTERNS],
            pattern_count: 0,
            seen: [false; MAX_PATTERNS],
            all_seen: true,
            live: [(0, 0); MAX_LIVE],
            live_count: 0,
            live_overflow: false,
            violations: [NO_VIOLATION; MAX_VIOLATIONS],
            violation_count: 0,
            journal_on: false,
            journal_used: 0,
            entries: [(0, 0); MAX_JOURNAL_ENTRIES],
            entry_count: 0,
            journal_overflow: false,
            watch_size: 0,
            sightings: [[0; MAX_PATTERN_LEN]; MAX_SIGHTINGS],
            sighting_count: 0,
            aside: 0,
            capture: [0; MAX_CAPTURE],
            capture_len: None,
        };

        /// Forgets the last inspection (the arrays are bounded by the counts).
        fn reset(&mut self) {
            self.pattern_count = 0;
            self.seen = [false; MAX_PATTERNS];
            self.all_seen = true;
            self.live_count = 0;
            self.live_overflow = false;
            self.violation_count = 0;
            self.journal_on = false;
            self.journal_used = 0;
            self.entry_count = 0;
            self.journal_overflow = false;
            self.watch_size = 0;
            self.sighting_count = 0;
            self.aside = 0;
            self.capture_len = None;
        }

        fn record(&mut self, violation: Violation) {
            if self.violation_count < MAX_VIOLATIONS {
                self.violations[self.violation_count] = violation;
            }
            self.violation_count += 1;
        }

        /// Records every pattern found in `block` as a violation of `event`.
        fn check(&mut self, block: &[u8], event: Event) {
            for pattern in 0..self.pattern_count {
                if let Some((offset, window)) = self.patterns[pattern].find(block) {
                    self.record(Violation {
                        event,
                        pattern,
                        block_size: block.len(),
                        offset,
                        window,
                    });
                }
            }
        }

        fn track(&mut self, ptr: *mut u8, size: usize) {
            if self.live_count == MAX_LIVE {
                self.live_overflow = true;
                return;
            }
            self.live[self.live_count] = (ptr as usize, size);
            self.live_count += 1;
        }

        fn untrack(&mut self, ptr: *mut u8) {
            let addr = ptr as usize;
            if let Some(at) = self.live[..self.live_count]
                .iter()
                .rposition(|&(a, _)| a == addr)
            {
                self.live_count -= 1;
                self.live[at] = self.live[self.live_count];
            }
        }

        /// Looks through the tracked live blocks for the expected patterns
        /// not yet seen, and for blocks of the watched size.
        ///
        /// # Safety
        /// Every tracked block must be live.
        unsafe fn scan_live(&mut self) {
            if self.all_seen && self.watch_size == 0 {
                return;
            }
            for i in 0..self.live_count {
                let (addr, size) = self.live[i];
                // SAFETY: tracked blocks are live and `size` bytes long.
                let block = unsafe { std::slice::from_raw_parts(addr as *const u8, size) };
                if !self.all_seen {
                    for pattern in 0..self.pattern_count {
                        if self.patterns[pattern].expected
                            && !self.seen[pattern]
                            && self.patterns[pattern].find(block).is_some()
                        {
                            self.seen[pattern] = true;
                        }
                    }
                }
                if size == self.watch_size {
                    self.sight(block);
                }
            }
            self.all_seen =
                (0..self.pattern_count).all(|p| self.seen[p] || !self.patterns[p].expected);
        }

        fn sight(&mut self, block: &[u8]) {
            let block = &block[..block.len().min(MAX_PATTERN_LEN)];
            let known = &self.sightings[..self.sighting_count];
            if self.sighting_count == MAX_SIGHTINGS
                || known.iter().any(|s| &s[..block.len()] == block)
            {
                return;
            }
            self.sightings[self.sighting_count][..block.len()].copy_from_slice(block);
            self.sighting_count += 1;
        }

        fn journal(&mut self, block: &[u8]) {
            if !self.journal_on {
                return;
            }
            if self.entry_count == MAX_JOURNAL_ENTRIES
                || self.journal_used + block.len() > JOURNAL_BYTES
            {
                self.journal_overflow = true;
                return;
            }
            // SAFETY: only the inspection's thread writes the journal, and it
            // is not reading it at the same time.
            let journal = unsafe { &mut *JOURNAL.0.get() };
            journal[self.journal_used..self.journal_used + block.len()].copy_from_slice(block);
            self.entries[self.entry_count] = (self.journal_used, block.len());
            self.entry_count += 1;
            self.journal_used += block.len();
        }
    }

    struct Shared<T>(UnsafeCell<T>);

    // SAFETY: the state is used by one thread at a time: the thread that
    // owns the inspection (OWNER), or any thread while there is no inspection and
    // the test lock is held.
    unsafe impl<T> Sync for Shared<T> {}

    static STATE: Shared<State> = Shared(UnsafeCell::new(State::INIT));
    static JOURNAL: Shared<[u8; JOURNAL_BYTES]> = Shared(UnsafeCell::new([0; JOURNAL_BYTES]));
    /// The thread being inspected (`pthread_self`), or 0.
    static OWNER: AtomicUsize = AtomicUsize::new(0);

    fn current_thread() -> usize {
        // SAFETY: pthread_self has no preconditions and does not allocate.
        unsafe { libc::pthread_self() as usize }
    }

    fn inspecting() -> bool {
        let owner = OWNER.load(Ordering::Acquire);
        owner != 0 && owner == current_thread()
    }

    /// # Safety
    /// Only on the inspection's thread, or with no inspection and the test lock
    /// held; never while another reference from this function is alive.
    unsafe fn state() -> &'static mut State {
        // SAFETY: forwarded from the caller.
        unsafe { &mut *STATE.0.get() }
    }

    /// A block about to be released: look for secrets, keep a copy in the
    /// journal, then look at the blocks still live.
    ///
    /// # Safety
    /// Only on the inspection's thread; `ptr` is a live block of `size` bytes.
    unsafe fn releasing(ptr: *mut u8, size: usize, event: Event) {
        // SAFETY: forwarded from the caller.
        let state = unsafe { state() };
        state.untrack(ptr);
        // SAFETY: the block is live until the caller releases it.
        let block = unsafe { std::slice::from_raw_parts(ptr.cast_const(), size) };
        if ptr as usize == state.aside && size <= MAX_CAPTURE {
            state.aside = 0;
            state.capture[..size].copy_from_slice(block);
            state.capture_len = Some(size);
        } else {
            state.check(block, event);
        }
        state.journal(block);
        // SAFETY: the remaining tracked blocks are live.
        unsafe { state.scan_live() };
    }

    /// # Safety
    /// Only on the inspection's thread; `ptr` is a new block of `size` bytes.
    unsafe fn allocated(ptr: *mut u8, size: usize) {
        // SAFETY: forwarded from the caller.
        let state = unsafe { state() };
        // Scan before tracking: the new block holds whatever was there.
        // SAFETY: the tracked blocks are live.
        unsafe { state.scan_live() };
        state.track(ptr, size);
    }

    /// The inspecting allocator.
    pub struct Inspector;

    // SAFETY: every request is served by `System`; the hooks only read the
    // blocks involved and update static state.
    unsafe impl GlobalAlloc for Inspector {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded from the caller.
            let ptr = unsafe { System.alloc(layout) };
            if !ptr.is_null() && inspecting() {
                // SAFETY: on the inspection's thread; a new block.
                unsafe { allocated(ptr, layout.size()) };
            }
            ptr
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: forwarded from the caller.
            let ptr = unsafe { System.alloc_zeroed(layout) };
            if !ptr.is_null() && inspecting() {
                // SAFETY: on the inspection's thread; a new block.
                unsafe { allocated(ptr, layout.size()) };
            }
            ptr
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            if inspecting() {
                // SAFETY: on the inspection's thread; the block is still live.
                unsafe { releasing(ptr, layout.size(), Event::Freed) };
            }
            // SAFETY: forwarded from the caller.
            unsafe { System.dealloc(ptr, layout) };
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let inspect = inspecting();
            if inspect {
                // SAFETY: on the inspection's thread; the block is still live.
                unsafe { releasing(ptr, layout.size(), Event::Reallocated) };
            }
            // SAFETY: forwarded from the caller.
            let new = unsafe { System.realloc(ptr, layout, new_size) };
            if inspect {
                // On failure the old block stays live.
                let (block, size) = if new.is_null() {
                    (ptr, layout.size())
                } else {
                    (new, new_size)
                };
                // SAFETY: on the inspection's thread; a live block.
                unsafe { allocated(block, size) };
            }
            new
        }
    }

    /// What an inspection found.
    #[derive(Clone, Copy)]
    pub struct Report {
        pub pattern_count: usize,
        pub expected: [bool; MAX_PATTERNS],
        pub seen: [bool; MAX_PATTERNS],
        pub violations: [Violation; MAX_VIOLATIONS],
        pub violation_count: usize,
        pub live_overflow: bool,
    }

    /// Inspection of the current thread's heap traffic; ends when finished
    /// or dropped (also by a panic).
    pub struct Inspection {
        finished: bool,
    }

    impl Inspection {
        /// Starts inspecting this thread for `patterns` (each 16 to 128
        /// bytes), of which those marked `true` must be seen in the heap.
        /// The caller holds the test lock.
        pub fn start(patterns: &[(&[u8], bool)]) -> Inspection {
            Inspection::begin(patterns, false, 0)
        }

        /// Starts an inspection for a secret not known yet: every released
        /// block (and every block left live) is journaled for a later
        /// [`Inspection::search`], and the contents of live blocks of
        /// `watch_size` bytes are collected as sightings.
        pub fn start_blind(watch_size: usize) -> Inspection {
            Inspection::begin(&[], true, watch_size)
        }

        fn begin(patterns: &[(&[u8], bool)], journal: bool, watch_size: usize) -> Inspection {
            assert!(patterns.len() <= MAX_PATTERNS);
            assert_eq!(OWNER.load(Ordering::Acquire), 0, "an inspection is running");
            // SAFETY: no inspection runs and the caller holds the test lock.
            let state = unsafe { state() };
            state.reset();
            // Straight into the static state: a heap copy of the patterns,
            // freed unwiped, would be found later in fresh blocks.
            for (slot, (bytes, expected)) in state.patterns.iter_mut().zip(patterns) {
                *slot = Pattern::new(bytes, *expected);
            }
            state.pattern_count = patterns.len();
            state.all_seen = patterns.iter().all(|(_, expected)| !expected);
            state.journal_on = journal;
            state.watch_size = watch_size;
            OWNER.store(current_thread(), Ordering::Release);
            Inspection { finished: false }
        }

        /// Looks through the live blocks now (for secrets held by objects
        /// the test keeps).
        pub fn scan_now(&self) {
            assert!(inspecting());
            // SAFETY: on the inspection's thread; tracked blocks are live.
            unsafe { state().scan_live() };
        }

        /// Sets the live block at `ptr` aside: when it is freed, it is
        /// copied (see [`Inspection::captured`]) instead of searched, for a test
        /// that checks it field by field.
        /// The size of the live block at `ptr`, allocated during this
        /// inspection.
        pub fn live_size(&self, ptr: *const u8) -> Option<usize> {
            assert!(inspecting());
            // SAFETY: on the inspection's thread.
            let state = unsafe { state() };
            (0..state.live_count)
                .map(|i| state.live[i])
                .find(|&(addr, _)| addr == ptr as usize)
                .map(|(_, size)| size)
        }

        pub fn set_aside(&self, ptr: *const u8) {
            assert!(inspecting());
            // SAFETY: on the inspection's thread.
            unsafe { state().aside = ptr as usize };
        }

        /// The content of the block set aside, as it was when freed; `None`
        /// if it was not freed during the inspection.
        pub fn captured() -> Option<Vec<u8>> {
            assert_eq!(OWNER.load(Ordering::Acquire), 0, "an inspection is running");
            // SAFETY: no inspection runs and the caller holds the test lock.
            let state = unsafe { state() };
            state.capture_len.map(|len| state.capture[..len].to_vec())
        }

        /// Ends the inspection: blocks allocated during it and still live must
        /// hold no pattern.
        pub fn finish(mut self) -> Report {
            self.finished = true;
            // SAFETY: on the inspection's thread.
            let state = unsafe { state() };
            // SAFETY: tracked blocks are live.
            unsafe { state.scan_live() };
            for i in 0..state.live_count {
                let (addr, size) = state.live[i];
                // SAFETY: tracked blocks are live.
                let block = unsafe { std::slice::from_raw_parts(addr as *const u8, size) };
                state.check(block, Event::LeftLive);
                state.journal(block);
            }
            OWNER.store(0, Ordering::Release);
            let mut expected = [false; MAX_PATTERNS];
            for (flag, pattern) in expected.iter_mut().zip(&state.patterns) {
                *flag = pattern.expected;
            }
            Report {
                pattern_count: state.pattern_count,
                expected,
                seen: state.seen,
                violations: state.violations,
                violation_count: state.violation_count,
                live_overflow: state.live_overflow,
            }
        }

        /// After a blind inspection: every journaled block in which `secret`
        /// appears, as violations of pattern 0; and whether a block of the
        /// watched size held exactly `secret` at some point.
        pub fn search(secret: &[u8]) -> (Vec<Violation>, bool) {
            assert_eq!(OWNER.load(Ordering::Acquire), 0, "an inspection is running");
            // SAFETY: no inspection runs and the caller holds the test lock.
            let state = unsafe { state() };
            assert!(!state.journal_overflow, "the journal overflowed");
            // SAFETY: as above; nothing writes the journal now.
            let journal = unsafe { &*JOURNAL.0.get() };
            let pattern = Pattern::new(secret, true);
            let found = state.entries[..state.entry_count]
                .iter()
                .filter_map(|&(at, len)| {
                    let block = &journal[at..at + len];
                    pattern.find(block).map(|(offset, window)| Violation {
                        event: Event::Freed,
                        pattern: 0,
                        block_size: len,
                        offset,
                        window,
                    })
                })
                .collect();
            let sighted = state.sightings[..state.sighting_count]
                .iter()
                .any(|s| s[..secret.len()] == *secret);
            (found, sighted)
        }
    }

    impl Drop for Inspection {
        fn drop(&mut self) {
            if !self.finished {
                OWNER.store(0, Ordering::Release);
            }
        }
    }
}

#[global_allocator]
static ALLOCATOR: inspector::Inspector = inspector::Inspector;

/// Serializes the tests: one inspection at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A distinctive secret: pseudo-random bytes from `seed`, none of them 0.
const fn secret<const N: usize>(seed: u32) -> [u8; N] {
    let mut out = [0u8; N];
    let mut x = seed;
    let mut i = 0;
    while i < N {
        // xorshift32
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let b = (x >> 24) as u8;
        out[i] = if b == 0 { 0xa5 } else { b };
        i += 1;
    }
    out
}

/// The violations of `report`, one per line, naming the patterns by `names`.
fn describe(report: &Report, names: &[&str]) -> String {
    let shown = report.violation_count.min(inspector::MAX_VIOLATIONS);
    report.violations[..shown]
        .iter()
        .map(|v| {
            format!(
                "{:?}: {} ({}-byte window at {}) in a block of {} bytes at offset {}",
                v.event,
                names[v.pattern],
                inspector::WINDOW,
                v.window,
                v.block_size,
                v.offset
            )
        })
        .collect::<Vec<_>>()
        .join("\n    ")
}

impl Report {
    /// Fails listing every violation, naming the patterns by `names`.
    fn assert_clean(&self, names: &[&str]) {
        assert!(!self.live_overflow, "too many live blocks to track");
        assert!(
            self.violation_count == 0,
            "{} secret(s) left in the heap:\n    {}",
            self.violation_count,
            describe(self, names)
        );
    }

    /// Fails unless every pattern marked expected was seen in a live block.
    fn assert_seen(&self, names: &[&str]) {
        for (i, name) in names.iter().enumerate().take(self.pattern_count) {
            assert!(
                self.seen[i] || !self.expected[i],
                "{name} was never seen in the heap: the test proves nothing"
            );
        }
    }
}

/// Whether `block` contains `needle` anywhere.
fn contains(block: &[u8], needle: &[u8]) -> bool {
    block.windows(needle.len()).any(|w| w == needle)
}

fn fresh_store() -> (tempfile::TempDir, KeyManager) {
    let tmp = tempfile::tempdir().unwrap();
    let km = KeyManager::open(tmp.path().join("keys")).unwrap();
    (tmp, km)
}

// ---- The inspector itself ----

#[test]
fn inspector_catches_unwiped_copies() {
    const SECRET: [u8; 48] = secret(0x1d2c_3b4a);
    let _serial = serial();
    let names = ["control secret"];

    let inspection = Inspection::start(&[(&SECRET, true)]);
    // A plain copy, freed without a wipe.
    let copy = SECRET.to_vec();
    inspection.scan_now();
    drop(copy);
    // A 16-byte piece of it.
    drop(SECRET[7..23].to_vec());
    // 15 bytes are below the window: not reported.
    drop(SECRET[0..15].to_vec());
    // A copy that grows: the reallocation leaves the old block behind.
    let mut grown = Vec::with_capacity(SECRET.len());
    grown.extend_from_slice(&SECRET);
    grown.reserve(4096);
    grown.zeroize();
    drop(grown);
    // A copy still live at the end.
    let kept = Box::new(SECRET);
    let report = inspection.finish();
    drop(kept);

    report.assert_seen(&names);
    let events: Vec<Event> = report.violations[..report.violation_count]
        .iter()
        .map(|v| v.event)
        .collect();
    assert_eq!(
        events,
        [
            Event::Freed,
            Event::Freed,
            Event::Reallocated,
            Event::LeftLive
        ]
    );
    // The piece matched at its own place in the secret.
    assert_eq!(report.violations[1].window, 7);
    assert_eq!(report.violations[1].block_size, 16);
}

#[test]
fn inspector_sees_wiped_memory_as_clean() {
    const SECRET: [u8; 40] = secret(0x5eed_0001);
    let _serial = serial();
    let inspection = Inspection::start(&[(&SECRET, true)]);
    let mut copy = SECRET.to_vec();
    inspection.scan_now();
    copy.zeroize();
    drop(copy);
    let report = inspection.finish();
    report.assert_seen(&["secret"]);
    report.assert_clean(&["secret"]);
}

// ---- Buffers of the safe API ----

#[test]
fn secret_bytes_are_wiped_on_drop() {
    const KEY: [u8; 48] = secret(0x0bad_cafe);
    let _serial = serial();
    let names = ["key"];
    let inspection = Inspection::start(&[(&KEY, true)]);
    let secret = SecretBytes::from_slice(&KEY);
    let twin = secret.clone();
    assert_eq!(format!("{secret:?}"), "SecretBytes([redacted; 48])");
    inspection.scan_now();
    drop(secret);
    drop(twin);
    let report = inspection.finish();
    report.assert_seen(&names);
    report.assert_clean(&names);
}

#[test]
fn prk_is_wiped_on_drop() {
    let _serial = serial();
    for (n, alg) in HashAlg::ALL.into_iter().enumerate() {
        const IKM: [u8; 32] = secret(0x1234_5678);
        let salt = [n as u8 + 1; 16];
        // The expected PRK, computed outside the inspection (on the stack).
        let mut prk = [0u8; 64];
        let len = alg.digest_len();
        prk[..len].copy_from_slice(hkdf_extract(alg, &salt, &IKM).as_bytes());
        let names = ["PRK"];

        let inspection = Inspection::start(&[(&prk[..len], true)]);
        let boxed: Box<Prk> = Box::new(hkdf_extract(alg, &salt, &IKM));
        let cloned = Box::new((*boxed).clone());
        assert_eq!(boxed.as_bytes(), &prk[..len]);
        inspection.scan_now();
        drop(boxed);
        drop(cloned);
        let report = inspection.finish();
        report.assert_seen(&names);
        report.assert_clean(&names);
    }
}

// ---- HMAC state ----

const IPAD: u8 = 0x36;
const OPAD: u8 = 0x5c;

/// The chaining value of the hash of `alg` after one block of `key ^ pad`
/// (and then `more` whole blocks), as the words lie in memory: what a keyed
/// HMAC state holds.
fn chaining_value(alg: HashAlg, key: &[u8], pad: u8, more: &[u8]) -> Zeroizing<Vec<u8>> {
    const SHA256_IV: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    const SHA384_IV: [u64; 8] = [
        0xcbbb_9d5d_c105_9ed8,
        0x629a_292a_367c_d507,
        0x9159_015a_3070_dd17,
        0x152f_ecd8_f70e_5939,
        0x6733_2667_ffc0_0b31,
        0x8eb4_4a87_6858_1511,
        0xdb0c_2e0d_64f9_8fa7,
        0x47b5_481d_befa_4fa4,
    ];
    const SHA512_IV: [u64; 8] = [
        0x6a09_e667_f3bc_c908,
        0xbb67_ae85_84ca_a73b,
        0x3c6e_f372_fe94_f82b,
        0xa54f_f53a_5f1d_36f1,
        0x510e_527f_ade6_82d1,
        0x9b05_688c_2b3e_6c1f,
        0x1f83_d9ab_fb41_bd6b,
        0x5be0_cd19_137e_2179,
    ];
    match alg {
        HashAlg::Sha256 => {
            let mut block = [0u8; 64];
            block[..key.len()].copy_from_slice(key);
            block.iter_mut().for_each(|b| *b ^= pad);
            let mut blocks = vec![block];
            blocks.extend(
                more.chunks_exact(64)
                    .map(|c| <[u8; 64]>::try_from(c).unwrap()),
            );
            let mut state = SHA256_IV;
            sha2::block_api::compress256(&mut state, &blocks);
            blocks.zeroize();
            let value = state.iter().flat_map(|w| w.to_ne_bytes()).collect();
            state.zeroize();
            Zeroizing::new(value)
        }
        HashAlg::Sha384 | HashAlg::Sha512 => {
            let mut block = [0u8; 128];
            block[..key.len()].copy_from_slice(key);
            block.iter_mut().for_each(|b| *b ^= pad);
            let mut blocks = vec![block];
            blocks.extend(
                more.chunks_exact(128)
                    .map(|c| <[u8; 128]>::try_from(c).unwrap()),
            );
            let mut state = if alg == HashAlg::Sha384 {
                SHA384_IV
            } else {
                SHA512_IV
            };
            sha2::block_api::compress512(&mut state, &blocks);
            blocks.zeroize();
            let value = state.iter().flat_map(|w| w.to_ne_bytes()).collect();
            state.zeroize();
            Zeroizing::new(value)
        }
    }
}

/// The secrets of an HMAC stream keyed with `key` that has been fed
/// `data`: the key, the inner and outer keyed chaining values, and the
/// inner chaining value after the whole blocks of `data`.
struct StreamSecrets {
    inner: Zeroizing<Vec<u8>>,
    outer: Zeroizing<Vec<u8>>,
    running: Zeroizing<Vec<u8>>,
}

impl StreamSecrets {
    const NAMES: [&str; 4] = [
        "raw key",
        "inner keyed chaining value",
        "outer keyed chaining value",
        "running inner chaining value",
    ];

    fn new(alg: HashAlg, key: &[u8], data: &[u8]) -> StreamSecrets {
        let block = if alg == HashAlg::Sha256 { 64 } else { 128 };
        let whole = &data[..data.len() / block * block];
        StreamSecrets {
            inner: chaining_value(alg, key, IPAD, &[]),
            outer: chaining_value(alg, key, OPAD, &[]),
            running: chaining_value(alg, key, IPAD, whole),
        }
    }

    /// Patterns for an inspection: the raw key is never expected in the heap
    /// (only its chaining values are), but must not be found there either.
    fn patterns<'a>(&'a self, key: &'a [u8]) -> [(&'a [u8], bool); 4] {
        [
            (key, false),
            (&self.inner, true),
            (&self.outer, true),
            (&self.running, true),
        ]
    }
}

const STREAM_DATA: [u8; 300] = {
    let mut data = [0u8; 300];
    let mut i = 0;
    while i < data.len() {
        data[i] = (i % 7) as u8 + b'a';
        i += 1;
    }
    data
};

/// Every offset in `block` where the whole of `pattern` lies.
fn offsets_of(block: &[u8], pattern: &[u8]) -> Vec<usize> {
    block
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern)
        .map(|(at, _)| at)
        .collect()
}

/// Where a live stream keeps the values `wanted` (indexes into
/// [`StreamSecrets::NAMES`]): (name, offset, length).
///
/// The stream is two `State` enums, one per half of its block. In each
/// half, a state's fields come first and the unused tail of a smaller
/// variant comes last; that tail may hold stale copies of the same values
/// (see the padding test below), so the first place a value lies in a half
/// is its field. Look for a value only while its field holds it: the keyed
/// values right after creation, the running one right after an update.
fn secret_fields(
    block: &[u8],
    secrets: &StreamSecrets,
    wanted: &[usize],
) -> Vec<(&'static str, usize, usize)> {
    let values = [&secrets.inner, &secrets.outer, &secrets.running];
    let half = block.len() / 2;
    let mut fields = Vec::new();
    for start in [0, half] {
        for &i in wanted {
            let pattern = values[i - 1];
            if let Some(&at) = offsets_of(&block[start..start + half], pattern).first() {
                fields.push((StreamSecrets::NAMES[i], start + at, pattern.len()));
            }
        }
    }
    fields
}

/// Checks, field by field, the block of a stream as it was freed: every
/// place that held a chaining value is zero, and the raw key is nowhere.
fn assert_fields_wiped(alg: HashAlg, freed: &[u8], fields: &[(&str, usize, usize)], key: &[u8]) {
    for &(name, at, len) in fields {
        assert!(
            freed[at..at + len].iter().all(|&b| b == 0),
            "{alg}: the {name} at offset {at} of the stream was not wiped"
        );
    }
    assert!(!contains(freed, key), "{alg}: the raw key is in the stream");
}

/// The heap block holding a stream's state: a stream (and the C handle,
/// which wraps one) starts with the pointer to it.
fn state_block(inspection: &Inspection, handle: *const u8) -> (*const u8, usize) {
    // SAFETY: `handle` points to a live stream or C handle, whose first
    // field is the pointer to the state block.
    let at = unsafe { handle.cast::<*const u8>().read() };
    let size = inspection
        .live_size(at)
        .expect("the state block was allocated during the inspection");
    (at, size)
}

/// A stream's own block is checked field by field: the places where its
/// keyed and running chaining values lay must be zero when it is freed.
/// (The rest of its block is the subject of the padding test below.) Every
/// other block freed meanwhile is searched for all of them as usual.
#[test]
fn hmac_stream_of_the_c_api_is_wiped_on_free() {
    const KEY: [u8; 48] = secret(0x00c0_ffee);
    let _serial = serial();
    for alg in HashAlg::ALL {
        let secrets = StreamSecrets::new(alg, &KEY, &STREAM_DATA);

        let inspection = Inspection::start(&secrets.patterns(&KEY));
        let mut ctx: *mut codomyrmex_hmac = std::ptr::null_mut();
        // SAFETY: `KEY` is valid for its length; `ctx` is writable.
        let status = unsafe { codomyrmex_hmac_new(alg.value(), KEY.as_ptr(), KEY.len(), &mut ctx) };
        assert_eq!(status, CODOMYRMEX_OK);
        let (state_at, stream_size) = state_block(&inspection, ctx.cast());
        inspection.set_aside(state_at);
        // SAFETY: `state_at` is the live state block, `stream_size` bytes.
        let block = unsafe { std::slice::from_raw_parts(state_at, stream_size) };
        let mut fields = secret_fields(block, &secrets, &[1, 2]);
        assert!(contains(block, &secrets.inner), "{alg}: no inner state");
        assert!(contains(block, &secrets.outer), "{alg}: no outer state");

        // SAFETY: `ctx` is live; the data is valid for its length.
        let status =
            unsafe { codomyrmex_hmac_update(ctx, STREAM_DATA.as_ptr(), STREAM_DATA.len()) };
        assert_eq!(status, CODOMYRMEX_OK);
        // SAFETY: as above.
        let block = unsafe { std::slice::from_raw_parts(state_at, stream_size) };
        assert!(contains(block, &secrets.running), "{alg}: no running state");
        fields.extend(secret_fields(block, &secrets, &[3]));
        assert!(fields.len() >= 5, "{alg}: {fields:?}");
        inspection.scan_now();

        let mut mac = [0u8; 64];
        let mut len = 0;
        // SAFETY: `ctx` is live; `mac` has 64 writable bytes; the stream is
        // freed once.
        unsafe {
            let status = codomyrmex_hmac_finish(ctx, mac.as_mut_ptr(), mac.len(), &mut len);
            assert_eq!(status, CODOMYRMEX_OK);
            codomyrmex_hmac_free(ctx);
        }
        let report = inspection.finish();
        let freed = Inspection::captured().expect("the stream was freed");

        assert_eq!(
            &mac[..len],
            codomyrmex_keys::hmac(alg, &KEY, &STREAM_DATA).as_bytes()
        );
        assert_eq!(freed.len(), stream_size);
        assert_fields_wiped(alg, &freed, &fields, &KEY);
        report.assert_seen(&StreamSecrets::NAMES);
        report.assert_clean(&StreamSecrets::NAMES);
    }
}

#[test]
fn hmac_stream_of_the_safe_api_is_wiped_on_drop() {
    const KEY: [u8; 64] = secret(0x0dec_0de5);
    let _serial = serial();
    for alg in HashAlg::ALL {
        let secrets = StreamSecrets::new(alg, &KEY, &STREAM_DATA);

        let inspection = Inspection::start(&secrets.patterns(&KEY));
        let mut stream = HmacStream::new(alg, &KEY);
        let handle: *const HmacStream = &stream;
        let (at, stream_size) = state_block(&inspection, handle.cast());
        inspection.set_aside(at);
        let view = || {
            // SAFETY: the state block is live and `stream_size` bytes long;
            // it is only read while no `&mut` to it is in use.
            unsafe { std::slice::from_raw_parts(at, stream_size) }
        };
        let mut fields = secret_fields(view(), &secrets, &[1, 2]);
        stream.update(&STREAM_DATA[..100]);
        stream.update(&STREAM_DATA[100..]);
        fields.extend(secret_fields(view(), &secrets, &[3]));
        inspection.scan_now();
        let mac = stream.finish();
        drop(stream);
        let report = inspection.finish();
        let freed = Inspection::captured().expect("the stream was freed");

        assert_eq!(mac, codomyrmex_keys::hmac(alg, &KEY, &STREAM_DATA));
        assert!(fields.len() >= 5, "{alg}: {fields:?}");
        assert_fields_wiped(alg, &freed, &fields, &KEY);
        report.assert_seen(&StreamSecrets::NAMES);
        report.assert_clean(&StreamSecrets::NAMES);
    }
}

/// Fills 32 KiB of stack below the caller with copies of `secret`, as the
/// frames of earlier HMAC calls leave their state there (see the stack test
/// at the end), then returns.
#[inline(never)]
fn leave_on_stack(secret: &[u8]) {
    let mut area = [0u8; 32 * 1024];
    for chunk in area.chunks_mut(secret.len()) {
        chunk.copy_from_slice(&secret[..chunk.len()]);
    }
    std::hint::black_box(&mut area);
}

/// The whole block of a stream, padding included, when the stack it was
/// built on held HMAC state (as it does after any earlier HMAC call).
#[test]
fn hmac_stream_block_is_wiped_whole_padding_included() {
    const KEY: [u8; 48] = secret(0xfade_0001);
    let _serial = serial();
    let mut leaks = Vec::new();
    for alg in HashAlg::ALL {
        let secrets = StreamSecrets::new(alg, &KEY, &[]);
        let mut stale = Zeroizing::new(secrets.inner.to_vec());
        stale.extend_from_slice(&secrets.outer);
        let names = &StreamSecrets::NAMES[..3];
        let patterns = &secrets.patterns(&KEY)[..3];

        // Through the C interface.
        let inspection = Inspection::start(patterns);
        let mut ctx: *mut codomyrmex_hmac = std::ptr::null_mut();
        leave_on_stack(&stale);
        // SAFETY: `KEY` is valid for its length; `ctx` is writable.
        let status = unsafe { codomyrmex_hmac_new(alg.value(), KEY.as_ptr(), KEY.len(), &mut ctx) };
        assert_eq!(status, CODOMYRMEX_OK);
        inspection.scan_now();
        let mut mac = [0u8; 64];
        let mut len = 0;
        leave_on_stack(&stale);
        // SAFETY: `ctx` is live; `mac` has 64 writable bytes; freed once.
        unsafe {
            let status = codomyrmex_hmac_finish(ctx, mac.as_mut_ptr(), mac.len(), &mut len);
            assert_eq!(status, CODOMYRMEX_OK);
            codomyrmex_hmac_free(ctx);
        }
        let report = inspection.finish();
        report.assert_seen(names);
        if report.violation_count > 0 {
            leaks.push(format!("{alg} (C stream): {}", describe(&report, names)));
        }

        // A boxed stream of the safe API.
        let inspection = Inspection::start(patterns);
        leave_on_stack(&stale);
        let mut stream = Box::new(HmacStream::new(alg, &KEY));
        inspection.scan_now();
        leave_on_stack(&stale);
        std::hint::black_box(stream.finish());
        leave_on_stack(&stale);
        let twin = stream.clone();
        drop(twin);
        drop(stream);
        let report = inspection.finish();
        report.assert_seen(names);
        if report.violation_count > 0 {
            leaks.push(format!(
                "{alg} (boxed HmacStream): {}",
                describe(&report, names)
            ));
        }
    }
    assert!(
        leaks.is_empty(),
        "HMAC state left in freed stream blocks:\n  {}",
        leaks.join("\n  ")
    );
}

// ---- The key store ----

#[test]
fn get_and_get_version_copies_are_wiped() {
    const V1: [u8; 48] = secret(0x7e57_0001);
    const V2: [u8; 40] = secret(0x7e57_0002);
    let _serial = serial();
    let (_tmp, km) = fresh_store();
    km.store("k", &V1).unwrap();
    km.rotate("k", &V2).unwrap();
    let names = ["version 1", "version 2"];

    let inspection = Inspection::start(&[(&V1, true), (&V2, true)]);
    let current = km.get("k").unwrap();
    let first = km.key("k").unwrap().at(v(1)).get().unwrap();
    let zero = km.key("k").unwrap().at(Version::Current).get().unwrap();
    inspection.scan_now();
    assert_eq!(current.as_bytes(), V2);
    assert_eq!(first.as_bytes(), V1);
    assert_eq!(zero.as_bytes(), V2);
    drop((current, first, zero));
    let report = inspection.finish();
    report.assert_seen(&names);
    report.assert_clean(&names);
}

#[test]
fn store_and_rotate_wipe_the_keys_they_read() {
    const OLD: [u8; 48] = secret(0x5707_0001);
    const NEW: [u8; 33] = secret(0x5707_0002);
    const NEWER: [u8; 64] = secret(0x5707_0003);
    let _serial = serial();
    let (_tmp, km) = fresh_store();
    km.store("k", &OLD).unwrap();
    let names = ["old key", "new key", "newer key"];

    // Storing over a key reads it (to record it as a version); rotating
    // reads and returns it. The keys passed in go from the caller's slice
    // straight to the file: the newest is never in the heap at all.
    let inspection = Inspection::start(&[(&OLD, true), (&NEW, true), (&NEWER, false)]);
    km.store("k", &NEW).unwrap();
    let previous = km.rotate("k", &NEWER).unwrap().expect("a previous key");
    assert_eq!(previous.as_bytes(), NEW);
    inspection.scan_now();
    drop(previous);
    let bounded = rotate_bounded(&km, "k", &OLD, 8).unwrap_err();
    assert!(
        matches!(bounded, Bounded::TooLong { needed: 64 }),
        "{bounded:?}"
    );
    let report = inspection.finish();
    report.assert_seen(&names);
    report.assert_clean(&names);
    assert_eq!(version_list(&km, "k").unwrap(), [1, 2, 3]);
}

#[test]
fn generate_wipes_the_random_key() {
    // An unusual length, so the key's block can be recognized by its size.
    const LEN: usize = 61;
    let _serial = serial();
    let (_tmp, km) = fresh_store();

    let inspection = Inspection::start_blind(LEN);
    km.generate("g", LEN).unwrap();
    let report = inspection.finish();

    let mut key = [0u8; LEN];
    {
        let stored = km.get("g").unwrap();
        key.copy_from_slice(&stored);
    }
    let (found, sighted) = Inspection::search(&key);
    assert!(!report.live_overflow);
    assert!(
        sighted,
        "the generated key was never seen in the heap: the test proves nothing"
    );
    assert!(
        found.is_empty(),
        "the generated key was left in freed or live blocks: {found:?}"
    );
}

#[test]
fn mac_derive_and_tagged_operations_wipe_the_keys_they_read() {
    const V1: [u8; 48] = secret(0x3ac0_0001);
    const V2: [u8; 56] = secret(0x3ac0_0002);
    let _serial = serial();
    let (_tmp, km) = fresh_store();
    km.store("k", &V1).unwrap();
    let key = km.key("k").unwrap();
    let tag1 = key.hmac_tagged(HashAlg::Sha384, b"message").unwrap();
    km.rotate("k", &V2).unwrap();
    // The derived key, computed beforehand on the stack: the library must
    // write it to the caller's buffer only.
    let mut expected_okm = [0u8; 48];
    hkdf_derive(HashAlg::Sha256, &V2, b"salt", b"info", &mut expected_okm).unwrap();
    let names = ["version 1", "version 2", "derived key"];

    let inspection = Inspection::start(&[(&V1, true), (&V2, true), (&expected_okm, false)]);
    let mac = key.hmac(HashAlg::Sha512, b"message").unwrap();
    key.hmac_verify(HashAlg::Sha512, b"message", mac.as_bytes())
        .unwrap();
    let mut okm = [0u8; 48];
    key.derive(HashAlg::Sha256, b"salt", b"info", &mut okm)
        .unwrap();
    let tag2 = key.hmac_tagged(HashAlg::Sha256, b"message").unwrap();
    key.hmac_verify_tagged(HashAlg::Sha256, b"message", tag2.as_bytes())
        .unwrap();
    key.hmac_verify_tagged(HashAlg::Sha384, b"message", tag1.as_bytes())
        .unwrap();
    let old_mac = key.at(v(1)).hmac(HashAlg::Sha256, b"message").unwrap();
    let mut old_okm = [0u8; 32];
    key.at(v(1))
        .derive(HashAlg::Sha512, b"", b"", &mut old_okm)
        .unwrap();
    km.prune("k", NonZeroU32::MIN).unwrap();
    let report = inspection.finish();

    assert_eq!(okm, expected_okm);
    assert_eq!(
        old_mac,
        codomyrmex_keys::hmac(HashAlg::Sha256, &V1, b"message")
    );
    report.assert_seen(&names);
    report.assert_clean(&names);
    km.delete("k").unwrap();
}

#[test]
fn c_api_key_manager_wipes_its_copies() {
    const V1: [u8; 48] = secret(0xc0de_0001);
    const V2: [u8; 44] = secret(0xc0de_0002);
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = CString::new(tmp.path().join("keys").as_os_str().as_bytes()).unwrap();
    let id = c"k";
    let mut km: *mut codomyrmex_key_manager = std::ptr::null_mut();
    // SAFETY: `dir` is NUL-terminated; `km` is writable.
    assert_eq!(
        unsafe { codomyrmex_key_manager_open(dir.as_ptr(), &mut km) },
        CODOMYRMEX_OK
    );
    // SAFETY: `km` is live; `id` is NUL-terminated; `V1` valid.
    let status = unsafe { codomyrmex_key_manager_store(km, id.as_ptr(), V1.as_ptr(), V1.len()) };
    assert_eq!(status, CODOMYRMEX_OK);
    let names = ["version 1", "version 2"];

    let inspection = Inspection::start(&[(&V1, true), (&V2, true)]);
    let mut old = [0u8; 64];
    let mut old_len = 0;
    let mut key = [0u8; 64];
    let mut key_len = 0;
    let mut first = [0u8; 64];
    let mut first_len = 0;
    let mut mac = [0u8; 64];
    let mut mac_len = 0;
    let mut tag = [0u8; 69];
    let mut tag_len = 0;
    // SAFETY: `km` is live; every buffer is valid for its capacity.
    unsafe {
        let status = codomyrmex_key_manager_rotate(
            km,
            id.as_ptr(),
            V2.as_ptr(),
            V2.len(),
            old.as_mut_ptr(),
            old.len(),
            &mut old_len,
        );
        assert_eq!(status, CODOMYRMEX_OK);
        let status =
            codomyrmex_key_manager_get(km, id.as_ptr(), key.as_mut_ptr(), key.len(), &mut key_len);
        assert_eq!(status, CODOMYRMEX_OK);
        let status = codomyrmex_key_manager_get_version(
            km,
            id.as_ptr(),
            1,
            first.as_mut_ptr(),
            first.len(),
            &mut first_len,
        );
        assert_eq!(status, CODOMYRMEX_OK);
        let status = codomyrmex_key_manager_hmac(
            km,
            id.as_ptr(),
            HashAlg::Sha256.value(),
            b"data".as_ptr(),
            4,
            mac.as_mut_ptr(),
            mac.len(),
            &mut mac_len,
        );
        assert_eq!(status, CODOMYRMEX_OK);
        let status = codomyrmex_key_manager_hmac_tagged(
            km,
            id.as_ptr(),
            HashAlg::Sha512.value(),
            b"data".as_ptr(),
            4,
            tag.as_mut_ptr(),
            tag.len(),
            &mut tag_len,
        );
        assert_eq!(status, CODOMYRMEX_OK);
    }
    let report = inspection.finish();
    // SAFETY: `km` came from codomyrmex_key_manager_open; freed once.
    unsafe { codomyrmex_key_manager_free(km) };

    assert_eq!(&old[..old_len], V1);
    assert_eq!(&key[..key_len], V2);
    assert_eq!(&first[..first_len], V1);
    assert_eq!(tag_len, 69);
    report.assert_seen(&names);
    report.assert_clean(&names);
}

// ---- The stack (outside the allocator's view) ----

/// Runs HMAC and HKDF the ways a caller can, in frames deeper than the
/// caller's, and returns.
#[inline(never)]
fn hmac_and_hkdf_calls(key: &[u8]) {
    use std::hint::black_box;
    black_box(codomyrmex_keys::hmac(
        HashAlg::Sha256,
        black_box(key),
        b"data",
    ));
    let mut stream = HmacStream::new(HashAlg::Sha256, black_box(key));
    stream.update(b"data");
    black_box(stream.finish());
    drop(stream);
    let mut ctx: *mut codomyrmex_hmac = std::ptr::null_mut();
    // SAFETY: `key` is valid for its length; `ctx` is writable and the
    // stream is freed once.
    unsafe {
        assert_eq!(
            codomyrmex_hmac_new(1, key.as_ptr(), key.len(), &mut ctx),
            CODOMYRMEX_OK
        );
        codomyrmex_hmac_free(ctx);
    }
    let prk = hkdf_extract(HashAlg::Sha256, b"salt", black_box(key));
    black_box(&prk);
    drop(prk);
    let mut okm = [0u8; 42];
    hkdf_derive(HashAlg::Sha256, key, b"salt", b"info", &mut okm).unwrap();
    black_box(&okm);
}

/// Copies into `out` the stack just below this function's frame: what the
/// frames of calls that have returned left there.
#[inline(never)]
fn read_dead_stack(out: &mut [u8]) {
    let marker = 0u8;
    let bottom = std::hint::black_box(&marker) as *const u8 as usize - 256 - out.len();
    for (i, byte) in out.iter_mut().enumerate() {
        // SAFETY: the thread's stack is mapped far below this point (the
        // thread has a 1 MiB stack and this runs near its top).
        *byte = unsafe { std::ptr::read_volatile((bottom + i) as *const u8) };
    }
}

/// Outside the allocator's view: after HMAC and HKDF calls return, their
/// dead stack frames should hold no key, keyed HMAC state or PRK.
#[test]
fn hmac_and_hkdf_leave_no_secrets_in_dead_stack_frames() {
    const KEY: [u8; 40] = secret(0x57ac_0001);
    let _serial = serial();
    let mut padded = [0u8; 64];
    padded[..KEY.len()].copy_from_slice(&KEY);
    let key_opad: Zeroizing<Vec<u8>> = Zeroizing::new(padded.iter().map(|b| b ^ OPAD).collect());
    let mut prk = [0u8; 32];
    prk.copy_from_slice(hkdf_extract(HashAlg::Sha256, b"salt", &KEY).as_bytes());
    let secrets: [(&str, Zeroizing<Vec<u8>>); 5] = [
        ("raw key", Zeroizing::new(KEY.to_vec())),
        (
            "key^opad block",
            Zeroizing::new(key_opad[..KEY.len()].to_vec()),
        ),
        (
            "inner keyed chaining value",
            chaining_value(HashAlg::Sha256, &KEY, IPAD, &[]),
        ),
        (
            "outer keyed chaining value",
            chaining_value(HashAlg::Sha256, &KEY, OPAD, &[]),
        ),
        ("PRK", Zeroizing::new(prk.to_vec())),
    ];

    let stack = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let mut stack = vec![0u8; 64 * 1024];
            hmac_and_hkdf_calls(&KEY);
            read_dead_stack(&mut stack);
            stack
        })
        .unwrap()
        .join()
        .unwrap();
    let left: Vec<&str> = secrets
        .iter()
        .filter(|(_, secret)| {
            secret
                .windows(inspector::WINDOW)
                .any(|window| contains(&stack, window))
        })
        .map(|(name, _)| *name)
        .collect();
    assert!(left.is_empty(), "left in dead stack frames: {left:?}");
}
