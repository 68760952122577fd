//! Mounted sources (`mounted:<dir>`), with each layout built exactly as
//! its orchestrator builds it (see `mounted_support/orchestrators.rs` for
//! where each step comes from), and read by a consumer that runs as the
//! user the orchestrator serves: uid 65534 in a child process, while the
//! orchestrator's part runs as root. Mounts (tmpfs, ramfs, bind mounts) are
//! made in a mount namespace private to the test's thread, so they vanish
//! with it.
//!
//! Covered: Kubernetes Secret volumes (defaultMode 0644 and 0400, fsGroup,
//! updates by the atomic writer, and a reader racing thousands of
//! updates), Docker and Compose secrets, systemd credentials, Vault Agent
//! output, a read-only bind mount, hostile layouts, and the errno behind
//! an IO failure.
//!
//! Most tests need root (to own files as root and as other users, and to
//! mount); run as another user they say so and skip. Where mounts are not
//! allowed, the Kubernetes tests use a plain directory with the mode of the
//! tmpfs and say so. `CODOMYRMEX_LONG=1` makes the race run a minute.

mod mounted_support;

use codomyrmex_keys::ffi::key_manager::{
    codomyrmex_key_manager, codomyrmex_key_manager_free, codomyrmex_key_manager_get,
    codomyrmex_key_manager_open_with,
};
use codomyrmex_keys::ffi::library::codomyrmex_last_os_error;
use codomyrmex_keys::ffi::status::codomyrmex_status;
use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, Location, OpenOptions, Version};
use mounted_support::checks::{
    DATA, Fixture, check_reads, check_writes_refused, expect_err, files_of, tag_with,
};
use mounted_support::orchestrators::{
    Access, AtomicWriter, bind_secret_into_container, docker_secret_file, finalize_credentials_dir,
    vault_render, write_credential,
};
use mounted_support::{
    Consumer, Mount, NOBODY, User, become_consumer, child_env, child_scenario, is_root, mode_owner,
    pause, private_mount_namespace, say, set_mode, shared_tempdir, snapshot,
};
use std::ffi::CString;
use std::fs;
use std::num::NonZeroU32;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the consumer finds the source its parent built.
const SOURCE_ENV: &str = "CODOMYRMEX_MOUNTED_SOURCE";
/// A group a pod's fsGroup names.
const FS_GROUP: u32 = 2000;
/// The uid and gid Vault Agent runs as.
const AGENT: (u32, u32) = (1001, 1001);

fn open_mounted(path: &Path, options: &OpenOptions) -> codomyrmex_keys::Result<KeyManager> {
    KeyManager::open_with(&Location::Mounted(path.to_path_buf()), options)
}

/// Whether this test can run; says why not otherwise.
fn root_or_skip(test: &str) -> bool {
    if !is_root() {
        println!("{test}: skipped: building orchestrator layouts needs root");
    }
    is_root()
}

/// Starts the consumer `scenario` of `test` as `user` on `source`.
fn consumer(test: &str, scenario: &str, user: &User, source: &Path) -> Consumer {
    Consumer::start(test, scenario, user, &[(SOURCE_ENV, source.as_os_str())])
}

/// Turns `items` into the borrowed form the orchestrators take.
fn borrowed(items: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    items
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect()
}

/// `fixture` after a rotation in set `set`: its versions, and a new one.
fn rotated(fixture: &Fixture, set: &str) -> Fixture {
    let mut next = fixture.clone();
    let number = fixture.current_number() + 1;
    let bytes = format!("{set}:{}:v{number}:{:0>24}", fixture.id, number).into_bytes();
    next.versions.push((number, bytes));
    next
}

// ---------------------------------------------------------------------------
// Kubernetes Secret volumes.

/// The Secret before a rollout: `api` rotated once, `db` never.
fn pod_keys_before() -> Vec<Fixture> {
    vec![
        Fixture::new("api", &[1, 2], "before"),
        Fixture::new("db", &[1], "before"),
    ]
}

/// The Secret after: `api` rotated again, `db` gone.
fn pod_keys_after() -> Vec<Fixture> {
    vec![rotated(&pod_keys_before()[0], "after")]
}

/// The directory a Secret volume is mounted at: a tmpfs mounted without a
/// mode option (1777, root), as the memory-backed emptyDir the kubelet
/// wraps it in, in this thread's own mount namespace; or, where mounts are
/// not allowed, a plain directory given that mode.
fn secret_volume(parent: &Path, test: &str) -> (PathBuf, Option<Mount>) {
    let dir = parent.join("volume");
    fs::create_dir(&dir).unwrap();
    let mount = private_mount_namespace()
        .and_then(|()| Mount::new("tmpfs", &dir, 0, ""))
        .map_err(|err| println!("{test}: no tmpfs ({err}); a plain directory 1777 stands in"))
        .ok();
    if mount.is_none() {
        set_mode(&dir, 0o1777);
    }
    (dir, mount)
}

/// Checks the volume is laid out as the kubelet lays it out: mount point
/// `volume_mode`, `..data -> ..<UTC timestamp>.<digits>` (mode
/// `ts_mode`), `<name> -> ..data/<name>` for every name, each file `mode`,
/// every entry owned by root and of group `gid`.
fn check_kubernetes_layout(
    volume: &Path,
    names: &[&str],
    (volume_mode, ts_mode, mode, gid): (u32, u32, u32, u32),
) {
    assert_eq!(mode_owner(volume), (volume_mode, 0, gid), "volume");
    let ts = fs::read_link(volume.join("..data")).unwrap();
    let ts = ts.to_str().unwrap();
    let shape = ts.strip_prefix("..").and_then(|rest| rest.split_once('.'));
    let (stamp, random) = shape.unwrap_or_else(|| panic!("..data -> {ts}"));
    assert_eq!(stamp.len(), "2006_01_02_15_04_05".len(), "{ts}");
    assert!(
        stamp.bytes().all(|b| b.is_ascii_digit() || b == b'_'),
        "{ts}"
    );
    assert!(random.bytes().all(|b| b.is_ascii_digit()), "{ts}");
    assert_eq!(mode_owner(&volume.join(ts)), (ts_mode, 0, gid), "{ts}");
    let mut entries: Vec<String> = fs::read_dir(volume.join(ts))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    entries.sort();
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(entries, expected, "files of {ts}");
    for name in names {
        let link = fs::read_link(volume.join(name)).unwrap();
        assert_eq!(link, Path::new("..data").join(name), "{name}");
        assert_eq!(
            mode_owner(&volume.join(ts).join(name)),
            (mode, 0, gid),
            "{name}"
        );
    }
    // Only the published names, the data link and one timestamped
    // directory: no temporary left behind.
    let all = fs::read_dir(volume).unwrap().count();
    assert_eq!(all, names.len() + 2, "entries of the volume");
}

/// The consumer of a Secret volume: checks every call on the keys before
/// the rollout, lets the kubelet update the volume, then checks every call
/// again on the same open key manager.
fn pod_consumer() {
    become_consumer();
    let km = open_mounted(&child_env(SOURCE_ENV), &OpenOptions::new()).unwrap();
    let calls = check_reads(&km, &pod_keys_before(), "absent") + check_writes_refused(&km, "api");
    say(&format!("checked {calls} calls before the rollout"));
    assert_eq!(pause("rollout?"), "rolled out");
    let calls = check_reads(&km, &pod_keys_after(), "db") + check_writes_refused(&km, "api");
    say(&format!("checked {calls} calls after the rollout"));
}

/// Runs [`pod_consumer`] as `user` against `volume` around a rollout made
/// with `mode` and `fs_group`; checks that the consumer's writes changed
/// nothing.
fn pod_rollout(
    test: &str,
    user: &User,
    volume: &Path,
    writer: &AtomicWriter,
    (mode, fs_group): (u32, Option<u32>),
) {
    let before = snapshot(volume);
    let mut pod = consumer(test, "pod", user, volume);
    println!("{test}: {}", pod.expect("checked"));
    pod.expect("rollout?");
    assert_eq!(snapshot(volume), before, "the consumer changed nothing");
    let after = files_of(&pod_keys_after());
    writer.write(&borrowed(&after), mode, fs_group).unwrap();
    let after = snapshot(volume);
    pod.resume("rolled out");
    println!("{test}: {}", pod.expect("checked"));
    pod.finish();
    assert_eq!(snapshot(volume), after, "the consumer changed nothing");
}

#[test]
fn kubernetes_secret_volume_with_default_mode_0644() {
    let test = "kubernetes_secret_volume_with_default_mode_0644";
    if child_scenario().is_some() {
        return pod_consumer();
    }
    if !root_or_skip(test) {
        return;
    }
    let tmp = shared_tempdir();
    let (volume, _mount) = secret_volume(tmp.path(), test);
    let writer = AtomicWriter::new(&volume);
    let files = files_of(&pod_keys_before());
    writer.write(&borrowed(&files), 0o644, None).unwrap();
    let names = ["api.key", "api.key.v1", "db.key"];
    check_kubernetes_layout(&volume, &names, (0o1777, 0o755, 0o644, 0));
    pod_rollout(test, &User::nobody(), &volume, &writer, (0o644, None));
    check_kubernetes_layout(
        &volume,
        &["api.key", "api.key.v1", "api.key.v2"],
        (0o1777, 0o755, 0o644, 0),
    );
}

#[test]
fn kubernetes_secret_volume_with_default_mode_0400_is_for_root() {
    let test = "kubernetes_secret_volume_with_default_mode_0400_is_for_root";
    if child_scenario().is_some() {
        // Files 0400 owned by root: the kernel refuses this user, and the
        // library says which file and which errno, through both APIs.
        become_consumer();
        let volume = child_env(SOURCE_ENV);
        let km = open_mounted(&volume, &OpenOptions::new()).unwrap();
        let err = km.get("api").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{}", err.message());
        assert_eq!(err.os_error(), Some(libc::EACCES), "{}", err.message());
        let file = volume.join("..data/api.key");
        assert!(
            err.message().contains(file.to_str().unwrap()) && err.message().contains("EACCES"),
            "{}",
            err.message()
        );
        let (status, errno) = c_get(&format!("mounted:{}", volume.display()), "api");
        assert_eq!(status, codomyrmex_status::CODOMYRMEX_ERR_IO);
        assert_eq!(errno, libc::EACCES);
        say("refused with EACCES");
        return;
    }
    if !root_or_skip(test) {
        return;
    }
    let tmp = shared_tempdir();
    let (volume, _mount) = secret_volume(tmp.path(), test);
    let writer = AtomicWriter::new(&volume);
    writer
        .write(&borrowed(&files_of(&pod_keys_before())), 0o400, None)
        .unwrap();
    check_kubernetes_layout(
        &volume,
        &["api.key", "api.key.v1", "db.key"],
        (0o1777, 0o755, 0o400, 0),
    );
    // Root (a container running as root) reads it.
    let km = open_mounted(&volume, &OpenOptions::new()).unwrap();
    check_reads(&km, &pod_keys_before(), "absent");
    // Anyone else is refused by the kernel.
    let mut pod = consumer(test, "nobody", &User::nobody(), &volume);
    pod.expect("refused with EACCES");
    pod.finish();
}

#[test]
fn kubernetes_secret_volume_with_fs_group_is_read_by_the_group() {
    let test = "kubernetes_secret_volume_with_fs_group_is_read_by_the_group";
    match child_scenario().as_deref() {
        Some("pod") => return pod_consumer(),
        Some("outsider") => {
            become_consumer();
            let km = open_mounted(&child_env(SOURCE_ENV), &OpenOptions::new()).unwrap();
            let err = km.get("api").unwrap_err();
            assert_eq!(err.os_error(), Some(libc::EACCES), "{}", err.message());
            say("refused with EACCES");
            return;
        }
        _ => {}
    }
    if !root_or_skip(test) {
        return;
    }
    let tmp = shared_tempdir();
    let (volume, _mount) = secret_volume(tmp.path(), test);
    let writer = AtomicWriter::new(&volume);
    // defaultMode 0400 and fsGroup: the kubelet adds group read (0440),
    // and set-group-ID and group search to the directories.
    let files = files_of(&pod_keys_before());
    writer
        .write(&borrowed(&files), 0o400, Some(FS_GROUP))
        .unwrap();
    check_kubernetes_layout(
        &volume,
        &["api.key", "api.key.v1", "db.key"],
        (0o3777, 0o2755, 0o440, FS_GROUP),
    );
    let member = User::nobody().with_groups(&[FS_GROUP]);
    pod_rollout(test, &member, &volume, &writer, (0o400, Some(FS_GROUP)));
    check_kubernetes_layout(
        &volume,
        &["api.key", "api.key.v1", "api.key.v2"],
        (0o3777, 0o2755, 0o440, FS_GROUP),
    );
    // Positive control: the group is what lets the pod read.
    let mut outsider = consumer(test, "outsider", &User::nobody(), &volume);
    outsider.expect("refused with EACCES");
    outsider.finish();
}

/// `codomyrmex_key_manager_open_with(location)` then `_get(id)` through the
/// C interface: the status of the first call that failed (or OK) and
/// `codomyrmex_last_os_error()` right after it.
fn c_get(location: &str, id: &str) -> (codomyrmex_status, i32) {
    let location = CString::new(location).unwrap();
    let id = CString::new(id).unwrap();
    let mut km: *mut codomyrmex_key_manager = std::ptr::null_mut();
    let mut buf = [0u8; 256];
    let mut len = 0usize;
    // SAFETY: NUL-terminated strings, a writable handle slot, a buffer of
    // the size passed; the handle is freed once.
    unsafe {
        let status = codomyrmex_key_manager_open_with(location.as_ptr(), std::ptr::null(), &mut km);
        if status != codomyrmex_status::CODOMYRMEX_OK {
            return (status, codomyrmex_last_os_error());
        }
        let status =
            codomyrmex_key_manager_get(km, id.as_ptr(), buf.as_mut_ptr(), buf.len(), &mut len);
        let errno = codomyrmex_last_os_error();
        codomyrmex_key_manager_free(km);
        (status, errno)
    }
}

// ---------------------------------------------------------------------------
// A reader racing the kubelet's updates.

/// The race's two key sets. Set A: `api` current version 2 (`a2`) with
/// version 1 (`a1`). Set B: `api` current version 3 (`b3`) with versions
/// 1 and 2, the same bytes as in A. Both have `db`, unchanged.
fn race_sets() -> (Vec<Fixture>, Vec<Fixture>) {
    let a = Fixture::new("api", &[1, 2], "A");
    let b = rotated(&a, "B");
    let db = Fixture::new("db", &[1], "both");
    (vec![a, db.clone()], vec![b, db])
}

/// Outcomes the readers count, by name.
const RACE_COUNTERS: [&str; 12] = [
    "iterations",
    "get_a2",
    "get_b3",
    "tagged_v2",
    "tagged_v3",
    "verify_v1_ok",
    "verify_v2_ok",
    "verify_v3_ok",
    "verify_v3_unknown",
    "versions_a",
    "versions_b",
    "anomalies",
];

struct RaceCounters([AtomicU64; RACE_COUNTERS.len()]);

impl RaceCounters {
    fn bump(&self, name: &str) {
        let i = RACE_COUNTERS.iter().position(|n| *n == name).unwrap();
        self.0[i].fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self, name: &str) -> u64 {
        let i = RACE_COUNTERS.iter().position(|n| *n == name).unwrap();
        self.0[i].load(Ordering::Relaxed)
    }
}

/// Anomalies by kind (the call, the error kind and the message with the
/// volume's path and the timestamped directory's name taken out).
#[derive(Default)]
struct Anomalies(Mutex<std::collections::BTreeMap<String, u64>>);

impl Anomalies {
    fn record(&self, counts: &RaceCounters, volume: &str, what: String) {
        counts.bump("anomalies");
        let mut kind = what.replace(volume, "<volume>");
        if let Some(at) = kind.find("/..20") {
            let end = kind[at + 1..]
                .find(['/', '\''])
                .map_or(kind.len(), |e| at + 1 + e);
            kind.replace_range(at + 1..end, "<timestamped dir>");
        }
        *self.0.lock().unwrap().entry(kind).or_default() += 1;
    }

    fn report(&self) -> String {
        let kinds = self.0.lock().unwrap();
        kinds
            .iter()
            .map(|(k, n)| format!("{n} x {k}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One reader: every result must belong wholly to set A or wholly to set
/// B; a tag of a version both sets have must always verify.
fn race_reader(km: &KeyManager, stop: &AtomicBool, counts: &RaceCounters, odd: &Anomalies) {
    let (a, b) = race_sets();
    let (a, b) = (&a[0], &b[0]);
    let tags = [a.tag(1, DATA), a.tag(2, DATA), b.tag(3, DATA)];
    let mut forged = a.tag(2, DATA);
    forged[10] ^= 0x40;
    let key = km.key("api").unwrap();
    let volume = km.location().path().display().to_string();
    let anomaly = |what: String| odd.record(counts, &volume, what);
    let failed = |call: &str, err: codomyrmex_keys::Error| {
        anomaly(format!("{call}: {:?}: {}", err.kind(), err.message()))
    };
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        counts.bump("iterations");
        match km.get("api") {
            Ok(bytes) if bytes.as_bytes() == a.current() => counts.bump("get_a2"),
            Ok(bytes) if bytes.as_bytes() == b.current() => counts.bump("get_b3"),
            Ok(bytes) => anomaly(format!("get: foreign bytes {:?}", bytes.as_bytes())),
            Err(err) => failed("get", err),
        }
        for (number, tag) in [(1, &tags[0]), (2, &tags[1])] {
            match key.hmac_verify_tagged(HashAlg::Sha256, DATA, tag) {
                Ok(()) => counts.bump(["verify_v1_ok", "verify_v2_ok"][number - 1]),
                Err(err) => failed(["verify v1", "verify v2"][number - 1], err),
            }
        }
        match key.hmac_verify_tagged(HashAlg::Sha256, DATA, &tags[2]) {
            Ok(()) => counts.bump("verify_v3_ok"),
            Err(err) if err.kind() == ErrorKind::VerifyFailed => counts.bump("verify_v3_unknown"),
            Err(err) => failed("verify v3", err),
        }
        match key.hmac_verify_tagged(HashAlg::Sha256, DATA, &forged) {
            Err(err) if err.kind() == ErrorKind::VerifyFailed => {}
            Err(err) => failed("forged tag", err),
            Ok(()) => anomaly("forged tag: verified".into()),
        }
        match key.hmac_tagged(HashAlg::Sha256, DATA) {
            Ok(tag) if tag.as_bytes() == tags[1] => counts.bump("tagged_v2"),
            Ok(tag) if tag.as_bytes() == tags[2] => counts.bump("tagged_v3"),
            Ok(tag) => anomaly(format!("hmac_tagged: a mixed tag {:?}", tag.as_bytes())),
            Err(err) => failed("hmac_tagged", err),
        }
        if round.is_multiple_of(4) {
            match key.versions() {
                Ok(v) => match (
                    v.current.get(),
                    v.retained.iter().map(|v| v.get()).collect::<Vec<_>>(),
                ) {
                    (2, retained) if retained == [1] => counts.bump("versions_a"),
                    (3, retained) if retained == [1, 2] => counts.bump("versions_b"),
                    other => anomaly(format!("versions: a mixed set {other:?}")),
                },
                Err(err) => failed("versions", err),
            }
        }
        if round.is_multiple_of(16) {
            match km.list() {
                Ok(ids) if ids == ["api", "db"] => {}
                Ok(ids) => anomaly(format!("list: {ids:?}")),
                Err(err) => failed("list", err),
            }
        }
    }
}

const READERS: usize = 4;

#[test]
fn kubernetes_updates_are_never_half_seen() {
    let test = "kubernetes_updates_are_never_half_seen";
    if child_scenario().is_some() {
        become_consumer();
        let km = Arc::new(open_mounted(&child_env(SOURCE_ENV), &OpenOptions::new()).unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(RaceCounters(Default::default()));
        let odd = Arc::new(Anomalies::default());
        let started = Instant::now();
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                let (km, stop, counts, odd) = (
                    Arc::clone(&km),
                    Arc::clone(&stop),
                    Arc::clone(&counts),
                    Arc::clone(&odd),
                );
                std::thread::spawn(move || race_reader(&km, &stop, &counts, &odd))
            })
            .collect();
        assert_eq!(pause("reading"), "stop");
        stop.store(true, Ordering::Relaxed);
        for reader in readers {
            reader.join().unwrap();
        }
        let figures: Vec<String> = RACE_COUNTERS
            .iter()
            .map(|name| format!("{name}={}", counts.get(name)))
            .collect();
        say(&format!(
            "figures {} readers={READERS} ms={}",
            figures.join(" "),
            started.elapsed().as_millis()
        ));
        let anomalies = odd.report();
        for line in anomalies.lines() {
            say(&format!("anomaly {line}"));
        }
        assert!(anomalies.is_empty(), "anomalies:\n{anomalies}");
        // Both sets were seen, by every kind of call.
        for name in [
            "get_a2",
            "get_b3",
            "tagged_v2",
            "tagged_v3",
            "verify_v3_ok",
            "verify_v3_unknown",
        ] {
            assert!(
                counts.get(name) > 0,
                "{name} never happened: {}",
                figures.join(" ")
            );
        }
        return;
    }
    if !root_or_skip(test) {
        return;
    }
    let long = std::env::var("CODOMYRMEX_LONG").is_ok_and(|v| v == "1");
    let run_for = Duration::from_secs(if long { 60 } else { 8 });
    let tmp = shared_tempdir();
    let (volume, _mount) = secret_volume(tmp.path(), test);
    let writer = AtomicWriter::new(&volume);
    let (a, b) = race_sets();
    let (a, b) = (files_of(&a), files_of(&b));
    writer.write(&borrowed(&a), 0o644, None).unwrap();
    let mut pod = consumer(test, "readers", &User::nobody(), &volume);
    pod.expect("reading");
    let started = Instant::now();
    let mut swaps = 0u64;
    while started.elapsed() < run_for {
        let next = if swaps.is_multiple_of(2) { &b } else { &a };
        assert!(writer.write(&borrowed(next), 0o644, None).unwrap().written);
        swaps += 1;
    }
    let elapsed = started.elapsed();
    pod.resume("stop");
    let figures = pod.expect("figures");
    println!(
        "{test}: {swaps} updates in {:.1} s ({:.0}/s) by the kubelet's steps; readers: {figures}",
        elapsed.as_secs_f64(),
        swaps as f64 / elapsed.as_secs_f64()
    );
    for line in pod.finish() {
        if let Some(anomaly) = line.strip_prefix("anomaly ") {
            println!("{test}: anomaly: {anomaly}");
        }
    }
    assert!(swaps >= 1000, "only {swaps} updates");
    // The writer left exactly one published state behind.
    let names = if swaps.is_multiple_of(2) {
        vec!["api.key", "api.key.v1", "db.key"]
    } else {
        vec!["api.key", "api.key.v1", "api.key.v2", "db.key"]
    };
    check_kubernetes_layout(&volume, &names, (mode_owner(&volume).0, 0o755, 0o644, 0));
}

// ---------------------------------------------------------------------------
// Docker and Compose secrets.

/// The secrets of the Docker and Compose tests.
fn container_keys() -> Vec<Fixture> {
    vec![
        Fixture::new("api", &[1, 2], "docker"),
        Fixture::new("db", &[1], "docker"),
    ]
}

/// The consumer of `/run/secrets`: every read, every write refused.
fn container_consumer() {
    become_consumer();
    let km = open_mounted(&child_env(SOURCE_ENV), &OpenOptions::new()).unwrap();
    let calls = check_reads(&km, &container_keys(), "absent") + check_writes_refused(&km, "api");
    say(&format!("checked {calls} calls"));
}

#[test]
fn docker_secrets_are_read_only_bind_mounts_of_a_tmpfs() {
    let test = "docker_secrets_are_read_only_bind_mounts_of_a_tmpfs";
    if child_scenario().is_some() {
        return container_consumer();
    }
    if !root_or_skip(test) {
        return;
    }
    if let Err(err) = private_mount_namespace() {
        println!("{test}: skipped: no mount namespace ({err})");
        return;
    }
    let tmp = shared_tempdir();
    // The daemon's secrets tmpfs (nodev,nosuid,noexec, root), each secret
    // written 0444 root, the tmpfs remounted read-only.
    let host = tmp.path().join("daemon-secrets");
    fs::create_dir(&host).unwrap();
    set_mode(&host, 0o700);
    let tmpfs = Mount::new(
        "tmpfs",
        &host,
        libc::MS_NODEV | libc::MS_NOSUID | libc::MS_NOEXEC,
        "uid=0,gid=0",
    )
    .unwrap();
    let files = files_of(&container_keys());
    let mut sources = Vec::new();
    for (name, bytes) in &files {
        sources.push(docker_secret_file(&host, name, bytes, 0, 0, 0o444).unwrap());
    }
    tmpfs
        .remount(
            libc::MS_NODEV | libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_RDONLY,
            "uid=0,gid=0",
        )
        .unwrap();
    // In the container: /run/secrets/<name>, each a read-only bind mount.
    let run_secrets = tmp.path().join("container-root/run/secrets");
    let mut binds = Vec::new();
    for ((name, _), source) in files.iter().zip(&sources) {
        binds.push(bind_secret_into_container(&run_secrets, name, source).unwrap());
    }
    assert_eq!(mode_owner(&run_secrets), (0o755, 0, 0));
    for (name, _) in &files {
        assert_eq!(mode_owner(&run_secrets.join(name)), (0o444, 0, 0), "{name}");
    }
    let mut app = consumer(test, "app", &User::nobody(), &run_secrets);
    println!("{test}: {}", app.expect("checked"));
    app.finish();
}

#[test]
fn compose_secrets_copied_into_the_container() {
    let test = "compose_secrets_copied_into_the_container";
    if child_scenario().is_some() {
        return container_consumer();
    }
    if !root_or_skip(test) {
        return;
    }
    // Compose copies a secret whose source is `environment:` into the
    // container as a plain file: /run/secrets 0755 root, the file with the
    // service's `mode` (default 0444), uid and gid (default 0).
    let tmp = shared_tempdir();
    let run_secrets = tmp.path().join("run/secrets");
    fs::create_dir_all(&run_secrets).unwrap();
    set_mode(&run_secrets, 0o755);
    for (name, bytes) in files_of(&container_keys()) {
        docker_secret_file(&run_secrets, &name, &bytes, 0, 0, 0o444).unwrap();
    }
    let before = snapshot(&run_secrets);
    let mut app = consumer(test, "app", &User::nobody(), &run_secrets);
    println!("{test}: {}", app.expect("checked"));
    app.finish();
    assert_eq!(
        snapshot(&run_secrets),
        before,
        "the consumer changed nothing"
    );
}

// ---------------------------------------------------------------------------
// systemd credentials.

/// The credentials of the systemd test: `LoadCredential=api.key:...`,
/// `LoadCredential=api.key.v1:...`.
fn credential_keys() -> Vec<Fixture> {
    vec![Fixture::new("api", &[1, 2], "systemd")]
}

#[test]
fn systemd_credentials_directory() {
    let test = "systemd_credentials_directory";
    if child_scenario().is_some() {
        let user = become_consumer();
        let km = open_mounted(&child_env(SOURCE_ENV), &OpenOptions::new()).unwrap();
        let calls =
            check_reads(&km, &credential_keys(), "absent") + check_writes_refused(&km, "api");
        say(&format!("checked {calls} calls as uid {}", user.uid));
        return;
    }
    if !root_or_skip(test) {
        return;
    }
    if let Err(err) = private_mount_namespace() {
        println!("{test}: skipped: no mount namespace ({err})");
        return;
    }
    let flags = libc::MS_NODEV | libc::MS_NOSUID | libc::MS_NOEXEC;
    // A service with `User=` (here 65534) on tmpfs (ACLs) and on ramfs (no
    // ACLs: ownership instead), and a service running as root.
    let cases = [
        (
            "tmpfs",
            "mode=0700,nr_inodes=1024,size=1m,noswap",
            Some((NOBODY, NOBODY)),
        ),
        ("ramfs", "mode=0700", Some((NOBODY, NOBODY))),
        ("tmpfs", "mode=0700,nr_inodes=1024,size=1m,noswap", None),
    ];
    for (fstype, options, service) in cases {
        let tmp = shared_tempdir();
        let dir = tmp.path().join("credentials/app.service");
        fs::create_dir_all(&dir).unwrap();
        set_mode(&dir, 0o700);
        let mount = match Mount::new(fstype, &dir, flags, options) {
            Ok(mount) => mount,
            Err(err) => {
                println!("{test}: {fstype} not available ({err}); case skipped");
                continue;
            }
        };
        let mut granted = Vec::new();
        for (name, bytes) in files_of(&credential_keys()) {
            granted.push(write_credential(&dir, &name, &bytes, service).unwrap());
        }
        granted.push(finalize_credentials_dir(&dir, service).unwrap());
        mount.remount(flags | libc::MS_RDONLY, "").unwrap();
        let access = granted[0];
        assert!(granted.iter().all(|g| *g == access), "{granted:?}");
        // What `stat` shows: an ACL's mask in the group bits.
        let (file_mode, dir_mode, owner) = match access {
            Access::Acl => (0o440, 0o550, 0),
            Access::Owner => (0o400, 0o500, NOBODY),
            Access::Root => (0o400, 0o500, 0),
        };
        assert_eq!(
            mode_owner(&dir),
            (dir_mode, owner, owner),
            "{fstype} {access:?}"
        );
        assert_eq!(
            mode_owner(&dir.join("api.key")),
            (file_mode, owner, owner),
            "{fstype} {access:?}"
        );
        let user = match service {
            Some((uid, gid)) => User {
                uid,
                gid,
                groups: Vec::new(),
            },
            None => User::root(),
        };
        let mut service = consumer(test, "service", &user, &dir);
        println!(
            "{test}: {fstype} ({access:?}): {}",
            service.expect("checked")
        );
        service.finish();
    }
}

// ---------------------------------------------------------------------------
// Vault Agent.

/// What Vault Agent renders: `api` (its current key and one older version,
/// two template stanzas).
fn vault_keys() -> Vec<Fixture> {
    vec![Fixture::new("api", &[1, 2], "vault")]
}

#[test]
fn vault_agent_output_is_trusted_only_by_name() {
    let test = "vault_agent_output_is_trusted_only_by_name";
    if child_scenario().is_some() {
        become_consumer();
        let dir = child_env(SOURCE_ENV);
        // Without naming the agent: refused, and the message says whom.
        let err = open_mounted(&dir, &OpenOptions::new()).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InsecurePermissions,
            "{}",
            err.message()
        );
        assert!(
            err.message().contains(dir.to_str().unwrap()) && err.message().contains("uid 1001"),
            "{}",
            err.message()
        );
        // Another uid trusted is no better.
        let err = open_mounted(&dir, &OpenOptions::new().trusted_uid(AGENT.0 + 1)).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InsecurePermissions,
            "{}",
            err.message()
        );
        // The agent's uid trusted: everything reads.
        let km = open_mounted(&dir, &OpenOptions::new().trusted_uid(AGENT.0)).unwrap();
        let calls = check_reads(&km, &vault_keys(), "absent") + check_writes_refused(&km, "api");
        say(&format!("checked {calls} calls"));
        // A re-render is seen by the next call, without reopening.
        assert_eq!(pause("render?"), "rendered");
        let after = vec![rotated(&vault_keys()[0], "vault-2")];
        let calls = check_reads(&km, &after, "absent");
        say(&format!("checked {calls} calls after the render"));
        return;
    }
    if !root_or_skip(test) {
        return;
    }
    let tmp = shared_tempdir();
    let dir = tmp.path().join("vault/secrets");
    // template { destination = ".../api.key" perms = "0640" backup = true }
    // Older versions first: each file is its own rename, and a current key
    // published before its older versions would be numbered too low.
    let render = |fixtures: &[Fixture]| {
        for (name, bytes) in files_of(fixtures).into_iter().rev() {
            vault_render(&dir.join(name), &bytes, 0o640, true, AGENT).unwrap();
        }
    };
    render(&vault_keys());
    assert_eq!(mode_owner(&dir), (0o755, AGENT.0, AGENT.1));
    assert_eq!(mode_owner(&dir.join("api.key")), (0o640, AGENT.0, AGENT.1));
    // The application's user is in the agent's group, which the 0640
    // files are readable by.
    let app = User::nobody().with_groups(&[AGENT.1]);
    let mut consumer = consumer(test, "app", &app, &dir);
    println!("{test}: {}", consumer.expect("checked"));
    consumer.expect("render?");
    render(&[rotated(&vault_keys()[0], "vault-2")]);
    // The backups (`api.key.bak`, a hard link of the previous file) are
    // there and ignored.
    assert!(dir.join("api.key.bak").exists());
    consumer.resume("rendered");
    println!("{test}: {}", consumer.expect("checked"));
    consumer.finish();
}

// ---------------------------------------------------------------------------
// A read-only bind mount.

#[test]
fn read_only_bind_mount_as_root() {
    let test = "read_only_bind_mount_as_root";
    if !root_or_skip(test) {
        return;
    }
    if let Err(err) = private_mount_namespace() {
        println!("{test}: skipped: no mount namespace ({err})");
        return;
    }
    // A private key directory made by this library (0700, files 0600,
    // older versions kept its own way), mounted read-only elsewhere, as
    // `docker run -v /srv/keys:/keys:ro` does.
    let tmp = shared_tempdir();
    let private = tmp.path().join("srv-keys");
    let km = KeyManager::open(&private).unwrap();
    let v: Vec<Vec<u8>> = (1..=3)
        .map(|n| format!("bind:v{n}:{:0>26}", n).into_bytes())
        .collect();
    km.store("api", &v[0]).unwrap();
    km.rotate("api", &v[1]).unwrap();
    km.rotate("api", &v[2]).unwrap();
    drop(km);
    let keys = tmp.path().join("keys");
    fs::create_dir(&keys).unwrap();
    let _bind = Mount::bind_read_only(&private, &keys).unwrap();
    let before = snapshot(&private);

    // As a private directory, read-only: every version, every write refused.
    let km = KeyManager::open_with(
        &Location::Dir(keys.clone()),
        &OpenOptions::new().read_only(true),
    )
    .unwrap();
    let key = km.key("api").unwrap();
    assert_eq!(km.get("api").unwrap().as_bytes(), v[2]);
    assert_eq!(key.current_version().unwrap().get(), 3);
    for (n, bytes) in (1u32..).zip(&v) {
        let at = key.at(Version::Number(NonZeroU32::new(n).unwrap()));
        assert_eq!(at.get().unwrap().as_bytes(), bytes.as_slice(), "v{n}");
        key.hmac_verify_tagged(HashAlg::Sha256, DATA, &tag_with(n, bytes, DATA))
            .unwrap();
    }
    check_writes_refused(&km, "api");

    // Opened for writing, on a read-only file system: it opens, and the
    // kernel refuses each write, with the errno in the error.
    let writable = KeyManager::open(&keys).unwrap();
    let err = writable.rotate("api", &[9; 32]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{}", err.message());
    assert_eq!(err.os_error(), Some(libc::EROFS), "{}", err.message());
    assert!(err.message().contains("EROFS"), "{}", err.message());
    drop(writable);

    // As a mounted source: the current key; the private directory's
    // older versions are not `<id>.key.v<N>` files, so it has none.
    let km = open_mounted(&keys, &OpenOptions::new()).unwrap();
    assert_eq!(km.get("api").unwrap().as_bytes(), v[2]);
    assert_eq!(km.list().unwrap(), ["api"]);
    assert_eq!(km.key("api").unwrap().current_version().unwrap().get(), 1);
    check_writes_refused(&km, "api");
    assert_eq!(snapshot(&private), before, "nothing changed");
}

// ---------------------------------------------------------------------------
// Hostile layouts.

/// One hostile (or, for controls, honest) source: its directory's name, how
/// it is built, which call refuses it, and how.
struct Case {
    name: &'static str,
    build: fn(&Path),
    expect: Expect,
}

enum Expect {
    /// Every read of `api` works.
    Works,
    /// Opening the source fails with this kind, naming this path (relative
    /// to the case's directory; "" is the directory itself).
    OpenFails(ErrorKind, &'static str),
    /// Reading `api` fails with this kind, naming this path.
    GetFails(ErrorKind, &'static str),
    /// `api` reads, but its version 1 fails with this kind, naming this path.
    VersionFails(ErrorKind, &'static str),
}

const GOOD: &[u8] = b"an honest key of thirty-two bytes";

fn file(path: &Path, bytes: &[u8], mode: u32, uid: u32, gid: u32) {
    fs::write(path, bytes).unwrap();
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    set_mode(path, mode);
}

fn dir(path: &Path, mode: u32) {
    fs::create_dir_all(path).unwrap();
    set_mode(path, mode);
}

/// A Kubernetes-like layout whose `..data` leads to `target`.
fn data_link(source: &Path, target: &Path) {
    symlink(target, source.join("..data")).unwrap();
    symlink("..data/api.key", source.join("api.key")).unwrap();
}

fn hostile_cases() -> Vec<Case> {
    use ErrorKind::{Corrupt, InsecurePermissions as Insecure};
    vec![
        Case {
            name: "control-plain",
            build: |d| file(&d.join("api.key"), GOOD, 0o644, 0, 0),
            expect: Expect::Works,
        },
        Case {
            name: "control-kubernetes",
            build: |d| {
                dir(&d.join("..2024_01_01_00_00_00.1"), 0o755);
                file(
                    &d.join("..2024_01_01_00_00_00.1/api.key"),
                    GOOD,
                    0o644,
                    0,
                    0,
                );
                data_link(d, Path::new("..2024_01_01_00_00_00.1"));
            },
            expect: Expect::Works,
        },
        Case {
            name: "control-sticky-subdirectory",
            build: |d| {
                dir(&d.join("shared"), 0o1777);
                file(&d.join("shared/api.key"), GOOD, 0o644, 0, 0);
                symlink("shared/api.key", d.join("api.key")).unwrap();
            },
            expect: Expect::Works,
        },
        Case {
            name: "link-to-etc-shadow",
            build: |d| symlink("/etc/shadow", d.join("api.key")).unwrap(),
            expect: Expect::GetFails(Insecure, "api.key"),
        },
        Case {
            name: "link-out-by-dotdot",
            build: |d| {
                file(&d.join("../outside.key"), GOOD, 0o644, 0, 0);
                symlink("../outside.key", d.join("api.key")).unwrap();
            },
            expect: Expect::GetFails(Insecure, "api.key"),
        },
        Case {
            name: "link-to-dotdot",
            build: |d| symlink("..", d.join("api.key")).unwrap(),
            expect: Expect::GetFails(Insecure, "api.key"),
        },
        Case {
            name: "absolute-link-inside",
            build: |d| {
                file(&d.join("real.bin"), GOOD, 0o644, 0, 0);
                symlink(d.join("real.bin"), d.join("api.key")).unwrap();
            },
            expect: Expect::GetFails(Insecure, "api.key"),
        },
        Case {
            name: "symlink-loop",
            build: |d| {
                symlink("b.key", d.join("api.key")).unwrap();
                symlink("api.key", d.join("b.key")).unwrap();
            },
            expect: Expect::GetFails(Insecure, "api.key"),
        },
        Case {
            name: "data-link-outside",
            build: |d| {
                let elsewhere = d.parent().unwrap().join("elsewhere");
                dir(&elsewhere, 0o755);
                file(&elsewhere.join("api.key"), GOOD, 0o644, 0, 0);
                data_link(d, Path::new("../elsewhere"));
            },
            expect: Expect::GetFails(Insecure, "..data"),
        },
        Case {
            name: "data-link-absolute",
            build: |d| {
                dir(&d.join("..2024_01_01_00_00_00.1"), 0o755);
                file(
                    &d.join("..2024_01_01_00_00_00.1/api.key"),
                    GOOD,
                    0o644,
                    0,
                    0,
                );
                data_link(d, &d.join("..2024_01_01_00_00_00.1"));
            },
            expect: Expect::GetFails(Insecure, "..data"),
        },
        Case {
            name: "version-link-to-etc-shadow",
            build: |d| {
                file(&d.join("api.key"), GOOD, 0o644, 0, 0);
                symlink("/etc/shadow", d.join("api.key.v1")).unwrap();
            },
            expect: Expect::VersionFails(Insecure, "api.key.v1"),
        },
        Case {
            name: "file-0666",
            build: |d| file(&d.join("api.key"), GOOD, 0o666, 0, 0),
            expect: Expect::GetFails(Insecure, "api.key"),
        },
        Case {
            name: "file-group-writable",
            build: |d| file(&d.join("api.key"), GOOD, 0o664, 0, FS_GROUP),
            expect: Expect::GetFails(Insecure, "api.key"),
        },
        Case {
            name: "file-of-an-untrusted-user",
            build: |d| file(&d.join("api.key"), GOOD, 0o644, 1234, 1234),
            expect: Expect::GetFails(Insecure, "api.key"),
        },
        Case {
            name: "timestamped-dir-writable-by-others",
            build: |d| {
                dir(&d.join("..2024_01_01_00_00_00.1"), 0o777);
                file(
                    &d.join("..2024_01_01_00_00_00.1/api.key"),
                    GOOD,
                    0o644,
                    0,
                    0,
                );
                data_link(d, Path::new("..2024_01_01_00_00_00.1"));
            },
            expect: Expect::GetFails(Insecure, "..data"),
        },
        Case {
            name: "link-into-a-dir-writable-by-others",
            build: |d| {
                dir(&d.join("shared"), 0o777);
                file(&d.join("shared/api.key"), GOOD, 0o644, 0, 0);
                symlink("shared/api.key", d.join("api.key")).unwrap();
            },
            expect: Expect::GetFails(Insecure, "shared"),
        },
        Case {
            name: "source-writable-by-others",
            build: |d| {
                file(&d.join("api.key"), GOOD, 0o644, 0, 0);
                set_mode(d, 0o777);
            },
            expect: Expect::OpenFails(Insecure, ""),
        },
        Case {
            name: "source-of-an-untrusted-user",
            build: |d| {
                file(&d.join("api.key"), GOOD, 0o644, 0, 0);
                std::os::unix::fs::chown(d, Some(1234), Some(1234)).unwrap();
            },
            expect: Expect::OpenFails(Insecure, ""),
        },
        Case {
            name: "fifo",
            build: |d| mounted_support::mkfifo(&d.join("api.key"), 0o644),
            expect: Expect::GetFails(Corrupt, "api.key"),
        },
        Case {
            name: "directory",
            build: |d| dir(&d.join("api.key"), 0o755),
            expect: Expect::GetFails(Corrupt, "api.key"),
        },
        Case {
            name: "empty",
            build: |d| file(&d.join("api.key"), b"", 0o644, 0, 0),
            expect: Expect::GetFails(Corrupt, "api.key"),
        },
        Case {
            name: "over-64-kib",
            build: |d| file(&d.join("api.key"), &vec![1; 65537], 0o644, 0, 0),
            expect: Expect::GetFails(Corrupt, "api.key"),
        },
    ]
}

/// Checks every case under `base`; returns a line per case.
fn check_hostile(base: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for case in hostile_cases() {
        let source = base.join(case.name).join("source");
        let (kind, named, result) = match case.expect {
            Expect::Works => {
                let km = open_mounted(&source, &OpenOptions::new()).unwrap();
                assert_eq!(km.get("api").unwrap().as_bytes(), GOOD, "{}", case.name);
                assert_eq!(km.list().unwrap(), ["api"], "{}", case.name);
                lines.push(format!("{}: works", case.name));
                continue;
            }
            Expect::OpenFails(kind, named) => (
                kind,
                named,
                open_mounted(&source, &OpenOptions::new()).map(drop),
            ),
            Expect::GetFails(kind, named) => {
                let km = open_mounted(&source, &OpenOptions::new()).unwrap();
                (kind, named, km.get("api").map(drop))
            }
            Expect::VersionFails(kind, named) => {
                let km = open_mounted(&source, &OpenOptions::new()).unwrap();
                assert_eq!(km.get("api").unwrap().as_bytes(), GOOD, "{}", case.name);
                let key = km.key("api").unwrap();
                let v1 = key.at(Version::Number(NonZeroU32::new(1).unwrap()));
                (kind, named, v1.get().map(drop))
            }
        };
        let message = expect_err(result, kind, case.name);
        let path = match named {
            "" => source.clone(),
            named => source.join(named),
        };
        assert!(
            message.contains(&format!("'{}", path.display())),
            "{}: the message names {}: {message}",
            case.name,
            path.display()
        );
        lines.push(format!("{}: {kind:?}: {message}", case.name));
    }
    lines
}

#[test]
fn hostile_layouts_are_refused() {
    let test = "hostile_layouts_are_refused";
    if child_scenario().is_some() {
        become_consumer();
        let lines = within(Duration::from_secs(30), move || {
            check_hostile(&child_env(SOURCE_ENV))
        });
        say(&format!("checked {} cases", lines.len()));
        return;
    }
    if !root_or_skip(test) {
        return;
    }
    let tmp = shared_tempdir();
    for case in hostile_cases() {
        let source = tmp.path().join(case.name).join("source");
        dir(&source, 0o755);
        set_mode(source.parent().unwrap(), 0o755);
        (case.build)(&source);
    }
    // As root (who can read everything: a refusal is the library's), then
    // as uid 65534. Within a time limit: the FIFO must not block.
    let base = tmp.path().to_path_buf();
    for line in within(Duration::from_secs(30), move || check_hostile(&base)) {
        println!("{test}: {line}");
    }
    let mut nobody = consumer(test, "nobody", &User::nobody(), tmp.path());
    println!("{test}: as uid 65534: {}", nobody.expect("checked"));
    nobody.finish();
}

/// Runs `work` on another thread; fails if it takes longer than `limit`.
fn within<T: Send + 'static>(limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(work()));
    match receiver.recv_timeout(limit) {
        Ok(value) => value,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("still running after {limit:?}"),
        Err(_) => panic!("failed (see the panic above)"),
    }
}

// ---------------------------------------------------------------------------
// The errno behind an IO failure.

#[test]
fn os_errors_reach_both_apis() {
    let test = "os_errors_reach_both_apis";
    if child_scenario().is_some() {
        become_consumer();
        let source = child_env(SOURCE_ENV);
        let err = open_mounted(&source, &OpenOptions::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io, "{}", err.message());
        assert_eq!(err.os_error(), Some(libc::EACCES), "{}", err.message());
        assert!(
            err.message().contains(source.to_str().unwrap()),
            "{}",
            err.message()
        );
        let (status, errno) = c_get(&format!("mounted:{}", source.display()), "api");
        assert_eq!(
            (status, errno),
            (codomyrmex_status::CODOMYRMEX_ERR_IO, libc::EACCES)
        );
        say("EACCES");
        return;
    }
    let tmp = shared_tempdir();
    // A source that does not exist, and one that is a file.
    let missing = tmp.path().join("missing");
    let err = open_mounted(&missing, &OpenOptions::new()).unwrap_err();
    assert_eq!(
        (err.kind(), err.os_error()),
        (ErrorKind::Io, Some(libc::ENOENT))
    );
    assert!(
        err.message().contains(missing.to_str().unwrap()),
        "{}",
        err.message()
    );
    let (status, errno) = c_get(&format!("mounted:{}", missing.display()), "api");
    assert_eq!(
        (status, errno),
        (codomyrmex_status::CODOMYRMEX_ERR_IO, libc::ENOENT)
    );
    let not_dir = tmp.path().join("a-file");
    fs::write(&not_dir, b"x").unwrap();
    let (status, errno) = c_get(&format!("mounted:{}", not_dir.display()), "api");
    assert_eq!(
        (status, errno),
        (codomyrmex_status::CODOMYRMEX_ERR_IO, libc::ENOTDIR)
    );
    // A failure with no errno behind it resets it to 0.
    let (status, errno) = c_get("vault:/somewhere", "api");
    assert_eq!(
        (status, errno),
        (codomyrmex_status::CODOMYRMEX_ERR_INVALID_ARGUMENT, 0)
    );
    // A source its consumer may not read (0700, root's).
    if !root_or_skip(test) {
        return;
    }
    let source = tmp.path().join("private");
    dir(&source, 0o700);
    file(&source.join("api.key"), GOOD, 0o644, 0, 0);
    let mut nobody = consumer(test, "nobody", &User::nobody(), &source);
    nobody.expect("EACCES");
    nobody.finish();
}
