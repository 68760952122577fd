//! HMAC: one-shot, verify, and the streaming `codomyrmex_hmac` object.

use super::alg::codomyrmex_hash_alg;
use super::boundary::{guard, guard_value};
use super::ptr::{OutBuf, OutParam, input, object_mut};
use super::status::codomyrmex_status;
use crate::alg::HashAlg;
use crate::hmac::{HmacStream, hmac, hmac_verify};

/// A streaming HMAC: created by `codomyrmex_hmac_new`, fed by
/// `codomyrmex_hmac_update`, read by `codomyrmex_hmac_finish` or
/// `codomyrmex_hmac_finish_verify`, released by `codomyrmex_hmac_free`.
/// Opaque. Use it from one thread at a time.
#[allow(non_camel_case_types)]
pub struct codomyrmex_hmac(HmacStream);

/// Computes HMAC-`alg` of `data` under `key` (any length, 0 included) into
/// `mac_out`.
///
/// On success `*mac_len` is the digest length (32, 48 or 64; at most
/// `CODOMYRMEX_MAX_DIGEST_LEN`). If `mac_cap` is smaller, returns
/// `CODOMYRMEX_ERR_BUFFER_TOO_SMALL` with `*mac_len` set to the length needed
/// and `mac_out` untouched; `mac_out` may be NULL when `mac_cap` is 0.
/// `(NULL, 0)` is an empty key or message. Other errors:
/// `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`, `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// Each non-NULL pointer must be valid for its length; `mac_len` must be
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hmac_compute(
    alg: codomyrmex_hash_alg,
    key: *const u8,
    key_len: usize,
    data: *const u8,
    data_len: usize,
    mac_out: *mut u8,
    mac_cap: usize,
    mac_len: *mut usize,
) -> codomyrmex_status {
    guard(|| {
        let alg = HashAlg::from_value(alg)?;
        // SAFETY (all three): forwarded from the caller.
        let key = unsafe { input(key, key_len, "key") }?;
        let data = unsafe { input(data, data_len, "data") }?;
        let mut out = unsafe { OutBuf::new(mac_out, mac_cap, mac_len, "mac_out", "mac_len") }?;
        out.reserve(alg.digest_len())?;
        out.write(hmac(alg, key, data).as_bytes())
    })
}

/// Checks `mac` against HMAC-`alg` of `data` under `key`, in constant time
/// in the MAC's content.
///
/// Returns `CODOMYRMEX_OK` if it matches and `CODOMYRMEX_ERR_VERIFY_FAILED`
/// if not, including when `mac_len` is not the digest length (a truncated
/// MAC never verifies). Other errors: `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`,
/// `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// Each non-NULL pointer must be valid for its length.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn codomyrmex_hmac_verify(
    alg: codomyrmex_hash_alg,
    key: *const u8,
    key_len: usize,
    data: *const u8,
    data_len: usize,
    mac: *const u8,
    mac_len: usize,
) -> codomyrmex_status {
    guard(|| {
        let alg = HashAlg::from_value(alg)?;
        // SAFETY (all three): forwarded from the caller.
        let key = unsafe { input(key, key_len, "key") }?;
        let data = unsafe { input(data, data_len, "data") }?;
        let mac = unsafe { input(mac, mac_len, "mac") }?;
        Ok(hmac_verify(alg, key, data, mac)?)
    })
}

/// Starts a streaming HMAC-`alg` under `key` (any length, 0 included) and
/// stores it in `*out_ctx` (set on success only).
///
/// The caller owns the stream and releases it with `codomyrmex_hmac_free`.
/// Errors: `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`,
/// `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// A non-NULL `key` must be valid for `key_len` bytes; `out_ctx` must be
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hmac_new(
    alg: codomyrmex_hash_alg,
    key: *const u8,
    key_len: usize,
    out_ctx: *mut *mut codomyrmex_hmac,
) -> codomyrmex_status {
    guard(|| {
        let alg = HashAlg::from_value(alg)?;
        // SAFETY (both): forwarded from the caller.
        let key = unsafe { input(key, key_len, "key") }?;
        let out_ctx = unsafe { OutParam::new(out_ctx, "out_ctx") }?;
        let stream = Box::new(codomyrmex_hmac(HmacStream::new(alg, key)));
        out_ctx.set(Box::into_raw(stream));
        Ok(())
    })
}

/// Feeds `data` to the stream `ctx`. `(NULL, 0)` feeds nothing.
/// Errors: `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// `ctx` must be NULL or a live stream not in use by another thread; a
/// non-NULL `data` must be valid for `data_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hmac_update(
    ctx: *mut codomyrmex_hmac,
    data: *const u8,
    data_len: usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (both): forwarded from the caller.
        let ctx = unsafe { object_mut(ctx, "ctx") }?;
        let data = unsafe { input(data, data_len, "data") }?;
        ctx.0.update(data);
        Ok(())
    })
}

/// Writes the MAC of everything fed since the stream started (or last
/// finished) into `mac_out`, then resets the stream to its keyed start so it
/// can MAC another message under the same key.
///
/// Buffer rule as `codomyrmex_hmac_compute`; a call that fails with
/// `CODOMYRMEX_ERR_BUFFER_TOO_SMALL` leaves the stream as it was.
///
/// # Safety
/// `ctx` must be NULL or a live stream not in use by another thread;
/// `mac_out` must be NULL or valid for `mac_cap` bytes; `mac_len` NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hmac_finish(
    ctx: *mut codomyrmex_hmac,
    mac_out: *mut u8,
    mac_cap: usize,
    mac_len: *mut usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (both): forwarded from the caller.
        let ctx = unsafe { object_mut(ctx, "ctx") }?;
        let mut out = unsafe { OutBuf::new(mac_out, mac_cap, mac_len, "mac_out", "mac_len") }?;
        out.reserve(ctx.0.alg().digest_len())?;
        out.write(ctx.0.finish().as_bytes())
    })
}

/// Checks `mac` against the MAC of everything fed since the stream started
/// (or last finished), in constant time, then resets the stream to its
/// keyed start.
///
/// Returns `CODOMYRMEX_OK`, `CODOMYRMEX_ERR_VERIFY_FAILED` (mismatch or
/// wrong length) or `CODOMYRMEX_ERR_NULL_POINTER`.
///
/// # Safety
/// `ctx` must be NULL or a live stream not in use by another thread; a
/// non-NULL `mac` must be valid for `mac_len` bytes.
#[unsafe(no_mangle)]
#[must_use]
pub unsafe extern "C" fn codomyrmex_hmac_finish_verify(
    ctx: *mut codomyrmex_hmac,
    mac: *const u8,
    mac_len: usize,
) -> codomyrmex_status {
    guard(|| {
        // SAFETY (both): forwarded from the caller.
        let ctx = unsafe { object_mut(ctx, "ctx") }?;
        let mac = unsafe { input(mac, mac_len, "mac") }?;
        Ok(ctx.0.finish_verify(mac)?)
    })
}

/// Wipes and releases the stream `ctx`. `NULL` does nothing. Must not be
/// called twice on the same stream; `ctx` is invalid afterwards.
///
/// # Safety
/// `ctx` must be NULL or a stream from `codomyrmex_hmac_new` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hmac_free(ctx: *mut codomyrmex_hmac) {
    guard_value((), || {
        if !ctx.is_null() {
            // SAFETY: `ctx` came from `Box::into_raw` in codomyrmex_hmac_new
            // and is freed once, as the caller promises. The HMAC state wipes
            // itself when dropped.
            drop(unsafe { Box::from_raw(ctx) });
        }
    });
}
