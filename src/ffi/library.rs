//! Library-wide functions: version, status names, the last error message,
//! random bytes and secure zeroing.

use super::boundary::{guard, guard_value, with_last_error};
use super::ptr::output;
use super::status::codomyrmex_status;
use crate::random::random_bytes;
use std::ffi::{CStr, c_char, c_void};
use zeroize::Zeroize;

/// Major version of this header; equals the major version
/// `codomyrmex_version()` reports.
pub const CODOMYRMEX_VERSION_MAJOR: u32 = 1;
/// Minor version of this header.
pub const CODOMYRMEX_VERSION_MINOR: u32 = 0;
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

/// The library's version, e.g. `"1.0.0"`: a static NUL-terminated string,
/// never freed by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn codomyrmex_version() -> *const c_char {
    VERSION.as_ptr()
}

/// The name of `status` as a static NUL-terminated string, e.g.
/// `"CODOMYRMEX_ERR_NOT_FOUND"`; `"CODOMYRMEX_UNKNOWN_STATUS"` for any value
/// that is not a status. Never NULL, never freed by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn codomyrmex_status_name(status: u32) -> *const c_char {
    const UNKNOWN: &CStr = c"CODOMYRMEX_UNKNOWN_STATUS";
    guard_value(UNKNOWN.as_ptr(), || {
        codomyrmex_status::from_value(status)
            .map_or(UNKNOWN, codomyrmex_status::name)
            .as_ptr()
    })
}

/// Copies the calling thread's last error message into `buf`, like
/// `snprintf`: at most `cap - 1` bytes and a terminating NUL (nothing if
/// `cap` is 0 or `buf` is NULL).
///
/// Returns the message's full length without the NUL (so a return value
/// `>= cap` means it was truncated), or 0 if this thread has had no failure.
/// The message is one line, names the argument, key id, OS error and path
/// involved, and never contains key material. Reading it does not clear it;
/// successful calls do not change it.
///
/// # Safety
/// A non-NULL `buf` must point to `cap` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_last_error_message(buf: *mut c_char, cap: usize) -> usize {
    guard_value(0, || {
        with_last_error(|message| {
            if !buf.is_null() && cap > 0 {
                let copied = message.len().min(cap - 1);
                // SAFETY: `buf` has `cap > copied` writable bytes; the
                // message is library memory, so the regions do not overlap.
                unsafe {
                    std::ptr::copy_nonoverlapping(message.as_ptr(), buf.cast::<u8>(), copied);
                    *buf.add(copied) = 0;
                }
            }
            message.len()
        })
    })
}

/// Fills `buf` with `len` bytes from the operating system's CSPRNG.
///
/// `buf` may be NULL only when `len` is 0. Returns `CODOMYRMEX_OK`,
/// `CODOMYRMEX_ERR_NULL_POINTER` or `CODOMYRMEX_ERR_IO`.
///
/// # Safety
/// A non-NULL `buf` must point to `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_random_bytes(buf: *mut u8, len: usize) -> codomyrmex_status {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let buf = unsafe { output(buf, len, "buf") }?;
        Ok(random_bytes(buf)?)
    })
}

/// Overwrites `len` bytes at `buf` with zeros in a way the compiler cannot
/// optimise away: use it on your own copies of keys and derived keys before
/// freeing them. `buf == NULL` does nothing.
///
/// # Safety
/// A non-NULL `buf` must point to `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn codomyrmex_secure_zero(buf: *mut c_void, len: usize) {
    guard_value((), || {
        // SAFETY: forwarded from the caller; NULL with a length is refused
        // by the helper and then does nothing.
        if let Ok(bytes) = unsafe { output(buf.cast::<u8>(), len, "buf") } {
            bytes.zeroize();
        }
    });
}
