//! HKDF: derive, extract, expand.

use super::alg::{codomyrmex_hash_alg, hash_alg};
use super::args::{fixed_out, input, out_buf};
use super::boundary::guard;
use super::status::codomyrmex_status;
use crate::hkdf::{hkdf_derive, hkdf_expand, hkdf_extract_into};

/// HKDF-`alg` (RFC 5869 extract then expand) of `ikm` with `salt` and
/// `info`, filling `okm` with exactly `okm_len` bytes.
///
/// `okm_len` must be 1 to 255 × digest length (8160, 12240, 16320 bytes),
/// else `CODOMYRMEX_ERR_INVALID_ARGUMENT`. `(NULL, 0)` salt means no salt
/// (digest-length zero bytes); `(NULL, 0)` ikm or info is empty. For
/// high-entropy input only: HKDF is not a password hash. Other errors:
/// `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`, `CODOMYRMEX_ERR_NULL_POINTER`,
/// `CODOMYRMEX_ERR_INVALID_ARGUMENT` (`okm` overlaps an input); `okm` is
/// untouched on any error.
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
    okm: *mut u8,
    okm_len: usize,
) -> codomyrmex_status {
    guard(|args| {
        let alg = hash_alg(alg)?;
        let ikm = input!(args, ikm, ikm_len);
        let salt = input!(args, salt, salt_len);
        let info = input!(args, info, info_len);
        let okm = fixed_out!(args, okm, okm_len);
        Ok(hkdf_derive(alg, ikm, salt, info, okm)?)
    })
}

/// HKDF-Extract: writes the pseudorandom key of `ikm` under `salt` (`(NULL,
/// 0)`: no salt) into `out`; `*out_len` becomes the digest length.
///
/// Buffer rule as `codomyrmex_hmac_compute` (`CODOMYRMEX_ERR_BUFFER_TOO_SMALL`
/// sets `*out_len` to the length needed). Other errors:
/// `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`, `CODOMYRMEX_ERR_NULL_POINTER`,
/// `CODOMYRMEX_ERR_INVALID_ARGUMENT` (`out` overlaps an input). The PRK is
/// secret: wipe it with `codomyrmex_secure_zero` when done.
///
/// # Safety
/// Each non-NULL pointer must be valid for its length; `out_len` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hkdf_extract(
    alg: codomyrmex_hash_alg,
    salt: *const u8,
    salt_len: usize,
    ikm: *const u8,
    ikm_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let alg = hash_alg(alg)?;
        let salt = input!(args, salt, salt_len);
        let ikm = input!(args, ikm, ikm_len);
        let out = out_buf!(args, out, out_cap, out_len);
        out.write_with(alg.digest_len(), |prk| {
            hkdf_extract_into(alg, salt, ikm, prk)
        })
    })
}

/// HKDF-Expand: fills `okm` with `okm_len` bytes from the pseudorandom key
/// `prk` and `info`.
///
/// `prk_len` must be at least the digest length and `okm_len` 1 to
/// 255 × digest length, else `CODOMYRMEX_ERR_INVALID_ARGUMENT`. Other
/// errors: `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`,
/// `CODOMYRMEX_ERR_NULL_POINTER`, `CODOMYRMEX_ERR_INVALID_ARGUMENT` (`okm`
/// overlaps an input); `okm` is untouched on any error.
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
    okm: *mut u8,
    okm_len: usize,
) -> codomyrmex_status {
    guard(|args| {
        let alg = hash_alg(alg)?;
        let prk = input!(args, prk, prk_len);
        let info = input!(args, info, info_len);
        let okm = fixed_out!(args, okm, okm_len);
        Ok(hkdf_expand(alg, prk, info, okm)?)
    })
}
