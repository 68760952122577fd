//! The HMAC and HKDF functions of the C interface allocate no heap memory
//! when they succeed: a counting global allocator sees zero allocations
//! during the calls, for every algorithm and for inputs from empty to
//! several blocks long (and a long HKDF output).

use codomyrmex_keys::ffi::hkdf::{
    codomyrmex_hkdf_derive, codomyrmex_hkdf_expand, codomyrmex_hkdf_extract,
};
use codomyrmex_keys::ffi::hmac::{codomyrmex_hmac_compute, codomyrmex_hmac_verify};
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, CODOMYRMEX_OK};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting the allocations each thread makes (the
/// test harness runs other threads that allocate).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread being torn down has no slot left; it is not
    // one of ours.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded from the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations on this thread while `call` runs, and its status.
fn allocations_during(call: impl FnOnce() -> codomyrmex_status) -> (u64, codomyrmex_status) {
    let before = ALLOCATIONS.with(Cell::get);
    let status = call();
    (ALLOCATIONS.with(Cell::get) - before, status)
}

const ALGS: [(u32, usize); 3] = [(1, 32), (2, 48), (3, 64)];

#[test]
fn hmac_and_hkdf_success_paths_do_not_allocate() {
    let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    let key = [0x42u8; 200]; // longer than a block: hashed first
    let mut mac = [0u8; 64];
    let mut mac_len = 0usize;
    let mut prk = [0u8; 64];
    let mut prk_len = 0usize;
    let mut okm = vec![0u8; 255 * 64];

    for (alg, digest_len) in ALGS {
        for len in [0, 1, 32, 111, 112, 128, 129, 1000] {
            for key_len in [0, 32, 200] {
                let (n, st) = allocations_during(|| unsafe {
                    codomyrmex_hmac_compute(
                        alg,
                        key.as_ptr(),
                        key_len,
                        data.as_ptr(),
                        len,
                        mac.as_mut_ptr(),
                        mac.len(),
                        &mut mac_len,
                    )
                });
                assert_eq!(
                    (n, st),
                    (0, CODOMYRMEX_OK),
                    "hmac_compute alg {alg} len {len}"
                );
                assert_eq!(mac_len, digest_len);

                let (n, st) = allocations_during(|| unsafe {
                    codomyrmex_hmac_verify(
                        alg,
                        key.as_ptr(),
                        key_len,
                        data.as_ptr(),
                        len,
                        mac.as_ptr(),
                        mac_len,
                    )
                });
                assert_eq!(
                    (n, st),
                    (0, CODOMYRMEX_OK),
                    "hmac_verify alg {alg} len {len}"
                );
            }

            let (n, st) = allocations_during(|| unsafe {
                codomyrmex_hkdf_extract(
                    alg,
                    key.as_ptr(),
                    32,
                    data.as_ptr(),
                    len,
                    prk.as_mut_ptr(),
                    prk.len(),
                    &mut prk_len,
                )
            });
            assert_eq!(
                (n, st),
                (0, CODOMYRMEX_OK),
                "hkdf_extract alg {alg} len {len}"
            );
            assert_eq!(prk_len, digest_len);
        }

        for okm_len in [1, 32, digest_len + 1, 255 * digest_len] {
            let (n, st) = allocations_during(|| unsafe {
                codomyrmex_hkdf_derive(
                    alg,
                    data.as_ptr(),
                    32,
                    key.as_ptr(),
                    32,
                    data.as_ptr(),
                    16,
                    okm.as_mut_ptr(),
                    okm_len,
                )
            });
            assert_eq!(
                (n, st),
                (0, CODOMYRMEX_OK),
                "hkdf_derive alg {alg} okm {okm_len}"
            );

            let (n, st) = allocations_during(|| unsafe {
                codomyrmex_hkdf_expand(
                    alg,
                    prk.as_ptr(),
                    prk_len,
                    data.as_ptr(),
                    16,
                    okm.as_mut_ptr(),
                    okm_len,
                )
            });
            assert_eq!(
                (n, st),
                (0, CODOMYRMEX_OK),
                "hkdf_expand alg {alg} okm {okm_len}"
            );
        }
    }
}

#[test]
fn the_counter_sees_allocations() {
    let (n, _) = allocations_during(|| {
        std::hint::black_box(vec![1u8; 16]);
        CODOMYRMEX_OK
    });
    assert!(n >= 1, "the counting allocator saw {n} allocations");
}
