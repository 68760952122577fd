//! The key manager object: a key directory and the keys in it.

use super::alg::codomyrmex_hash_alg;
use super::boundary::{guard, guard_value};
use super::ptr::{OutBuf, OutParam, c_str, input, object, output, parse_key_id};
use super::status::codomyrmex_status;
use crate::alg::HashAlg;
use crate::store::KeyManager;
use std::ffi::{OsStr, c_char};
use std::os::unix::ffi::OsStrExt;

/// An open key directory: created by `codomyrmex_key_manager_open`,
/// released by `codomyrmex_key_manager_free`. Opaque. One handle may be
/// shared by many threads.
#[allow(non_camel_case_types)]
pub struct codomyrmex_key_manager(pub(crate) KeyManager);

/// Opens the key directory `key_dir` and stores a new handle in `*out_km`
/// (set on success only; release it with `codomyrmex_key_manager_free`).
///
/// `key_dir` is any path the OS accepts. `NULL` means the default
/// `<tmp>/codomyrmex_keys`, where `<tmp>` is the first set of `$TMPDIR`,
/// `$TEMP`, `$TMP`, else `/tmp` — pass a stable directory for keys that must
/// survive a reboot. The directory is created (with parents) as mode 0700
/// if absent and opened once: later calls use it even if its path is renamed
/// or replaced.
///
/// Errors: `CODOMYRMEX_ERR_INSECURE_PERMISSIONS` (a symbolic link, another
/// owner, or writable by group or others), `CODOMYRMEX_ERR_IO` (cannot
/// create or open, not a directory), `CODOMYRMEX_ERR_INVALID_ARGUMENT`
/// (empty path), `CODOMYRMEX_ERR_NULL_POINTER` (`out_km`).
///
/// # Safety
/// `key_dir` must be NULL or NUL-terminated; `out_km` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_open(
    key_dir: *const c_char,
    out_km: *mut *mut codomyrmex_key_manager,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let out_km = unsafe { OutParam::new(out_km, "out_km") }?;
        let km = if key_dir.is_null() {
            KeyManager::open_default()
        } else {
            // SAFETY: non-NULL and NUL-terminated, as the caller promises.
            let path = unsafe { c_str(key_dir, "key_dir") }?;
            KeyManager::open(OsStr::from_bytes(path.to_bytes()))
        }?;
        out_km.set(Box::into_raw(Box::new(codomyrmex_key_manager(km))));
        Ok(())
    })
}

/// Closes the key directory and releases the handle. `NULL` does nothing.
/// Must not be called twice on the same handle, nor while another thread
/// still uses it.
///
/// # Safety
/// `km` must be NULL or a handle from `codomyrmex_key_manager_open` not yet
/// freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_free(km: *mut codomyrmex_key_manager) {
    guard_value((), || {
        if !km.is_null() {
            // SAFETY: `km` came from `Box::into_raw` in
            // codomyrmex_key_manager_open and is freed once.
            drop(unsafe { Box::from_raw(km) });
        }
    });
}

/// Writes the directory's path, as resolved when it was opened, into `buf`
/// as a NUL-terminated string. `*out_len` counts the NUL, so it is exactly
/// the capacity needed; buffer rule as `codomyrmex_hmac_compute`.
///
/// # Safety
/// `km` must be NULL or a live handle; `buf` NULL or valid for `cap` bytes;
/// `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_dir(
    km: *const codomyrmex_key_manager,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (both): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let out = unsafe { OutBuf::new(buf.cast(), cap, out_len, "buf", "out_len") }?;
        let mut path = km.0.dir().as_os_str().as_bytes().to_vec();
        path.push(0);
        out.write(&path)
    })
}

/// Stores `key` (1 to `CODOMYRMEX_MAX_KEY_LEN` bytes) as `<key_dir>/<key_id>.key`,
/// atomically and durably: a reader (or a crash) sees the old key or the new
/// one, never a mix or an empty file. A new id becomes version 1; over an
/// existing key, `key` becomes the next version and the previous one is kept
/// (see `codomyrmex_key_manager_prune`).
///
/// Errors: `CODOMYRMEX_ERR_INVALID_KEY_ID`, `CODOMYRMEX_ERR_INVALID_ARGUMENT`
/// (key length), the errors of `codomyrmex_key_manager_get` for an existing
/// key that cannot be read, `CODOMYRMEX_ERR_IO` (disk full, read-only, …:
/// the previous key survives), `CODOMYRMEX_ERR_NULL_POINTER`.
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
    guard(|| {
        // SAFETY (all three): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let key = unsafe { input(key, key_len, "key") }?;
        Ok(km.0.store(key_id, key)?)
    })
}

/// Like `codomyrmex_key_manager_store` (the key becomes version 1), but only
/// if no key `key_id` exists:
/// `CODOMYRMEX_ERR_ALREADY_EXISTS` otherwise, even when another process
/// creates it at the same instant.
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
    guard(|| {
        // SAFETY (all three): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let key = unsafe { input(key, key_len, "key") }?;
        Ok(km.0.create(key_id, key)?)
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
    guard(|| {
        // SAFETY (both): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        Ok(km.0.generate(key_id, key_len)?)
    })
}

/// Copies the key `key_id` into `key_out`; `*key_len` is its length.
/// Buffer rule as `codomyrmex_hmac_compute` (pass `NULL, 0` to learn the
/// length); a key fits in `CODOMYRMEX_MAX_KEY_LEN` bytes. Wipe your copy
/// with `codomyrmex_secure_zero` when done.
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND`, `CODOMYRMEX_ERR_INSECURE_PERMISSIONS`
/// (key file is a symbolic link, has another owner, extra hard links, or
/// group/other access), `CODOMYRMEX_ERR_CORRUPT` (not a regular file, empty,
/// over the size limit), `CODOMYRMEX_ERR_INVALID_KEY_ID`,
/// `CODOMYRMEX_ERR_IO`, `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// `key_out` NULL or valid for `key_cap` bytes; `key_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_get(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    key_out: *mut u8,
    key_cap: usize,
    key_len: *mut usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (all three): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let out = unsafe { OutBuf::new(key_out, key_cap, key_len, "key_out", "key_len") }?;
        out.write(&km.0.get(key_id)?)
    })
}

/// Sets `*out_exists` to whether `<key_id>.key` exists as a regular file
/// (exactly when `codomyrmex_key_manager_list` would list it).
///
/// Errors: `CODOMYRMEX_ERR_INSECURE_PERMISSIONS` (the name is a symbolic
/// link), `CODOMYRMEX_ERR_CORRUPT` (another kind of file),
/// `CODOMYRMEX_ERR_INVALID_KEY_ID`, `CODOMYRMEX_ERR_IO`,
/// `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated;
/// `out_exists` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_exists(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    out_exists: *mut bool,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (all three): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let out_exists = unsafe { OutParam::new(out_exists, "out_exists") }?;
        out_exists.set(km.0.exists(key_id)?);
        Ok(())
    })
}

/// Removes the key `key_id` and every version of it: afterwards no file in
/// the key directory holds their bytes.
///
/// Errors: `CODOMYRMEX_ERR_NOT_FOUND`, `CODOMYRMEX_ERR_CORRUPT` (a directory
/// stands at its name), `CODOMYRMEX_ERR_INVALID_KEY_ID`, `CODOMYRMEX_ERR_IO`,
/// `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_delete(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (both): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        Ok(km.0.delete(key_id)?)
    })
}

/// Writes the ids of all keys into `buf`, sorted bytewise ascending, each
/// followed by one `'\0'`; `*out_len` counts every byte written (NULs
/// included) and `*out_count` the ids. Only regular files named
/// `<valid key id>.key` count.
///
/// Buffer rule as `codomyrmex_hmac_compute` (`*out_count` is set on success
/// only). `out_count` is required. Errors: `CODOMYRMEX_ERR_IO`,
/// `CODOMYRMEX_ERR_NULL_POINTER`, `CODOMYRMEX_ERR_BUFFER_TOO_SMALL`.
///
/// # Safety
/// `km` must be NULL or a live handle; `buf` NULL or valid for `cap` bytes;
/// `out_len` and `out_count` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_list(
    km: *const codomyrmex_key_manager,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
    out_count: *mut usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (all three): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let out = unsafe { OutBuf::new(buf.cast(), cap, out_len, "buf", "out_len") }?;
        let out_count = unsafe { OutParam::new(out_count, "out_count") }?;
        let (joined, count) = km.0.list_joined()?;
        out.write(&joined)?;
        out_count.set(count);
        Ok(())
    })
}

/// Stores `new_key` (1 to `CODOMYRMEX_MAX_KEY_LEN` bytes) as the next version
/// of `key_id` and copies the key it replaced into `old_out`; `*old_len == 0`
/// when there was none (the new key is stored all the same, as version 1).
/// The replaced version is kept: data made with it stays usable through
/// `codomyrmex_key_manager_get_version` and tagged MACs until it is pruned.
///
/// Atomic against concurrent rotate, store and delete of the same key in any
/// thread or process: of N concurrent rotations each returns the key the
/// previous one stored. If `old_cap` is too small for the previous key,
/// returns `CODOMYRMEX_ERR_BUFFER_TOO_SMALL` with `*old_len` set to its
/// length and changes nothing on disk. Other errors: as
/// `codomyrmex_key_manager_store` and `codomyrmex_key_manager_get`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated; a
/// non-NULL `new_key` valid for `new_key_len` bytes; `old_out` NULL or valid
/// for `old_cap` bytes; `old_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_rotate(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
    new_key: *const u8,
    new_key_len: usize,
    old_out: *mut u8,
    old_cap: usize,
    old_len: *mut usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (all four): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let new_key = unsafe { input(new_key, new_key_len, "new_key") }?;
        let mut out = unsafe { OutBuf::new(old_out, old_cap, old_len, "old_out", "old_len") }?;
        let old =
            km.0.rotate_bounded(key_id, new_key, out.capacity())
                .map_err(|err| out.fail(err))?;
        out.write(old.as_deref().unwrap_or_default())
    })
}

/// HMAC-`alg` of `data` under the stored key `key_id`, which never leaves
/// the library. Buffer rule as `codomyrmex_hmac_compute`; errors as that
/// function and `codomyrmex_key_manager_get`.
///
/// # Safety
/// `km` must be NULL or a live handle; `key_id` NULL or NUL-terminated; a
/// non-NULL `data` valid for `data_len` bytes; `mac_out` NULL or valid for
/// `mac_cap` bytes; `mac_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_key_manager_hmac(
    km: *const codomyrmex_key_manager,
    key_id: *const c_char,
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
        out.write(km.0.hmac(key_id, alg, data)?.as_bytes())
    })
}

/// Checks `mac` against HMAC-`alg` of `data` under the stored key `key_id`,
/// in constant time in the MAC's content: `CODOMYRMEX_OK` or
/// `CODOMYRMEX_ERR_VERIFY_FAILED`; other errors as
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
    guard(|| {
        // SAFETY (all four): forwarded from the caller.
        let km = unsafe { object(km, "km") }?;
        let key_id = unsafe { parse_key_id(key_id) }?;
        let alg = HashAlg::from_value(alg)?;
        let data = unsafe { input(data, data_len, "data") }?;
        let mac = unsafe { input(mac, mac_len, "mac") }?;
        Ok(km.0.hmac_verify(key_id, alg, data, mac)?)
    })
}

/// HKDF-`alg` with the stored key `key_id` as input key material, `salt`
/// (`(NULL, 0)`: none) and `info`, filling `okm_out` with `okm_len` bytes
/// (1 to 255 × digest length). Errors as `codomyrmex_hkdf_derive` and
/// `codomyrmex_key_manager_get`; `okm_out` is untouched on any error.
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
        Ok(km.0.derive(key_id, alg, salt, info, okm)?)
    })
}
