//! Listing keys: only key files count, and large directories list
//! completely, sorted and fast, also while others add and delete keys.

mod common;

use codomyrmex_keys::KeyManager;
use common::fs::{mkfifo, write_file as write_raw};
use common::store::fresh;
use common::store::version_list;
use common::team::tag;
use common::{Rng, tagged_value, test_seed};
use std::collections::HashMap;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use std::time::Instant;

// ---------------------------------------------------------------------------
// Listing.

#[test]
fn list_reads_large_directories_completely() {
    let (_tmp, dir, km) = fresh();
    // Far more directory entries than one getdents buffer holds.
    let mut ids: Vec<String> = (0..1500)
        .map(|i| format!("{:0>100}-{}", i * 7919 % 1500, "x"))
        .collect();
    for id in &ids {
        write_raw(&dir.join(format!("{id}.key")), b"k", 0o600);
    }
    write_raw(&dir.join("noise.txt"), b"n", 0o600);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1500);
    assert_eq!(km.list().unwrap(), ids);
}

#[test]
fn list_ignores_everything_but_key_files() {
    let (tmp, dir, km) = fresh();
    km.store("good", b"g").unwrap();
    km.store("also-good", b"a").unwrap();
    write_raw(&dir.join(".x.key.tmp"), b"temp", 0o600);
    write_raw(&dir.join(".good.key.tmp"), b"temp", 0o600);
    write_raw(&dir.join("x.txt"), b"text", 0o600);
    write_raw(&dir.join(".key"), b"no id", 0o600);
    write_raw(&dir.join("a b.key"), b"space", 0o600);
    write_raw(&dir.join(".hidden.key"), b"hidden", 0o600);
    write_raw(&dir.join("x.KEY"), b"case", 0o600);
    write_raw(&dir.join("x.key.bak"), b"backup", 0o600);
    write_raw(
        &dir.join(format!("{}.key", "k".repeat(129))),
        b"long",
        0o600,
    );
    std::fs::write(dir.join("caf\u{e9}.key"), b"utf8").unwrap();
    std::os::unix::fs::symlink(dir.join("good.key"), dir.join("s.key")).unwrap();
    std::os::unix::fs::symlink(tmp.path().join("nowhere"), dir.join("dangling.key")).unwrap();
    std::fs::create_dir(dir.join("d.key")).unwrap();
    mkfifo(&dir.join("f.key"));
    assert!(dir.join(".lock").exists(), "writers created the lock file");
    assert_eq!(km.list().unwrap(), ["also-good", "good"]);
}

// ---------------------------------------------------------------------------
// A large directory.

#[test]
fn ten_thousand_keys_list_sorted_and_fast() {
    const KEYS: usize = 10_000;
    const STORED: usize = 200;
    let mut rng = Rng::new(test_seed(
        "ten_thousand_keys_list_sorted_and_fast",
        0x10_000,
    ));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = KeyManager::open(&dir).unwrap();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    let ids: Vec<String> = (0..KEYS)
        .map(|i| {
            // Unique prefix, then a random tail up to the 128-byte limit.
            let tail_len = rng.below(128 - 6) as usize;
            let mut id = format!("{i:05}");
            id.insert(rng.below(6) as usize, *rng.pick(b"aZ-_") as char);
            let tail: String = (0..tail_len).map(|_| *rng.pick(alphabet) as char).collect();
            id.push_str(&tail);
            id.truncate(128);
            id
        })
        .collect();
    // Most keys are written as the original module wrote them (raw files,
    // mode 0600); some through the library, from several threads at once.
    // Each holds a value whose tag is unique to its id.
    let tag_for = |id: &str, how: &str| format!("{how}{}", &id[..6]);
    let (raw, stored) = ids.split_at(KEYS - STORED);
    for id in raw {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.join(format!("{id}.key")))
            .unwrap();
        std::io::Write::write_all(&mut file, &tagged_value(&tag_for(id, "raw"), 64)).unwrap();
    }
    std::thread::scope(|scope| {
        for chunk in stored.chunks(STORED / 4) {
            let km = &km;
            scope.spawn(move || {
                for id in chunk {
                    km.store(id, &tagged_value(&tag_for(id, "lib"), 64))
                        .unwrap();
                }
            });
        }
    });
    let expected_tags: HashMap<&str, String> = raw
        .iter()
        .map(|id| (id.as_str(), tag_for(id, "raw")))
        .chain(stored.iter().map(|id| (id.as_str(), tag_for(id, "lib"))))
        .collect();
    // Noise that must not be listed.
    for i in 0..100 {
        std::fs::write(dir.join(format!(".stale{i}.key.tmp")), b"t").unwrap();
        std::fs::write(dir.join(format!("notes{i}.txt")), b"n").unwrap();
    }
    let mut ids: Vec<String> = ids.clone();
    ids.sort();

    let timer = Instant::now();
    let listed = km.list().unwrap();
    let elapsed = timer.elapsed();
    println!("concurrency: list of {KEYS} keys took {elapsed:?}");
    assert_eq!(listed.len(), KEYS);
    assert_eq!(listed, ids, "list returns exactly the ids, sorted bytewise");
    assert!(
        elapsed < Duration::from_secs(2),
        "list of {KEYS} keys took {elapsed:?}"
    );

    // exists and get on every one; versions on a sample.
    let timer = Instant::now();
    for id in &ids {
        assert!(km.exists(id).unwrap(), "{id}");
        let value = km.get(id).unwrap();
        assert_eq!(tag(&value, id), expected_tags[id.as_str()], "{id}");
    }
    for _ in 0..100 {
        let id = rng.pick(&ids);
        assert_eq!(version_list(&km, id).unwrap(), [1]);
    }
    println!(
        "concurrency: exists + get on {KEYS} keys took {:?}",
        timer.elapsed()
    );

    // Listings while other threads add and delete keys: the 10,000 are
    // always there, sorted, and nothing else but the keys being added.
    let stop = AtomicBool::new(false);
    let listings = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..2 {
            let (km, stop) = (&km, &stop);
            scope.spawn(move || {
                for i in 0..60 {
                    let id = format!("extra-{t}-{i}");
                    km.store(&id, &tagged_value(&id, 64)).unwrap();
                    if i % 2 == 0 {
                        km.delete(&id).unwrap();
                    }
                }
                stop.store(true, Ordering::SeqCst);
            });
        }
        for _ in 0..2 {
            let (km, stop, ids, listings) = (&km, &stop, &ids, &listings);
            scope.spawn(move || {
                loop {
                    let finished = stop.load(Ordering::SeqCst);
                    let listed = km.list().unwrap();
                    assert!(
                        listed.windows(2).all(|w| w[0] < w[1]),
                        "sorted, no duplicates"
                    );
                    let (extra, base): (Vec<&String>, Vec<&String>) =
                        listed.iter().partition(|id| id.starts_with("extra-"));
                    assert_eq!(base.len(), KEYS);
                    assert!(base.iter().zip(ids).all(|(a, b)| *a == b));
                    assert!(extra.len() <= 120);
                    listings.fetch_add(1, Ordering::SeqCst);
                    if finished {
                        break;
                    }
                }
            });
        }
    });
    let final_list = km.list().unwrap();
    assert_eq!(final_list.len(), KEYS + 60);
    assert!(listings.load(Ordering::SeqCst) >= 2);
    println!(
        "concurrency: {} listings of 10,000+ keys during 120 stores and 60 deletes",
        listings.load(Ordering::SeqCst)
    );
}
