//! Writes that the file system refuses: a file size limit, a full tmpfs, a
//! read-only mount and a read-only key directory. Each fails with `Io`
//! naming the errno and the directory, and changes nothing.

mod common;

use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_free, codomyrmex_key_manager_open,
    codomyrmex_key_manager_store,
};
use codomyrmex_keys::ffi::status::codomyrmex_status::*;
use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, MAX_KEY_LEN, Result};
use common::ffi::last_error;
use common::fs::set_mode;
use common::hostile::*;
use common::store::{current_number, version_bytes, version_list};
use common::users::drop_file_capabilities;
use common::{Entry, check_child, child_command, child_scenario, is_root, snapshot};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::num::NonZeroU32;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const FAIL_DIR_ENV: &str = "CODOMYRMEX_HOSTILE_DIR";

/// What must hold after a write failed: every key as before, the same
/// listing, no new or changed entry that does not start with a dot, and
/// no temporary file left behind.
struct Unchanged {
    dir: PathBuf,
    ids: Vec<String>,
    states: Vec<String>,
    listed: Vec<String>,
    visible: BTreeMap<PathBuf, Entry>,
}

impl Unchanged {
    fn capture(km: &KeyManager, dir: &Path, extra: &[&str]) -> Unchanged {
        let listed = km.list().unwrap();
        let mut ids: Vec<String> = listed.clone();
        ids.extend(extra.iter().map(|s| (*s).to_owned()));
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        Unchanged {
            dir: dir.to_path_buf(),
            states: all_key_states(km, &refs),
            ids,
            listed,
            visible: visible_entries(dir),
        }
    }

    fn check(&self, km: &KeyManager, what: &str) {
        let refs: Vec<&str> = self.ids.iter().map(String::as_str).collect();
        assert_eq!(km.list().unwrap(), self.listed, "{what}: list");
        assert_eq!(all_key_states(km, &refs), self.states, "{what}: keys");
        assert_eq!(
            visible_entries(&self.dir),
            self.visible,
            "{what}: entries not starting with a dot"
        );
        for path in snapshot(&self.dir).keys() {
            assert!(
                !path.to_string_lossy().ends_with(".tmp"),
                "{what}: left {}",
                path.display()
            );
        }
    }
}

fn visible_entries(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    snapshot(dir)
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().starts_with('.'))
        .collect()
}

/// Runs `write`, which must fail with `ErrorKind::Io` naming `errno` and
/// the key directory, and checks that it changed nothing.
fn expect_io_failure(
    km: &KeyManager,
    unchanged: &Unchanged,
    what: &str,
    errno: &str,
    write: impl FnOnce(&KeyManager) -> Result<()>,
) {
    let err = write(km).expect_err(&format!("{what} succeeded"));
    assert_eq!(err.kind(), ErrorKind::Io, "{what}: {}", err.message());
    check_message(&err, what);
    assert!(
        err.message().contains(errno),
        "{what}: the message does not name {errno}: {}",
        err.message()
    );
    assert!(
        err.message()
            .contains(km.location().path().to_string_lossy().as_ref()),
        "{what}: the message does not name the path: {}",
        err.message()
    );
    unchanged.check(km, what);
}

/// Writes that must fail on a full disk, each with what it writes.
/// A write that must fail, named.
type NamedWrite = (&'static str, Box<dyn Fn(&KeyManager) -> Result<()>>);

fn big_writes() -> Vec<NamedWrite> {
    let big = |n: usize| {
        let mut v = MARK.as_bytes().to_vec();
        v.resize(n, b'k');
        v
    };
    let (b4k, b64k) = (big(4096), big(MAX_KEY_LEN));
    let (b4k2, b64k2, b8k) = (b4k.clone(), b64k.clone(), big(8192));
    vec![
        (
            "store 4 KiB over an existing key",
            Box::new(move |km| km.store("victim", &b4k)),
        ),
        (
            "store 64 KiB over an existing key",
            Box::new(move |km| km.store("victim", &b64k)),
        ),
        (
            "rotate to 8 KiB",
            Box::new(move |km| km.rotate("victim", &b8k).map(drop)),
        ),
        (
            "rotate a legacy key to 64 KiB",
            Box::new(move |km| km.rotate("legacy", &b64k2).map(drop)),
        ),
        (
            "create a new 4 KiB key",
            Box::new(move |km| km.create("fresh", &b4k2)),
        ),
        (
            "generate a new 64 KiB key",
            Box::new(|km| km.generate("fresh", MAX_KEY_LEN)),
        ),
    ]
}

/// A key directory for the failure tests: "victim" at version 2 (small),
/// "legacy" (version 1, no records), "other".
fn failure_fixture(dir: &Path) -> KeyManager {
    let km = KeyManager::open(dir).unwrap();
    km.store("victim", b"victim SECRET v1").unwrap();
    km.rotate("victim", b"victim SECRET v2").unwrap();
    km.store("legacy", b"legacy SECRET").unwrap();
    km.store("other", b"other SECRET").unwrap();
    km
}

#[test]
fn file_size_limit_makes_writes_fail_cleanly() {
    let name = "file_size_limit_makes_writes_fail_cleanly";
    if child_scenario().as_deref() == Some("fsize") {
        let dir = PathBuf::from(std::env::var_os(FAIL_DIR_ENV).unwrap());
        let km = failure_fixture(&dir);
        let unchanged = Unchanged::capture(&km, &dir, &["fresh"]);
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain system calls on this process, which runs only this
        // test; SIGXFSZ ignored so that exceeding the limit is EFBIG.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit), 0);
            let small = libc::rlimit {
                rlim_cur: 1024,
                rlim_max: limit.rlim_max,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &small), 0);
        }
        let mut cases = 0;
        for (what, write) in big_writes() {
            expect_io_failure(&km, &unchanged, what, "EFBIG", write);
            cases += 1;
        }
        // At the limit exactly, a write still works.
        km.store("other", &[b'o'; 1024]).unwrap();
        assert_eq!(km.get("other").unwrap().len(), 1024);
        // SAFETY: restores the limit read above.
        unsafe { assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0) };
        km.store("victim", &[b'v'; 4096]).unwrap();
        assert_eq!(version_list(&km, "victim").unwrap(), [1, 2, 3]);
        assert_eq!(
            version_bytes(&km, "victim", 2).unwrap().as_bytes(),
            b"victim SECRET v2"
        );
        println!("hostile: {cases} RLIMIT_FSIZE cases ran (EFBIG), plus the boundary and recovery");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let mut cmd = child_command(name, "fsize");
    cmd.env(FAIL_DIR_ENV, &dir);
    let output = cmd.output().unwrap();
    let stdout = check_child(name, "fsize", &output);
    assert!(stdout.contains("RLIMIT_FSIZE cases ran"), "{stdout}");
    relay_summary(&stdout);
}

/// Prints the `hostile:` summary lines of a child's output.
fn relay_summary(stdout: &str) {
    for line in stdout.lines() {
        if let Some((_, rest)) = line.split_once("hostile:") {
            println!("hostile:{rest}");
        }
    }
}

/// A tmpfs mounted for the test, unmounted (lazily) when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> std::io::Result<Tmpfs> {
        std::fs::create_dir_all(path)?;
        let target = CString::new(path.as_os_str().as_bytes()).unwrap();
        let options = CString::new(format!("size={size},mode=0700")).unwrap();
        // SAFETY: NUL-terminated strings; a new mount of type tmpfs.
        let ret = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                options.as_ptr().cast(),
            )
        };
        if ret != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Tmpfs(path.to_path_buf()))
    }

    /// Remounts it read-only. A child process that another test is
    /// starting at that instant may briefly hold a copy of a descriptor
    /// open for writing (EBUSY): tries again for a while.
    fn remount_read_only(&self) {
        let target = CString::new(self.0.as_os_str().as_bytes()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // SAFETY: NUL-terminated strings; remounts the mount made above.
            let ret = unsafe {
                libc::mount(
                    std::ptr::null(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REMOUNT | libc::MS_RDONLY,
                    std::ptr::null(),
                )
            };
            let err = std::io::Error::last_os_error();
            if ret == 0 {
                return;
            }
            assert!(
                err.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline,
                "remount read-only: {err}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let target = CString::new(self.0.as_os_str().as_bytes()).unwrap();
        // SAFETY: unmounts the mount made by Tmpfs::mount.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

#[test]
fn full_and_read_only_file_system_make_writes_fail_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let mount_point = tmp.path().join("small");
    let fs = match Tmpfs::mount(&mount_point, "256k") {
        Ok(fs) => fs,
        Err(err) => {
            println!(
                "hostile: skipped the tmpfs variant: mounting a tmpfs is not permitted here ({err})"
            );
            return;
        }
    };
    let dir = mount_point.join("keys");
    let km = failure_fixture(&dir);
    // Fill the file system.
    let filler = mount_point.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        let err = loop {
            if let Err(err) = file.write_all(&chunk) {
                break err;
            }
        };
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
    }
    let unchanged = Unchanged::capture(&km, &dir, &["fresh"]);
    let mut cases = 0;
    for (what, write) in big_writes() {
        expect_io_failure(&km, &unchanged, what, "ENOSPC", write);
        cases += 1;
    }
    // With room again, the same writes work.
    std::fs::remove_file(&filler).unwrap();
    km.store("victim", &[b'v'; 8192]).unwrap();
    assert_eq!(version_list(&km, "victim").unwrap(), [1, 2, 3]);

    // Read-only: every write fails with EROFS, every read works.
    fs.remount_read_only();
    let km = KeyManager::open(&dir).unwrap();
    let unchanged = Unchanged::capture(&km, &dir, &["fresh"]);
    for (what, write) in big_writes() {
        expect_io_failure(&km, &unchanged, what, "EROFS", write);
        cases += 1;
    }
    for (what, write) in read_only_writes() {
        expect_io_failure(&km, &unchanged, what, "EROFS", write);
        cases += 1;
    }
    cases += check_reads_work(&km);
    drop(fs);
    println!("hostile: {cases} tmpfs cases ran (ENOSPC on a full tmpfs, EROFS read-only)");
}

/// Small writes that a read-only directory refuses.
fn read_only_writes() -> Vec<NamedWrite> {
    vec![
        ("store", Box::new(|km| km.store("victim", b"SECRET new"))),
        (
            "rotate",
            Box::new(|km| km.rotate("victim", b"SECRET new").map(drop)),
        ),
        ("create", Box::new(|km| km.create("fresh", b"SECRET new"))),
        ("generate", Box::new(|km| km.generate("fresh", 16))),
        ("delete", Box::new(|km| km.delete("other"))),
        ("prune", Box::new(|km| km.prune("victim", NonZeroU32::MIN))),
    ]
}

/// Every read works in a directory that refuses writes; returns the
/// number of calls checked.
fn check_reads_work(km: &KeyManager) -> usize {
    assert_eq!(km.list().unwrap(), ["legacy", "other", "victim"]);
    assert!(km.exists("victim").unwrap());
    assert!(!km.get("victim").unwrap().is_empty());
    let versions = version_list(km, "victim").unwrap();
    assert_eq!(
        current_number(km, "victim").unwrap(),
        *versions.last().unwrap()
    );
    for &n in &versions {
        version_bytes(km, "victim", n).unwrap();
    }
    let victim = km.key("victim").unwrap();
    victim.hmac(HashAlg::Sha256, b"m").unwrap();
    let tag = victim.hmac_tagged(HashAlg::Sha256, b"m").unwrap();
    victim
        .hmac_verify_tagged(HashAlg::Sha256, b"m", tag.as_bytes())
        .unwrap();
    let mut okm = [0u8; 32];
    km.key("legacy")
        .unwrap()
        .derive(HashAlg::Sha512, b"salt", b"info", &mut okm)
        .unwrap();
    9
}

#[test]
fn read_only_key_directory_fails_writes_with_io_and_keeps_keys() {
    let name = "read_only_key_directory_fails_writes_with_io_and_keeps_keys";
    if let Some(scenario) = child_scenario() {
        let dir = PathBuf::from(std::env::var_os(FAIL_DIR_ENV).unwrap());
        match scenario.as_str() {
            "setuid" => {
                if is_root() {
                    // SAFETY: plain system calls; this process runs only
                    // this test.
                    unsafe {
                        assert_eq!(libc::setgid(65534), 0);
                        assert_eq!(libc::setuid(65534), 0);
                    }
                }
            }
            "nocaps" => {
                if let Err(err) = drop_file_capabilities() {
                    println!("hostile: skipped the capability variant: {err}");
                    return;
                }
            }
            other => panic!("unknown scenario {other}"),
        }
        let km = KeyManager::open(&dir).unwrap();
        let unchanged = Unchanged::capture(&km, &dir, &["fresh"]);
        let mut cases = 0;
        for (what, write) in read_only_writes() {
            expect_io_failure(&km, &unchanged, what, "EACCES", write);
            cases += 1;
        }
        cases += check_reads_work(&km);
        // The C layer reports CODOMYRMEX_ERR_IO with the same message.
        let c_dir = CString::new(dir.as_os_str().as_bytes()).unwrap();
        let mut handle: *mut codomyrmex_key_manager = std::ptr::null_mut();
        // SAFETY: a NUL-terminated path and id, a live handle freed once.
        unsafe {
            assert_eq!(
                codomyrmex_key_manager_open(c_dir.as_ptr(), &mut handle),
                CODOMYRMEX_OK
            );
            let status =
                codomyrmex_key_manager_store(handle, c"victim".as_ptr(), NEW.as_ptr(), NEW.len());
            assert_eq!(status, CODOMYRMEX_ERR_IO);
            codomyrmex_key_manager_free(handle);
        }
        let message = last_error();
        assert!(
            message.contains("EACCES") && message.contains(dir.to_string_lossy().as_ref()),
            "{message}"
        );
        assert!(message.chars().all(|c| !c.is_control()), "{message:?}");
        unchanged.check(&km, "after the C call");
        cases += 1;
        println!("hostile: {} read-only cases ran ({scenario})", cases);
        return;
    }
    if !is_root() {
        println!("hostile: skipped: preparing directories of another owner needs root");
        return;
    }
    for scenario in ["setuid", "nocaps"] {
        let tmp = tempfile::tempdir().unwrap();
        set_mode(tmp.path(), 0o755);
        let dir = tmp.path().join("keys");
        drop(failure_fixture(&dir));
        // The whole tree read-only: the key directory and the version
        // directories, 0500. For "setuid" it belongs to uid 65534, who
        // becomes the child's user; for "nocaps" it stays root's, and the
        // child gives up the capabilities that ignore modes.
        let tree = snapshot(&dir);
        for (rel, entry) in &tree {
            let path = dir.join(rel);
            if scenario == "setuid" {
                std::os::unix::fs::lchown(&path, Some(65534), Some(65534)).unwrap();
            }
            if matches!(entry, Entry::Dir { .. }) {
                set_mode(&path, 0o500);
            }
        }
        if scenario == "setuid" {
            std::os::unix::fs::lchown(&dir, Some(65534), Some(65534)).unwrap();
        }
        set_mode(&dir, 0o500);
        let before = snapshot(&dir);
        let mut cmd = child_command(name, scenario);
        cmd.env(FAIL_DIR_ENV, &dir);
        let output = cmd.output().unwrap();
        let stdout = check_child(name, scenario, &output);
        relay_summary(&stdout);
        let after = snapshot(&dir);
        let visible = |s: &BTreeMap<PathBuf, Entry>| -> Vec<PathBuf> {
            s.keys()
                .filter(|p| !p.to_string_lossy().starts_with('.'))
                .cloned()
                .collect()
        };
        assert_eq!(visible(&after), visible(&before), "{scenario}");
        assert_eq!(after, before, "{scenario}: nothing at all changed on disk");
        // Writable again, the directory works as before.
        set_mode(&dir, 0o700);
        for (rel, entry) in &tree {
            if matches!(entry, Entry::Dir { .. }) {
                set_mode(&dir.join(rel), 0o700);
            }
        }
        if scenario == "nocaps" {
            let km = KeyManager::open(&dir).unwrap();
            km.rotate("victim", NEW).unwrap();
            assert_eq!(version_list(&km, "victim").unwrap(), [1, 2, 3]);
        }
    }
}
