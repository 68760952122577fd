//! HKDF: derive, extract, expand.

use super::alg::codomyrmex_hash_alg;
use super::boundary::guard;
use super::ptr::{OutBuf, input, output};
use super::status::codomyrmex_status;
use crate::alg::HashAlg;
use crate::hkdf::{hkdf_derive, hkdf_expand, hkdf_extract_into};

/// HKDF-`alg` (RFC 5869 extract then expand) of `ikm` with `salt` and
/// `info`, filling `okm_out` with exactly `okm_len` bytes.
///
/// `okm_len` must be 1 to 255 × digest length (8160, 12240, 16320 bytes),
/// else `CODOMYRMEX_ERR_INVALID_ARGUMENT`. `(NULL, 0)` salt means no salt
/// (digest-length zero bytes); `(NULL, 0)` ikm or info is empty. For
/// high-entropy input only: HKDF is not a password hash. Other errors:
/// `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`, `CODOMYRMEX_ERR_NULL_POINTER`;
/// `okm_out` is untouched on any error.
///
/// # Safety
/// Each non-NULL pointer must be valid for its length.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hkdf_derive(
    alg: codomyrmex_hash_alg,
    ikm: *const u8,
    ikm_len: usize,
    salt: *const u8,
    salt_len: usize,
    info: *const u8,
    info_len: usize,
    okm_out: *mut u8,
    okm_len: usize,
) -> codomyrmex_status {
    guard(|| {
        let alg = HashAlg::from_value(alg)?;
        // SAFETY (all four): forwarded from the caller.
        let ikm = unsafe { input(ikm, ikm_len, "ikm") }?;
        let salt = unsafe { input(salt, salt_len, "salt") }?;
        let info = unsafe { input(info, info_len, "info") }?;
        let okm = unsafe { output(okm_out, okm_len, "okm_out") }?;
        Ok(hkdf_derive(alg, ikm, salt, info, okm)?)
    })
}

/// HKDF-Extract: writes the pseudorandom key of `ikm` under `salt` (`(NULL,
/// 0)`: no salt) into `prk_out`; `*prk_len` becomes the digest length.
///
/// Buffer rule as `codomyrmex_hmac_compute` (`CODOMYRMEX_ERR_BUFFER_TOO_SMALL`
/// sets `*prk_len` to the length needed). Other errors:
/// `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`, `CODOMYRMEX_ERR_NULL_POINTER`.
/// The PRK is secret: wipe it with `codomyrmex_secure_zero` when done.
///
/// # Safety
/// Each non-NULL pointer must be valid for its length; `prk_len` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hkdf_extract(
    alg: codomyrmex_hash_alg,
    salt: *const u8,
    salt_len: usize,
    ikm: *const u8,
    ikm_len: usize,
    prk_out: *mut u8,
    prk_cap: usize,
    prk_len: *mut usize,
) -> codomyrmex_status {
    guard(|| {
        let alg = HashAlg::from_value(alg)?;
        // SAFETY (all three): forwarded from the caller.
        let salt = unsafe { input(salt, salt_len, "salt") }?;
        let ikm = unsafe { input(ikm, ikm_len, "ikm") }?;
        let out = unsafe { OutBuf::new(prk_out, prk_cap, prk_len, "prk_out", "prk_len") }?;
        out.write_with(alg.digest_len(), |prk| {
            hkdf_extract_into(alg, salt, ikm, prk)
        })
    })
}

/// HKDF-Expand: fills `okm_out` with `okm_len` bytes from the pseudorandom
/// key `prk` and `info`.
///
/// `prk_len` must be at least the digest length and `okm_len` 1 to
/// 255 × digest length, else `CODOMYRMEX_ERR_INVALID_ARGUMENT`. Other
/// errors: `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`,
/// `CODOMYRMEX_ERR_NULL_POINTER`; `okm_out` is untouched on any error.
///
/// # Safety
/// Each non-NULL pointer must be valid for its length.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hkdf_expand(
    alg: codomyrmex_hash_alg,
    prk: *const u8,
    prk_len: usize,
    info: *const u8,
    info_len: usize,
    okm_out: *mut u8,
    okm_len: usize,
) -> codomyrmex_status {
    guard(|| {
        let alg = HashAlg::from_value(alg)?;
        // SAFETY (all three): forwarded from the caller.
        let prk = unsafe { input(prk, prk_len, "prk") }?;
        let info = unsafe { input(info, info_len, "info") }?;
        let okm = unsafe { output(okm_out, okm_len, "okm_out") }?;
        Ok(hkdf_expand(alg, prk, info, okm)?)
    })
}
