//! Helpers for `tests/mounted.rs`: the consumer of a mounted source run as
//! another user in a child process, private mount namespaces and mounts,
//! and small system calls. The layouts orchestrators make are in
//! [`orchestrators`]; the checks every layout must pass are in [`checks`].

#![allow(dead_code)]

pub mod checks;
pub mod orchestrators;

use std::ffi::{CString, OsStr};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The uid and gid of `nobody`: the unprivileged consumer.
pub const NOBODY: u32 = 65534;

/// How long a parent waits for a line from its consumer.
const LINE_TIMEOUT: Duration = Duration::from_secs(60);

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn c_path(path: &Path) -> CString {
    CString::new(path.as_os_str().as_bytes()).expect("a path without NUL")
}

fn check(result: libc::c_int) -> std::io::Result<()> {
    match result {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

// ---------------------------------------------------------------------------
// Users.

/// Who a consumer runs as: uid, primary gid and supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl User {
    pub fn root() -> User {
        User {
            uid: 0,
            gid: 0,
            groups: Vec::new(),
        }
    }

    /// uid and gid 65534, no supplementary group.
    pub fn nobody() -> User {
        User {
            uid: NOBODY,
            gid: NOBODY,
            groups: Vec::new(),
        }
    }

    pub fn with_groups(mut self, groups: &[u32]) -> User {
        self.groups = groups.to_vec();
        self
    }

    fn encode(&self) -> String {
        let groups: Vec<String> = self.groups.iter().map(u32::to_string).collect();
        format!("{}:{}:{}", self.uid, self.gid, groups.join(","))
    }

    fn decode(text: &str) -> User {
        let mut parts = text.split(':');
        let mut number = || -> u32 { parts.next().unwrap().parse().unwrap() };
        let (uid, gid) = (number(), number());
        let groups = parts
            .next()
            .unwrap()
            .split(',')
            .filter(|g| !g.is_empty())
            .map(|g| g.parse().unwrap())
            .collect();
        User { uid, gid, groups }
    }
}

// ---------------------------------------------------------------------------
// The consumer: this test binary run again, one test, as another user.

/// Set in a child to the scenario it runs.
const CHILD_ENV: &str = "CODOMYRMEX_MOUNTED_CHILD";
/// The user a child becomes, as `uid:gid:group,group`.
const USER_ENV: &str = "CODOMYRMEX_MOUNTED_USER";
/// What starts a line a child says to its parent.
const MARK: &str = "@@ ";

/// The scenario this process runs as a consumer, if it is one.
pub fn child_scenario() -> Option<String> {
    std::env::var(CHILD_ENV).ok()
}

/// The value of `name`, which the parent set for its consumer.
pub fn child_env(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).unwrap_or_else(|| panic!("{name} is set")))
}

/// In a consumer: becomes the user the parent named (groups, gid, then
/// uid, so that nothing of root is kept) and returns it.
pub fn become_consumer() -> User {
    let user = User::decode(&std::env::var(USER_ENV).expect("the parent names a user"));
    if is_root() && user.uid != 0 {
        // SAFETY: plain system calls with a valid array; this process runs
        // only this consumer.
        unsafe {
            assert_eq!(
                libc::setgroups(user.groups.len(), user.groups.as_ptr()),
                0,
                "setgroups"
            );
            assert_eq!(libc::setgid(user.gid), 0, "setgid");
            assert_eq!(libc::setuid(user.uid), 0, "setuid");
        }
    }
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        user.uid,
        "the consumer runs as uid {}",
        user.uid
    );
    user
}

/// In a consumer: tells the parent `line`.
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{MARK}{line}").unwrap();
    out.flush().unwrap();
}

/// In a consumer: tells the parent `marker`, then waits for its answer.
pub fn pause(marker: &str) -> String {
    say(marker);
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).unwrap();
    answer.trim().to_owned()
}

/// What a consumer said in `line`, if anything. (The test harness may
/// have printed the test's name before it on the same line.)
fn said(line: &str) -> Option<&str> {
    line.find(MARK).map(|at| &line[at + MARK.len()..])
}

/// A consumer process, seen from its parent.
pub struct Consumer {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    transcript: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Consumer {
    /// Runs the test `test` of this binary alone in a child that runs
    /// `scenario` as `user`, with the extra environment `env`.
    pub fn start(test: &str, scenario: &str, user: &User, env: &[(&str, &OsStr)]) -> Consumer {
        let exe = std::env::current_exe().expect("the test binary knows its path");
        let mut cmd = Command::new(exe);
        cmd.args([
            test,
            "--exact",
            "--include-ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_ENV, scenario)
        .env(USER_ENV, user.encode())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        for (name, value) in env {
            cmd.env(name, value);
        }
        let mut child = cmd.spawn().expect("the test binary can be re-run");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        Consumer {
            what: format!("consumer {scenario} of {test} as uid {}", user.uid),
            stdin: child.stdin.take(),
            child,
            lines,
            transcript: Vec::new(),
            stderr,
        }
    }

    /// Waits until the consumer says a line starting with `marker`;
    /// returns the rest of that line.
    pub fn expect(&mut self, marker: &str) -> String {
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.transcript.push(line.clone());
                    if let Some(rest) = said(&line).and_then(|l| l.strip_prefix(marker)) {
                        return rest.trim().to_owned();
                    }
                }
                Err(_) => self.fail(&format!("no line '{marker}'")),
            }
        }
    }

    /// Answers a [`pause`] of the consumer.
    pub fn resume(&mut self, answer: &str) {
        let stdin = self.stdin.as_mut().expect("the consumer's input is open");
        writeln!(stdin, "{answer}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the consumer to end and checks that its one test passed.
    pub fn finish(mut self) -> Vec<String> {
        drop(self.stdin.take());
        let deadline = Instant::now() + LINE_TIMEOUT;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.transcript.push(line);
        }
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                self.fail("still running");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if !status.success() || !self.transcript.iter().any(|l| l.contains("1 passed")) {
            self.fail(&format!("ended with {status}"));
        }
        self.transcript
            .iter()
            .filter_map(|l| said(l).map(str::to_owned))
            .collect()
    }

    fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Give the stderr reader a moment to collect what is left.
        std::thread::sleep(Duration::from_millis(100));
        while let Ok(line) = self.lines.try_recv() {
            self.transcript.push(line);
        }
        panic!(
            "{}: {why}\nstdout:\n{}\nstderr:\n{}",
            self.what,
            self.transcript.join("\n"),
            self.stderr.lock().unwrap()
        );
    }
}

// ---------------------------------------------------------------------------
// Mounts.

/// Gives the calling thread a mount namespace of its own, with nothing
/// propagating back, so that the mounts it makes are seen only by it and
/// the processes it starts, and vanish with them. Fails where the sandbox
/// forbids it (no CAP_SYS_ADMIN).
pub fn private_mount_namespace() -> std::io::Result<()> {
    // SAFETY: unshare and mount with valid arguments; CLONE_NEWNS affects
    // only the calling thread, which is this test's own.
    unsafe {
        check(libc::unshare(libc::CLONE_NEWNS))?;
        check(libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))
    }
}

/// A mount made by a test, detached when dropped.
#[derive(Debug)]
pub struct Mount {
    target: PathBuf,
}

impl Mount {
    /// Mounts a new file system of type `fstype` at `target`.
    pub fn new(
        fstype: &str,
        target: &Path,
        flags: libc::c_ulong,
        options: &str,
    ) -> std::io::Result<Mount> {
        let (fstype, target_c, options) = (
            CString::new(fstype).unwrap(),
            c_path(target),
            CString::new(options).unwrap(),
        );
        // SAFETY: NUL-terminated strings that outlive the call.
        check(unsafe {
            libc::mount(
                fstype.as_ptr(),
                target_c.as_ptr(),
                fstype.as_ptr(),
                flags,
                options.as_ptr().cast(),
            )
        })?;
        Ok(Mount {
            target: target.to_path_buf(),
        })
    }

    /// Bind-mounts `source` (a file or a directory) at `target`, read-only
    /// as `docker run -v src:dst:ro` and runc do: a bind, then a remount of
    /// the bind with `MS_RDONLY`.
    pub fn bind_read_only(source: &Path, target: &Path) -> std::io::Result<Mount> {
        let (source_c, target_c) = (c_path(source), c_path(target));
        // SAFETY: NUL-terminated strings that outlive the calls.
        unsafe {
            check(libc::mount(
                source_c.as_ptr(),
                target_c.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            ))?;
        }
        let mount = Mount {
            target: target.to_path_buf(),
        };
        mount.remount(libc::MS_BIND | libc::MS_RDONLY, "")?;
        Ok(mount)
    }

    /// Remounts with `flags` (`MS_REMOUNT` is added) and `options`.
    pub fn remount(&self, flags: libc::c_ulong, options: &str) -> std::io::Result<()> {
        let (target, options) = (c_path(&self.target), CString::new(options).unwrap());
        // SAFETY: NUL-terminated strings that outlive the call.
        check(unsafe {
            libc::mount(
                std::ptr::null(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_REMOUNT | flags,
                options.as_ptr().cast(),
            )
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let target = c_path(&self.target);
        // SAFETY: a NUL-terminated path.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

// ---------------------------------------------------------------------------
// Files.

/// A temporary directory every user can enter (the consumer runs as
/// another user), removed when dropped.
pub fn shared_tempdir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    set_mode(tmp.path(), 0o755);
    tmp
}

/// Sets the permission bits (and set-id and sticky bits) of `path`.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|err| panic!("chmod {mode:o} {}: {err}", path.display()));
}

/// Permission, set-id and sticky bits, owner and group of `path` (not
/// following a final link).
pub fn mode_owner(path: &Path) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)
        .unwrap_or_else(|err| panic!("lstat {}: {err}", path.display()));
    (meta.mode() & 0o7777, meta.uid(), meta.gid())
}

/// Every entry under `root` (recursively, links not followed) and what
/// it is: type, mode, owner, group and content or link target. Two equal
/// snapshots mean nothing changed.
pub fn snapshot(root: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    use std::os::unix::fs::MetadataExt;
    fn walk(dir: &Path, out: &mut std::collections::BTreeMap<PathBuf, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let head = format!("{:o} {}:{}", meta.mode() & 0o7777, meta.uid(), meta.gid());
            let what = if meta.file_type().is_symlink() {
                format!("link -> {}", std::fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                walk(&path, out);
                format!("dir {head}")
            } else if meta.is_file() {
                format!("file {head} {:?}", std::fs::read(&path).unwrap())
            } else {
                format!("other {head}")
            };
            out.insert(path, what);
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, &mut out);
    out
}

/// Makes a FIFO at `path`.
pub fn mkfifo(path: &Path, mode: u32) {
    let path_c = c_path(path);
    // SAFETY: a NUL-terminated path.
    let result = unsafe { libc::mkfifo(path_c.as_ptr(), mode) };
    assert_eq!(result, 0, "mkfifo {}", path.display());
}

/// The name of an errno value, for messages.
pub fn errno_name(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

// ---------------------------------------------------------------------------
// POSIX ACLs, as `setfacl -m u:<uid>:<perm>` sets them.

/// Tags and the version of the `system.posix_acl_access` attribute
/// (`linux/posix_acl_xattr.h`).
const ACL_XATTR_VERSION: u32 = 2;
const ACL_USER_OBJ: u16 = 0x01;
const ACL_USER: u16 = 0x02;
const ACL_GROUP_OBJ: u16 = 0x04;
const ACL_MASK: u16 = 0x10;
const ACL_OTHER: u16 = 0x20;
const ACL_UNDEFINED_ID: u32 = u32::MAX;

/// Grants `uid` the permissions `perm` (`r` = 4, `x` = 1) on `path` with
/// an access ACL, keeping the owner, group and other classes of its mode;
/// the mask becomes the group-class union, as `setfacl` computes it (so
/// `stat` shows it in the group bits).
pub fn add_user_acl(path: &Path, uid: u32, perm: u16) -> std::io::Result<()> {
    let (mode, _, _) = mode_owner(path);
    let class = |shift: u32| ((mode >> shift) & 0o7) as u16;
    let entries = [
        (ACL_USER_OBJ, class(6), ACL_UNDEFINED_ID),
        (ACL_USER, perm, uid),
        (ACL_GROUP_OBJ, class(3), ACL_UNDEFINED_ID),
        (ACL_MASK, perm | class(3), ACL_UNDEFINED_ID),
        (ACL_OTHER, class(0), ACL_UNDEFINED_ID),
    ];
    let mut value = ACL_XATTR_VERSION.to_le_bytes().to_vec();
    for (tag, perm, id) in entries {
        value.extend_from_slice(&tag.to_le_bytes());
        value.extend_from_slice(&perm.to_le_bytes());
        value.extend_from_slice(&id.to_le_bytes());
    }
    let path_c = c_path(path);
    // SAFETY: NUL-terminated name and path, a value of the length passed.
    check(unsafe {
        libc::setxattr(
            path_c.as_ptr(),
            c"system.posix_acl_access".as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
}

// ---------------------------------------------------------------------------
// Time, for Kubernetes' directory names.

/// `(year, month, day, hour, minute, second)` in UTC of `time`.
pub fn utc(time: std::time::SystemTime) -> (i64, u32, u32, u32, u32, u32) {
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400) as u32);
    // Days since 1970-01-01 to a civil date (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rest / 3600, rest / 60 % 60, rest % 60)
}
