//! The C key manager using the keys it holds without handing them out:
//! HMAC, verification and HKDF with a stored key, and one handle shared by
//! many threads.

mod common;

use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_derive, codomyrmex_key_manager_get,
    codomyrmex_key_manager_hmac, codomyrmex_key_manager_hmac_verify, codomyrmex_key_manager_store,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::*;
use codomyrmex_keys::hkdf_derive;
use common::ffi::{BAD_ALGS, FILL, Km, LEN_SENTINEL, algs, c, c_hmac, safe_alg, untouched};
use std::ffi::CString;
use std::ptr;

#[test]
fn stored_key_hmac_verify_and_derive() {
    let km = Km::new();
    let id = c("mac-key");
    let missing = c("missing");
    let key = b"stored key for MACs";
    let data = b"some data";
    assert_eq!(km.store("mac-key", key), CODOMYRMEX_OK);
    for (alg, digest) in algs() {
        let expected = c_hmac(alg, key, data);
        // SAFETY (all calls): a live handle, NUL-terminated ids, buffers valid
        // for their capacities or NULL (capacity 0, or refused).
        unsafe {
            let mut out = [FILL; 80];
            let mut len = LEN_SENTINEL;
            let status = codomyrmex_key_manager_hmac(
                km.ptr,
                id.as_ptr(),
                alg,
                data.as_ptr(),
                data.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            );
            assert_eq!(status, CODOMYRMEX_OK);
            assert_eq!(len, digest);
            assert_eq!(&out[..digest], &expected[..]);
            assert!(untouched(&out[digest..]));

            let mut len = LEN_SENTINEL;
            let status = codomyrmex_key_manager_hmac(
                km.ptr,
                id.as_ptr(),
                alg,
                data.as_ptr(),
                data.len(),
                ptr::null_mut(),
                0,
                &mut len,
            );
            assert_eq!(status, CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
            assert_eq!(len, digest);
            let mut small = [FILL; 64];
            let mut len = LEN_SENTINEL;
            let status = codomyrmex_key_manager_hmac(
                km.ptr,
                id.as_ptr(),
                alg,
                data.as_ptr(),
                data.len(),
                small.as_mut_ptr(),
                digest - 1,
                &mut len,
            );
            assert_eq!(status, CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
            assert_eq!(len, digest);
            assert!(untouched(&small));

            let mut len = LEN_SENTINEL;
            let status = codomyrmex_key_manager_hmac(
                km.ptr,
                missing.as_ptr(),
                alg,
                data.as_ptr(),
                data.len(),
                small.as_mut_ptr(),
                64,
                &mut len,
            );
            assert_eq!(status, CODOMYRMEX_ERR_NOT_FOUND);
            assert_eq!(len, LEN_SENTINEL);
            assert!(untouched(&small));

            // (NULL, 0) data is the empty message.
            let mut len = LEN_SENTINEL;
            let status = codomyrmex_key_manager_hmac(
                km.ptr,
                id.as_ptr(),
                alg,
                ptr::null(),
                0,
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            );
            assert_eq!(status, CODOMYRMEX_OK);
            let empty_mac = c_hmac(alg, key, b"");
            assert_eq!(&out[..len], &empty_mac[..]);
            let status = codomyrmex_key_manager_hmac_verify(
                km.ptr,
                id.as_ptr(),
                alg,
                ptr::null(),
                0,
                empty_mac.as_ptr(),
                empty_mac.len(),
            );
            assert_eq!(status, CODOMYRMEX_OK);

            let verify = |id: &CString, mac: &[u8]| {
                codomyrmex_key_manager_hmac_verify(
                    km.ptr,
                    id.as_ptr(),
                    alg,
                    data.as_ptr(),
                    data.len(),
                    mac.as_ptr(),
                    mac.len(),
                )
            };
            assert_eq!(verify(&id, &expected), CODOMYRMEX_OK);
            assert_eq!(
                verify(&id, &expected[..digest - 1]),
                CODOMYRMEX_ERR_VERIFY_FAILED
            );
            let mut wrong = expected.clone();
            wrong[digest - 1] ^= 1;
            assert_eq!(verify(&id, &wrong), CODOMYRMEX_ERR_VERIFY_FAILED);
            assert_eq!(verify(&missing, &expected), CODOMYRMEX_ERR_NOT_FOUND);

            let mut okm = [FILL; 100];
            let status = codomyrmex_key_manager_derive(
                km.ptr,
                id.as_ptr(),
                alg,
                b"salt".as_ptr(),
                4,
                b"info".as_ptr(),
                4,
                okm.as_mut_ptr(),
                70,
            );
            assert_eq!(status, CODOMYRMEX_OK);
            let mut safe = [0u8; 70];
            hkdf_derive(safe_alg(alg), key, b"salt", b"info", &mut safe).unwrap();
            assert_eq!(&okm[..70], &safe[..]);
            assert!(untouched(&okm[70..]));

            let mut okm = vec![FILL; 255 * digest + 1];
            for bad_len in [0, 255 * digest + 1] {
                let status = codomyrmex_key_manager_derive(
                    km.ptr,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    okm.as_mut_ptr(),
                    bad_len,
                );
                assert_eq!(status, CODOMYRMEX_ERR_INVALID_ARGUMENT, "okm_len {bad_len}");
            }
            let status = codomyrmex_key_manager_derive(
                km.ptr,
                missing.as_ptr(),
                alg,
                ptr::null(),
                0,
                ptr::null(),
                0,
                okm.as_mut_ptr(),
                32,
            );
            assert_eq!(status, CODOMYRMEX_ERR_NOT_FOUND);
            assert!(untouched(&okm));
        }
    }
    for bad in BAD_ALGS {
        let mut out = [FILL; 64];
        let mut len = LEN_SENTINEL;
        // SAFETY: as above.
        unsafe {
            assert_eq!(
                codomyrmex_key_manager_hmac(
                    km.ptr,
                    id.as_ptr(),
                    bad,
                    data.as_ptr(),
                    9,
                    out.as_mut_ptr(),
                    64,
                    &mut len
                ),
                CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM
            );
            assert_eq!(
                codomyrmex_key_manager_hmac_verify(
                    km.ptr,
                    id.as_ptr(),
                    bad,
                    data.as_ptr(),
                    9,
                    out.as_ptr(),
                    32
                ),
                CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM
            );
            assert_eq!(
                codomyrmex_key_manager_derive(
                    km.ptr,
                    id.as_ptr(),
                    bad,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    out.as_mut_ptr(),
                    32
                ),
                CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM
            );
        }
        assert!(untouched(&out), "alg {bad}");
        assert_eq!(len, LEN_SENTINEL);
    }
}

/// A key-manager handle that may cross threads, as the contract allows.
#[derive(Clone, Copy)]
struct SharedKm(*const codomyrmex_key_manager);
// SAFETY: the C contract makes a key manager safe to share between threads.
unsafe impl Send for SharedKm {}
// SAFETY: as above.
unsafe impl Sync for SharedKm {}

#[test]
fn one_handle_is_shared_by_many_threads() {
    let km = Km::new();
    let shared = SharedKm(km.ptr);
    let threads = 4;
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|scope| {
        for t in 0..threads {
            let barrier = &barrier;
            scope.spawn(move || {
                let shared = shared;
                barrier.wait();
                for round in 0..20u8 {
                    let id = c(&format!("t{t}-r{round}"));
                    let key = [t as u8, round, 0xEE];
                    let mut out = [0u8; 8];
                    let mut len = 0;
                    // SAFETY: the handle outlives the scope; valid buffers.
                    unsafe {
                        assert_eq!(
                            codomyrmex_key_manager_store(
                                shared.0,
                                id.as_ptr(),
                                key.as_ptr(),
                                key.len()
                            ),
                            CODOMYRMEX_OK
                        );
                        assert_eq!(
                            codomyrmex_key_manager_get(
                                shared.0,
                                id.as_ptr(),
                                out.as_mut_ptr(),
                                out.len(),
                                &mut len
                            ),
                            CODOMYRMEX_OK
                        );
                    }
                    assert_eq!(&out[..len], &key);
                }
            });
        }
    });
    let (_, count) = km.list();
    assert_eq!(count, threads * 20);
}
