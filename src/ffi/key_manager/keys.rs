//! Writing and reading the current key: store, create, generate, get,
//! delete, rotate.

use super::codomyrmex_key_manager;
use crate::ffi::args::{handle, input, key_id, out_buf};
use crate::ffi::boundary::guard;
use crate::ffi::status::codomyrmex_status;
use std::ffi::c_char;

/// Stores `key` (1 to `CODOMYRMEX_MAX_KEY_LEN` bytes) as `<key_dir>/<key_id>.key`,
/// atomically and durably: a reader (or a crash) sees the old key or the new
/// one, never a mix or an empty file. A new id becomes version 1; over an
/// existing key, `key` becomes the next version and the previous one is kept
/// (see `codomyrmex_key_manager_prune`).
///
/// Errors: `CODOMYRMEX_ERR_INVALID_KEY_ID`, `CODOMYRMEX_ERR_INVALID_ARGUMENT`
/// (key length, read-only source), the errors of `codomyrmex_key_manager_get`
/// for an existing key that cannot be read, `CODOMYRMEX_ERR_IO` (disk full,
/// read-only, lock timeout…: the previous key survives),
/// `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated; a
/// non-NULL `key` valid for `key_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_store(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    key: *const u8,
    key_len: usize,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        let key = input!(args, key, key_len);
        Ok(km.store(key_id, key)?)
    })
}

/// Like `codomyrmex_key_manager_store` (the key becomes version 1), but only
/// if no key `key_id` exists: `CODOMYRMEX_ERR_ALREADY_EXISTS` otherwise,
/// even when another process creates it at the same instant.
///
/// # Safety
/// As `codomyrmex_key_manager_store`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_create(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    key: *const u8,
    key_len: usize,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        let key = input!(args, key, key_len);
        Ok(km.create(key_id, key)?)
    })
}

/// Creates a random key of `key_len` bytes (1 to `CODOMYRMEX_MAX_KEY_LEN`)
/// from the OS CSPRNG as `key_id`, which must not exist
/// (`CODOMYRMEX_ERR_ALREADY_EXISTS`). The key never leaves the library;
/// read it with `codomyrmex_key_manager_get` if you must.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_generate(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    key_len: usize,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        Ok(km.generate(key_id, key_len)?)
    })
}

/// Copies the current version of the key `key_id` into `out`; `*out_len`
/// is its length. Buffer rule as `codomyrmex_hmac_compute` (pass `NULL, 0`
/// to learn the length); a key fits in `CODOMYRMEX_MAX_KEY_LEN` bytes. Wipe
/// your copy with `codomyrmex_secure_zero` when done.
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND`, `CODOMYRMEX_ERR_INSECURE_PERMISSIONS`
/// (key file is a symbolic link, has another owner, extra hard links, or
/// group/other access; in a mounted source: not trusted),
/// `CODOMYRMEX_ERR_CORRUPT` (not a regular file, empty, over the size
/// limit), `CODOMYRMEX_ERR_INVALID_KEY_ID`, `CODOMYRMEX_ERR_IO`,
/// `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// `out` NULL or valid for `out_cap` bytes; `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_get(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        let out = out_buf!(args, out, out_cap, out_len);
        out.write(&km.get(key_id)?)
    })
}

/// Removes the key `key_id` and every version of it: afterwards no file in
/// the key directory holds their bytes. A key file that cannot be read (a
/// symbolic link, wrong permissions) is removed all the same.
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND`, `CODOMYRMEX_ERR_CORRUPT` (a directory
/// stands at its name), `CODOMYRMEX_ERR_INVALID_KEY_ID`,
/// `CODOMYRMEX_ERR_INVALID_ARGUMENT` (read-only source), `CODOMYRMEX_ERR_IO`,
/// `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_delete(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        Ok(km.delete(key_id)?)
    })
}

/// Stores `key` (1 to `CODOMYRMEX_MAX_KEY_LEN` bytes) as the next version of
/// `key_id` and copies the key it replaced into `out`; `*out_len == 0` when
/// there was none (the new key is stored all the same, as version 1). The
/// replaced version is kept: data made with it stays usable through
/// `codomyrmex_key_manager_get_version` and tagged MACs until it is pruned.
///
/// Atomic against concurrent rotate, store and delete of the same key in any
/// thread or process: of N concurrent rotations each returns the key the
/// previous one stored. If `out_cap` is too small for the previous key,
/// returns `CODOMYRMEX_ERR_BUFFER_TOO_SMALL` with `*out_len` set to its
/// length and changes nothing. Other errors: as
/// `codomyrmex_key_manager_store` and `codomyrmex_key_manager_get`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated; a
/// non-NULL `key` valid for `key_len` bytes; `out` NULL or valid for
/// `out_cap` bytes; `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_rotate(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    key: *const u8,
    key_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let km = handle!(args, km);
        let key_id = key_id!(args, key_id);
        let key = input!(args, key, key_len);
        let mut out = out_buf!(args, out, out_cap, out_len);
        let old = km.rotate_if(key_id, key, |previous| {
            out.reserve(previous.map_or(0, <[u8]>::len))
        })?;
        out.write(old.as_deref().unwrap_or_default())
    })
}
