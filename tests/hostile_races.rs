//! An attacker swapping the key file while it is read and written, and
//! deletes and prunes refused half way by tampered version directories.

mod common;

use codomyrmex_keys::ErrorKind;
use common::SetOnDrop;
use common::fs::{changed, remove, set_mode, symlink, write_file};
use common::hostile::*;
use common::snapshot;
use common::store::version_list;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What a reader of "victim" saw while an attacker swapped its file.
#[derive(Default, Debug)]
struct SwapLog {
    reads: usize,
    refused: usize,
    writes: usize,
    foreign: Vec<String>,
}

/// Runs the victim's reads and writes for `run` while another thread
/// keeps renaming files made by `stage` over `victim.key`.
fn race_swaps(env: &Env, run: Duration, stage: fn(&Env, u64) -> PathBuf) -> (SwapLog, usize) {
    let stop = AtomicBool::new(false);
    let swaps = AtomicUsize::new(0);
    let mut log = SwapLog::default();
    std::thread::scope(|scope| {
        let _stop = SetOnDrop(&stop);
        scope.spawn(|| {
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let staged = stage(env, i);
                let _ = std::fs::rename(staged, env.key("victim"));
                swaps.fetch_add(1, Ordering::SeqCst);
                i += 1;
            }
        });
        let deadline = Instant::now() + run;
        while Instant::now() < deadline {
            match env.km.get("victim") {
                Ok(bytes) if [V1, V3, NEW].contains(&bytes.as_bytes()) => log.reads += 1,
                Ok(bytes) => log
                    .foreign
                    .push(String::from_utf8_lossy(&bytes).into_owned()),
                Err(e) => {
                    assert!(
                        matches!(
                            e.kind(),
                            ErrorKind::InsecurePermissions | ErrorKind::NotFound
                        ),
                        "{e:?}"
                    );
                    check_message(&e, "get during swaps");
                    log.refused += 1;
                }
            }
            match env.km.store("victim", NEW) {
                Ok(()) => log.writes += 1,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InsecurePermissions, "{e:?}");
                    log.refused += 1;
                }
            }
        }
    });
    assert_eq!(
        std::fs::read(env.secret()).unwrap(),
        OUTSIDE,
        "the outside file was written through a link"
    );
    (log, swaps.load(Ordering::SeqCst))
}

#[test]
fn racing_swaps_for_symlinks_never_leak_or_overwrite_the_target() {
    let env = Env::new();
    let (log, swaps) = race_swaps(&env, Duration::from_millis(1000), |env, i| {
        // Alternately a symbolic link to the outside file and a genuine
        // private key file.
        if i % 2 == 0 {
            let link = env.dir.join("swap-link");
            let _ = std::fs::remove_file(&link);
            symlink(&env.secret(), &link);
            link
        } else {
            let real = env.dir.join("swap-real");
            write_file(&real, V1, 0o600);
            real
        }
    });
    println!(
        "hostile: {swaps} symlink swaps raced {} good reads, {} writes, {} refusals",
        log.reads, log.writes, log.refused
    );
    assert!(
        log.foreign.is_empty(),
        "get read through a link: {:?}",
        log.foreign
    );
    assert!(swaps > 0 && log.reads + log.refused > 0);
}

// ---------------------------------------------------------------------------
// Deletes and prunes refused half way.

/// A change made to the fixture before a call.
type Setup = Box<dyn Fn(&Env)>;

fn setup(f: impl Fn(&Env) + 'static) -> Setup {
    Box::new(f)
}

/// The tamperings of the version directories that make a delete of
/// "victim" fail.
fn versions_tamperings() -> Vec<(&'static str, Setup)> {
    vec![
        (
            ".versions symlinked outside",
            setup(|e| {
                let stolen = e.outside.join("stolen");
                std::fs::rename(e.dir.join(".versions"), &stolen).unwrap();
                symlink(&stolen, &e.dir.join(".versions"));
            }),
        ),
        (
            ".versions/victim symlinked outside",
            setup(|e| {
                let stolen = e.outside.join("stolen-victim");
                std::fs::rename(e.dir.join(".versions/victim"), &stolen).unwrap();
                symlink(&stolen, &e.dir.join(".versions/victim"));
            }),
        ),
        (
            ".versions mode 0755",
            setup(|e| set_mode(&e.dir.join(".versions"), 0o755)),
        ),
        (
            ".versions a regular file",
            setup(|e| {
                remove(&e.dir.join(".versions"));
                write_file(&e.dir.join(".versions"), b"not a directory", 0o600);
            }),
        ),
    ]
}

#[test]
fn a_refused_delete_leaves_the_key() {
    let mut cases = 0;
    for (tamper, setup) in versions_tamperings() {
        let env = Env::new();
        setup(&env);
        let before = snapshot(&env.root);
        match env.km.delete("victim") {
            Ok(()) => {
                assert!(!env.km.exists("victim").unwrap(), "{tamper}");
            }
            Err(e) => {
                check_message(&e, tamper);
                assert_eq!(
                    changed(&before, &snapshot(&env.root)),
                    Vec::<PathBuf>::new(),
                    "{tamper}: delete failed with {:?} ({}), yet changed the directory",
                    e.kind(),
                    e.message()
                );
                assert_eq!(env.km.get("victim").unwrap().as_bytes(), V3, "{tamper}");
            }
        }
        assert_eq!(std::fs::read(env.secret()).unwrap(), OUTSIDE);
        cases += 1;
    }
    println!("hostile: {cases} refused-delete cases ran");
}

#[test]
fn a_refused_prune_removes_no_version() {
    let env = Env::new();
    env.km.rotate("victim", NEW).unwrap();
    // Records 1, 2 and 3, current version 4; record 2 is now a directory
    // with something in it, which cannot be removed as a record is.
    remove(&env.record("victim", 2));
    std::fs::create_dir(env.record("victim", 2)).unwrap();
    write_file(&env.record("victim", 2).join("inner"), b"x", 0o600);
    let before = all_key_states(&env.km, &["victim"]);
    match env.km.prune("victim", NonZeroU32::MIN) {
        Ok(()) => assert_eq!(version_list(&env.km, "victim").unwrap(), [4]),
        Err(e) => {
            check_message(&e, "prune");
            assert_eq!(
                all_key_states(&env.km, &["victim"]),
                before,
                "prune failed with {:?} ({}), yet removed versions",
                e.kind(),
                e.message()
            );
        }
    }
}
