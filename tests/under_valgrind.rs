//! The library runs under valgrind: memcheck runs a program's code on a
//! synthetic CPU, in an address space of its own making, and a library that
//! reads the kernel's own view of the process (the auxiliary vector through
//! `PR_GET_AUXV` or `/proc/self/auxv`) finds addresses there, such as the
//! vDSO's, that do not exist for the program. rustix does that unless told
//! to ask libc (`getauxval`, which valgrind answers), and its first use (the
//! page size of locked key memory, the vDSO of the keyring's clock) then
//! crashed a keyring's process under valgrind, as `scripts/test-memory.sh`
//! showed with the C keyring tests.
//!
//! The test runs one child scenario under valgrind memcheck (skipped where
//! valgrind is not installed): a keyring loaded (locked pages, stack
//! scrubbing), MACs made while it refreshes by itself (the coarse clock),
//! a key manager opened with a KEK file.

mod common;

use codomyrmex_keys::{HashAlg, KeyManager, OpenOptions};
use common::{child_command, child_scenario};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

const TEST: &str = "a_keyring_and_a_kek_work_under_valgrind";
const SCENARIO: &str = "valgrind";

/// What runs under valgrind.
fn scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let kek = tmp.path().join("store.kek");
    std::fs::write(&kek, [0x42; 32]).unwrap();
    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o600)).unwrap();
    let options = OpenOptions::new().kek_file(&kek);
    let km = KeyManager::open_with(
        &codomyrmex_keys::Location::Dir(tmp.path().join("keys")),
        &options,
    )
    .unwrap();
    km.store("k", b"a key for the keyring under valgrind")
        .unwrap();
    let ring = km
        .load("k", HashAlg::Sha256, Some(Duration::from_millis(1)))
        .unwrap();
    let first = ring.hmac(b"data").unwrap();
    km.rotate("k", b"its second version").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while ring.current_version().unwrap() != 2 {
        assert!(std::time::Instant::now() < deadline, "no refresh");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_ne!(ring.hmac(b"data").unwrap(), first);
    println!("{SCENARIO}: the keyring refreshed");
}

#[test]
fn a_keyring_and_a_kek_work_under_valgrind() {
    if child_scenario().as_deref() == Some(SCENARIO) {
        scenario();
        return;
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("skipped: valgrind is not installed");
        return;
    }
    let child = child_command(TEST, SCENARIO);
    let output = Command::new("valgrind")
        .args(["--quiet", "--error-exitcode=99"])
        .arg(child.get_program())
        .args(child.get_args())
        .envs(child.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .expect("valgrind runs");
    common::check_child(TEST, SCENARIO, &output);
}
