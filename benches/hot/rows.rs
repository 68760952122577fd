//! The groups of the hot-path benchmark.

use crate::harness::{Settings, group, row};
use codomyrmex_keys::internals::HmacKey;
use codomyrmex_keys::{HashAlg, hkdf_derive, hmac};
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

pub fn precomputed(settings: &Settings) {
    let key = HmacKey::new(HashAlg::Sha256, &KEY);
    let expected = hmac(HashAlg::Sha256, &KEY, &MSG);
    assert_eq!(key.mac(&MSG), expected);
    let mut state = [0x6a09_e667u32; 8];
    let blocks = [[0x36u8; 64]; 2];
    group(
        settings,
        "HMAC-SHA256 32 B with the key precomputed",
        vec![
            row("floor: two SHA-256 compressions", || {
                two_compressions(black_box(&mut state), black_box(&blocks));
            }),
            row("HmacKey::mac", || {
                black_box(key.mac(black_box(&MSG)));
            }),
            row("HmacKey::verify", || {
                black_box(key.verify(black_box(&MSG), expected.as_bytes())).expect("verifies");
            }),
            row("codomyrmex_keys::hmac (key set up per call)", || {
                black_box(hmac(HashAlg::Sha256, black_box(&KEY), black_box(&MSG)));
            }),
        ],
    );
}

pub fn keyrings(_settings: &Settings) {}

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

pub fn contention(_settings: &Settings) {}
