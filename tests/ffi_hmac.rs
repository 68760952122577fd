//! The C HMAC functions called directly, one-shot and streaming: NULL
//! pointers, empty inputs, the buffer rule and unknown algorithms. Every
//! failing call is checked to leave its out-parameters (pre-filled with
//! sentinels) and the stream as they were.

mod common;

use codomyrmex_keys::ffi::alg::{CODOMYRMEX_SHA256, CODOMYRMEX_SHA384, codomyrmex_hash_alg};
use codomyrmex_keys::ffi::hmac::{
    codomyrmex_hmac, codomyrmex_hmac_compute, codomyrmex_hmac_finish,
    codomyrmex_hmac_finish_verify, codomyrmex_hmac_free, codomyrmex_hmac_new,
    codomyrmex_hmac_update, codomyrmex_hmac_verify,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, *};
use codomyrmex_keys::hmac;
use common::ffi::{BAD_ALGS, FILL, LEN_SENTINEL, algs, c_hmac, safe_alg, untouched};
use std::ptr;

// ---------------------------------------------------------------------------
// One-shot HMAC.

#[test]
fn hmac_compute_empty_inputs_and_buffer_rule() {
    for (alg, digest) in algs() {
        let expected = hmac(safe_alg(alg), b"", b"");
        // (NULL, 0) key and data are empty inputs, like non-NULL with 0.
        let mut out = [FILL; 100];
        let mut len = LEN_SENTINEL;
        // SAFETY (every call in this loop): pointers valid for their
        // lengths; NULL only with length or capacity 0, or refused.
        let status = unsafe {
            codomyrmex_hmac_compute(
                alg,
                ptr::null(),
                0,
                ptr::null(),
                0,
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            )
        };
        assert_eq!(status, CODOMYRMEX_OK);
        assert_eq!(len, digest);
        assert_eq!(&out[..digest], expected.as_bytes());
        assert!(untouched(&out[digest..]), "nothing written past the MAC");
        let empty: [u8; 0] = [];
        assert_eq!(c_hmac(alg, &empty, &empty), expected.as_bytes());
        assert_eq!(
            c_hmac(alg, &b"key"[..0], &b"data"[..0]),
            expected.as_bytes()
        );

        // Size query.
        let mut len = LEN_SENTINEL;
        let status = unsafe {
            codomyrmex_hmac_compute(
                alg,
                b"k".as_ptr(),
                1,
                b"d".as_ptr(),
                1,
                ptr::null_mut(),
                0,
                &mut len,
            )
        };
        assert_eq!(status, CODOMYRMEX_ERR_BUFFER_TOO_SMALL);
        assert_eq!(len, digest, "the size needed");

        // One byte short: BUFFER_TOO_SMALL, buffer untouched.
        for cap in [1, digest - 1] {
            let mut out = [FILL; 64];
            let mut len = LEN_SENTINEL;
            let status = unsafe {
                codomyrmex_hmac_compute(
                    alg,
                    b"k".as_ptr(),
                    1,
                    b"d".as_ptr(),
                    1,
                    out.as_mut_ptr(),
                    cap,
                    &mut len,
                )
            };
            assert_eq!(status, CODOMYRMEX_ERR_BUFFER_TOO_SMALL, "cap {cap}");
            assert_eq!(len, digest);
            assert!(untouched(&out), "cap {cap}: buffer untouched");
        }

        // Exactly the digest length fits.
        let mut out = [FILL; 64];
        let mut len = LEN_SENTINEL;
        let status = unsafe {
            codomyrmex_hmac_compute(
                alg,
                b"k".as_ptr(),
                1,
                b"d".as_ptr(),
                1,
                out.as_mut_ptr(),
                digest,
                &mut len,
            )
        };
        assert_eq!(status, CODOMYRMEX_OK);
        assert_eq!(len, digest);
        assert_eq!(&out[..digest], hmac(safe_alg(alg), b"k", b"d").as_bytes());
    }
}

#[test]
fn hmac_compute_errors_leave_outputs_unchanged() {
    let key = b"key";
    let data = b"data";
    let mut out = [FILL; 64];
    let mut len = LEN_SENTINEL;
    // SAFETY (every call): pointers valid for their lengths; NULL pointers
    // are refused, never dereferenced.
    unsafe {
        for bad in BAD_ALGS {
            let status = codomyrmex_hmac_compute(
                bad,
                key.as_ptr(),
                key.len(),
                data.as_ptr(),
                data.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut len,
            );
            assert_eq!(status, CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM, "alg {bad}");
        }
        let cases: [(&str, codomyrmex_status); 4] = [
            (
                "NULL key with a length",
                codomyrmex_hmac_compute(
                    CODOMYRMEX_SHA256,
                    ptr::null(),
                    3,
                    data.as_ptr(),
                    data.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    &mut len,
                ),
            ),
            (
                "NULL data with a length",
                codomyrmex_hmac_compute(
                    CODOMYRMEX_SHA256,
                    key.as_ptr(),
                    key.len(),
                    ptr::null(),
                    1,
                    out.as_mut_ptr(),
                    out.len(),
                    &mut len,
                ),
            ),
            (
                "NULL mac_out with a capacity",
                codomyrmex_hmac_compute(
                    CODOMYRMEX_SHA256,
                    key.as_ptr(),
                    key.len(),
                    data.as_ptr(),
                    data.len(),
                    ptr::null_mut(),
                    32,
                    &mut len,
                ),
            ),
            (
                "NULL mac_len",
                codomyrmex_hmac_compute(
                    CODOMYRMEX_SHA256,
                    key.as_ptr(),
                    key.len(),
                    data.as_ptr(),
                    data.len(),
                    out.as_mut_ptr(),
                    out.len(),
                    ptr::null_mut(),
                ),
            ),
        ];
        for (what, status) in cases {
            assert_eq!(status, CODOMYRMEX_ERR_NULL_POINTER, "{what}");
        }
    }
    assert!(untouched(&out));
    assert_eq!(len, LEN_SENTINEL);
}

#[test]
fn hmac_verify_accepts_only_the_exact_mac() {
    let key = b"verification key";
    let data = b"message";
    for (alg, digest) in algs() {
        let mac = c_hmac(alg, key, data);
        let verify = |mac: *const u8, mac_len: usize| {
            // SAFETY: key and data are valid; `mac` is valid for `mac_len`
            // bytes or NULL (refused, or with length 0).
            unsafe {
                codomyrmex_hmac_verify(
                    alg,
                    key.as_ptr(),
                    key.len(),
                    data.as_ptr(),
                    data.len(),
                    mac,
                    mac_len,
                )
            }
        };
        assert_eq!(verify(mac.as_ptr(), digest), CODOMYRMEX_OK);
        for at in [0, digest / 2, digest - 1] {
            let mut bad = mac.clone();
            bad[at] ^= 0x80;
            assert_eq!(
                verify(bad.as_ptr(), digest),
                CODOMYRMEX_ERR_VERIFY_FAILED,
                "byte {at}"
            );
        }
        for len in [0, 1, 16, digest - 1] {
            assert_eq!(
                verify(mac.as_ptr(), len),
                CODOMYRMEX_ERR_VERIFY_FAILED,
                "a {len}-byte prefix never verifies"
            );
        }
        let mut longer = mac.clone();
        longer.push(0);
        assert_eq!(
            verify(longer.as_ptr(), digest + 1),
            CODOMYRMEX_ERR_VERIFY_FAILED
        );
        assert_eq!(
            verify(ptr::null(), 0),
            CODOMYRMEX_ERR_VERIFY_FAILED,
            "(NULL, 0) MAC"
        );
        assert_eq!(verify(ptr::null(), digest), CODOMYRMEX_ERR_NULL_POINTER);

        // SAFETY: NULL pointers with lengths are refused, never dereferenced.
        unsafe {
            assert_eq!(
                codomyrmex_hmac_verify(
                    alg,
                    ptr::null(),
                    1,
                    data.as_ptr(),
                    data.len(),
                    mac.as_ptr(),
                    digest
                ),
                CODOMYRMEX_ERR_NULL_POINTER
            );
            assert_eq!(
                codomyrmex_hmac_verify(
                    alg,
                    key.as_ptr(),
                    key.len(),
                    ptr::null(),
                    1,
                    mac.as_ptr(),
                    digest
                ),
                CODOMYRMEX_ERR_NULL_POINTER
            );
        }
        // Empty key and data as (NULL, 0).
        let empty_mac = c_hmac(alg, b"", b"");
        // SAFETY: NULL only with length 0.
        let status = unsafe {
            codomyrmex_hmac_verify(
                alg,
                ptr::null(),
                0,
                ptr::null(),
                0,
                empty_mac.as_ptr(),
                digest,
            )
        };
        assert_eq!(status, CODOMYRMEX_OK);
    }
    for bad in BAD_ALGS {
        let mac = [0u8; 32];
        // SAFETY: valid pointers.
        let status = unsafe {
            codomyrmex_hmac_verify(
                bad,
                key.as_ptr(),
                key.len(),
                data.as_ptr(),
                data.len(),
                mac.as_ptr(),
                32,
            )
        };
        assert_eq!(status, CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM, "alg {bad}");
    }
}

// ---------------------------------------------------------------------------
// Streaming HMAC.

/// A C stream freed on drop.
struct Stream(*mut codomyrmex_hmac);

impl Stream {
    fn new(alg: codomyrmex_hash_alg, key: &[u8]) -> Stream {
        let mut ctx = ptr::null_mut();
        // SAFETY: a valid key slice and a writable out-pointer.
        let status = unsafe { codomyrmex_hmac_new(alg, key.as_ptr(), key.len(), &mut ctx) };
        assert_eq!(status, CODOMYRMEX_OK);
        assert!(!ctx.is_null());
        Stream(ctx)
    }

    fn update(&mut self, data: &[u8]) {
        // SAFETY: a live stream used by this thread only; a valid slice.
        let status = unsafe { codomyrmex_hmac_update(self.0, data.as_ptr(), data.len()) };
        assert_eq!(status, CODOMYRMEX_OK);
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = [FILL; 100];
        let mut len = LEN_SENTINEL;
        // SAFETY: a live stream; a buffer of its capacity.
        let status =
            unsafe { codomyrmex_hmac_finish(self.0, out.as_mut_ptr(), out.len(), &mut len) };
        assert_eq!(status, CODOMYRMEX_OK);
        assert!(untouched(&out[len..]));
        out[..len].to_vec()
    }

    fn finish_verify(&mut self, mac: &[u8]) -> codomyrmex_status {
        // SAFETY: a live stream; a valid slice.
        unsafe { codomyrmex_hmac_finish_verify(self.0, mac.as_ptr(), mac.len()) }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: the stream came from codomyrmex_hmac_new and is freed once.
        unsafe { codomyrmex_hmac_free(self.0) };
    }
}

#[test]
fn hmac_stream_chunked_equals_one_shot() {
    let key: Vec<u8> = (0..=199u8).collect();
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
    for (alg, _) in algs() {
        let expected = c_hmac(alg, &key, &data);
        let mut stream = Stream::new(alg, &key);
        for chunk in [1, 3, 63, 64, 65, 127, 128, 129, 1000, 3000, 5000] {
            for piece in data.chunks(chunk) {
                stream.update(piece);
                // Empty updates in between change nothing.
                stream.update(&[]);
            }
            assert_eq!(stream.finish(), expected, "chunks of {chunk}");
        }
        // Irregular pieces.
        let mut rest = &data[..];
        let mut size = 1;
        while !rest.is_empty() {
            let n = size.min(rest.len());
            stream.update(&rest[..n]);
            rest = &rest[n..];
            size = size * 3 + 1;
        }
        assert_eq!(stream.finish(), expected, "growing pieces");
    }
}

#[test]
fn hmac_stream_finish_resets_and_verifies() {
    for (alg, digest) in algs() {
        let key = b"stream key";
        let mut stream = Stream::new(alg, key);
        stream.update(b"first");
        assert_eq!(stream.finish(), c_hmac(alg, key, b"first"));
        // Back at the keyed start: an immediate finish is the MAC of "".
        assert_eq!(stream.finish(), c_hmac(alg, key, b""));
        stream.update(b"second");
        assert_eq!(stream.finish(), c_hmac(alg, key, b"second"));

        let mac = c_hmac(alg, key, b"third");
        stream.update(b"third");
        assert_eq!(stream.finish_verify(&mac), CODOMYRMEX_OK);
        // finish_verify reset it too.
        stream.update(b"third");
        assert_eq!(stream.finish_verify(&mac), CODOMYRMEX_OK);
        // A failed verification also resets.
        stream.update(b"thirdX");
        assert_eq!(stream.finish_verify(&mac), CODOMYRMEX_ERR_VERIFY_FAILED);
        stream.update(b"third");
        assert_eq!(stream.finish_verify(&mac), CODOMYRMEX_OK);
        // A truncated MAC never verifies.
        stream.update(b"third");
        assert_eq!(
            stream.finish_verify(&mac[..digest - 1]),
            CODOMYRMEX_ERR_VERIFY_FAILED
        );
        stream.update(b"third");
        assert_eq!(stream.finish_verify(&[]), CODOMYRMEX_ERR_VERIFY_FAILED);

        // Two streams under one key do not share state.
        let mut other = Stream::new(alg, key);
        stream.update(b"a");
        other.update(b"b");
        assert_eq!(stream.finish(), c_hmac(alg, key, b"a"));
        assert_eq!(other.finish(), c_hmac(alg, key, b"b"));
    }
}

#[test]
fn hmac_stream_failed_calls_leave_it_unchanged() {
    for (alg, digest) in algs() {
        let key = b"k";
        let mut stream = Stream::new(alg, key);
        stream.update(b"abc");
        // SAFETY (all calls): a live stream; NULL pointers with lengths are
        // refused; buffers valid for their capacities.
        unsafe {
            // Size query and a one-byte-short buffer: BUFFER_TOO_SMALL.
            let mut len = LEN_SENTINEL;
            assert_eq!(
                codomyrmex_hmac_finish(stream.0, ptr::null_mut(), 0, &mut len),
                CODOMYRMEX_ERR_BUFFER_TOO_SMALL
            );
            assert_eq!(len, digest);
            let mut out = [FILL; 64];
            let mut len = LEN_SENTINEL;
            assert_eq!(
                codomyrmex_hmac_finish(stream.0, out.as_mut_ptr(), digest - 1, &mut len),
                CODOMYRMEX_ERR_BUFFER_TOO_SMALL
            );
            assert_eq!(len, digest);
            assert!(untouched(&out));
            // NULL out-pointers.
            let mut len = LEN_SENTINEL;
            assert_eq!(
                codomyrmex_hmac_finish(stream.0, ptr::null_mut(), 64, &mut len),
                CODOMYRMEX_ERR_NULL_POINTER
            );
            assert_eq!(len, LEN_SENTINEL);
            assert_eq!(
                codomyrmex_hmac_finish(stream.0, out.as_mut_ptr(), out.len(), ptr::null_mut()),
                CODOMYRMEX_ERR_NULL_POINTER
            );
            assert!(untouched(&out));
            // NULL data with a length feeds nothing.
            assert_eq!(
                codomyrmex_hmac_update(stream.0, ptr::null(), 5),
                CODOMYRMEX_ERR_NULL_POINTER
            );
            // (NULL, 0) feeds nothing and succeeds.
            assert_eq!(
                codomyrmex_hmac_update(stream.0, ptr::null(), 0),
                CODOMYRMEX_OK
            );
            // NULL MAC with a length: refused before finishing.
            assert_eq!(
                codomyrmex_hmac_finish_verify(stream.0, ptr::null(), digest),
                CODOMYRMEX_ERR_NULL_POINTER
            );
        }
        // None of that disturbed the stream.
        stream.update(b"def");
        assert_eq!(stream.finish(), c_hmac(alg, key, b"abcdef"));
    }

    // NULL streams and unknown algorithms.
    let mut out = [FILL; 64];
    let mut len = LEN_SENTINEL;
    let sentinel: *mut codomyrmex_hmac = ptr::without_provenance_mut(0x1000);
    // SAFETY: NULL pointers are refused, never dereferenced; free(NULL) is a
    // no-op.
    unsafe {
        assert_eq!(
            codomyrmex_hmac_update(ptr::null_mut(), b"x".as_ptr(), 1),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            codomyrmex_hmac_finish(ptr::null_mut(), out.as_mut_ptr(), out.len(), &mut len),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(
            codomyrmex_hmac_finish_verify(ptr::null_mut(), out.as_ptr(), 32),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        codomyrmex_hmac_free(ptr::null_mut());

        let mut ctx = sentinel;
        for bad in BAD_ALGS {
            assert_eq!(
                codomyrmex_hmac_new(bad, b"k".as_ptr(), 1, &mut ctx),
                CODOMYRMEX_ERR_UNSUPPORTED_ALGORITHM
            );
        }
        assert_eq!(
            codomyrmex_hmac_new(CODOMYRMEX_SHA256, ptr::null(), 1, &mut ctx),
            CODOMYRMEX_ERR_NULL_POINTER
        );
        assert_eq!(ctx, sentinel, "out_ctx unchanged on error");
        assert_eq!(
            codomyrmex_hmac_new(CODOMYRMEX_SHA256, b"k".as_ptr(), 1, ptr::null_mut()),
            CODOMYRMEX_ERR_NULL_POINTER
        );

        // (NULL, 0) key is the empty key.
        let mut ctx = ptr::null_mut();
        assert_eq!(
            codomyrmex_hmac_new(CODOMYRMEX_SHA384, ptr::null(), 0, &mut ctx),
            CODOMYRMEX_OK
        );
        let mut stream = Stream(ctx);
        stream.update(b"m");
        assert_eq!(stream.finish(), c_hmac(CODOMYRMEX_SHA384, b"", b"m"));
    }
    assert!(untouched(&out));
    assert_eq!(len, LEN_SENTINEL);
}
