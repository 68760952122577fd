//! Benchmarks of the safe Rust API: one-shot HMAC and HKDF at 32 B beside
//! plain RustCrypto and the two-compression floor, HMAC one-shot at 32 B to
//! 1 MiB for every algorithm, streaming HMAC, HKDF, the key store's get
//! and list, and get and keyring load on a sealed store beside a plain one.
//! Precomputed keys and keyrings: `benches/hot`.
//!
//! `cargo bench --bench api`. The side-by-side comparison with OpenSSL and
//! libsodium is the C benchmark (`scripts/bench.sh`, BENCHMARKS.md).

use codomyrmex_keys::{HashAlg, HmacStream, KeyManager, Location, OpenOptions, hkdf_derive, hmac};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::os::unix::fs::PermissionsExt;

const SIZES: [usize; 4] = [32, 1024, 64 * 1024, 1024 * 1024];

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

fn bench_hmac(c: &mut Criterion) {
    let key = [0x5au8; 32];
    let msg = message(1024 * 1024);
    for alg in HashAlg::ALL {
        let mut group = c.benchmark_group(format!("hmac-{alg}"));
        for size in SIZES {
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
                b.iter(|| hmac(alg, black_box(&key), black_box(&msg[..size])));
            });
        }
        group.finish();
    }
    let mut group = c.benchmark_group("hmac-stream-1MiB-4KiB-updates");
    group.throughput(Throughput::Bytes(msg.len() as u64));
    for alg in HashAlg::ALL {
        group.bench_function(alg.name(), |b| {
            b.iter(|| {
                let mut stream = HmacStream::new(alg, black_box(&key));
                for chunk in msg.chunks(4096) {
                    stream.update(chunk);
                }
                stream.finish()
            });
        });
    }
    group.finish();
}

/// One-shot HMAC-SHA256 and HKDF-SHA256 at 32 B beside plain RustCrypto
/// (the same crates without the stack scrub), and the two-compression
/// floor of a MAC with a precomputed key.
fn bench_against_plain(c: &mut Criterion) {
    use ::hmac::{KeyInit, Mac};
    let key = [0x5au8; 32];
    let msg = [0x17u8; 32];
    let mut group = c.benchmark_group("hmac-sha256-32B-vs-plain");
    group.bench_function("plain RustCrypto Hmac<Sha256>", |b| {
        b.iter(|| {
            let mut mac =
                <::hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(black_box(&key)).unwrap();
            mac.update(black_box(&msg));
            mac.finalize().into_bytes()
        })
    });
    group.bench_function("codomyrmex_keys::hmac", |b| {
        b.iter(|| hmac(HashAlg::Sha256, black_box(&key), black_box(&msg)))
    });
    let mut state = [0x6a09_e667u32; 8];
    let blocks = [[0x36u8; 64]; 2];
    group.bench_function("floor: two SHA-256 compressions", |b| {
        b.iter(|| sha2::block_api::compress256(black_box(&mut state), black_box(&blocks)))
    });
    group.finish();
    let mut group = c.benchmark_group("hkdf-sha256-32B-vs-plain");
    let mut okm = [0u8; 32];
    group.bench_function("plain RustCrypto Hkdf<Sha256>", |b| {
        b.iter(|| {
            let hkdf = hkdf::Hkdf::<sha2::Sha256>::new(Some(&[1u8; 32]), black_box(&key));
            hkdf.expand(b"codomyrmex bench", &mut okm).unwrap();
        })
    });
    group.bench_function("codomyrmex_keys::hkdf_derive", |b| {
        b.iter(|| {
            hkdf_derive(
                HashAlg::Sha256,
                black_box(&key),
                &[1u8; 32],
                b"codomyrmex bench",
                &mut okm,
            )
            .unwrap()
        })
    });
    group.finish();
}

fn bench_hkdf(c: &mut Criterion) {
    let ikm = [0x0bu8; 32];
    let salt = [0x01u8; 32];
    let info = b"codomyrmex bench";
    let mut group = c.benchmark_group("hkdf");
    for alg in HashAlg::ALL {
        for len in [32, 255 * alg.digest_len()] {
            let mut okm = vec![0u8; len];
            group.bench_function(format!("{alg}/{len}"), |b| {
                b.iter(|| hkdf_derive(alg, black_box(&ikm), &salt, info, &mut okm).unwrap());
            });
        }
    }
    group.finish();
}

fn bench_store(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyManager::open(dir.path().join("keys")).unwrap();
    keys.store("bench-get", &[7u8; 32]).unwrap();
    let mut group = c.benchmark_group("key-store");
    group.bench_function("get", |b| {
        b.iter(|| keys.get(black_box("bench-get")).unwrap())
    });
    group.bench_function("exists", |b| {
        b.iter(|| keys.exists(black_box("bench-get")).unwrap())
    });
    group.bench_function("hmac-sha256-32B", |b| {
        b.iter(|| {
            keys.key("bench-get")
                .unwrap()
                .hmac(HashAlg::Sha256, black_box(&[1u8; 32]))
                .unwrap()
        });
    });
    for count in [1000usize, 10_000] {
        let listed = KeyManager::open(dir.path().join(format!("list-{count}"))).unwrap();
        // Plain files, as any writer leaves them: the listing only reads names.
        for i in 0..count {
            let path = listed.location().path().join(format!("key-{i:05}.key"));
            std::fs::write(&path, [1u8; 32]).unwrap();
        }
        group.bench_function(format!("list-{count}"), |b| {
            b.iter(|| listed.list().unwrap())
        });
    }
    group.finish();
}

/// `get` and keyring load of a 32-byte key with 4 versions, plain and
/// sealed (XChaCha20-Poly1305 under a KEK): the difference is the AEAD.
fn bench_sealed(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let kek = dir.path().join("kek");
    std::fs::write(&kek, [0x33u8; 32]).unwrap();
    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o400)).unwrap();
    let stores = [
        ("plain", OpenOptions::new()),
        ("sealed", OpenOptions::new().kek_file(&kek)),
    ];
    let mut group = c.benchmark_group("sealed-vs-plain");
    for (name, options) in stores {
        let location = Location::Dir(dir.path().join(name));
        let keys = KeyManager::open_with(&location, &options).unwrap();
        keys.store("k", &[7u8; 32]).unwrap();
        for i in 0..3u8 {
            keys.rotate("k", &[i; 32]).unwrap();
        }
        group.bench_function(format!("get/{name}"), |b| {
            b.iter(|| keys.get(black_box("k")).unwrap())
        });
        group.bench_function(format!("keyring load, 4 versions/{name}"), |b| {
            b.iter(|| keys.load(black_box("k"), HashAlg::Sha256, None).unwrap())
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_against_plain,
    bench_hmac,
    bench_hkdf,
    bench_store,
    bench_sealed
);
criterion_main!(benches);
