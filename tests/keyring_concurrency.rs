//! One keyring, eight threads, and another process rotating the key.
//!
//! Eight threads make tagged MACs and verify them through one keyring that
//! refreshes by itself every 2 ms, while a child process (this test binary
//! run again) rotates the key 1,000 times, pruning it to its newest 5
//! versions after each rotation. Every tag a thread makes is checked at
//! once:
//!
//! - the keyring's calls never fail; its own verification of the tag fails
//!   only if the keyring already serves a current version at least 5 above
//!   the tag's (its version was pruned);
//! - the key manager (`Key::hmac_verify_tagged`, reading the store) accepts
//!   it, or refuses it only because its version was pruned: the store's
//!   current version is then at least the tag's version + 5 and the version
//!   is no longer listed;
//! - no torn state: the MAC is the HMAC of the data under the bytes the
//!   rotator wrote as that version, and under the bytes the store holds for
//!   it while it is retained;
//! - each thread sees the current version never go back.
//!
//! At the end the keyring serves version 1001. The figures (MACs made,
//! verified, pruned before the check, refreshes seen) are printed. Two
//! tests run the same workload, one through the C functions and one
//! through the safe API, one after the other.

mod common;

use codomyrmex_keys::ffi::alg::CODOMYRMEX_SHA256;
use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_free, codomyrmex_key_manager_open,
};
use codomyrmex_keys::ffi::keyring::{
    codomyrmex_key_manager_load, codomyrmex_keyring, codomyrmex_keyring_current_version,
    codomyrmex_keyring_free, codomyrmex_keyring_hmac_tagged, codomyrmex_keyring_hmac_verify_tagged,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::*;
use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, Keyring, Version, hmac};
use common::ffi::last_error;
use common::{Rng, check_child, child_command, child_scenario, test_seed};
use std::collections::BTreeSet;
use std::ffi::CString;
use std::num::NonZeroU32;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const C_TEST: &str = "c_keyring_serves_eight_threads_while_another_process_rotates_1000_times";
const SAFE_TEST: &str =
    "safe_keyring_serves_eight_threads_while_another_process_rotates_1000_times";
/// The child's scenario.
const ROTATOR: &str = "rotator";
/// Tells the child the key directory.
const DIR_ENV: &str = "CODOMYRMEX_KR_CONC_DIR";
/// Tells the child the seed of the key bytes.
const SEED_ENV: &str = "CODOMYRMEX_KR_CONC_SEED";

const ID: &str = "hot";
const ROTATIONS: u32 = 1000;
/// The version current after the last rotation.
const FINAL: u32 = ROTATIONS + 1;
/// Versions kept by each prune.
const KEEP: u32 = 5;
const THREADS: usize = 8;
const REFRESH_MS: u32 = 2;
/// How long the whole run may take before the test gives up.
const LIMIT: Duration = Duration::from_secs(120);

/// One test at a time: each has the machine's cores to itself, so its
/// figures and its time are its own.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The bytes the rotator writes as `version`.
fn key_of(seed: u64, version: u32) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ u64::from(version).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (0..4).flat_map(|_| rng.next_u64().to_le_bytes()).collect()
}

/// The child: 1,000 rotations, each followed by a prune to the newest 5.
fn rotate_all() {
    let dir = std::env::var_os(DIR_ENV).expect("the key directory");
    let seed: u64 = std::env::var(SEED_ENV).unwrap().parse().unwrap();
    let km = KeyManager::open(dir).unwrap();
    let keep = NonZeroU32::new(KEEP).unwrap();
    for version in 2..=FINAL {
        let old = km.rotate(ID, &key_of(seed, version)).unwrap();
        let old = old.expect("the key exists");
        assert!(
            old.as_bytes() == key_of(seed, version - 1),
            "rotation to {version} returned another key"
        );
        km.prune(ID, keep).unwrap();
    }
    println!("rotator: {ROTATIONS} rotations done");
}

/// Why a keyring refused a tag.
#[derive(Debug)]
enum Refusal {
    VerifyFailed,
    Other(String),
}

/// What the threads need of a keyring, through either API.
trait Ring: Sync {
    fn tagged(&self, data: &[u8]) -> Result<Vec<u8>, String>;
    fn verify_tagged(&self, data: &[u8], tag: &[u8]) -> Result<(), Refusal>;
    fn current(&self) -> Result<u32, String>;
}

impl Ring for Keyring {
    fn tagged(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        self.hmac_tagged(data)
            .map(|tag| tag.as_bytes().to_vec())
            .map_err(|err| err.to_string())
    }

    fn verify_tagged(&self, data: &[u8], tag: &[u8]) -> Result<(), Refusal> {
        self.hmac_verify_tagged(data, tag)
            .map_err(|err| match err.kind() {
                ErrorKind::VerifyFailed => Refusal::VerifyFailed,
                _ => Refusal::Other(err.to_string()),
            })
    }

    fn current(&self) -> Result<u32, String> {
        self.current_version().map_err(|err| err.to_string())
    }
}

/// A keyring of the C API, shared by the threads.
struct CRing(*mut codomyrmex_keyring);

// SAFETY: a C keyring may be used from many threads at once (API.md §1,
// §10); the pointer is only freed on drop, after every thread is joined.
unsafe impl Send for CRing {}
// SAFETY: as above.
unsafe impl Sync for CRing {}

impl CRing {
    /// Loads `ID` of the key directory `dir` through a C key manager, which
    /// is freed at once: the keyring outlives it.
    fn load(dir: &Path) -> CRing {
        let path = CString::new(dir.as_os_str().as_bytes()).unwrap();
        let mut km: *mut codomyrmex_key_manager = std::ptr::null_mut();
        let mut kr = std::ptr::null_mut();
        let id = CString::new(ID).unwrap();
        // SAFETY: NUL-terminated strings, writable out-pointers, live handles.
        unsafe {
            assert_eq!(
                codomyrmex_key_manager_open(path.as_ptr(), &mut km),
                CODOMYRMEX_OK
            );
            let status = codomyrmex_key_manager_load(
                km,
                id.as_ptr(),
                CODOMYRMEX_SHA256,
                REFRESH_MS,
                &mut kr,
            );
            assert_eq!(status, CODOMYRMEX_OK, "load: {}", last_error());
            codomyrmex_key_manager_free(km);
        }
        CRing(kr)
    }
}

impl Drop for CRing {
    fn drop(&mut self) {
        // SAFETY: a keyring from codomyrmex_key_manager_load, freed once.
        unsafe { codomyrmex_keyring_free(self.0) };
    }
}

impl Ring for CRing {
    fn tagged(&self, data: &[u8]) -> Result<Vec<u8>, String> {
        let mut tag = vec![0u8; 64];
        let mut len = 0;
        // SAFETY: a live keyring, a readable input, a buffer of its capacity.
        let status = unsafe {
            codomyrmex_keyring_hmac_tagged(
                self.0,
                data.as_ptr(),
                data.len(),
                tag.as_mut_ptr(),
                tag.len(),
                &mut len,
            )
        };
        if status != CODOMYRMEX_OK {
            return Err(format!("{status:?}: {}", last_error()));
        }
        tag.truncate(len);
        Ok(tag)
    }

    fn verify_tagged(&self, data: &[u8], tag: &[u8]) -> Result<(), Refusal> {
        // SAFETY: a live keyring and readable inputs.
        let status = unsafe {
            codomyrmex_keyring_hmac_verify_tagged(
                self.0,
                data.as_ptr(),
                data.len(),
                tag.as_ptr(),
                tag.len(),
            )
        };
        match status {
            CODOMYRMEX_OK => Ok(()),
            CODOMYRMEX_ERR_VERIFY_FAILED => Err(Refusal::VerifyFailed),
            other => Err(Refusal::Other(format!("{other:?}: {}", last_error()))),
        }
    }

    fn current(&self) -> Result<u32, String> {
        let mut version = 0;
        // SAFETY: a live keyring and a writable out-pointer.
        let status = unsafe { codomyrmex_keyring_current_version(self.0, &mut version) };
        if status != CODOMYRMEX_OK {
            return Err(format!("{status:?}: {}", last_error()));
        }
        Ok(version)
    }
}

/// What one thread did and saw.
#[derive(Default)]
struct Figures {
    /// Tagged MACs made by the keyring.
    made: u64,
    /// Accepted by the keyring.
    ring_verified: u64,
    /// Refused by the keyring because their version was pruned meanwhile.
    ring_pruned: u64,
    /// Accepted by the key manager.
    verified: u64,
    /// Refused by the key manager because their version was pruned first.
    pruned_before_check: u64,
    /// Compared with the bytes the store held for their version.
    compared_with_store: u64,
    /// Times the version of the thread's tags went up.
    refreshes_seen: u64,
    /// Every version the thread's tags carried.
    versions: BTreeSet<u32>,
    /// What went wrong (at most a few, with the thread and the tag).
    problems: Vec<String>,
}

impl Figures {
    fn problem(&mut self, text: String) {
        if self.problems.len() < 10 {
            self.problems.push(text);
        }
    }

    fn add(&mut self, other: Figures) {
        self.made += other.made;
        self.ring_verified += other.ring_verified;
        self.ring_pruned += other.ring_pruned;
        self.verified += other.verified;
        self.pruned_before_check += other.pruned_before_check;
        self.compared_with_store += other.compared_with_store;
        self.refreshes_seen += other.refreshes_seen;
        self.versions.extend(other.versions);
        self.problems.extend(other.problems);
    }
}

/// The store's current version of `ID`.
fn store_current(km: &KeyManager) -> u32 {
    km.key(ID).unwrap().current_version().unwrap().get()
}

/// One thread's work until the rotator is done and the thread has made a
/// tag with its last version.
fn work(
    thread: usize,
    ring: &dyn Ring,
    km: &KeyManager,
    seed: u64,
    rotator_done: &AtomicBool,
) -> Figures {
    let mut f = Figures::default();
    let deadline = Instant::now() + LIMIT;
    let mut last = 0u32;
    for n in 0u64.. {
        if rotator_done.load(Ordering::SeqCst) && last == FINAL {
            break;
        }
        if Instant::now() > deadline {
            f.problem(format!(
                "thread {thread}: still at version {last} after {LIMIT:?}"
            ));
            break;
        }
        let data = format!(
            "thread {thread}, message {n}: {}",
            "x".repeat(n as usize % 64)
        );
        let data = data.as_bytes();
        let tag = match ring.tagged(data) {
            Ok(tag) => tag,
            Err(err) => {
                f.problem(format!("thread {thread}: hmac_tagged failed: {err}"));
                break;
            }
        };
        f.made += 1;
        let version = u32::from_be_bytes(tag[1..5].try_into().unwrap());
        let what = format!("thread {thread}, tag {n} of version {version}");
        if version < last {
            f.problem(format!("{what}: the version went back from {last}"));
        } else if version > last {
            if last != 0 {
                f.refreshes_seen += 1;
            }
            last = version;
        }
        f.versions.insert(version);

        // No torn state: the MAC of the bytes written as that version.
        if tag[5..] != *hmac(HashAlg::Sha256, &key_of(seed, version), data).as_bytes() {
            f.problem(format!("{what}: not the HMAC of that version's key"));
        }

        // The keyring's own verification.
        match ring.verify_tagged(data, &tag) {
            Ok(()) => f.ring_verified += 1,
            Err(Refusal::VerifyFailed) => match ring.current() {
                Ok(now) if now >= version + KEEP => f.ring_pruned += 1,
                Ok(now) => f.problem(format!(
                    "{what}: the keyring refused it while serving version {now}"
                )),
                Err(err) => f.problem(format!("{what}: current_version failed: {err}")),
            },
            Err(Refusal::Other(err)) => f.problem(format!("{what}: verify_tagged failed: {err}")),
        }

        // The key manager's verification, from the store.
        let key = km.key(ID).unwrap();
        match key.hmac_verify_tagged(HashAlg::Sha256, data, &tag) {
            Ok(()) => f.verified += 1,
            Err(err) if err.kind() == ErrorKind::VerifyFailed => {
                let now = store_current(km);
                let listed = key.versions().unwrap().all();
                if now >= version + KEEP && !listed.iter().any(|v| v.get() == version) {
                    f.pruned_before_check += 1;
                } else {
                    f.problem(format!(
                        "{what}: the key manager refused it at version {now}, listing {listed:?}"
                    ));
                }
            }
            Err(err) => f.problem(format!("{what}: the key manager failed: {err}")),
        }

        // The bytes the store holds for that version, while it has them.
        let number = NonZeroU32::new(version).expect("versions start at 1");
        match key.at(Version::Number(number)).get() {
            Ok(bytes) => {
                f.compared_with_store += 1;
                if tag[5..] != *hmac(HashAlg::Sha256, bytes.as_bytes(), data).as_bytes() {
                    f.problem(format!("{what}: not the HMAC of the store's bytes"));
                }
            }
            Err(err) if err.kind() == ErrorKind::NotFound => {
                let now = store_current(km);
                if now < version + KEEP {
                    f.problem(format!("{what}: the store lost it at version {now}"));
                }
            }
            Err(err) => f.problem(format!("{what}: reading the version failed: {err}")),
        }
    }
    f
}

/// The whole run: the key at version 1, the keyring made by `make_ring`,
/// the rotator started, eight threads until it is done.
fn run(test: &str, make_ring: impl FnOnce(&Path, &KeyManager) -> Box<dyn Ring>) {
    if child_scenario().as_deref() == Some(ROTATOR) {
        rotate_all();
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let seed = test_seed(test, 0x6b72_696e_6763_6f6e);
    // Rotations are durable: on a RAM file system their flushes cost
    // nothing, so the run measures the keyring, not the disk.
    let shm = Path::new("/dev/shm");
    let tmp = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let dir = tmp.path().join("keys");
    let km = KeyManager::open(&dir).unwrap();
    km.store(ID, &key_of(seed, 1)).unwrap();
    let ring = make_ring(&dir, &km);
    assert_eq!(ring.current().unwrap(), 1);

    let started = Instant::now();
    let mut child = child_command(test, ROTATOR)
        .env(DIR_ENV, &dir)
        .env(SEED_ENV, seed.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the rotator starts");
    let rotator_done = AtomicBool::new(false);
    let (figures, output, rotated_in) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|thread| {
                let (ring, km, done) = (&*ring, &km, &rotator_done);
                s.spawn(move || work(thread, ring, km, seed, done))
            })
            .collect();
        let _done = common::SetOnDrop(&rotator_done);
        common::wait_with_deadline(&mut child, LIMIT, "the rotator");
        let rotated_in = started.elapsed();
        rotator_done.store(true, Ordering::SeqCst);
        let output = child.wait_with_output().expect("the rotator's output");
        let mut all = Figures::default();
        for worker in workers {
            all.add(worker.join().expect("a worker panicked"));
        }
        (all, output, rotated_in)
    });
    let elapsed = started.elapsed();
    check_child(test, ROTATOR, &output);

    println!(
        "{test}:\n  {ROTATIONS} rotations (each pruned to the newest {KEEP}) in {:.2} s by another \
         process; {THREADS} threads on one keyring (refresh_ms {REFRESH_MS}) for {:.2} s\n  \
         tagged MACs made: {}\n  verified by the keyring: {} (refused as pruned: {})\n  \
         verified by the key manager: {} (pruned before the check: {})\n  \
         compared with the store's bytes of their version: {}\n  \
         refreshes seen by the threads: {} ({} distinct versions, highest {})",
        rotated_in.as_secs_f64(),
        elapsed.as_secs_f64(),
        figures.made,
        figures.ring_verified,
        figures.ring_pruned,
        figures.verified,
        figures.pruned_before_check,
        figures.compared_with_store,
        figures.refreshes_seen,
        figures.versions.len(),
        figures.versions.last().copied().unwrap_or(0),
    );
    assert!(
        figures.problems.is_empty(),
        "{} problems, the first ones:\n  {}",
        figures.problems.len(),
        figures.problems.join("\n  ")
    );
    assert_eq!(
        figures.made,
        figures.ring_verified + figures.ring_pruned,
        "every tag was checked by the keyring"
    );
    assert_eq!(
        figures.made,
        figures.verified + figures.pruned_before_check,
        "every tag was checked by the key manager"
    );
    assert_eq!(ring.current().unwrap(), FINAL);
    assert_eq!(store_current(&km), FINAL);
    let kept: Vec<u32> = km
        .key(ID)
        .unwrap()
        .versions()
        .unwrap()
        .all()
        .iter()
        .map(|v| v.get())
        .collect();
    assert_eq!(kept, (FINAL - KEEP + 1..=FINAL).collect::<Vec<_>>());
    assert!(figures.versions.contains(&FINAL));
    // The threads followed the rotations, not just the last one.
    assert!(
        figures.versions.len() >= 50,
        "the threads saw only {} versions",
        figures.versions.len()
    );
}

#[test]
fn c_keyring_serves_eight_threads_while_another_process_rotates_1000_times() {
    run(C_TEST, |dir, _km| Box::new(CRing::load(dir)));
}

#[test]
fn safe_keyring_serves_eight_threads_while_another_process_rotates_1000_times() {
    run(SAFE_TEST, |_dir, km| {
        let refresh = Duration::from_millis(REFRESH_MS.into());
        Box::new(km.load(ID, HashAlg::Sha256, Some(refresh)).unwrap())
    });
}
