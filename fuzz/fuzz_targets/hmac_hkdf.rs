//! The C entry points for HMAC and HKDF against an independent reference.
//!
//! The input is read front to back by [`Reader`] (missing bytes read as 0):
//!
//! ```text
//! alg       selector byte: 0-1 SHA-256, 2-3 SHA-384, 4-5 SHA-512,
//!           6: one more byte as the value, 7: four more bytes (u32, LE)
//! key       length byte, then that many bytes
//! data      length (u16 LE, mod 4096), then that many bytes
//! compute   flags byte, capacity selector byte (+1 byte for some selectors)
//! verify    flip position byte, flip bit byte, truncation byte
//! stream    flags byte, chunk count byte, one byte per chunk size,
//!           capacity selector for a first finish
//! hkdf      salt (length byte + bytes), info (length byte + bytes),
//!           okm length selector (+ up to 2 bytes), flags byte,
//!           capacity selector for extract
//! name      length byte (mod 16), then that many bytes
//! ```
//!
//! Flag bits 0-1 pass NULL for empty inputs and size queries (allowed by
//! the contract); bits 2-5 pass a NULL where a pointer is required, and
//! count only when bits 6 and 7 are both set, so most runs exercise the
//! success paths.
//!
//! Checked: unknown algorithms fail with UNSUPPORTED_ALGORITHM; a status is
//! OK exactly when no error applies, and otherwise one of the errors that
//! do; BUFFER_TOO_SMALL sets the length to the digest length and writes
//! nothing; no error touches an output; the okm length rules; one-shot ==
//! streaming under any chunking == the reference; finish resets; verify
//! accepts the MAC and refuses any changed, truncated or extended one;
//! extract + expand == derive == the reference; every failure leaves a
//! one-line last error message.

#![no_main]

use codomyrmex_keys::ffi::alg::{codomyrmex_hash_alg_from_name, codomyrmex_hash_digest_len};
use codomyrmex_keys::ffi::hkdf::{
    codomyrmex_hkdf_derive, codomyrmex_hkdf_expand, codomyrmex_hkdf_extract,
};
use codomyrmex_keys::ffi::hmac::{
    codomyrmex_hmac, codomyrmex_hmac_compute, codomyrmex_hmac_finish,
    codomyrmex_hmac_finish_verify, codomyrmex_hmac_free, codomyrmex_hmac_new,
    codomyrmex_hmac_update, codomyrmex_hmac_verify,
};
use codomyrmex_keys::ffi::library::codomyrmex_last_error_message;
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, *};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::ffi::{CString, c_char};
use std::ptr;

/// Fills output buffers before a call, so untouched bytes can be told apart.
const FILL: u8 = 0xa5;
/// The initial value of length out-parameters.
const UNSET: usize = 0xdead_beef;

/// Reads the fuzz input front to back; past its end every byte is 0.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// Up to `n` bytes (fewer if the input runs out).
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}

/// Pointer choices for one call.
#[derive(Clone, Copy)]
struct Flags(u8);

impl Flags {
    fn bad(self, bit: u8) -> bool {
        self.0 & 0xc0 == 0xc0 && self.0 & (1 << bit) != 0
    }
    /// Pass NULL for an empty input.
    fn null_empty(self) -> bool {
        self.0 & 1 != 0
    }
    /// Pass NULL as the output buffer of a size query (capacity 0).
    fn null_query(self) -> bool {
        self.0 & 2 != 0
    }
    /// Required output buffer NULL although its capacity is not 0.
    fn null_out(self) -> bool {
        self.bad(2)
    }
    /// Length out-pointer NULL (or the stream out-pointer of `hmac_new`).
    fn null_len(self) -> bool {
        self.bad(3)
    }
    /// First input NULL although its length is not 0.
    fn null_first(self) -> bool {
        self.bad(4)
    }
    /// Second input NULL although its length is not 0.
    fn null_second(self) -> bool {
        self.bad(5)
    }
}

/// An input `(ptr, len)`: NULL when empty and asked for, or NULL with its
/// length when `null` (which must then fail).
fn input(bytes: &[u8], flags: Flags, null: bool) -> (*const u8, usize, bool) {
    if null && !bytes.is_empty() {
        (ptr::null(), bytes.len(), true)
    } else if bytes.is_empty() && flags.null_empty() {
        (ptr::null(), 0, false)
    } else {
        (bytes.as_ptr(), bytes.len(), false)
    }
}

fn digest_len(alg: u32) -> Option<usize> {
    match alg {
        1 => Some(32),
        2 => Some(48),
        3 => Some(64),
        _ => None,
    }
}

fn read_alg(r: &mut Reader<'_>) -> u32 {
    match r.byte() % 8 {
        0 | 1 => 1,
        2 | 3 => 2,
        4 | 5 => 3,
        6 => u32::from(r.byte()),
        _ => r.u32(),
    }
}

fn read_capacity(r: &mut Reader<'_>, needed: usize) -> usize {
    match r.byte() % 6 {
        0 => 0,
        1 => needed.saturating_sub(1),
        2 => needed,
        3 => needed + 1 + usize::from(r.byte() % 16),
        4 => 64,
        _ => usize::from(r.byte()),
    }
}

// ---- The reference: HMAC and HKDF written from RFC 2104 and RFC 5869 ----

fn ref_hmac_with<D: Digest>(block: usize, key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut k = if key.len() > block {
        D::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(block, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let mut inner = D::new();
    inner.update(&ipad);
    inner.update(data);
    let inner = inner.finalize();
    let mut outer = D::new();
    outer.update(&opad);
    outer.update(&inner);
    outer.finalize().to_vec()
}

fn ref_hmac(alg: u32, key: &[u8], data: &[u8]) -> Vec<u8> {
    match alg {
        1 => ref_hmac_with::<Sha256>(64, key, data),
        2 => ref_hmac_with::<Sha384>(128, key, data),
        3 => ref_hmac_with::<Sha512>(128, key, data),
        _ => unreachable!("reference asked for unknown algorithm {alg}"),
    }
}

fn ref_extract(alg: u32, salt: &[u8], ikm: &[u8]) -> Vec<u8> {
    // An empty salt is HashLen zero bytes, which HMAC pads the same way.
    ref_hmac(alg, salt, ikm)
}

fn ref_expand(alg: u32, prk: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let mut okm = Vec::with_capacity(len);
    let mut t = Vec::new();
    let mut counter = 1u8;
    while okm.len() < len {
        let mut msg = t.clone();
        msg.extend_from_slice(info);
        msg.push(counter);
        t = ref_hmac(alg, prk, &msg);
        okm.extend_from_slice(&t);
        counter = counter.wrapping_add(1);
    }
    okm.truncate(len);
    okm
}

// ---- Status checks ----

/// Asserts `status` is OK when `errors` is empty and one of `errors`
/// otherwise, and that a failure left a one-line last error message.
fn check_status(what: &str, status: codomyrmex_status, errors: &[codomyrmex_status]) {
    if errors.is_empty() {
        assert_eq!(status, CODOMYRMEX_OK, "{what}: expected success");
        return;
    }
    assert!(
        errors.contains(&status),
        "{what}: got {status:?}, expected one of {errors:?}"
    );
    let mut buf = [0u8; 1024];
    // SAFETY: `buf` has `buf.len()` writable bytes.
    let len = unsafe { codomyrmex_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    assert!(len > 0, "{what}: failed without a message");
    let shown = &buf[..len.min(buf.len() - 1)];
    assert_eq!(buf[shown.len()], 0, "{what}: message not NUL-terminated");
    assert!(
        !shown.contains(&b'\n') && !shown.contains(&b'\r') && !shown.contains(&0),
        "{what}: message is not one line"
    );
}

/// A caller's variable-size output `(out, out_cap, out_len)`.
struct Out {
    buf: Vec<u8>,
    cap: usize,
    null_out: bool,
    null_len: bool,
    len: usize,
}

impl Out {
    fn new(cap: usize, flags: Flags) -> Out {
        Out {
            // A few guard bytes past the capacity must never be written.
            buf: vec![FILL; cap + 8],
            cap,
            null_out: (cap == 0 && flags.null_query()) || (cap > 0 && flags.null_out()),
            null_len: flags.null_len(),
            len: UNSET,
        }
    }

    fn ptrs(&mut self) -> (*mut u8, usize, *mut usize) {
        let out = if self.null_out {
            ptr::null_mut()
        } else {
            self.buf.as_mut_ptr()
        };
        let len = if self.null_len {
            ptr::null_mut()
        } else {
            &raw mut self.len
        };
        (out, self.cap, len)
    }

    /// The errors that apply to this buffer for an output of `needed` bytes
    /// (`None`: unknown algorithm, no size applies).
    fn errors(&self, needed: Option<usize>, errors: &mut Vec<codomyrmex_status>) {
        if self.null_len || (self.null_out && self.cap > 0) {
            errors.push(CODOMYRMEX_ERR_NULL_POINTER);
        }
        if needed.is_some_and(|n| n > self.cap) && !self.null_len {
            errors.push(CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        }
    }

    /// Checks the buffer rule after a call that returned `status` and, on
    /// success, must have produced `expected`.
    fn check(&self, what: &str, status: codomyrmex_status, needed: usize, expected: &[u8]) {
        match status {
            CODOMYRMEX_OK => {
                assert_eq!(self.len, expected.len(), "{what}: length");
                assert_eq!(&self.buf[..self.len], expected, "{what}: bytes");
                assert!(
                    self.buf[self.len..].iter().all(|&b| b == FILL),
                    "{what}: wrote past the output"
                );
                return;
            }
            CODOMYRMEX_ERR_BUFFER_TOO_SMALL => {
                assert_eq!(self.len, needed, "{what}: BUFFER_TOO_SMALL length");
            }
            _ => assert_eq!(self.len, UNSET, "{what}: length set on failure"),
        }
        assert!(
            self.buf.iter().all(|&b| b == FILL),
            "{what}: output touched on failure"
        );
    }
}

// ---- The checks ----

fn check_digest_len(alg: u32) {
    assert_eq!(
        codomyrmex_hash_digest_len(alg),
        digest_len(alg).unwrap_or(0)
    );
}

fn check_compute(r: &mut Reader<'_>, alg: u32, key: &[u8], data: &[u8]) {
    let dlen = digest_len(alg);
    let flags = Flags(r.byte());
    let cap = read_capacity(r, dlen.unwrap_or(64));
    let (key_ptr, key_len, key_bad) = input(key, flags, flags.null_first());
    let (data_ptr, data_len, data_bad) = input(data, flags, flags.null_second());
    let mut out = Out::new(cap, flags);
    let mut errors = Vec::new();
    if dlen.is_none() {
        errors.push(CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
    }
    if key_bad || data_bad {
        errors.push(CODOMYRMEX_ERR_NULL_POINTER);
    }
    out.errors(dlen, &mut errors);
    let (out_ptr, out_cap, out_len) = out.ptrs();
    // SAFETY: every pointer is NULL or valid for its length.
    let status = unsafe {
        codomyrmex_hmac_compute(
            alg, key_ptr, key_len, data_ptr, data_len, out_ptr, out_cap, out_len,
        )
    };
    check_status("hmac_compute", status, &errors);
    let expected = match dlen {
        Some(_) if status == CODOMYRMEX_OK => ref_hmac(alg, key, data),
        _ => Vec::new(),
    };
    out.check("hmac_compute", status, dlen.unwrap_or(0), &expected);
}

/// `codomyrmex_hmac_verify` of `mac` (passing NULL when it is empty).
fn verify(alg: u32, key: &[u8], data: &[u8], mac: &[u8]) -> codomyrmex_status {
    let mac_ptr = if mac.is_empty() {
        ptr::null()
    } else {
        mac.as_ptr()
    };
    // SAFETY: every pointer is valid for its length (or NULL with 0).
    unsafe {
        codomyrmex_hmac_verify(
            alg,
            key.as_ptr(),
            key.len(),
            data.as_ptr(),
            data.len(),
            mac_ptr,
            mac.len(),
        )
    }
}

fn check_verify(r: &mut Reader<'_>, alg: u32, key: &[u8], data: &[u8], mac: Option<&[u8]>) {
    let flip_at = usize::from(r.byte());
    let flip_bit = r.byte() % 8;
    let truncate = usize::from(r.byte());
    let Some(mac) = mac else {
        let status = verify(alg, key, data, &[0; 32]);
        check_status(
            "hmac_verify",
            status,
            &[CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM],
        );
        return;
    };
    check_status("hmac_verify", verify(alg, key, data, mac), &[]);

    let mut changed = mac.to_vec();
    changed[flip_at % mac.len()] ^= 1 << flip_bit;
    let status = verify(alg, key, data, &changed);
    check_status(
        "hmac_verify (changed)",
        status,
        &[CODOMYRMEX_ERR_VERIFY_FAILED],
    );

    let status = verify(alg, key, data, &mac[..truncate % mac.len()]);
    check_status(
        "hmac_verify (truncated)",
        status,
        &[CODOMYRMEX_ERR_VERIFY_FAILED],
    );

    let mut longer = mac.to_vec();
    longer.push(flip_at as u8);
    let status = verify(alg, key, data, &longer);
    check_status(
        "hmac_verify (extended)",
        status,
        &[CODOMYRMEX_ERR_VERIFY_FAILED],
    );
}

/// Splits `data` into the chunk sizes the input asks for; the last chunk
/// takes the rest. Sizes may be 0.
fn chunks<'d>(sizes: &[u8], mut data: &'d [u8]) -> Vec<&'d [u8]> {
    let mut out = Vec::with_capacity(sizes.len() + 1);
    for &size in sizes {
        let (head, rest) = data.split_at(usize::from(size).min(data.len()));
        out.push(head);
        data = rest;
    }
    out.push(data);
    out
}

fn feed(ctx: *mut codomyrmex_hmac, parts: &[&[u8]], null_empty: bool) {
    for part in parts {
        let data = if part.is_empty() && null_empty {
            ptr::null()
        } else {
            part.as_ptr()
        };
        // SAFETY: `ctx` is live; `data` is valid for `part.len()` bytes or
        // NULL with length 0.
        let status = unsafe { codomyrmex_hmac_update(ctx, data, part.len()) };
        check_status("hmac_update", status, &[]);
    }
}

fn finish(ctx: *mut codomyrmex_hmac) -> Vec<u8> {
    let mut mac = [0u8; 64];
    let mut len = UNSET;
    // SAFETY: `ctx` is live; `mac` has 64 writable bytes.
    let status = unsafe { codomyrmex_hmac_finish(ctx, mac.as_mut_ptr(), mac.len(), &mut len) };
    check_status("hmac_finish", status, &[]);
    mac[..len].to_vec()
}

fn finish_verify(ctx: *mut codomyrmex_hmac, mac: &[u8]) -> codomyrmex_status {
    // SAFETY: `ctx` is live; `mac` is valid for its length.
    unsafe { codomyrmex_hmac_finish_verify(ctx, mac.as_ptr(), mac.len()) }
}

fn check_null_streams() {
    let mut len = UNSET;
    let mut mac = [FILL; 64];
    // SAFETY: a NULL stream must be refused without being touched.
    unsafe {
        let status = codomyrmex_hmac_update(ptr::null_mut(), b"x".as_ptr(), 1);
        check_status("hmac_update (NULL)", status, &[CODOMYRMEX_ERR_NULL_POINTER]);
        let status = codomyrmex_hmac_finish(ptr::null_mut(), mac.as_mut_ptr(), 64, &mut len);
        check_status("hmac_finish (NULL)", status, &[CODOMYRMEX_ERR_NULL_POINTER]);
        let status = codomyrmex_hmac_finish_verify(ptr::null_mut(), mac.as_ptr(), 32);
        check_status(
            "hmac_finish_verify (NULL)",
            status,
            &[CODOMYRMEX_ERR_NULL_POINTER],
        );
        codomyrmex_hmac_free(ptr::null_mut());
    }
    assert_eq!(len, UNSET);
    assert!(mac.iter().all(|&b| b == FILL));
}

fn check_stream(r: &mut Reader<'_>, alg: u32, key: &[u8], data: &[u8], mac: Option<&[u8]>) {
    let flags = Flags(r.byte());
    let count = usize::from(r.byte() % 16);
    let sizes = r.take(count);
    let first_cap = read_capacity(r, digest_len(alg).unwrap_or(64));

    let sentinel: *mut codomyrmex_hmac = ptr::NonNull::dangling().as_ptr();
    let mut ctx = sentinel;
    let (key_ptr, key_len, key_bad) = input(key, flags, flags.null_first());
    let out_ctx = if flags.null_len() {
        ptr::null_mut()
    } else {
        &raw mut ctx
    };
    let mut errors = Vec::new();
    if mac.is_none() {
        errors.push(CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
    }
    if key_bad || flags.null_len() {
        errors.push(CODOMYRMEX_ERR_NULL_POINTER);
    }
    // SAFETY: every pointer is NULL or valid for its length.
    let status = unsafe { codomyrmex_hmac_new(alg, key_ptr, key_len, out_ctx) };
    check_status("hmac_new", status, &errors);
    let Some(mac) = mac.filter(|_| status == CODOMYRMEX_OK) else {
        assert_eq!(ctx, sentinel, "hmac_new set its out-pointer on failure");
        return;
    };
    assert!(!ctx.is_null() && ctx != sentinel);

    // First message, chunked as the input says; a finish into a buffer
    // that is too small must leave the stream as it was.
    feed(ctx, &chunks(sizes, data), flags.null_empty());
    let mut out = Out::new(first_cap, Flags(flags.0 & 0x03));
    let (out_ptr, out_cap, out_len) = out.ptrs();
    // SAFETY: `ctx` is live; the buffer pointers are NULL or valid.
    let status = unsafe { codomyrmex_hmac_finish(ctx, out_ptr, out_cap, out_len) };
    let too_small = first_cap < mac.len();
    let errors: &[_] = if too_small {
        &[CODOMYRMEX_ERR_BUFFER_TOO_SMALL]
    } else {
        &[]
    };
    check_status("hmac_finish", status, errors);
    out.check("hmac_finish", status, mac.len(), mac);
    if too_small {
        assert_eq!(finish(ctx), mac, "stream changed by a failed finish");
    }

    // The stream started over: the same message in reversed chunks.
    let mut sizes_rev = sizes.to_vec();
    sizes_rev.reverse();
    feed(ctx, &chunks(&sizes_rev, data), flags.null_empty());
    check_status("hmac_finish_verify", finish_verify(ctx, mac), &[]);

    // A wrong MAC fails and still resets the stream.
    feed(ctx, &[data], false);
    let mut wrong = mac.to_vec();
    wrong[sizes.len() % mac.len()] ^= 0x80;
    let status = finish_verify(ctx, &wrong);
    check_status(
        "hmac_finish_verify (wrong)",
        status,
        &[CODOMYRMEX_ERR_VERIFY_FAILED],
    );
    let status = finish_verify(ctx, &mac[..mac.len() - 1]);
    check_status(
        "hmac_finish_verify (short)",
        status,
        &[CODOMYRMEX_ERR_VERIFY_FAILED],
    );
    assert_eq!(finish(ctx), ref_hmac(alg, key, b""), "stream did not reset");

    // SAFETY: `ctx` came from codomyrmex_hmac_new and is freed once.
    unsafe { codomyrmex_hmac_free(ctx) };
}

fn read_okm_len(r: &mut Reader<'_>, dlen: usize) -> usize {
    match r.byte() % 8 {
        0 => 0,
        1 => 1,
        2 => dlen,
        3 => usize::from(r.u16() % 600),
        4 => 255 * dlen,
        5 => 255 * dlen + 1,
        6 => usize::from(r.u16()),
        _ => 2 * dlen + usize::from(r.byte()),
    }
}

fn okm_errors(alg: u32, okm_len: usize, errors: &mut Vec<codomyrmex_status>) {
    match digest_len(alg) {
        None => errors.push(CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM),
        Some(dlen) if okm_len == 0 || okm_len > 255 * dlen => {
            errors.push(CODOMYRMEX_ERR_INVALID_ARGUMENT);
        }
        Some(_) => {}
    }
}

/// A fixed-size output of `len` bytes (plus guard bytes), or NULL.
fn okm_buffer(len: usize, null: bool) -> (Vec<u8>, *mut u8, bool) {
    let mut buf = vec![FILL; len + 8];
    let bad = null && len > 0;
    let ptr = if null {
        ptr::null_mut()
    } else {
        buf.as_mut_ptr()
    };
    (buf, ptr, bad)
}

fn check_okm(what: &str, status: codomyrmex_status, buf: &[u8], expected: &[u8]) {
    if status == CODOMYRMEX_OK {
        assert_eq!(&buf[..expected.len()], expected, "{what}: bytes");
        assert!(
            buf[expected.len()..].iter().all(|&b| b == FILL),
            "{what}: overrun"
        );
    } else {
        assert!(
            buf.iter().all(|&b| b == FILL),
            "{what}: output touched on failure"
        );
    }
}

fn check_hkdf(r: &mut Reader<'_>, alg: u32, ikm: &[u8]) {
    let salt_len = usize::from(r.byte());
    let salt = r.take(salt_len);
    let info_len = usize::from(r.byte());
    let info = r.take(info_len);
    let dlen = digest_len(alg);
    let okm_len = read_okm_len(r, dlen.unwrap_or(32));
    let flags = Flags(r.byte());
    let prk_cap = read_capacity(r, dlen.unwrap_or(64));

    // Derive, with the pointer choices of `flags`.
    let (ikm_ptr, ikm_len, ikm_bad) = input(ikm, flags, flags.null_first());
    let (salt_ptr, salt_n, salt_bad) = input(salt, flags, flags.null_second());
    let (info_ptr, info_n, _) = input(info, flags, false);
    let null_okm = flags.null_out() || (okm_len == 0 && flags.null_query());
    let (okm, okm_ptr, okm_bad) = okm_buffer(okm_len, null_okm);
    let mut errors = Vec::new();
    okm_errors(alg, okm_len, &mut errors);
    if ikm_bad || salt_bad || okm_bad {
        errors.push(CODOMYRMEX_ERR_NULL_POINTER);
    }
    // SAFETY: every pointer is NULL or valid for its length.
    let status = unsafe {
        codomyrmex_hkdf_derive(
            alg, ikm_ptr, ikm_len, salt_ptr, salt_n, info_ptr, info_n, okm_ptr, okm_len,
        )
    };
    check_status("hkdf_derive", status, &errors);
    let derived = status == CODOMYRMEX_OK;
    let expected = match dlen {
        Some(_) if derived => ref_expand(alg, &ref_extract(alg, salt, ikm), info, okm_len),
        _ => Vec::new(),
    };
    check_okm("hkdf_derive", status, &okm, &expected);

    // Extract, with the buffer rule.
    let mut prk_out = Out::new(prk_cap, flags);
    let mut errors = Vec::new();
    if dlen.is_none() {
        errors.push(CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM);
    }
    if ikm_bad || salt_bad {
        errors.push(CODOMYRMEX_ERR_NULL_POINTER);
    }
    prk_out.errors(dlen, &mut errors);
    let (out_ptr, out_cap, out_len) = prk_out.ptrs();
    // SAFETY: every pointer is NULL or valid for its length.
    let status = unsafe {
        codomyrmex_hkdf_extract(
            alg, salt_ptr, salt_n, ikm_ptr, ikm_len, out_ptr, out_cap, out_len,
        )
    };
    check_status("hkdf_extract", status, &errors);
    let Some(dlen) = dlen else {
        prk_out.check("hkdf_extract", status, 0, &[]);
        return;
    };
    let prk = ref_extract(alg, salt, ikm);
    prk_out.check("hkdf_extract", status, dlen, &prk);

    // Expand from the reference PRK (valid pointers): equals derive.
    let expand = |prk: &[u8], len: usize| {
        let mut okm = vec![FILL; len + 8];
        // SAFETY: every pointer is valid for its length.
        let status = unsafe {
            codomyrmex_hkdf_expand(
                alg,
                prk.as_ptr(),
                prk.len(),
                info.as_ptr(),
                info.len(),
                okm.as_mut_ptr(),
                len,
            )
        };
        (status, okm)
    };
    let mut errors = Vec::new();
    okm_errors(alg, okm_len, &mut errors);
    let (status, okm2) = expand(&prk, okm_len);
    check_status("hkdf_expand", status, &errors);
    let want = match status {
        CODOMYRMEX_OK if derived => expected,
        CODOMYRMEX_OK => ref_expand(alg, &prk, info, okm_len),
        _ => Vec::new(),
    };
    check_okm("hkdf_expand", status, &okm2, &want);

    // A PRK shorter than HashLen is refused; a longer one is a valid key.
    let short_len = okm_len.clamp(1, 255 * dlen);
    let (status, okm3) = expand(&prk[..dlen - 1], short_len);
    check_status(
        "hkdf_expand (short PRK)",
        status,
        &[CODOMYRMEX_ERR_INVALID_ARGUMENT],
    );
    check_okm("hkdf_expand (short PRK)", status, &okm3, &[]);
    let mut long_prk = prk.clone();
    long_prk.extend_from_slice(salt);
    let (status, okm4) = expand(&long_prk, short_len.min(2 * dlen));
    check_status("hkdf_expand (long PRK)", status, &[]);
    let want = ref_expand(alg, &long_prk, info, short_len.min(2 * dlen));
    check_okm("hkdf_expand (long PRK)", status, &okm4, &want);
}

fn check_name(r: &mut Reader<'_>) {
    let len = usize::from(r.byte() % 16);
    let raw = r.take(len);
    let name = raw.split(|&b| b == 0).next().unwrap_or_default();
    let lower = name.to_ascii_lowercase();
    let expected = lower.strip_prefix(b"sha").and_then(|rest| {
        let digits = rest
            .strip_prefix(b"-")
            .or_else(|| rest.strip_prefix(b"_"))
            .unwrap_or(rest);
        match digits {
            b"256" => Some(1),
            b"384" => Some(2),
            b"512" => Some(3),
            _ => None,
        }
    });
    let c_name = CString::new(name).expect("no NUL after the split");
    let mut alg = UNSET as u32;
    // SAFETY: `c_name` is NUL-terminated; `alg` is writable.
    let status = unsafe { codomyrmex_hash_alg_from_name(c_name.as_ptr(), &mut alg) };
    match expected {
        Some(value) => {
            check_status("hash_alg_from_name", status, &[]);
            assert_eq!(alg, value);
        }
        None => {
            let errors = [CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM];
            check_status("hash_alg_from_name", status, &errors);
            assert_eq!(alg, UNSET as u32);
        }
    }
    // SAFETY: a NULL name must be refused.
    let status = unsafe { codomyrmex_hash_alg_from_name(ptr::null::<c_char>(), &mut alg) };
    check_status(
        "hash_alg_from_name (NULL)",
        status,
        &[CODOMYRMEX_ERR_NULL_POINTER],
    );
}

fuzz_target!(|input: &[u8]| {
    let mut r = Reader(input);
    let alg = read_alg(&mut r);
    let key_len = usize::from(r.byte());
    let key = r.take(key_len);
    let data_len = usize::from(r.u16() % 4096);
    let data = r.take(data_len);

    check_digest_len(alg);
    let mac = digest_len(alg).map(|_| ref_hmac(alg, key, data));
    check_compute(&mut r, alg, key, data);
    check_verify(&mut r, alg, key, data, mac.as_deref());
    check_null_streams();
    check_stream(&mut r, alg, key, data, mac.as_deref());
    check_hkdf(&mut r, alg, key);
    check_name(&mut r);
});
