//! Helpers shared by the integration tests: hex decoding, directory
//! snapshots and re-running one test in a child process.

#![allow(dead_code)]

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
