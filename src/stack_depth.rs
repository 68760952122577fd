//! The stack budgets of `crate::secret::stack` against the stack every
//! scrubbed operation really uses.
//!
//! Each operation runs with the depth probe armed: before the work, the
//! stack below is painted with a byte pattern; after it, the deepest byte
//! that changed gives the depth used. The measure is taken with two
//! patterns (a write of the pattern's own value cannot hide) and the
//! smallest of three runs per pattern (a signal delivered meanwhile can
//! only make one run look deeper). Run it in release mode too
//! (`cargo test --release stack_depth`): the release budgets are the ones
//! that matter for speed; debug builds scrub a fixed 32 KiB.

use crate::alg::HashAlg;
use crate::hkdf::{hkdf_derive, hkdf_expand, hkdf_extract, hkdf_extract_into};
use crate::hmac::{HmacStream, hmac, hmac_verify};
use crate::hmac_key::HmacKey;
use crate::secret::depth_probe::{self, Record};
use crate::secret::scrubbed;
use std::hint::black_box;

/// A named operation, run with the probe armed.
type Operation = (String, Box<dyn Fn()>);

const KEY_LENS: [usize; 3] = [0, 32, 200];
const DATA_LENS: [usize; 3] = [0, 32, 1000];

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// Every HMAC operation for `alg`, key and message of the given lengths.
fn hmac_operations(alg: HashAlg, key_len: usize, data_len: usize) -> Vec<Operation> {
    let key = bytes(key_len, 1);
    let data = bytes(data_len, 2);
    let shape = format!("{alg} key {key_len} data {data_len}");
    let (k, d) = (key.clone(), data.clone());
    let mut ops: Vec<Operation> = vec![(
        format!("hmac {shape}"),
        Box::new(move || {
            black_box(hmac(alg, black_box(&k), black_box(&d)));
        }),
    )];
    let (k, d) = (key.clone(), data.clone());
    ops.push((
        format!("hmac_verify {shape}"),
        Box::new(move || {
            let mac = [0u8; 64];
            black_box(hmac_verify(alg, &k, &d, &mac[..alg.digest_len()]).is_err());
        }),
    ));
    let (k, d) = (key.clone(), data.clone());
    ops.push((
        format!("stream new/update/clone/finish {shape}"),
        Box::new(move || {
            let mut stream = HmacStream::new(alg, &k);
            stream.update(&d);
            let twin = stream.clone();
            black_box(stream.finish());
            drop(twin);
        }),
    ));
    ops.push((
        format!("HmacKey new/mac/verify {shape}"),
        Box::new(move || {
            let precomputed = HmacKey::new(alg, &key);
            let mac = precomputed.mac(&data);
            black_box(precomputed.verify(&data, mac.as_bytes()).is_ok());
        }),
    ));
    ops
}

/// Every HKDF operation for `alg`, with input keys of the given length.
fn hkdf_operations(alg: HashAlg, ikm_len: usize) -> Vec<Operation> {
    let ikm = bytes(ikm_len, 3);
    let shape = format!("{alg} ikm {ikm_len}");
    let mut ops: Vec<Operation> = Vec::new();
    for okm_len in [32, 255 * alg.digest_len()] {
        let ikm = ikm.clone();
        ops.push((
            format!("hkdf_derive {shape} okm {okm_len}"),
            Box::new(move || {
                let mut okm = vec![0u8; okm_len];
                hkdf_derive(alg, &ikm, b"salt", b"info", &mut okm).unwrap();
                black_box(&okm);
            }),
        ));
    }
    ops.push((
        format!("hkdf_extract/expand {shape}"),
        Box::new(move || {
            let prk = hkdf_extract(alg, b"salt", &ikm);
            let mut into = [0u8; 64];
            hkdf_extract_into(alg, b"", &ikm, &mut into[..alg.digest_len()]);
            let mut okm = [0u8; 100];
            hkdf_expand(alg, prk.as_bytes(), b"info", &mut okm).unwrap();
            black_box((&okm, &into));
        }),
    ));
    ops
}

/// Building a keyring's key set of three versions.
fn key_set_operation(alg: HashAlg) -> Operation {
    use crate::keyring::{KeySet, LoadedKey};
    use crate::secret::SecretBytes;
    (
        format!("KeySet::new {alg} 3 versions"),
        Box::new(move || {
            let loaded = LoadedKey {
                current: 2,
                versions: (1..=3)
                    .map(|v| (v, SecretBytes::from_slice(&bytes(40 * v as usize, 4))))
                    .collect(),
            };
            black_box(KeySet::new(alg, &loaded).unwrap());
        }),
    )
}

/// Sealing and unsealing the largest key, and the digest that binds a
/// version record to its successor.
fn store_operations() -> Vec<Operation> {
    use crate::seal::{Kek, seal, unseal};
    let kek = std::sync::Arc::new(Kek::from_bytes(&[9; 32]).unwrap());
    let opened = std::sync::Arc::clone(&kek);
    vec![
        (
            "seal 64 KiB".to_string(),
            Box::new(move || {
                black_box(seal(&kek, "k", 1, &bytes(crate::store::MAX_KEY_LEN, 5)).unwrap());
            }),
        ),
        (
            "unseal 64 KiB".to_string(),
            Box::new(move || {
                let file = seal(&opened, "k", 1, &bytes(crate::store::MAX_KEY_LEN, 6)).unwrap();
                black_box(unseal(Some(&opened), "k", 1, &file).unwrap());
            }),
        ),
        (
            "record digest".to_string(),
            Box::new(|| {
                black_box(crate::store::successor_digest(&bytes(200, 7)));
            }),
        ),
    ]
}

fn all_operations() -> Vec<Operation> {
    let mut ops = store_operations();
    for alg in HashAlg::ALL {
        ops.push(key_set_operation(alg));
        for key_len in KEY_LENS {
            for data_len in DATA_LENS {
                ops.extend(hmac_operations(alg, key_len, data_len));
            }
            ops.extend(hkdf_operations(alg, key_len));
        }
    }
    ops
}

/// The record of each scrubbed call `operation` makes, its depth used the
/// deepest of two patterns, each the smallest of three runs.
fn measure(operation: &dyn Fn()) -> Vec<Record> {
    let mut deepest: Vec<Record> = Vec::new();
    for pattern in [0xa5, 0x5a] {
        let runs: Vec<Vec<Record>> = (0..3)
            .map(|_| depth_probe::measure(pattern, operation))
            .collect();
        for (call, first) in runs[0].iter().enumerate() {
            let used = runs.iter().map(|run| run[call].used).min().unwrap_or(0);
            match deepest.get_mut(call) {
                Some(slot) => slot.used = slot.used.max(used),
                None => deepest.push(Record { used, ..*first }),
            }
        }
    }
    deepest
}

#[test]
fn every_scrubbed_operation_stays_within_its_stack_budget() {
    let mut over = Vec::new();
    let mut report = Vec::new();
    for (name, operation) in all_operations() {
        let calls = measure(operation.as_ref());
        assert!(!calls.is_empty(), "{name}: no scrubbed call was seen");
        let deepest = calls.iter().map(|call| call.used).max().unwrap_or(0);
        let budget = calls.iter().map(|call| call.budget).min().unwrap_or(0);
        report.push(format!("{deepest:6} of {budget:6}  {name}"));
        for call in calls {
            if call.used > call.budget || call.used > call.wiped {
                over.push(format!(
                    "{name}: {} bytes used, budget {}, the wipe reached {}",
                    call.used, call.budget, call.wiped
                ));
            }
        }
    }
    println!("stack used (bytes) of budget:\n{}", report.join("\n"));
    assert!(over.is_empty(), "over budget:\n{}", over.join("\n"));
}

/// The probe sees a frame of known size: without this, a probe that
/// measured nothing would pass the test above.
#[test]
fn the_probe_measures_a_known_frame() {
    #[inline(never)]
    fn uses_3000_bytes() {
        let mut area = [1u8; 3000];
        black_box(&mut area);
    }
    let calls = measure(&|| scrubbed::<8192, ()>(uses_3000_bytes));
    assert_eq!(calls.len(), 1);
    let Record {
        budget,
        used,
        wiped,
    } = calls[0];
    assert_eq!(budget, 8192);
    assert!((2900..3000 + 512).contains(&used), "measured {used}");
    assert!((8192 - 256..8192 + 256).contains(&wiped), "wiped {wiped}");
}
