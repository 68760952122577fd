//! The groups of the hot-path benchmark.

use crate::harness::{Settings, group, row};
use codomyrmex_keys::{HashAlg, KeyManager, Keyring, hkdf_derive, hmac};
use std::hint::black_box;

const KEY: [u8; 32] = [0x5a; 32];
const MSG: [u8; 32] = [0x17; 32];

/// Plain RustCrypto HMAC-SHA256, the key set up per call.
fn plain_hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("any key");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Two SHA-256 compressions: the floor of an HMAC with a precomputed key
/// and a message shorter than 56 bytes.
fn two_compressions(state: &mut [u32; 8], blocks: &[[u8; 64]; 2]) {
    sha2::block_api::compress256(state, blocks);
}

pub fn one_shot(settings: &Settings) {
    assert_eq!(
        hmac(HashAlg::Sha256, &KEY, &MSG).as_bytes(),
        plain_hmac_sha256(&KEY, &MSG)
    );
    group(
        settings,
        "HMAC-SHA256 32 B one-shot, 32-byte key",
        vec![
            row("RustCrypto Hmac<Sha256> (plain)", || {
                black_box(plain_hmac_sha256(black_box(&KEY), black_box(&MSG)));
            }),
            row("codomyrmex_keys::hmac (stack scrubbed)", || {
                black_box(hmac(HashAlg::Sha256, black_box(&KEY), black_box(&MSG)));
            }),
        ],
    );
    for alg in [HashAlg::Sha384, HashAlg::Sha512] {
        group(
            settings,
            &format!("HMAC-{alg} 32 B one-shot"),
            vec![row("codomyrmex_keys::hmac", || {
                black_box(hmac(alg, black_box(&KEY), black_box(&MSG)));
            })],
        );
    }
    let salt = [0x01u8; 32];
    let info = *b"codomyrmex bench";
    let mut plain_okm = [0u8; 32];
    let mut okm = [0u8; 32];
    group(
        settings,
        "HKDF-SHA256 32 B out, 32-byte ikm and salt, 16-byte info",
        vec![
            row("RustCrypto Hkdf<Sha256> new + expand (plain)", || {
                let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(&salt), black_box(&KEY));
                hkdf.expand(&info, &mut plain_okm).expect("32 bytes");
                black_box(&plain_okm);
            }),
            row("codomyrmex_keys::hkdf_derive (stack scrubbed)", || {
                hkdf_derive(HashAlg::Sha256, black_box(&KEY), &salt, &info, &mut okm)
                    .expect("32 bytes");
                black_box(&okm);
            }),
        ],
    );
}

/// A keyring of a key store in a temporary directory holding `KEY`,
/// checking the store every `refresh` (or never).
fn keyring(dir: &std::path::Path, refresh: Option<std::time::Duration>) -> Keyring {
    let km = KeyManager::open(dir).expect("a key directory");
    if !km.exists("bench").expect("readable") {
        km.create("bench", &KEY).expect("stored");
    }
    km.load("bench", HashAlg::Sha256, refresh).expect("loads")
}

pub fn keyrings(settings: &Settings) {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let never = keyring(tmp.path(), None);
    let checking = keyring(tmp.path(), Some(std::time::Duration::from_millis(100)));
    let expected = hmac(HashAlg::Sha256, &KEY, &MSG);
    let tag = never.hmac_tagged(&MSG).expect("a tag");
    assert_eq!(checking.hmac(&MSG).expect("a MAC"), expected);
    println!("\nkeyring pages locked: {}", never.is_locked());
    let mut state = [0x6a09_e667u32; 8];
    let blocks = [[0x36u8; 64]; 2];
    group(
        settings,
        "keyring HMAC-SHA256 32 B",
        vec![
            row("floor: two SHA-256 compressions", || {
                two_compressions(black_box(&mut state), black_box(&blocks));
            }),
            row("Keyring::hmac, refresh_ms 0", || {
                black_box(never.hmac(black_box(&MSG)).expect("a MAC"));
            }),
            row("Keyring::hmac, refresh_ms 100", || {
                black_box(checking.hmac(black_box(&MSG)).expect("a MAC"));
            }),
            row("Keyring::hmac_verify, refresh_ms 100", || {
                checking
                    .hmac_verify(black_box(&MSG), expected.as_bytes())
                    .expect("verifies");
            }),
            row("Keyring::hmac_tagged, refresh_ms 100", || {
                black_box(checking.hmac_tagged(black_box(&MSG)).expect("a tag"));
            }),
            row("Keyring::hmac_verify_tagged, refresh_ms 100", || {
                checking
                    .hmac_verify_tagged(black_box(&MSG), tag.as_bytes())
                    .expect("verifies");
            }),
            row("codomyrmex_keys::hmac (key set up per call)", || {
                black_box(hmac(HashAlg::Sha256, black_box(&KEY), black_box(&MSG)));
            }),
        ],
    );
}

pub fn clocks(settings: &Settings) {
    use rustix::time::{ClockId, clock_gettime};
    group(
        settings,
        "reading the time",
        vec![
            row("std::time::Instant::now (CLOCK_MONOTONIC)", || {
                black_box(std::time::Instant::now());
            }),
            row("clock_gettime(CLOCK_MONOTONIC_COARSE)", || {
                black_box(clock_gettime(ClockId::MonotonicCoarse));
            }),
        ],
    );
}

/// Eight threads each take `LOADS` references to a shared value.
fn eight_threads(load: &(dyn Fn() -> u64 + Sync)) {
    const LOADS: usize = 20_000;
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..LOADS {
                    black_box(load());
                }
            });
        }
    });
}

pub fn contention(settings: &Settings) {
    use std::sync::{Arc, RwLock};
    let swapped = arc_swap::ArcSwap::from_pointee(7u64);
    let locked = RwLock::new(Arc::new(7u64));
    group(
        settings,
        "8 threads x 20,000 reads of the shared set (per batch)",
        vec![
            row("arc_swap::ArcSwap::load", || {
                eight_threads(&|| **swapped.load());
            }),
            row("std::sync::RwLock<Arc<_>>::read + clone", || {
                eight_threads(&|| {
                    let set = Arc::clone(&locked.read().expect("not poisoned"));
                    *set
                });
            }),
        ],
    );
}
