//! Benchmarks of the safe Rust API: HMAC one-shot at 32 B to 1 MiB for
//! every algorithm, streaming HMAC, HKDF, and the key store's get and list.
//!
//! `cargo bench --bench api`. The side-by-side comparison with OpenSSL and
//! libsodium is the C benchmark (`scripts/bench.sh`, BENCHMARKS.md).

use codomyrmex_keys::{HashAlg, HmacStream, KeyManager, hkdf_derive, hmac};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

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

criterion_group!(benches, bench_hmac, bench_hkdf, bench_store);
criterion_main!(benches);
