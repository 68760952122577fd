//! The writers' lock: a write never waits forever for a lock held by
//! someone else (a hung process of the same user, say), unless asked to.

use codomyrmex_keys::{DEFAULT_LOCK_TIMEOUT, ErrorKind, KeyManager, Location, OpenOptions};
use rustix::fs::{FlockOperation, Mode, OFlags};
use std::time::{Duration, Instant};

/// Holds an exclusive lock on the whole `.lock` of `dir`, as a writer that
/// hangs while holding it would, until dropped.
fn hold_every_lock(dir: &std::path::Path) -> std::os::fd::OwnedFd {
    let file = rustix::fs::open(
        dir.join(".lock"),
        OFlags::RDWR | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unwrap();
    rustix::fs::fcntl_lock(&file, FlockOperation::LockExclusive).unwrap();
    file
}

fn open(dir: &std::path::Path, timeout: Option<Duration>) -> KeyManager {
    KeyManager::open_with(
        &Location::Dir(dir.to_path_buf()),
        &OpenOptions::new().lock_timeout(timeout),
    )
    .unwrap()
}

#[test]
fn a_write_gives_up_after_the_lock_timeout_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = open(&dir, Some(Duration::from_millis(300)));
    km.store("k", b"first").unwrap();
    let holder = hold_every_lock(&dir);
    let started = Instant::now();
    let err = km.rotate("k", b"second").unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(
        err.message().contains("timed out waiting for the lock on"),
        "{}",
        err.message()
    );
    assert!(
        err.message().contains(&dir.display().to_string()),
        "{}",
        err.message()
    );
    assert_eq!(err.os_error(), Some(libc::ETIMEDOUT));
    assert!(
        waited >= Duration::from_millis(300),
        "gave up after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    assert_eq!(km.get("k").unwrap().as_bytes(), b"first");
    // Readers never wait for the lock.
    assert_eq!(km.key("k").unwrap().current_version().unwrap().get(), 1);
    drop(holder);
    km.rotate("k", b"second").unwrap();
}

#[test]
fn without_a_timeout_a_write_waits_for_the_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = open(&dir, None);
    km.store("k", b"first").unwrap();
    let holder = hold_every_lock(&dir);
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        drop(holder);
    });
    let started = Instant::now();
    km.rotate("k", b"second").unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
    release.join().unwrap();
}

#[test]
fn the_default_options_wait_thirty_seconds() {
    assert_eq!(DEFAULT_LOCK_TIMEOUT, Duration::from_secs(30));
    let shown = format!("{:?}", OpenOptions::new());
    assert!(shown.contains("lock_timeout: Some(30s)"), "{shown}");
}
