//! Helpers shared by the integration tests: hex, directory snapshots,
//! re-running one test in a child process, seeded randomness and
//! self-describing key values here; calling the C API (`ffi`), files and
//! modes (`fs`), version records (`records`), the safe key-store API
//! (`store`) and running as another user (`users`) in submodules.

#![allow(dead_code)]

pub mod ffi;
pub mod fs;
pub mod hostile;
pub mod inspector;
pub mod records;
pub mod store;
pub mod team;
pub mod users;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Decodes a hex string (either letter case, even length).
///
/// Panics on anything that is not hex, so a malformed vector can never be
/// silently treated as some other byte string.
pub fn hex(text: &str) -> Vec<u8> {
    fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("not a hex digit: {:?}", char::from(c)),
        }
    }
    let bytes = text.as_bytes();
    assert!(
        bytes.len().is_multiple_of(2),
        "odd-length hex string: {text:?}"
    );
    bytes
        .chunks_exact(2)
        .map(|pair| (nibble(pair[0]) << 4) | nibble(pair[1]))
        .collect()
}

/// Lowercase hex of `bytes`, for readable assertion messages.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a snapshot records about one directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A regular file: permission bits, owner and content.
    File {
        mode: u32,
        uid: u32,
        content: Vec<u8>,
    },
    /// A directory: permission bits and owner.
    Dir { mode: u32, uid: u32 },
    /// A symbolic link and its target.
    Symlink(PathBuf),
    /// Anything else (FIFO, socket, device), by its file-type bits.
    Other(u32),
}

/// Every entry under `root` (recursively, symbolic links not followed),
/// keyed by its path relative to `root`.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
        for item in std::fs::read_dir(dir).expect("directory is readable") {
            let item = item.expect("directory entry is readable");
            let path = item.path();
            let meta = std::fs::symlink_metadata(&path).expect("entry can be inspected");
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let mode = meta.permissions().mode() & 0o7777;
            let ft = meta.file_type();
            let entry = if ft.is_symlink() {
                Entry::Symlink(std::fs::read_link(&path).unwrap())
            } else if ft.is_dir() {
                walk(root, &path, out);
                Entry::Dir {
                    mode,
                    uid: meta.uid(),
                }
            } else if ft.is_file() {
                Entry::File {
                    mode,
                    uid: meta.uid(),
                    content: std::fs::read(&path).unwrap(),
                }
            } else {
                Entry::Other(meta.mode() & libc::S_IFMT)
            };
            out.insert(rel, entry);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The environment variable that tells a re-run test it is the child.
pub const CHILD_ENV: &str = "CODOMYRMEX_KEYS_TEST_CHILD";

/// The scenario this process was started for by [`run_in_child`], if any.
pub fn child_scenario() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// A command that runs the test `test_name` of the current test binary
/// alone (ignored or not) in a child process with `CHILD_ENV=scenario`.
pub fn child_command(test_name: &str, scenario: &str) -> Command {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let mut cmd = Command::new(exe);
    cmd.args([
        test_name,
        "--exact",
        "--include-ignored",
        "--test-threads=1",
        "--nocapture",
    ])
    .env(CHILD_ENV, scenario);
    cmd
}

/// Checks that a child started by [`child_command`] ran its one test and
/// passed; returns its standard output.
pub fn check_child(test_name: &str, scenario: &str, output: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "child run of {test_name} ({scenario}) failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("1 passed"),
        "child run of {test_name} ({scenario}) did not run exactly that test:\n{stdout}"
    );
    stdout
}

/// Runs the test `test_name` of the current test binary alone in a child
/// process with `CHILD_ENV=scenario` and the environment changes `env`
/// (`None` removes a variable), and asserts that it ran and passed.
///
/// For tests that must change process-wide state (umask, environment,
/// user id) without disturbing the tests running in parallel threads.
pub fn run_in_child(test_name: &str, scenario: &str, env: &[(&str, Option<&Path>)]) -> String {
    let mut cmd = child_command(test_name, scenario);
    for (name, value) in env {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    let output = cmd.output().expect("the test binary can be re-run");
    check_child(test_name, scenario, &output)
}

// ---------------------------------------------------------------------------
// Seeded randomness, long runs and self-describing key values (crash,
// concurrency and hostile-input tests).

/// A small deterministic generator (SplitMix64): the same seed gives the
/// same sequence on every machine, so a failing run can be replayed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        self.next_u64() % n
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi, "between({lo}, {hi})");
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The environment variable that replays a seeded test with another seed.
pub const SEED_ENV: &str = "CODOMYRMEX_SEED";

/// The seed of a randomized test: `CODOMYRMEX_SEED` (decimal, or hex with
/// `0x`) if set, else `default`. Printed, so a failure can be replayed.
pub fn test_seed(test: &str, default: u64) -> u64 {
    let seed = match std::env::var(SEED_ENV) {
        Ok(text) => {
            let text = text.trim();
            match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            }
            .unwrap_or_else(|_| panic!("{SEED_ENV}={text:?} is not a number"))
        }
        Err(_) => default,
    };
    println!("{test}: seed {seed:#x} (replay with {SEED_ENV}={seed:#x})");
    seed
}

/// Whether the long versions of the randomized tests were asked for with
/// `CODOMYRMEX_LONG=1`.
pub fn long_run() -> bool {
    std::env::var("CODOMYRMEX_LONG").is_ok_and(|v| v == "1")
}

/// Whether this process runs as root (which ignores file modes).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

const VALUE_MAGIC: &[u8] = b"CMXV:";

/// The shortest value [`tagged_value`] can make for `tag`.
pub fn tagged_value_min_len(tag: &str) -> usize {
    VALUE_MAGIC.len() + tag.len() + 1 + 5 + 1
}

/// A key value that describes itself: `CMXV:<tag>:<len, 5 digits>:` and
/// then filler bytes that depend on the tag and the length, `len` bytes in
/// all. [`parse_tagged_value`] recognizes exactly the values made here, so
/// any prefix, suffix, mix or corruption of them is detected.
///
/// `tag` is made of `[A-Za-z0-9._-]`; `len` is at least
/// [`tagged_value_min_len`] and at most 99999.
pub fn tagged_value(tag: &str, len: usize) -> Vec<u8> {
    assert!(
        tag.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')),
        "tag {tag:?}"
    );
    assert!(
        (tagged_value_min_len(tag)..=99_999).contains(&len),
        "length {len} for tag {tag:?}"
    );
    let mut value = Vec::with_capacity(len);
    value.extend_from_slice(VALUE_MAGIC);
    value.extend_from_slice(tag.as_bytes());
    value.extend_from_slice(format!(":{len:05}:").as_bytes());
    let seed = tag.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) ^ (len as u64).rotate_left(40);
    let mut filler = Rng::new(seed);
    while value.len() < len {
        let word = filler.next_u64().to_le_bytes();
        let take = (len - value.len()).min(8);
        value.extend_from_slice(&word[..take]);
    }
    value
}

/// The tag of a value made by [`tagged_value`], if `bytes` is exactly such
/// a value (complete, untorn); otherwise a description of what is wrong.
pub fn parse_tagged_value(bytes: &[u8]) -> Result<String, String> {
    let describe = |why: &str| {
        let shown: String = bytes
            .iter()
            .take(48)
            .flat_map(|b| b.escape_ascii())
            .map(char::from)
            .collect();
        format!("{why} ({} bytes, starting \"{shown}\")", bytes.len())
    };
    let rest = bytes
        .strip_prefix(VALUE_MAGIC)
        .ok_or_else(|| describe("no magic"))?;
    let colon = rest
        .iter()
        .take(64)
        .position(|&b| b == b':')
        .ok_or_else(|| describe("no tag"))?;
    let tag = std::str::from_utf8(&rest[..colon]).map_err(|_| describe("tag is not text"))?;
    let len_field = rest
        .get(colon + 1..colon + 7)
        .ok_or_else(|| describe("truncated header"))?;
    let len: usize = std::str::from_utf8(&len_field[..5])
        .ok()
        .filter(|_| len_field[5] == b':')
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| describe("bad length field"))?;
    if len != bytes.len() {
        return Err(describe(&format!("says {len} bytes")));
    }
    if tag.is_empty()
        || !tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        || len < tagged_value_min_len(tag)
    {
        return Err(describe("bad tag"));
    }
    if tagged_value(tag, len) != bytes {
        return Err(describe("content differs from the value of its tag"));
    }
    Ok(tag.to_owned())
}

/// Waits for `child` for at most `limit`; kills it (SIGKILL) and panics
/// with `what` if it is still running then.
pub fn wait_with_deadline(
    child: &mut std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            return status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}; killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The message of a caught panic (its payload as text).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else {
        "a panic without a message".to_owned()
    }
}

/// The process id of a process that has ended (a child started and waited
/// for): no process has it, until the kernel hands the number out again.
pub fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("`true` runs");
    let pid = child.id();
    assert!(child.wait().expect("`true` ends").success());
    pid
}

/// Sets its flag when dropped, also when a panic unwinds: threads waiting
/// for the flag then stop, and the test fails instead of hanging.
pub struct SetOnDrop<'a>(pub &'a std::sync::atomic::AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}
