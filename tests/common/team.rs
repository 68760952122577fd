//! Threads of this process and child processes (this test binary run
//! again) racing on one key directory: starting the children together
//! with the threads, collecting what each saw as event lines, and checks
//! shared by the concurrency tests. Every value describes itself
//! ([`super::tagged_value`]).

use super::store::{current_number, version_bytes, version_list};
use super::{
    Rng, SetOnDrop, child_command, long_run, parse_tagged_value, tagged_value,
    tagged_value_min_len, wait_with_deadline,
};
use codomyrmex_keys::KeyManager;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Barrier, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Tells a child the key directory.
const DIR_ENV: &str = "CODOMYRMEX_CONC_DIR";
/// Tells a child the file whose appearance starts its workload.
const GO_ENV: &str = "CODOMYRMEX_CONC_GO";
/// Tells a child the seed of its workload.
const CHILD_SEED_ENV: &str = "CODOMYRMEX_CONC_SEED";
/// Prefix of the lines a child reports its events with.
const EVENT: &str = "EV ";
/// What a child prints once its key manager is open.
const READY: &str = "CONC-CHILD-READY";

/// Child processes per multi-process test.
pub const PROCESSES: usize = 3;
/// Calls per writer thread (times [`scale`]).
pub const WRITER_OPS: usize = 40;

/// How many times the normal number of operations to run: 10 with
/// `CODOMYRMEX_LONG=1`, else 1.
pub fn scale() -> usize {
    if long_run() { 10 } else { 1 }
}

/// A value for `tag` of a length chosen by `rng`, up to the 64 KiB limit.
pub fn value_for(rng: &mut Rng, tag: &str) -> Vec<u8> {
    let min = tagged_value_min_len(tag);
    let len = *rng.pick(&[min, min + 7, 100, 1000, 4096, 20_000, 65536]);
    tagged_value(tag, len)
}

/// The tag of a value read back, which must be a whole value made by
/// [`super::tagged_value`]; `what` names the read in the failure.
pub fn tag(bytes: &[u8], what: &str) -> String {
    parse_tagged_value(bytes)
        .unwrap_or_else(|why| panic!("{what}: a partial or foreign value: {why}"))
}

// ---------------------------------------------------------------------------
// Child processes started together with the threads of this process.

/// Children of one test, each reporting `EV` lines on its standard output.
pub struct Children {
    running: Vec<(String, Child, JoinHandle<Vec<String>>)>,
    go: PathBuf,
}

impl Children {
    /// Starts one child per scenario, running `test` on `dir`, and waits
    /// until each has opened its key manager.
    pub fn start(test: &str, scenarios: &[String], dir: &Path, seed: &mut Rng) -> Children {
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
    pub fn go(&self) {
        std::fs::write(&self.go, b"go").unwrap();
    }

    /// Waits for every child; asserts each passed; returns all event lines.
    pub fn finish(self) -> Vec<String> {
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
pub fn child_setup() -> (KeyManager, Rng) {
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

/// Prints `events` as the lines the parent collects.
pub fn print_events(events: &[String]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for event in events {
        writeln!(out, "{EVENT}{event}").unwrap();
    }
}

/// The threads one process runs: `writers` threads of `writer` and
/// `readers` threads of `reader`, each returning its events.
pub struct Team {
    /// Writer threads.
    pub writers: usize,
    /// Reader threads.
    pub readers: usize,
    /// What a writer thread runs.
    pub writer: fn(&KeyManager, &str, &mut Rng) -> Vec<String>,
    /// What a reader thread runs until the flag says stop.
    pub reader: fn(&KeyManager, &str, &mut Rng, &AtomicBool) -> Vec<String>,
}

/// Runs `team` with thread names after `who` (all starting at `barrier`,
/// if any); readers stop once the writers are done and `done` is set.
pub fn run_threads(
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

/// A short random pause between reads, so that readers do not take every
/// CPU of a small machine from the writers they race with.
pub fn pause(rng: &mut Rng) {
    std::thread::sleep(Duration::from_micros(rng.between(50, 500)));
}

/// The versions of `key`, 1..=n, as tags, checked to be complete.
pub fn versions_of(km: &KeyManager, key: &str) -> Vec<(String, Vec<u8>)> {
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

/// No temporary file is left in `dir` (or its version records) once every
/// writer finished.
pub fn assert_no_leftovers(dir: &Path) {
    for path in super::snapshot(dir).keys() {
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(!name.ends_with(".tmp"), "left behind: {}", path.display());
    }
}
