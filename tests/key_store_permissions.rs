//! Private files and directories through the safe API: exact modes under
//! any umask, and refusal of key files and key directories that are links,
//! have other owners or are open to others.

mod common;

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager};
use common::fs::{mode_of, set_mode, write_file as write_raw};
use common::store::{fresh, kind};
use common::users::{become_nobody, hand_to_nobody};
use common::{Entry, child_scenario, is_root, run_in_child, snapshot};
use std::path::PathBuf;

const EXPECTED_DIR_ENV: &str = "CODOMYRMEX_KEYS_TEST_EXPECTED_DIR";

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
