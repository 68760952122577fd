//! Helpers of the CLI's end-to-end tests: running the tool on a fresh key
//! directory, reading what it printed, hex and base64, Kubernetes-style
//! mounted layouts, and a pseudo-terminal for the tool's standard output.

#![allow(dead_code)]

use assert_cmd::Command;
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// What one run of the tool produced.
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn out(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// The one stdout line, without its newline.
    pub fn line(&self) -> String {
        let out = self.out();
        let line = out.strip_suffix('\n').expect("output ends with a newline");
        assert!(!line.contains('\n'), "more than one line: {out:?}");
        line.to_string()
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "stderr: {}", self.stderr);
        self
    }

    /// Checks the exit code and that stderr is the one error line of `kind`.
    #[track_caller]
    pub fn fails(self, code: i32, kind: &str) -> Run {
        assert_eq!(self.code, code, "stderr: {}", self.stderr);
        let prefix = format!("codomyrmex-keys: {kind}: ");
        assert!(
            self.stderr.starts_with(&prefix),
            "stderr: {:?}",
            self.stderr
        );
        assert_eq!(self.stderr.lines().count(), 1, "stderr: {:?}", self.stderr);
        assert!(self.stdout.is_empty(), "stdout: {:?}", self.out());
        self
    }
}

/// The tool with no key source chosen: `CODOMYRMEX_KEY_DIR` removed and
/// the temporary directory (hence the default key dir) inside `tmp`.
pub fn bare(tmp: &Path) -> Command {
    let mut cmd = Command::cargo_bin("codomyrmex-keys").unwrap();
    cmd.env_remove("CODOMYRMEX_KEY_DIR")
        .env_remove("TEMP")
        .env_remove("TMP")
        .env("TMPDIR", tmp);
    cmd
}

/// A fresh temporary directory and the path of a key dir inside it.
pub fn fresh() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    (tmp, dir)
}

/// Runs the tool on key dir `dir` with `args`.
pub fn keys(dir: &Path, args: &[&str]) -> Run {
    keys_in(dir, args, None)
}

/// Runs the tool on key dir `dir` with `args`, feeding `stdin`.
pub fn keys_in(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = bare(dir.parent().unwrap());
    cmd.arg("--dir").arg(dir).args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input);
    }
    run(cmd)
}

/// Runs the tool on the key source `location` (`--source`) with `args`.
pub fn keys_at(tmp: &Path, location: &str, args: &[&str]) -> Run {
    let mut cmd = bare(tmp);
    cmd.arg("--source").arg(location).args(args);
    run(cmd)
}

/// Runs a prepared command and collects what it printed.
pub fn run(mut cmd: Command) -> Run {
    let output = cmd.output().unwrap();
    Run {
        code: output.status.code().expect("exited normally"),
        stdout: output.stdout,
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Runs the tool on key dir `dir` with `args`, its standard output a
/// pseudo-terminal; returns the exit code and stderr.
pub fn keys_on_terminal(dir: &Path, args: &[&str]) -> (i32, String) {
    let terminal = open_pseudo_terminal();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("codomyrmex-keys"));
    cmd.env_remove("CODOMYRMEX_KEY_DIR")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(terminal)
        .stderr(Stdio::piped());
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    (output.status.code().expect("exited normally"), stderr)
}

/// The terminal side of a new pseudo-terminal (its controller side is
/// leaked: it must outlive the child's writes).
fn open_pseudo_terminal() -> std::fs::File {
    // SAFETY: plain libc calls on a descriptor this function owns; the name
    // returned by ptsname is copied before any other call.
    unsafe {
        let controller = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(controller >= 0, "posix_openpt failed");
        assert_eq!(libc::grantpt(controller), 0);
        assert_eq!(libc::unlockpt(controller), 0);
        let name = std::ffi::CStr::from_ptr(libc::ptsname(controller)).to_owned();
        let path = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(name.to_bytes());
        std::fs::OpenOptions::new().write(true).open(path).unwrap()
    }
}

pub fn write_file(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_string()
}

pub fn mode_of(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

pub fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
}

pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn from_base64(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("valid base64")
}

/// Decodes hex written by the tool or a test.
pub fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex: {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits"))
        .collect()
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `data:` entries of a Secret manifest as the tool writes it: one
/// `  "name": base64` line each, in order.
pub fn secret_data(manifest: &str) -> Vec<(String, Vec<u8>)> {
    let (_, data) = manifest
        .split_once("\ndata:\n")
        .expect("the manifest has a data section");
    data.lines()
        .map(|line| {
            let entry = line.strip_prefix("  \"").expect("an indented, quoted name");
            let (name, value) = entry.split_once("\": ").expect("name: value");
            (name.to_string(), from_base64(value))
        })
        .collect()
}

/// Lays `files` out in `root` as the kubelet's atomic writer does for a
/// Secret volume: a timestamped directory, `..data` pointing to it, and one
/// link per file through `..data`; files get `mode` (0644 by default).
pub fn lay_out_secret_volume(root: &Path, files: &[(String, Vec<u8>)], mode: u32) {
    std::fs::create_dir_all(root).unwrap();
    let snapshot = root.join("..2025_01_01_00_00_00.000000001");
    std::fs::create_dir(&snapshot).unwrap();
    for (name, bytes) in files {
        let path = snapshot.join(name);
        std::fs::write(&path, bytes).unwrap();
        set_mode(&path, mode);
        std::os::unix::fs::symlink(format!("..data/{name}"), root.join(name)).unwrap();
    }
    set_mode(&snapshot, 0o755);
    std::os::unix::fs::symlink(snapshot.file_name().unwrap(), root.join("..data")).unwrap();
}
