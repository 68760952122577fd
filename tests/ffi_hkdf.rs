//! The C HKDF functions called directly: derive, extract and expand, their
//! length limits, NULL pointers and the buffer rule. Every failing call is
//! checked to leave its out-parameters (pre-filled with sentinels) as they
//! were.

mod common;

use codomyrmex_keys::ffi::hkdf::{
    codomyrmex_hkdf_derive, codomyrmex_hkdf_expand, codomyrmex_hkdf_extract,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::*;
use codomyrmex_keys::hkdf_derive;
use common::ffi::{BAD_ALGS, FILL, LEN_SENTINEL, algs, c_hmac, safe_alg, untouched};
use std::ptr;

// ---------------------------------------------------------------------------
// HKDF.

#[test]
fn hkdf_derive_conventions() {
    for (alg, digest) in algs() {
        let max = 255 * digest;
        let derive = |ikm: (*const u8, usize),
                      salt: (*const u8, usize),
                      info: (*const u8, usize),
                      okm: (*mut u8, usize)| {
            // SAFETY: each pointer is valid for its length or NULL (refused,
            // or with length 0).
            unsafe {
                codomyrmex_hkdf_derive(
                    alg, ikm.0, ikm.1, salt.0, salt.1, info.0, info.1, okm.0, okm.1,
                )
            }
        };
        let ikm = b"input key material";
        let ikm_arg = (ikm.as_ptr(), ikm.len());
        let none = (ptr::null::<u8>(), 0);

        // (NULL, 0) salt is "no salt", i.e. HashLen zero bytes.
        let mut with_null = [FILL; 40];
        assert_eq!(
            derive(ikm_arg, none, none, (with_null.as_mut_ptr(), 40)),
            CODOMYRMEX_OK
        );
        let zeros = vec![0u8; digest];
        let mut with_zeros = [0u8; 40];
        assert_eq!(
            derive(
                ikm_arg,
                (zeros.as_ptr(), digest),
                none,
                (with_zeros.as_mut_ptr(), 40)
            ),
            CODOMYRMEX_OK
        );
        assert_eq!(with_null, with_zeros);
        let mut safe = [0u8; 40];
        hkdf_derive(safe_alg(alg), ikm, &[], &[], &mut safe).unwrap();
        assert_eq!(with_null, safe);

        // Empty IKM as (NULL, 0).
        let mut out = [0u8; 20];
        assert_eq!(
            derive(none, none, none, (out.as_mut_ptr(), 20)),
            CODOMYRMEX_OK
        );
        let mut safe = [0u8; 20];
        hkdf_derive(safe_alg(alg), &[], &[], &[], &mut safe).unwrap();
        assert_eq!(out, safe);

        // Lengths: 1 and the maximum are accepted; 0 and maximum + 1 are not.
        let mut big = vec![FILL; max + 1];
        assert_eq!(
            derive(ikm_arg, none, none, (big.as_mut_ptr(), 1)),
            CODOMYRMEX_OK
        );
        assert_eq!(
            derive(ikm_arg, none, none, (big.as_mut_ptr(), max)),
            CODOMYRMEX_OK
        );
        assert_eq!(big[max], FILL, "nothing past okm_len");
        let mut big = vec![FILL; max + 1];
        assert_eq!(
            derive(ikm_arg, none, none, (big.as_mut_ptr(), max + 1)),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert!(untouched(&big));
        assert_eq!(
            derive(ikm_arg, none, none, (big.as_mut_ptr(), 0)),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            derive(ikm_arg, none, none, (ptr::null_mut(), 0)),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert!(untouched(&big));

        // NULL with a length.
        let mut out = [FILL; 32];
        let out_arg = (out.as_mut_ptr(), 32);
        let null1 = (ptr::null::<u8>(), 1);
        assert_eq!(
            derive(null1, none, none, out_arg),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            derive(ikm_arg, null1, none, out_arg),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            derive(ikm_arg, none, null1, out_arg),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            derive(ikm_arg, none, none, (ptr::null_mut(), 32)),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert!(untouched(&out));
    }
    for bad in BAD_ALGS {
        let mut out = [FILL; 32];
        // SAFETY: valid pointers.
        let status = unsafe {
            codomyrmex_hkdf_derive(
                bad,
                b"k".as_ptr(),
                1,
                ptr::null(),
                0,
                ptr::null(),
                0,
                out.as_mut_ptr(),
                32,
            )
        };
        assert_eq!(status, CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM, "alg {bad}");
        assert!(untouched(&out));
    }
}

#[test]
fn hkdf_extract_buffer_rule_and_errors() {
    for (alg, digest) in algs() {
        let extract = |salt: (*const u8, usize),
                       ikm: (*const u8, usize),
                       out: *mut u8,
                       cap: usize,
                       len: *mut usize| {
            // SAFETY: each pointer is valid for its length or NULL (refused,
            // or with length 0).
            unsafe { codomyrmex_hkdf_extract(alg, salt.0, salt.1, ikm.0, ikm.1, out, cap, len) }
        };
        let ikm = b"ikm";
        let ikm_arg = (ikm.as_ptr(), ikm.len());
        let none = (ptr::null::<u8>(), 0);

        let mut prk = [FILL; 80];
        let mut len = LEN_SENTINEL;
        assert_eq!(
            extract(none, ikm_arg, prk.as_mut_ptr(), prk.len(), &mut len),
            CODOMYRMEX_OK
        );
        assert_eq!(len, digest);
        assert!(untouched(&prk[digest..]));
        // The PRK is HMAC(salt = HashLen zeros, ikm).
        assert_eq!(&prk[..digest], c_hmac(alg, &vec![0u8; digest], ikm));

        let mut len = LEN_SENTINEL;
        assert_eq!(
            extract(none, ikm_arg, ptr::null_mut(), 0, &mut len),
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, digest);
        let mut prk = [FILL; 64];
        let mut len = LEN_SENTINEL;
        assert_eq!(
            extract(none, ikm_arg, prk.as_mut_ptr(), digest - 1, &mut len),
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, digest);
        assert!(untouched(&prk));

        let mut len = LEN_SENTINEL;
        let null1 = (ptr::null::<u8>(), 1);
        assert_eq!(
            extract(null1, ikm_arg, prk.as_mut_ptr(), 64, &mut len),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            extract(none, null1, prk.as_mut_ptr(), 64, &mut len),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            extract(none, ikm_arg, ptr::null_mut(), 64, &mut len),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            extract(none, ikm_arg, prk.as_mut_ptr(), 64, ptr::null_mut()),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(len, LEN_SENTINEL);
        assert!(untouched(&prk));
    }
    for bad in BAD_ALGS {
        let mut prk = [FILL; 64];
        let mut len = LEN_SENTINEL;
        // SAFETY: valid pointers.
        let status = unsafe {
            codomyrmex_hkdf_extract(
                bad,
                ptr::null(),
                0,
                b"k".as_ptr(),
                1,
                prk.as_mut_ptr(),
                64,
                &mut len,
            )
        };
        assert_eq!(status, CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM, "alg {bad}");
        assert_eq!(len, LEN_SENTINEL);
        assert!(untouched(&prk));
    }
}

#[test]
fn hkdf_expand_checks_lengths() {
    for (alg, digest) in algs() {
        let max = 255 * digest;
        let prk = vec![0x11u8; digest + 10];
        let expand =
            |prk: (*const u8, usize), info: (*const u8, usize), okm: *mut u8, okm_len: usize| {
                // SAFETY: each pointer is valid for its length or NULL (refused,
                // or with length 0).
                unsafe { codomyrmex_hkdf_expand(alg, prk.0, prk.1, info.0, info.1, okm, okm_len) }
            };
        let none = (ptr::null::<u8>(), 0);
        let mut okm = vec![FILL; max + 1];

        // A PRK of HashLen bytes or longer is accepted; a shorter one is not.
        assert_eq!(
            expand((prk.as_ptr(), digest), none, okm.as_mut_ptr(), 10),
            CODOMYRMEX_OK
        );
        assert_eq!(
            expand((prk.as_ptr(), digest + 10), none, okm.as_mut_ptr(), 10),
            CODOMYRMEX_OK
        );
        let mut okm = vec![FILL; max + 1];
        for short in [0, 1, digest - 1] {
            assert_eq!(
                expand((prk.as_ptr(), short), none, okm.as_mut_ptr(), 10),
                CODOMYRMEX_ERR_INVALID_ARGUMENT,
                "prk_len {short}"
            );
        }
        assert_eq!(
            expand(none, none, okm.as_mut_ptr(), 10),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            expand((prk.as_ptr(), digest), none, okm.as_mut_ptr(), 0),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            expand((prk.as_ptr(), digest), none, okm.as_mut_ptr(), max + 1),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        let null1 = (ptr::null::<u8>(), 1);
        assert_eq!(
            expand((ptr::null(), digest), none, okm.as_mut_ptr(), 10),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            expand((prk.as_ptr(), digest), null1, okm.as_mut_ptr(), 10),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            expand((prk.as_ptr(), digest), none, ptr::null_mut(), 10),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert!(untouched(&okm));
        assert_eq!(
            expand((prk.as_ptr(), digest), none, okm.as_mut_ptr(), max),
            CODOMYRMEX_OK
        );
        assert_eq!(okm[max], FILL);
    }
    for bad in BAD_ALGS {
        let prk = [0u8; 64];
        let mut okm = [FILL; 16];
        // SAFETY: valid pointers.
        let status = unsafe {
            codomyrmex_hkdf_expand(bad, prk.as_ptr(), 64, ptr::null(), 0, okm.as_mut_ptr(), 16)
        };
        assert_eq!(status, CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM, "alg {bad}");
        assert!(untouched(&okm));
    }
}
