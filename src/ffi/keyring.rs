//! The keyring object: every version of one key held in memory with its
//! HMAC key schedule precomputed, for MACs on every request.

use super::alg::{codomyrmex_hash_alg, hash_alg};
use super::args::{handle, input, key_id, out_buf, out_param};
use super::boundary::guard;
use super::handle::{Handle, free_handle};
use super::key_manager::codomyrmex_key_manager;
use super::status::codomyrmex_status;
use crate::keyring::Keyring;
use crate::store::TAG_OVERHEAD;
use std::ffi::c_char;
use std::time::Duration;

/// Every version of one key, loaded by `codomyrmex_key_manager_load`,
/// released by `codomyrmex_keyring_free`. Opaque. One keyring may be used
/// by many threads at once, a refresh included. Its keys live in memory
/// that is locked (best effort) and left out of core dumps, and are wiped
/// when replaced and when freed.
#[allow(non_camel_case_types)]
pub struct codomyrmex_keyring {
    _private: [u8; 0],
}

impl Handle for codomyrmex_keyring {
    type Target = Keyring;
}

/// Loads every version of `key_id` (current, older and staged) for MACs
/// with `alg`, and stores a new keyring in `*out` (set on success only;
/// release it with `codomyrmex_keyring_free`). A MAC with the keyring then
/// reads no file and costs about two hash compressions plus the data.
///
/// `refresh_ms > 0`: at most this often, a call checks cheaply (no file
/// read) whether the key changed in the store and reloads it; a rotation,
/// prune, promotion or delete is seen within `refresh_ms` plus a few
/// milliseconds. `0`: only `codomyrmex_keyring_refresh` reloads. A reload
/// that fails keeps the last good keys; only the refresh call reports the
/// error. A deleted key is wiped: calls then fail with
/// `CODOMYRMEX_ERR_NOT_FOUND`. The keyring keeps working after `km` is
/// freed.
///
/// Errors: as `codomyrmex_key_manager_get` for the key and each version;
/// `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`; `CODOMYRMEX_ERR_IO` if memory
/// for the keys cannot be mapped.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_load(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    alg: codomyrmex_hash_alg,
    refresh_ms: u32,
    out: *mut *mut codomyrmex_keyring,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        let alg = hash_alg(alg)?;
        let out = out_param!(args, out);
        let refresh = (refresh_ms > 0).then(|| Duration::from_millis(refresh_ms.into()));
        out.set(codomyrmex_keyring::into_raw(km.load(key_id, alg, refresh)?));
        Ok(())
    })
}

/// Wipes the keyring's keys and releases it. `NULL` does nothing. Must not
/// be called twice on the same keyring, nor while another thread still
/// uses it.
///
/// # Safety
/// `kr` must be NULL or a keyring from `codomyrmex_key_manager_load` not
/// yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_keyring_free(kr: *mut codomyrmex_keyring) {
    free_handle!(kr);
}

/// Checks the store now and reloads the key if it changed; `*out_changed`
/// says whether the keys served changed.
///
/// Errors: the store's error when the check or the reload fails (the last
/// good keys are still served); `CODOMYRMEX_ERR_NOT_FOUND` if the key was
/// deleted (its keys are wiped; a later refresh loads it again once it
/// exists).
///
/// # Safety
/// `kr` must be NULL or a live keyring; `out_changed` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_keyring_refresh(
    kr: *const codomyrmex_keyring,
    out_changed: *mut bool,
) -> codomyrmex_status {
    guard(|args| {
        let kr = handle!(args, kr);
        let out_changed = out_param!(args, out_changed);
        out_changed.set(kr.refresh()?);
        Ok(())
    })
}

/// Writes the number of the version MACs are made with now into `*out`.
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND` if the key was deleted.
///
/// # Safety
/// `kr` must be NULL or a live keyring; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_keyring_current_version(
    kr: *const codomyrmex_keyring,
    out: *mut u32,
) -> codomyrmex_status {
    guard(|args| {
        let kr = handle!(args, kr);
        let out = out_param!(args, out);
        out.set(kr.current_version()?);
        Ok(())
    })
}

/// HMAC of `data` with the current version, the keyring's algorithm: the
/// same bytes as `codomyrmex_key_manager_hmac` for the same key state.
/// Buffer rule as `codomyrmex_hmac_compute`.
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND` if the key was deleted.
///
/// # Safety
/// `kr` must be NULL or a live keyring; a non-NULL `data` valid for
/// `data_len` bytes; `out` NULL or valid for `out_cap` bytes; `out_len`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_keyring_hmac(
    kr: *const codomyrmex_keyring,
    data: *const u8,
    data_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let kr = handle!(args, kr);
        let data = input!(args, data, data_len);
        let mut out = out_buf!(args, out, out_cap, out_len);
        out.reserve(kr.alg().digest_len())?;
        out.write(kr.hmac(data)?.as_bytes())
    })
}

/// Checks `mac` against the HMAC of `data` with the current version, in
/// constant time in the MAC's content: `CODOMYRMEX_OK` or
/// `CODOMYRMEX_ERR_VERIFY_FAILED` (a wrong length included).
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND` if the key was deleted.
///
/// # Safety
/// `kr` must be NULL or a live keyring; non-NULL `data` and `mac` valid for
/// their lengths.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn codomyrmex_keyring_hmac_verify(
    kr: *const codomyrmex_keyring,
    data: *const u8,
    data_len: usize,
    mac: *const u8,
    mac_len: usize,
) -> codomyrmex_status {
    guard(|args| {
        let kr = handle!(args, kr);
        let data = input!(args, data, data_len);
        let mac = input!(args, mac, mac_len);
        Ok(kr.hmac_verify(data, mac)?)
    })
}

/// A tagged MAC of `data` with the current version (`0x01 || version
/// (4 bytes, big-endian) || HMAC`): the same bytes as
/// `codomyrmex_key_manager_hmac_tagged` for the same key state. Buffer rule
/// as `codomyrmex_hmac_compute`.
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND` if the key was deleted.
///
/// # Safety
/// As `codomyrmex_keyring_hmac`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_keyring_hmac_tagged(
    kr: *const codomyrmex_keyring,
    data: *const u8,
    data_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let kr = handle!(args, kr);
        let data = input!(args, data, data_len);
        let mut out = out_buf!(args, out, out_cap, out_len);
        out.reserve(TAG_OVERHEAD + kr.alg().digest_len())?;
        out.write(kr.hmac_tagged(data)?.as_bytes())
    })
}

/// Checks the tagged MAC `tag` against `data` with the version it names
/// (any version the keyring holds, staged ones included), in constant time
/// in the MAC: `CODOMYRMEX_OK`, or `CODOMYRMEX_ERR_VERIFY_FAILED` for a bad
/// format byte, a wrong length, a version the keyring does not hold (0
/// included) or a mismatch.
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND` if the key was deleted.
///
/// # Safety
/// `kr` must be NULL or a live keyring; non-NULL `data` and `tag` valid for
/// their lengths.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn codomyrmex_keyring_hmac_verify_tagged(
    kr: *const codomyrmex_keyring,
    data: *const u8,
    data_len: usize,
    tag: *const u8,
    tag_len: usize,
) -> codomyrmex_status {
    guard(|args| {
        let kr = handle!(args, kr);
        let data = input!(args, data, data_len);
        let tag = input!(args, tag, tag_len);
        Ok(kr.hmac_verify_tagged(data, tag)?)
    })
}
