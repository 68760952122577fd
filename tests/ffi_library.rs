//! The library-wide C functions called directly: the version, status
//! names, the calling thread's last error message, random bytes, secure
//! zeroing and hash algorithm names. Every failing call is checked to leave
//! its out-parameters (pre-filled with sentinels) as they were.

mod common;

use codomyrmex_keys::ffi::alg::{
    CODOMYRMEX_SHA256, CODOMYRMEX_SHA384, CODOMYRMEX_SHA512, codomyrmex_hash_alg,
    codomyrmex_hash_alg_from_name, codomyrmex_hash_digest_len,
};
use codomyrmex_keys::ffi::hkdf::{codomyrmex_hkdf_derive, codomyrmex_hkdf_expand};
use codomyrmex_keys::ffi::hmac::{codomyrmex_hmac_compute, codomyrmex_hmac_verify};
use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager_create, codomyrmex_key_manager_derive, codomyrmex_key_manager_get,
    codomyrmex_key_manager_hmac_verify, codomyrmex_key_manager_rotate,
    codomyrmex_key_manager_store,
};
use codomyrmex_keys::ffi::library::{
    CODOMYRMEX_MAX_DIGEST_LEN, CODOMYRMEX_MAX_KEY_ID_LEN, CODOMYRMEX_MAX_KEY_LEN,
    CODOMYRMEX_VERSION_MAJOR, CODOMYRMEX_VERSION_MINOR, CODOMYRMEX_VERSION_PATCH,
    codomyrmex_last_error_message, codomyrmex_random_bytes, codomyrmex_secure_zero,
    codomyrmex_status_name, codomyrmex_version,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, *};
use common::ffi::{
    BAD_ALGS, FILL, Km, LEN_SENTINEL, algs, c, c_hmac, last_error, on_fresh_thread, untouched,
};
use std::ffi::{CStr, c_char};
use std::os::unix::fs::PermissionsExt;
use std::ptr;

/// Provokes a failure (unknown algorithm 0) and returns its status.
fn provoke_unsupported_algorithm() -> codomyrmex_status {
    let mut len = LEN_SENTINEL;
    // SAFETY: NULL pointers come with length or capacity 0; `len` is writable.
    unsafe {
        codomyrmex_hmac_compute(
            0,
            ptr::null(),
            0,
            ptr::null(),
            0,
            ptr::null_mut(),
            0,
            &mut len,
        )
    }
}

// ---------------------------------------------------------------------------
// Library-wide functions.

#[test]
fn version_is_the_crate_version() {
    // SAFETY: a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(codomyrmex_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(
        version.to_str().unwrap(),
        format!("{CODOMYRMEX_VERSION_MAJOR}.{CODOMYRMEX_VERSION_MINOR}.{CODOMYRMEX_VERSION_PATCH}")
    );
    assert_eq!(CODOMYRMEX_MAX_DIGEST_LEN, 64);
    assert_eq!(CODOMYRMEX_MAX_KEY_LEN, 65536);
    assert_eq!(CODOMYRMEX_MAX_KEY_ID_LEN, 128);
}

#[test]
fn status_values_and_names_are_fixed() {
    let table = [
        (CODOMYRMEX_OK, 0, "CODOMYRMEX_OK"),
        (
            CODOMYRMEX_ERR_NULL_POINTER,
            1,
            "CODOMYRMEX_ERR_NULL_POINTER",
        ),
        (
            CODOMYRMEX_ERR_INVALID_ARGUMENT,
            2,
            "CODOMYRMEX_ERR_INVALID_ARGUMENT",
        ),
        (
            CODOMYRMEX_ERR_INVALID_KEY_ID,
            3,
            "CODOMYRMEX_ERR_INVALID_KEY_ID",
        ),
        (
            CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM,
            4,
            "CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM",
        ),
        (
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL,
            5,
            "CODOMYRMEX_ERR_BUFFER_TOO_SMALL",
        ),
        (CODOMYRMEX_ERR_NOT_FOUND, 6, "CODOMYRMEX_ERR_NOT_FOUND"),
        (
            CODOMYRMEX_ERR_ALREADY_EXISTS,
            7,
            "CODOMYRMEX_ERR_ALREADY_EXISTS",
        ),
        (
            CODOMYRMEX_ERR_VERIFY_FAILED,
            8,
            "CODOMYRMEX_ERR_VERIFY_FAILED",
        ),
        (CODOMYRMEX_ERR_IO, 9, "CODOMYRMEX_ERR_IO"),
        (
            CODOMYRMEX_ERR_INSECURE_PERMISSIONS,
            10,
            "CODOMYRMEX_ERR_INSECURE_PERMISSIONS",
        ),
        (CODOMYRMEX_ERR_CORRUPT, 11, "CODOMYRMEX_ERR_CORRUPT"),
        (CODOMYRMEX_ERR_INTERNAL, 12, "CODOMYRMEX_ERR_INTERNAL"),
    ];
    for (status, value, name) in table {
        assert_eq!(status as u32, value, "{name}");
        // SAFETY: the function returns a static NUL-terminated string.
        let got = unsafe { CStr::from_ptr(codomyrmex_status_name(value)) };
        assert_eq!(got.to_str().unwrap(), name);
    }
    for unknown in [13, 14, 100, 255, 0x8000_0000, u32::MAX - 1, u32::MAX] {
        // SAFETY: as above.
        let got = unsafe { CStr::from_ptr(codomyrmex_status_name(unknown)) };
        assert_eq!(
            got.to_str().unwrap(),
            "CODOMYRMEX_UNKNOWN_STATUS",
            "{unknown}"
        );
    }
}

#[test]
fn last_error_is_empty_on_a_fresh_thread() {
    on_fresh_thread(|| {
        let mut buf = [FILL as c_char; 8];
        // SAFETY: NULL with capacity 0, then a buffer of its capacity.
        unsafe {
            assert_eq!(codomyrmex_last_error_message(ptr::null_mut(), 0), 0);
            assert_eq!(
                codomyrmex_last_error_message(buf.as_mut_ptr(), buf.len()),
                0
            );
        }
        assert_eq!(buf[0], 0, "an empty message is still NUL-terminated");
        assert!(buf[1..].iter().all(|&b| b as u8 == FILL));
        // A successful call does not create a message either.
        let mut rnd = [0u8; 4];
        // SAFETY: a buffer of its length.
        assert_eq!(
            unsafe { codomyrmex_random_bytes(rnd.as_mut_ptr(), rnd.len()) },
            CODOMYRMEX_OK
        );
        // SAFETY: a size query.
        assert_eq!(
            unsafe { codomyrmex_last_error_message(ptr::null_mut(), 0) },
            0
        );
    });
}

#[test]
fn last_error_message_is_copied_like_snprintf() {
    on_fresh_thread(|| {
        assert_eq!(
            provoke_unsupported_algorithm(),
            CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM
        );
        let message = last_error();
        let full = message.len();
        assert!(full > 10, "a useful message: {message:?}");
        assert!(message.contains("algorithm"), "{message:?}");
        assert!(
            !message.contains(['\n', '\r', '\0']),
            "one line: {message:?}"
        );

        for cap in [1, 2, 5, full - 1, full, full + 1, full + 10] {
            let mut buf = vec![FILL as c_char; full + 16];
            // SAFETY: `buf` has at least `cap` bytes.
            let ret = unsafe { codomyrmex_last_error_message(buf.as_mut_ptr(), cap) };
            assert_eq!(ret, full, "returns the full length (cap {cap})");
            let copied = full.min(cap - 1);
            let bytes: Vec<u8> = buf.iter().map(|&b| b as u8).collect();
            assert_eq!(&bytes[..copied], &message.as_bytes()[..copied], "cap {cap}");
            assert_eq!(bytes[copied], 0, "NUL after the copied bytes (cap {cap})");
            assert!(
                untouched(&bytes[copied + 1..]),
                "nothing written past the NUL (cap {cap})"
            );
        }

        // Capacity 0 writes nothing, even with a buffer.
        let mut buf = [FILL as c_char; 4];
        // SAFETY: capacity 0 allows no write.
        assert_eq!(
            unsafe { codomyrmex_last_error_message(buf.as_mut_ptr(), 0) },
            full
        );
        assert!(buf.iter().all(|&b| b as u8 == FILL));
        // NULL with a capacity is tolerated (nothing written).
        // SAFETY: the function does not write through NULL.
        assert_eq!(
            unsafe { codomyrmex_last_error_message(ptr::null_mut(), 16) },
            full
        );
    });
}

#[test]
fn last_error_survives_reading_and_successful_calls() {
    on_fresh_thread(|| {
        assert_eq!(
            provoke_unsupported_algorithm(),
            CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM
        );
        let first = last_error();
        assert_eq!(last_error(), first, "reading does not clear it");
        assert_eq!(last_error(), first);

        // Successful calls of several kinds leave it alone.
        let mac = c_hmac(CODOMYRMEX_SHA256, b"k", b"m");
        assert_eq!(mac.len(), 32);
        let mut okm = [0u8; 16];
        // SAFETY: valid pointers for their lengths.
        unsafe {
            assert_eq!(
                codomyrmex_hkdf_derive(
                    CODOMYRMEX_SHA512,
                    b"ikm".as_ptr(),
                    3,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    okm.as_mut_ptr(),
                    okm.len()
                ),
                CODOMYRMEX_OK
            );
            assert_eq!(
                codomyrmex_random_bytes(okm.as_mut_ptr(), okm.len()),
                CODOMYRMEX_OK
            );
        }
        let km = Km::new();
        assert_eq!(km.store("k", b"value"), CODOMYRMEX_OK);
        assert_eq!(km.get("k").unwrap(), b"value");
        assert_eq!(last_error(), first, "successful calls do not change it");

        // A new failure replaces it.
        assert_eq!(km.get("missing"), Err(CODOMYRMEX_ERR_NOT_FOUND));
        let second = last_error();
        assert_ne!(second, first);
        assert!(second.contains("missing"), "names the key id: {second:?}");
    });
}

#[test]
fn last_error_is_per_thread() {
    on_fresh_thread(|| {
        assert_eq!(
            provoke_unsupported_algorithm(),
            CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM
        );
        let mine = last_error();
        let theirs = on_fresh_thread(|| {
            // SAFETY: a NULL buffer with capacity 0 is a size query only.
            assert_eq!(
                unsafe { codomyrmex_last_error_message(ptr::null_mut(), 0) },
                0
            );
            // SAFETY: NULL with a length is refused, never dereferenced.
            let status = unsafe { codomyrmex_random_bytes(ptr::null_mut(), 5) };
            assert_eq!(status, CODOMYRMEX_ERR_NULL_POINTER);
            last_error()
        });
        assert_ne!(theirs, mine);
        assert_eq!(last_error(), mine, "another thread's failure is not mine");
    });
}

#[test]
fn last_error_never_contains_key_material() {
    const SECRET: &[u8] = b"SECRETSECRET";
    on_fresh_thread(|| {
        let secret_hex_lower = common::to_hex(SECRET);
        let secret_hex_upper = secret_hex_lower.to_uppercase();
        let check = |what: &str, status: codomyrmex_status, expected: codomyrmex_status| {
            assert_eq!(status, expected, "{what}");
            let message = last_error();
            assert!(!message.is_empty(), "{what}: a message is set");
            for needle in [
                "SECRETSECRET",
                "SECRET",
                &secret_hex_lower,
                &secret_hex_upper,
            ] {
                assert!(
                    !message.contains(needle),
                    "{what}: message leaks the key: {message:?}"
                );
            }
        };
        let km = Km::new();
        let id = c("leaky");
        assert_eq!(km.store("leaky", SECRET), CODOMYRMEX_OK);
        let mut out = [FILL; 64];
        let mut len = LEN_SENTINEL;
        // SAFETY (every block below): a live handle, NUL-terminated ids and
        // pointers valid for the lengths passed with them.
        unsafe {
            check(
                "create over an existing key",
                codomyrmex_key_manager_create(km.ptr, id.as_ptr(), SECRET.as_ptr(), SECRET.len()),
                CODOMYRMEX_ERR_ALREADY_EXISTS,
            );
            check(
                "rotate into a small buffer",
                codomyrmex_key_manager_rotate(
                    km.ptr,
                    id.as_ptr(),
                    SECRET.as_ptr(),
                    SECRET.len(),
                    out.as_mut_ptr(),
                    3,
                    &mut len,
                ),
                CODOMYRMEX_ERR_BUFFER_TOO_SMALL,
            );
            check(
                "get into a small buffer",
                codomyrmex_key_manager_get(km.ptr, id.as_ptr(), out.as_mut_ptr(), 3, &mut len),
                CODOMYRMEX_ERR_BUFFER_TOO_SMALL,
            );
            let wrong = [0u8; 32];
            check(
                "stored-key verify with a wrong MAC",
                codomyrmex_key_manager_hmac_verify(
                    km.ptr,
                    id.as_ptr(),
                    CODOMYRMEX_SHA256,
                    SECRET.as_ptr(),
                    SECRET.len(),
                    wrong.as_ptr(),
                    wrong.len(),
                ),
                CODOMYRMEX_ERR_VERIFY_FAILED,
            );
            check(
                "stored-key derive of length 0",
                codomyrmex_key_manager_derive(
                    km.ptr,
                    id.as_ptr(),
                    CODOMYRMEX_SHA256,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    out.as_mut_ptr(),
                    0,
                ),
                CODOMYRMEX_ERR_INVALID_ARGUMENT,
            );
            let bad_id = c("../SECRE");
            check(
                "store under an invalid id",
                codomyrmex_key_manager_store(
                    km.ptr,
                    bad_id.as_ptr(),
                    SECRET.as_ptr(),
                    SECRET.len(),
                ),
                CODOMYRMEX_ERR_INVALID_KEY_ID,
            );
            check(
                "verify with the key as a short MAC",
                codomyrmex_hmac_verify(
                    CODOMYRMEX_SHA256,
                    SECRET.as_ptr(),
                    SECRET.len(),
                    SECRET.as_ptr(),
                    SECRET.len(),
                    SECRET.as_ptr(),
                    SECRET.len(),
                ),
                CODOMYRMEX_ERR_VERIFY_FAILED,
            );
            check(
                "compute with an unknown algorithm",
                codomyrmex_hmac_compute(
                    7,
                    SECRET.as_ptr(),
                    SECRET.len(),
                    SECRET.as_ptr(),
                    SECRET.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    &mut len,
                ),
                CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM,
            );
            check(
                "expand with the key as a too-short PRK",
                codomyrmex_hkdf_expand(
                    CODOMYRMEX_SHA256,
                    SECRET.as_ptr(),
                    SECRET.len(),
                    SECRET.as_ptr(),
                    SECRET.len(),
                    out.as_mut_ptr(),
                    16,
                ),
                CODOMYRMEX_ERR_INVALID_ARGUMENT,
            );
        }
        // A key file readable by others is refused; the refusal names the
        // file, not its content.
        let path = km.dir.join("leaky.key");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        check(
            "get of a 0644 key file",
            km.get("leaky").unwrap_err(),
            CODOMYRMEX_ERR_INSECURE_PERMISSIONS,
        );
        assert!(last_error().contains("leaky.key"), "{}", last_error());
    });
}

#[test]
fn random_bytes_and_secure_zero() {
    let mut a = [0u8; 64];
    let mut b = [0u8; 64];
    // SAFETY: pointers valid for their lengths; NULL only with length 0
    // (or refused).
    unsafe {
        assert_eq!(codomyrmex_random_bytes(ptr::null_mut(), 0), CODOMYRMEX_OK);
        assert_eq!(
            codomyrmex_random_bytes(ptr::null_mut(), 16),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(codomyrmex_random_bytes(a.as_mut_ptr(), 0), CODOMYRMEX_OK);
        assert_eq!(a, [0u8; 64], "length 0 writes nothing");
        assert_eq!(
            codomyrmex_random_bytes(a.as_mut_ptr(), a.len()),
            CODOMYRMEX_OK
        );
        assert_eq!(
            codomyrmex_random_bytes(b.as_mut_ptr(), b.len()),
            CODOMYRMEX_OK
        );
    }
    assert_ne!(a, [0u8; 64]);
    assert_ne!(a, b, "two draws of 512 bits differ");

    let mut buf = [0x5Au8; 32];
    // SAFETY: NULL is allowed; otherwise pointers valid for their lengths.
    unsafe {
        codomyrmex_secure_zero(ptr::null_mut(), 0);
        codomyrmex_secure_zero(ptr::null_mut(), 100);
        codomyrmex_secure_zero(buf.as_mut_ptr().cast(), 0);
        assert_eq!(buf, [0x5A; 32]);
        codomyrmex_secure_zero(buf.as_mut_ptr().add(8).cast(), 16);
    }
    assert_eq!(&buf[..8], &[0x5A; 8]);
    assert_eq!(&buf[8..24], &[0; 16]);
    assert_eq!(&buf[24..], &[0x5A; 8]);
}

// ---------------------------------------------------------------------------
// Algorithms.

#[test]
fn hash_alg_from_name_and_digest_len() {
    for (name, value) in [
        ("sha256", CODOMYRMEX_SHA256),
        ("SHA-256", CODOMYRMEX_SHA256),
        ("Sha384", CODOMYRMEX_SHA384),
        ("SHA-384", CODOMYRMEX_SHA384),
        ("sha512", CODOMYRMEX_SHA512),
        ("SHA-512", CODOMYRMEX_SHA512),
    ] {
        let mut out: codomyrmex_hash_alg = 0xEEEE;
        let name = c(name);
        // SAFETY: a NUL-terminated name and a writable out-pointer.
        let status = unsafe { codomyrmex_hash_alg_from_name(name.as_ptr(), &mut out) };
        assert_eq!(status, CODOMYRMEX_OK, "{name:?}");
        assert_eq!(out, value, "{name:?}");
    }
    for bad in ["", "sha1", "md5", "sha-1", "sha 256", "sha2560", "\u{ff}"] {
        let mut out: codomyrmex_hash_alg = 0xEEEE;
        let name = c(bad);
        // SAFETY: as above.
        let status = unsafe { codomyrmex_hash_alg_from_name(name.as_ptr(), &mut out) };
        assert_eq!(status, CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM, "{bad:?}");
        assert_eq!(out, 0xEEEE, "{bad:?}: out_alg unchanged");
    }
    let raw = [0xffu8, 0];
    let mut out: codomyrmex_hash_alg = 0xEEEE;
    // SAFETY: NUL-terminated bytes that are not UTF-8.
    let status = unsafe { codomyrmex_hash_alg_from_name(raw.as_ptr().cast(), &mut out) };
    assert_eq!(status, CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
    assert_eq!(out, 0xEEEE);
    // SAFETY: NULL pointers are refused, never dereferenced.
    unsafe {
        assert_eq!(
            codomyrmex_hash_alg_from_name(ptr::null(), &mut out),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(out, 0xEEEE);
        assert_eq!(
            codomyrmex_hash_alg_from_name(c"sha256".as_ptr(), ptr::null_mut()),
            CODOMYRMEX_ERR_NULL_POINTER
        );
    }

    for (alg, len) in algs() {
        assert_eq!(codomyrmex_hash_digest_len(alg), len);
    }
    for bad in BAD_ALGS {
        assert_eq!(codomyrmex_hash_digest_len(bad), 0, "{bad}");
    }
}
