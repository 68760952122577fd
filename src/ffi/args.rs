//! The one way a C argument becomes a Rust value.
//!
//! Every pointer an entry point receives goes through [`Args`], which
//! checks NULL, builds the slice, string, handle or output, and keeps the
//! memory regions it handed out: an output that overlaps any other pointer
//! argument is refused (`CODOMYRMEX_ERR_INVALID_ARGUMENT`) before anything
//! is read or written, so no call ever computes from an input it is
//! overwriting, and Rust never holds a `&mut` aliasing a `&`.
//!
//! The macros at the end wrap each conversion in its `unsafe` block and
//! pass the parameter's own name, so an `extern "C"` body reads as:
//! convert, call, return.

use super::handle::Handle;
use super::status::Failure;
use crate::error::Status;
use crate::store::validate_key_id;
use std::ffi::{CStr, c_char};
use std::mem::size_of;

/// The most pointer arguments any entry point has.
const MAX_REGIONS: usize = 8;

/// One pointer argument's memory.
#[derive(Clone, Copy, Default)]
struct Region {
    start: usize,
    end: usize,
    writable: bool,
    name: &'static str,
}

/// The pointer arguments of one call, converted so far.
#[derive(Default)]
pub(crate) struct Args {
    regions: [Region; MAX_REGIONS],
    count: usize,
}

impl Args {
    /// Records the `len` bytes at `addr` as argument `name`, refusing an
    /// overlap between an output and anything else.
    fn claim(
        &mut self,
        addr: usize,
        len: usize,
        writable: bool,
        name: &'static str,
    ) -> Result<(), Failure> {
        if len == 0 {
            return Ok(());
        }
        let end = addr.saturating_add(len);
        let clash = self.regions[..self.count]
            .iter()
            .find(|other| (writable || other.writable) && addr < other.end && other.start < end);
        if let Some(other) = clash {
            return Err(Failure::new(
                Status::InvalidArgument,
                format!(
                    "{name} overlaps {}: an output buffer must not share memory with any other argument",
                    other.name
                ),
            ));
        }
        assert!(
            self.count < MAX_REGIONS,
            "an entry point has more than {MAX_REGIONS} pointer arguments"
        );
        self.regions[self.count] = Region {
            start: addr,
            end,
            writable,
            name,
        };
        self.count += 1;
        Ok(())
    }

    /// The input `(ptr, len)`: `(NULL, 0)` is empty; `(NULL, len > 0)` is a
    /// NULL-pointer failure.
    ///
    /// # Safety
    /// A non-NULL `ptr` must point to `len` readable bytes that stay valid
    /// and unmodified for `'a`.
    pub unsafe fn input<'a>(
        &mut self,
        ptr: *const u8,
        len: usize,
        name: &'static str,
    ) -> Result<&'a [u8], Failure> {
        if len == 0 {
            // Never build a slice from a possibly-NULL pointer.
            return Ok(&[]);
        }
        if ptr.is_null() {
            return Err(Failure::new(
                Status::NullPointer,
                format!("{name} is NULL but its length is {len}"),
            ));
        }
        self.claim(ptr as usize, len, false, name)?;
        // SAFETY: non-NULL, and the caller promises `len` readable bytes.
        Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
    }

    /// The NUL-terminated string `ptr`, required.
    ///
    /// # Safety
    /// A non-NULL `ptr` must point to a NUL-terminated string valid for `'a`.
    pub unsafe fn c_str<'a>(
        &mut self,
        ptr: *const c_char,
        name: &'static str,
    ) -> Result<&'a CStr, Failure> {
        // SAFETY: forwarded from the caller.
        unsafe { self.optional_c_str(ptr, name) }?.ok_or_else(|| Failure::null(name))
    }

    /// The NUL-terminated string `ptr`, or `None` for NULL.
    ///
    /// # Safety
    /// As [`Args::c_str`].
    pub unsafe fn optional_c_str<'a>(
        &mut self,
        ptr: *const c_char,
        name: &'static str,
    ) -> Result<Option<&'a CStr>, Failure> {
        if ptr.is_null() {
            return Ok(None);
        }
        // SAFETY: non-NULL and NUL-terminated, as the caller promises.
        let text = unsafe { CStr::from_ptr(ptr) };
        self.claim(ptr as usize, text.count_bytes() + 1, false, name)?;
        Ok(Some(text))
    }

    /// The key id `ptr`, required and checked against the key-id rule.
    ///
    /// # Safety
    /// As [`Args::c_str`].
    pub unsafe fn key_id<'a>(
        &mut self,
        ptr: *const c_char,
        name: &'static str,
    ) -> Result<&'a str, Failure> {
        // SAFETY: forwarded from the caller.
        let text = unsafe { self.c_str(ptr, name) }?;
        Ok(validate_key_id(text.to_bytes())?)
    }

    /// The object behind the required handle `ptr`.
    ///
    /// # Safety
    /// A non-NULL `ptr` must be a live handle of type `H`, not freed during `'a`.
    pub unsafe fn handle<'a, H: Handle>(
        &mut self,
        ptr: *const H,
        name: &'static str,
    ) -> Result<&'a H::Target, Failure> {
        // SAFETY: forwarded from the caller.
        unsafe { H::as_ref(ptr) }.ok_or_else(|| Failure::null(name))
    }

    /// The object behind the required handle `ptr`, for exclusive use.
    ///
    /// # Safety
    /// A non-NULL `ptr` must be a live handle of type `H` that nothing else
    /// uses during `'a`.
    pub unsafe fn handle_mut<'a, H: Handle>(
        &mut self,
        ptr: *mut H,
        name: &'static str,
    ) -> Result<&'a mut H::Target, Failure> {
        // SAFETY: forwarded from the caller.
        unsafe { H::as_mut(ptr) }.ok_or_else(|| Failure::null(name))
    }

    /// A required out-parameter, written only on success.
    ///
    /// # Safety
    /// A non-NULL `ptr` must be valid for writing a `T` during `'a`.
    pub unsafe fn out_param<'a, T>(
        &mut self,
        ptr: *mut T,
        name: &'static str,
    ) -> Result<OutParam<'a, T>, Failure> {
        if ptr.is_null() {
            return Err(Failure::null(name));
        }
        self.claim(ptr as usize, size_of::<T>(), true, name)?;
        // SAFETY: non-NULL and writable, as the caller promises; no other
        // argument shares its memory (just checked).
        Ok(OutParam(unsafe { &mut *ptr }))
    }

    /// A fixed-size output `(ptr, len)` whose length the caller chose:
    /// `(NULL, 0)` is empty; `(NULL, len > 0)` is a NULL-pointer failure.
    ///
    /// # Safety
    /// A non-NULL `ptr` must point to `len` writable bytes valid for `'a`.
    pub unsafe fn fixed_out<'a>(
        &mut self,
        ptr: *mut u8,
        len: usize,
        name: &'static str,
    ) -> Result<&'a mut [u8], Failure> {
        if len == 0 {
            return Ok(&mut []);
        }
        if ptr.is_null() {
            return Err(Failure::new(
                Status::NullPointer,
                format!("{name} is NULL but its length is {len}"),
            ));
        }
        self.claim(ptr as usize, len, true, name)?;
        // SAFETY: non-NULL, `len` writable bytes (the caller's promise), not
        // shared with any other argument (just checked).
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
    }

    /// A variable-size output `(out, out_cap, out_len)` of `T` items.
    ///
    /// # Safety
    /// A non-NULL `out` must point to `cap` writable items and a non-NULL
    /// `out_len` to a writable `size_t`, both valid for `'a`.
    pub unsafe fn out_buf<'a, T: Copy>(
        &mut self,
        out: *mut T,
        cap: usize,
        out_len: *mut usize,
        name: &'static str,
        len_name: &'static str,
    ) -> Result<OutBuf<'a, T>, Failure> {
        if out.is_null() && cap > 0 {
            return Err(Failure::new(
                Status::NullPointer,
                format!("{name} is NULL but its capacity is {cap}"),
            ));
        }
        if !out.is_null() {
            self.claim(out as usize, cap.saturating_mul(size_of::<T>()), true, name)?;
        }
        // SAFETY: forwarded from the caller.
        let out_len = unsafe { self.out_param(out_len, len_name) }?.0;
        Ok(OutBuf {
            out,
            cap,
            out_len,
            name,
        })
    }
}

/// A required out-parameter, written only on success.
pub(crate) struct OutParam<'a, T>(&'a mut T);

impl<T> OutParam<'_, T> {
    /// Stores the result.
    pub fn set(self, value: T) {
        *self.0 = value;
    }
}

/// A variable-size output `(out, out_cap, out_len)`, checked before any
/// work is done and written after it succeeded.
///
/// The rule of the C interface: on success `*out_len` is the number of items
/// written; if `out_cap` is too small the call fails with
/// `CODOMYRMEX_ERR_BUFFER_TOO_SMALL`, sets `*out_len` to the number needed
/// and writes nothing into `out`; `out` may be NULL when `out_cap` is 0 (a
/// size query).
pub(crate) struct OutBuf<'a, T: Copy = u8> {
    out: *mut T,
    cap: usize,
    out_len: &'a mut usize,
    name: &'static str,
}

impl<T: Copy> OutBuf<'_, T> {
    /// Fails with `BUFFER_TOO_SMALL` (setting `*out_len = needed`) unless
    /// `needed` items fit.
    pub fn reserve(&mut self, needed: usize) -> Result<(), Failure> {
        if needed <= self.cap {
            return Ok(());
        }
        *self.out_len = needed;
        Err(Failure::new(
            Status::BufferTooSmall,
            format!(
                "{}: capacity {} is too small, {needed} needed",
                self.name, self.cap
            ),
        ))
    }

    /// Lets `fill` write exactly `len` items straight into the caller's
    /// buffer and sets `*out_len`, or fails as [`OutBuf::reserve`] without
    /// calling it. For secrets that must not pass through a copy.
    pub fn write_with(mut self, len: usize, fill: impl FnOnce(&mut [T])) -> Result<(), Failure> {
        self.reserve(len)?;
        if len > 0 {
            // SAFETY: `len <= cap` and `cap > 0`, so `out` is non-NULL and
            // valid for `len` writable items that no other argument shares.
            fill(unsafe { std::slice::from_raw_parts_mut(self.out, len) });
        }
        *self.out_len = len;
        Ok(())
    }

    /// Copies `items` out and sets `*out_len`, or fails as
    /// [`OutBuf::reserve`].
    pub fn write(self, items: &[T]) -> Result<(), Failure> {
        self.write_with(items.len(), |out| out.copy_from_slice(items))
    }
}

/// `input!(args, key, key_len)`: the input `(key, key_len)` as `&[u8]`.
macro_rules! input {
    ($args:ident, $ptr:ident, $len:ident) => {
        // SAFETY: the entry point's contract (its `# Safety` section) makes
        // a non-NULL pointer valid for its length.
        unsafe { $args.input($ptr, $len, stringify!($ptr)) }?
    };
}

/// `c_str!(args, name)`: a required NUL-terminated string as `&CStr`.
macro_rules! c_str {
    ($args:ident, $ptr:ident) => {
        // SAFETY: the entry point's contract makes a non-NULL string valid.
        unsafe { $args.c_str($ptr, stringify!($ptr)) }?
    };
}

/// `optional_c_str!(args, path)`: a NUL-terminated string or NULL.
macro_rules! optional_c_str {
    ($args:ident, $ptr:ident) => {
        // SAFETY: the entry point's contract makes a non-NULL string valid.
        unsafe { $args.optional_c_str($ptr, stringify!($ptr)) }?
    };
}

/// `key_id!(args, key_id)`: a key id, checked against the key-id rule.
macro_rules! key_id {
    ($args:ident, $ptr:ident) => {
        // SAFETY: the entry point's contract makes a non-NULL string valid.
        unsafe { $args.key_id($ptr, stringify!($ptr)) }?
    };
}

/// `handle!(args, km)`: the object behind a required handle.
macro_rules! handle {
    ($args:ident, $ptr:ident) => {
        // SAFETY: the entry point's contract makes a non-NULL handle live.
        unsafe { $args.handle($ptr, stringify!($ptr)) }?
    };
}

/// `handle_mut!(args, ctx)`: the object behind a required handle, for
/// exclusive use.
macro_rules! handle_mut {
    ($args:ident, $ptr:ident) => {
        // SAFETY: the entry point's contract makes a non-NULL handle live
        // and unused by other threads during the call.
        unsafe { $args.handle_mut($ptr, stringify!($ptr)) }?
    };
}

/// `out_param!(args, out_km)`: a required out-parameter.
macro_rules! out_param {
    ($args:ident, $ptr:ident) => {
        // SAFETY: the entry point's contract makes a non-NULL out-pointer
        // writable.
        unsafe { $args.out_param($ptr, stringify!($ptr)) }?
    };
}

/// `fixed_out!(args, okm, okm_len)`: an output whose length the caller
/// chose, as `&mut [u8]`.
macro_rules! fixed_out {
    ($args:ident, $ptr:ident, $len:ident) => {
        // SAFETY: the entry point's contract makes a non-NULL pointer valid
        // for its length.
        unsafe { $args.fixed_out($ptr, $len, stringify!($ptr)) }?
    };
}

/// `out_buf!(args, out, out_cap, out_len)`: a variable-size output.
macro_rules! out_buf {
    ($args:ident, $out:ident, $cap:ident, $len:ident) => {
        // SAFETY: the entry point's contract makes a non-NULL `out` valid
        // for `out_cap` items and a non-NULL `out_len` writable.
        unsafe { $args.out_buf($out, $cap, $len, stringify!($out), stringify!($len)) }?
    };
}

pub(crate) use {
    c_str, fixed_out, handle, handle_mut, input, key_id, optional_c_str, out_buf, out_param,
};
