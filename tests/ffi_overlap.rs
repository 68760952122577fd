//! Output buffers that share memory with another argument: every C
//! function refuses them with `CODOMYRMEX_ERR_INVALID_ARGUMENT` before it
//! reads or writes anything, and says which two arguments overlap. Inputs
//! may share memory with each other, and an output right next to an input
//! is fine.

mod common;

use codomyrmex_keys::ffi::alg::CODOMYRMEX_SHA256;
use codomyrmex_keys::ffi::hkdf::{
    codomyrmex_hkdf_derive, codomyrmex_hkdf_expand, codomyrmex_hkdf_extract,
};
use codomyrmex_keys::ffi::hmac::{codomyrmex_hmac_compute, codomyrmex_hmac_verify};
use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager_derive, codomyrmex_key_manager_get, codomyrmex_key_manager_hmac,
    codomyrmex_key_manager_rotate,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, *};
use codomyrmex_keys::{HashAlg, hkdf_derive, hmac};
use common::ffi::{Km, LEN_SENTINEL, c_hmac, last_error};
use common::snapshot;

/// A buffer of distinct bytes, so that any write into it shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 1) as u8).collect()
}

/// Checks a refused overlap: the status, a message naming both arguments,
/// the buffer (which started as [`pattern`]) and the length left as they
/// were.
fn refused(what: &str, status: codomyrmex_status, names: [&str; 2], buf: &[u8], len: usize) {
    refused_from(what, status, names, buf, &pattern(buf.len()), len);
}

/// [`refused`] for a buffer that started as `before`.
fn refused_from(
    what: &str,
    status: codomyrmex_status,
    names: [&str; 2],
    buf: &[u8],
    before: &[u8],
    len: usize,
) {
    assert_eq!(status, CODOMYRMEX_ERR_INVALID_ARGUMENT, "{what}");
    let message = last_error();
    for name in names {
        assert!(message.contains(name), "{what}: {message:?} names {name}");
    }
    assert!(message.contains("overlap"), "{what}: {message:?}");
    assert_eq!(buf, before, "{what}: the buffer was written");
    assert_eq!(len, LEN_SENTINEL, "{what}: the length was written");
}

#[test]
fn hkdf_outputs_overlapping_inputs_are_refused() {
    // okm at the start, in the middle and at the end of the input, and the
    // input inside okm.
    for (okm_at, okm_len, input_at, input_len) in [(0, 16, 8, 16), (8, 8, 0, 32), (0, 32, 8, 4)] {
        let mut buf = pattern(64);
        let base = buf.as_mut_ptr();
        let what = format!("okm {okm_at}+{okm_len}, input {input_at}+{input_len}");
        // SAFETY (every call): both regions lie inside `buf`.
        unsafe {
            let okm = base.add(okm_at);
            let input = base.add(input_at).cast_const();
            let derive =
                |ikm: (*const u8, usize), salt: (*const u8, usize), info: (*const u8, usize)| {
                    codomyrmex_hkdf_derive(
                        CODOMYRMEX_SHA256,
                        ikm.0,
                        ikm.1,
                        salt.0,
                        salt.1,
                        info.0,
                        info.1,
                        okm,
                        okm_len,
                    )
                };
            let overlapping = (input, input_len);
            let (ikm, salt, info) = (
                (b"ikm".as_ptr(), 3),
                (b"salt".as_ptr(), 4),
                (b"info".as_ptr(), 4),
            );
            let status = derive(ikm, salt, overlapping);
            refused(
                &format!("derive, info: {what}"),
                status,
                ["okm", "info"],
                &buf,
                LEN_SENTINEL,
            );
            let status = derive(ikm, overlapping, info);
            refused(
                &format!("derive, salt: {what}"),
                status,
                ["okm", "salt"],
                &buf,
                LEN_SENTINEL,
            );
            let status = derive(overlapping, salt, info);
            refused(
                &format!("derive, ikm: {what}"),
                status,
                ["okm", "ikm"],
                &buf,
                LEN_SENTINEL,
            );
            if okm_len <= input_len {
                // Expand needs a PRK of at least the digest length.
                continue;
            }
            let status = codomyrmex_hkdf_expand(
                CODOMYRMEX_SHA256,
                [9u8; 32].as_ptr(),
                32,
                input,
                input_len,
                okm,
                okm_len,
            );
            refused(
                &format!("expand, info: {what}"),
                status,
                ["okm", "info"],
                &buf,
                LEN_SENTINEL,
            );
        }
    }
    // Extract: the PRK over the salt, and the length inside the PRK.
    let mut buf = pattern(64);
    let mut len = LEN_SENTINEL;
    // SAFETY: every region lies inside `buf` or is `len`.
    let status = unsafe {
        codomyrmex_hkdf_extract(
            CODOMYRMEX_SHA256,
            buf.as_ptr().add(16),
            16,
            b"ikm".as_ptr(),
            3,
            buf.as_mut_ptr(),
            32,
            &mut len,
        )
    };
    refused("extract, salt", status, ["out", "salt"], &buf, len);
    let mut buf = pattern(64);
    let len_inside = buf.as_mut_ptr().wrapping_add(40).cast::<usize>();
    // SAFETY: the length pointer lies inside `buf` (the call refuses it
    // before writing; an unaligned pointer is never dereferenced).
    let status = unsafe {
        codomyrmex_hkdf_extract(
            CODOMYRMEX_SHA256,
            b"salt".as_ptr(),
            4,
            b"ikm".as_ptr(),
            3,
            buf.as_mut_ptr(),
            64,
            len_inside,
        )
    };
    assert_eq!(
        status, CODOMYRMEX_ERR_INVALID_ARGUMENT,
        "out_len inside out"
    );
    assert_eq!(buf, pattern(64));
}

#[test]
fn hmac_output_overlapping_its_inputs_is_refused() {
    let mut buf = pattern(96);
    let mut len = LEN_SENTINEL;
    // SAFETY: every region lies inside `buf` or is `len`.
    unsafe {
        let status = codomyrmex_hmac_compute(
            CODOMYRMEX_SHA256,
            b"key".as_ptr(),
            3,
            buf.as_ptr().add(10),
            40,
            buf.as_mut_ptr(),
            32,
            &mut len,
        );
        refused("compute, data", status, ["out", "data"], &buf, len);
        let status = codomyrmex_hmac_compute(
            CODOMYRMEX_SHA256,
            buf.as_ptr().add(40),
            16,
            b"data".as_ptr(),
            4,
            buf.as_mut_ptr().add(50),
            32,
            &mut len,
        );
        refused("compute, key", status, ["out", "key"], &buf, len);
    }
    // Inputs may share memory; an output right after an input is fine.
    let mut buf = pattern(96);
    let expected = hmac(HashAlg::Sha256, &buf[..32], &buf[..32]);
    let mut len = LEN_SENTINEL;
    // SAFETY: every region lies inside `buf` or is `len`.
    unsafe {
        let status = codomyrmex_hmac_compute(
            CODOMYRMEX_SHA256,
            buf.as_ptr(),
            32,
            buf.as_ptr(),
            32,
            buf.as_mut_ptr().add(32),
            32,
            &mut len,
        );
        assert_eq!(status, CODOMYRMEX_OK, "{}", last_error());
        assert_eq!(len, 32);
        let status = codomyrmex_hmac_verify(
            CODOMYRMEX_SHA256,
            buf.as_ptr(),
            32,
            buf.as_ptr(),
            32,
            buf.as_ptr().add(32),
            32,
        );
        assert_eq!(status, CODOMYRMEX_OK);
    }
    assert_eq!(&buf[32..64], expected.as_bytes());
    assert_eq!(
        c_hmac(CODOMYRMEX_SHA256, &buf[..32], &buf[..32]),
        &buf[32..64]
    );
}

#[test]
fn key_manager_outputs_overlapping_inputs_are_refused() {
    let km = Km::new();
    assert_eq!(km.store("k", b"the stored key"), CODOMYRMEX_OK);
    let on_disk = snapshot(km.root());
    // The id, the data, the salt and the new key live in `buf` too.
    let mut buf = pattern(128);
    buf[..2].copy_from_slice(b"k\0");
    let before = buf.clone();
    let mut len = LEN_SENTINEL;
    let base = buf.as_mut_ptr();
    // SAFETY (every call): a live handle; every region lies inside `buf`
    // or is `len`; the id at the start of `buf` is NUL-terminated.
    unsafe {
        let id = base.cast_const().cast();
        let status = codomyrmex_key_manager_get(km.ptr, id, base, 64, &mut len);
        refused_from("get, key_id", status, ["out", "key_id"], &buf, &before, len);
        let status = codomyrmex_key_manager_hmac(
            km.ptr,
            c"k".as_ptr(),
            CODOMYRMEX_SHA256,
            base.add(40),
            20,
            base.add(50),
            32,
            &mut len,
        );
        refused_from("hmac, data", status, ["out", "data"], &buf, &before, len);
        let status = codomyrmex_key_manager_derive(
            km.ptr,
            c"k".as_ptr(),
            CODOMYRMEX_SHA256,
            base.add(64),
            8,
            b"info".as_ptr(),
            4,
            base.add(60),
            16,
        );
        refused_from(
            "derive, salt",
            status,
            ["okm", "salt"],
            &buf,
            &before,
            LEN_SENTINEL,
        );
        let status = codomyrmex_key_manager_derive(
            km.ptr,
            c"k".as_ptr(),
            CODOMYRMEX_SHA256,
            b"salt".as_ptr(),
            4,
            base.add(70),
            30,
            base.add(80),
            16,
        );
        refused_from(
            "derive, info",
            status,
            ["okm", "info"],
            &buf,
            &before,
            LEN_SENTINEL,
        );
        let status = codomyrmex_key_manager_rotate(
            km.ptr,
            c"k".as_ptr(),
            base.add(16),
            24,
            base.add(32),
            64,
            &mut len,
        );
        refused_from("rotate, key", status, ["out", "key"], &buf, &before, len);
    }
    assert_eq!(snapshot(km.root()), on_disk, "nothing changed on disk");
    assert_eq!(km.get("k").unwrap(), b"the stored key");

    // Right next to each other, the same calls work.
    let mut okm = [0u8; 16];
    let mut buf = pattern(48);
    let (salt, out) = buf.split_at_mut(16);
    // SAFETY: a live handle, disjoint regions.
    let status = unsafe {
        codomyrmex_key_manager_derive(
            km.ptr,
            c"k".as_ptr(),
            CODOMYRMEX_SHA256,
            salt.as_ptr(),
            salt.len(),
            b"info".as_ptr(),
            4,
            out.as_mut_ptr(),
            16,
        )
    };
    assert_eq!(status, CODOMYRMEX_OK, "{}", last_error());
    hkdf_derive(
        HashAlg::Sha256,
        b"the stored key",
        &pattern(16),
        b"info",
        &mut okm,
    )
    .unwrap();
    assert_eq!(&buf[16..32], okm);
}
