//! Conversions of C arguments: input slices, strings, key ids, handles,
//! out-pointers and caller-provided output buffers. Every raw pointer the C
//! layer receives passes through one of these, so NULL is checked in one
//! place.

use super::status::{Failure, codomyrmex_status};
use crate::error::{Error, ErrorKind};
use crate::store::validate_key_id;
use std::ffi::{CStr, c_char};

/// The input `(ptr, len)`: `(NULL, 0)` is empty; `(NULL, len > 0)` is a
/// NULL-pointer failure naming `name`.
///
/// # Safety
/// A non-NULL `ptr` must point to `len` readable bytes that stay valid and
/// unmodified for `'a`.
pub(crate) unsafe fn input<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
) -> Result<&'a [u8], Failure> {
    if len == 0 {
        // Never build a slice from a possibly-NULL pointer.
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::new(
            codomyrmex_status::CODOMYRMEX_ERR_NULL_POINTER,
            format!("{name} is NULL but its length is {len}"),
        ));
    }
    // SAFETY: non-NULL, and the caller promises `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// The fixed-size output `(ptr, len)` whose length the caller chose:
/// `(NULL, 0)` is empty; `(NULL, len > 0)` is a NULL-pointer failure.
///
/// # Safety
/// A non-NULL `ptr` must point to `len` writable bytes, not aliased by any
/// other argument, valid for `'a`.
pub(crate) unsafe fn output<'a>(
    ptr: *mut u8,
    len: usize,
    name: &str,
) -> Result<&'a mut [u8], Failure> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Failure::new(
            codomyrmex_status::CODOMYRMEX_ERR_NULL_POINTER,
            format!("{name} is NULL but its length is {len}"),
        ));
    }
    // SAFETY: non-NULL, and the caller promises `len` writable bytes.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// The NUL-terminated string `ptr`, required.
///
/// # Safety
/// A non-NULL `ptr` must point to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn c_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a CStr, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated, as the caller promises.
    Ok(unsafe { CStr::from_ptr(ptr) })
}

/// The key id `ptr`, required and checked against the key-id rule.
///
/// # Safety
/// As [`c_str`].
pub(crate) unsafe fn parse_key_id<'a>(ptr: *const c_char) -> Result<&'a str, Failure> {
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { c_str(ptr, "key_id") }?.to_bytes();
    Ok(validate_key_id(bytes)?)
}

/// The object behind a required handle or in-pointer.
///
/// # Safety
/// A non-NULL `ptr` must point to a live `T` valid for `'a`.
pub(crate) unsafe fn object<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller promises a non-NULL `ptr` is a live `T`.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// The object behind a required mutable handle.
///
/// # Safety
/// A non-NULL `ptr` must point to a live `T` not used elsewhere during `'a`.
pub(crate) unsafe fn object_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller promises exclusive access to a live `T`.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// A required out-parameter, written only on success.
pub(crate) struct OutParam<'a, T>(&'a mut T);

impl<'a, T> OutParam<'a, T> {
    /// # Safety
    /// A non-NULL `ptr` must be valid for writing a `T` during `'a`.
    pub unsafe fn new(ptr: *mut T, name: &str) -> Result<Self, Failure> {
        // SAFETY: forwarded from the caller.
        unsafe { object_mut(ptr, name) }.map(OutParam)
    }

    /// Stores the result.
    pub fn set(self, value: T) {
        *self.0 = value;
    }
}

/// A variable-size output `(out, out_cap, out_len)`, checked before any work
/// is done and written after it succeeded.
///
/// The rule of the C interface: on success `*out_len` is the number of bytes
/// written; if `out_cap` is too small the call fails with
/// `CODOMYRMEX_ERR_BUFFER_TOO_SMALL`, sets `*out_len` to the size needed and
/// writes nothing into `out`; `out` may be NULL when `out_cap` is 0 (a size
/// query).
pub(crate) struct OutBuf<'a, T: Copy = u8> {
    out: *mut T,
    cap: usize,
    out_len: &'a mut usize,
    name: &'static str,
}

impl<'a, T: Copy> OutBuf<'a, T> {
    /// Checks the pointers; `name` is the buffer's parameter name and
    /// `len_name` that of its length out-pointer.
    ///
    /// # Safety
    /// A non-NULL `out` must point to `cap` writable elements and a non-NULL
    /// `out_len` to a writable `size_t`, both valid for `'a` and not aliased.
    pub unsafe fn new(
        out: *mut T,
        cap: usize,
        out_len: *mut usize,
        name: &'static str,
        len_name: &str,
    ) -> Result<OutBuf<'a, T>, Failure> {
        // SAFETY: forwarded from the caller.
        let out_len = unsafe { object_mut(out_len, len_name) }?;
        if out.is_null() && cap > 0 {
            return Err(Failure::new(
                codomyrmex_status::CODOMYRMEX_ERR_NULL_POINTER,
                format!("{name} is NULL but its capacity is {cap}"),
            ));
        }
        Ok(OutBuf {
            out,
            cap,
            out_len,
            name,
        })
    }

    /// The capacity the caller offered.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Fails with `BUFFER_TOO_SMALL` (setting `*out_len = needed`) unless
    /// `needed` bytes fit.
    pub fn reserve(&mut self, needed: usize) -> Result<(), Failure> {
        if needed <= self.cap {
            return Ok(());
        }
        *self.out_len = needed;
        Err(Failure::new(
            codomyrmex_status::CODOMYRMEX_ERR_BUFFER_TOO_SMALL,
            format!(
                "{}: capacity {} is too small, {needed} needed",
                self.name, self.cap
            ),
        ))
    }

    /// Turns a failure of the safe API into a status, applying the buffer
    /// rule when it is [`ErrorKind::BufferTooSmall`] (sets `*out_len`).
    pub fn fail(&mut self, err: Error) -> Failure {
        if let ErrorKind::BufferTooSmall { needed } = err.kind() {
            *self.out_len = needed;
        }
        Failure::from(err)
    }

    /// Lets `fill` write exactly `len` items straight into the caller's
    /// buffer and sets `*out_len`, or fails as [`OutBuf::reserve`] without
    /// calling it. For secrets that must not pass through a copy.
    pub fn write_with(mut self, len: usize, fill: impl FnOnce(&mut [T])) -> Result<(), Failure> {
        self.reserve(len)?;
        if len > 0 {
            // SAFETY: `len <= cap` and `cap > 0`, so `out` is non-NULL and
            // valid for `len` writable items, not aliased (the caller's
            // promise).
            fill(unsafe { std::slice::from_raw_parts_mut(self.out, len) });
        }
        *self.out_len = len;
        Ok(())
    }

    /// Copies `items` out and sets `*out_len`, or fails as [`OutBuf::reserve`].
    pub fn write(mut self, items: &[T]) -> Result<(), Failure> {
        self.reserve(items.len())?;
        if !items.is_empty() {
            // SAFETY: `items.len() <= cap` and `cap > 0`, so `out` is non-NULL
            // and has room; `items` is library memory, so no overlap.
            unsafe { std::ptr::copy_nonoverlapping(items.as_ptr(), self.out, items.len()) };
        }
        *self.out_len = items.len();
        Ok(())
    }
}
