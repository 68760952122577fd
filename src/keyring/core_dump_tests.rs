//! A core dump of a process holding a keyring holds neither its key bytes
//! nor its precomputed HMAC state.
//!
//! The test re-runs this test binary as a child that builds a keyring from
//! a key made from a random seed (so the key is in no file and no earlier
//! run), and keeps, as a positive control, another key and its precomputed
//! state in ordinary heap memory. Once the child says it is ready, `gcore`
//! (gdb) dumps it; the test then searches the core file for the key and for
//! the inner and outer chaining values, computed here independently with
//! the bare SHA-256 compression function. The control must be found (the
//! dump does show ordinary memory, and the search works); the keyring's
//! secrets must not (not even 16 bytes of them).

use super::*;
use crate::hmac_key::HmacKey;
use crate::secret::SecretBytes;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

const CHILD_SEED: &str = "CODOMYRMEX_CORE_DUMP_CHILD_SEED";
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
    drop((ring, control_key, control));
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

#[test]
fn a_core_dump_holds_no_key_bytes_and_no_precomputed_state() {
    let mut seed_bytes = [0u8; 8];
    crate::random::random_bytes(&mut seed_bytes).unwrap();
    let seed = u64::from_ne_bytes(seed_bytes);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "keyring::core_dump_tests::core_dump_child"])
        .args(["--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_SEED, seed.to_string())
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
    let mut key = [0u8; 32];
    fill_key(seed, &mut key);
    let mut control = [0u8; 32];
    fill_key(!seed, &mut control);
    let named = |key: &[u8]| {
        [
            ("key", key.to_vec()),
            ("inner chaining value", chaining_value(key, 0x36)),
            ("outer chaining value", chaining_value(key, 0x5c)),
        ]
    };
    let controls = named(&control);
    let secrets: Vec<(&str, Vec<u8>)> = named(&key)
        .into_iter()
        .flat_map(|(name, value)| {
            let windows: Vec<Vec<u8>> = value.windows(WINDOW).map(<[u8]>::to_vec).collect();
            windows.into_iter().map(move |piece| (name, piece))
        })
        .collect();
    let mut pieces: Vec<Vec<u8>> = controls.iter().map(|(_, value)| value.clone()).collect();
    pieces.extend(secrets.iter().map(|(_, piece)| piece.clone()));
    let found = find_pieces(&core, &pieces);
    for ((name, _), seen) in controls.iter().zip(&found) {
        assert!(
            seen,
            "the control's {name} is not in the core: the test proves nothing"
        );
    }
    for ((name, _), seen) in secrets.iter().zip(&found[controls.len()..]) {
        assert!(!seen, "16 bytes of the keyring's {name} are in the core");
    }
}
