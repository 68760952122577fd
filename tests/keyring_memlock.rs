//! Keyrings and KEKs under a small `RLIMIT_MEMLOCK`: locking is best
//! effort, so with no lockable memory at all, and with the 64 KiB some
//! containers still have, every keyring and a store opened with a KEK keep
//! working and give the same MACs; what could not be locked is counted by
//! `lock_stats` and still kept out of core dumps.
//!
//! Each scenario runs in a child process that sets the limit for itself.
//! As root the child is started without `CAP_IPC_LOCK` (through `setpriv`),
//! since that capability ignores the limit.

mod common;

use codomyrmex_keys::{HashAlg, KeyManager, Location, LockStats, OpenOptions, lock_stats};
use common::{check_child, child_command, child_scenario};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

/// Keyrings the 64 KiB scenario loads: more than 64 KiB of pages.
const KEYRINGS: usize = 40;

/// Whether this process may lock memory beyond `RLIMIT_MEMLOCK`
/// (`CAP_IPC_LOCK`, bit 14, in the effective set).
fn has_ipc_lock() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .expect("/proc/self/status has CapEff");
    let bits = u64::from_str_radix(effective.trim(), 16).unwrap();
    bits & (1 << 14) != 0
}

/// Sets this process's `RLIMIT_MEMLOCK` (soft and hard) to `bytes`.
fn limit_memlock(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: setrlimit reads the struct it is given.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit) }, 0);
}

/// Bytes of this process's mappings marked "do not dump" (`dd` in
/// smaps; the kernel merges neighbouring mappings, so bytes, not mappings).
fn dontdump_bytes() -> usize {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut size_kb = 0;
    let mut total = 0;
    for line in smaps.lines() {
        if let Some(size) = line.strip_prefix("Size:") {
            size_kb = size
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .unwrap();
        } else if line.starts_with("VmFlags:") && line.split_whitespace().any(|f| f == "dd") {
            total += size_kb * 1024;
        }
    }
    total
}

/// The scenario's work: `keyrings` keyrings of distinct keys in a store
/// opened with a KEK, each checked against the key manager. Returns how
/// many of them are locked, and the totals while they are all loaded.
fn load_keyrings(keyrings: usize) -> (usize, LockStats) {
    let tmp = tempfile::tempdir().unwrap();
    let kek = tmp.path().join("kek");
    std::fs::write(&kek, [0x5a; 32]).unwrap();
    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o400)).unwrap();
    let km = KeyManager::open_with(
        &Location::Dir(tmp.path().join("keys")),
        &OpenOptions::new().kek_file(&kek),
    )
    .unwrap();
    let mut rings = Vec::new();
    for i in 0..keyrings {
        let id = format!("key-{i}");
        km.create(
            &id,
            format!("key number {i} of the memlock test").as_bytes(),
        )
        .unwrap();
        let ring = km
            .load(&id, HashAlg::Sha512, Some(Duration::from_millis(100)))
            .unwrap();
        assert_eq!(
            ring.hmac(b"message").unwrap().as_bytes(),
            km.key(&id)
                .unwrap()
                .hmac(HashAlg::Sha512, b"message")
                .unwrap()
                .as_bytes()
        );
        rings.push(ring);
    }
    let locked = rings.iter().filter(|ring| ring.is_locked()).count();
    let stats = lock_stats();
    println!(
        "memlock: {locked} of {keyrings} keyrings locked; {} bytes locked, {} not, {} mlock \
         failures; {} bytes not dumped",
        stats.locked_bytes,
        stats.unlocked_bytes,
        stats.lock_failures,
        dontdump_bytes()
    );
    // Every page mapped for secrets (each keyring's and the KEK's) is
    // excluded from dumps, locked or not.
    assert!(dontdump_bytes() >= stats.locked_bytes + stats.unlocked_bytes);
    (locked, stats)
}

/// The child's side: the limit named by the scenario, then the work.
#[test]
#[ignore = "runs in a child process started by keyrings_work_under_any_memlock_limit"]
fn memlock_child() {
    let Some(scenario) = child_scenario() else {
        return;
    };
    assert!(
        !has_ipc_lock(),
        "the child must not hold CAP_IPC_LOCK, or the limit means nothing"
    );
    match scenario.as_str() {
        "none" => {
            limit_memlock(0);
            let (locked, stats) = load_keyrings(3);
            assert_eq!(locked, 0, "nothing can be locked");
            assert_eq!(stats.locked_bytes, 0);
            assert!(stats.unlocked_bytes > 0 && stats.lock_failures > 0);
        }
        "64k" => {
            limit_memlock(64 * 1024);
            let (locked, stats) = load_keyrings(KEYRINGS);
            assert!(locked > 0, "the first keyrings fit into 64 KiB");
            assert!(locked < KEYRINGS, "{KEYRINGS} keyrings do not fit");
            assert!(stats.locked_bytes <= 64 * 1024);
            assert!(stats.unlocked_bytes > 0);
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn keyrings_work_under_any_memlock_limit() {
    for scenario in ["none", "64k"] {
        let child = child_command("memlock_child", scenario);
        let mut command = if has_ipc_lock() {
            let mut setpriv = Command::new("setpriv");
            setpriv
                .args([
                    "--inh-caps=-ipc_lock",
                    "--ambient-caps=-ipc_lock",
                    "--bounding-set=-ipc_lock",
                    "--",
                ])
                .arg(child.get_program())
                .args(child.get_args());
            for (name, value) in child.get_envs() {
                if let Some(value) = value {
                    setpriv.env(name, value);
                }
            }
            setpriv
        } else {
            child
        };
        let output = command.output().expect("the child can be started");
        let stdout = check_child("memlock_child", scenario, &output);
        let figures = stdout
            .lines()
            .find_map(|line| line.find("memlock:").map(|at| &line[at..]))
            .expect("the child printed its figures");
        eprintln!("RLIMIT_MEMLOCK {scenario}: {figures}");
    }
}
