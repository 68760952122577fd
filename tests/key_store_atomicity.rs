//! Atomicity of the key store under concurrency: create races, readers
//! racing writers, rotations from threads and processes forming one chain,
//! a key directory renamed under an open manager, and the bounded wait for
//! a writers' lock that someone holds forever.

mod common;

use codomyrmex_keys::{DEFAULT_LOCK_TIMEOUT, ErrorKind, KeyManager, Location, OpenOptions};
use common::child_scenario;
use common::fs::set_mode;
use common::store::{fresh, kind};
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const EXPECTED_DIR_ENV: &str = "CODOMYRMEX_KEYS_TEST_EXPECTED_DIR";

// ---------------------------------------------------------------------------
// Concurrency and atomicity.

#[test]
fn concurrent_create_has_exactly_one_winner() {
    let (_tmp, _dir, km) = fresh();
    let threads = 6;
    for round in 0..10 {
        let id = format!("race{round}");
        let barrier = Barrier::new(threads);
        let winners: Vec<usize> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (km, barrier, id) = (&km, &barrier, &id);
                    scope.spawn(move || {
                        barrier.wait();
                        let value = format!("value from thread {t}");
                        match km.create(id, value.as_bytes()) {
                            Ok(()) => Some(t),
                            Err(e) => {
                                assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
                                None
                            }
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let stored = km.get(&id).unwrap();
        assert_eq!(
            stored.as_bytes(),
            format!("value from thread {}", winners[0]).as_bytes()
        );
    }

    // The same for generate.
    let barrier = Barrier::new(threads);
    let ok = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                barrier.wait();
                match km.generate("generated", 32) {
                    Ok(()) => {
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists),
                }
            });
        }
    });
    assert_eq!(ok.load(Ordering::SeqCst), 1);
}

/// What each reader of [`hammer`] observed.
struct ReaderLog {
    reads: usize,
    errors: Vec<codomyrmex_keys::Error>,
    last: Option<Vec<u8>>,
}

/// Two reader threads call `get` in a loop while this thread stores two
/// alternating 64 KiB values `writes` times, then stores the first value
/// once more. Every
/// successful read must be one of the two complete values; anything else
/// (a mix, a prefix, an empty key) fails at once.
fn hammer(km: &KeyManager, writes: usize) -> Vec<ReaderLog> {
    let a = vec![0xAAu8; 64 * 1024];
    let b = vec![0x55u8; 64 * 1024];
    km.store("big", &a).unwrap();
    let done = AtomicBool::new(false);
    let barrier = Barrier::new(3);
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let mut log = ReaderLog {
                        reads: 0,
                        errors: Vec::new(),
                        last: None,
                    };
                    loop {
                        // Read the flag first, so one read always follows
                        // the last write.
                        let finished = done.load(Ordering::SeqCst);
                        match km.get("big") {
                            Ok(key) => {
                                assert!(
                                    key.as_bytes() == a.as_slice() || key.as_bytes() == b.as_slice(),
                                    "a mixed or partial key: {} bytes, first byte {:#x}, differs at {:?}",
                                    key.len(),
                                    key.first().copied().unwrap_or(0),
                                    key.iter().position(|&x| x != key[0])
                                );
                                log.last = Some(key.to_vec());
                            }
                            Err(e) => {
                                log.errors.push(e);
                                log.last = None;
                            }
                        }
                        log.reads += 1;
                        if finished {
                            return log;
                        }
                    }
                })
            })
            .collect();
        barrier.wait();
        for i in 0..writes {
            km.store("big", if i % 2 == 0 { &b } else { &a }).unwrap();
        }
        km.store("big", &a).unwrap();
        done.store(true, Ordering::SeqCst);
        readers.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

#[test]
fn readers_never_see_a_partial_key_or_fail() {
    let (_tmp, _dir, km) = fresh();
    let logs = hammer(&km, 300);
    for log in &logs {
        assert!(log.reads >= 1);
        let messages: Vec<&str> = log.errors.iter().map(|e| e.message()).collect();
        assert!(
            messages.is_empty(),
            "{} of {} reads failed, e.g. {:?}",
            messages.len(),
            log.reads,
            messages.first()
        );
        assert_eq!(
            log.last.as_deref(),
            Some(&[0xAAu8; 64 * 1024][..]),
            "the read after the last write sees it"
        );
    }
    assert_eq!(km.get("big").unwrap().as_bytes(), &[0xAAu8; 64 * 1024][..]);
}

fn check_chain(start: &[u8], pairs: &[(Vec<u8>, Vec<u8>)], last: &[u8]) {
    let mut next = std::collections::HashMap::new();
    for (old, new) in pairs {
        assert!(
            next.insert(old.clone(), new.clone()).is_none(),
            "two rotations returned the same previous key {:?}",
            String::from_utf8_lossy(old)
        );
    }
    let mut current = start.to_vec();
    let mut steps = 0;
    while let Some(new) = next.get(&current) {
        current = new.clone();
        steps += 1;
    }
    assert_eq!(steps, pairs.len(), "no rotation was lost");
    assert_eq!(current, last, "the chain ends at the stored key");
}

#[test]
fn concurrent_rotations_form_one_chain() {
    let (_tmp, _dir, km) = fresh();
    km.store("chain", b"start").unwrap();
    let threads = 4;
    let per_thread = 15;
    let barrier = Barrier::new(threads);
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (km, barrier) = (&km, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    (0..per_thread)
                        .map(|i| {
                            let new = format!("t{t}-{i}").into_bytes();
                            let old = km.rotate("chain", &new).unwrap().expect("a previous key");
                            (old.to_vec(), new)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(pairs.len(), threads * per_thread);
    check_chain(b"start", &pairs, km.get("chain").unwrap().as_bytes());
}

const ROTATIONS_PER_PROCESS: usize = 20;

#[test]
fn rotations_from_several_processes_form_one_chain() {
    let name = "rotations_from_several_processes_form_one_chain";
    if let Some(scenario) = child_scenario() {
        let tag = scenario
            .strip_prefix("rotator-")
            .expect("a rotator scenario");
        let dir = PathBuf::from(std::env::var_os(EXPECTED_DIR_ENV).unwrap());
        let km = KeyManager::open(&dir).unwrap();
        for i in 0..ROTATIONS_PER_PROCESS {
            let new = format!("{tag}-{i}");
            let old = km
                .rotate("chain", new.as_bytes())
                .unwrap()
                .expect("a previous key");
            println!("ROTATED {} {new}", String::from_utf8(old.to_vec()).unwrap());
        }
        return;
    }
    let (_tmp, dir, km) = fresh();
    km.store("chain", b"start").unwrap();
    let children: Vec<_> = (0..3)
        .map(|p| {
            let scenario = format!("rotator-p{p}");
            let child = common::child_command(name, &scenario)
                .env(EXPECTED_DIR_ENV, &dir)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (scenario, child)
        })
        .collect();
    let mut pairs = Vec::new();
    for (scenario, child) in children {
        let output = child.wait_with_output().unwrap();
        let stdout = common::check_child(name, &scenario, &output);
        // The harness may print its own text before the first line.
        for line in stdout.lines().filter_map(|l| l.split_once("ROTATED ")) {
            let (old, new) = line.1.split_once(' ').unwrap();
            pairs.push((old.as_bytes().to_vec(), new.as_bytes().to_vec()));
        }
    }
    assert_eq!(pairs.len(), 3 * ROTATIONS_PER_PROCESS);
    check_chain(b"start", &pairs, km.get("chain").unwrap().as_bytes());
}

#[test]
fn renamed_directory_keeps_working_through_the_open_handle() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("keys");
    let moved = tmp.path().join("moved");
    let km = KeyManager::open(&original).unwrap();
    km.store("before", b"1").unwrap();
    std::fs::rename(&original, &moved).unwrap();
    // Someone puts a different directory at the old path.
    std::fs::create_dir(&original).unwrap();
    set_mode(&original, 0o700);

    km.store("after", b"2").unwrap();
    km.generate("generated", 8).unwrap();
    assert_eq!(km.get("before").unwrap().as_bytes(), b"1");
    assert_eq!(km.get("after").unwrap().as_bytes(), b"2");
    assert_eq!(km.list().unwrap(), ["after", "before", "generated"]);
    assert_eq!(km.rotate("before", b"3").unwrap().unwrap().as_bytes(), b"1");
    km.delete("generated").unwrap();

    assert_eq!(std::fs::read(moved.join("after.key")).unwrap(), b"2");
    assert_eq!(std::fs::read(moved.join("before.key")).unwrap(), b"3");
    assert!(!moved.join("generated.key").exists());
    assert!(
        std::fs::read_dir(&original).unwrap().next().is_none(),
        "nothing was written at the old path"
    );
}

/// Holds a write lock on the whole lock file of `dir`, as a writer that
/// never finishes would, until dropped (closing the file releases it).
fn hold_every_key_lock(dir: &Path) -> std::fs::File {
    use std::os::fd::AsRawFd;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join(".lock"))
        .unwrap();
    // SAFETY: an all-zero flock is valid; the fields that matter are set.
    let mut range: libc::flock = unsafe { std::mem::zeroed() };
    range.l_type = libc::F_WRLCK as libc::c_short;
    range.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: a live descriptor and a valid flock structure.
    let ret = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &range) };
    assert_eq!(ret, 0, "lock: {}", std::io::Error::last_os_error());
    file
}

#[test]
fn a_writer_waits_for_a_held_lock_at_most_the_lock_timeout() {
    assert_eq!(DEFAULT_LOCK_TIMEOUT, Duration::from_secs(30));
    let (_tmp, dir, km) = fresh();
    km.store("k", b"before").unwrap();
    let limit = Duration::from_millis(300);
    let options = OpenOptions::new().lock_timeout(Some(limit));
    let bounded = KeyManager::open_with(&Location::Dir(dir.clone()), &options).unwrap();
    let held = hold_every_key_lock(&dir);

    let started = Instant::now();
    let err = bounded.store("k", b"after").unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(
        err.message().contains("timed out waiting for the lock on")
            && err
                .message()
                .contains(dir.file_name().unwrap().to_str().unwrap()),
        "{err}"
    );
    assert!(
        waited >= limit && waited < limit + Duration::from_secs(5),
        "waited {waited:?}"
    );
    for refused in [
        bounded.rotate("k", b"after").map(drop),
        bounded.delete("k"),
        bounded.create("new", b"key"),
        bounded.prune("k", std::num::NonZeroU32::MIN),
    ] {
        assert_eq!(kind(refused), ErrorKind::Io);
    }
    // Readers never wait for writers.
    assert_eq!(bounded.get("k").unwrap().as_bytes(), b"before");
    assert_eq!(bounded.list().unwrap(), ["k"]);

    // Released, the same writes go through.
    drop(held);
    bounded.store("k", b"after").unwrap();
    assert_eq!(km.get("k").unwrap().as_bytes(), b"after");
}
