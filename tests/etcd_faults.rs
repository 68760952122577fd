//! The etcd source under load and faults, on real 3-member clusters:
//! 4 processes × 4 threads rotating, staging, promoting and pruning the
//! same keys (with and without a member killed meanwhile), a cluster
//! without quorum, and writers killed with SIGKILL in mid-transaction.
//!
//! Workers are this test binary run again in child processes (see
//! `common::child_command`); they write what they did to a log, and the
//! parent checks the logs against what etcd holds afterwards.

mod common;
mod etcd_support;

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, Location, OpenOptions, Version};
use common::{Rng, check_child, child_command, child_scenario, to_hex};
use etcd_support::proxy::{Loss, LossyProxy};
use etcd_support::{Cluster, bounded, prefix};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The keys every worker writes.
const KEYS: [&str; 2] = ["fleet-a", "fleet-b"];

/// Processes and threads per process of the load.
const PROCESSES: usize = 4;
const THREADS: usize = 4;

/// Environment of a worker process.
const LOCATION_ENV: &str = "ETCD_FAULTS_LOCATION";
const SECONDS_ENV: &str = "ETCD_FAULTS_SECONDS";
const LOG_ENV: &str = "ETCD_FAULTS_LOG";
const WORKER_ENV: &str = "ETCD_FAULTS_WORKER";

/// Milliseconds since the epoch, to place a worker's operations in time.
fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// A unique key for `worker`, `thread`, operation `seq`: 32 bytes that say
/// who made them.
fn unique_key(worker: usize, thread: usize, seq: usize) -> Vec<u8> {
    let mut key = format!("w{worker}-t{thread}-n{seq}-").into_bytes();
    key.resize(32, b'.');
    key
}

fn unhex(text: &str) -> Vec<u8> {
    common::hex(text)
}

fn worker_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// The key manager a worker opens.
fn worker_manager() -> KeyManager {
    let location = Location::parse(worker_env(LOCATION_ENV)).unwrap();
    let options = OpenOptions::new().timeout(Duration::from_secs(5));
    KeyManager::open_with(&location, &options).unwrap()
}

/// One operation of the load on one of [`KEYS`]; returns the log line of
/// what it did, if anything.
fn one_operation(km: &KeyManager, rng: &mut Rng, ids: (usize, usize, usize)) -> Option<String> {
    let (worker, thread, seq) = ids;
    let id = *rng.pick(&KEYS);
    let at = now_ms();
    let line = match rng.below(100) {
        0..40 => {
            let new = unique_key(worker, thread, seq);
            let old = km.rotate(id, &new).map(|old| old.expect("the key exists"));
            old.map(|old| format!("rotate {id} {} {} {at}", to_hex(&new), to_hex(&old)))
        }
        40..50 => {
            let new = unique_key(worker, thread, seq);
            km.stage(id, &new)
                .map(|version| format!("stage {id} {version} {} {at}", to_hex(&new)))
        }
        50..70 => {
            // Staged, then promoted at once if no rotation went past it.
            let new = unique_key(worker, thread, seq);
            km.stage(id, &new).map(|version| {
                let staged = format!("stage {id} {version} {} {at}", to_hex(&new));
                match km.promote(id, version) {
                    Ok(()) => format!("{staged}\npromote {id} {version} {at}"),
                    // A rotation went past it, another writer promoted it,
                    // or a prune after such a rotation removed it.
                    Err(err)
                        if matches!(
                            err.kind(),
                            ErrorKind::NotFound | ErrorKind::InvalidArgument
                        ) =>
                    {
                        staged
                    }
                    Err(err) => format!("{staged}\nerror {id} {:?} {}", err.kind(), err.message()),
                }
            })
        }
        70..80 => {
            // The newest staged version above the current one, whoever staged it.
            let versions = km.key(id).unwrap().versions();
            let version = versions.map(|v| v.staged.into_iter().rfind(|&s| s > v.current));
            match version {
                Ok(Some(version)) => match km.promote(id, version) {
                    Ok(()) => Ok(format!("promote {id} {version} {at}")),
                    // Promoted or pruned by another writer, or a rotation
                    // went past it, since it was read.
                    Err(err)
                        if matches!(
                            err.kind(),
                            ErrorKind::NotFound | ErrorKind::InvalidArgument
                        ) =>
                    {
                        return None;
                    }
                    Err(err) => Err(err),
                },
                Ok(None) => return None,
                Err(err) => Err(err),
            }
        }
        80..85 => km
            .prune(id, NonZeroU32::new(5).unwrap())
            .map(|()| format!("prune {id} {at}")),
        _ => {
            let data = format!("data {worker} {thread} {seq}").into_bytes();
            let key = km.key(id).unwrap();
            key.hmac_tagged(HashAlg::Sha256, &data).and_then(|tag| {
                let verified = key.hmac_verify_tagged(HashAlg::Sha256, &data, tag.as_bytes());
                // A failure is allowed only if the version was pruned meanwhile.
                let outcome = match verified {
                    Ok(()) => "verified",
                    Err(_) if !key_has(km, id, tag.version()) => "pruned",
                    Err(err) => return Err(err),
                };
                let (tag, data) = (to_hex(tag.as_bytes()), to_hex(&data));
                Ok(format!("tag {id} {tag} {data} {outcome} {at}"))
            })
        }
    };
    Some(line.unwrap_or_else(|err| format!("error {id} {:?} {}", err.kind(), err.message())))
}

/// Whether `id` still has version `version`.
fn key_has(km: &KeyManager, id: &str, version: u32) -> bool {
    let versions = km.key(id).unwrap().versions().unwrap();
    versions.all().iter().any(|v| v.get() == version)
}

/// A worker process of the load: [`THREADS`] threads run operations until
/// the time is up, then the log is written.
#[test]
#[ignore = "a worker process of the load tests"]
fn load_worker() {
    if child_scenario().as_deref() != Some("load") {
        return;
    }
    let worker: usize = worker_env(WORKER_ENV).parse().unwrap();
    let until = Instant::now() + Duration::from_secs_f64(worker_env(SECONDS_ENV).parse().unwrap());
    let km = Arc::new(worker_manager());
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let km = Arc::clone(&km);
            std::thread::spawn(move || {
                let mut rng = Rng::new((worker * 100 + thread) as u64 ^ now_ms() as u64);
                let mut lines = Vec::new();
                let mut seq = 0;
                while Instant::now() < until {
                    seq += 1;
                    lines.extend(one_operation(&km, &mut rng, (worker, thread, seq)));
                }
                lines
            })
        })
        .collect();
    let mut log = String::new();
    for thread in threads {
        for line in thread.join().unwrap() {
            log.push_str(&line);
            log.push('\n');
        }
    }
    std::fs::write(worker_env(LOG_ENV), log).unwrap();
}

/// A rotation as a worker saw it: the new key, the key it replaced, and
/// when it returned (milliseconds since the epoch).
type Rotation = (Vec<u8>, Vec<u8>, u128);

/// What the workers of one load did.
#[derive(Default)]
struct Logs {
    /// Per key: every rotation.
    rotations: BTreeMap<String, Vec<Rotation>>,
    /// Per key: version → bytes of every stage.
    stages: BTreeMap<String, HashMap<u32, Vec<u8>>>,
    /// Per key: the versions promoted.
    promotes: BTreeMap<String, Vec<u32>>,
    /// (key, tag, data) of every tagged MAC made.
    tags: Vec<(String, Vec<u8>, Vec<u8>)>,
    /// Tagged MACs that verified right after they were made.
    verified_at_once: usize,
    /// Every unexpected error.
    errors: Vec<String>,
    /// Operations done, all kinds.
    operations: usize,
}

impl Logs {
    fn read(paths: &[PathBuf]) -> Logs {
        let mut logs = Logs::default();
        for path in paths {
            for line in std::fs::read_to_string(path).unwrap().lines() {
                // One operation may log two lines (a stage and its promote).
                logs.add(line);
            }
        }
        logs
    }

    fn add(&mut self, line: &str) {
        self.operations += 1;
        let fields: Vec<&str> = line.split(' ').collect();
        let id = fields[1].to_owned();
        match fields[0] {
            "rotate" => self.rotations.entry(id).or_default().push((
                unhex(fields[2]),
                unhex(fields[3]),
                fields[4].parse().unwrap(),
            )),
            "stage" => {
                let version = fields[2].parse().unwrap();
                self.stages
                    .entry(id)
                    .or_default()
                    .insert(version, unhex(fields[3]));
            }
            "promote" => self
                .promotes
                .entry(id)
                .or_default()
                .push(fields[2].parse().unwrap()),
            "tag" => {
                self.verified_at_once += usize::from(fields[4] == "verified");
                self.tags.push((id, unhex(fields[2]), unhex(fields[3])));
            }
            "prune" => {}
            _ => self.errors.push(line.to_owned()),
        }
    }

    /// Rotations finished in `[from, to)` (milliseconds since the epoch).
    fn rotations_between(&self, from: u128, to: u128) -> usize {
        let all = self.rotations.values().flatten();
        all.filter(|(_, _, at)| (from..to).contains(at)).count()
    }
}

/// Runs the load for `seconds` in [`PROCESSES`] processes on `location`;
/// `during` runs in this process meanwhile. Returns the logs.
fn run_load(location: &str, seconds: f64, during: impl FnOnce()) -> Logs {
    let logs_dir = tempfile::tempdir().unwrap();
    let mut children = Vec::new();
    let mut paths = Vec::new();
    for worker in 0..PROCESSES {
        let path = logs_dir.path().join(format!("worker-{worker}.log"));
        let child = child_command("load_worker", "load")
            .env(LOCATION_ENV, location)
            .env(SECONDS_ENV, seconds.to_string())
            .env(LOG_ENV, &path)
            .env(WORKER_ENV, worker.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        children.push(child);
        paths.push(path);
    }
    during();
    for child in children {
        let output = child.wait_with_output().unwrap();
        check_child("load_worker", "load", &output);
    }
    Logs::read(&paths)
}

/// Creates [`KEYS`] with known first keys; returns them.
fn create_keys(km: &KeyManager) -> HashMap<String, Vec<u8>> {
    KEYS.iter()
        .map(|&id| {
            let first = format!("{id}-first-key-.................").into_bytes();
            km.create(id, &first).unwrap();
            (id.to_owned(), first)
        })
        .collect()
}

/// Checks the load's logs against what etcd holds: per key, every key that
/// was current was replaced exactly once (by a rotation that returned it,
/// or by a promote), no rotation returned a key twice, every version
/// number handed out is accounted for, and every tagged MAC whose version
/// is kept verifies.
fn check_chains(km: &KeyManager, first: &HashMap<String, Vec<u8>>, logs: &Logs) {
    assert!(
        logs.errors.is_empty(),
        "unexpected errors: {:#?}",
        &logs.errors[..logs.errors.len().min(10)]
    );
    for &id in &KEYS {
        let rotations = logs.rotations.get(id).map_or(&[][..], Vec::as_slice);
        let promoted = logs.promotes.get(id).map_or(&[][..], Vec::as_slice);
        let stages = logs.stages.get(id).cloned().unwrap_or_default();
        let mut ever_current: HashSet<Vec<u8>> = HashSet::from([first[id].clone()]);
        ever_current.extend(rotations.iter().map(|(new, _, _)| new.clone()));
        for version in promoted {
            ever_current.insert(stages[version].clone());
        }
        let mut replaced = HashSet::new();
        for (_, old, _) in rotations {
            assert!(
                ever_current.contains(old),
                "{id}: a rotation returned a key that was never current"
            );
            assert!(
                replaced.insert(old.clone()),
                "{id}: two rotations returned the same key (one was lost)"
            );
        }
        let current = km.get(id).unwrap().as_bytes().to_vec();
        assert!(ever_current.contains(&current) && !replaced.contains(&current));
        let by_promote = ever_current.len() - 1 - replaced.len();
        assert_eq!(
            by_promote,
            promoted.len(),
            "{id}: keys replaced without a rotation returning them"
        );
        let versions = km.key(id).unwrap().versions().unwrap();
        let highest = versions.all().last().unwrap().get() as usize;
        assert_eq!(
            highest,
            1 + rotations.len() + stages.len(),
            "{id}: version numbers handed out"
        );
        eprintln!(
            "{id}: {} rotations, {} stages, {} promotes; versions now {:?}",
            rotations.len(),
            stages.len(),
            promoted.len(),
            versions.all()
        );
    }
    let mut verified = 0;
    for (id, tag, data) in &logs.tags {
        let version = u32::from_be_bytes(tag[1..5].try_into().unwrap());
        let key = km.key(id).unwrap();
        if key
            .versions()
            .unwrap()
            .all()
            .iter()
            .any(|v| v.get() == version)
        {
            key.hmac_verify_tagged(HashAlg::Sha256, data, tag).unwrap();
            verified += 1;
        }
    }
    eprintln!(
        "{} tagged MACs made, {} verified at once (the others' version was pruned first), \
         {verified} still kept at the end and verified",
        logs.tags.len(),
        logs.verified_at_once
    );
}

/// 4 processes × 4 threads on the same two keys for 8 s: one unbroken
/// chain per key, nothing lost.
#[test]
fn concurrent_writers_keep_one_chain_per_key() {
    let cluster = Cluster::start(&[]);
    let prefix = prefix("load");
    let km = cluster.open(&prefix, Duration::from_secs(5));
    let first = create_keys(&km);
    let location = cluster.location(&prefix).to_string();
    let started = Instant::now();
    let logs = run_load(&location, 8.0, || {});
    eprintln!(
        "{} operations by {PROCESSES}×{THREADS} writers in {:?}",
        logs.operations,
        started.elapsed()
    );
    check_chains(&km, &first, &logs);
}

/// The same load with one member killed (SIGKILL) after 2 s and restarted
/// after 5 s: work goes on while it is down, and nothing is lost.
#[test]
fn one_member_killed_during_the_load_loses_nothing() {
    let cluster = Cluster::start(&[]);
    let prefix = prefix("one-down");
    let km = cluster.open(&prefix, Duration::from_secs(5));
    let first = create_keys(&km);
    let location = cluster.location(&prefix).to_string();
    let window = Mutex::new((0, 0));
    let logs = run_load(&location, 8.0, || {
        std::thread::sleep(Duration::from_secs(2));
        cluster.member("kill-member", 1);
        let down = now_ms();
        std::thread::sleep(Duration::from_secs(3));
        cluster.member("restart-member", 1);
        *window.lock().unwrap() = (down, now_ms());
    });
    let (down, up) = *window.lock().unwrap();
    let while_down = logs.rotations_between(down, up);
    eprintln!(
        "{} operations; {while_down} rotations while member 1 was down ({} ms)",
        logs.operations,
        up - down
    );
    assert!(
        while_down > 0,
        "no rotation finished while one member was down"
    );
    check_chains(&km, &first, &logs);
}

/// What a writer that rotates without pause saw: (new key, the key it
/// replaced or the error message, how long the call took).
type Attempt = (Vec<u8>, Result<Vec<u8>, String>, Duration);

/// Rotates "k" without pause until `stop`; returns every attempt.
fn rotate_until(km: Arc<KeyManager>, stop: Arc<std::sync::atomic::AtomicBool>) -> Vec<Attempt> {
    let mut attempts = Vec::new();
    for i in 0.. {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let new = format!("background rotation {i}").into_bytes();
        let started = Instant::now();
        let result = km.rotate("k", &new);
        let result = result
            .map(|old| old.expect("the key exists").as_bytes().to_vec())
            .map_err(|err| err.message().to_owned());
        attempts.push((new, result, started.elapsed()));
    }
    attempts
}

/// Two of three members killed while a writer rotates without pause and
/// other calls start: every call fails with `Io` within its timeout (1 s;
/// a write reads, then commits: at most twice that), none hangs, none
/// reports a change that was not applied, and a failed one that was
/// applied says it may have been. Once the members are back, the same key
/// manager works again, and the successful rotations form one chain.
#[test]
fn calls_without_quorum_fail_within_the_timeout_then_recover() {
    let cluster = Cluster::start(&[]);
    let km = Arc::new(cluster.open(&prefix("quorum"), Duration::from_millis(1000)));
    km.create("k", b"before the fault").unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (km, stop) = (Arc::clone(&km), Arc::clone(&stop));
        std::thread::spawn(move || rotate_until(km, stop))
    };
    std::thread::sleep(Duration::from_millis(300));
    cluster.member("kill-member", 1);
    cluster.member("kill-member", 2);
    let calls: Vec<_> = (0..8)
        .map(|call| {
            let km = Arc::clone(&km);
            std::thread::spawn(move || {
                bounded(Duration::from_secs(10), move || {
                    let started = Instant::now();
                    let new = format!("attempted during the fault {call}").into_bytes();
                    let result = match call % 4 {
                        0 => km.stage("k", &new).map(drop),
                        1 => km.prune("k", NonZeroU32::MIN).map(drop),
                        2 => km.get("k").map(drop),
                        _ => km.list().map(drop),
                    };
                    (result, started.elapsed())
                })
            })
        })
        .collect();
    for call in calls {
        let (result, took) = call.join().unwrap();
        let err = result.expect_err("a call succeeded without quorum");
        assert_eq!(err.kind(), ErrorKind::Io, "{err}");
        assert!(
            took < Duration::from_millis(2500),
            "a call took {took:?}: {err}"
        );
    }
    // A few more of the writer's rotations fail meanwhile.
    std::thread::sleep(Duration::from_secs(2));
    cluster.member("restart-member", 1);
    cluster.member("restart-member", 2);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let attempts = writer.join().unwrap();
    check_rotations_across_the_fault(&km, &attempts);
}

/// The attempts of [`rotate_until`] against what "k" holds: the keys
/// rotations returned form one chain from the first key to the current
/// one; a key that only a failed rotation wrote is in it only if that
/// failure said it may have been applied.
fn check_rotations_across_the_fault(km: &KeyManager, attempts: &[Attempt]) {
    let failed: Vec<&Attempt> = attempts.iter().filter(|a| a.1.is_err()).collect();
    let slowest = failed.iter().map(|a| a.2).max().unwrap_or_default();
    assert!(
        !failed.is_empty(),
        "no rotation failed while there was no quorum"
    );
    assert!(
        slowest < Duration::from_millis(2500),
        "a rotation took {slowest:?}"
    );
    let mut successor: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    for (new, result, _) in attempts {
        if let Ok(old) = result {
            assert!(
                successor.insert(old.clone(), new.clone()).is_none(),
                "a key replaced twice"
            );
        }
    }
    // Follow the chain from the first key; a step no successful rotation
    // explains must be a failed one that said it may have been applied.
    let failures: HashMap<&[u8], &str> = failed
        .iter()
        .map(|(new, result, _)| (&new[..], result.as_ref().unwrap_err().as_str()))
        .collect();
    let current = km.get("k").unwrap().as_bytes().to_vec();
    let mut key = b"before the fault".to_vec();
    let mut unknown_applied = 0;
    for _ in 0..=attempts.len() {
        if key == current {
            break;
        }
        key = match successor.get(&key) {
            Some(next) => next.clone(),
            None => {
                let applied = failures
                    .iter()
                    .find(|(new, _)| successor.contains_key(**new) || current == **new)
                    .map(|(new, message)| (new.to_vec(), *message));
                let (new, message) = applied.expect("the chain breaks: a rotation was lost");
                assert!(
                    message.contains("may"),
                    "applied but reported failed: {message}"
                );
                unknown_applied += 1;
                new
            }
        };
    }
    assert_eq!(key, current, "the chain does not reach the current key");
    let done = attempts.len() - failed.len();
    eprintln!(
        "{} rotations: {done} succeeded, {} failed with IO (slowest {slowest:?}), {unknown_applied} of \
         those applied and saying so; the chain is whole",
        attempts.len(),
        failed.len()
    );
}

/// A worker killed with SIGKILL at a random instant: rotations, stages,
/// promotes and prunes of one key, each logged once it returned.
#[test]
#[ignore = "a worker process of the SIGKILL test"]
fn killable_worker() {
    if child_scenario().as_deref() != Some("killable") {
        return;
    }
    let km = worker_manager();
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(worker_env(LOG_ENV))
        .unwrap();
    let mut rng = Rng::new(now_ms() as u64);
    let key = km.key("victim").unwrap();
    for seq in 0.. {
        let new = unique_key(0, 0, seq);
        let line = match rng.below(10) {
            0..6 => {
                km.rotate("victim", &new).unwrap();
                format!("rotate {} {}", key.current_version().unwrap(), to_hex(&new))
            }
            6..8 => {
                let version = km.stage("victim", &new).unwrap();
                km.promote("victim", version).unwrap();
                format!("rotate {version} {}", to_hex(&new))
            }
            _ => {
                km.prune("victim", NonZeroU32::new(4).unwrap()).unwrap();
                "prune".to_owned()
            }
        };
        writeln!(log, "{line}").unwrap();
    }
}

/// 24 times: a writer killed with SIGKILL during its transactions. After
/// each kill the key is whole: its current version has its bytes, every
/// version is readable, their numbers are consecutive, and the last
/// rotation the writer saw return is there.
#[test]
fn sigkill_during_transactions_never_half_applies() {
    let cluster = Cluster::start(&[]);
    let prefix = prefix("sigkill");
    let km = cluster.open(&prefix, Duration::from_secs(5));
    km.create("victim", b"the first victim key").unwrap();
    let location = cluster.location(&prefix).to_string();
    let log_dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(now_ms() as u64);
    let (mut kills, mut mid_work, mut operations) = (0, 0, 0);
    let started = Instant::now();
    for round in 0..24 {
        let log = log_dir.path().join(format!("round-{round}.log"));
        let mut child = child_command("killable_worker", "killable")
            .env(LOCATION_ENV, &location)
            .env(LOG_ENV, &log)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a random instant once the writer is at work (its start
        // takes longer on a loaded machine), so the kill lands among its
        // transactions rather than before the first.
        let before = wait_for_first_line(&log);
        std::thread::sleep(Duration::from_millis(rng.between(0, 200)));
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        let done = std::fs::read_to_string(&log).unwrap_or_default();
        mid_work += usize::from(done.lines().count() > before);
        operations += done.lines().count();
        check_whole(&km, done.lines().rfind(|l| l.starts_with("rotate")));
    }
    eprintln!(
        "{kills} SIGKILLs in {:?}, {mid_work} of them after the writer had finished more \
         operations while the kill waited ({operations} operations finished in all); the key was \
         whole after each",
        started.elapsed()
    );
    assert!(
        mid_work >= 12,
        "too few kills landed while the writer worked: {mid_work}"
    );
}

/// Waits (at most 30 s) until the worker's log has a line, and returns
/// how many it has then.
fn wait_for_first_line(log: &std::path::Path) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .count();
        if lines > 0 {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "the worker never finished an operation"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The key "victim" is whole; `last` is the writer's last logged rotation.
fn check_whole(km: &KeyManager, last: Option<&str>) {
    let key = km.key("victim").unwrap();
    let versions = key.versions().unwrap();
    let all = versions.all();
    let (low, high) = (all[0].get(), all[all.len() - 1].get());
    let numbers: Vec<u32> = all.iter().map(|v| v.get()).collect();
    assert_eq!(
        numbers,
        (low..=high).collect::<Vec<_>>(),
        "versions are consecutive"
    );
    assert_eq!(
        key.get().unwrap(),
        key.at(Version::Number(versions.current)).get().unwrap()
    );
    for version in &all {
        key.at(Version::Number(*version)).get().unwrap();
    }
    if let Some(line) = last {
        let fields: Vec<&str> = line.split(' ').collect();
        let version: u32 = fields[1].parse().unwrap();
        assert!(version <= high, "a rotation the writer saw finish is gone");
        if version >= low {
            let bytes = key
                .at(Version::Number(NonZeroU32::new(version).unwrap()))
                .get()
                .unwrap();
            assert_eq!(to_hex(&bytes), fields[2]);
        }
    }
}

/// Transactions whose answer (or the transaction itself) is lost at one
/// member, so that the client sends them again to another: each change is
/// applied once and reported as what happened, also when another host
/// changed the key in between.
#[test]
fn writes_sent_again_after_a_lost_answer_are_recognised() {
    let cluster = Cluster::start(&[]);
    let members: Vec<String> = cluster.endpoints().split(',').map(String::from).collect();
    let proxy = LossyProxy::start(&members[0]);
    let prefix = prefix("lost");
    let lossy = format!(
        "etcd://{},{},{}{prefix}",
        proxy.endpoint, members[1], members[2]
    );
    let direct = cluster.location(&prefix).to_string();
    // A fresh client starts with the first endpoint: the proxy.
    let open = |location: &str| {
        let options = OpenOptions::new().timeout(Duration::from_secs(5));
        KeyManager::open_with(&Location::parse(location).unwrap(), &options).unwrap()
    };
    let other_host_rotates =
        |new: &'static [u8], expected_old: &'static [u8]| -> Box<dyn FnOnce() + Send> {
            let direct = direct.clone();
            Box::new(move || {
                let old = open(&direct).rotate("k", new).unwrap().unwrap();
                assert_eq!(
                    old.as_bytes(),
                    expected_old,
                    "the other host replaced the wrong key"
                );
            })
        };
    let numbers = |km: &KeyManager| -> Vec<u32> {
        let versions = km.key("k").unwrap().versions().unwrap();
        versions.all().iter().map(|v| v.get()).collect()
    };
    let km = open(&direct);

    proxy.lose(Loss::Answer(Box::new(|| {})));
    open(&lossy).create("k", b"one").unwrap();
    assert_eq!(
        (proxy.pending(), numbers(&km)),
        (0, vec![1]),
        "created once"
    );

    proxy.lose(Loss::Answer(Box::new(|| {})));
    let old = open(&lossy).rotate("k", b"two").unwrap().unwrap();
    assert_eq!(old.as_bytes(), b"one", "the key it replaced, not its own");
    assert_eq!(numbers(&km), [1, 2], "rotated once");

    // Applied, then another host rotates before the transaction is sent
    // again: recognised by the first change after its read.
    proxy.lose(Loss::Answer(other_host_rotates(b"four", b"three")));
    let old = open(&lossy).rotate("k", b"three").unwrap().unwrap();
    assert_eq!(old.as_bytes(), b"two");
    assert_eq!(numbers(&km), [1, 2, 3, 4]);
    assert_eq!(km.get("k").unwrap().as_bytes(), b"four");

    // Not applied, and another host rotates meanwhile: decided again.
    proxy.lose(Loss::Request(other_host_rotates(b"five", b"four")));
    let old = open(&lossy).rotate("k", b"six").unwrap().unwrap();
    assert_eq!(old.as_bytes(), b"five");
    assert_eq!(numbers(&km), [1, 2, 3, 4, 5, 6]);

    proxy.lose(Loss::Answer(Box::new(|| {})));
    let staged = open(&lossy).stage("k", b"seven").unwrap();
    assert_eq!(staged.get(), 7);
    assert_eq!(
        km.key("k").unwrap().versions().unwrap().staged,
        [staged],
        "staged once"
    );
    proxy.lose(Loss::Answer(Box::new(|| {})));
    open(&lossy).promote("k", staged).unwrap();
    assert_eq!(km.get("k").unwrap().as_bytes(), b"seven");

    proxy.lose(Loss::Answer(Box::new(|| {})));
    open(&lossy).delete("k").unwrap();
    assert!(
        !km.exists("k").unwrap(),
        "deleted, and reported so (not NotFound)"
    );
    assert_eq!(proxy.pending(), 0);
}
