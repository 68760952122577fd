//! The C functions called directly: NULL pointers, empty inputs, buffer
//! sizes, unknown values, the last error message, streaming HMAC and every
//! key-manager entry point. Every failing call is checked to leave its
//! out-parameters (pre-filled with sentinels) and the key directory as they
//! were.

mod common;

use codomyrmex_keys::ffi::alg::{
    CODOMYRMEX_SHA256, CODOMYRMEX_SHA384, CODOMYRMEX_SHA512, codomyrmex_hash_alg,
    codomyrmex_hash_alg_from_name, codomyrmex_hash_digest_len,
};
use codomyrmex_keys::ffi::hkdf::{
    codomyrmex_hkdf_derive, codomyrmex_hkdf_expand, codomyrmex_hkdf_extract,
};
use codomyrmex_keys::ffi::hmac::{
    codomyrmex_hmac, codomyrmex_hmac_compute, codomyrmex_hmac_finish,
    codomyrmex_hmac_finish_verify, codomyrmex_hmac_free, codomyrmex_hmac_new,
    codomyrmex_hmac_update, codomyrmex_hmac_verify,
};
use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_create, codomyrmex_key_manager_delete,
    codomyrmex_key_manager_derive, codomyrmex_key_manager_dir, codomyrmex_key_manager_exists,
    codomyrmex_key_manager_free, codomyrmex_key_manager_generate, codomyrmex_key_manager_get,
    codomyrmex_key_manager_hmac, codomyrmex_key_manager_hmac_verify, codomyrmex_key_manager_list,
    codomyrmex_key_manager_open, codomyrmex_key_manager_rotate, codomyrmex_key_manager_store,
};
use codomyrmex_keys::ffi::library::{
    CODOMYRMEX_MAX_DIGEST_LEN, CODOMYRMEX_MAX_KEY_ID_LEN, CODOMYRMEX_MAX_KEY_LEN,
    CODOMYRMEX_VERSION_MAJOR, CODOMYRMEX_VERSION_MINOR, CODOMYRMEX_VERSION_PATCH,
    codomyrmex_last_error_message, codomyrmex_random_bytes, codomyrmex_secure_zero,
    codomyrmex_status_name, codomyrmex_version,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, *};
use codomyrmex_keys::{HashAlg, hkdf_derive, hmac};
use common::{c_hmac, snapshot};
use std::ffi::{CStr, CString, c_char};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::ptr;

/// Algorithm values that name no algorithm.
const BAD_ALGS: [codomyrmex_hash_alg; 3] = [0, 4, u32::MAX];
/// What size out-parameters hold before a call that must not write them.
const LEN_SENTINEL: usize = 0xDEAD_BEEF;
/// What output buffers hold before a call that must not write them.
const FILL: u8 = 0xA5;

fn algs() -> [(codomyrmex_hash_alg, usize); 3] {
    [
        (CODOMYRMEX_SHA256, 32),
        (CODOMYRMEX_SHA384, 48),
        (CODOMYRMEX_SHA512, 64),
    ]
}

fn safe_alg(alg: codomyrmex_hash_alg) -> HashAlg {
    HashAlg::from_value(alg).unwrap()
}

fn untouched(buf: &[u8]) -> bool {
    buf.iter().all(|&b| b == FILL)
}

fn c(text: &str) -> CString {
    CString::new(text).unwrap()
}

/// This thread's last error message, read with a size query first.
fn last_error() -> String {
    // SAFETY: a size query (NULL, 0), then a buffer of the reported size + 1.
    unsafe {
        let len = codomyrmex_last_error_message(ptr::null_mut(), 0);
        let mut buf = vec![0x7f as c_char; len + 1];
        assert_eq!(
            codomyrmex_last_error_message(buf.as_mut_ptr(), buf.len()),
            len
        );
        assert_eq!(buf[len], 0, "the message is NUL-terminated");
        let bytes: Vec<u8> = buf[..len].iter().map(|&b| b as u8).collect();
        String::from_utf8(bytes).expect("the message is UTF-8")
    }
}

/// Runs `body` on a new thread (so it starts with no last error) and
/// returns its result.
fn on_fresh_thread<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(body).join().expect("thread panicked")
}

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
// A key manager on a fresh temporary directory.

struct Km {
    ptr: *mut codomyrmex_key_manager,
    dir: PathBuf,
    tmp: tempfile::TempDir,
}

impl Km {
    /// Opens `<fresh temp dir>/keys` through the C function.
    fn new() -> Km {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let path = CString::new(dir.as_os_str().as_bytes()).unwrap();
        let mut km = ptr::null_mut();
        // SAFETY: a NUL-terminated path and a writable out-pointer.
        let status = unsafe { codomyrmex_key_manager_open(path.as_ptr(), &mut km) };
        assert_eq!(status, CODOMYRMEX_OK, "open: {}", last_error());
        assert!(!km.is_null());
        Km { ptr: km, dir, tmp }
    }

    /// The temporary directory holding the key directory.
    fn root(&self) -> &Path {
        self.tmp.path()
    }

    fn store(&self, id: &str, key: &[u8]) -> codomyrmex_status {
        let id = c(id);
        // SAFETY: a live handle, a NUL-terminated id and a valid key slice.
        unsafe { codomyrmex_key_manager_store(self.ptr, id.as_ptr(), key.as_ptr(), key.len()) }
    }

    fn get(&self, id: &str) -> Result<Vec<u8>, codomyrmex_status> {
        let id = c(id);
        let mut out = vec![0u8; CODOMYRMEX_MAX_KEY_LEN];
        let mut len = LEN_SENTINEL;
        // SAFETY: a live handle, a NUL-terminated id, a buffer of its capacity.
        let status = unsafe {
            codomyrmex_key_manager_get(self.ptr, id.as_ptr(), out.as_mut_ptr(), out.len(), &mut len)
        };
        if status == CODOMYRMEX_OK {
            out.truncate(len);
            Ok(out)
        } else {
            assert_eq!(len, LEN_SENTINEL, "a failed get wrote *key_len");
            Err(status)
        }
    }

    fn exists(&self, id: &str) -> bool {
        let id = c(id);
        let mut exists = false;
        // SAFETY: a live handle, a NUL-terminated id, a writable bool.
        let status = unsafe { codomyrmex_key_manager_exists(self.ptr, id.as_ptr(), &mut exists) };
        assert_eq!(status, CODOMYRMEX_OK);
        exists
    }

    /// The listing as raw bytes and the count, through a size query.
    fn list(&self) -> (Vec<u8>, usize) {
        let mut len = LEN_SENTINEL;
        let mut count = LEN_SENTINEL;
        // SAFETY: a live handle; a size query, then a buffer of that size.
        unsafe {
            let status =
                codomyrmex_key_manager_list(self.ptr, ptr::null_mut(), 0, &mut len, &mut count);
            if status == CODOMYRMEX_OK {
                assert_eq!(
                    (len, count),
                    (0, 0),
                    "only an empty listing fits in 0 bytes"
                );
                return (Vec::new(), 0);
            }
            assert_eq!(status, CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
            assert_eq!(count, LEN_SENTINEL, "out_count is set on success only");
            let mut buf = vec![FILL as c_char; len];
            let needed = len;
            let status = codomyrmex_key_manager_list(
                self.ptr,
                buf.as_mut_ptr(),
                buf.len(),
                &mut len,
                &mut count,
            );
            assert_eq!(status, CODOMYRMEX_OK);
            assert_eq!(len, needed);
            (buf.iter().map(|&b| b as u8).collect(), count)
        }
    }
}

impl Drop for Km {
    fn drop(&mut self) {
        // SAFETY: the handle came from codomyrmex_key_manager_open and is
        // freed once.
        unsafe { codomyrmex_key_manager_free(self.ptr) };
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

// ---------------------------------------------------------------------------
// One-shot HMAC.

#[test]
fn hmac_compute_empty_inputs_and_buffer_rule() {
    for (alg, digest) in algs() {
        let expected = hmac(safe_alg(alg), b"", b"");
        // (NULL, 0) key and data are empty inputs, like non-NULL with 0.
        let mut out = [FILL; 100];
        let mut len = LEN_SENTINEL;
        // SAFETY (every call in this loop): pointers valid for their
        // lengths; NULL only with length or capacity 0, or refused.
        let status = unsafe {
            codomyrmex_hmac_compute(
                alg,
                ptr::null(),
                0,
                ptr::null(),
                0,
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            )
        };
        assert_eq!(status, CODOMYRMEX_OK);
        assert_eq!(len, digest);
        assert_eq!(&out[..digest], expected.as_bytes());
        assert!(untouched(&out[digest..]), "nothing written past the MAC");
        let empty: [u8; 0] = [];
        assert_eq!(c_hmac(alg, &empty, &empty), expected.as_bytes());
        assert_eq!(
            c_hmac(alg, &b"key"[..0], &b"data"[..0]),
            expected.as_bytes()
        );

        // Size query.
        let mut len = LEN_SENTINEL;
        let status = unsafe {
            codomyrmex_hmac_compute(
                alg,
                b"k".as_ptr(),
                1,
                b"d".as_ptr(),
                1,
                ptr::null_mut(),
                0,
                &mut len,
            )
        };
        assert_eq!(status, CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        assert_eq!(len, digest, "the size needed");

        // One byte short: BUFFER_TOO_SMALL, buffer untouched.
        for cap in [1, digest - 1] {
            let mut out = [FILL; 64];
            let mut len = LEN_SENTINEL;
            let status = unsafe {
                codomyrmex_hmac_compute(
                    alg,
                    b"k".as_ptr(),
                    1,
                    b"d".as_ptr(),
                    1,
                    out.as_mut_ptr(),
                    cap,
                    &mut len,
                )
            };
            assert_eq!(status, CODOMYRMEX_ERR_BUFFER_TOO_SMALL, "cap {cap}");
            assert_eq!(len, digest);
            assert!(untouched(&out), "cap {cap}: buffer untouched");
        }

        // Exactly the digest length fits.
        let mut out = [FILL; 64];
        let mut len = LEN_SENTINEL;
        let status = unsafe {
            codomyrmex_hmac_compute(
                alg,
                b"k".as_ptr(),
                1,
                b"d".as_ptr(),
                1,
                out.as_mut_ptr(),
                digest,
                &mut len,
            )
        };
        assert_eq!(status, CODOMYRMEX_OK);
        assert_eq!(len, digest);
        assert_eq!(&out[..digest], hmac(safe_alg(alg), b"k", b"d").as_bytes());
    }
}

#[test]
fn hmac_compute_errors_leave_outputs_unchanged() {
    let key = b"key";
    let data = b"data";
    let mut out = [FILL; 64];
    let mut len = LEN_SENTINEL;
    // SAFETY (every call): pointers valid for their lengths; NULL pointers
    // are refused, never dereferenced.
    unsafe {
        for bad in BAD_ALGS {
            let status = codomyrmex_hmac_compute(
                bad,
                key.as_ptr(),
                key.len(),
                data.as_ptr(),
                data.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            );
            assert_eq!(status, CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM, "alg {bad}");
        }
        let cases: [(&str, codomyrmex_status); 4] = [
            (
                "NULL key with a length",
                codomyrmex_hmac_compute(
                    CODOMYRMEX_SHA256,
                    ptr::null(),
                    3,
                    data.as_ptr(),
                    data.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    &mut len,
                ),
            ),
            (
                "NULL data with a length",
                codomyrmex_hmac_compute(
                    CODOMYRMEX_SHA256,
                    key.as_ptr(),
                    key.len(),
                    ptr::null(),
                    1,
                    out.as_mut_ptr(),
                    out.len(),
                    &mut len,
                ),
            ),
            (
                "NULL mac_out with a capacity",
                codomyrmex_hmac_compute(
                    CODOMYRMEX_SHA256,
                    key.as_ptr(),
                    key.len(),
                    data.as_ptr(),
                    data.len(),
                    ptr::null_mut(),
                    32,
                    &mut len,
                ),
            ),
            (
                "NULL mac_len",
                codomyrmex_hmac_compute(
                    CODOMYRMEX_SHA256,
                    key.as_ptr(),
                    key.len(),
                    data.as_ptr(),
                    data.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    ptr::null_mut(),
                ),
            ),
        ];
        for (what, status) in cases {
            assert_eq!(status, CODOMYRMEX_ERR_NULL_POINTER, "{what}");
        }
    }
    assert!(untouched(&out));
    assert_eq!(len, LEN_SENTINEL);
}

#[test]
fn hmac_verify_accepts_only_the_exact_mac() {
    let key = b"verification key";
    let data = b"message";
    for (alg, digest) in algs() {
        let mac = c_hmac(alg, key, data);
        let verify = |mac: *const u8, mac_len: usize| {
            // SAFETY: key and data are valid; `mac` is valid for `mac_len`
            // bytes or NULL (refused, or with length 0).
            unsafe {
                codomyrmex_hmac_verify(
                    alg,
                    key.as_ptr(),
                    key.len(),
                    data.as_ptr(),
                    data.len(),
                    mac,
                    mac_len,
                )
            }
        };
        assert_eq!(verify(mac.as_ptr(), digest), CODOMYRMEX_OK);
        for at in [0, digest / 2, digest - 1] {
            let mut bad = mac.clone();
            bad[at] ^= 0x80;
            assert_eq!(
                verify(bad.as_ptr(), digest),
                CODOMYRMEX_ERR_VERIFY_FAILED,
                "byte {at}"
            );
        }
        for len in [0, 1, 16, digest - 1] {
            assert_eq!(
                verify(mac.as_ptr(), len),
                CODOMYRMEX_ERR_VERIFY_FAILED,
                "a {len}-byte prefix never verifies"
            );
        }
        let mut longer = mac.clone();
        longer.push(0);
        assert_eq!(
            verify(longer.as_ptr(), digest + 1),
            CODOMYRMEX_ERR_VERIFY_FAILED
        );
        assert_eq!(
            verify(ptr::null(), 0),
            CODOMYRMEX_ERR_VERIFY_FAILED,
            "(NULL, 0) MAC"
        );
        assert_eq!(verify(ptr::null(), digest), CODOMYRMEX_ERR_NULL_POINTER);

        // SAFETY: NULL pointers with lengths are refused, never dereferenced.
        unsafe {
            assert_eq!(
                codomyrmex_hmac_verify(
                    alg,
                    ptr::null(),
                    1,
                    data.as_ptr(),
                    data.len(),
                    mac.as_ptr(),
                    digest
                ),
                CODOMYRMEX_ERR_NULL_POINTER
            );
            assert_eq!(
                codomyrmex_hmac_verify(
                    alg,
                    key.as_ptr(),
                    key.len(),
                    ptr::null(),
                    1,
                    mac.as_ptr(),
                    digest
                ),
                CODOMYRMEX_ERR_NULL_POINTER
            );
        }
        // Empty key and data as (NULL, 0).
        let empty_mac = c_hmac(alg, b"", b"");
        // SAFETY: NULL only with length 0.
        let status = unsafe {
            codomyrmex_hmac_verify(
                alg,
                ptr::null(),
                0,
                ptr::null(),
                0,
                empty_mac.as_ptr(),
                digest,
            )
        };
        assert_eq!(status, CODOMYRMEX_OK);
    }
    for bad in BAD_ALGS {
        let mac = [0u8; 32];
        // SAFETY: valid pointers.
        let status = unsafe {
            codomyrmex_hmac_verify(
                bad,
                key.as_ptr(),
                key.len(),
                data.as_ptr(),
                data.len(),
                mac.as_ptr(),
                32,
            )
        };
        assert_eq!(status, CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM, "alg {bad}");
    }
}

// ---------------------------------------------------------------------------
// Streaming HMAC.

/// A C stream freed on drop.
struct Stream(*mut codomyrmex_hmac);

impl Stream {
    fn new(alg: codomyrmex_hash_alg, key: &[u8]) -> Stream {
        let mut ctx = ptr::null_mut();
        // SAFETY: a valid key slice and a writable out-pointer.
        let status = unsafe { codomyrmex_hmac_new(alg, key.as_ptr(), key.len(), &mut ctx) };
        assert_eq!(status, CODOMYRMEX_OK);
        assert!(!ctx.is_null());
        Stream(ctx)
    }

    fn update(&mut self, data: &[u8]) {
        // SAFETY: a live stream used by this thread only; a valid slice.
        let status = unsafe { codomyrmex_hmac_update(self.0, data.as_ptr(), data.len()) };
        assert_eq!(status, CODOMYRMEX_OK);
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = [FILL; 100];
        let mut len = LEN_SENTINEL;
        // SAFETY: a live stream; a buffer of its capacity.
        let status =
            unsafe { codomyrmex_hmac_finish(self.0, out.as_mut_ptr(), out.len(), &mut len) };
        assert_eq!(status, CODOMYRMEX_OK);
        assert!(untouched(&out[len..]));
        out[..len].to_vec()
    }

    fn finish_verify(&mut self, mac: &[u8]) -> codomyrmex_status {
        // SAFETY: a live stream; a valid slice.
        unsafe { codomyrmex_hmac_finish_verify(self.0, mac.as_ptr(), mac.len()) }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: the stream came from codomyrmex_hmac_new and is freed once.
        unsafe { codomyrmex_hmac_free(self.0) };
    }
}

#[test]
fn hmac_stream_chunked_equals_one_shot() {
    let key: Vec<u8> = (0..=199u8).collect();
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
    for (alg, _) in algs() {
        let expected = c_hmac(alg, &key, &data);
        let mut stream = Stream::new(alg, &key);
        for chunk in [1, 3, 63, 64, 65, 127, 128, 129, 1000, 3000, 5000] {
            for piece in data.chunks(chunk) {
                stream.update(piece);
                // Empty updates in between change nothing.
                stream.update(&[]);
            }
            assert_eq!(stream.finish(), expected, "chunks of {chunk}");
        }
        // Irregular pieces.
        let mut rest = &data[..];
        let mut size = 1;
        while !rest.is_empty() {
            let n = size.min(rest.len());
            stream.update(&rest[..n]);
            rest = &rest[n..];
            size = size * 3 + 1;
        }
        assert_eq!(stream.finish(), expected, "growing pieces");
    }
}

#[test]
fn hmac_stream_finish_resets_and_verifies() {
    for (alg, digest) in algs() {
        let key = b"stream key";
        let mut stream = Stream::new(alg, key);
        stream.update(b"first");
        assert_eq!(stream.finish(), c_hmac(alg, key, b"first"));
        // Back at the keyed start: an immediate finish is the MAC of "".
        assert_eq!(stream.finish(), c_hmac(alg, key, b""));
        stream.update(b"second");
        assert_eq!(stream.finish(), c_hmac(alg, key, b"second"));

        let mac = c_hmac(alg, key, b"third");
        stream.update(b"third");
        assert_eq!(stream.finish_verify(&mac), CODOMYRMEX_OK);
        // finish_verify reset it too.
        stream.update(b"third");
        assert_eq!(stream.finish_verify(&mac), CODOMYRMEX_OK);
        // A failed verification also resets.
        stream.update(b"thirdX");
        assert_eq!(stream.finish_verify(&mac), CODOMYRMEX_ERR_VERIFY_FAILED);
        stream.update(b"third");
        assert_eq!(stream.finish_verify(&mac), CODOMYRMEX_OK);
        // A truncated MAC never verifies.
        stream.update(b"third");
        assert_eq!(
            stream.finish_verify(&mac[..digest - 1]),
            CODOMYRMEX_ERR_VERIFY_FAILED
        );
        stream.update(b"third");
        assert_eq!(stream.finish_verify(&[]), CODOMYRMEX_ERR_VERIFY_FAILED);

        // Two streams under one key do not share state.
        let mut other = Stream::new(alg, key);
        stream.update(b"a");
        other.update(b"b");
        assert_eq!(stream.finish(), c_hmac(alg, key, b"a"));
        assert_eq!(other.finish(), c_hmac(alg, key, b"b"));
    }
}

#[test]
fn hmac_stream_failed_calls_leave_it_unchanged() {
    for (alg, digest) in algs() {
        let key = b"k";
        let mut stream = Stream::new(alg, key);
        stream.update(b"abc");
        // SAFETY (all calls): a live stream; NULL pointers with lengths are
        // refused; buffers valid for their capacities.
        unsafe {
            // Size query and a one-byte-short buffer: BUFFER_TOO_SMALL.
            let mut len = LEN_SENTINEL;
            assert_eq!(
                codomyrmex_hmac_finish(stream.0, ptr::null_mut(), 0, &mut len),
                CODOMYRMEX_ERR_BUFFER_TOO_SMALL
            );
            assert_eq!(len, digest);
            let mut out = [FILL; 64];
            let mut len = LEN_SENTINEL;
            assert_eq!(
                codomyrmex_hmac_finish(stream.0, out.as_mut_ptr(), digest - 1, &mut len),
                CODOMYRMEX_ERR_BUFFER_TOO_SMALL
            );
            assert_eq!(len, digest);
            assert!(untouched(&out));
            // NULL out-pointers.
            let mut len = LEN_SENTINEL;
            assert_eq!(
                codomyrmex_hmac_finish(stream.0, ptr::null_mut(), 64, &mut len),
                CODOMYRMEX_ERR_NULL_POINTER
            );
            assert_eq!(len, LEN_SENTINEL);
            assert_eq!(
                codomyrmex_hmac_finish(stream.0, out.as_mut_ptr(), out.len(), ptr::null_mut()),
                CODOMYRMEX_ERR_NULL_POINTER
            );
            assert!(untouched(&out));
            // NULL data with a length feeds nothing.
            assert_eq!(
                codomyrmex_hmac_update(stream.0, ptr::null(), 5),
                CODOMYRMEX_ERR_NULL_POINTER
            );
            // (NULL, 0) feeds nothing and succeeds.
            assert_eq!(
                codomyrmex_hmac_update(stream.0, ptr::null(), 0),
                CODOMYRMEX_OK
            );
            // NULL MAC with a length: refused before finishing.
            assert_eq!(
                codomyrmex_hmac_finish_verify(stream.0, ptr::null(), digest),
                CODOMYRMEX_ERR_NULL_POINTER
            );
        }
        // None of that disturbed the stream.
        stream.update(b"def");
        assert_eq!(stream.finish(), c_hmac(alg, key, b"abcdef"));
    }

    // NULL streams and unknown algorithms.
    let mut out = [FILL; 64];
    let mut len = LEN_SENTINEL;
    let sentinel: *mut codomyrmex_hmac = ptr::without_provenance_mut(0x1000);
    // SAFETY: NULL pointers are refused, never dereferenced; free(NULL) is a
    // no-op.
    unsafe {
        assert_eq!(
            codomyrmex_hmac_update(ptr::null_mut(), b"x".as_ptr(), 1),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            codomyrmex_hmac_finish(ptr::null_mut(), out.as_mut_ptr(), out.len(), &mut len),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            codomyrmex_hmac_finish_verify(ptr::null_mut(), out.as_ptr(), 32),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        codomyrmex_hmac_free(ptr::null_mut());

        let mut ctx = sentinel;
        for bad in BAD_ALGS {
            assert_eq!(
                codomyrmex_hmac_new(bad, b"k".as_ptr(), 1, &mut ctx),
                CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM
            );
        }
        assert_eq!(
            codomyrmex_hmac_new(CODOMYRMEX_SHA256, ptr::null(), 1, &mut ctx),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(ctx, sentinel, "out_ctx unchanged on error");
        assert_eq!(
            codomyrmex_hmac_new(CODOMYRMEX_SHA256, b"k".as_ptr(), 1, ptr::null_mut()),
            CODOMYRMEX_ERR_NULL_POINTER
        );

        // (NULL, 0) key is the empty key.
        let mut ctx = ptr::null_mut();
        assert_eq!(
            codomyrmex_hmac_new(CODOMYRMEX_SHA384, ptr::null(), 0, &mut ctx),
            CODOMYRMEX_OK
        );
        let mut stream = Stream(ctx);
        stream.update(b"m");
        assert_eq!(stream.finish(), c_hmac(CODOMYRMEX_SHA384, b"", b"m"));
    }
    assert!(untouched(&out));
    assert_eq!(len, LEN_SENTINEL);
}

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

// ---------------------------------------------------------------------------
// Key manager.

#[test]
fn key_manager_open_conventions() {
    let tmp = tempfile::tempdir().unwrap();
    let sentinel: *mut codomyrmex_key_manager = ptr::without_provenance_mut(0x2000);
    let open = |path: &Path, out: *mut *mut codomyrmex_key_manager| {
        let path = CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path; `out` writable or NULL (refused).
        unsafe { codomyrmex_key_manager_open(path.as_ptr(), out) }
    };

    // NULL out_km: refused before anything is created.
    let dir = tmp.path().join("never");
    assert_eq!(open(&dir, ptr::null_mut()), CODOMYRMEX_ERR_NULL_POINTER);
    assert!(!dir.exists(), "a failed open created the directory");

    // Empty path.
    let mut km = sentinel;
    // SAFETY: an empty NUL-terminated string.
    assert_eq!(
        unsafe { codomyrmex_key_manager_open(c"".as_ptr(), &mut km) },
        CODOMYRMEX_ERR_INVALID_ARGUMENT
    );
    assert_eq!(km, sentinel);

    // A regular file where the directory should be.
    let file = tmp.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(open(&file, &mut km), CODOMYRMEX_ERR_IO);
    assert_eq!(km, sentinel);
    let message = last_error();
    assert!(message.contains("ENOTDIR"), "names the errno: {message:?}");
    assert!(
        message.contains(file.to_str().unwrap()),
        "names the path: {message:?}"
    );

    // A path with a line break still gives a one-line message.
    let odd_file = tmp.path().join("line\nbreak");
    std::fs::write(&odd_file, b"x").unwrap();
    assert_eq!(open(&odd_file, &mut km), CODOMYRMEX_ERR_IO);
    let message = last_error();
    assert!(!message.contains(['\n', '\r']), "one line: {message:?}");
    assert!(message.contains("line break"), "{message:?}");

    // A symbolic link to a good directory.
    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(open(&link, &mut km), CODOMYRMEX_ERR_INSECURE_PERMISSIONS);
    assert_eq!(km, sentinel);

    // Group- or world-writable.
    for mode in [0o777, 0o770, 0o720, 0o702] {
        let dir = tmp.path().join(format!("mode{mode:o}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        assert_eq!(
            open(&dir, &mut km),
            CODOMYRMEX_ERR_INSECURE_PERMISSIONS,
            "mode {mode:o}"
        );
        assert_eq!(km, sentinel);
        assert!(
            std::fs::read_dir(&dir).unwrap().next().is_none(),
            "nothing created inside"
        );
    }

    // Missing parents are created, all private.
    let nested = tmp.path().join("a/b/c");
    let mut km = ptr::null_mut();
    assert_eq!(open(&nested, &mut km), CODOMYRMEX_OK);
    assert!(!km.is_null());
    for dir in ["a", "a/b", "a/b/c"] {
        let mode = std::fs::metadata(tmp.path().join(dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o700, "{dir}");
    }
    // SAFETY: a live handle freed once; NULL is a no-op.
    unsafe {
        codomyrmex_key_manager_free(km);
        codomyrmex_key_manager_free(ptr::null_mut());
    }

    // A path that is not UTF-8 is still a path.
    let raw = std::ffi::OsStr::from_bytes(b"k\xffeys");
    let odd = tmp.path().join(raw);
    let mut km = ptr::null_mut();
    assert_eq!(open(&odd, &mut km), CODOMYRMEX_OK, "{}", last_error());
    assert!(odd.is_dir());
    let mut buf = [0 as c_char; 4096];
    let mut len = 0;
    // SAFETY: a live handle and a buffer of its capacity; freed once.
    unsafe {
        assert_eq!(
            codomyrmex_key_manager_dir(km, buf.as_mut_ptr(), buf.len(), &mut len),
            CODOMYRMEX_OK
        );
        codomyrmex_key_manager_free(km);
    }
    let got: Vec<u8> = buf[..len - 1].iter().map(|&b| b as u8).collect();
    let expected = std::fs::canonicalize(&odd).unwrap();
    assert_eq!(got, expected.as_os_str().as_bytes());
}

#[test]
fn key_manager_dir_counts_the_nul() {
    let tmp = tempfile::tempdir().unwrap();
    // A path with a `..` in it resolves to the real directory.
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    let given = tmp.path().join("sub/../keys");
    let expected = std::fs::canonicalize(tmp.path()).unwrap().join("keys");
    let path = CString::new(given.as_os_str().as_bytes()).unwrap();
    let mut km = ptr::null_mut();
    // SAFETY: a NUL-terminated path and a writable out-pointer.
    assert_eq!(
        unsafe { codomyrmex_key_manager_open(path.as_ptr(), &mut km) },
        CODOMYRMEX_OK
    );
    let expected = expected.as_os_str().as_bytes();
    let needed = expected.len() + 1;

    // SAFETY (all calls): a live handle; buffers valid for their capacities;
    // NULL pointers refused.
    unsafe {
        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_dir(km, ptr::null_mut(), 0, &mut len),
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, needed, "*out_len counts the NUL");

        let mut buf = vec![FILL as c_char; needed + 8];
        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_dir(km, buf.as_mut_ptr(), needed - 1, &mut len),
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL,
            "room for the path but not its NUL"
        );
        assert_eq!(len, needed);
        assert!(buf.iter().all(|&b| b as u8 == FILL));

        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_dir(km, buf.as_mut_ptr(), needed, &mut len),
            CODOMYRMEX_OK
        );
        assert_eq!(len, needed);
        let bytes: Vec<u8> = buf.iter().map(|&b| b as u8).collect();
        assert_eq!(&bytes[..needed - 1], expected);
        assert_eq!(bytes[needed - 1], 0);
        assert!(untouched(&bytes[needed..]));

        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_dir(ptr::null(), buf.as_mut_ptr(), buf.len(), &mut len),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            codomyrmex_key_manager_dir(km, ptr::null_mut(), 10, &mut len),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            codomyrmex_key_manager_dir(km, buf.as_mut_ptr(), buf.len(), ptr::null_mut()),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(len, LEN_SENTINEL);
        codomyrmex_key_manager_free(km);
    }
}

#[test]
fn key_manager_null_pointers_are_refused_and_change_nothing() {
    let km = Km::new();
    assert_eq!(km.store("present", b"0123456789"), CODOMYRMEX_OK);
    let before = snapshot(km.root());
    let id = c("present");
    let new_id = c("fresh");
    let key = b"new key bytes";
    let data = b"data";
    let mut out = [FILL; 128];
    let mut len = LEN_SENTINEL;
    let mut count = LEN_SENTINEL;
    let mut exists = true;
    let null_km: *const codomyrmex_key_manager = ptr::null();
    let null_id: *const c_char = ptr::null();
    let k = km.ptr.cast_const();
    let alg = CODOMYRMEX_SHA256;

    // SAFETY (every call): live handle or NULL; NUL-terminated ids or NULL;
    // buffers valid for their capacities; NULL with a length is refused.
    let results: Vec<(&str, codomyrmex_status)> = unsafe {
        vec![
            (
                "store km",
                codomyrmex_key_manager_store(null_km, new_id.as_ptr(), key.as_ptr(), key.len()),
            ),
            (
                "store id",
                codomyrmex_key_manager_store(k, null_id, key.as_ptr(), key.len()),
            ),
            (
                "store key",
                codomyrmex_key_manager_store(k, new_id.as_ptr(), ptr::null(), 4),
            ),
            (
                "create km",
                codomyrmex_key_manager_create(null_km, new_id.as_ptr(), key.as_ptr(), key.len()),
            ),
            (
                "create id",
                codomyrmex_key_manager_create(k, null_id, key.as_ptr(), key.len()),
            ),
            (
                "create key",
                codomyrmex_key_manager_create(k, new_id.as_ptr(), ptr::null(), 4),
            ),
            (
                "generate km",
                codomyrmex_key_manager_generate(null_km, new_id.as_ptr(), 32),
            ),
            (
                "generate id",
                codomyrmex_key_manager_generate(k, null_id, 32),
            ),
            (
                "get km",
                codomyrmex_key_manager_get(null_km, id.as_ptr(), out.as_mut_ptr(), 128, &mut len),
            ),
            (
                "get id",
                codomyrmex_key_manager_get(k, null_id, out.as_mut_ptr(), 128, &mut len),
            ),
            (
                "get out",
                codomyrmex_key_manager_get(k, id.as_ptr(), ptr::null_mut(), 128, &mut len),
            ),
            (
                "get len",
                codomyrmex_key_manager_get(k, id.as_ptr(), out.as_mut_ptr(), 128, ptr::null_mut()),
            ),
            (
                "exists km",
                codomyrmex_key_manager_exists(null_km, id.as_ptr(), &mut exists),
            ),
            (
                "exists id",
                codomyrmex_key_manager_exists(k, null_id, &mut exists),
            ),
            (
                "exists out",
                codomyrmex_key_manager_exists(k, id.as_ptr(), ptr::null_mut()),
            ),
            (
                "delete km",
                codomyrmex_key_manager_delete(null_km, id.as_ptr()),
            ),
            ("delete id", codomyrmex_key_manager_delete(k, null_id)),
            (
                "list km",
                codomyrmex_key_manager_list(
                    null_km,
                    out.as_mut_ptr().cast(),
                    128,
                    &mut len,
                    &mut count,
                ),
            ),
            (
                "list buf",
                codomyrmex_key_manager_list(k, ptr::null_mut(), 128, &mut len, &mut count),
            ),
            (
                "list len",
                codomyrmex_key_manager_list(
                    k,
                    out.as_mut_ptr().cast(),
                    128,
                    ptr::null_mut(),
                    &mut count,
                ),
            ),
            (
                "list count",
                codomyrmex_key_manager_list(
                    k,
                    out.as_mut_ptr().cast(),
                    128,
                    &mut len,
                    ptr::null_mut(),
                ),
            ),
            (
                "list count (size query)",
                codomyrmex_key_manager_list(k, ptr::null_mut(), 0, &mut len, ptr::null_mut()),
            ),
            (
                "rotate km",
                codomyrmex_key_manager_rotate(
                    null_km,
                    id.as_ptr(),
                    key.as_ptr(),
                    key.len(),
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "rotate id",
                codomyrmex_key_manager_rotate(
                    k,
                    null_id,
                    key.as_ptr(),
                    key.len(),
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "rotate key",
                codomyrmex_key_manager_rotate(
                    k,
                    id.as_ptr(),
                    ptr::null(),
                    4,
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "rotate out",
                codomyrmex_key_manager_rotate(
                    k,
                    id.as_ptr(),
                    key.as_ptr(),
                    key.len(),
                    ptr::null_mut(),
                    128,
                    &mut len,
                ),
            ),
            (
                "rotate len",
                codomyrmex_key_manager_rotate(
                    k,
                    id.as_ptr(),
                    key.as_ptr(),
                    key.len(),
                    out.as_mut_ptr(),
                    128,
                    ptr::null_mut(),
                ),
            ),
            (
                "hmac km",
                codomyrmex_key_manager_hmac(
                    null_km,
                    id.as_ptr(),
                    alg,
                    data.as_ptr(),
                    4,
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "hmac id",
                codomyrmex_key_manager_hmac(
                    k,
                    null_id,
                    alg,
                    data.as_ptr(),
                    4,
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "hmac data",
                codomyrmex_key_manager_hmac(
                    k,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    4,
                    out.as_mut_ptr(),
                    128,
                    &mut len,
                ),
            ),
            (
                "hmac out",
                codomyrmex_key_manager_hmac(
                    k,
                    id.as_ptr(),
                    alg,
                    data.as_ptr(),
                    4,
                    ptr::null_mut(),
                    128,
                    &mut len,
                ),
            ),
            (
                "hmac len",
                codomyrmex_key_manager_hmac(
                    k,
                    id.as_ptr(),
                    alg,
                    data.as_ptr(),
                    4,
                    out.as_mut_ptr(),
                    128,
                    ptr::null_mut(),
                ),
            ),
            (
                "hmac_verify km",
                codomyrmex_key_manager_hmac_verify(
                    null_km,
                    id.as_ptr(),
                    alg,
                    data.as_ptr(),
                    4,
                    out.as_ptr(),
                    32,
                ),
            ),
            (
                "hmac_verify id",
                codomyrmex_key_manager_hmac_verify(
                    k,
                    null_id,
                    alg,
                    data.as_ptr(),
                    4,
                    out.as_ptr(),
                    32,
                ),
            ),
            (
                "hmac_verify data",
                codomyrmex_key_manager_hmac_verify(
                    k,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    4,
                    out.as_ptr(),
                    32,
                ),
            ),
            (
                "hmac_verify mac",
                codomyrmex_key_manager_hmac_verify(
                    k,
                    id.as_ptr(),
                    alg,
                    data.as_ptr(),
                    4,
                    ptr::null(),
                    32,
                ),
            ),
            (
                "derive km",
                codomyrmex_key_manager_derive(
                    null_km,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    out.as_mut_ptr(),
                    32,
                ),
            ),
            (
                "derive id",
                codomyrmex_key_manager_derive(
                    k,
                    null_id,
                    alg,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    out.as_mut_ptr(),
                    32,
                ),
            ),
            (
                "derive salt",
                codomyrmex_key_manager_derive(
                    k,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    3,
                    ptr::null(),
                    0,
                    out.as_mut_ptr(),
                    32,
                ),
            ),
            (
                "derive info",
                codomyrmex_key_manager_derive(
                    k,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    0,
                    ptr::null(),
                    3,
                    out.as_mut_ptr(),
                    32,
                ),
            ),
            (
                "derive out",
                codomyrmex_key_manager_derive(
                    k,
                    id.as_ptr(),
                    alg,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    ptr::null_mut(),
                    32,
                ),
            ),
            (
                "dir km",
                codomyrmex_key_manager_dir(null_km, out.as_mut_ptr().cast(), 128, &mut len),
            ),
        ]
    };
    for (what, status) in results {
        assert_eq!(
            status,
            CODOMYRMEX_ERR_NULL_POINTER,
            "{what}: {}",
            last_error()
        );
    }
    assert!(untouched(&out), "no output written");
    assert_eq!(len, LEN_SENTINEL);
    assert_eq!(count, LEN_SENTINEL);
    assert!(exists, "out_exists unchanged");
    assert_eq!(snapshot(km.root()), before, "nothing changed on disk");
}

#[test]
fn invalid_key_ids_are_refused_by_every_function() {
    let km = Km::new();
    assert_eq!(km.store("good", b"key"), CODOMYRMEX_OK);
    let before = snapshot(km.root());
    let long = "k".repeat(129);
    let mut bad: Vec<Vec<u8>> = [
        "",
        ".",
        "..",
        "../x",
        "../good",
        "a/b",
        "/abs",
        "a\\b",
        " a",
        "a ",
        "a b",
        "é",
        ".hidden",
        ".good",
        "good.key/..",
        "*",
        "a:b",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    bad.push(long.into_bytes());
    bad.push(vec![b'a', 0xff]);
    let alg = CODOMYRMEX_SHA256;
    for id in bad {
        let shown = String::from_utf8_lossy(&id).into_owned();
        let id = CString::new(id).unwrap();
        let id = id.as_ptr();
        let mut out = [FILL; 64];
        let mut len = LEN_SENTINEL;
        let mut exists = true;
        let k = km.ptr.cast_const();
        let key = b"value";
        // SAFETY (every call): a live handle, a NUL-terminated id, buffers
        // valid for their capacities.
        let results = unsafe {
            [
                codomyrmex_key_manager_store(k, id, key.as_ptr(), key.len()),
                codomyrmex_key_manager_create(k, id, key.as_ptr(), key.len()),
                codomyrmex_key_manager_generate(k, id, 16),
                codomyrmex_key_manager_get(k, id, out.as_mut_ptr(), out.len(), &mut len),
                codomyrmex_key_manager_exists(k, id, &mut exists),
                codomyrmex_key_manager_delete(k, id),
                codomyrmex_key_manager_rotate(
                    k,
                    id,
                    key.as_ptr(),
                    key.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    &mut len,
                ),
                codomyrmex_key_manager_hmac(
                    k,
                    id,
                    alg,
                    key.as_ptr(),
                    key.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    &mut len,
                ),
                codomyrmex_key_manager_hmac_verify(
                    k,
                    id,
                    alg,
                    key.as_ptr(),
                    key.len(),
                    out.as_ptr(),
                    32,
                ),
                codomyrmex_key_manager_derive(
                    k,
                    id,
                    alg,
                    ptr::null(),
                    0,
                    ptr::null(),
                    0,
                    out.as_mut_ptr(),
                    32,
                ),
            ]
        };
        for (i, status) in results.into_iter().enumerate() {
            assert_eq!(
                status, CODOMYRMEX_ERR_INVALID_KEY_ID,
                "id {shown:?}, call #{i}"
            );
        }
        assert!(untouched(&out), "id {shown:?}");
        assert_eq!(len, LEN_SENTINEL, "id {shown:?}");
        assert!(exists, "id {shown:?}");
    }
    assert_eq!(
        snapshot(km.root()),
        before,
        "nothing created, changed or removed"
    );
    assert_eq!(km.get("good").unwrap(), b"key");
}

#[test]
fn store_get_exists_delete_round_trip() {
    let km = Km::new();
    let id = c("alpha");
    let key: Vec<u8> = (0..40).collect();
    assert!(!km.exists("alpha"));
    assert_eq!(km.get("alpha"), Err(CODOMYRMEX_ERR_NOT_FOUND));
    assert_eq!(km.store("alpha", &key), CODOMYRMEX_OK);
    assert!(km.exists("alpha"));

    // SAFETY (all calls): a live handle, a NUL-terminated id, buffers valid
    // for their capacities.
    unsafe {
        // Size query and small buffer.
        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_get(km.ptr, id.as_ptr(), ptr::null_mut(), 0, &mut len),
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 40);
        let mut out = [FILL; 64];
        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_get(km.ptr, id.as_ptr(), out.as_mut_ptr(), 39, &mut len),
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 40);
        assert!(untouched(&out));
        let mut len = LEN_SENTINEL;
        assert_eq!(
            codomyrmex_key_manager_get(km.ptr, id.as_ptr(), out.as_mut_ptr(), out.len(), &mut len),
            CODOMYRMEX_OK
        );
        assert_eq!(len, 40);
        assert_eq!(&out[..40], &key[..]);
        assert!(untouched(&out[40..]));

        // Key lengths: 0 and MAX + 1 are refused; 1 and MAX are stored.
        let big = vec![0x33u8; CODOMYRMEX_MAX_KEY_LEN + 1];
        assert_eq!(
            codomyrmex_key_manager_store(km.ptr, id.as_ptr(), ptr::null(), 0),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            codomyrmex_key_manager_store(km.ptr, id.as_ptr(), big.as_ptr(), 0),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            codomyrmex_key_manager_store(km.ptr, id.as_ptr(), big.as_ptr(), big.len()),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            km.get("alpha").unwrap(),
            key,
            "refused stores left the key alone"
        );
        assert_eq!(
            codomyrmex_key_manager_store(km.ptr, id.as_ptr(), big.as_ptr(), CODOMYRMEX_MAX_KEY_LEN),
            CODOMYRMEX_OK
        );
        assert_eq!(km.get("alpha").unwrap(), &big[..CODOMYRMEX_MAX_KEY_LEN]);
        assert_eq!(
            codomyrmex_key_manager_store(km.ptr, id.as_ptr(), b"z".as_ptr(), 1),
            CODOMYRMEX_OK
        );
        assert_eq!(km.get("alpha").unwrap(), b"z");

        // Delete, then it is gone.
        assert_eq!(
            codomyrmex_key_manager_delete(km.ptr, id.as_ptr()),
            CODOMYRMEX_OK
        );
        assert!(!km.exists("alpha"));
        assert_eq!(km.get("alpha"), Err(CODOMYRMEX_ERR_NOT_FOUND));
        assert_eq!(
            codomyrmex_key_manager_delete(km.ptr, id.as_ptr()),
            CODOMYRMEX_ERR_NOT_FOUND
        );

        // Errors of exists leave *out_exists alone.
        let dir_id = c("adir");
        std::fs::create_dir(km.dir.join("adir.key")).unwrap();
        for prefill in [true, false] {
            let mut exists = prefill;
            assert_eq!(
                codomyrmex_key_manager_exists(km.ptr, dir_id.as_ptr(), &mut exists),
                CODOMYRMEX_ERR_CORRUPT
            );
            assert_eq!(exists, prefill);
        }
    }
}

#[test]
fn create_and_generate_never_replace() {
    let km = Km::new();
    let id = c("once");
    // SAFETY (all calls): a live handle, NUL-terminated ids, valid slices.
    unsafe {
        assert_eq!(
            codomyrmex_key_manager_create(km.ptr, id.as_ptr(), b"first".as_ptr(), 5),
            CODOMYRMEX_OK
        );
        let before = snapshot(km.root());
        assert_eq!(
            codomyrmex_key_manager_create(km.ptr, id.as_ptr(), b"second".as_ptr(), 6),
            CODOMYRMEX_ERR_ALREADY_EXISTS
        );
        assert_eq!(
            codomyrmex_key_manager_generate(km.ptr, id.as_ptr(), 32),
            CODOMYRMEX_ERR_ALREADY_EXISTS
        );
        assert_eq!(snapshot(km.root()), before);
        assert_eq!(km.get("once").unwrap(), b"first");

        let gen_id = c("generated");
        for bad_len in [0, CODOMYRMEX_MAX_KEY_LEN + 1] {
            assert_eq!(
                codomyrmex_key_manager_generate(km.ptr, gen_id.as_ptr(), bad_len),
                CODOMYRMEX_ERR_INVALID_ARGUMENT
            );
        }
        assert!(!km.exists("generated"));
        assert_eq!(
            codomyrmex_key_manager_create(km.ptr, gen_id.as_ptr(), ptr::null(), 0),
            CODOMYRMEX_ERR_INVALID_ARGUMENT
        );
        assert!(!km.exists("generated"));
        assert_eq!(
            codomyrmex_key_manager_generate(km.ptr, gen_id.as_ptr(), 48),
            CODOMYRMEX_OK
        );
        let generated = km.get("generated").unwrap();
        assert_eq!(generated.len(), 48);
        assert_ne!(generated, vec![0u8; 48]);
        let other_id = c("generated2");
        assert_eq!(
            codomyrmex_key_manager_generate(km.ptr, other_id.as_ptr(), 48),
            CODOMYRMEX_OK
        );
        assert_ne!(
            km.get("generated2").unwrap(),
            generated,
            "independent random keys"
        );
    }
}

#[test]
fn list_is_sorted_nul_separated_and_counted() {
    let km = Km::new();
    assert_eq!(km.list(), (Vec::new(), 0));
    let ids = [
        "b", "a", "B", "a.b", "a-b", "a_b", "0", "Z", "a", "ab", "A9",
    ];
    for id in ids {
        assert_eq!(km.store(id, id.as_bytes()), CODOMYRMEX_OK);
    }
    // Bytewise: '-' < '.' < digits < upper case < '_' < lower case.
    let expected_order = ["0", "A9", "B", "Z", "a", "a-b", "a.b", "a_b", "ab", "b"];
    let mut expected = Vec::new();
    for id in expected_order {
        expected.extend_from_slice(id.as_bytes());
        expected.push(0);
    }
    let (bytes, count) = km.list();
    assert_eq!(count, expected_order.len());
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        String::from_utf8_lossy(&expected),
        "each id followed by one NUL, sorted"
    );

    // One byte short: BUFFER_TOO_SMALL, buffer untouched, count untouched.
    let mut buf = vec![FILL as c_char; expected.len()];
    let mut len = LEN_SENTINEL;
    let mut count = LEN_SENTINEL;
    // SAFETY: a live handle and a buffer of at least the given capacity.
    let status = unsafe {
        codomyrmex_key_manager_list(
            km.ptr,
            buf.as_mut_ptr(),
            expected.len() - 1,
            &mut len,
            &mut count,
        )
    };
    assert_eq!(status, CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
    assert_eq!(len, expected.len(), "*out_len counts the NULs");
    assert_eq!(count, LEN_SENTINEL);
    assert!(buf.iter().all(|&b| b as u8 == FILL));

    // A larger buffer: only the listing is written.
    let mut buf = vec![FILL as c_char; expected.len() + 10];
    // SAFETY: as above.
    let status = unsafe {
        codomyrmex_key_manager_list(km.ptr, buf.as_mut_ptr(), buf.len(), &mut len, &mut count)
    };
    assert_eq!(status, CODOMYRMEX_OK);
    assert_eq!((len, count), (expected.len(), expected_order.len()));
    let bytes: Vec<u8> = buf.iter().map(|&b| b as u8).collect();
    assert_eq!(&bytes[..len], &expected[..]);
    assert!(untouched(&bytes[len..]));
}

#[test]
fn rotate_buffer_too_small_changes_nothing_on_disk() {
    let km = Km::new();
    let id = c("rot");
    let old: Vec<u8> = (100..140).collect();
    let new = b"the new key".to_vec();
    assert_eq!(km.store("rot", &old), CODOMYRMEX_OK);
    let before = snapshot(km.root());
    let rotate = |new_key: &[u8], out: *mut u8, cap: usize, len: *mut usize| {
        // SAFETY: a live handle, a NUL-terminated id, buffers valid for their
        // capacities or NULL (with capacity 0, or refused).
        unsafe {
            codomyrmex_key_manager_rotate(
                km.ptr,
                id.as_ptr(),
                new_key.as_ptr(),
                new_key.len(),
                out,
                cap,
                len,
            )
        }
    };

    // Size query.
    let mut len = LEN_SENTINEL;
    assert_eq!(
        rotate(&new, ptr::null_mut(), 0, &mut len),
        CODOMYRMEX_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(len, old.len());
    assert_eq!(snapshot(km.root()), before, "a size query changes nothing");

    // One byte short.
    let mut out = [FILL; 64];
    let mut len = LEN_SENTINEL;
    assert_eq!(
        rotate(&new, out.as_mut_ptr(), old.len() - 1, &mut len),
        CODOMYRMEX_ERR_BUFFER_TOO_SMALL
    );
    assert_eq!(len, old.len());
    assert!(untouched(&out));
    assert_eq!(
        snapshot(km.root()),
        before,
        "BUFFER_TOO_SMALL changes nothing"
    );

    // Other failures change nothing either.
    let mut len = LEN_SENTINEL;
    assert_eq!(
        rotate(&[], out.as_mut_ptr(), 64, &mut len),
        CODOMYRMEX_ERR_INVALID_ARGUMENT
    );
    let too_long = vec![1u8; CODOMYRMEX_MAX_KEY_LEN + 1];
    assert_eq!(
        rotate(&too_long, out.as_mut_ptr(), 64, &mut len),
        CODOMYRMEX_ERR_INVALID_ARGUMENT
    );
    assert_eq!(len, LEN_SENTINEL);
    assert!(untouched(&out));
    assert_eq!(snapshot(km.root()), before);
    assert_eq!(km.get("rot").unwrap(), old);

    // Exactly enough room: the old key comes back, the new one is stored.
    let mut len = LEN_SENTINEL;
    assert_eq!(
        rotate(&new, out.as_mut_ptr(), old.len(), &mut len),
        CODOMYRMEX_OK
    );
    assert_eq!(len, old.len());
    assert_eq!(&out[..len], &old[..]);
    assert!(untouched(&out[len..]));
    assert_eq!(km.get("rot").unwrap(), new);

    // No previous key: *old_len is 0 and the new key is stored all the same,
    // even with a (NULL, 0) buffer.
    let fresh = c("fresh");
    let mut len = LEN_SENTINEL;
    // SAFETY: as above.
    let status = unsafe {
        codomyrmex_key_manager_rotate(
            km.ptr,
            fresh.as_ptr(),
            new.as_ptr(),
            new.len(),
            ptr::null_mut(),
            0,
            &mut len,
        )
    };
    assert_eq!(status, CODOMYRMEX_OK);
    assert_eq!(len, 0);
    assert_eq!(km.get("fresh").unwrap(), new);
}

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
