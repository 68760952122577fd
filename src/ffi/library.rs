//! Library-wide functions: version, status names, the last error, random
//! bytes and secure zeroing.

use super::args::{Args, fixed_out};
use super::boundary::{guard, guard_value, last_os_error, with_last_error};
use super::status::codomyrmex_status;
use crate::error::Status;
use crate::random::random_bytes;
use std::ffi::{CStr, c_char, c_void};
use zeroize::Zeroize;

/// Major version of this header; equals the major version
/// `codomyrmex_version()` reports.
pub const CODOMYRMEX_VERSION_MAJOR: u32 = 1;
/// Minor version of this header.
pub const CODOMYRMEX_VERSION_MINOR: u32 = 1;
/// Patch version of this header.
pub const CODOMYRMEX_VERSION_PATCH: u32 = 0;

/// The longest digest of any supported algorithm (SHA-512), in bytes: a
/// buffer of this size holds any MAC.
pub const CODOMYRMEX_MAX_DIGEST_LEN: usize = 64;
/// The largest key the key manager stores, in bytes (64 KiB).
pub const CODOMYRMEX_MAX_KEY_LEN: usize = 65536;
/// The longest key id, in bytes (without the terminating NUL).
pub const CODOMYRMEX_MAX_KEY_ID_LEN: usize = 128;

// The header needs literal values; these keep them equal to the safe API's.
const _: () = assert!(CODOMYRMEX_MAX_DIGEST_LEN == crate::alg::MAX_DIGEST_LEN);
const _: () = assert!(CODOMYRMEX_MAX_KEY_LEN == crate::store::MAX_KEY_LEN);
const _: () = assert!(CODOMYRMEX_MAX_KEY_ID_LEN == crate::store::MAX_KEY_ID_LEN);

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("the crate version contains a NUL byte"),
    };

/// The library's version, e.g. `"1.1.0"`: a static NUL-terminated string,
/// never freed by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn codomyrmex_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The C name of each status, in value order.
const STATUS_NAMES: [&CStr; 13] = [
    c"CODOMYRMEX_OK",
    c"CODOMYRMEX_ERR_NULL_POINTER",
    c"CODOMYRMEX_ERR_INVALID_ARGUMENT",
    c"CODOMYRMEX_ERR_INVALID_KEY_ID",
    c"CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM",
    c"CODOMYRMEX_ERR_BUFFER_TOO_SMALL",
    c"CODOMYRMEX_ERR_NOT_FOUND",
    c"CODOMYRMEX_ERR_ALREADY_EXISTS",
    c"CODOMYRMEX_ERR_VERIFY_FAILED",
    c"CODOMYRMEX_ERR_IO",
    c"CODOMYRMEX_ERR_INSECURE_PERMISSIONS",
    c"CODOMYRMEX_ERR_CORRUPT",
    c"CODOMYRMEX_ERR_INTERNAL",
];

/// The name of `status` as a static NUL-terminated string, e.g.
/// `"CODOMYRMEX_ERR_NOT_FOUND"`; `"CODOMYRMEX_UNKNOWN_STATUS"` for any value
/// that is not a status. Never NULL, never freed by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn codomyrmex_status_name(status: u32) -> *const c_char {
    const UNKNOWN: &CStr = c"CODOMYRMEX_UNKNOWN_STATUS";
    guard_value(UNKNOWN.as_ptr(), || {
        Status::from_code(status)
            .map_or(UNKNOWN, |status| STATUS_NAMES[status.code() as usize])
            .as_ptr()
    })
}

/// Copies the calling thread's last error message into `out`, like
/// `snprintf`: at most `out_cap - 1` bytes and a terminating NUL (nothing if
/// `out_cap` is 0 or `out` is NULL).
///
/// Returns the message's full length without the NUL (so a return value
/// `>= out_cap` means it was truncated), or 0 if this thread has had no
/// failure. The message is one line, names the argument, key id, OS error
/// and path involved, and never contains key material. Reading it does not
/// clear it; successful calls do not change it.
///
/// # Safety
/// A non-NULL `out` must point to `out_cap` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_last_error_message(out: *mut c_char, out_cap: usize) -> usize {
    guard_value(0, || {
        with_last_error(|message| {
            let mut args = Args::default();
            let cap = if out.is_null() { 0 } else { out_cap };
            let out = out.cast::<u8>();
            // SAFETY: a non-NULL `out` is valid for `out_cap` bytes (the
            // contract above); the message is library memory.
            if let Ok(buf) = unsafe { args.fixed_out(out, cap, "out") }
                && !buf.is_empty()
            {
                // Like snprintf: the bytes that fit and one NUL, nothing more.
                let copied = message.len().min(buf.len() - 1);
                buf[..copied].copy_from_slice(&message.as_bytes()[..copied]);
                buf[copied] = 0;
            }
            message.len()
        })
    })
}

/// The operating system's error number (`errno`) behind the calling
/// thread's last failure — `EACCES` for a directory that cannot be read,
/// `ENOSPC` for a full disk — or 0 if that failure had none or there has
/// been no failure. Lets a binding raise its language's own OS error.
#[unsafe(no_mangle)]
pub extern "C" fn codomyrmex_last_os_error() -> i32 {
    guard_value(0, last_os_error)
}

/// Fills `buf` with `buf_len` bytes from the operating system's CSPRNG.
///
/// `buf` may be NULL only when `buf_len` is 0. Returns `CODOMYRMEX_OK`,
/// `CODOMYRMEX_ERR_NULL_POINTER` or `CODOMYRMEX_ERR_IO`.
///
/// # Safety
/// A non-NULL `buf` must point to `buf_len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_random_bytes(
    buf: *mut u8,
    buf_len: usize,
) -> codomyrmex_status {
    guard(|args| {
        let buf = fixed_out!(args, buf, buf_len);
        Ok(random_bytes(buf)?)
    })
}

/// Overwrites `buf_len` bytes at `buf` with zeros in a way the compiler
/// cannot optimise away: use it on your own copies of keys and derived keys
/// before freeing them. `buf == NULL` does nothing.
///
/// # Safety
/// A non-NULL `buf` must point to `buf_len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_secure_zero(buf: *mut c_void, buf_len: usize) {
    guard_value((), || {
        let mut args = Args::default();
        let buf = buf.cast::<u8>();
        // NULL with a length is refused by the conversion and then does
        // nothing. SAFETY: a non-NULL `buf` is valid for `buf_len` bytes
        // (the contract above).
        if let Ok(bytes) = unsafe { args.fixed_out(buf, buf_len, "buf") } {
            bytes.zeroize();
        }
    });
}
