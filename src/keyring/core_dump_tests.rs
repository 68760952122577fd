//! A core dump of a process holding a keyring holds neither its key bytes
//! nor its precomputed HMAC state; nor, for a keyring of a sealed store,
//! the key-encryption key.
//!
//! Each test re-runs this test binary as a child that holds a keyring of
//! keys made from a random seed (so they are in no earlier run), and keeps,
//! as a positive control, another key and its precomputed state in
//! ordinary heap memory. Once the child says it is ready, `gcore` (gdb)
//! dumps it; the test then searches the core file for the keys and for
//! their inner and outer chaining values, computed here independently with
//! the bare SHA-256 compression function. The control must be found (the
//! dump does show ordinary memory, and the search works); the secrets must
//! not (not even 16 bytes of them).
//!
//! - The first child's keyring gets its key from a source that hands it
//!   over once and keeps nothing.
//! - The second child opens a sealed key directory (both versions of its
//!   key sealed) with the KEK file, loads a keyring from it, and also MACs
//!   and verifies through the key manager, which reads and unseals the key
//!   files on every call: neither the KEK nor any key may be left behind.

use super::*;
use crate::hmac_key::HmacKey;
use crate::secret::SecretBytes;
use crate::store::{KeyManager, Location, OpenOptions};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

const CHILD_SEED: &str = "CODOMYRMEX_CORE_DUMP_CHILD_SEED";
/// The directory of the sealed store's child: `keys/` and `store.kek`.
const CHILD_DIR: &str = "CODOMYRMEX_CORE_DUMP_CHILD_DIR";
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// 32 key bytes from `seed` (xorshift64), none of them 0, written in place.
fn fill_key(seed: u64, out: &mut [u8]) {
    let mut x = seed | 1;
    for byte in out {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *byte = (x >> 56) as u8 | 1;
    }
}

/// The SHA-256 chaining value after one block of `key ^ pad`, as the words
/// lie in memory: what a precomputed HMAC key holds.
fn chaining_value(key: &[u8], pad: u8) -> Vec<u8> {
    let mut block = [pad; 64];
    block.iter_mut().zip(key).for_each(|(b, k)| *b ^= k);
    let mut state = SHA256_IV;
    sha2::block_api::compress256(&mut state, &[block]);
    state.iter().flat_map(|w| w.to_ne_bytes()).collect()
}

/// Hands its key over once, then holds nothing.
struct OnceSource(Mutex<Option<SecretBytes>>);

impl KeySource for OnceSource {
    fn change_marker(&self) -> Result<Marker> {
        Ok(Marker([1, 0, 0, 0]))
    }

    fn load(&self) -> Result<LoadedKey> {
        let key = lock_key(&self.0).take();
        let key = key.ok_or_else(|| Error::new(ErrorKind::NotFound, "handed over"))?;
        Ok(LoadedKey {
            current: 1,
            versions: vec![(1, key)],
        })
    }
}

fn lock_key(key: &Mutex<Option<SecretBytes>>) -> MutexGuard<'_, Option<SecretBytes>> {
    key.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The child: holds a keyring and the control, says where the keyring's
/// pages are, and waits for its standard input to close.
#[test]
#[ignore = "run by the core dump test, in a child process"]
fn core_dump_child() {
    let Ok(seed) = std::env::var(CHILD_SEED) else {
        return;
    };
    let seed: u64 = seed.parse().unwrap();
    let mut key = SecretBytes::zeroed(32);
    fill_key(seed, key.as_mut_bytes());
    let source = OnceSource(Mutex::new(Some(key)));
    let ring = Keyring::new(Box::new(source), HashAlg::Sha256, 0).unwrap();
    std::hint::black_box(ring.hmac(b"in use").unwrap());

    hold_until_dumped(seed, &ring);
    drop(ring);
}

/// The child's last part: makes the control (a key and its precomputed
/// state in ordinary heap memory), says where `ring`'s pages are, and waits
/// for its standard input to close.
fn hold_until_dumped(seed: u64, ring: &Keyring) {
    let mut control = SecretBytes::zeroed(32);
    fill_key(!seed, control.as_mut_bytes());
    let control_key = Box::new(HmacKey::new(HashAlg::Sha256, &control));
    std::hint::black_box(control_key.mac(b"in use"));

    let pages = match &**ring.shared.served.load() {
        Served::Keys(set) => set.page_range(),
        Served::Deleted => unreachable!(),
    };
    println!("ready {:x} {}", pages.start, ring.is_locked());
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    drop((control_key, control));
}

/// The version-2 key of the sealed store's child, from its seed.
fn second_key(seed: u64) -> [u8; 32] {
    let mut key = [0u8; 32];
    fill_key(seed.rotate_left(17) ^ 0x2222, &mut key);
    key
}

/// The sealed store's KEK, from the child's seed.
fn kek_of(seed: u64) -> [u8; 32] {
    let mut kek = [0u8; 32];
    fill_key(seed.rotate_left(31) ^ 0x4b4b, &mut kek);
    kek
}

/// The sealed store's key manager, opened with its KEK file.
fn open_sealed(dir: &Path) -> KeyManager {
    let options = OpenOptions::new()
        .kek_file(dir.join("store.kek"))
        .require_sealed(true);
    KeyManager::open_with(&Location::Dir(dir.join("keys")), &options).unwrap()
}

/// The second child: a key manager opened with a KEK on a sealed store, a
/// keyring of its key, and MACs through both; then the control.
#[test]
#[ignore = "run by the core dump test, in a child process"]
fn sealed_core_dump_child() {
    let (Ok(seed), Some(dir)) = (std::env::var(CHILD_SEED), std::env::var_os(CHILD_DIR)) else {
        return;
    };
    let seed: u64 = seed.parse().unwrap();
    let km = open_sealed(Path::new(&dir));
    let ring = km.load("k", HashAlg::Sha256, None).unwrap();
    let tag = ring.hmac_tagged(b"in use").unwrap();
    let key = km.key("k").unwrap();
    key.hmac_verify_tagged(HashAlg::Sha256, b"in use", tag.as_bytes())
        .unwrap();
    let old_tag = key
        .at(crate::Version::Number(std::num::NonZeroU32::MIN))
        .hmac(HashAlg::Sha256, b"in use")
        .unwrap();
    let old_tag = TaggedMac::new(1, &old_tag);
    ring.hmac_verify_tagged(b"in use", old_tag.as_bytes())
        .unwrap();
    assert_eq!(ring.current_version().unwrap(), 2);
    hold_until_dumped(seed, &ring);
    drop((ring, km));
}

/// Bytes of a piece searched for: the search looks for every 16-byte
/// window of the secrets, and for the whole of each control value.
const WINDOW: usize = 16;

/// Which of `pieces` (each at least [`WINDOW`] bytes) occur in `haystack`,
/// in one pass: a table of the first two bytes of every piece filters the
/// positions worth comparing.
fn find_pieces(haystack: &[u8], pieces: &[Vec<u8>]) -> Vec<bool> {
    let mut starts = vec![false; 1 << 16];
    for piece in pieces {
        starts[usize::from(piece[0]) << 8 | usize::from(piece[1])] = true;
    }
    let mut found = vec![false; pieces.len()];
    for at in 0..haystack.len().saturating_sub(WINDOW) {
        if !starts[usize::from(haystack[at]) << 8 | usize::from(haystack[at + 1])] {
            continue;
        }
        for (piece, seen) in pieces.iter().zip(found.iter_mut()) {
            if haystack[at..].starts_with(piece) {
                *seen = true;
            }
        }
    }
    found
}

/// The `VmFlags` of the mapping of process `pid` that starts at `start`.
fn vm_flags(pid: u32, start: &str) -> Vec<String> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let head = format!("{start}-");
    let flags = smaps
        .lines()
        .skip_while(|line| !line.starts_with(&head))
        .find(|line| line.starts_with("VmFlags:"))
        .expect("the keyring's mapping");
    flags
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// Dumps the core of `pid` with gcore into `dir`; the core's bytes.
fn gcore(pid: u32, dir: &std::path::Path) -> Vec<u8> {
    let prefix = dir.join("core");
    let status = Command::new("gcore")
        .arg("-o")
        .arg(&prefix)
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("gcore (from gdb) must be installed for this test");
    assert!(status.success(), "gcore failed: {status}");
    std::fs::read(dir.join(format!("core.{pid}"))).unwrap()
}

/// A seed no earlier run used.
fn random_seed() -> u64 {
    let mut seed_bytes = [0u8; 8];
    crate::random::random_bytes(&mut seed_bytes).unwrap();
    u64::from_ne_bytes(seed_bytes)
}

/// Runs the child test `child_test` with `seed` (and the environment
/// `env`), dumps its core once it is ready, and checks the keyring's pages
/// and the core: the control is found, and no 16 bytes of any of `secrets`
/// (each a name and its bytes) are, nor of the key schedules of `keys`.
fn check_core_of_child(
    child_test: &str,
    seed: u64,
    env: &[(&str, &std::ffi::OsStr)],
    keys: &[(&str, &[u8])],
    secrets: &[(&str, &[u8])],
) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", child_test])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_SEED, seed.to_string());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The test harness prints the test's name first, on the same line.
    let ready = lines
        .find_map(|line| Some(line.ok()?.split_once("ready ")?.1.to_string()))
        .expect("the child got ready");
    let fields: Vec<&str> = std::iter::once("ready")
        .chain(ready.split_whitespace())
        .collect();
    let flags = vm_flags(pid, fields[1]);
    let tmp = tempfile::tempdir().unwrap();
    let core = gcore(pid, tmp.path());
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());

    assert!(
        flags.contains(&"dd".to_string()),
        "not excluded from dumps: {flags:?}"
    );
    if fields[2] == "true" {
        assert!(flags.contains(&"lo".to_string()), "not locked: {flags:?}");
    }
    let mut control = [0u8; 32];
    fill_key(!seed, &mut control);
    let named = |who: &str, key: &[u8]| {
        [
            (who.to_string(), key.to_vec()),
            (
                format!("{who}'s inner chaining value"),
                chaining_value(key, 0x36),
            ),
            (
                format!("{who}'s outer chaining value"),
                chaining_value(key, 0x5c),
            ),
        ]
    };
    let controls = named("control key", &control);
    let mut searched: Vec<(String, Vec<u8>)> =
        keys.iter().flat_map(|(who, key)| named(who, key)).collect();
    searched.extend(
        secrets
            .iter()
            .map(|(who, bytes)| (who.to_string(), bytes.to_vec())),
    );
    let windows: Vec<(String, Vec<u8>)> = searched
        .into_iter()
        .flat_map(|(name, value)| {
            let windows: Vec<Vec<u8>> = value.windows(WINDOW).map(<[u8]>::to_vec).collect();
            windows.into_iter().map(move |piece| (name.clone(), piece))
        })
        .collect();
    let mut pieces: Vec<Vec<u8>> = controls.iter().map(|(_, value)| value.clone()).collect();
    pieces.extend(windows.iter().map(|(_, piece)| piece.clone()));
    let found = find_pieces(&core, &pieces);
    for ((name, _), seen) in controls.iter().zip(&found) {
        assert!(
            seen,
            "the {name} is not in the core: the test proves nothing"
        );
    }
    for ((name, _), seen) in windows.iter().zip(&found[controls.len()..]) {
        assert!(!seen, "16 bytes of the {name} are in the core");
    }
}

#[test]
fn a_core_dump_holds_no_key_bytes_and_no_precomputed_state() {
    let seed = random_seed();
    let mut key = [0u8; 32];
    fill_key(seed, &mut key);
    check_core_of_child(
        "keyring::core_dump_tests::core_dump_child",
        seed,
        &[],
        &[("keyring's key", &key)],
        &[],
    );
}

#[test]
fn a_core_dump_of_a_sealed_stores_keyring_holds_no_kek_and_no_key() {
    let seed = random_seed();
    let mut first = [0u8; 32];
    fill_key(seed, &mut first);
    let second = second_key(seed);
    let kek = kek_of(seed);
    let tmp = tempfile::tempdir().unwrap();
    let kek_file = tmp.path().join("store.kek");
    std::fs::write(&kek_file, kek).unwrap();
    std::fs::set_permissions(
        &kek_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    {
        let km = open_sealed(tmp.path());
        km.store("k", &first).unwrap();
        km.rotate("k", &second).unwrap();
    }
    // Both versions are sealed: no file holds a key.
    for entry in walk(&tmp.path().join("keys")) {
        let content = std::fs::read(&entry).unwrap();
        for key in [&first[..], &second[..]] {
            assert!(
                !content
                    .windows(WINDOW)
                    .any(|w| key.windows(WINDOW).any(|k| k == w)),
                "{entry:?} holds key bytes"
            );
        }
    }
    check_core_of_child(
        "keyring::core_dump_tests::sealed_core_dump_child",
        seed,
        &[(CHILD_DIR, tmp.path().as_os_str())],
        &[("version 1 key", &first), ("version 2 key", &second)],
        &[("KEK", &kek)],
    );
}

/// Every regular file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.is_file() {
            files.push(path);
        }
    }
    files
}
