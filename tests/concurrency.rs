//! Concurrency: threads of this process and child processes (this test
//! binary run again) rotate, store, delete, create and read the same keys
//! and their own keys at once, through separate key managers on one
//! directory. Afterwards the versions on disk must tell one consistent
//! story: rotations form an unbroken chain, every version holds the bytes
//! of the call that made it, numbers run 1, 2, 3, … without gaps or
//! duplicates, readers never saw a partial or foreign value, and a create
//! race has exactly one winner. Also: a directory of 10,000 keys lists
//! completely, sorted, and fast.
//!
//! Every value describes itself (`common::tagged_value`): its tag names the
//! thread and call that wrote it. Workloads follow the seed printed at the
//! start (`CODOMYRMEX_SEED` replays one); `CODOMYRMEX_LONG=1` multiplies the
//! number of operations by 10.

mod common;

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, hmac};
use common::store::{current_number, version_bytes, version_list};
use common::{
    Rng, child_command, child_scenario, long_run, parse_tagged_value, tagged_value,
    tagged_value_min_len, test_seed, to_hex, wait_with_deadline,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const DIR_ENV: &str = "CODOMYRMEX_CONC_DIR";
const GO_ENV: &str = "CODOMYRMEX_CONC_GO";
const CHILD_SEED_ENV: &str = "CODOMYRMEX_CONC_SEED";
/// Prefix of the lines a child reports its events with.
const EVENT: &str = "EV ";
const READY: &str = "CONC-CHILD-READY";

/// Child processes per multi-process test.
const PROCESSES: usize = 3;

fn scale() -> usize {
    if long_run() { 10 } else { 1 }
}

/// A value for `tag` of a length chosen by `rng`, up to the 64 KiB limit.
fn value_for(rng: &mut Rng, tag: &str) -> Vec<u8> {
    let min = tagged_value_min_len(tag);
    let len = *rng.pick(&[min, min + 7, 100, 1000, 4096, 20_000, 65536]);
    tagged_value(tag, len)
}

fn tag(bytes: &[u8], what: &str) -> String {
    parse_tagged_value(bytes)
        .unwrap_or_else(|why| panic!("{what}: a partial or foreign value: {why}"))
}

// ---------------------------------------------------------------------------
// Child processes started together with the threads of this process.

/// Children of one test, each reporting `EV` lines on its standard output.
struct Children {
    running: Vec<(String, Child, JoinHandle<Vec<String>>)>,
    go: PathBuf,
}

impl Children {
    /// Starts one child per scenario, running `test` on `dir`, and waits
    /// until each has opened its key manager.
    fn start(test: &str, scenarios: &[String], dir: &Path, seed: &mut Rng) -> Children {
        let go = dir.with_extension("go");
        let (ready_tx, ready_rx) = mpsc::channel();
        let running = scenarios
            .iter()
            .map(|scenario| {
                let mut child = child_command(test, scenario)
                    .env(DIR_ENV, dir)
                    .env(GO_ENV, &go)
                    .env(CHILD_SEED_ENV, seed.next_u64().to_string())
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .expect("the child starts");
                let stdout = child.stdout.take().unwrap();
                let ready_tx = ready_tx.clone();
                let reader = std::thread::spawn(move || {
                    let mut lines = Vec::new();
                    let mut ready = false;
                    for line in BufReader::new(stdout).lines() {
                        let line = line.expect("child output is text");
                        if !ready && line.trim_end().ends_with(READY) {
                            ready = true;
                            let _ = ready_tx.send(true);
                        }
                        lines.push(line);
                    }
                    if !ready {
                        // It ended without getting ready: fail at once.
                        let _ = ready_tx.send(false);
                    }
                    lines
                });
                (scenario.clone(), child, reader)
            })
            .collect::<Vec<_>>();
        let children = Children { running, go };
        for _ in scenarios {
            if ready_rx.recv_timeout(Duration::from_secs(60)) != Ok(true) {
                let outputs = children.finish();
                panic!("a child did not get ready; events: {outputs:?}");
            }
        }
        children
    }

    /// Lets every child start its workload.
    fn go(&self) {
        std::fs::write(&self.go, b"go").unwrap();
    }

    /// Waits for every child; asserts each passed; returns all event lines.
    fn finish(self) -> Vec<String> {
        let mut events = Vec::new();
        for (scenario, mut child, reader) in self.running {
            let status = wait_with_deadline(&mut child, Duration::from_secs(300), &scenario);
            let lines = reader.join().unwrap();
            let passed = lines.iter().any(|l| l.contains("1 passed"));
            assert!(
                status.success() && passed,
                "child {scenario} failed ({status}); its output:\n{}",
                lines.join("\n")
            );
            events.extend(
                lines
                    .iter()
                    .filter_map(|l| l.split_once(EVENT).map(|(_, e)| e.to_owned())),
            );
        }
        events
    }
}

/// In a child: the directory, a seeded generator, and a wait for the
/// parent's go.
fn child_setup() -> (KeyManager, Rng) {
    let dir = PathBuf::from(std::env::var_os(DIR_ENV).expect("dir is set"));
    let go = PathBuf::from(std::env::var_os(GO_ENV).expect("go file is set"));
    let seed: u64 = std::env::var(CHILD_SEED_ENV).unwrap().parse().unwrap();
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let km = KeyManager::open(&dir).unwrap();
    println!("{READY}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !go.exists() {
        assert!(Instant::now() < deadline, "the parent never said go");
        std::thread::sleep(Duration::from_millis(1));
    }
    (km, Rng::new(seed))
}

fn print_events(events: &[String]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for event in events {
        writeln!(out, "{EVENT}{event}").unwrap();
    }
}

/// Sets its flag when dropped, also when a panic unwinds: threads waiting
/// for the flag then stop, and the test fails instead of hanging.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// The threads one process runs: `writers` threads of `writer` and
/// `readers` threads of `reader`, each returning its events.
struct Team {
    writers: usize,
    readers: usize,
    writer: fn(&KeyManager, &str, &mut Rng) -> Vec<String>,
    reader: fn(&KeyManager, &str, &mut Rng, &AtomicBool) -> Vec<String>,
}

/// Runs `team` with thread names after `who` (all starting at `barrier`,
/// if any); readers stop once the writers are done and `done` is set.
fn run_threads(
    km: &KeyManager,
    who: &str,
    team: &Team,
    rng: &mut Rng,
    done: &AtomicBool,
    barrier: Option<&Barrier>,
) -> Vec<String> {
    let Team {
        writers,
        readers,
        writer,
        reader,
    } = *team;
    let stop_readers = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for t in 0..writers {
            let mut rng = Rng::new(rng.next_u64());
            let name = format!("{who}w{t}");
            handles.push(scope.spawn(move || {
                if let Some(b) = barrier {
                    b.wait();
                }
                writer(km, &name, &mut rng)
            }));
        }
        let mut reader_handles = Vec::new();
        for t in 0..readers {
            let mut rng = Rng::new(rng.next_u64());
            let name = format!("{who}r{t}");
            let stop = &stop_readers;
            reader_handles.push(scope.spawn(move || {
                if let Some(b) = barrier {
                    b.wait();
                }
                reader(km, &name, &mut rng, stop)
            }));
        }
        let stop_readers_guard = SetOnDrop(&stop_readers);
        let mut events: Vec<String> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("writer thread"))
            .collect();
        while !done.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(2));
        }
        drop(stop_readers_guard);
        events.extend(
            reader_handles
                .into_iter()
                .flat_map(|h| h.join().expect("reader thread")),
        );
        events
    })
}

// ---------------------------------------------------------------------------
// One chain of versions from many writers.

const CHAIN_TEST: &str = "rotations_and_stores_from_threads_and_processes_keep_one_version_chain";
/// Rotated only: every value but the last is returned exactly once.
const CHAIN: &str = "chain";
/// Rotated and stored over.
const MIXED: &str = "mixed";
const WRITER_OPS: usize = 40;

fn chain_writer(km: &KeyManager, who: &str, rng: &mut Rng) -> Vec<String> {
    let own = format!("own-{who}");
    let mut events = Vec::new();
    for i in 0..WRITER_OPS * scale() {
        let tag = format!("{who}-{i}");
        let value = value_for(rng, &tag);
        match rng.below(100) {
            0..40 => {
                let old = km.rotate(CHAIN, &value).unwrap().expect("chain exists");
                events.push(format!(
                    "ROT {CHAIN} {} {tag}",
                    self::tag(&old, "rotate chain")
                ));
            }
            40..65 => {
                let old = km.rotate(MIXED, &value).unwrap().expect("mixed exists");
                events.push(format!(
                    "ROT {MIXED} {} {tag}",
                    self::tag(&old, "rotate mixed")
                ));
            }
            65..80 => {
                km.store(MIXED, &value).unwrap();
                events.push(format!("STORE {MIXED} {tag}"));
            }
            _ => {
                // A key of this writer alone: its versions are exactly the
                // writer's calls, in order.
                if rng.chance(50) {
                    km.store(&own, &value).unwrap();
                } else {
                    let old = km.rotate(&own, &value).unwrap();
                    let last = events
                        .iter()
                        .rev()
                        .find_map(|e| e.strip_prefix(&format!("OWN {own} ")));
                    assert_eq!(
                        old.map(|o| self::tag(&o, "rotate own")).as_deref(),
                        last,
                        "rotate of {own} returned the wrong previous key"
                    );
                }
                events.push(format!("OWN {own} {tag}"));
            }
        }
    }
    events
}

fn chain_reader(km: &KeyManager, _who: &str, rng: &mut Rng, stop: &AtomicBool) -> Vec<String> {
    let mut events = Vec::new();
    let mut highest: HashMap<&str, usize> = HashMap::new();
    loop {
        let finished = stop.load(Ordering::SeqCst);
        let key = *rng.pick(&[CHAIN, MIXED]);
        match rng.below(4) {
            0 => {
                let value = km.get(key).unwrap();
                events.push(format!("SEEN {key} {}", tag(&value, "get")));
            }
            1 => {
                let version = current_number(km, key).unwrap();
                // Versions are never removed here: any version once current
                // stays readable.
                let value = version_bytes(km, key, version).unwrap();
                events.push(format!(
                    "VER {key} {version} {}",
                    tag(&value, "get_version")
                ));
            }
            2 => {
                let versions = version_list(km, key).unwrap();
                let expected: Vec<u32> = (1..=versions.len() as u32).collect();
                assert_eq!(versions, expected, "list_versions({key}) has a gap");
                let seen = highest.entry(key).or_default();
                assert!(versions.len() >= *seen, "list_versions({key}) went back");
                *seen = versions.len();
            }
            _ => {
                let alg = *rng.pick(&HashAlg::ALL);
                let mac = km
                    .key(key)
                    .unwrap()
                    .hmac_tagged(alg, b"concurrency")
                    .unwrap();
                events.push(format!(
                    "MAC {key} {} {} {}",
                    mac.version(),
                    alg.name(),
                    to_hex(mac.as_bytes())
                ));
            }
        }
        if finished {
            return events;
        }
        pause(rng);
    }
}

/// A short random pause between reads, so that readers do not take every
/// CPU of a small machine from the writers they race with.
fn pause(rng: &mut Rng) {
    std::thread::sleep(Duration::from_micros(rng.between(50, 500)));
}

/// The versions of `key`, 1..=n, as tags, checked to be complete.
fn versions_of(km: &KeyManager, key: &str) -> Vec<(String, Vec<u8>)> {
    let listed = version_list(km, key).unwrap();
    let expected: Vec<u32> = (1..=listed.len() as u32).collect();
    assert_eq!(listed, expected, "versions of {key} are 1..=n");
    assert_eq!(current_number(km, key).unwrap() as usize, listed.len());
    listed
        .iter()
        .map(|&v| {
            let bytes = version_bytes(km, key, v).unwrap().to_vec();
            (tag(&bytes, &format!("version {v} of {key}")), bytes)
        })
        .collect()
}

#[test]
fn rotations_and_stores_from_threads_and_processes_keep_one_version_chain() {
    if let Some(scenario) = child_scenario() {
        assert!(scenario.starts_with("chain-p"), "{scenario}");
        let (km, mut rng) = child_setup();
        let done = AtomicBool::new(true);
        let events = run_threads(
            &km,
            &scenario["chain-".len()..],
            &Team {
                writers: 3,
                readers: 1,
                writer: chain_writer,
                reader: chain_reader,
            },
            &mut rng,
            &done,
            None,
        );
        print_events(&events);
        return;
    }
    let started = Instant::now();
    let mut rng = Rng::new(test_seed(CHAIN_TEST, 0xc0c0_0001));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = KeyManager::open(&dir).unwrap();
    for key in [CHAIN, MIXED] {
        km.store(key, &tagged_value(&format!("start-{key}"), 64))
            .unwrap();
    }
    let scenarios: Vec<String> = (0..PROCESSES).map(|p| format!("chain-p{p}")).collect();
    let children = Children::start(CHAIN_TEST, &scenarios, &dir, &mut rng);
    let barrier = Barrier::new(8);
    let done = AtomicBool::new(false);
    let mut events = std::thread::scope(|scope| {
        let threads = scope.spawn(|| {
            run_threads(
                &km,
                "m",
                &Team {
                    writers: 6,
                    readers: 2,
                    writer: chain_writer,
                    reader: chain_reader,
                },
                &mut Rng::new(rng.next_u64()),
                &done,
                Some(&barrier),
            )
        });
        let done_guard = SetOnDrop(&done);
        children.go();
        let events = children.finish();
        drop(done_guard);
        let mut all = threads.join().unwrap();
        all.extend(events);
        all
    });
    events.sort();

    let mut rotations: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    let mut stores: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut own: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut reads = 0;
    for event in &events {
        let parts: Vec<&str> = event.split(' ').collect();
        match parts[0] {
            "ROT" => rotations
                .entry(parts[1])
                .or_default()
                .push((parts[2], parts[3])),
            "STORE" => stores.entry(parts[1]).or_default().push(parts[2]),
            "OWN" => own.entry(parts[1]).or_default().push(parts[2]),
            "SEEN" | "VER" | "MAC" => reads += 1,
            _ => panic!("unknown event {event:?}"),
        }
    }
    // Events of one writer were sorted with the rest: restore call order.
    for calls in own.values_mut() {
        calls.sort_by_key(|t| t.rsplit_once('-').unwrap().1.parse::<usize>().unwrap());
    }

    let mut final_versions = HashMap::new();
    for key in [CHAIN, MIXED] {
        let versions = versions_of(&km, key);
        let tags: Vec<&str> = versions.iter().map(|(t, _)| t.as_str()).collect();
        let rots = rotations.get(key).cloned().unwrap_or_default();
        let sts = stores.get(key).cloned().unwrap_or_default();
        assert_eq!(
            tags.len(),
            1 + rots.len() + sts.len(),
            "{key}: one version per rotation and store, no more, no fewer"
        );
        let position: HashMap<&str, usize> =
            tags.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        assert_eq!(position.len(), tags.len(), "{key}: a value kept twice");
        let start = format!("start-{key}");
        assert_eq!(tags[0], start, "{key}: version 1 is the first store");
        let mut written: BTreeSet<&str> = rots.iter().map(|(_, new)| *new).collect();
        written.extend(sts.iter().copied());
        written.insert(&start);
        assert_eq!(
            written,
            tags.iter().copied().collect(),
            "{key}: the versions are exactly the values written"
        );
        for (old, new) in &rots {
            let at = position[new];
            assert!(
                at > 0 && tags[at - 1] == *old,
                "{key}: rotate to {new} (version {}) returned {old}, but version {} is {}",
                at + 1,
                at,
                tags[at.saturating_sub(1)]
            );
        }
        if key == CHAIN {
            // Pure rotations: every value but the last was returned as the
            // old key exactly once; the last never.
            let mut olds: Vec<&str> = rots.iter().map(|(old, _)| *old).collect();
            olds.sort_unstable();
            let mut expected = tags[..tags.len() - 1].to_vec();
            expected.sort_unstable();
            assert_eq!(olds, expected, "chain: old keys returned");
        }
        assert_eq!(
            km.get(key).unwrap().as_bytes(),
            versions.last().unwrap().1.as_slice()
        );
        final_versions.insert(key, versions);
    }
    // What readers saw, checked against the final history.
    for event in &events {
        let parts: Vec<&str> = event.split(' ').collect();
        let history = match parts[0] {
            "SEEN" | "VER" | "MAC" => &final_versions[parts[1]],
            _ => continue,
        };
        match parts[0] {
            "SEEN" => assert!(
                history.iter().any(|(t, _)| t == parts[2]),
                "a reader saw {} which is no version of {}",
                parts[2],
                parts[1]
            ),
            "VER" => {
                let v: usize = parts[2].parse().unwrap();
                assert_eq!(history[v - 1].0, parts[3], "version {v} of {}", parts[1]);
            }
            _ => {
                let v: usize = parts[2].parse().unwrap();
                let alg = HashAlg::from_name(parts[3]).unwrap();
                let mac = common::hex(parts[4]);
                assert_eq!(mac[0], 1);
                assert_eq!(
                    &mac[5..],
                    hmac(alg, &history[v - 1].1, b"concurrency").as_bytes(),
                    "a tagged MAC for version {v} of {} was made with another key",
                    parts[1]
                );
                km.key(parts[1])
                    .unwrap()
                    .hmac_verify_tagged(alg, b"concurrency", &mac)
                    .unwrap();
            }
        }
    }
    for (key, calls) in &own {
        let versions = versions_of(&km, key);
        let tags: Vec<&str> = versions.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            &tags, calls,
            "{key}: versions are its writer's calls in order"
        );
    }
    let writers = 6 + PROCESSES * 3;
    assert_eq!(
        rotations.values().map(Vec::len).sum::<usize>()
            + stores.values().map(Vec::len).sum::<usize>()
            + own.values().map(Vec::len).sum::<usize>(),
        writers * WRITER_OPS * scale(),
        "every write is accounted for"
    );
    assert!(reads > 0);
    assert_no_leftovers(&dir);
    println!(
        "concurrency chain: 8 threads (6 writers, 2 readers) + {PROCESSES} processes x 4 threads (3 writers, 1 reader): {} writes ({} chain rotations, {} mixed rotations, {} mixed stores, {} own-key writes), {reads} checked reads, {} + {} versions, in {:.1?}",
        writers * WRITER_OPS * scale(),
        rotations.get(CHAIN).map_or(0, Vec::len),
        rotations.get(MIXED).map_or(0, Vec::len),
        stores.get(MIXED).map_or(0, Vec::len),
        own.values().map(Vec::len).sum::<usize>(),
        final_versions[CHAIN].len(),
        final_versions[MIXED].len(),
        started.elapsed()
    );
}

/// No temporary file is left in `dir` (or its version records) once every
/// writer finished.
fn assert_no_leftovers(dir: &Path) {
    for path in common::snapshot(dir).keys() {
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(!name.ends_with(".tmp"), "left behind: {}", path.display());
    }
}

// ---------------------------------------------------------------------------
// Deletes and creates racing rotations, stores and readers.

const FLUX_TEST: &str = "deletes_and_creates_racing_writers_and_readers_expose_only_whole_values";
const FLUX: &str = "flux";

fn flux_writer(km: &KeyManager, who: &str, rng: &mut Rng) -> Vec<String> {
    let mut events = Vec::new();
    for i in 0..WRITER_OPS * scale() {
        let tag = format!("{who}-{i}");
        let value = value_for(rng, &tag);
        match rng.below(100) {
            0..35 => {
                let old = km.rotate(FLUX, &value).unwrap();
                let old = old.map_or_else(|| "none".to_owned(), |o| self::tag(&o, "rotate"));
                events.push(format!("ROT {FLUX} {old} {tag}"));
            }
            35..55 => {
                km.store(FLUX, &value).unwrap();
                events.push(format!("STORE {FLUX} {tag}"));
            }
            55..75 => match km.delete(FLUX) {
                Ok(()) => events.push(format!("DEL {FLUX} ok")),
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    events.push(format!("DEL {FLUX} absent"));
                }
                Err(e) => panic!("delete: {e}"),
            },
            _ => match km.create(FLUX, &value) {
                Ok(()) => events.push(format!("CREATE {FLUX} {tag} won")),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    events.push(format!("CREATE {FLUX} {tag} lost"));
                }
                Err(e) => panic!("create: {e}"),
            },
        }
    }
    events
}

fn flux_reader(km: &KeyManager, _who: &str, rng: &mut Rng, stop: &AtomicBool) -> Vec<String> {
    let mut events = Vec::new();
    loop {
        let finished = stop.load(Ordering::SeqCst);
        match rng.below(4) {
            0 => match km.get(FLUX) {
                Ok(value) => events.push(format!("SEEN {FLUX} {}", tag(&value, "get"))),
                Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "get: {e}"),
            },
            1 => match version_list(km, FLUX) {
                Ok(versions) => {
                    let expected: Vec<u32> = (1..=versions.len() as u32).collect();
                    assert_eq!(versions, expected, "list_versions has a gap");
                    let v = *rng.pick(&versions);
                    match version_bytes(km, FLUX, v) {
                        Ok(value) => {
                            events.push(format!("SEEN {FLUX} {}", tag(&value, "get_version")));
                        }
                        Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "get_version: {e}"),
                    }
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "list_versions: {e}"),
            },
            2 => {
                km.exists(FLUX).unwrap();
                let listed = km.list().unwrap();
                assert!(
                    listed.is_empty() || listed == [FLUX],
                    "list shows {listed:?}"
                );
            }
            _ => match km.key(FLUX).unwrap().hmac_tagged(HashAlg::Sha256, b"flux") {
                Ok(mac) => assert!(mac.version() >= 1),
                Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "hmac_tagged: {e}"),
            },
        }
        if finished {
            return events;
        }
        pause(rng);
    }
}

#[test]
fn deletes_and_creates_racing_writers_and_readers_expose_only_whole_values() {
    if let Some(scenario) = child_scenario() {
        assert!(scenario.starts_with("flux-p"), "{scenario}");
        let (km, mut rng) = child_setup();
        let done = AtomicBool::new(true);
        let events = run_threads(
            &km,
            &scenario["flux-".len()..],
            &Team {
                writers: 2,
                readers: 1,
                writer: flux_writer,
                reader: flux_reader,
            },
            &mut rng,
            &done,
            None,
        );
        print_events(&events);
        return;
    }
    let started = Instant::now();
    let mut rng = Rng::new(test_seed(FLUX_TEST, 0xf1f1_0002));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = KeyManager::open(&dir).unwrap();
    km.store(FLUX, &tagged_value("start", 64)).unwrap();
    let scenarios: Vec<String> = (0..PROCESSES).map(|p| format!("flux-p{p}")).collect();
    let children = Children::start(FLUX_TEST, &scenarios, &dir, &mut rng);
    let barrier = Barrier::new(8);
    let done = AtomicBool::new(false);
    let events = std::thread::scope(|scope| {
        let threads = scope.spawn(|| {
            run_threads(
                &km,
                "m",
                &Team {
                    writers: 5,
                    readers: 3,
                    writer: flux_writer,
                    reader: flux_reader,
                },
                &mut Rng::new(rng.next_u64()),
                &done,
                Some(&barrier),
            )
        });
        let done_guard = SetOnDrop(&done);
        children.go();
        let events = children.finish();
        drop(done_guard);
        let mut all = threads.join().unwrap();
        all.extend(events);
        all
    });

    let mut written: BTreeSet<&str> = BTreeSet::from(["start"]);
    let mut lost_creates = BTreeSet::new();
    let mut olds = Vec::new();
    let mut births = 0;
    let mut deletes = 0;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &events {
        let parts: Vec<&str> = event.split(' ').collect();
        *counts.entry(parts[0]).or_default() += 1;
        match (parts[0], parts.get(3)) {
            ("ROT", _) => {
                written.insert(parts[3]);
                if parts[2] == "none" {
                    births += 1;
                } else {
                    olds.push(parts[2]);
                }
            }
            ("STORE", _) => {
                written.insert(parts[2]);
            }
            ("CREATE", Some(&"won")) => {
                written.insert(parts[2]);
                births += 1;
            }
            ("CREATE", _) => {
                lost_creates.insert(parts[2]);
            }
            ("DEL", _) if parts[2] == "ok" => deletes += 1,
            ("DEL" | "SEEN", _) => {}
            _ => panic!("unknown event {event:?}"),
        }
    }
    // Each value can be replaced only once, so it is returned at most once.
    let unique: BTreeSet<&str> = olds.iter().copied().collect();
    assert_eq!(
        unique.len(),
        olds.len(),
        "a value was returned as old twice"
    );
    for old in &olds {
        assert!(
            written.contains(old),
            "rotate returned {old}, which no call wrote"
        );
    }
    // The key existed at the start: every birth needs a delete before it.
    assert!(
        births <= deletes,
        "{births} creations of an absent key but only {deletes} deletes"
    );
    for event in &events {
        if let Some(seen) = event.strip_prefix("SEEN flux ") {
            assert!(written.contains(seen), "a reader saw {seen}, never written");
            assert!(!lost_creates.contains(seen), "a reader saw a losing create");
        }
    }
    // The history since the last delete, as the versions tell it.
    if km.exists(FLUX).unwrap() {
        assert_eq!(km.list().unwrap(), [FLUX]);
        let versions = versions_of(&km, FLUX);
        let tags: Vec<&str> = versions.iter().map(|(t, _)| t.as_str()).collect();
        let position: HashMap<&str, usize> =
            tags.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        assert_eq!(position.len(), tags.len(), "a value kept twice");
        for t in &tags {
            assert!(written.contains(t), "version {t} was never written");
            assert!(
                !lost_creates.contains(t),
                "a losing create became a version"
            );
        }
        for event in &events {
            let parts: Vec<&str> = event.split(' ').collect();
            match parts[0] {
                "ROT" if position.contains_key(parts[3]) => {
                    let at = position[parts[3]];
                    if parts[2] == "none" {
                        assert_eq!(at, 0, "rotate of an absent key made version {}", at + 1);
                    } else {
                        assert!(
                            at > 0 && tags[at - 1] == parts[2],
                            "rotate to {} returned {}, but the version before it is {:?}",
                            parts[3],
                            parts[2],
                            at.checked_sub(1).map(|i| tags[i])
                        );
                    }
                }
                "CREATE" if parts[3] == "won" && position.contains_key(parts[2]) => {
                    assert_eq!(position[parts[2]], 0, "a create made a later version");
                }
                _ => {}
            }
        }
    } else {
        assert!(km.list().unwrap().is_empty());
        assert!(deletes > 0);
    }
    assert_no_leftovers(&dir);
    let writes = (5 + PROCESSES * 2) * WRITER_OPS * scale();
    println!(
        "concurrency flux: 8 threads (5 writers, 3 readers) + {PROCESSES} processes x 3 threads (2 writers, 1 reader): {writes} writes {counts:?}, {births} births, {deletes} deletes, in {:.1?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------
// Create races.

const CREATE_TEST: &str = "create_and_generate_races_have_exactly_one_winner";
const RACE_IDS: usize = 40;
const GENERATED_FROM: usize = 30;

fn racer(km: &KeyManager, who: &str, _rng: &mut Rng) -> Vec<String> {
    let mut events = Vec::new();
    for i in 0..RACE_IDS {
        let id = format!("race-{i}");
        let result = if i < GENERATED_FROM {
            km.create(&id, &tagged_value(&format!("{who}-{i}"), 48))
        } else {
            km.generate(&id, 32)
        };
        match result {
            Ok(()) => events.push(format!("WON {id} {who}-{i}")),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                events.push(format!("LOST {id} {who}-{i}"));
            }
            Err(e) => panic!("create {id}: {e}"),
        }
    }
    events
}

fn no_reader(_: &KeyManager, _: &str, _: &mut Rng, _: &AtomicBool) -> Vec<String> {
    Vec::new()
}

#[test]
fn create_and_generate_races_have_exactly_one_winner() {
    if let Some(scenario) = child_scenario() {
        assert!(scenario.starts_with("race-p"), "{scenario}");
        let (km, mut rng) = child_setup();
        let done = AtomicBool::new(true);
        let barrier = Barrier::new(2);
        let events = run_threads(
            &km,
            &scenario["race-".len()..],
            &Team {
                writers: 2,
                readers: 0,
                writer: racer,
                reader: no_reader,
            },
            &mut rng,
            &done,
            Some(&barrier),
        );
        print_events(&events);
        return;
    }
    let mut rng = Rng::new(test_seed(CREATE_TEST, 0x7ace_0003));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = KeyManager::open(&dir).unwrap();
    let scenarios: Vec<String> = (0..PROCESSES).map(|p| format!("race-p{p}")).collect();
    let children = Children::start(CREATE_TEST, &scenarios, &dir, &mut rng);
    let barrier = Barrier::new(8);
    let done = AtomicBool::new(true);
    let events = std::thread::scope(|scope| {
        let threads = scope.spawn(|| {
            run_threads(
                &km,
                "m",
                &Team {
                    writers: 8,
                    readers: 0,
                    writer: racer,
                    reader: no_reader,
                },
                &mut Rng::new(rng.next_u64()),
                &done,
                Some(&barrier),
            )
        });
        children.go();
        let mut all = children.finish();
        all.extend(threads.join().unwrap());
        all
    });
    let racers = 8 + PROCESSES * 2;
    let mut winners: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut losers: BTreeMap<String, usize> = BTreeMap::new();
    for event in &events {
        let parts: Vec<&str> = event.split(' ').collect();
        match parts[0] {
            "WON" => winners
                .entry(parts[1].to_owned())
                .or_default()
                .push(parts[2].to_owned()),
            "LOST" => *losers.entry(parts[1].to_owned()).or_default() += 1,
            _ => panic!("unknown event {event:?}"),
        }
    }
    let mut ids: Vec<String> = (0..RACE_IDS).map(|i| format!("race-{i}")).collect();
    ids.sort();
    for id in &ids {
        let won = winners.get(id).cloned().unwrap_or_default();
        assert_eq!(won.len(), 1, "{id}: winners {won:?}");
        assert_eq!(losers.get(id).copied(), Some(racers - 1), "{id}: losers");
        let value = km.get(id).unwrap();
        let i: usize = id["race-".len()..].parse().unwrap();
        if i < GENERATED_FROM {
            assert_eq!(tag(&value, id), won[0], "{id} holds the winner's key");
        } else {
            assert_eq!(value.len(), 32);
        }
        assert_eq!(version_list(&km, id).unwrap(), [1], "{id}: one version");
    }
    assert_eq!(km.list().unwrap(), ids);
    assert_no_leftovers(&dir);
    println!(
        "concurrency create races: {racers} racers (8 threads + {PROCESSES} processes x 2 threads) on {RACE_IDS} ids: one winner each"
    );
}

// ---------------------------------------------------------------------------
// A large directory.

#[test]
fn ten_thousand_keys_list_sorted_and_fast() {
    const KEYS: usize = 10_000;
    const STORED: usize = 200;
    let mut rng = Rng::new(test_seed(
        "ten_thousand_keys_list_sorted_and_fast",
        0x10_000,
    ));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let km = KeyManager::open(&dir).unwrap();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    let ids: Vec<String> = (0..KEYS)
        .map(|i| {
            // Unique prefix, then a random tail up to the 128-byte limit.
            let tail_len = rng.below(128 - 6) as usize;
            let mut id = format!("{i:05}");
            id.insert(rng.below(6) as usize, *rng.pick(b"aZ-_") as char);
            let tail: String = (0..tail_len).map(|_| *rng.pick(alphabet) as char).collect();
            id.push_str(&tail);
            id.truncate(128);
            id
        })
        .collect();
    // Most keys are written as the original module wrote them (raw files,
    // mode 0600); some through the library, from several threads at once.
    // Each holds a value whose tag is unique to its id.
    let tag_for = |id: &str, how: &str| format!("{how}{}", &id[..6]);
    let (raw, stored) = ids.split_at(KEYS - STORED);
    for id in raw {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dir.join(format!("{id}.key")))
            .unwrap();
        std::io::Write::write_all(&mut file, &tagged_value(&tag_for(id, "raw"), 64)).unwrap();
    }
    std::thread::scope(|scope| {
        for chunk in stored.chunks(STORED / 4) {
            let km = &km;
            scope.spawn(move || {
                for id in chunk {
                    km.store(id, &tagged_value(&tag_for(id, "lib"), 64))
                        .unwrap();
                }
            });
        }
    });
    let expected_tags: HashMap<&str, String> = raw
        .iter()
        .map(|id| (id.as_str(), tag_for(id, "raw")))
        .chain(stored.iter().map(|id| (id.as_str(), tag_for(id, "lib"))))
        .collect();
    // Noise that must not be listed.
    for i in 0..100 {
        std::fs::write(dir.join(format!(".stale{i}.key.tmp")), b"t").unwrap();
        std::fs::write(dir.join(format!("notes{i}.txt")), b"n").unwrap();
    }
    let mut ids: Vec<String> = ids.clone();
    ids.sort();

    let timer = Instant::now();
    let listed = km.list().unwrap();
    let elapsed = timer.elapsed();
    println!("concurrency: list of {KEYS} keys took {elapsed:?}");
    assert_eq!(listed.len(), KEYS);
    assert_eq!(listed, ids, "list returns exactly the ids, sorted bytewise");
    assert!(
        elapsed < Duration::from_secs(2),
        "list of {KEYS} keys took {elapsed:?}"
    );

    // exists and get on every one; versions on a sample.
    let timer = Instant::now();
    for id in &ids {
        assert!(km.exists(id).unwrap(), "{id}");
        let value = km.get(id).unwrap();
        assert_eq!(tag(&value, id), expected_tags[id.as_str()], "{id}");
    }
    for _ in 0..100 {
        let id = rng.pick(&ids);
        assert_eq!(version_list(&km, id).unwrap(), [1]);
    }
    println!(
        "concurrency: exists + get on {KEYS} keys took {:?}",
        timer.elapsed()
    );

    // Listings while other threads add and delete keys: the 10,000 are
    // always there, sorted, and nothing else but the keys being added.
    let stop = AtomicBool::new(false);
    let listings = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..2 {
            let (km, stop) = (&km, &stop);
            scope.spawn(move || {
                for i in 0..60 {
                    let id = format!("extra-{t}-{i}");
                    km.store(&id, &tagged_value(&id, 64)).unwrap();
                    if i % 2 == 0 {
                        km.delete(&id).unwrap();
                    }
                }
                stop.store(true, Ordering::SeqCst);
            });
        }
        for _ in 0..2 {
            let (km, stop, ids, listings) = (&km, &stop, &ids, &listings);
            scope.spawn(move || {
                loop {
                    let finished = stop.load(Ordering::SeqCst);
                    let listed = km.list().unwrap();
                    assert!(
                        listed.windows(2).all(|w| w[0] < w[1]),
                        "sorted, no duplicates"
                    );
                    let (extra, base): (Vec<&String>, Vec<&String>) =
                        listed.iter().partition(|id| id.starts_with("extra-"));
                    assert_eq!(base.len(), KEYS);
                    assert!(base.iter().zip(ids).all(|(a, b)| *a == b));
                    assert!(extra.len() <= 120);
                    listings.fetch_add(1, Ordering::SeqCst);
                    if finished {
                        break;
                    }
                }
            });
        }
    });
    let final_list = km.list().unwrap();
    assert_eq!(final_list.len(), KEYS + 60);
    assert!(listings.load(Ordering::SeqCst) >= 2);
    println!(
        "concurrency: {} listings of 10,000+ keys during 120 stores and 60 deletes",
        listings.load(Ordering::SeqCst)
    );
}
