//! The states a kill leaves between creating a file or directory and
//! setting its mode, for a user whose umask takes away the owner's write
//! bit, and what a killed release 1.0 writer left: none of it blocks a
//! write, and what is provably dead is removed.

mod common;

use codomyrmex_keys::KeyManager;
use common::store::{version_bytes, version_list};
use common::users::{become_nobody, hand_to_nobody};
use common::{child_scenario, dead_pid, run_in_child};
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const UMASK_DIR_ENV: &str = "CODOMYRMEX_CRASH_UMASK_DIR";

/// Recreates `name` in `dir` as a kill between its creation and its
/// `fchmod` leaves it under umask 0277: a file of mode 0400, a directory of
/// mode 0500 (empty).
fn leave_half_created(path: &Path, is_dir: bool) {
    if is_dir {
        std::fs::remove_dir_all(path).unwrap();
        std::fs::create_dir(path).unwrap();
        std::fs::set_permissions(path, Permissions::from_mode(0o500)).unwrap();
    } else {
        let _ = std::fs::remove_file(path);
        std::fs::write(path, b"").unwrap();
        std::fs::set_permissions(path, Permissions::from_mode(0o400)).unwrap();
    }
}

/// Runs `scenario` of `test` as uid 65534 with umask 0277 in a child
/// process, on a fresh key directory owned by that user.
fn as_restricted_user(test: &str, scenario: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    std::fs::create_dir(&dir).unwrap();
    hand_to_nobody(tmp.path(), &dir);
    run_in_child(test, scenario, &[(UMASK_DIR_ENV, Some(&dir))]);
}

/// In the child: become uid 65534 (if root) with umask 0277 and open the
/// directory prepared by [`as_restricted_user`].
fn become_restricted_user() -> PathBuf {
    let dir = PathBuf::from(std::env::var_os(UMASK_DIR_ENV).expect("the directory is set"));
    become_nobody();
    // SAFETY: umask has no preconditions.
    unsafe { libc::umask(0o277) };
    dir
}

#[test]
fn stale_temp_files_left_under_a_restrictive_umask_are_replaced() {
    let name = "stale_temp_files_left_under_a_restrictive_umask_are_replaced";
    if child_scenario().as_deref() == Some("umask-temp") {
        let dir = become_restricted_user();
        let km = KeyManager::open(&dir).unwrap();
        km.store("k", b"version one").unwrap();
        km.rotate("k", b"version two").unwrap();
        // Kills while writing the key file and the record of version 2.
        leave_half_created(&dir.join(".k.key.tmp"), false);
        leave_half_created(&dir.join(".versions/k/.2.tmp"), false);
        let km = KeyManager::open(&dir).unwrap();
        assert_eq!(km.list().unwrap(), ["k"]);
        assert_eq!(km.get("k").unwrap().as_bytes(), b"version two");
        let old = km.rotate("k", b"version three").unwrap().unwrap();
        assert_eq!(old.as_bytes(), b"version two");
        assert_eq!(version_list(&km, "k").unwrap(), [1, 2, 3]);
        assert_eq!(
            version_bytes(&km, "k", 2).unwrap().as_bytes(),
            b"version two"
        );
        assert!(!dir.join(".k.key.tmp").exists());
        assert!(!dir.join(".versions/k/.2.tmp").exists());
        return;
    }
    as_restricted_user(name, "umask-temp");
}

/// Leaves the half-made entries `what` in a directory holding key "k"
/// (version 1, never rotated), as a kill of a release 1.0 writer at that
/// instant left them, then checks that a new key manager can still store
/// and rotate.
///
/// Release 1.0 created the lock file and the version directories under a
/// temporary name `<name>.<pid>.<n>.tmp`, set their mode, then renamed them
/// into place; a kill before the rename left only the temporary, with the
/// umask's mode. This release makes them with their final mode and no such
/// names, and opening removes those whose process is gone. Two are left
/// here: one of a process that has ended (removed by the open) and one of a
/// live process (this one: left alone); neither blocks a write.
fn half_created_scenario(what: &str) {
    let dir = become_restricted_user();
    let km = KeyManager::open(&dir).unwrap();
    km.store("k", b"version one").unwrap();
    drop(km);
    let (parent, prefix, is_dir) = match what {
        // A kill inside KeyManager::open, before the lock file got its mode.
        "lock" => {
            std::fs::remove_file(dir.join(".lock")).unwrap();
            (dir.clone(), ".lock", false)
        }
        // A kill inside the first rotation, before `.versions` got its mode.
        "versions" => (dir.clone(), ".versions", true),
        // The same for `.versions/k`, after `.versions` was made.
        "versions-id" => {
            // The open made `.versions`, mode 0700, and it is still empty.
            assert!(
                std::fs::read_dir(dir.join(".versions"))
                    .unwrap()
                    .next()
                    .is_none()
            );
            (dir.join(".versions"), "k", true)
        }
        other => panic!("unknown scenario {other}"),
    };
    let leftover = |pid: u32, n: u32| {
        let path = parent.join(format!("{prefix}.{pid}.{n}.tmp"));
        if is_dir {
            std::fs::create_dir(&path).unwrap();
        }
        leave_half_created(&path, is_dir);
        path
    };
    let of_the_dead = leftover(dead_pid(), 0);
    let of_the_living = leftover(std::process::id(), 1);
    let km = KeyManager::open(&dir).unwrap();
    assert_eq!(km.get("k").unwrap().as_bytes(), b"version one");
    assert_eq!(version_list(&km, "k").unwrap(), [1]);
    km.store("other", b"another key")
        .unwrap_or_else(|e| panic!("a new key after a kill ({what}): {e}"));
    let old = km
        .rotate("k", b"version two")
        .unwrap_or_else(|e| panic!("a rotation after a kill ({what}): {e}"));
    assert_eq!(old.unwrap().as_bytes(), b"version one");
    assert_eq!(version_list(&km, "k").unwrap(), [1, 2]);
    assert_eq!(
        version_bytes(&km, "k", 1).unwrap().as_bytes(),
        b"version one"
    );
    assert_eq!(km.get("k").unwrap().as_bytes(), b"version two");
    assert_eq!(
        km.list().unwrap(),
        ["k", "other"],
        "the leftover is not listed"
    );
    assert!(
        !of_the_dead.exists(),
        "the leftover of an ended process is removed"
    );
    assert!(
        of_the_living.exists(),
        "the leftover of a live process is left alone"
    );
    for entry in [
        dir.join(".lock"),
        dir.join(".versions"),
        dir.join(".versions/k"),
    ] {
        let mode = std::fs::metadata(&entry).unwrap().permissions().mode() & 0o777;
        let expected = if entry.ends_with(".lock") {
            0o600
        } else {
            0o700
        };
        assert_eq!(mode, expected, "{} has its exact mode", entry.display());
    }
}

#[test]
fn half_created_lock_file_blocks_no_write() {
    let name = "half_created_lock_file_blocks_no_write";
    if child_scenario().as_deref() == Some("half-lock") {
        half_created_scenario("lock");
        return;
    }
    as_restricted_user(name, "half-lock");
}

#[test]
fn half_created_versions_dir_blocks_no_write() {
    let name = "half_created_versions_dir_blocks_no_write";
    if child_scenario().as_deref() == Some("half-versions") {
        half_created_scenario("versions");
        return;
    }
    as_restricted_user(name, "half-versions");
}

#[test]
fn half_created_key_versions_dir_blocks_no_write() {
    let name = "half_created_key_versions_dir_blocks_no_write";
    if child_scenario().as_deref() == Some("half-versions-id") {
        half_created_scenario("versions-id");
        return;
    }
    as_restricted_user(name, "half-versions-id");
}

/// A kill between making a version directory (mode 0700) and fixing its
/// mode through the descriptor, under umask 0277, leaves it empty with mode
/// 0500: the next rotation still works, and the directory gets 0700.
#[test]
fn empty_version_dirs_left_with_the_umask_mode_block_no_write() {
    let name = "empty_version_dirs_left_with_the_umask_mode_block_no_write";
    if child_scenario().as_deref() == Some("umask-dirs") {
        let dir = become_restricted_user();
        let km = KeyManager::open(&dir).unwrap();
        km.store("k", b"version one").unwrap();
        km.store("j", b"version one").unwrap();
        // Killed once in an open, after making `.versions`, then in the
        // first rotation of "j", after making `.versions/j`.
        leave_half_created(&dir.join(".versions"), true);
        let km = KeyManager::open(&dir).unwrap();
        km.rotate("k", b"version two")
            .unwrap_or_else(|e| panic!("a rotation after a kill: {e}"));
        std::fs::create_dir(dir.join(".versions/j")).unwrap();
        leave_half_created(&dir.join(".versions/j"), true);
        let km = KeyManager::open(&dir).unwrap();
        km.rotate("j", b"version two")
            .unwrap_or_else(|e| panic!("a rotation after a kill: {e}"));
        for id in ["k", "j"] {
            assert_eq!(version_list(&km, id).unwrap(), [1, 2], "{id}");
            assert_eq!(
                version_bytes(&km, id, 1).unwrap().as_bytes(),
                b"version one"
            );
        }
        for entry in [".versions", ".versions/k", ".versions/j"] {
            let mode = std::fs::metadata(dir.join(entry))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{entry}");
        }
        return;
    }
    as_restricted_user(name, "umask-dirs");
}
