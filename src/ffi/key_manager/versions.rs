//! Key versions: which there are, reading one, pruning, and staged
//! rotation.

use super::{codomyrmex_key_manager, key};
use crate::error::Status;
use crate::ffi::args::{handle, input, key_id, out_buf, out_param};
use crate::ffi::boundary::guard;
use crate::ffi::status::{Failure, codomyrmex_status};
use std::ffi::c_char;
use std::num::NonZeroU32;

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
    guard(|args| {
        let key = key!(args, km, key_id);
        let out_version = out_param!(args, out_version);
        out_version.set(key.current_version()?.get());
        Ok(())
    })
}

/// Copies version `version` of `key_id` into `out` (0 means the current
/// version; a staged version may be read too); `*out_len` is its length.
/// Buffer rule as `codomyrmex_hmac_compute`.
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND` (no such key, or a version never made
/// or pruned); otherwise as `codomyrmex_key_manager_get`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// `out` NULL or valid for `out_cap` bytes; `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_get_version(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    version: u32,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let key = key!(args, km, key_id);
        let out = out_buf!(args, out, out_cap, out_len);
        out.write(&key.at(super::version(version)).get()?)
    })
}

/// Writes the version numbers of `key_id` into `out`, ascending: retained
/// older versions, the current one and staged ones. `*out_len` is their
/// number. If `out_cap` (in entries) is too small, returns
/// `CODOMYRMEX_ERR_BUFFER_TOO_SMALL` with `*out_len` set to the number
/// needed; `out` may be NULL when `out_cap` is 0.
///
/// Errors: as `codomyrmex_key_manager_get`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// `out` NULL or valid for `out_cap` entries; `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_list_versions(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    out: *mut u32,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let key = key!(args, km, key_id);
        let out = out_buf!(args, out, out_cap, out_len);
        let all: Vec<u32> = key
            .versions()?
            .all()
            .into_iter()
            .map(NonZeroU32::get)
            .collect();
        out.write(&all)
    })
}

/// Removes all but the newest `keep_newest` versions of `key_id` up to the
/// current one (at least 1: the current version is always kept; staged
/// versions newer than it are not touched). Afterwards no file of the key
/// source holds the bytes of a removed version; tagged MACs made with a
/// removed version no longer verify.
///
/// Errors: `CODOMYRMEX_ERR_INVALID_ARGUMENT` (`keep_newest` is 0, or a
/// read-only source); otherwise as `codomyrmex_key_manager_get` and
/// `CODOMYRMEX_ERR_IO`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_prune(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    keep_newest: u32,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        let keep = NonZeroU32::new(keep_newest).ok_or_else(|| {
            Failure::new(
                Status::InvalidArgument,
                "keep_newest is 0: the current version is always kept, so it must be at least 1",
            )
        })?;
        Ok(km.prune(key_id, keep)?)
    })
}

/// Adds `key` (1 to `CODOMYRMEX_MAX_KEY_LEN` bytes) as a staged version of
/// the existing key `key_id` and sets `*out_version` to its number: it is
/// listed by `codomyrmex_key_manager_list_versions`, readable with
/// `codomyrmex_key_manager_get_version` and accepted by
/// `codomyrmex_key_manager_hmac_verify_tagged`, but not used to make MACs
/// (`hmac`, `hmac_tagged`, `get`, `derive`) until
/// `codomyrmex_key_manager_promote`. So every host can learn a new key
/// before any host signs with it.
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND` (no such key); otherwise as
/// `codomyrmex_key_manager_store`.
///
/// # Safety
/// As `codomyrmex_key_manager_store`; `out_version` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_stage(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    key: *const u8,
    key_len: usize,
    out_version: *mut u32,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        let key = input!(args, key, key_len);
        let out_version = out_param!(args, out_version);
        out_version.set(km.stage(key_id, key)?.get());
        Ok(())
    })
}

/// Like `codomyrmex_key_manager_stage` with a random key of `key_len`
/// bytes (1 to `CODOMYRMEX_MAX_KEY_LEN`) from the OS CSPRNG.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// `out_version` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_stage_generate(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    key_len: usize,
    out_version: *mut u32,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        let out_version = out_param!(args, out_version);
        out_version.set(km.stage_generate(key_id, key_len)?.get());
        Ok(())
    })
}

/// Makes the staged version `version` of `key_id` current; the version it
/// replaces is kept (as after a rotation).
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND` unless `version` is staged; otherwise
/// as `codomyrmex_key_manager_store`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_promote(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    version: u32,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        let number = NonZeroU32::new(version).ok_or_else(|| {
            Failure::new(
                Status::NotFound,
                format!("key '{key_id}' has no staged version 0"),
            )
        })?;
        Ok(km.promote(key_id, number)?)
    })
}
