//! The stage of `tests/attacks.rs`: a sandbox directory, a victim and an
//! attacker running as two unprivileged users, the CLI as the victim's
//! program, `strace` to hold a system call open, and a small tmpfs.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The user whose keys are attacked.
pub const VICTIM: u32 = 64001;
/// Another local user.
pub const ATTACKER: u32 = 64002;
/// How long an ordinary CLI call may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The CLI's exit code for `INSECURE_PERMISSIONS` (10 + status 10).
pub const EXIT_INSECURE_PERMISSIONS: i32 = 20;
/// The CLI's exit code for `IO` (10 + status 9).
pub const EXIT_IO: i32 = 19;

/// The system's Python, which any user can run (a per-user installation
/// in root's home is out of the others' reach).
const PYTHON: &str = "/usr/bin/python3";

/// How long strace holds each `mkdir` open, in microseconds.
const MKDIR_DELAY_US: u32 = 400_000;

/// A CLI run: whether it finished in time, and what it said.
pub struct Run {
    pub finished: bool,
    pub status: ExitStatus,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A root-owned, world-traversable directory holding one home per user,
/// removed (and unmounted) at the end.
pub struct Sandbox {
    root: tempfile::TempDir,
    mounts: std::cell::RefCell<Vec<PathBuf>>,
}

impl Sandbox {
    /// The sandbox, or `None` (with a note) when not running as root: the
    /// attacks need two other users.
    pub fn new() -> Option<Sandbox> {
        if !rustix::process::geteuid().is_root() {
            eprintln!("note: skipped, switching users needs root");
            return None;
        }
        for (tool, package) in [
            ("setpriv", "util-linux"),
            ("strace", "strace"),
            (PYTHON, "python3"),
        ] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output();
            assert!(
                found.is_ok_and(|out| out.status.success()),
                "{tool} is needed (Debian package {package}); scripts/test.sh installs it"
            );
        }
        let root = tempfile::tempdir().unwrap();
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        Some(Sandbox {
            root,
            mounts: Default::default(),
        })
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `<root>/home-<uid>`, mode 0755, owned by `uid`.
    pub fn home_of(&self, uid: u32) -> PathBuf {
        let home = self.root().join(format!("home-{uid}"));
        if !home.exists() {
            fs::create_dir(&home).unwrap();
            fs::set_permissions(&home, fs::Permissions::from_mode(0o755)).unwrap();
            std::os::unix::fs::chown(&home, Some(uid), Some(uid)).unwrap();
        }
        home
    }

    /// Runs the CLI as the victim.
    pub fn victim(&self, args: &[&str], stdin: Option<&str>, timeout: Duration) -> Run {
        run(as_user(VICTIM, cli(args)), stdin, timeout)
    }

    /// Runs the CLI as the victim with extra environment variables.
    pub fn victim_env(&self, args: &[&str], env: &[(&str, &str)], timeout: Duration) -> Run {
        let mut command = as_user(VICTIM, cli(args));
        command.envs(env.iter().copied());
        run(command, None, timeout)
    }

    /// Runs the CLI as the victim under `umask`, with every `mkdir` held
    /// open by strace for a while after it created its directory.
    pub fn victim_slow_mkdir(&self, umask: u32, args: &[&str]) -> Run {
        let inject = format!("inject=mkdir,mkdirat:delay_exit={MKDIR_DELAY_US}");
        let mut command = Command::new("sh");
        command
            .args(["-c", &format!("umask {umask:03o} && exec \"$@\""), "sh"])
            .args([
                "strace",
                "-f",
                "-qq",
                "-o",
                "/dev/null",
                "-e",
                "trace=mkdir,mkdirat",
                "-e",
                &inject,
            ])
            .args(user_switch(VICTIM))
            .arg(cli_path())
            .args(args);
        run(clean_env(command), None, Duration::from_secs(30))
    }

    /// Runs the CLI as the victim with its `nth` and later renames held
    /// for 5 s, and kills it during the first of them.
    pub fn victim_killed_in_rename(&self, args: &[&str], nth: u32) {
        let inject = format!("inject=rename,renameat,renameat2:delay_enter=5000000:when={nth}+");
        let mut command = Command::new("strace");
        command
            .args([
                "-f",
                "-qq",
                "-o",
                "/dev/null",
                "-e",
                "trace=rename,renameat,renameat2",
                "-e",
                &inject,
            ])
            .args(user_switch(VICTIM))
            .arg(cli_path())
            .args(args)
            .process_group(0);
        let mut child = clean_env(command)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let group = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = child.wait();
    }

    /// Runs `script` with `sh` as `uid`; it must succeed.
    pub fn shell_as(&self, uid: u32, script: &str) {
        let mut command = Command::new("setpriv");
        command
            .args(user_flags(uid))
            .args(["--", "sh", "-c", script]);
        let out = clean_env(command).output().unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the attacker: for `window`, it keeps trying to open each of
    /// `dirs` (keeping the descriptor) and to create a `.lock` in it (and
    /// to lock it). Then it lists every directory it holds open and keeps
    /// any lock it got.
    pub fn attacker_probe(&self, dirs: &[&Path], window: Duration) -> Probe {
        let mut command = Command::new("setpriv");
        command
            .args(user_flags(ATTACKER))
            .args(["--", PYTHON, "-c", PROBE, &window.as_secs_f64().to_string()])
            .args(dirs.iter().map(|d| d.as_os_str()));
        let child = clean_env(command).stdout(Stdio::piped()).spawn().unwrap();
        Probe { child }
    }

    /// A tmpfs of `pages` pages, owned by the victim, mounted in the
    /// sandbox until it is dropped; `None` (with a note) if mounting is not
    /// possible here.
    pub fn small_tmpfs(&self, pages: u32) -> Option<PathBuf> {
        let mount = self.root().join("small");
        fs::create_dir(&mount).unwrap();
        let size = format!("size={}k,mode=0755", pages * 4);
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &size, "tmpfs"])
            .arg(&mount)
            .output()
            .unwrap();
        if !out.status.success() {
            eprintln!(
                "note: skipped, cannot mount a tmpfs here: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
        self.mounts.borrow_mut().push(mount.clone());
        std::os::unix::fs::chown(&mount, Some(VICTIM), Some(VICTIM)).unwrap();
        Some(mount)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for mount in self.mounts.borrow().iter() {
            let _ = Command::new("umount").arg(mount).status();
        }
    }
}

/// The attacker process of [`Sandbox::attacker_probe`].
pub struct Probe {
    child: Child,
}

impl Probe {
    /// Everything the attacker reported, once its window is over; then it
    /// is stopped (releasing any lock it holds).
    pub fn finish(&mut self) -> String {
        let mut report = String::new();
        let mut done = false;
        if let Some(out) = self.child.stdout.take() {
            for line in BufReader::new(out).lines() {
                let line = line.unwrap_or_default();
                if line == "done" {
                    done = true;
                    break;
                }
                report.push_str(&line);
                report.push('\n');
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        assert!(
            done,
            "the attacker stopped before its window ended: {report}"
        );
        report
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The attacker's program.
const PROBE: &str = r#"
import fcntl, os, sys, time
window = float(sys.argv[1]); dirs = sys.argv[2:]
held, planted, deadline = {}, [], time.time() + window
while time.time() < deadline:
    for d in dirs:
        if d not in held:
            try:
                held[d] = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
                print("opened", d, flush=True)
            except OSError:
                pass
        try:
            fd = os.open(os.path.join(d, ".lock"), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o666)
            os.fchmod(fd, 0o666)
            fcntl.lockf(fd, fcntl.LOCK_EX)
            planted.append(fd)
            print("planted", d, flush=True)
        except OSError:
            pass
    time.sleep(0.001)
for d, fd in held.items():
    print("listed", d, ",".join(sorted(os.listdir(fd))), flush=True)
print("done", flush=True)
time.sleep(600)
"#;

fn cli_path() -> &'static str {
    env!("CARGO_BIN_EXE_codomyrmex-keys")
}

fn cli(args: &[&str]) -> Command {
    let mut command = Command::new(cli_path());
    command.args(args);
    command
}

/// `setpriv` flags that become `uid` (and its group) with no other group.
fn user_flags(uid: u32) -> Vec<String> {
    vec![
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--clear-groups".into(),
    ]
}

/// `setpriv <flags> --`, ready for the program to run.
fn user_switch(uid: u32) -> Vec<String> {
    let mut args = vec!["setpriv".to_string()];
    args.extend(user_flags(uid));
    args.push("--".into());
    args
}

/// `command` run as `uid`.
fn as_user(uid: u32, command: Command) -> Command {
    let mut wrapped = Command::new("setpriv");
    wrapped
        .args(user_flags(uid))
        .arg("--")
        .arg(command.get_program())
        .args(command.get_args());
    clean_env(wrapped)
}

/// No key directory chosen by the environment of whoever runs the tests.
fn clean_env(mut command: Command) -> Command {
    command
        .env_remove("CODOMYRMEX_KEY_DIR")
        .env_remove("TMPDIR")
        .env_remove("TEMP")
        .env_remove("TMP");
    command
}

fn run(mut command: Command, stdin: Option<&str>, timeout: Duration) -> Run {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.unwrap_or("").as_bytes());
    }
    let started = Instant::now();
    let finished = loop {
        if child.try_wait().unwrap().is_some() {
            break true;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            break false;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = child.wait_with_output().unwrap();
    Run {
        finished,
        code: out.status.code(),
        status: if finished {
            out.status
        } else {
            ExitStatus::from_raw(9)
        },
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `path` as text (the sandbox's paths are ASCII).
pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Every entry under `dir`: its mode, owner and, for a file, its bytes.
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, (u32, u32, Option<Vec<u8>>)> {
    let mut entries = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let content = meta.is_file().then(|| fs::read(&path).unwrap());
            if meta.is_dir() {
                pending.push(path.clone());
            }
            entries.insert(
                path.strip_prefix(dir).unwrap().to_path_buf(),
                (meta.mode(), meta.uid(), content),
            );
        }
    }
    entries
}

/// Whether any file under `dir` contains the bytes written in `hex`.
pub fn holds_hex(dir: &Path, hex: &str) -> bool {
    let needle: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    tree(dir)
        .values()
        .filter_map(|(_, _, content)| content.as_ref())
        .any(|content| {
            content
                .windows(needle.len())
                .any(|window| window == needle.as_slice())
        })
}

/// Fills the file system at `mount` so that exactly one page stays free.
pub fn fill(mount: &Path) {
    let stat = rustix::fs::statvfs(mount).unwrap();
    let free = stat.f_bavail * stat.f_frsize;
    let filler = vec![0u8; usize::try_from(free - 4096).unwrap()];
    fs::write(mount.join("filler"), filler).unwrap();
}

/// A pid the next processes are likely to get.
pub fn next_pid_guess() -> u32 {
    let child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    drop(child.wait_with_output());
    pid + 1
}
