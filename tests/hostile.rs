//! Hostile input: key ids built to escape or confuse the key directory, and
//! key directories that someone tampered with (symbolic links, hard links,
//! FIFOs, directories and sockets where files belong, wrong modes and
//! owners, the directory renamed or replaced after open), a full disk and a
//! read-only directory.
//!
//! Most tests are tables: each row names a setup, an operation and the
//! expected result, and every row is also checked for what must never
//! happen. Nothing outside the key directory changes (the whole temporary
//! tree is compared before and after); when the operation fails, the keys
//! survive byte for byte (contents, versions, listing, and every entry not
//! starting with a dot), and the error message is one printable line that
//! holds no key material. Each test prints how many cases it ran.

mod common;

use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_create, codomyrmex_key_manager_current_version,
    codomyrmex_key_manager_delete, codomyrmex_key_manager_derive, codomyrmex_key_manager_exists,
    codomyrmex_key_manager_free, codomyrmex_key_manager_generate, codomyrmex_key_manager_get,
    codomyrmex_key_manager_get_version, codomyrmex_key_manager_hmac,
    codomyrmex_key_manager_hmac_tagged, codomyrmex_key_manager_list_versions,
    codomyrmex_key_manager_open, codomyrmex_key_manager_prune, codomyrmex_key_manager_rotate,
    codomyrmex_key_manager_store,
};
use codomyrmex_keys::ffi::library::codomyrmex_last_error_message;
use codomyrmex_keys::ffi::status::codomyrmex_status::{self, *};
use codomyrmex_keys::{Error, ErrorKind, HashAlg, KeyManager, MAX_KEY_LEN, Result, Version};
use common::store::{Bounded, current_number, rotate_bounded, v, version_bytes, version_list};
use common::{Entry, check_child, child_command, child_scenario, is_root, snapshot};
use std::collections::BTreeMap;
use std::ffi::{CString, c_char};
use std::fs::Permissions;
use std::num::NonZeroU32;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Every key value here contains this word, so a message that carries key
/// material is caught; paths and ids never contain it.
const MARK: &str = "SECRET";
const V1: &[u8] = b"victim SECRET version 1";
const V2: &[u8] = b"victim SECRET version 2, longer";
const V3: &[u8] = b"victim SECRET version 3 (current)";
const OTHER: &[u8] = b"other SECRET key";
const OUTSIDE: &[u8] = b"outside SECRET, must never be read or written";
const NEW: &[u8] = b"new SECRET value";

// ---------------------------------------------------------------------------
// Helpers.

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
}

fn write_file(path: &Path, content: &[u8], mode: u32) {
    std::fs::write(path, content).unwrap();
    set_mode(path, mode);
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn mkfifo(path: &Path) {
    let c_path = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    let ret = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
    assert_eq!(ret, 0, "mkfifo: {}", std::io::Error::last_os_error());
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), None).unwrap();
}

/// Removes whatever is at `path` (file, link, FIFO or directory tree).
fn remove(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path).unwrap(),
        Ok(_) => std::fs::remove_file(path).unwrap(),
        Err(_) => {}
    }
}

/// Asserts that an error message is one printable line without key
/// material.
fn check_message(err: &Error, what: &str) {
    let message = err.message();
    assert!(!message.is_empty(), "{what}: empty message");
    assert!(
        message.chars().all(|c| !c.is_control()),
        "{what}: the message is not one printable line: {message:?}"
    );
    assert!(
        !message.contains(MARK),
        "{what}: the message holds key material: {message:?}"
    );
}

/// What a key looks like through `km`: its current bytes, its versions and
/// each version's bytes (or the error kinds).
fn key_state(km: &KeyManager, id: &str) -> String {
    let current = match km.get(id) {
        Ok(bytes) => format!("{:?}", String::from_utf8_lossy(&bytes)),
        Err(e) => format!("{:?}", e.kind()),
    };
    let versions = match version_list(km, id) {
        Ok(list) => list
            .iter()
            .map(|&n| match version_bytes(km, id, n) {
                Ok(bytes) => format!("{n}={:?}", String::from_utf8_lossy(&bytes)),
                Err(e) => format!("{n}={:?}", e.kind()),
            })
            .collect::<Vec<_>>()
            .join(","),
        Err(e) => format!("{:?}", e.kind()),
    };
    format!("{id}: {current} [{versions}]")
}

fn all_key_states(km: &KeyManager, ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| key_state(km, id)).collect()
}

/// The first component of `path`, and whether the second starts with a dot.
fn top_and_dot(path: &Path) -> (String, bool) {
    let mut parts = path.components().filter_map(|c| match c {
        Component::Normal(name) => Some(name.to_string_lossy().into_owned()),
        _ => None,
    });
    let top = parts.next().unwrap_or_default();
    let dot = parts.next().is_some_and(|second| second.starts_with('.'));
    (top, dot)
}

/// The paths whose entries differ between two snapshots.
fn changed(before: &BTreeMap<PathBuf, Entry>, after: &BTreeMap<PathBuf, Entry>) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p) != after.get(*p))
        .cloned()
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

// ---------------------------------------------------------------------------
// The table of directory and file attacks.

/// A fresh key directory `<root>/keys` with key "victim" at version 3
/// (versions 1 and 2 recorded), key "other", and `<root>/outside`, a
/// directory of the attacker's with a file `secret`.
struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dir: PathBuf,
    outside: PathBuf,
    km: KeyManager,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let dir = root.join("keys");
        let km = KeyManager::open(&dir).unwrap();
        km.store("victim", V1).unwrap();
        km.rotate("victim", V2).unwrap();
        km.rotate("victim", V3).unwrap();
        km.store("other", OTHER).unwrap();
        let outside = root.join("outside");
        std::fs::create_dir(&outside).unwrap();
        set_mode(&outside, 0o700);
        write_file(&outside.join("secret"), OUTSIDE, 0o600);
        Env {
            _tmp: tmp,
            root,
            dir,
            outside,
            km,
        }
    }

    fn key(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.key"))
    }

    fn record(&self, id: &str, version: u32) -> PathBuf {
        self.dir.join(format!(".versions/{id}/{version}"))
    }

    fn secret(&self) -> PathBuf {
        self.outside.join("secret")
    }
}

type Setup = Arc<dyn Fn(&Env) + Send + Sync>;
type Op = Arc<dyn Fn(&Env) -> Result<()> + Send + Sync>;
type Check = Arc<dyn Fn(&Env) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Ok,
    Err(ErrorKind),
}

struct Case {
    name: String,
    setup: Setup,
    op: Op,
    expect: Expect,
    /// Entries of the temporary root (by first path component) that the
    /// operation may change. Default: `keys` when it succeeds, nothing
    /// when it fails (but dot-entries of `keys`: the lock file, version
    /// records, temporary files).
    allowed: Option<Vec<&'static str>>,
    check: Option<Check>,
}

impl Case {
    fn allow(mut self, names: &[&'static str]) -> Case {
        self.allowed = Some(names.to_vec());
        self
    }

    fn then(mut self, check: impl Fn(&Env) + Send + Sync + 'static) -> Case {
        self.check = Some(Arc::new(check));
        self
    }
}

fn case(name: impl Into<String>, setup: &Setup, op: &(&'static str, Op), expect: Expect) -> Case {
    Case {
        name: format!("{}: {}", name.into(), op.0),
        setup: Arc::clone(setup),
        op: Arc::clone(&op.1),
        expect,
        allowed: None,
        check: None,
    }
}

fn setup(f: impl Fn(&Env) + Send + Sync + 'static) -> Setup {
    Arc::new(f)
}

fn op<T>(
    name: &'static str,
    f: impl Fn(&Env) -> Result<T> + Send + Sync + 'static,
) -> (&'static str, Op) {
    (name, Arc::new(move |env: &Env| f(env).map(drop)))
}

fn get(id: &'static str) -> (&'static str, Op) {
    op("get", move |e| e.km.get(id))
}
fn exists(id: &'static str) -> (&'static str, Op) {
    op("exists", move |e| e.km.exists(id))
}
fn store(id: &'static str) -> (&'static str, Op) {
    op("store", move |e| e.km.store(id, NEW))
}
fn rotate(id: &'static str) -> (&'static str, Op) {
    op("rotate", move |e| e.km.rotate(id, NEW))
}
fn create(id: &'static str) -> (&'static str, Op) {
    op("create", move |e| e.km.create(id, NEW))
}
fn delete(id: &'static str) -> (&'static str, Op) {
    op("delete", move |e| e.km.delete(id))
}
fn current_version(id: &'static str) -> (&'static str, Op) {
    op("current_version", move |e| current_number(&e.km, id))
}
fn get_version(id: &'static str, v: u32) -> (&'static str, Op) {
    let name: &'static str = match v {
        1 => "get_version 1",
        2 => "get_version 2",
        _ => "get_version",
    };
    op(name, move |e| version_bytes(&e.km, id, v))
}
fn list_versions(id: &'static str) -> (&'static str, Op) {
    op("list_versions", move |e| version_list(&e.km, id))
}
fn prune(id: &'static str) -> (&'static str, Op) {
    op("prune", move |e| e.km.prune(id, NonZeroU32::MIN))
}
fn hmac_op(id: &'static str) -> (&'static str, Op) {
    op("hmac", move |e| e.km.key(id)?.hmac(HashAlg::Sha256, b"m"))
}
fn hmac_tagged(id: &'static str) -> (&'static str, Op) {
    op("hmac_tagged", move |e| {
        e.km.key(id)?.hmac_tagged(HashAlg::Sha256, b"m")
    })
}
fn derive(id: &'static str) -> (&'static str, Op) {
    op("derive", move |e| {
        let mut okm = [0u8; 16];
        e.km.key(id)?.derive(HashAlg::Sha256, b"", b"", &mut okm)
    })
}
fn list() -> (&'static str, Op) {
    op("list", |e| e.km.list())
}

/// Runs `op` on its own thread and fails if it does not return within a
/// generous bound (a FIFO must never block a call).
fn guarded(env: &Arc<Env>, op: &Op, name: &str) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let (env, op) = (Arc::clone(env), Arc::clone(op));
    std::thread::spawn(move || {
        let _ = tx.send(op(&env));
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{name}: the call blocked (or panicked)"))
}

fn run_case(case: &Case) {
    let env = Arc::new(Env::new());
    (case.setup)(&env);
    let ids = ["victim", "other", "fresh"];
    let before = snapshot(&env.root);
    let listed_before = env.km.list().map_err(|e| e.kind());
    let states_before = all_key_states(&env.km, &ids);

    let result = guarded(&env, &case.op, &case.name);
    let name = &case.name;
    match (&result, case.expect) {
        (Ok(()), Expect::Ok) => {}
        (Err(e), Expect::Err(kind)) => {
            assert_eq!(e.kind(), kind, "{name}: {}", e.message());
            check_message(e, name);
        }
        (Ok(()), Expect::Err(kind)) => panic!("{name}: succeeded, expected {kind:?}"),
        (Err(e), Expect::Ok) => panic!("{name}: failed: {e:?}"),
    }

    let after = snapshot(&env.root);
    let failed = result.is_err();
    let default_allowed: &[&str] = if failed { &[] } else { &["keys"] };
    let allowed = case.allowed.as_deref().unwrap_or(default_allowed);
    for path in changed(&before, &after) {
        let (top, dot) = top_and_dot(&path);
        let ok = allowed.contains(&top.as_str()) || (failed && top == "keys" && dot);
        assert!(
            ok,
            "{name}: changed {}: {:?} -> {:?}",
            path.display(),
            before.get(&path),
            after.get(&path)
        );
    }
    assert_eq!(
        std::fs::read(env.secret()).unwrap(),
        OUTSIDE,
        "{name}: the attacker's file"
    );
    if failed {
        assert_eq!(
            env.km.list().map_err(|e| e.kind()),
            listed_before,
            "{name}: list"
        );
        assert_eq!(
            all_key_states(&env.km, &ids),
            states_before,
            "{name}: keys after a failed call"
        );
    }
    if let Some(check) = &case.check {
        check(&env);
    }
}

/// Rows for one tampering: the same setup against several operations.
fn rows(tamper: &str, setup: &Setup, ops: Vec<((&'static str, Op), Expect)>) -> Vec<Case> {
    ops.iter()
        .map(|(op, expect)| case(tamper, setup, op, *expect))
        .collect()
}

use Expect::Err as E;
const OK: Expect = Expect::Ok;
const IP: ErrorKind = ErrorKind::InsecurePermissions;
const CORRUPT: ErrorKind = ErrorKind::Corrupt;
const IO: ErrorKind = ErrorKind::Io;
const EXISTS: ErrorKind = ErrorKind::AlreadyExists;

/// A key file that is not a private regular file of ours: every call that
/// reads it fails with `kind`; nothing is written through it.
fn unusable_key_file(tamper: &str, setup: &Setup, kind: ErrorKind) -> Vec<Case> {
    rows(
        tamper,
        setup,
        vec![
            (get("victim"), E(kind)),
            (store("victim"), E(kind)),
            (rotate("victim"), E(kind)),
            (create("victim"), E(EXISTS)),
            (current_version("victim"), E(kind)),
            (get_version("victim", 1), E(kind)),
            (list_versions("victim"), E(kind)),
            (prune("victim"), E(kind)),
            (hmac_op("victim"), E(kind)),
            (hmac_tagged("victim"), E(kind)),
            (derive("victim"), E(kind)),
            // Other keys are not affected.
            (get("other"), OK),
            (rotate("other"), OK),
        ],
    )
}

fn file_attack_cases() -> Vec<Case> {
    let mut cases = Vec::new();

    // The key file is a symbolic link: to the attacker's file, to another
    // key, dangling.
    for (tamper, target) in [
        ("key file symlinked outside", "outside"),
        ("key file symlinked to another key", "other"),
        ("key file a dangling symlink", "nowhere"),
    ] {
        let s = setup(move |e| {
            let target = match target {
                "outside" => e.secret(),
                "other" => e.key("other"),
                _ => e.root.join("nowhere"),
            };
            remove(&e.key("victim"));
            symlink(&target, &e.key("victim"));
        });
        cases.extend(unusable_key_file(tamper, &s, IP));
        cases.push(case(tamper, &s, &exists("victim"), E(IP)));
        cases.push(
            case(tamper, &s, &list(), OK)
                .then(|e| assert_eq!(e.km.list().unwrap(), ["other"], "a symlink is not listed")),
        );
        // Deleting removes the link itself (and the versions), never its
        // target.
        cases.push(case(tamper, &s, &delete("victim"), OK).then(|e| {
            assert!(std::fs::symlink_metadata(e.key("victim")).is_err());
            assert_eq!(std::fs::read(e.key("other")).unwrap(), OTHER);
            assert!(!e.dir.join(".versions/victim").exists());
        }));
    }

    // The key file is a hard link: to the attacker's file, or kept by the
    // attacker as a second name.
    let s = setup(|e| {
        remove(&e.key("victim"));
        std::fs::hard_link(e.secret(), e.key("victim")).unwrap();
    });
    cases.extend(unusable_key_file(
        "key file hard-linked to an outside file",
        &s,
        IP,
    ));
    let s = setup(|e| {
        std::fs::hard_link(e.key("victim"), e.outside.join("copy")).unwrap();
    });
    cases.extend(rows(
        "key file with a second hard link outside",
        &s,
        vec![(get("victim"), E(IP)), (rotate("victim"), E(IP))],
    ));

    // Not a regular file: FIFO (must not block), directory, socket.
    let s = setup(|e| {
        remove(&e.key("victim"));
        mkfifo(&e.key("victim"));
    });
    cases.extend(unusable_key_file("key file a FIFO", &s, CORRUPT));
    cases.push(case("key file a FIFO", &s, &exists("victim"), E(CORRUPT)));
    cases.push(case("key file a FIFO", &s, &delete("victim"), OK));
    let s = setup(|e| {
        remove(&e.key("victim"));
        std::fs::create_dir(e.key("victim")).unwrap();
        write_file(&e.key("victim").join("inner"), b"x", 0o600);
    });
    cases.extend(unusable_key_file("key file a directory", &s, CORRUPT));
    cases.push(case(
        "key file a directory",
        &s,
        &exists("victim"),
        E(CORRUPT),
    ));
    cases.push(case(
        "key file a directory",
        &s,
        &delete("victim"),
        E(CORRUPT),
    ));
    let sockets: Arc<std::sync::Mutex<Vec<std::os::unix::net::UnixListener>>> = Arc::default();
    let s = setup(move |e| {
        remove(&e.key("victim"));
        let listener = std::os::unix::net::UnixListener::bind(e.key("victim")).unwrap();
        sockets.lock().unwrap().push(listener);
    });
    cases.extend(rows(
        "key file a socket",
        &s,
        vec![
            (get("victim"), E(CORRUPT)),
            (exists("victim"), E(CORRUPT)),
            (rotate("victim"), E(CORRUPT)),
        ],
    ));

    // Wrong modes.
    for mode in [
        0o640, 0o604, 0o660, 0o644, 0o606, 0o620, 0o602, 0o610, 0o601, 0o666, 0o777, 0o4644,
    ] {
        let s = setup(move |e| set_mode(&e.key("victim"), mode));
        cases.extend(rows(
            &format!("key file mode {mode:04o}"),
            &s,
            vec![
                (get("victim"), E(IP)),
                (store("victim"), E(IP)),
                (rotate("victim"), E(IP)),
                (hmac_op("victim"), E(IP)),
            ],
        ));
    }
    for mode in [0o400, 0o600, 0o700] {
        let s = setup(move |e| set_mode(&e.key("victim"), mode));
        cases.push(case(
            format!("key file mode {mode:04o}"),
            &s,
            &get("victim"),
            OK,
        ));
    }

    // Wrong sizes.
    for (tamper, content) in [
        ("key file empty", Vec::new()),
        ("key file over the limit", vec![7u8; MAX_KEY_LEN + 1]),
    ] {
        let s = setup(move |e| write_file(&e.key("victim"), &content, 0o600));
        cases.extend(rows(
            tamper,
            &s,
            vec![
                (get("victim"), E(CORRUPT)),
                (store("victim"), E(CORRUPT)),
                (rotate("victim"), E(CORRUPT)),
            ],
        ));
    }

    // Versions: symbolic links for the version directories and records.
    let s = setup(|e| {
        let stolen = e.outside.join("stolen");
        std::fs::rename(e.dir.join(".versions"), &stolen).unwrap();
        symlink(&stolen, &e.dir.join(".versions"));
    });
    cases.extend(rows(
        ".versions symlinked outside",
        &s,
        vec![
            (get("victim"), OK),
            (rotate("victim"), E(IP)),
            (store("victim"), E(IP)),
            (current_version("victim"), E(IP)),
            (get_version("victim", 1), E(IP)),
            (list_versions("victim"), E(IP)),
            (prune("victim"), E(IP)),
            (hmac_tagged("victim"), E(IP)),
            (create("fresh"), E(IP)),
        ],
    ));
    let s = setup(|e| {
        let stolen = e.outside.join("stolen-victim");
        std::fs::rename(e.dir.join(".versions/victim"), &stolen).unwrap();
        symlink(&stolen, &e.dir.join(".versions/victim"));
    });
    cases.extend(rows(
        ".versions/victim symlinked outside",
        &s,
        vec![
            (get("victim"), OK),
            (rotate("victim"), E(IP)),
            (current_version("victim"), E(IP)),
            (get_version("victim", 1), E(IP)),
            (list_versions("victim"), E(IP)),
            (prune("victim"), E(IP)),
            (rotate("other"), OK),
        ],
    ));
    let s = setup(|e| {
        remove(&e.record("victim", 1));
        symlink(&e.secret(), &e.record("victim", 1));
    });
    cases.extend(rows(
        "record 1 symlinked outside",
        &s,
        vec![
            (get_version("victim", 1), E(IP)),
            (get_version("victim", 2), OK),
            (current_version("victim"), OK),
            (list_versions("victim"), OK),
            (rotate("victim"), OK),
        ],
    ));
    // Pruning removes the link, never its target.
    cases.push(
        case("record 1 symlinked outside", &s, &prune("victim"), OK).then(|e| {
            assert!(std::fs::symlink_metadata(e.record("victim", 1)).is_err());
            assert_eq!(version_list(&e.km, "victim").unwrap(), [3]);
        }),
    );
    // The highest record decides the current version number: a link
    // there makes every version query fail, but not `get`.
    let s = setup(|e| {
        remove(&e.record("victim", 2));
        symlink(&e.secret(), &e.record("victim", 2));
    });
    cases.extend(rows(
        "record 2 (highest) symlinked outside",
        &s,
        vec![
            (get("victim"), OK),
            (current_version("victim"), E(IP)),
            (get_version("victim", 2), E(IP)),
            (rotate("victim"), E(IP)),
            (store("victim"), E(IP)),
        ],
    ));
    let s = setup(|e| {
        remove(&e.record("victim", 1));
        std::fs::hard_link(e.secret(), e.record("victim", 1)).unwrap();
    });
    cases.push(case(
        "record 1 hard-linked to an outside file",
        &s,
        &get_version("victim", 1),
        E(IP),
    ));
    let s = setup(|e| {
        remove(&e.record("victim", 2));
        mkfifo(&e.record("victim", 2));
    });
    cases.extend(rows(
        "record 2 a FIFO",
        &s,
        vec![
            (current_version("victim"), E(CORRUPT)),
            (rotate("victim"), E(CORRUPT)),
            (get_version("victim", 2), E(CORRUPT)),
        ],
    ));
    let s = setup(|e| {
        remove(&e.record("victim", 1));
        std::fs::create_dir(e.record("victim", 1)).unwrap();
    });
    cases.push(case(
        "record 1 a directory",
        &s,
        &get_version("victim", 1),
        E(CORRUPT),
    ));
    let s = setup(|e| write_file(&e.record("victim", 2), b"", 0o600));
    cases.push(case(
        "record 2 empty",
        &s,
        &current_version("victim"),
        E(CORRUPT),
    ));
    for mode in [0o644, 0o640, 0o604] {
        let s = setup(move |e| set_mode(&e.record("victim", 1), mode));
        cases.push(case(
            format!("record 1 mode {mode:04o}"),
            &s,
            &get_version("victim", 1),
            E(IP),
        ));
    }
    for (tamper, path, mode) in [
        (".versions mode 0755", ".versions", 0o755),
        (".versions mode 0770", ".versions", 0o770),
        (".versions/victim mode 0750", ".versions/victim", 0o750),
    ] {
        let s = setup(move |e| set_mode(&e.dir.join(path), mode));
        cases.extend(rows(
            tamper,
            &s,
            vec![(rotate("victim"), E(IP)), (list_versions("victim"), E(IP))],
        ));
    }
    let s = setup(|e| {
        remove(&e.dir.join(".versions"));
        write_file(&e.dir.join(".versions"), b"not a directory", 0o600);
    });
    cases.extend(rows(
        ".versions a regular file",
        &s,
        vec![
            (rotate("victim"), E(IP)),
            (list_versions("victim"), E(IP)),
            (create("fresh"), E(IP)),
        ],
    ));
    // Stray names among the records are not versions.
    let s = setup(|e| {
        for stray in ["0", "01", "x", "-1", ".3.tmp", "99999999999"] {
            write_file(&e.dir.join(".versions/victim").join(stray), b"stray", 0o600);
        }
    });
    cases.push(
        case(
            "stray names among the records",
            &s,
            &list_versions("victim"),
            OK,
        )
        .then(|e| {
            assert_eq!(version_list(&e.km, "victim").unwrap(), [1, 2, 3]);
            assert_eq!(current_number(&e.km, "victim").unwrap(), 3);
        }),
    );

    // Wrong owners (root can give files away).
    if is_root() {
        let s = setup(|e| chown(&e.key("victim"), 65534));
        cases.extend(rows(
            "key file owned by uid 65534",
            &s,
            vec![
                (get("victim"), E(IP)),
                (store("victim"), E(IP)),
                (rotate("victim"), E(IP)),
                (hmac_tagged("victim"), E(IP)),
            ],
        ));
        let s = setup(|e| {
            std::os::unix::fs::lchown(e.key("victim"), None, Some(65534)).unwrap();
        });
        cases.push(case(
            "key file group 65534, mode 0600",
            &s,
            &get("victim"),
            OK,
        ));
        let s = setup(|e| chown(&e.record("victim", 1), 65534));
        cases.push(case(
            "record 1 owned by uid 65534",
            &s,
            &get_version("victim", 1),
            E(IP),
        ));
        let s = setup(|e| chown(&e.dir.join(".versions"), 65534));
        cases.push(case(
            ".versions owned by uid 65534",
            &s,
            &rotate("victim"),
            E(IP),
        ));
        let s = setup(|e| chown(&e.dir.join(".versions/victim"), 65534));
        cases.push(case(
            ".versions/victim owned by uid 65534",
            &s,
            &list_versions("victim"),
            E(IP),
        ));
    }

    // The lock file: a link must never be followed, whatever it points at;
    // anything but a private regular file of ours there is refused as
    // insecure (whoever controls it could hold the lock forever).
    let s = setup(|e| {
        remove(&e.dir.join(".lock"));
        symlink(&e.secret(), &e.dir.join(".lock"));
    });
    cases.extend(rows(
        ".lock symlinked outside",
        &s,
        vec![
            (store("victim"), E(IP)),
            (rotate("victim"), E(IP)),
            (create("fresh"), E(IP)),
            (delete("victim"), E(IP)),
            (get("victim"), OK),
        ],
    ));
    let s = setup(|e| {
        remove(&e.dir.join(".lock"));
        std::fs::create_dir(e.dir.join(".lock")).unwrap();
    });
    cases.extend(rows(
        ".lock a directory",
        &s,
        vec![(store("victim"), E(IP)), (get("victim"), OK)],
    ));
    let s = setup(|e| {
        remove(&e.dir.join(".lock"));
        mkfifo(&e.dir.join(".lock"));
    });
    cases.extend(rows(
        ".lock a FIFO",
        &s,
        vec![(store("victim"), E(IP)), (get("victim"), OK)],
    ));
    for mode in [0o620, 0o602, 0o666] {
        let s = setup(move |e| set_mode(&e.dir.join(".lock"), mode));
        cases.extend(rows(
            &format!(".lock mode {mode:04o}"),
            &s,
            vec![
                (store("victim"), E(IP)),
                (delete("victim"), E(IP)),
                (get("victim"), OK),
            ],
        ));
    }
    let s = setup(|e| set_mode(&e.dir.join(".lock"), 0o644));
    cases.push(case(".lock mode 0644", &s, &store("victim"), OK));
    if is_root() {
        let s = setup(|e| chown(&e.dir.join(".lock"), 65534));
        cases.extend(rows(
            ".lock owned by uid 65534",
            &s,
            vec![(store("victim"), E(IP)), (get("victim"), OK)],
        ));
    }

    // Temporary names taken by the attacker: replaced, never followed.
    for (tamper, make) in [
        ("temp file symlinked outside", 0),
        ("temp file hard-linked to an outside file", 1),
        ("temp file a FIFO", 2),
    ] {
        let s = setup(move |e| {
            let temp = e.dir.join(".victim.key.tmp");
            match make {
                0 => symlink(&e.secret(), &temp),
                1 => std::fs::hard_link(e.secret(), &temp).unwrap(),
                _ => mkfifo(&temp),
            }
        });
        cases.push(case(tamper, &s, &store("victim"), OK).then(|e| {
            assert_eq!(e.km.get("victim").unwrap().as_bytes(), NEW);
            assert!(std::fs::symlink_metadata(e.dir.join(".victim.key.tmp")).is_err());
        }));
    }
    let s = setup(|e| {
        std::fs::create_dir(e.dir.join(".victim.key.tmp")).unwrap();
        write_file(&e.dir.join(".victim.key.tmp/inner"), b"x", 0o600);
    });
    cases.push(case("temp name a directory", &s, &store("victim"), E(IO)));
    let s = setup(|e| symlink(&e.secret(), &e.dir.join(".versions/victim/.3.tmp")));
    cases.push(
        case(
            "record temp file symlinked outside",
            &s,
            &rotate("victim"),
            OK,
        )
        .then(|e| {
            assert_eq!(version_bytes(&e.km, "victim", 3).unwrap().as_bytes(), V3);
            assert_eq!(e.km.get("victim").unwrap().as_bytes(), NEW);
        }),
    );

    cases
}

fn dir_attack_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let open_at = |name: &'static str, rel: &'static str| {
        op(name, move |e: &Env| {
            KeyManager::open(e.root.join(rel)).map(drop)
        })
    };

    // Opening a directory that is not private to us.
    let s = setup(|e| {
        std::fs::create_dir(e.root.join("real")).unwrap();
        set_mode(&e.root.join("real"), 0o700);
        symlink(&e.root.join("real"), &e.root.join("link"));
    });
    cases.push(case(
        "key dir a symlink",
        &s,
        &open_at("open", "link"),
        E(IP),
    ));
    let s = setup(|e| symlink(&e.root.join("nowhere"), &e.root.join("link")));
    cases.push(case(
        "key dir a dangling symlink",
        &s,
        &open_at("open", "link"),
        E(IP),
    ));
    let s = setup(|e| symlink(&e.dir, &e.root.join("link")));
    cases.push(case(
        "key dir a symlink to a key dir",
        &s,
        &open_at("open", "link"),
        E(IP),
    ));
    for mode in [0o770, 0o777, 0o702, 0o720, 0o1777, 0o722, 0o730, 0o706] {
        let s = setup(move |e| {
            std::fs::create_dir(e.root.join("shared")).unwrap();
            set_mode(&e.root.join("shared"), mode);
        });
        cases.push(case(
            format!("key dir mode {mode:04o}"),
            &s,
            &open_at("open", "shared"),
            E(IP),
        ));
    }
    for mode in [0o700, 0o750, 0o755, 0o500] {
        let s = setup(move |e| {
            std::fs::create_dir(e.root.join("private")).unwrap();
            set_mode(&e.root.join("private"), mode);
        });
        cases.push(
            case(
                format!("key dir mode {mode:04o}"),
                &s,
                &open_at("open", "private"),
                OK,
            )
            .allow(&["private"]),
        );
    }
    if is_root() {
        let s = setup(|e| {
            std::fs::create_dir(e.root.join("foreign")).unwrap();
            set_mode(&e.root.join("foreign"), 0o700);
            chown(&e.root.join("foreign"), 65534);
        });
        cases.push(case(
            "key dir owned by uid 65534",
            &s,
            &open_at("open", "foreign"),
            E(IP),
        ));
    }
    let s = setup(|e| write_file(&e.root.join("file"), b"x", 0o600));
    cases.push(case(
        "key dir a regular file",
        &s,
        &open_at("open", "file"),
        E(IO),
    ));
    cases.push(case(
        "key dir below a regular file",
        &s,
        &open_at("open", "file/keys"),
        E(IO),
    ));

    // The directory moved or replaced after open: the handle keeps using
    // the directory it opened and never resolves the path again.
    let moved = setup(|e| std::fs::rename(&e.dir, e.root.join("moved")).unwrap());
    let replaced_by_dir = setup(|e| {
        std::fs::rename(&e.dir, e.root.join("moved")).unwrap();
        std::fs::create_dir(&e.dir).unwrap();
        set_mode(&e.dir, 0o700);
    });
    let replaced_by_link = setup(|e| {
        std::fs::rename(&e.dir, e.root.join("moved")).unwrap();
        symlink(&e.outside, &e.dir);
    });
    let lands_in_moved = |e: &Env| {
        let moved = e.root.join("moved");
        assert_eq!(std::fs::read(moved.join("victim.key")).unwrap(), NEW);
        assert_eq!(e.km.get("victim").unwrap().as_bytes(), NEW);
        assert_eq!(e.km.list().unwrap(), ["other", "victim"]);
    };
    for (tamper, s) in [
        ("key dir renamed after open", &moved),
        (
            "key dir replaced by another directory after open",
            &replaced_by_dir,
        ),
        (
            "key dir replaced by a symlink after open",
            &replaced_by_link,
        ),
    ] {
        cases.push(
            case(tamper, s, &store("victim"), OK)
                .allow(&["moved"])
                .then(lands_in_moved),
        );
        cases.push(
            case(tamper, s, &rotate("victim"), OK)
                .allow(&["moved"])
                .then(move |e| {
                    lands_in_moved(e);
                    assert_eq!(version_list(&e.km, "victim").unwrap(), [1, 2, 3, 4]);
                    assert_eq!(version_bytes(&e.km, "victim", 3).unwrap().as_bytes(), V3);
                }),
        );
        cases.push(
            case(tamper, s, &create("fresh"), OK)
                .allow(&["moved"])
                .then(|e| {
                    assert!(e.root.join("moved/fresh.key").is_file());
                    assert_eq!(e.km.list().unwrap(), ["fresh", "other", "victim"]);
                }),
        );
        cases.push(
            case(tamper, s, &delete("other"), OK)
                .allow(&["moved"])
                .then(|e| {
                    assert!(!e.root.join("moved/other.key").exists());
                    assert_eq!(e.km.list().unwrap(), ["victim"]);
                }),
        );
    }
    // Removed after open: writes fail, and nothing appears at the path.
    let s = setup(|e| std::fs::remove_dir_all(&e.dir).unwrap());
    for op in [store("victim"), create("fresh")] {
        cases.push(
            case("key dir removed after open", &s, &op, E(IO)).then(|e| {
                assert!(std::fs::symlink_metadata(&e.dir).is_err());
            }),
        );
    }
    cases.push(case(
        "key dir removed after open",
        &s,
        &get("victim"),
        E(ErrorKind::NotFound),
    ));
    cases
}

#[test]
fn tampered_files_and_directories_are_refused_without_damage() {
    let started = Instant::now();
    let cases: Vec<Case> = file_attack_cases()
        .into_iter()
        .chain(dir_attack_cases())
        .collect();
    // Every case runs, so that one report names all that fail.
    let mut failures = Vec::new();
    for case in &cases {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(case)));
        if let Err(panic) = outcome {
            failures.push(common::panic_message(panic.as_ref()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
    let failing = cases
        .iter()
        .filter(|c| matches!(c.expect, Expect::Err(_)))
        .count();
    println!(
        "hostile: {} file and directory cases ran ({failing} expected failures, {} successes) in {:.1?}",
        cases.len(),
        cases.len() - failing,
        started.elapsed()
    );
    assert!(cases.len() > 150);
}

// ---------------------------------------------------------------------------
// Key ids.

type IdOp = (&'static str, fn(&KeyManager, &str) -> Result<()>);

fn id_ops() -> Vec<IdOp> {
    fn verify_tagged(km: &KeyManager, id: &str) -> Result<()> {
        let mut tag = [0u8; 5 + 32];
        tag[0] = 1;
        tag[4] = 1;
        km.key(id)?.hmac_verify_tagged(HashAlg::Sha256, b"m", &tag)
    }
    fn tagged_verifier(km: &KeyManager, id: &str) -> Result<()> {
        let mut tag = [0u8; 5 + 32];
        tag[0] = 1;
        tag[4] = 1;
        km.key(id)?.tagged_verifier(HashAlg::Sha256, &tag).map(drop)
    }
    vec![
        ("store", |km, id| km.store(id, NEW)),
        ("create", |km, id| km.create(id, NEW)),
        ("generate", |km, id| km.generate(id, 32)),
        ("get", |km, id| km.get(id).map(drop)),
        ("exists", |km, id| km.exists(id).map(drop)),
        ("delete", |km, id| km.delete(id)),
        ("rotate", |km, id| km.rotate(id, NEW).map(drop)),
        ("rotate_if", |km, id| {
            rotate_bounded(km, id, NEW, 0)
                .map(drop)
                .map_err(Bounded::into_store_error)
        }),
        ("key", |km, id| km.key(id).map(drop)),
        ("current_version", |km, id| {
            km.key(id)?.current_version().map(drop)
        }),
        ("versions", |km, id| km.key(id)?.versions().map(drop)),
        ("get current", |km, id| {
            km.key(id)?.at(Version::Current).get().map(drop)
        }),
        ("get version 1", |km, id| {
            km.key(id)?.at(v(1)).get().map(drop)
        }),
        ("prune", |km, id| km.prune(id, NonZeroU32::MIN)),
        ("stage", |km, id| km.stage(id, NEW).map(drop)),
        ("stage_generate", |km, id| {
            km.stage_generate(id, 32).map(drop)
        }),
        ("promote", |km, id| km.promote(id, NonZeroU32::MIN)),
        ("hmac", |km, id| {
            km.key(id)?.hmac(HashAlg::Sha256, b"m").map(drop)
        }),
        ("hmac_verify", |km, id| {
            km.key(id)?.hmac_verify(HashAlg::Sha256, b"m", &[0; 32])
        }),
        ("derive", |km, id| {
            let mut okm = [0u8; 16];
            km.key(id)?.derive(HashAlg::Sha256, b"", b"", &mut okm)
        }),
        ("hmac version 1", |km, id| {
            km.key(id)?.at(v(1)).hmac(HashAlg::Sha256, b"m").map(drop)
        }),
        ("derive version 1", |km, id| {
            let mut okm = [0u8; 16];
            km.key(id)?
                .at(v(1))
                .derive(HashAlg::Sha256, b"", b"", &mut okm)
        }),
        ("hmac_tagged", |km, id| {
            km.key(id)?.hmac_tagged(HashAlg::Sha256, b"m").map(drop)
        }),
        ("hmac_verify_tagged", verify_tagged),
        ("tagged_stream", |km, id| {
            km.key(id)?.tagged_stream(HashAlg::Sha256).map(drop)
        }),
        ("tagged_verifier", tagged_verifier),
    ]
}

/// Ids that break the key-id rule, each with why it is dangerous.
fn invalid_ids() -> Vec<(String, &'static str)> {
    let mut ids: Vec<(String, &'static str)> = [
        ("", "empty"),
        (".", "the directory itself"),
        ("..", "the parent"),
        ("../x", "traversal to a sibling key file"),
        ("../../etc/passwd", "deep traversal"),
        ("..\\x", "Windows traversal"),
        ("./x", "explicit current directory"),
        ("x/..", "traversal at the end"),
        ("a/b", "separator"),
        ("/abs", "absolute path"),
        ("/", "root"),
        ("a\\b", "backslash"),
        ("\\", "backslash alone"),
        ("a\0b", "NUL inside"),
        ("\0", "NUL alone"),
        ("x\0/../../y", "NUL hiding a traversal"),
        (" a", "leading space"),
        ("a ", "trailing space"),
        ("a b", "space inside"),
        ("a\tb", "tab"),
        ("\t", "tab alone"),
        ("a\nb", "newline"),
        ("a\n", "trailing newline"),
        ("a\rb", "carriage return"),
        ("a\x1b[31m", "terminal escape"),
        ("a\x7f", "DEL"),
        ("caf\u{e9}", "Latin-1 letter"),
        ("k\u{435}y", "Cyrillic e lookalike"),
        ("\u{ff4b}\u{ff45}\u{ff59}", "fullwidth lookalikes"),
        ("key\u{200b}", "zero-width space"),
        ("\u{202e}yek.exe", "right-to-left override"),
        ("\u{200f}key", "right-to-left mark"),
        ("key\u{2044}x", "fraction slash lookalike"),
        ("key\u{2215}x", "division slash lookalike"),
        ("key\u{ff0f}x", "fullwidth solidus"),
        ("\u{2024}\u{2024}", "one-dot leaders lookalike of .."),
        ("\u{1f511}", "emoji"),
        ("%2e%2e%2fx", "percent-encoded traversal"),
        ("%2F", "percent-encoded slash"),
        ("a%00b", "percent-encoded NUL"),
        ("~", "tilde"),
        ("~root", "home of another user"),
        ("$HOME", "shell variable"),
        ("*", "glob"),
        ("a?", "glob"),
        ("[a]", "glob class"),
        ("a:b", "colon"),
        ("a;b", "semicolon"),
        ("a|b", "pipe"),
        ("'a'", "quotes"),
        ("\"a\"", "double quotes"),
        ("`id`", "backticks"),
        ("a,b", "comma"),
        ("a+b", "plus"),
        ("a=b", "equals"),
        ("@a", "at"),
        (".hidden", "leading dot"),
        (".key", "leading dot, looks like a bare suffix"),
        (".lock", "the lock file"),
        (".versions", "the versions directory"),
        (".x.key.tmp", "a temporary file"),
    ]
    .into_iter()
    .map(|(id, why)| (id.to_owned(), why))
    .collect();
    ids.push(("k".repeat(129), "129 bytes"));
    ids.push(("k".repeat(256), "256 bytes"));
    ids.push(("k".repeat(4097), "longer than PATH_MAX"));
    ids.push((
        format!("{}\u{e9}", "k".repeat(126)),
        "128 bytes with a non-ASCII letter",
    ));
    ids
}

/// Ids that follow the rule, however odd.
fn valid_ids() -> Vec<String> {
    let mut ids: Vec<String> = [
        "a",
        "Z",
        "0",
        "-",
        "-rf",
        "--help",
        "_",
        "trailing.",
        "a.",
        "a..b",
        "x.key",
        "key.tmp",
        "lock",
        "versions",
        "CON",
        "nul",
        "a-b_c.d",
        "1.2.3",
        "x...",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    ids.push("k".repeat(128));
    ids.push(format!("-{}", "Z.".repeat(63) + "_"));
    ids
}

#[test]
fn key_ids_that_escape_or_confuse_are_refused_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = root.join("keys");
    let km = KeyManager::open(&dir).unwrap();
    km.store("victim", V1).unwrap();
    km.rotate("victim", V2).unwrap();
    // Files a traversal would reach.
    write_file(&root.join("x.key"), OUTSIDE, 0o600);
    write_file(&root.join("y.key"), OUTSIDE, 0o600);
    std::fs::create_dir_all(root.join("etc")).unwrap();
    write_file(&root.join("etc/passwd.key"), OUTSIDE, 0o600);
    let before = snapshot(root);
    let ops = id_ops();
    let mut cases = 0;

    for (id, why) in invalid_ids() {
        for (name, op) in &ops {
            let err = op(&km, &id).expect_err(&format!("{name}({id:?}) [{why}] succeeded"));
            assert_eq!(
                err.kind(),
                ErrorKind::InvalidKeyId,
                "{name}({id:?}) [{why}]: {}",
                err.message()
            );
            check_message(&err, &format!("{name}({id:?})"));
            cases += 1;
        }
    }
    assert_eq!(snapshot(root), before, "an invalid id changed something");
    assert_eq!(km.list().unwrap(), ["victim"]);
    assert_eq!(km.get("victim").unwrap().as_bytes(), V2);

    // Through the C functions, ids that are not even UTF-8.
    let c_dir = CString::new(dir.as_os_str().as_bytes()).unwrap();
    let mut handle: *mut codomyrmex_key_manager = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path and a writable out-pointer.
    assert_eq!(
        unsafe { codomyrmex_key_manager_open(c_dir.as_ptr(), &mut handle) },
        CODOMYRMEX_OK
    );
    let byte_ids: [&[u8]; 8] = [
        b"\xff",
        b"a\xffb",
        b"caf\xe9",
        b"\xc0\xae\xc0\xae/x",
        b"\xc0\xafetc",
        b"\xe2\x80\xaeyek",
        b"\xed\xa0\x80",
        b"k\xd0\xb5y",
    ];
    for id in byte_ids {
        let c_id = CString::new(id).unwrap();
        for (name, status) in c_calls(handle, &c_id) {
            assert_eq!(status, CODOMYRMEX_ERR_INVALID_KEY_ID, "C {name}({id:?})");
            let message = last_error_message();
            assert!(
                message.chars().all(|c| !c.is_control()) && !message.is_empty(),
                "C {name}({id:?}): {message:?}"
            );
            cases += 1;
        }
    }
    // SAFETY: the handle came from codomyrmex_key_manager_open, freed once.
    unsafe { codomyrmex_key_manager_free(handle) };
    assert_eq!(snapshot(root), before, "an invalid id changed something");

    // Odd but valid ids: the whole life of a key, and nothing but
    // `<id>.key` and its versions ever appears, inside the key directory.
    for id in valid_ids() {
        let v1 = format!("{MARK} first {id}");
        let v2 = format!("{MARK} second {id}");
        km.store(&id, v1.as_bytes()).unwrap();
        assert!(km.exists(&id).unwrap(), "{id}");
        assert_eq!(km.get(&id).unwrap().as_bytes(), v1.as_bytes(), "{id}");
        assert_eq!(km.list().unwrap(), {
            let mut l = vec![id.clone(), "victim".to_owned()];
            l.sort();
            l
        });
        assert_eq!(
            std::fs::read(dir.join(format!("{id}.key"))).unwrap(),
            v1.as_bytes()
        );
        let old = km.rotate(&id, v2.as_bytes()).unwrap().unwrap();
        assert_eq!(old.as_bytes(), v1.as_bytes());
        assert_eq!(version_list(&km, &id).unwrap(), [1, 2]);
        assert_eq!(
            version_bytes(&km, &id, 1).unwrap().as_bytes(),
            v1.as_bytes()
        );
        let key = km.key(&id).unwrap();
        let tag = key.hmac_tagged(HashAlg::Sha384, b"m").unwrap();
        key.hmac_verify_tagged(HashAlg::Sha384, b"m", tag.as_bytes())
            .unwrap();
        assert_eq!(
            kind(km.create(&id, b"again")),
            ErrorKind::AlreadyExists,
            "{id}"
        );
        let during = snapshot(root);
        for path in changed(&before, &during) {
            let rel = path.strip_prefix("keys").unwrap_or_else(|_| {
                panic!("{id}: changed {} outside the key directory", path.display())
            });
            let name = rel.to_string_lossy();
            assert!(
                name == format!("{id}.key")
                    || name == ".versions"
                    || name.starts_with(&format!(".versions/{id}")),
                "{id}: unexpected entry {name}"
            );
        }
        km.prune(&id, NonZeroU32::MIN).unwrap();
        assert_eq!(version_list(&km, &id).unwrap(), [2]);
        km.delete(&id).unwrap();
        assert!(!km.exists(&id).unwrap());
        assert_eq!(km.list().unwrap(), ["victim"]);
        cases += 12;
    }
    assert_eq!(
        changed(&before, &snapshot(root)),
        Vec::<PathBuf>::new(),
        "deleting every odd key leaves the tree as it was"
    );
    assert_eq!(km.get("victim").unwrap().as_bytes(), V2);
    println!(
        "hostile: {cases} key-id cases ran ({} invalid ids x {} operations, {} non-UTF-8 ids through C, {} valid ids through a whole life)",
        invalid_ids().len(),
        ops.len(),
        byte_ids.len(),
        valid_ids().len()
    );
}

fn kind<T: std::fmt::Debug>(result: Result<T>) -> ErrorKind {
    result.expect_err("expected an error").kind()
}

/// The C key-manager calls that take a key id, with `id`.
fn c_calls(
    km: *mut codomyrmex_key_manager,
    id: &CString,
) -> Vec<(&'static str, codomyrmex_status)> {
    let id = id.as_ptr();
    let mut buf = [0u8; 128];
    let mut len = 0usize;
    let mut version = 0u32;
    let mut versions = [0u32; 4];
    let mut flag = false;
    // SAFETY: a live handle, a NUL-terminated id, buffers of their stated
    // capacities and writable out-pointers.
    unsafe {
        vec![
            (
                "store",
                codomyrmex_key_manager_store(km, id, NEW.as_ptr(), NEW.len()),
            ),
            (
                "create",
                codomyrmex_key_manager_create(km, id, NEW.as_ptr(), NEW.len()),
            ),
            ("generate", codomyrmex_key_manager_generate(km, id, 32)),
            (
                "get",
                codomyrmex_key_manager_get(km, id, buf.as_mut_ptr(), buf.len(), &mut len),
            ),
            ("exists", codomyrmex_key_manager_exists(km, id, &mut flag)),
            ("delete", codomyrmex_key_manager_delete(km, id)),
            (
                "rotate",
                codomyrmex_key_manager_rotate(
                    km,
                    id,
                    NEW.as_ptr(),
                    NEW.len(),
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut len,
                ),
            ),
            (
                "hmac",
                codomyrmex_key_manager_hmac(
                    km,
                    id,
                    1,
                    b"m".as_ptr(),
                    1,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut len,
                ),
            ),
            (
                "derive",
                codomyrmex_key_manager_derive(
                    km,
                    id,
                    1,
                    std::ptr::null(),
                    0,
                    std::ptr::null(),
                    0,
                    buf.as_mut_ptr(),
                    16,
                ),
            ),
            (
                "current_version",
                codomyrmex_key_manager_current_version(km, id, &mut version),
            ),
            (
                "get_version",
                codomyrmex_key_manager_get_version(
                    km,
                    id,
                    1,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut len,
                ),
            ),
            (
                "list_versions",
                codomyrmex_key_manager_list_versions(
                    km,
                    id,
                    versions.as_mut_ptr(),
                    versions.len(),
                    &mut len,
                ),
            ),
            ("prune", codomyrmex_key_manager_prune(km, id, 1)),
            (
                "hmac_tagged",
                codomyrmex_key_manager_hmac_tagged(
                    km,
                    id,
                    1,
                    b"m".as_ptr(),
                    1,
                    buf.as_mut_ptr(),
                    buf.len(),
                    &mut len,
                ),
            ),
        ]
    }
}

/// This thread's last error message from the C layer.
fn last_error_message() -> String {
    let mut buf = vec![0 as c_char; 1024];
    // SAFETY: a buffer of its stated capacity.
    let len = unsafe { codomyrmex_last_error_message(buf.as_mut_ptr(), buf.len()) };
    let bytes: Vec<u8> = buf[..len.min(buf.len() - 1)]
        .iter()
        .map(|&b| b as u8)
        .collect();
    String::from_utf8(bytes).expect("UTF-8 message")
}

// ---------------------------------------------------------------------------
// An attacker swapping the key file while it is read and written.

/// Sets a flag when dropped, also while unwinding from a failed
/// assertion, so that a helper thread looping on it always ends.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// What a reader of "victim" saw while an attacker swapped its file.
#[derive(Default, Debug)]
struct SwapLog {
    reads: usize,
    refused: usize,
    writes: usize,
    foreign: Vec<String>,
}

/// Runs the victim's reads and writes for `run` while another thread
/// keeps renaming files made by `stage` over `victim.key`.
fn race_swaps(env: &Env, run: Duration, stage: fn(&Env, u64) -> PathBuf) -> (SwapLog, usize) {
    let stop = AtomicBool::new(false);
    let swaps = AtomicUsize::new(0);
    let mut log = SwapLog::default();
    std::thread::scope(|scope| {
        let _stop = StopOnDrop(&stop);
        scope.spawn(|| {
            let mut i = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let staged = stage(env, i);
                let _ = std::fs::rename(staged, env.key("victim"));
                swaps.fetch_add(1, Ordering::SeqCst);
                i += 1;
            }
        });
        let deadline = Instant::now() + run;
        while Instant::now() < deadline {
            match env.km.get("victim") {
                Ok(bytes) if [V1, V3, NEW].contains(&bytes.as_bytes()) => log.reads += 1,
                Ok(bytes) => log
                    .foreign
                    .push(String::from_utf8_lossy(&bytes).into_owned()),
                Err(e) => {
                    assert!(
                        matches!(
                            e.kind(),
                            ErrorKind::InsecurePermissions | ErrorKind::NotFound
                        ),
                        "{e:?}"
                    );
                    check_message(&e, "get during swaps");
                    log.refused += 1;
                }
            }
            match env.km.store("victim", NEW) {
                Ok(()) => log.writes += 1,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InsecurePermissions, "{e:?}");
                    log.refused += 1;
                }
            }
        }
    });
    assert_eq!(
        std::fs::read(env.secret()).unwrap(),
        OUTSIDE,
        "the outside file was written through a link"
    );
    (log, swaps.load(Ordering::SeqCst))
}

#[test]
fn racing_swaps_for_symlinks_never_leak_or_overwrite_the_target() {
    let env = Env::new();
    let (log, swaps) = race_swaps(&env, Duration::from_millis(1000), |env, i| {
        // Alternately a symbolic link to the outside file and a genuine
        // private key file.
        if i % 2 == 0 {
            let link = env.dir.join("swap-link");
            let _ = std::fs::remove_file(&link);
            symlink(&env.secret(), &link);
            link
        } else {
            let real = env.dir.join("swap-real");
            write_file(&real, V1, 0o600);
            real
        }
    });
    println!(
        "hostile: {swaps} symlink swaps raced {} good reads, {} writes, {} refusals",
        log.reads, log.writes, log.refused
    );
    assert!(
        log.foreign.is_empty(),
        "get read through a link: {:?}",
        log.foreign
    );
    assert!(swaps > 0 && log.reads + log.refused > 0);
}

// ---------------------------------------------------------------------------
// Deletes and prunes refused half way.

/// The tamperings of the version directories that make a delete of
/// "victim" fail.
fn versions_tamperings() -> Vec<(&'static str, Setup)> {
    vec![
        (
            ".versions symlinked outside",
            setup(|e| {
                let stolen = e.outside.join("stolen");
                std::fs::rename(e.dir.join(".versions"), &stolen).unwrap();
                symlink(&stolen, &e.dir.join(".versions"));
            }),
        ),
        (
            ".versions/victim symlinked outside",
            setup(|e| {
                let stolen = e.outside.join("stolen-victim");
                std::fs::rename(e.dir.join(".versions/victim"), &stolen).unwrap();
                symlink(&stolen, &e.dir.join(".versions/victim"));
            }),
        ),
        (
            ".versions mode 0755",
            setup(|e| set_mode(&e.dir.join(".versions"), 0o755)),
        ),
        (
            ".versions a regular file",
            setup(|e| {
                remove(&e.dir.join(".versions"));
                write_file(&e.dir.join(".versions"), b"not a directory", 0o600);
            }),
        ),
    ]
}

#[test]
fn a_refused_delete_leaves_the_key() {
    let mut cases = 0;
    for (tamper, setup) in versions_tamperings() {
        let env = Env::new();
        setup(&env);
        let before = snapshot(&env.root);
        match env.km.delete("victim") {
            Ok(()) => {
                assert!(!env.km.exists("victim").unwrap(), "{tamper}");
            }
            Err(e) => {
                check_message(&e, tamper);
                assert_eq!(
                    changed(&before, &snapshot(&env.root)),
                    Vec::<PathBuf>::new(),
                    "{tamper}: delete failed with {:?} ({}), yet changed the directory",
                    e.kind(),
                    e.message()
                );
                assert_eq!(env.km.get("victim").unwrap().as_bytes(), V3, "{tamper}");
            }
        }
        assert_eq!(std::fs::read(env.secret()).unwrap(), OUTSIDE);
        cases += 1;
    }
    println!("hostile: {cases} refused-delete cases ran");
}

#[test]
fn a_refused_prune_removes_no_version() {
    let env = Env::new();
    env.km.rotate("victim", NEW).unwrap();
    // Records 1, 2 and 3, current version 4; record 2 is now a directory
    // with something in it, which cannot be removed as a record is.
    remove(&env.record("victim", 2));
    std::fs::create_dir(env.record("victim", 2)).unwrap();
    write_file(&env.record("victim", 2).join("inner"), b"x", 0o600);
    let before = all_key_states(&env.km, &["victim"]);
    match env.km.prune("victim", NonZeroU32::MIN) {
        Ok(()) => assert_eq!(version_list(&env.km, "victim").unwrap(), [4]),
        Err(e) => {
            check_message(&e, "prune");
            assert_eq!(
                all_key_states(&env.km, &["victim"]),
                before,
                "prune failed with {:?} ({}), yet removed versions",
                e.kind(),
                e.message()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// A full disk (RLIMIT_FSIZE, and a small tmpfs) and a read-only directory.

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

/// Drops the capabilities that let root ignore file modes, for this
/// thread: CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER, from the
/// effective and permitted sets.
fn drop_file_capabilities() -> std::io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset with a version-3 header and two data words.
    unsafe {
        if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // CAP_DAC_OVERRIDE (1), CAP_DAC_READ_SEARCH (2), CAP_FOWNER (3).
        let drop_bits: u32 = (1 << 1) | (1 << 2) | (1 << 3);
        data[0].effective &= !drop_bits;
        data[0].permitted &= !drop_bits;
        if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
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
        let message = last_error_message();
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
