//! Using a stored key without its bytes leaving the library: HMAC, HKDF
//! and tagged MACs, with the current version or a chosen one.

use super::{codomyrmex_key_manager, key};
use crate::ffi::alg::{codomyrmex_hash_alg, hash_alg};
use crate::ffi::args::{fixed_out, input, out_buf};
use crate::ffi::boundary::guard;
use crate::ffi::status::codomyrmex_status;
use crate::store::TAG_OVERHEAD;
use std::ffi::c_char;

/// HMAC-`alg` of `data` under the current version of the stored key
/// `key_id`, which never leaves the library. Buffer rule as
/// `codomyrmex_hmac_compute`; errors as that function and
/// `codomyrmex_key_manager_get`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated; a
/// non-NULL `data` valid for `data_len` bytes; `out` NULL or valid for
/// `out_cap` bytes; `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_hmac(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    alg: codomyrmex_hash_alg,
    data: *const u8,
    data_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    // SAFETY: forwarded; version 0 is the current version.
    unsafe {
        codomyrmex_key_manager_hmac_version(
            km, key_id, 0, alg, data, data_len, out, out_cap, out_len,
        )
    }
}

/// HMAC-`alg` of `data` under version `version` (0: current) of `key_id`.
/// Buffer rule as `codomyrmex_hmac_compute`; errors as that function and
/// `codomyrmex_key_manager_get_version`.
///
/// # Safety
/// As `codomyrmex_key_manager_hmac`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_hmac_version(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    version: u32,
    alg: codomyrmex_hash_alg,
    data: *const u8,
    data_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let key = key!(args, km, key_id);
        let alg = hash_alg(alg)?;
        let data = input!(args, data, data_len);
        let mut out = out_buf!(args, out, out_cap, out_len);
        out.reserve(alg.digest_len())?;
        out.write(key.at(super::version(version)).hmac(alg, data)?.as_bytes())
    })
}

/// Checks `mac` against HMAC-`alg` of `data` under the current version of
/// the stored key `key_id`, in constant time in the MAC's content:
/// `CODOMYRMEX_OK` or `CODOMYRMEX_ERR_VERIFY_FAILED`; other errors as
/// `codomyrmex_key_manager_get`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// non-NULL `data` and `mac` valid for their lengths.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn codomyrmex_key_manager_hmac_verify(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    alg: codomyrmex_hash_alg,
    data: *const u8,
    data_len: usize,
    mac: *const u8,
    mac_len: usize,
) -> codomyrmex_status {
    guard(|args| {
        let key = key!(args, km, key_id);
        let alg = hash_alg(alg)?;
        let data = input!(args, data, data_len);
        let mac = input!(args, mac, mac_len);
        Ok(key.hmac_verify(alg, data, mac)?)
    })
}

/// HKDF-`alg` with the current version of the stored key `key_id` as input
/// key material, `salt` (`(NULL, 0)`: none) and `info`, filling `okm` with
/// `okm_len` bytes (1 to 255 × digest length). Errors as
/// `codomyrmex_hkdf_derive` and `codomyrmex_key_manager_get`; `okm` is
/// untouched on any error.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// every other non-NULL pointer valid for its length.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_derive(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    alg: codomyrmex_hash_alg,
    salt: *const u8,
    salt_len: usize,
    info: *const u8,
    info_len: usize,
    okm: *mut u8,
    okm_len: usize,
) -> codomyrmex_status {
    // SAFETY: forwarded; version 0 is the current version.
    unsafe {
        codomyrmex_key_manager_derive_version(
            km, key_id, 0, alg, salt, salt_len, info, info_len, okm, okm_len,
        )
    }
}

/// HKDF-`alg` with version `version` (0: current) of `key_id` as input key
/// material, filling `okm` with `okm_len` bytes (1 to 255 × digest length).
/// Errors as `codomyrmex_hkdf_derive` and
/// `codomyrmex_key_manager_get_version`; `okm` is untouched on error.
///
/// # Safety
/// As `codomyrmex_key_manager_derive`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_derive_version(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    version: u32,
    alg: codomyrmex_hash_alg,
    salt: *const u8,
    salt_len: usize,
    info: *const u8,
    info_len: usize,
    okm: *mut u8,
    okm_len: usize,
) -> codomyrmex_status {
    guard(|args| {
        let key = key!(args, km, key_id);
        let alg = hash_alg(alg)?;
        let salt = input!(args, salt, salt_len);
        let info = input!(args, info, info_len);
        let okm = fixed_out!(args, okm, okm_len);
        Ok(key
            .at(super::version(version))
            .derive(alg, salt, info, okm)?)
    })
}

/// A tagged MAC of `data` with the current version of `key_id`:
/// `0x01 || version (4 bytes, big-endian) || HMAC-alg(key of that version,
/// data)`, `CODOMYRMEX_TAG_OVERHEAD` + digest length bytes. It keeps
/// verifying with `codomyrmex_key_manager_hmac_verify_tagged` after
/// rotations, until its version is pruned.
///
/// Buffer rule as `codomyrmex_hmac_compute`; errors as that function and
/// `codomyrmex_key_manager_get`.
///
/// # Safety
/// As `codomyrmex_key_manager_hmac`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_hmac_tagged(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    alg: codomyrmex_hash_alg,
    data: *const u8,
    data_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let key = key!(args, km, key_id);
        let alg = hash_alg(alg)?;
        let data = input!(args, data, data_len);
        let mut out = out_buf!(args, out, out_cap, out_len);
        out.reserve(TAG_OVERHEAD + alg.digest_len())?;
        out.write(key.hmac_tagged(alg, data)?.as_bytes())
    })
}

/// Checks the tagged MAC `tag` against `data` with the version of `key_id`
/// it names (a staged version included), in constant time in the MAC.
///
/// Returns `CODOMYRMEX_OK`; `CODOMYRMEX_ERR_VERIFY_FAILED` for a bad format
/// byte, a wrong length, a pruned or unknown version (0 included) or a MAC
/// mismatch; `CODOMYRMEX_ERR_NOT_FOUND` when the key id itself does not
/// exist; otherwise as `codomyrmex_key_manager_get`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// non-NULL `data` and `tag` valid for their lengths.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn codomyrmex_key_manager_hmac_verify_tagged(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    alg: codomyrmex_hash_alg,
    data: *const u8,
    data_len: usize,
    tag: *const u8,
    tag_len: usize,
) -> codomyrmex_status {
    guard(|args| {
        let key = key!(args, km, key_id);
        let alg = hash_alg(alg)?;
        let data = input!(args, data, data_len);
        let tag = input!(args, tag, tag_len);
        Ok(key.hmac_verify_tagged(alg, data, tag)?)
    })
}
