//! HMAC: one-shot, verify, and the streaming `codomyrmex_hmac` object.

use super::alg::{codomyrmex_hash_alg, hash_alg};
use super::args::{handle_mut, input, out_buf, out_param};
use super::boundary::guard;
use super::handle::{Handle, free_handle};
use super::status::codomyrmex_status;
use crate::hmac::{HmacStream, hmac, hmac_verify};

/// A streaming HMAC: created by `codomyrmex_hmac_new`, fed by
/// `codomyrmex_hmac_update`, read by `codomyrmex_hmac_finish` or
/// `codomyrmex_hmac_finish_verify`, released by `codomyrmex_hmac_free`.
/// Opaque. Use it from one thread at a time.
#[allow(non_camel_case_types)]
pub struct codomyrmex_hmac {
    _private: [u8; 0],
}

impl Handle for codomyrmex_hmac {
    type Target = HmacStream;
}

/// Computes HMAC-`alg` of `data` under `key` (any length, 0 included) into
/// `out`.
///
/// On success `*out_len` is the digest length (32, 48 or 64; at most
/// `CODOMYRMEX_MAX_DIGEST_LEN`). If `out_cap` is smaller, returns
/// `CODOMYRMEX_ERR_BUFFER_TOO_SMALL` with `*out_len` set to the length needed
/// and `out` untouched; `out` may be NULL when `out_cap` is 0. `(NULL, 0)`
/// is an empty key or message. Other errors:
/// `CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM`, `CODOMYRMEX_ERR_NULL_POINTER`,
/// `CODOMYRMEX_ERR_INVALID_ARGUMENT` (`out` overlaps an input).
///
/// # Safety
/// Each non-NULL pointer must be valid for its length; `out_len` must be
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hmac_compute(
    alg: codomyrmex_hash_alg,
    key: *const u8,
    key_len: usize,
    data: *const u8,
    data_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let alg = hash_alg(alg)?;
        let key = input!(args, key, key_len);
        let data = input!(args, data, data_len);
        let mut out = out_buf!(args, out, out_cap, out_len);
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
    guard(|args| {
        let alg = hash_alg(alg)?;
        let key = input!(args, key, key_len);
        let data = input!(args, data, data_len);
        let mac = input!(args, mac, mac_len);
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
    guard(|args| {
        let alg = hash_alg(alg)?;
        let key = input!(args, key, key_len);
        let out_ctx = out_param!(args, out_ctx);
        out_ctx.set(codomyrmex_hmac::into_raw(HmacStream::new(alg, key)));
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
    guard(|args| {
        let ctx = handle_mut!(args, ctx);
        let data = input!(args, data, data_len);
        ctx.update(data);
        Ok(())
    })
}

/// Writes the MAC of everything fed since the stream started (or last
/// finished) into `out`, then resets the stream to its keyed start so it
/// can MAC another message under the same key.
///
/// Buffer rule as `codomyrmex_hmac_compute`; a call that fails with
/// `CODOMYRMEX_ERR_BUFFER_TOO_SMALL` leaves the stream as it was.
///
/// # Safety
/// `ctx` must be NULL or a live stream not in use by another thread; `out`
/// must be NULL or valid for `out_cap` bytes; `out_len` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hmac_finish(
    ctx: *mut codomyrmex_hmac,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> codomyrmex_status {
    guard(|args| {
        let ctx = handle_mut!(args, ctx);
        let mut out = out_buf!(args, out, out_cap, out_len);
        out.reserve(ctx.alg().digest_len())?;
        out.write(ctx.finish().as_bytes())
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
    guard(|args| {
        let ctx = handle_mut!(args, ctx);
        let mac = input!(args, mac, mac_len);
        Ok(ctx.finish_verify(mac)?)
    })
}

/// Wipes and releases the stream `ctx`. `NULL` does nothing. Must not be
/// called twice on the same stream; `ctx` is invalid afterwards.
///
/// # Safety
/// `ctx` must be NULL or a stream from `codomyrmex_hmac_new` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_hmac_free(ctx: *mut codomyrmex_hmac) {
    free_handle!(ctx);
}
