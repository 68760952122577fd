//! SIGKILL at random instants on a sealed store: during rotations, during
//! `seal_all` (plain to sealed) and during a rewrap (one KEK to another).
//! After every kill every key and every version it keeps must be readable
//! and hold exactly the bytes it had, and a rerun must finish the work.

use codomyrmex_keys::{KeyManager, Location, OpenOptions, Version};
use std::num::NonZeroU32;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Selects what a child process of this test binary does.
const CHILD_ENV: &str = "CODOMYRMEX_SEALED_CRASH_CHILD";
const IDS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
const KILLS: u64 = 20;

/// The bytes of version `version` of `id`: every writer and every check
/// agrees on them, so any state reached by a kill can be judged.
fn key_of(id: &str, version: u32) -> Vec<u8> {
    format!("{id}-version-{version:04}-").repeat(2).into_bytes()
}

fn open(dir: &Path, options: OpenOptions) -> KeyManager {
    KeyManager::open_with(&Location::Dir(dir.to_path_buf()), &options).unwrap()
}

fn write_kek(path: &Path, byte: u8) {
    std::fs::write(path, [byte; 32]).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Every key holds the bytes of each version it keeps, versions are
/// consecutive up to the current one; returns the total of versions.
fn check_store(km: &KeyManager) -> u32 {
    let mut total = 0;
    for id in IDS {
        let key = km.key(id).unwrap();
        let versions = key.versions().unwrap();
        let current = versions.current.get();
        let all: Vec<u32> = versions.all().iter().map(|v| v.get()).collect();
        assert_eq!(
            all,
            (all[0]..=current).collect::<Vec<_>>(),
            "{id}: versions {all:?}"
        );
        for &v in &all {
            let bytes = key
                .at(Version::Number(NonZeroU32::new(v).unwrap()))
                .get()
                .unwrap();
            assert_eq!(
                bytes.as_bytes(),
                key_of(id, v).as_slice(),
                "{id} version {v}"
            );
        }
        assert_eq!(
            key.get().unwrap().as_bytes(),
            key_of(id, current).as_slice(),
            "{id}"
        );
        total += all.len() as u32;
    }
    total
}

/// Runs `scenario` in a child process of this test binary and kills it
/// after `delay`.
fn run_and_kill(test: &str, scenario: &str, dir: &Path, delay: Duration) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{scenario} {}", dir.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

/// In a child: runs the scenario named by the environment, forever.
fn child_role() -> bool {
    let Ok(role) = std::env::var(CHILD_ENV) else {
        return false;
    };
    let (scenario, dir) = role.split_once(' ').unwrap();
    let dir = PathBuf::from(dir);
    let keks = dir.parent().unwrap().to_path_buf();
    match scenario {
        "rotate" => {
            let km = open(&dir, OpenOptions::new().kek_file(keks.join("k1")));
            loop {
                for id in IDS {
                    let next = km.key(id).unwrap().current_version().unwrap().get() + 1;
                    km.rotate(id, &key_of(id, next)).unwrap();
                }
            }
        }
        "seal" => {
            open(&dir, OpenOptions::new().kek_file(keks.join("k1")))
                .seal_all()
                .unwrap();
        }
        "rewrap" => {
            let options = OpenOptions::new()
                .kek_file(keks.join("k2"))
                .previous_kek_file(keks.join("k1"));
            open(&dir, options).seal_all().unwrap();
        }
        other => panic!("unknown scenario {other}"),
    }
    true
}

/// Delays spread over the first ~60 ms, where the work happens.
fn delay(kill: u64) -> Duration {
    Duration::from_micros(3_000 + (kill * 7_919) % 60_000)
}

#[test]
fn kills_during_rotations_seal_all_and_rewrap_lose_nothing() {
    if child_role() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    write_kek(&tmp.path().join("k1"), 0x31);
    write_kek(&tmp.path().join("k2"), 0x32);
    let test = "kills_during_rotations_seal_all_and_rewrap_lose_nothing";
    // A plain store with three versions of every key.
    let plain = open(&dir, OpenOptions::new());
    for id in IDS {
        plain.create(id, &key_of(id, 1)).unwrap();
        for v in 2..=3 {
            plain.rotate(id, &key_of(id, v)).unwrap();
        }
    }
    let either = || {
        open(
            &dir,
            OpenOptions::new()
                .kek_file(tmp.path().join("k2"))
                .previous_kek_file(tmp.path().join("k1")),
        )
    };
    let mut half_sealed = 0;
    for kill in 0..KILLS {
        run_and_kill(test, "seal", &dir, delay(kill));
        check_store(&either());
        let (sealed, all) = count_sealed(&dir, b"\x89CDXSEAL");
        half_sealed += u32::from(sealed > 0 && sealed < all);
    }
    eprintln!("seal_all: {KILLS} kills, {half_sealed} left a half-sealed store");
    assert!(half_sealed > 0, "no kill landed while seal_all was working");
    let sealed = open(&dir, OpenOptions::new().kek_file(tmp.path().join("k1")));
    sealed.seal_all().unwrap();
    let strict = open(
        &dir,
        OpenOptions::new()
            .kek_file(tmp.path().join("k1"))
            .require_sealed(true),
    );
    let versions = check_store(&strict);
    for kill in 0..KILLS {
        run_and_kill(test, "rotate", &dir, delay(kill));
        check_store(&strict);
    }
    let after_rotations = check_store(&strict);
    assert!(
        after_rotations > versions,
        "the rotating child made no rotation"
    );
    let k1_id = kek_id_of_some_file(&dir);
    let mut half_rewrapped = 0;
    for kill in 0..KILLS {
        run_and_kill(test, "rewrap", &dir, delay(kill));
        check_store(&either());
        let (under_k1, all) = count_sealed(&dir, &k1_id);
        half_rewrapped += u32::from(under_k1 > 0 && under_k1 < all);
    }
    eprintln!("rewrap: {KILLS} kills, {half_rewrapped} left files under both KEKs");
    // Finish whatever the killed rewraps left.
    either().seal_all().unwrap();
    let rewrapped = open(
        &dir,
        OpenOptions::new()
            .kek_file(tmp.path().join("k2"))
            .require_sealed(true),
    );
    assert_eq!(check_store(&rewrapped), after_rotations);
    assert_eq!(
        either().seal_all().unwrap(),
        0,
        "a second run has nothing left to do"
    );
}

/// How many key files and records under `dir` start with `prefix`, and
/// how many there are.
fn count_sealed(dir: &Path, prefix: &[u8]) -> (usize, usize) {
    let files = key_files(dir);
    let matching = files
        .iter()
        .filter(|bytes| bytes.starts_with(prefix))
        .count();
    (matching, files.len())
}

/// The first 18 bytes of a sealed file: magic, format, AEAD and KEK id.
fn kek_id_of_some_file(dir: &Path) -> Vec<u8> {
    key_files(dir)[0][..18].to_vec()
}

/// The contents of every key file and version record under `dir`.
fn key_files(dir: &Path) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            out.extend(key_files(&path));
        } else if !name.starts_with('.') {
            out.push(std::fs::read(&path).unwrap());
        }
    }
    out
}
