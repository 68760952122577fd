//! The key store through the safe API, on fresh temporary directories:
//! round trips, permissions, refusal of unsafe files, key-id validation,
//! atomicity under concurrency and the default directory.

mod common;

use codomyrmex_keys::{
    ErrorKind, HashAlg, KeyManager, MAX_KEY_ID_LEN, MAX_KEY_LEN, default_key_dir, hkdf_derive,
    hmac, validate_key_id,
};
use common::fs::{mkfifo, mode_of, set_mode, write_file as write_raw};
use common::store::{Bounded, fresh, kind, rotate_bounded};
use common::users::{become_nobody, hand_to_nobody};
use common::{Entry, child_scenario, is_root, run_in_child, snapshot};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

// KeyManager may be shared between threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KeyManager>();
};

/// Runs `body` on another thread and fails (instead of hanging) if it does
/// not finish within a generous bound.
fn without_hanging<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the call blocked (or panicked)")
}

// ---------------------------------------------------------------------------
// Round trips.

#[test]
fn every_operation_round_trips() {
    let (_tmp, dir, km) = fresh();
    assert_eq!(
        km.location().path(),
        std::fs::canonicalize(&dir).unwrap(),
        "location() is the resolved path"
    );
    assert_eq!(km.list().unwrap(), Vec::<String>::new());
    assert!(!km.exists("alpha").unwrap());
    let err = km.get("alpha").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("alpha"), "{}", err.message());

    // store / get / exists
    km.store("alpha", b"first alpha key").unwrap();
    assert_eq!(km.get("alpha").unwrap().as_bytes(), b"first alpha key");
    assert!(km.exists("alpha").unwrap());
    km.store("alpha", b"second").unwrap();
    assert_eq!(km.get("alpha").unwrap().as_bytes(), b"second");
    let on_disk = std::fs::read(dir.join("alpha.key")).unwrap();
    assert_eq!(on_disk, b"second", "the file holds the raw key bytes");

    // create: only if absent
    km.create("beta", b"beta key").unwrap();
    assert_eq!(kind(km.create("beta", b"other")), ErrorKind::AlreadyExists);
    assert_eq!(km.get("beta").unwrap().as_bytes(), b"beta key");

    // generate: random, only if absent
    km.generate("gamma", 32).unwrap();
    let gamma = km.get("gamma").unwrap();
    assert_eq!(gamma.len(), 32);
    assert_eq!(kind(km.generate("gamma", 32)), ErrorKind::AlreadyExists);
    assert_eq!(km.get("gamma").unwrap(), gamma);
    km.generate("delta", 32).unwrap();
    assert_ne!(km.get("delta").unwrap(), gamma);
    assert_eq!(format!("{gamma:?}"), "SecretBytes([redacted; 32])");

    // list
    assert_eq!(km.list().unwrap(), ["alpha", "beta", "delta", "gamma"]);

    // rotate returns the previous key
    let old = km
        .rotate("alpha", b"third")
        .unwrap()
        .expect("a previous key");
    assert_eq!(old.as_bytes(), b"second");
    assert_eq!(km.get("alpha").unwrap().as_bytes(), b"third");
    assert!(km.rotate("epsilon", b"new").unwrap().is_none());
    assert_eq!(km.get("epsilon").unwrap().as_bytes(), b"new");
    let err = rotate_bounded(&km, "alpha", b"fourth", 4).unwrap_err();
    assert!(matches!(err, Bounded::TooLong { needed: 5 }), "{err:?}");
    assert_eq!(km.get("alpha").unwrap().as_bytes(), b"third");

    // hmac / hmac_verify / derive with the stored key
    let alpha = km.key("alpha").unwrap();
    let missing = km.key("missing").unwrap();
    for alg in HashAlg::ALL {
        let mac = alpha.hmac(alg, b"message").unwrap();
        assert_eq!(mac, hmac(alg, b"third", b"message"));
        alpha.hmac_verify(alg, b"message", mac.as_bytes()).unwrap();
        assert_eq!(
            kind(alpha.hmac_verify(alg, b"message!", mac.as_bytes())),
            ErrorKind::VerifyFailed
        );
        assert_eq!(
            kind(alpha.hmac_verify(alg, b"message", &mac.as_bytes()[..16])),
            ErrorKind::VerifyFailed
        );
        let mut okm = [0u8; 100];
        alpha.derive(alg, b"salt", b"info", &mut okm).unwrap();
        let mut expected = [0u8; 100];
        hkdf_derive(alg, b"third", b"salt", b"info", &mut expected).unwrap();
        assert_eq!(okm, expected);
        let mut empty = [0u8; 0];
        assert_eq!(
            kind(alpha.derive(alg, b"", b"", &mut empty)),
            ErrorKind::InvalidArgument
        );
        assert_eq!(kind(missing.hmac(alg, b"m")), ErrorKind::NotFound);
        let mut untouched = [7u8; 16];
        assert_eq!(
            kind(missing.derive(alg, b"", b"", &mut untouched)),
            ErrorKind::NotFound
        );
        assert_eq!(untouched, [7u8; 16]);
    }

    // delete
    km.delete("beta").unwrap();
    assert!(!km.exists("beta").unwrap());
    assert_eq!(kind(km.get("beta")), ErrorKind::NotFound);
    assert_eq!(kind(km.delete("beta")), ErrorKind::NotFound);
    assert_eq!(km.list().unwrap(), ["alpha", "delta", "epsilon", "gamma"]);

    // No temporary file is left behind; only key files, the lock file and
    // the records of older versions.
    for name in snapshot(&dir).keys() {
        let name = name.to_str().unwrap();
        assert!(
            name == ".lock"
                || name.starts_with(".versions")
                || (name.ends_with(".key") && !name.starts_with('.')),
            "unexpected entry {name:?}"
        );
    }
}

#[test]
fn a_new_manager_sees_keys_written_by_another() {
    let (_tmp, dir, km) = fresh();
    km.store("shared", b"value").unwrap();
    let second = KeyManager::open(&dir).unwrap();
    assert_eq!(second.get("shared").unwrap().as_bytes(), b"value");
    second.delete("shared").unwrap();
    assert!(!km.exists("shared").unwrap());
}

#[test]
fn stale_temporary_file_is_replaced_and_removed() {
    let (_tmp, dir, km) = fresh();
    let temp = dir.join(".k.key.tmp");
    write_raw(&temp, b"left by a killed writer", 0o600);
    km.store("k", b"fresh").unwrap();
    assert_eq!(km.get("k").unwrap().as_bytes(), b"fresh");
    assert!(
        !temp.exists(),
        "the write consumed the stale temporary file"
    );
    write_raw(&temp, b"again", 0o600);
    km.delete("k").unwrap();
    assert!(!temp.exists(), "delete removes a stale temporary file");
}

// ---------------------------------------------------------------------------
// Permissions.

#[test]
fn umask_zero_still_gives_private_files_and_dir() {
    if child_scenario().as_deref() == Some("umask0") {
        // SAFETY: umask has no preconditions; this process runs only this test.
        unsafe { libc::umask(0) };
        // SAFETY: as above; reads back the value just set.
        assert_eq!(unsafe { libc::umask(0) }, 0);
        let tmp = tempfile::tempdir().unwrap();
        // Made 0777 under this umask; a key directory in a directory that
        // others could write is refused, so make it the owner's alone.
        set_mode(tmp.path(), 0o700);
        let dir = tmp.path().join("p/q/keys");
        let km = KeyManager::open(&dir).unwrap();
        for created in ["p", "p/q", "p/q/keys"] {
            assert_eq!(mode_of(&tmp.path().join(created)), 0o700, "{created}");
        }
        km.store("stored", b"s").unwrap();
        km.store("stored", b"s2").unwrap();
        km.create("created", b"c").unwrap();
        km.generate("generated", 16).unwrap();
        km.rotate("rotated", b"r").unwrap();
        km.rotate("rotated", b"r2").unwrap();
        let entries = snapshot(&dir);
        let mut keys = 0;
        for (name, entry) in &entries {
            if let Entry::Dir { mode, .. } = entry {
                assert!(
                    name.starts_with(".versions"),
                    "unexpected directory {name:?}"
                );
                assert_eq!(*mode, 0o700, "{name:?}");
                continue;
            }
            let Entry::File { mode, .. } = entry else {
                panic!("unexpected entry {name:?}: {entry:?}");
            };
            assert_eq!(mode & 0o077, 0, "{name:?} is private (mode {mode:o})");
            if name.extension().is_some_and(|e| e == "key") {
                assert_eq!(*mode, 0o600, "{name:?}");
                keys += 1;
            }
        }
        assert_eq!(keys, 4);
        // Reopening the existing directory works and keeps it private.
        let again = KeyManager::open(&dir).unwrap();
        assert_eq!(again.list().unwrap().len(), 4);
        assert_eq!(mode_of(&dir), 0o700);
        return;
    }
    run_in_child(
        "umask_zero_still_gives_private_files_and_dir",
        "umask0",
        &[],
    );
}

#[test]
fn restrictive_umask_still_gives_private_key_files() {
    if child_scenario().as_deref() == Some("umask277") {
        // SAFETY: umask has no preconditions; this process runs only this test.
        unsafe { libc::umask(0o277) };
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let km = KeyManager::open(&dir).unwrap();
        assert_eq!(mode_of(&dir), 0o700);
        km.store("k", b"v").unwrap();
        km.create("c", b"c").unwrap();
        km.generate("g", 8).unwrap();
        for id in ["k", "c", "g"] {
            assert_eq!(mode_of(&dir.join(format!("{id}.key"))), 0o600, "{id}");
        }
        return;
    }
    run_in_child(
        "restrictive_umask_still_gives_private_key_files",
        "umask277",
        &[],
    );
}

#[test]
fn missing_parents_are_created_0700_whatever_the_umask() {
    if child_scenario().as_deref() == Some("parents") {
        // SAFETY: umask has no preconditions; this process runs only this test.
        unsafe { libc::umask(0o277) };
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p/q/keys");
        KeyManager::open(&dir).unwrap();
        for created in ["p", "p/q", "p/q/keys"] {
            let mode = mode_of(&tmp.path().join(created));
            assert_eq!(mode, 0o700, "{created} has mode {mode:o}");
        }
        return;
    }
    run_in_child(
        "missing_parents_are_created_0700_whatever_the_umask",
        "parents",
        &[],
    );
}

#[test]
fn writes_keep_working_for_a_non_root_user_under_a_restrictive_umask() {
    if child_scenario().as_deref() == Some("nonroot") {
        let dir = PathBuf::from(std::env::var_os(EXPECTED_DIR_ENV).unwrap());
        become_nobody();
        // SAFETY: umask has no preconditions.
        unsafe { libc::umask(0o277) };
        let km = KeyManager::open(&dir).unwrap();
        km.store("first", b"1").unwrap();
        km.store("second", b"2")
            .unwrap_or_else(|e| panic!("second write: {e}"));
        assert_eq!(km.get("second").unwrap().as_bytes(), b"2");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    std::fs::create_dir(&dir).unwrap();
    // The unprivileged child must be able to reach and own the directory.
    hand_to_nobody(tmp.path(), &dir);
    run_in_child(
        "writes_keep_working_for_a_non_root_user_under_a_restrictive_umask",
        "nonroot",
        &[(EXPECTED_DIR_ENV, Some(&dir))],
    );
}

#[test]
fn symlinked_key_file_is_refused() {
    let (tmp, dir, km) = fresh();
    let target = tmp.path().join("elsewhere");
    write_raw(&target, b"attacker controlled", 0o600);
    std::os::unix::fs::symlink(&target, dir.join("x.key")).unwrap();
    assert_eq!(kind(km.get("x")), ErrorKind::InsecurePermissions);
    assert_eq!(kind(km.exists("x")), ErrorKind::InsecurePermissions);
    assert_eq!(
        kind(km.key("x").unwrap().hmac(HashAlg::Sha256, b"m")),
        ErrorKind::InsecurePermissions
    );
    assert_eq!(kind(km.rotate("x", b"new")), ErrorKind::InsecurePermissions);
    assert!(km.list().unwrap().is_empty(), "a symlink is not listed");
    // A store would keep the previous version, which cannot be read: it is
    // refused, and nothing is written through the link.
    assert_eq!(kind(km.store("x", b"mine")), ErrorKind::InsecurePermissions);
    assert_eq!(std::fs::read(&target).unwrap(), b"attacker controlled");
    // Deleting removes the link itself, never its target; then a new key
    // can be stored.
    km.delete("x").unwrap();
    assert!(target.exists());
    km.store("x", b"mine").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"attacker controlled");
    assert!(
        std::fs::symlink_metadata(dir.join("x.key"))
            .unwrap()
            .is_file()
    );
    assert_eq!(km.get("x").unwrap().as_bytes(), b"mine");
}

#[test]
fn open_refuses_unusable_paths() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(kind(KeyManager::open("")), ErrorKind::InvalidArgument);
    assert_eq!(
        kind(KeyManager::open(tmp.path().join("a\0b"))),
        ErrorKind::InvalidArgument
    );
    let file = tmp.path().join("file");
    write_raw(&file, b"x", 0o600);
    let err = KeyManager::open(&file).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.message().contains("ENOTDIR"), "{}", err.message());
    assert!(
        err.message().contains(file.to_str().unwrap()),
        "{}",
        err.message()
    );
    assert_eq!(
        kind(KeyManager::open(file.join("below"))),
        ErrorKind::Io,
        "a regular file as a parent"
    );
    assert_eq!(snapshot(tmp.path()).len(), 1, "nothing was created");
}

#[test]
fn symlinked_key_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    KeyManager::open(&real).unwrap().store("k", b"v").unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert_eq!(
        kind(KeyManager::open(&link)),
        ErrorKind::InsecurePermissions
    );
    // A dangling link is refused too, and nothing is created behind it.
    let dangling = tmp.path().join("dangling");
    std::os::unix::fs::symlink(tmp.path().join("nowhere"), &dangling).unwrap();
    assert_eq!(
        kind(KeyManager::open(&dangling)),
        ErrorKind::InsecurePermissions
    );
    assert!(!tmp.path().join("nowhere").exists());
}

#[test]
fn group_or_world_writable_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for mode in [0o777, 0o1777, 0o770, 0o775, 0o720, 0o702, 0o722] {
        let dir = tmp.path().join(format!("d{mode:o}"));
        std::fs::create_dir(&dir).unwrap();
        set_mode(&dir, mode);
        let err = KeyManager::open(&dir).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InsecurePermissions, "mode {mode:o}");
        assert!(
            err.message().contains(&format!("d{mode:o}")),
            "{}",
            err.message()
        );
        assert_eq!(mode_of(&dir), mode, "the library did not change the mode");
    }
    // Readable by others but writable only by the owner is acceptable.
    for mode in [0o700, 0o750, 0o755] {
        let dir = tmp.path().join(format!("ok{mode:o}"));
        std::fs::create_dir(&dir).unwrap();
        set_mode(&dir, mode);
        KeyManager::open(&dir)
            .unwrap_or_else(|e| panic!("mode {mode:o}: {e}"))
            .store("k", b"v")
            .unwrap();
    }
}

#[test]
fn dir_owned_by_another_user_is_refused() {
    if !is_root() {
        eprintln!("skipped: changing a directory's owner needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("foreign");
    std::fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o700);
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    assert_eq!(kind(KeyManager::open(&dir)), ErrorKind::InsecurePermissions);
}

#[test]
fn key_file_accessible_by_others_is_refused() {
    let (_tmp, dir, km) = fresh();
    km.store("k", b"secret").unwrap();
    let path = dir.join("k.key");
    for mode in [
        0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o666, 0o610, 0o601,
    ] {
        set_mode(&path, mode);
        assert_eq!(
            kind(km.get("k")),
            ErrorKind::InsecurePermissions,
            "mode {mode:o}"
        );
        assert_eq!(
            kind(km.key("k").unwrap().hmac(HashAlg::Sha512, b"m")),
            ErrorKind::InsecurePermissions,
            "mode {mode:o}"
        );
        let mut okm = [0u8; 8];
        assert_eq!(
            kind(
                km.key("k")
                    .unwrap()
                    .derive(HashAlg::Sha256, b"", b"", &mut okm)
            ),
            ErrorKind::InsecurePermissions
        );
    }
    for mode in [0o600, 0o400] {
        set_mode(&path, mode);
        assert_eq!(km.get("k").unwrap().as_bytes(), b"secret", "mode {mode:o}");
    }
}

#[test]
fn key_file_owned_by_another_user_is_refused() {
    if !is_root() {
        eprintln!("skipped: changing a file's owner needs root");
        return;
    }
    let (_tmp, dir, km) = fresh();
    km.store("k", b"secret").unwrap();
    std::os::unix::fs::chown(dir.join("k.key"), Some(65534), Some(65534)).unwrap();
    let err = km.get("k").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InsecurePermissions);
    assert!(err.message().contains("65534"), "{}", err.message());
    assert!(!err.message().contains("secret"));
    assert_eq!(
        kind(
            km.key("k")
                .unwrap()
                .hmac_verify(HashAlg::Sha256, b"m", &[0; 32])
        ),
        ErrorKind::InsecurePermissions
    );
}

#[test]
fn hard_linked_key_file_is_refused() {
    let (tmp, dir, km) = fresh();
    km.store("k", b"secret").unwrap();
    std::fs::hard_link(dir.join("k.key"), tmp.path().join("copy")).unwrap();
    assert_eq!(kind(km.get("k")), ErrorKind::InsecurePermissions);
}

// ---------------------------------------------------------------------------
// Unusable key files.

#[test]
fn fifo_key_file_is_corrupt_without_hanging() {
    let (_tmp, dir, km) = fresh();
    mkfifo(&dir.join("x.key"));
    let km = Arc::new(km);
    let shared = Arc::clone(&km);
    let kinds = without_hanging(move || {
        (
            kind(shared.get("x")),
            kind(shared.exists("x")),
            kind(shared.key("x").unwrap().hmac(HashAlg::Sha256, b"m")),
            kind(shared.rotate("x", b"new")),
            shared.list().unwrap(),
        )
    });
    assert_eq!(kinds.0, ErrorKind::Corrupt, "get");
    assert_eq!(kinds.1, ErrorKind::Corrupt, "exists");
    assert_eq!(kinds.2, ErrorKind::Corrupt, "hmac");
    assert_eq!(kinds.3, ErrorKind::Corrupt, "rotate");
    assert!(kinds.4.is_empty(), "a FIFO is not listed");
    assert_eq!(
        std::fs::symlink_metadata(dir.join("x.key")).unwrap().mode() & libc::S_IFMT,
        libc::S_IFIFO,
        "the FIFO is still there"
    );
}

#[test]
fn directory_named_like_a_key_is_corrupt_and_not_listed() {
    let (_tmp, dir, km) = fresh();
    std::fs::create_dir(dir.join("x.key")).unwrap();
    km.store("real", b"v").unwrap();
    assert_eq!(kind(km.get("x")), ErrorKind::Corrupt);
    assert_eq!(kind(km.exists("x")), ErrorKind::Corrupt);
    assert_eq!(kind(km.store("x", b"v")), ErrorKind::Corrupt);
    let create = kind(km.create("x", b"v"));
    assert!(
        matches!(create, ErrorKind::AlreadyExists | ErrorKind::Corrupt),
        "{create:?}"
    );
    assert_eq!(kind(km.delete("x")), ErrorKind::Corrupt);
    assert_eq!(km.list().unwrap(), ["real"]);
    assert!(dir.join("x.key").is_dir(), "the directory is left alone");
    assert!(
        !dir.join(".x.key.tmp").exists(),
        "no temporary file left behind"
    );
}

#[test]
fn socket_named_like_a_key_is_corrupt() {
    let (_tmp, dir, km) = fresh();
    let _listener = std::os::unix::net::UnixListener::bind(dir.join("sock.key")).unwrap();
    assert_eq!(kind(km.get("sock")), ErrorKind::Corrupt);
    assert_eq!(kind(km.exists("sock")), ErrorKind::Corrupt);
    assert!(km.list().unwrap().is_empty());
}

#[test]
fn empty_and_oversized_key_files_are_corrupt() {
    let (_tmp, dir, km) = fresh();
    write_raw(&dir.join("empty.key"), b"", 0o600);
    assert_eq!(kind(km.get("empty")), ErrorKind::Corrupt);
    assert_eq!(
        kind(km.key("empty").unwrap().hmac(HashAlg::Sha256, b"m")),
        ErrorKind::Corrupt
    );

    write_raw(&dir.join("big.key"), &vec![1u8; MAX_KEY_LEN + 1], 0o600);
    assert_eq!(kind(km.get("big")), ErrorKind::Corrupt);

    write_raw(&dir.join("max.key"), &vec![2u8; MAX_KEY_LEN], 0o600);
    assert_eq!(km.get("max").unwrap().len(), MAX_KEY_LEN);
    write_raw(&dir.join("one.key"), b"\x00", 0o600);
    assert_eq!(km.get("one").unwrap().as_bytes(), b"\x00");
}

#[test]
fn key_lengths_out_of_range_are_refused() {
    let (tmp, _dir, km) = fresh();
    km.store("existing", b"keep me").unwrap();
    let before = snapshot(tmp.path());
    let too_long = vec![0u8; MAX_KEY_LEN + 1];
    for key in [&b""[..], &too_long[..]] {
        let len = key.len();
        assert_eq!(
            kind(km.store("n", key)),
            ErrorKind::InvalidArgument,
            "store {len}"
        );
        assert_eq!(
            kind(km.create("n", key)),
            ErrorKind::InvalidArgument,
            "create {len}"
        );
        assert_eq!(
            kind(km.rotate("n", key)),
            ErrorKind::InvalidArgument,
            "rotate {len}"
        );
        assert_eq!(kind(km.store("existing", key)), ErrorKind::InvalidArgument);
        assert_eq!(kind(km.rotate("existing", key)), ErrorKind::InvalidArgument);
        assert_eq!(
            kind(km.generate("n", len)),
            ErrorKind::InvalidArgument,
            "generate {len}"
        );
    }
    assert_eq!(snapshot(tmp.path()), before, "nothing changed on disk");
    km.store("n", &too_long[..MAX_KEY_LEN]).unwrap();
    km.generate("g", MAX_KEY_LEN).unwrap();
    km.generate("h", 1).unwrap();
    assert_eq!(km.get("g").unwrap().len(), MAX_KEY_LEN);
    assert_eq!(km.get("h").unwrap().len(), 1);
}

// ---------------------------------------------------------------------------
// Key ids.

#[test]
fn bad_key_ids_are_refused_and_create_nothing() {
    let (tmp, _dir, km) = fresh();
    km.store("victim", b"original").unwrap();
    let parent = tmp.path();
    let before = snapshot(parent);
    let long = "k".repeat(MAX_KEY_ID_LEN + 1);
    let bad: Vec<&str> = vec![
        "",
        ".",
        "..",
        "../x",
        "../victim",
        "./victim",
        "a/b",
        "/abs",
        "/tmp/abs",
        "a\\b",
        "a\0b",
        "victim\0",
        " a",
        "a ",
        "a\tb",
        "a\nb",
        "é",
        "caf\u{e9}",
        "\u{2215}etc",
        &long,
        ".hidden",
        ".victim",
        "*",
        "a?",
        "a:b",
        "~",
    ];
    for id in &bad {
        let shown = id.escape_debug().to_string();
        let mut okm = [9u8; 16];
        let results = [
            validate_key_id(id.as_bytes()).map(drop),
            km.store(id, b"value"),
            km.create(id, b"value"),
            km.generate(id, 16),
            km.get(id).map(drop),
            km.exists(id).map(drop),
            km.delete(id),
            km.rotate(id, b"value").map(drop),
            rotate_bounded(&km, id, b"value", 0)
                .map(drop)
                .map_err(Bounded::into_store_error),
            km.key(id)
                .and_then(|k| k.hmac(HashAlg::Sha256, b"m"))
                .map(drop),
            km.key(id)
                .and_then(|k| k.hmac_verify(HashAlg::Sha256, b"m", &[0; 32])),
            km.key(id)
                .and_then(|k| k.derive(HashAlg::Sha256, b"", b"", &mut okm)),
        ];
        for (i, result) in results.into_iter().enumerate() {
            let err = result.expect_err(&format!("id \"{shown}\" call #{i} succeeded"));
            assert_eq!(
                err.kind(),
                ErrorKind::InvalidKeyId,
                "id \"{shown}\" call #{i}"
            );
            assert!(
                !err.message().contains(['\n', '\0']),
                "one-line message: {:?}",
                err.message()
            );
        }
        assert_eq!(okm, [9u8; 16]);
    }
    assert_eq!(
        snapshot(parent),
        before,
        "nothing created, changed or removed"
    );
    assert!(!Path::new("/abs.key").exists() && !Path::new("/tmp/abs.key").exists());
    assert_eq!(km.get("victim").unwrap().as_bytes(), b"original");

    // Bytes that are not UTF-8 are refused as well.
    for raw in [&b"\xff"[..], b"a\xc3", b"\xc3\xa9"] {
        assert_eq!(kind(validate_key_id(raw)), ErrorKind::InvalidKeyId);
    }
    // The whole allowed alphabet, and the length limit exactly.
    let max = "k".repeat(MAX_KEY_ID_LEN);
    for good in [
        "a", "Z", "0", "a.b", "a..b", "a-", "a_", "-a", "_a", "A-Z_0.9", &max,
    ] {
        assert_eq!(validate_key_id(good.as_bytes()).unwrap(), good);
        km.store(good, b"ok").unwrap();
        assert_eq!(km.get(good).unwrap().as_bytes(), b"ok", "{good}");
    }
}

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
// The default directory.

const EXPECTED_DIR_ENV: &str = "CODOMYRMEX_KEYS_TEST_EXPECTED_DIR";

#[test]
fn default_key_dir_honours_tmpdir_temp_and_tmp() {
    if let Some(scenario) = child_scenario() {
        let expected = PathBuf::from(std::env::var_os(EXPECTED_DIR_ENV).unwrap());
        assert_eq!(default_key_dir(), expected, "scenario {scenario}");
        if scenario != "none" {
            let km = KeyManager::open_default().unwrap();
            assert_eq!(
                km.location().path(),
                std::fs::canonicalize(&expected).unwrap()
            );
            assert_eq!(mode_of(&expected), 0o700);
            km.store("k", b"v").unwrap();
            assert!(expected.join("k.key").is_file());

            // The C function opens the same directory for a NULL key_dir.
            use codomyrmex_keys::ffi::key_manager::{
                codomyrmex_key_manager_dir, codomyrmex_key_manager_free,
                codomyrmex_key_manager_open,
            };
            use codomyrmex_keys::ffi::status::codomyrmex_status::CODOMYRMEX_OK;
            let mut handle = std::ptr::null_mut();
            let mut buf = [0u8; 4096];
            let mut len = 0usize;
            // SAFETY: NULL key_dir is allowed; the handle is freed once.
            unsafe {
                assert_eq!(
                    codomyrmex_key_manager_open(std::ptr::null(), &mut handle),
                    CODOMYRMEX_OK
                );
                assert_eq!(
                    codomyrmex_key_manager_dir(
                        handle,
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        &mut len
                    ),
                    CODOMYRMEX_OK
                );
                codomyrmex_key_manager_free(handle);
            }
            assert_eq!(&buf[..len - 1], km.location().path().as_os_str().as_bytes());
        }
        return;
    }

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (t, e, m) = (root.join("tmpdir"), root.join("temp"), root.join("tmp"));
    // Only an existing directory this user can write counts: a missing
    // `$TMPDIR` (or one that is a file) is skipped, never created.
    for dir in [&t, &e, &m] {
        std::fs::create_dir(dir).unwrap();
        set_mode(dir, 0o700);
    }
    let missing = root.join("missing");
    let file = root.join("file");
    write_raw(&file, b"not a directory", 0o600);
    let name = "default_key_dir_honours_tmpdir_temp_and_tmp";
    let expect = |dir: &Path| dir.join("codomyrmex_keys");
    let unset: &[(&str, Option<&Path>)] = &[(codomyrmex_keys::KEY_DIR_ENV, None)];

    let scenarios: [(&str, [Option<&Path>; 3], PathBuf); 6] = [
        ("tmpdir", [Some(&t), Some(&e), Some(&m)], expect(&t)),
        ("temp", [None, Some(&e), Some(&m)], expect(&e)),
        ("tmp", [None, None, Some(&m)], expect(&m)),
        (
            "missing-tmpdir",
            [Some(&missing), None, Some(&m)],
            expect(&m),
        ),
        ("tmpdir-a-file", [Some(&file), Some(&e), None], expect(&e)),
        (
            "none",
            [None, None, None],
            PathBuf::from("/tmp/codomyrmex_keys"),
        ),
    ];
    for (scenario, [tmpdir, temp, tmp_var], expected) in &scenarios {
        let mut env = unset.to_vec();
        env.extend([
            ("TMPDIR", *tmpdir),
            ("TEMP", *temp),
            ("TMP", *tmp_var),
            (EXPECTED_DIR_ENV, Some(expected.as_path())),
        ]);
        run_in_child(name, scenario, &env);
    }
    // Each child created its directory as 0700, in the first usable one.
    for dir in [&t, &e, &m] {
        assert_eq!(mode_of(&expect(dir)), 0o700, "{}", dir.display());
        assert!(expect(dir).join("k.key").is_file());
    }
    assert!(!missing.exists(), "a missing $TMPDIR is not created");
}

#[test]
fn default_key_dir_made_by_another_user_is_refused() {
    let name = "default_key_dir_made_by_another_user_is_refused";
    if child_scenario().is_some() {
        let expected = PathBuf::from(std::env::var_os(EXPECTED_DIR_ENV).unwrap());
        assert_eq!(default_key_dir(), expected);
        let err = KeyManager::open_default().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InsecurePermissions, "{err}");
        for needed in ["uid 65534", codomyrmex_keys::KEY_DIR_ENV] {
            assert!(err.message().contains(needed), "{needed}: {err}");
        }
        assert!(err.message().contains(expected.to_str().unwrap()), "{err}");
        // Named on purpose, the same directory gets the ordinary checks
        // (another owner) and no squatting message.
        // SAFETY: this process runs only this test; no other thread reads
        // the environment.
        unsafe { std::env::set_var(codomyrmex_keys::KEY_DIR_ENV, &expected) };
        let err = KeyManager::open_default().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InsecurePermissions, "{err}");
        assert!(!err.message().contains("set CODOMYRMEX_KEY_DIR"), "{err}");
        return;
    }
    if !is_root() {
        eprintln!("skipped: making a directory of another user needs root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    set_mode(&shared, 0o1777);
    // Another user got there first.
    let squatted = shared.join("codomyrmex_keys");
    std::fs::create_dir(&squatted).unwrap();
    set_mode(&squatted, 0o700);
    std::os::unix::fs::chown(&squatted, Some(65534), Some(65534)).unwrap();
    run_in_child(
        name,
        "squatted",
        &[
            (codomyrmex_keys::KEY_DIR_ENV, None),
            ("TMPDIR", Some(&shared)),
            (EXPECTED_DIR_ENV, Some(&squatted)),
        ],
    );
    assert_eq!(
        std::fs::read_dir(&squatted).unwrap().count(),
        0,
        "nothing was created in it"
    );
}

#[test]
fn key_manager_is_shared_across_threads() {
    let (_tmp, _dir, km) = fresh();
    let km = Arc::new(km);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let km = Arc::clone(&km);
            std::thread::spawn(move || {
                for i in 0..10 {
                    let id = format!("t{t}-{i}");
                    km.store(&id, id.as_bytes()).unwrap();
                    assert_eq!(km.get(&id).unwrap().as_bytes(), id.as_bytes());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(km.list().unwrap().len(), 40);
}
