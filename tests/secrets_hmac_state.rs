//! The library wipes the HMAC state it held: the block of a stream (C and
//! safe API) is checked field by field when it is freed (where its keyed
//! chaining values lay must be zero), and whole, padding included.
//!
//! The test binary runs on the inspecting allocator of `common::inspector`
//! (see `secrets.rs`). The tests take a global lock, so they run one at a
//! time, and each pattern is used by one test only.

mod common;

use codomyrmex_keys::ffi::hmac::{
    codomyrmex_hmac, codomyrmex_hmac_finish, codomyrmex_hmac_free, codomyrmex_hmac_new,
    codomyrmex_hmac_update,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::CODOMYRMEX_OK;
use codomyrmex_keys::{HashAlg, HmacStream};
use common::inspector::{
    IPAD, Inspection, Inspector, OPAD, chaining_value, contains, describe, secret, serial,
};
use zeroize::Zeroizing;

#[global_allocator]
static ALLOCATOR: Inspector = Inspector;

// ---- HMAC state ----

/// The secrets of an HMAC stream keyed with `key` that has been fed
/// `data`: the key, the inner and outer keyed chaining values, and the
/// inner chaining value after the whole blocks of `data`.
struct StreamSecrets {
    inner: Zeroizing<Vec<u8>>,
    outer: Zeroizing<Vec<u8>>,
    running: Zeroizing<Vec<u8>>,
}

impl StreamSecrets {
    const NAMES: [&str; 4] = [
        "raw key",
        "inner keyed chaining value",
        "outer keyed chaining value",
        "running inner chaining value",
    ];

    fn new(alg: HashAlg, key: &[u8], data: &[u8]) -> StreamSecrets {
        let block = if alg == HashAlg::Sha256 { 64 } else { 128 };
        let whole = &data[..data.len() / block * block];
        StreamSecrets {
            inner: chaining_value(alg, key, IPAD, &[]),
            outer: chaining_value(alg, key, OPAD, &[]),
            running: chaining_value(alg, key, IPAD, whole),
        }
    }

    /// Patterns for an inspection: the raw key is never expected in the heap
    /// (only its chaining values are), but must not be found there either.
    fn patterns<'a>(&'a self, key: &'a [u8]) -> [(&'a [u8], bool); 4] {
        [
            (key, false),
            (&self.inner, true),
            (&self.outer, true),
            (&self.running, true),
        ]
    }
}

const STREAM_DATA: [u8; 300] = {
    let mut data = [0u8; 300];
    let mut i = 0;
    while i < data.len() {
        data[i] = (i % 7) as u8 + b'a';
        i += 1;
    }
    data
};

/// Every offset in `block` where the whole of `pattern` lies.
fn offsets_of(block: &[u8], pattern: &[u8]) -> Vec<usize> {
    block
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern)
        .map(|(at, _)| at)
        .collect()
}

/// Where a live stream keeps the values `wanted` (indexes into
/// [`StreamSecrets::NAMES`]): (name, offset, length).
///
/// The stream is two `State` enums, one per half of its block. In each
/// half, a state's fields come first and the unused tail of a smaller
/// variant comes last; that tail may hold stale copies of the same values
/// (see the padding test below), so the first place a value lies in a half
/// is its field. Look for a value only while its field holds it: the keyed
/// values right after creation, the running one right after an update.
fn secret_fields(
    block: &[u8],
    secrets: &StreamSecrets,
    wanted: &[usize],
) -> Vec<(&'static str, usize, usize)> {
    let values = [&secrets.inner, &secrets.outer, &secrets.running];
    let half = block.len() / 2;
    let mut fields = Vec::new();
    for start in [0, half] {
        for &i in wanted {
            let pattern = values[i - 1];
            if let Some(&at) = offsets_of(&block[start..start + half], pattern).first() {
                fields.push((StreamSecrets::NAMES[i], start + at, pattern.len()));
            }
        }
    }
    fields
}

/// Checks, field by field, the block of a stream as it was freed: every
/// place that held a chaining value is zero, and the raw key is nowhere.
fn assert_fields_wiped(alg: HashAlg, freed: &[u8], fields: &[(&str, usize, usize)], key: &[u8]) {
    for &(name, at, len) in fields {
        assert!(
            freed[at..at + len].iter().all(|&b| b == 0),
            "{alg}: the {name} at offset {at} of the stream was not wiped"
        );
    }
    assert!(!contains(freed, key), "{alg}: the raw key is in the stream");
}

/// The heap block holding a stream's state: a stream (and the C handle,
/// which wraps one) starts with the pointer to it.
fn state_block(inspection: &Inspection, handle: *const u8) -> (*const u8, usize) {
    // SAFETY: `handle` points to a live stream or C handle, whose first
    // field is the pointer to the state block.
    let at = unsafe { handle.cast::<*const u8>().read() };
    let size = inspection
        .live_size(at)
        .expect("the state block was allocated during the inspection");
    (at, size)
}

/// A stream's own block is checked field by field: the places where its
/// keyed and running chaining values lay must be zero when it is freed.
/// (The rest of its block is the subject of the padding test below.) Every
/// other block freed meanwhile is searched for all of them as usual.
#[test]
fn hmac_stream_of_the_c_api_is_wiped_on_free() {
    const KEY: [u8; 48] = secret(0x00c0_ffee);
    let _serial = serial();
    for alg in HashAlg::ALL {
        let secrets = StreamSecrets::new(alg, &KEY, &STREAM_DATA);

        let inspection = Inspection::start(&secrets.patterns(&KEY));
        let mut ctx: *mut codomyrmex_hmac = std::ptr::null_mut();
        // SAFETY: `KEY` is valid for its length; `ctx` is writable.
        let status = unsafe { codomyrmex_hmac_new(alg.value(), KEY.as_ptr(), KEY.len(), &mut ctx) };
        assert_eq!(status, CODOMYRMEX_OK);
        let (state_at, stream_size) = state_block(&inspection, ctx.cast());
        inspection.set_aside(state_at);
        // SAFETY: `state_at` is the live state block, `stream_size` bytes.
        let block = unsafe { std::slice::from_raw_parts(state_at, stream_size) };
        let mut fields = secret_fields(block, &secrets, &[1, 2]);
        assert!(contains(block, &secrets.inner), "{alg}: no inner state");
        assert!(contains(block, &secrets.outer), "{alg}: no outer state");

        // SAFETY: `ctx` is live; the data is valid for its length.
        let status =
            unsafe { codomyrmex_hmac_update(ctx, STREAM_DATA.as_ptr(), STREAM_DATA.len()) };
        assert_eq!(status, CODOMYRMEX_OK);
        // SAFETY: as above.
        let block = unsafe { std::slice::from_raw_parts(state_at, stream_size) };
        assert!(contains(block, &secrets.running), "{alg}: no running state");
        fields.extend(secret_fields(block, &secrets, &[3]));
        assert!(fields.len() >= 5, "{alg}: {fields:?}");
        inspection.scan_now();

        let mut mac = [0u8; 64];
        let mut len = 0;
        // SAFETY: `ctx` is live; `mac` has 64 writable bytes; the stream is
        // freed once.
        unsafe {
            let status = codomyrmex_hmac_finish(ctx, mac.as_mut_ptr(), mac.len(), &mut len);
            assert_eq!(status, CODOMYRMEX_OK);
            codomyrmex_hmac_free(ctx);
        }
        let report = inspection.finish();
        let freed = Inspection::captured().expect("the stream was freed");

        assert_eq!(
            &mac[..len],
            codomyrmex_keys::hmac(alg, &KEY, &STREAM_DATA).as_bytes()
        );
        assert_eq!(freed.len(), stream_size);
        assert_fields_wiped(alg, &freed, &fields, &KEY);
        report.assert_seen(&StreamSecrets::NAMES);
        report.assert_clean(&StreamSecrets::NAMES);
    }
}

#[test]
fn hmac_stream_of_the_safe_api_is_wiped_on_drop() {
    const KEY: [u8; 64] = secret(0x0dec_0de5);
    let _serial = serial();
    for alg in HashAlg::ALL {
        let secrets = StreamSecrets::new(alg, &KEY, &STREAM_DATA);

        let inspection = Inspection::start(&secrets.patterns(&KEY));
        let mut stream = HmacStream::new(alg, &KEY);
        let handle: *const HmacStream = &stream;
        let (at, stream_size) = state_block(&inspection, handle.cast());
        inspection.set_aside(at);
        let view = || {
            // SAFETY: the state block is live and `stream_size` bytes long;
            // it is only read while no `&mut` to it is in use.
            unsafe { std::slice::from_raw_parts(at, stream_size) }
        };
        let mut fields = secret_fields(view(), &secrets, &[1, 2]);
        stream.update(&STREAM_DATA[..100]);
        stream.update(&STREAM_DATA[100..]);
        fields.extend(secret_fields(view(), &secrets, &[3]));
        inspection.scan_now();
        let mac = stream.finish();
        drop(stream);
        let report = inspection.finish();
        let freed = Inspection::captured().expect("the stream was freed");

        assert_eq!(mac, codomyrmex_keys::hmac(alg, &KEY, &STREAM_DATA));
        assert!(fields.len() >= 5, "{alg}: {fields:?}");
        assert_fields_wiped(alg, &freed, &fields, &KEY);
        report.assert_seen(&StreamSecrets::NAMES);
        report.assert_clean(&StreamSecrets::NAMES);
    }
}

/// Fills 32 KiB of stack below the caller with copies of `secret`, as the
/// frames of earlier HMAC calls leave their state there (see the stack test
/// at the end), then returns.
#[inline(never)]
fn leave_on_stack(secret: &[u8]) {
    let mut area = [0u8; 32 * 1024];
    for chunk in area.chunks_mut(secret.len()) {
        chunk.copy_from_slice(&secret[..chunk.len()]);
    }
    std::hint::black_box(&mut area);
}

/// The whole block of a stream, padding included, when the stack it was
/// built on held HMAC state (as it does after any earlier HMAC call).
#[test]
fn hmac_stream_block_is_wiped_whole_padding_included() {
    const KEY: [u8; 48] = secret(0xfade_0001);
    let _serial = serial();
    let mut leaks = Vec::new();
    for alg in HashAlg::ALL {
        let secrets = StreamSecrets::new(alg, &KEY, &[]);
        let mut stale = Zeroizing::new(secrets.inner.to_vec());
        stale.extend_from_slice(&secrets.outer);
        let names = &StreamSecrets::NAMES[..3];
        let patterns = &secrets.patterns(&KEY)[..3];

        // Through the C interface.
        let inspection = Inspection::start(patterns);
        let mut ctx: *mut codomyrmex_hmac = std::ptr::null_mut();
        leave_on_stack(&stale);
        // SAFETY: `KEY` is valid for its length; `ctx` is writable.
        let status = unsafe { codomyrmex_hmac_new(alg.value(), KEY.as_ptr(), KEY.len(), &mut ctx) };
        assert_eq!(status, CODOMYRMEX_OK);
        inspection.scan_now();
        let mut mac = [0u8; 64];
        let mut len = 0;
        leave_on_stack(&stale);
        // SAFETY: `ctx` is live; `mac` has 64 writable bytes; freed once.
        unsafe {
            let status = codomyrmex_hmac_finish(ctx, mac.as_mut_ptr(), mac.len(), &mut len);
            assert_eq!(status, CODOMYRMEX_OK);
            codomyrmex_hmac_free(ctx);
        }
        let report = inspection.finish();
        report.assert_seen(names);
        if report.violation_count > 0 {
            leaks.push(format!("{alg} (C stream): {}", describe(&report, names)));
        }

        // A boxed stream of the safe API.
        let inspection = Inspection::start(patterns);
        leave_on_stack(&stale);
        let mut stream = Box::new(HmacStream::new(alg, &KEY));
        inspection.scan_now();
        leave_on_stack(&stale);
        std::hint::black_box(stream.finish());
        leave_on_stack(&stale);
        let twin = stream.clone();
        drop(twin);
        drop(stream);
        let report = inspection.finish();
        report.assert_seen(names);
        if report.violation_count > 0 {
            leaks.push(format!(
                "{alg} (boxed HmacStream): {}",
                describe(&report, names)
            ));
        }
    }
    assert!(
        leaks.is_empty(),
        "HMAC state left in freed stream blocks:\n  {}",
        leaks.join("\n  ")
    );
}
