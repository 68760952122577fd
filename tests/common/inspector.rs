//! An inspecting global allocator for the tests that show the library
//! wipes its secrets (`tests/secrets*.rs`), which install it with
//! `#[global_allocator]`: a wrapper over `System` that, while a test has
//! inspection switched on for its own thread, searches every block that
//! thread frees or reallocates for any 16-byte window of the test's secret
//! patterns. The hooks never allocate: their state is static and fixed in
//! size. Also the helpers those tests share: one inspection at a time,
//! distinctive secrets, and reports.

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
        self.all_seen = (0..self.pattern_count).all(|p| self.seen[p] || !self.patterns[p].expected);
    }

    fn sight(&mut self, block: &[u8]) {
        let block = &block[..block.len().min(MAX_PATTERN_LEN)];
        let known = &self.sightings[..self.sighting_count];
        if self.sighting_count == MAX_SIGHTINGS || known.iter().any(|s| &s[..block.len()] == block)
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

    /// Sets the live block at `ptr` aside: when it is freed, it is
    /// copied (see [`Inspection::captured`]) instead of searched, for a test
    /// that checks it field by field.
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

use codomyrmex_keys::HashAlg;
use std::sync::{Mutex, MutexGuard};
use zeroize::{Zeroize, Zeroizing};

/// Serializes the tests: one inspection at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the lock that serializes the tests of a binary.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A distinctive secret: pseudo-random bytes from `seed`, none of them 0.
pub const fn secret<const N: usize>(seed: u32) -> [u8; N] {
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
pub fn describe(report: &Report, names: &[&str]) -> String {
    let shown = report.violation_count.min(MAX_VIOLATIONS);
    report.violations[..shown]
        .iter()
        .map(|v| {
            format!(
                "{:?}: {} ({}-byte window at {}) in a block of {} bytes at offset {}",
                v.event, names[v.pattern], WINDOW, v.window, v.block_size, v.offset
            )
        })
        .collect::<Vec<_>>()
        .join("\n    ")
}

impl Report {
    /// Fails listing every violation, naming the patterns by `names`.
    pub fn assert_clean(&self, names: &[&str]) {
        assert!(!self.live_overflow, "too many live blocks to track");
        assert!(
            self.violation_count == 0,
            "{} secret(s) left in the heap:\n    {}",
            self.violation_count,
            describe(self, names)
        );
    }

    /// Fails unless every pattern marked expected was seen in a live block.
    pub fn assert_seen(&self, names: &[&str]) {
        for (i, name) in names.iter().enumerate().take(self.pattern_count) {
            assert!(
                self.seen[i] || !self.expected[i],
                "{name} was never seen in the heap: the test proves nothing"
            );
        }
    }
}

/// Whether `block` contains `needle` anywhere.
pub fn contains(block: &[u8], needle: &[u8]) -> bool {
    block.windows(needle.len()).any(|w| w == needle)
}

/// The HMAC inner pad byte.
pub const IPAD: u8 = 0x36;
/// The HMAC outer pad byte.
pub const OPAD: u8 = 0x5c;

/// The chaining value of the hash of `alg` after one block of `key ^ pad`
/// (and then `more` whole blocks), as the words lie in memory: what a keyed
/// HMAC state holds.
pub fn chaining_value(alg: HashAlg, key: &[u8], pad: u8, more: &[u8]) -> Zeroizing<Vec<u8>> {
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
