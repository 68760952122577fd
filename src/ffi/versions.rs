//! Key versions: the key manager functions that name a version, and tagged
//! MACs that keep verifying across rotations.

use super::alg::codomyrmex_hash_alg;
use super::boundary::guard;
use super::key_manager::codomyrmex_key_manager;
use super::ptr::{OutBuf, OutParam, input, object, output, parse_key_id};
use super::status::codomyrmex_status;
use crate::alg::HashAlg;
use std::ffi::c_char;

/// Bytes a tagged MAC adds to the HMAC: a format byte `0x01` and the
/// version number (4 bytes, big-endian). A tagged MAC is
/// `CODOMYRMEX_TAG_OVERHEAD + digest length` bytes; a buffer of
/// `CODOMYRMEX_TAG_OVERHEAD + CODOMYRMEX_MAX_DIGEST_LEN` bytes holds any.
pub const CODOMYRMEX_TAG_OVERHEAD: usize = 5;

// The header needs a literal value; this keeps it equal to the safe API's.
const _: () = assert!(CODOMYRMEX_TAG_OVERHEAD == crate::store::TAG_OVERHEAD);

/// Sets `*out_version` to the current version number of `key_id` (1 for a
/// key never rotated, including key files written by older releases or the
/// original Python module).
///
/// Errors: as `codomyrmex_key_manager_get`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// `out_version` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_current_version(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    out_version: *mut u32,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (all three): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let out_version = unsafe { OutParam::new(out_version, "out_version") }?;
        out_version.set(km.0.current_version(key_id)?);
        Ok(())
    })
}

/// Copies version `version` of `key_id` into `key_out` (0 means the current
/// version); `*key_len` is its length. Buffer rule as
/// `codomyrmex_hmac_compute`.
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND` (no such key, or a version never made
/// or pruned); otherwise as `codomyrmex_key_manager_get`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// `key_out` NULL or valid for `key_cap` bytes; `key_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_get_version(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    version: u32,
    key_out: *mut u8,
    key_cap: usize,
    key_len: *mut usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (all three): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let out = unsafe { OutBuf::new(key_out, key_cap, key_len, "key_out", "key_len") }?;
        out.write(&km.0.get_version(key_id, version)?)
    })
}

/// Writes the version numbers of `key_id` that are kept into `out`,
/// ascending (the last is the current version), and their number into
/// `*out_count`. If `cap` (in entries) is too small, returns
/// `CODOMYRMEX_ERR_BUFFER_TOO_SMALL` with `*out_count` set to the number
/// needed; `out` may be NULL when `cap` is 0.
///
/// Errors: as `codomyrmex_key_manager_get`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// `out` NULL or valid for `cap` entries; `out_count` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_list_versions(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    out: *mut u32,
    cap: usize,
    out_count: *mut usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (all three): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let out = unsafe { OutBuf::new(out, cap, out_count, "out", "out_count") }?;
        out.write(&km.0.list_versions(key_id)?)
    })
}

/// Removes all but the newest `keep_newest` versions of `key_id` (at least
/// 1: the current version is always kept). Afterwards no file in the key
/// directory holds the bytes of a removed version; tagged MACs made with a
/// removed version no longer verify.
///
/// Errors: `CODOMYRMEX_ERR_INVALID_ARGUMENT` (`keep_newest` is 0); otherwise
/// as `codomyrmex_key_manager_get` and `CODOMYRMEX_ERR_IO`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_prune(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    keep_newest: u32,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (both): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        Ok(km.0.prune(key_id, keep_newest)?)
    })
}

/// HMAC-`alg` of `data` under version `version` (0: current) of `key_id`.
/// Buffer rule as `codomyrmex_hmac_compute`; errors as that function and
/// `codomyrmex_key_manager_get_version`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated; a
/// non-NULL `data` valid for `data_len` bytes; `mac_out` NULL or valid for
/// `mac_cap` bytes; `mac_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_hmac_version(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    version: u32,
    alg: codomyrmex_hash_alg,
    data: *const u8,
    data_len: usize,
    mac_out: *mut u8,
    mac_cap: usize,
    mac_len: *mut usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (all four): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let alg = HashAlg::from_value(alg)?;
        let data = unsafe { input(data, data_len, "data") }?;
        let mut out = unsafe { OutBuf::new(mac_out, mac_cap, mac_len, "mac_out", "mac_len") }?;
        out.reserve(alg.digest_len())?;
        out.write(km.0.hmac_version(key_id, version, alg, data)?.as_bytes())
    })
}

/// HKDF-`alg` with version `version` (0: current) of `key_id` as input key
/// material, filling `okm_out` with `okm_len` bytes (1 to 255 × digest
/// length). Errors as `codomyrmex_hkdf_derive` and
/// `codomyrmex_key_manager_get_version`; `okm_out` is untouched on error.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// every other non-NULL pointer valid for its length.
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
    okm_out: *mut u8,
    okm_len: usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (all five): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let alg = HashAlg::from_value(alg)?;
        let salt = unsafe { input(salt, salt_len, "salt") }?;
        let info = unsafe { input(info, info_len, "info") }?;
        let okm = unsafe { output(okm_out, okm_len, "okm_out") }?;
        Ok(km.0.derive_version(key_id, version, alg, salt, info, okm)?)
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
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated; a
/// non-NULL `data` valid for `data_len` bytes; `tag_out` NULL or valid for
/// `tag_cap` bytes; `tag_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_hmac_tagged(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    alg: codomyrmex_hash_alg,
    data: *const u8,
    data_len: usize,
    tag_out: *mut u8,
    tag_cap: usize,
    tag_len: *mut usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (all four): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let alg = HashAlg::from_value(alg)?;
        let data = unsafe { input(data, data_len, "data") }?;
        let mut out = unsafe { OutBuf::new(tag_out, tag_cap, tag_len, "tag_out", "tag_len") }?;
        out.reserve(CODOMYRMEX_TAG_OVERHEAD + alg.digest_len())?;
        out.write(km.0.hmac_tagged(key_id, alg, data)?.as_bytes())
    })
}

/// Checks the tagged MAC `tag` against `data` with the version of `key_id`
/// it names, in constant time in the MAC.
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
    guard(|| {
        // SAFETY (all four): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let alg = HashAlg::from_value(alg)?;
        let data = unsafe { input(data, data_len, "data") }?;
        let tag = unsafe { input(tag, tag_len, "tag") }?;
        Ok(km.0.hmac_verify_tagged(key_id, alg, data, tag)?)
    })
}
