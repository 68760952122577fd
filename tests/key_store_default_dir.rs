//! The default key directory: `$CODOMYRMEX_KEY_DIR`, else
//! `<tmp>/codomyrmex_keys` in the first usable temporary directory, refused
//! when another user made it.

mod common;

use codomyrmex_keys::{ErrorKind, KeyManager, default_key_dir};
use common::fs::{mode_of, set_mode, write_file as write_raw};
use common::{child_scenario, is_root, run_in_child};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

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
