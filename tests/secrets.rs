//! The library wipes the secrets it held before their memory goes back to
//! the allocator.
//!
//! This test binary runs on an inspecting global allocator (a wrapper over
//! `System`). While a test has inspection switched on for its own thread,
//! every block that thread frees or reallocates is searched, just before it
//! is released, for any 16-byte window of the test's secret patterns (key
//! bytes, PRKs, keyed HMAC chaining values); a match is a violation. Blocks
//! allocated meanwhile are tracked, so a test can also show that a secret
//! *was* in the heap during the operation (the inspector can see it there)
//! and that no live block still holds it when the test ends. Reallocating a
//! block that holds a secret counts as a violation too: the copy left behind
//! can never be wiped.
//!
//! The inspector is `common::inspector`. The HMAC streams' own blocks are
//! checked in `secrets_hmac_state.rs`; here: the inspector itself, the safe
//! API's buffers, the key store (safe and C), and the stack, which the
//! allocator cannot see.
//!
//! The tests take a global lock, so they run one at a time, and each
//! pattern is used by one test only, so bytes left in freed memory by one
//! test can never make another look right.

mod common;

use codomyrmex_keys::ffi::hmac::{codomyrmex_hmac, codomyrmex_hmac_free, codomyrmex_hmac_new};
use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_free, codomyrmex_key_manager_get,
    codomyrmex_key_manager_get_version, codomyrmex_key_manager_hmac,
    codomyrmex_key_manager_hmac_tagged, codomyrmex_key_manager_open, codomyrmex_key_manager_rotate,
    codomyrmex_key_manager_store,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::CODOMYRMEX_OK;
use codomyrmex_keys::{
    HashAlg, HmacStream, KeyManager, Prk, SecretBytes, Version, hkdf_derive, hkdf_extract,
};
use common::inspector::{
    Event, IPAD, Inspection, Inspector, OPAD, WINDOW, chaining_value, contains, secret, serial,
};
use common::store::{Bounded, rotate_bounded, v, version_list};
use std::ffi::CString;
use std::num::NonZeroU32;
use std::os::unix::ffi::OsStrExt;
use zeroize::{Zeroize, Zeroizing};

#[global_allocator]
static ALLOCATOR: Inspector = Inspector;

fn fresh_store() -> (tempfile::TempDir, KeyManager) {
    let tmp = tempfile::tempdir().unwrap();
    let km = KeyManager::open(tmp.path().join("keys")).unwrap();
    (tmp, km)
}

// ---- The inspector itself ----

#[test]
fn inspector_catches_unwiped_copies() {
    const SECRET: [u8; 48] = secret(0x1d2c_3b4a);
    let _serial = serial();
    let names = ["control secret"];

    let inspection = Inspection::start(&[(&SECRET, true)]);
    // A plain copy, freed without a wipe.
    let copy = SECRET.to_vec();
    inspection.scan_now();
    drop(copy);
    // A 16-byte piece of it.
    drop(SECRET[7..23].to_vec());
    // 15 bytes are below the window: not reported.
    drop(SECRET[0..15].to_vec());
    // A copy that grows: the reallocation leaves the old block behind.
    let mut grown = Vec::with_capacity(SECRET.len());
    grown.extend_from_slice(&SECRET);
    grown.reserve(4096);
    grown.zeroize();
    drop(grown);
    // A copy still live at the end.
    let kept = Box::new(SECRET);
    let report = inspection.finish();
    drop(kept);

    report.assert_seen(&names);
    let events: Vec<Event> = report.violations[..report.violation_count]
        .iter()
        .map(|v| v.event)
        .collect();
    assert_eq!(
        events,
        [
            Event::Freed,
            Event::Freed,
            Event::Reallocated,
            Event::LeftLive
        ]
    );
    // The piece matched at its own place in the secret.
    assert_eq!(report.violations[1].window, 7);
    assert_eq!(report.violations[1].block_size, 16);
}

#[test]
fn inspector_sees_wiped_memory_as_clean() {
    const SECRET: [u8; 40] = secret(0x5eed_0001);
    let _serial = serial();
    let inspection = Inspection::start(&[(&SECRET, true)]);
    let mut copy = SECRET.to_vec();
    inspection.scan_now();
    copy.zeroize();
    drop(copy);
    let report = inspection.finish();
    report.assert_seen(&["secret"]);
    report.assert_clean(&["secret"]);
}

// ---- Buffers of the safe API ----

#[test]
fn secret_bytes_are_wiped_on_drop() {
    const KEY: [u8; 48] = secret(0x0bad_cafe);
    let _serial = serial();
    let names = ["key"];
    let inspection = Inspection::start(&[(&KEY, true)]);
    let secret = SecretBytes::from_slice(&KEY);
    let twin = secret.clone();
    assert_eq!(format!("{secret:?}"), "SecretBytes([redacted; 48])");
    inspection.scan_now();
    drop(secret);
    drop(twin);
    let report = inspection.finish();
    report.assert_seen(&names);
    report.assert_clean(&names);
}

#[test]
fn prk_is_wiped_on_drop() {
    let _serial = serial();
    for (n, alg) in HashAlg::ALL.into_iter().enumerate() {
        const IKM: [u8; 32] = secret(0x1234_5678);
        let salt = [n as u8 + 1; 16];
        // The expected PRK, computed outside the inspection (on the stack).
        let mut prk = [0u8; 64];
        let len = alg.digest_len();
        prk[..len].copy_from_slice(hkdf_extract(alg, &salt, &IKM).as_bytes());
        let names = ["PRK"];

        let inspection = Inspection::start(&[(&prk[..len], true)]);
        let boxed: Box<Prk> = Box::new(hkdf_extract(alg, &salt, &IKM));
        let cloned = Box::new((*boxed).clone());
        assert_eq!(boxed.as_bytes(), &prk[..len]);
        inspection.scan_now();
        drop(boxed);
        drop(cloned);
        let report = inspection.finish();
        report.assert_seen(&names);
        report.assert_clean(&names);
    }
}

// ---- The key store ----

#[test]
fn get_and_get_version_copies_are_wiped() {
    const V1: [u8; 48] = secret(0x7e57_0001);
    const V2: [u8; 40] = secret(0x7e57_0002);
    let _serial = serial();
    let (_tmp, km) = fresh_store();
    km.store("k", &V1).unwrap();
    km.rotate("k", &V2).unwrap();
    let names = ["version 1", "version 2"];

    let inspection = Inspection::start(&[(&V1, true), (&V2, true)]);
    let current = km.get("k").unwrap();
    let first = km.key("k").unwrap().at(v(1)).get().unwrap();
    let zero = km.key("k").unwrap().at(Version::Current).get().unwrap();
    inspection.scan_now();
    assert_eq!(current.as_bytes(), V2);
    assert_eq!(first.as_bytes(), V1);
    assert_eq!(zero.as_bytes(), V2);
    drop((current, first, zero));
    let report = inspection.finish();
    report.assert_seen(&names);
    report.assert_clean(&names);
}

#[test]
fn store_and_rotate_wipe_the_keys_they_read() {
    const OLD: [u8; 48] = secret(0x5707_0001);
    const NEW: [u8; 33] = secret(0x5707_0002);
    const NEWER: [u8; 64] = secret(0x5707_0003);
    let _serial = serial();
    let (_tmp, km) = fresh_store();
    km.store("k", &OLD).unwrap();
    let names = ["old key", "new key", "newer key"];

    // Storing over a key reads it (to record it as a version); rotating
    // reads and returns it. The keys passed in go from the caller's slice
    // straight to the file: the newest is never in the heap at all.
    let inspection = Inspection::start(&[(&OLD, true), (&NEW, true), (&NEWER, false)]);
    km.store("k", &NEW).unwrap();
    let previous = km.rotate("k", &NEWER).unwrap().expect("a previous key");
    assert_eq!(previous.as_bytes(), NEW);
    inspection.scan_now();
    drop(previous);
    let bounded = rotate_bounded(&km, "k", &OLD, 8).unwrap_err();
    assert!(
        matches!(bounded, Bounded::TooLong { needed: 64 }),
        "{bounded:?}"
    );
    let report = inspection.finish();
    report.assert_seen(&names);
    report.assert_clean(&names);
    assert_eq!(version_list(&km, "k").unwrap(), [1, 2, 3]);
}

#[test]
fn generate_wipes_the_random_key() {
    // An unusual length, so the key's block can be recognized by its size.
    const LEN: usize = 61;
    let _serial = serial();
    let (_tmp, km) = fresh_store();

    let inspection = Inspection::start_blind(LEN);
    km.generate("g", LEN).unwrap();
    let report = inspection.finish();

    let mut key = [0u8; LEN];
    {
        let stored = km.get("g").unwrap();
        key.copy_from_slice(&stored);
    }
    let (found, sighted) = Inspection::search(&key);
    assert!(!report.live_overflow);
    assert!(
        sighted,
        "the generated key was never seen in the heap: the test proves nothing"
    );
    assert!(
        found.is_empty(),
        "the generated key was left in freed or live blocks: {found:?}"
    );
}

#[test]
fn mac_derive_and_tagged_operations_wipe_the_keys_they_read() {
    const V1: [u8; 48] = secret(0x3ac0_0001);
    const V2: [u8; 56] = secret(0x3ac0_0002);
    let _serial = serial();
    let (_tmp, km) = fresh_store();
    km.store("k", &V1).unwrap();
    let key = km.key("k").unwrap();
    let tag1 = key.hmac_tagged(HashAlg::Sha384, b"message").unwrap();
    km.rotate("k", &V2).unwrap();
    // The derived key, computed beforehand on the stack: the library must
    // write it to the caller's buffer only.
    let mut expected_okm = [0u8; 48];
    hkdf_derive(HashAlg::Sha256, &V2, b"salt", b"info", &mut expected_okm).unwrap();
    let names = ["version 1", "version 2", "derived key"];

    let inspection = Inspection::start(&[(&V1, true), (&V2, true), (&expected_okm, false)]);
    let mac = key.hmac(HashAlg::Sha512, b"message").unwrap();
    key.hmac_verify(HashAlg::Sha512, b"message", mac.as_bytes())
        .unwrap();
    let mut okm = [0u8; 48];
    key.derive(HashAlg::Sha256, b"salt", b"info", &mut okm)
        .unwrap();
    let tag2 = key.hmac_tagged(HashAlg::Sha256, b"message").unwrap();
    key.hmac_verify_tagged(HashAlg::Sha256, b"message", tag2.as_bytes())
        .unwrap();
    key.hmac_verify_tagged(HashAlg::Sha384, b"message", tag1.as_bytes())
        .unwrap();
    let old_mac = key.at(v(1)).hmac(HashAlg::Sha256, b"message").unwrap();
    let mut old_okm = [0u8; 32];
    key.at(v(1))
        .derive(HashAlg::Sha512, b"", b"", &mut old_okm)
        .unwrap();
    km.prune("k", NonZeroU32::MIN).unwrap();
    let report = inspection.finish();

    assert_eq!(okm, expected_okm);
    assert_eq!(
        old_mac,
        codomyrmex_keys::hmac(HashAlg::Sha256, &V1, b"message")
    );
    report.assert_seen(&names);
    report.assert_clean(&names);
    km.delete("k").unwrap();
}

#[test]
fn c_api_key_manager_wipes_its_copies() {
    const V1: [u8; 48] = secret(0xc0de_0001);
    const V2: [u8; 44] = secret(0xc0de_0002);
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = CString::new(tmp.path().join("keys").as_os_str().as_bytes()).unwrap();
    let id = c"k";
    let mut km: *mut codomyrmex_key_manager = std::ptr::null_mut();
    // SAFETY: `dir` is NUL-terminated; `km` is writable.
    assert_eq!(
        unsafe { codomyrmex_key_manager_open(dir.as_ptr(), &mut km) },
        CODOMYRMEX_OK
    );
    // SAFETY: `km` is live; `id` is NUL-terminated; `V1` valid.
    let status = unsafe { codomyrmex_key_manager_store(km, id.as_ptr(), V1.as_ptr(), V1.len()) };
    assert_eq!(status, CODOMYRMEX_OK);
    let names = ["version 1", "version 2"];

    let inspection = Inspection::start(&[(&V1, true), (&V2, true)]);
    let mut old = [0u8; 64];
    let mut old_len = 0;
    let mut key = [0u8; 64];
    let mut key_len = 0;
    let mut first = [0u8; 64];
    let mut first_len = 0;
    let mut mac = [0u8; 64];
    let mut mac_len = 0;
    let mut tag = [0u8; 69];
    let mut tag_len = 0;
    // SAFETY: `km` is live; every buffer is valid for its capacity.
    unsafe {
        let status = codomyrmex_key_manager_rotate(
            km,
            id.as_ptr(),
            V2.as_ptr(),
            V2.len(),
            old.as_mut_ptr(),
            old.len(),
            &mut old_len,
        );
        assert_eq!(status, CODOMYRMEX_OK);
        let status =
            codomyrmex_key_manager_get(km, id.as_ptr(), key.as_mut_ptr(), key.len(), &mut key_len);
        assert_eq!(status, CODOMYRMEX_OK);
        let status = codomyrmex_key_manager_get_version(
            km,
            id.as_ptr(),
            1,
            first.as_mut_ptr(),
            first.len(),
            &mut first_len,
        );
        assert_eq!(status, CODOMYRMEX_OK);
        let status = codomyrmex_key_manager_hmac(
            km,
            id.as_ptr(),
            HashAlg::Sha256.value(),
            b"data".as_ptr(),
            4,
            mac.as_mut_ptr(),
            mac.len(),
            &mut mac_len,
        );
        assert_eq!(status, CODOMYRMEX_OK);
        let status = codomyrmex_key_manager_hmac_tagged(
            km,
            id.as_ptr(),
            HashAlg::Sha512.value(),
            b"data".as_ptr(),
            4,
            tag.as_mut_ptr(),
            tag.len(),
            &mut tag_len,
        );
        assert_eq!(status, CODOMYRMEX_OK);
    }
    let report = inspection.finish();
    // SAFETY: `km` came from codomyrmex_key_manager_open; freed once.
    unsafe { codomyrmex_key_manager_free(km) };

    assert_eq!(&old[..old_len], V1);
    assert_eq!(&key[..key_len], V2);
    assert_eq!(&first[..first_len], V1);
    assert_eq!(tag_len, 69);
    report.assert_seen(&names);
    report.assert_clean(&names);
}

// ---- The stack (outside the allocator's view) ----

/// Runs HMAC and HKDF the ways a caller can, in frames deeper than the
/// caller's, and returns.
#[inline(never)]
fn hmac_and_hkdf_calls(key: &[u8]) {
    use std::hint::black_box;
    black_box(codomyrmex_keys::hmac(
        HashAlg::Sha256,
        black_box(key),
        b"data",
    ));
    let mut stream = HmacStream::new(HashAlg::Sha256, black_box(key));
    stream.update(b"data");
    black_box(stream.finish());
    drop(stream);
    let mut ctx: *mut codomyrmex_hmac = std::ptr::null_mut();
    // SAFETY: `key` is valid for its length; `ctx` is writable and the
    // stream is freed once.
    unsafe {
        assert_eq!(
            codomyrmex_hmac_new(1, key.as_ptr(), key.len(), &mut ctx),
            CODOMYRMEX_OK
        );
        codomyrmex_hmac_free(ctx);
    }
    let prk = hkdf_extract(HashAlg::Sha256, b"salt", black_box(key));
    black_box(&prk);
    drop(prk);
    let mut okm = [0u8; 42];
    hkdf_derive(HashAlg::Sha256, key, b"salt", b"info", &mut okm).unwrap();
    black_box(&okm);
}

/// Copies into `out` the stack just below this function's frame: what the
/// frames of calls that have returned left there.
#[inline(never)]
fn read_dead_stack(out: &mut [u8]) {
    let marker = 0u8;
    let bottom = std::hint::black_box(&marker) as *const u8 as usize - 256 - out.len();
    for (i, byte) in out.iter_mut().enumerate() {
        // SAFETY: the thread's stack is mapped far below this point (the
        // thread has a 1 MiB stack and this runs near its top).
        *byte = unsafe { std::ptr::read_volatile((bottom + i) as *const u8) };
    }
}

/// Outside the allocator's view: after HMAC and HKDF calls return, their
/// dead stack frames should hold no key, keyed HMAC state or PRK.
#[test]
fn hmac_and_hkdf_leave_no_secrets_in_dead_stack_frames() {
    const KEY: [u8; 40] = secret(0x57ac_0001);
    let _serial = serial();
    let mut padded = [0u8; 64];
    padded[..KEY.len()].copy_from_slice(&KEY);
    let key_opad: Zeroizing<Vec<u8>> = Zeroizing::new(padded.iter().map(|b| b ^ OPAD).collect());
    let mut prk = [0u8; 32];
    prk.copy_from_slice(hkdf_extract(HashAlg::Sha256, b"salt", &KEY).as_bytes());
    let secrets: [(&str, Zeroizing<Vec<u8>>); 5] = [
        ("raw key", Zeroizing::new(KEY.to_vec())),
        (
            "key^opad block",
            Zeroizing::new(key_opad[..KEY.len()].to_vec()),
        ),
        (
            "inner keyed chaining value",
            chaining_value(HashAlg::Sha256, &KEY, IPAD, &[]),
        ),
        (
            "outer keyed chaining value",
            chaining_value(HashAlg::Sha256, &KEY, OPAD, &[]),
        ),
        ("PRK", Zeroizing::new(prk.to_vec())),
    ];

    let stack = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(|| {
            let mut stack = vec![0u8; 64 * 1024];
            hmac_and_hkdf_calls(&KEY);
            read_dead_stack(&mut stack);
            stack
        })
        .unwrap()
        .join()
        .unwrap();
    let left: Vec<&str> = secrets
        .iter()
        .filter(|(_, secret)| {
            secret
                .windows(WINDOW)
                .any(|window| contains(&stack, window))
        })
        .map(|(name, _)| *name)
        .collect();
    assert!(left.is_empty(), "left in dead stack frames: {left:?}");
}
