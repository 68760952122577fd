//! Crash safety: a worker process stores, rotates, re-stores, prunes,
//! creates and deletes keys of sizes up to the 64 KiB limit in a loop and
//! is killed with SIGKILL at random instants. After every kill a fresh
//! `KeyManager` on the directory must find:
//!
//! - each key complete and exactly as some call wrote it (never torn, empty
//!   or missing once its first write finished);
//! - exactly the expected ids in `list`, whatever temporary files the kill
//!   left (they are ignored, and replaced by the next write);
//! - every version kept: numbered from 1 (or from the oldest not pruned)
//!   to `current_version` without gaps, `list_versions` ending with the
//!   current one, and each version holding the bytes its call stored.
//!
//! The worker is this test binary run again (`common::child_command`).
//! Before each call it appends what it is about to do to a journal, and
//! after the call its result, each line flushed with fsync. The parent
//! replays the journal: the one call a kill interrupted may or may not have
//! taken effect, and the directory must be in exactly one of those states.
//!
//! Every key value describes itself (`common::tagged_value`): it names the
//! key, the journal sequence number of the call that wrote it and its
//! length, so any read can be checked as complete and attributed.
//!
//! Length of the run: 100 kills by default (about ten seconds).
//! `CODOMYRMEX_LONG=1` makes it 3000 kills (several minutes);
//! `CODOMYRMEX_CRASH_KILLS=N` sets the number of kills exactly. Delays,
//! operations and sizes follow the seed printed at the start; a failing run
//! is replayed with `CODOMYRMEX_SEED=<seed>` (the kill instants still vary
//! with scheduling, so replaying gives the same schedule, not the same
//! interleaving).
//!
//! The worker is in `worker`, the parent's model of the directory and its
//! replay of the journal in `model`, the checks of the directory against
//! the model in `verify`.

#[path = "../common/mod.rs"]
mod common;
mod model;
mod verify;
mod worker;

use codomyrmex_keys::{KeyManager, MAX_KEY_LEN};
use common::{
    Rng, child_command, child_scenario, long_run, tagged_value, tagged_value_min_len, test_seed,
};
use model::{Context, KeyModel, Model, Stats, replay_journal, resolve_interrupted};
use std::collections::HashMap;
use std::fs::{File, Permissions};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use verify::verify;
use worker::worker;

const CRASH_TEST: &str = "sigkill_at_random_instants_loses_nothing";
const WORKER_SCENARIO: &str = "crash-worker";
const DIR_ENV: &str = "CODOMYRMEX_CRASH_DIR";
const JOURNAL_ENV: &str = "CODOMYRMEX_CRASH_JOURNAL";
const WORKER_SEED_ENV: &str = "CODOMYRMEX_CRASH_WORKER_SEED";
const FIRST_SEQ_ENV: &str = "CODOMYRMEX_CRASH_FIRST_SEQ";
const KILLS_ENV: &str = "CODOMYRMEX_CRASH_KILLS";
/// What the worker prints once its key manager is open.
const READY: &str = "CRASH-WORKER-READY";

/// Default number of kills, and with `CODOMYRMEX_LONG=1`.
const DEFAULT_KILLS: usize = 100;
const LONG_KILLS: usize = 3000;

/// How the values of a key are sized.
#[derive(Debug, Clone, Copy)]
enum Sizes {
    /// Always the largest key, 65536 bytes.
    Max,
    /// Around every boundary from the smallest value to 65536.
    Mixed,
    /// Up to 200 bytes.
    Small,
}

/// One key of the workload.
struct Spec {
    id: &'static str,
    sizes: Sizes,
    /// Whether the worker prunes its old versions now and then.
    prune: bool,
    /// Whether the worker deletes and re-creates it.
    cycles: bool,
}

const SPECS: [Spec; 5] = [
    Spec {
        id: "max",
        sizes: Sizes::Max,
        prune: true,
        cycles: false,
    },
    Spec {
        id: "mixed",
        sizes: Sizes::Mixed,
        prune: true,
        cycles: false,
    },
    // Never pruned: every version it ever had must stay readable.
    Spec {
        id: "small",
        sizes: Sizes::Small,
        prune: false,
        cycles: false,
    },
    // Starts as a key file written without version records (as by the
    // original module): version 1.
    Spec {
        id: "legacy",
        sizes: Sizes::Mixed,
        prune: true,
        cycles: false,
    },
    Spec {
        id: "cycled",
        sizes: Sizes::Mixed,
        prune: false,
        cycles: true,
    },
];

const LEGACY_SEQ: u64 = 0;
const LEGACY_LEN: usize = 4096;

fn spec(id: &str) -> &'static Spec {
    SPECS
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("unknown key id {id:?} in the journal"))
}

fn tag_of(id: &str, seq: u64) -> String {
    format!("{id}.{seq}")
}

fn value_len(rng: &mut Rng, sizes: Sizes, tag: &str) -> usize {
    let min = tagged_value_min_len(tag);
    match sizes {
        Sizes::Max => MAX_KEY_LEN,
        Sizes::Small => rng.between(min as u64, 200) as usize,
        Sizes::Mixed => *rng.pick(&[
            min,
            min + 1,
            100,
            255,
            256,
            1000,
            4095,
            4096,
            4097,
            16384,
            65535,
            MAX_KEY_LEN,
        ]),
    }
}

/// Runs one worker until the kill; returns whether it was killed before it
/// said it was ready.
fn run_worker_until_killed(
    root: &Path,
    dir: &Path,
    journal: &Path,
    model: &Model,
    rng: &mut Rng,
    ctx: &Context,
) -> bool {
    let early = rng.chance(8);
    let delay = Duration::from_micros(match rng.below(10) {
        0 => rng.below(2_000),
        1..=7 => rng.below(30_000),
        _ => rng.between(30_000, 100_000),
    });
    let stderr_path = root.join("worker-stderr.txt");
    let mut child = child_command(CRASH_TEST, WORKER_SCENARIO)
        .env(DIR_ENV, dir)
        .env(JOURNAL_ENV, journal)
        .env(WORKER_SEED_ENV, rng.next_u64().to_string())
        .env(FIRST_SEQ_ENV, model.next_seq.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .expect("the worker starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(line) if line.trim_end().ends_with(READY) => {
                    let _ = tx.send(true);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(false);
    });
    if !early {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(true) => {}
            _ => {
                let _ = child.kill();
                let status = child.wait().unwrap();
                panic!(
                    "the worker never got ready ({status}); stderr:\n{} {ctx}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                );
            }
        }
    }
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL is sent");
    let status = child.wait().unwrap();
    reader.join().unwrap();
    if status.signal() != Some(libc::SIGKILL) {
        let tail: String = std::fs::read_to_string(journal)
            .unwrap_or_default()
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n");
        panic!(
            "the worker ended by itself ({status}) before the kill; journal tail:\n{tail}\nstderr:\n{} {ctx}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default()
        );
    }
    early
}

#[test]
fn sigkill_at_random_instants_loses_nothing() {
    if child_scenario().as_deref() == Some(WORKER_SCENARIO) {
        worker();
        return;
    }
    let started = Instant::now();
    let seed = test_seed(CRASH_TEST, 0x5eed_c0de_0001);
    let kills = match std::env::var(KILLS_ENV) {
        Ok(n) => n.parse().expect("CODOMYRMEX_CRASH_KILLS is a number"),
        Err(_) if long_run() => LONG_KILLS,
        Err(_) => DEFAULT_KILLS,
    };
    let mut rng = Rng::new(seed);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let dir = root.join("keys");
    let journal = root.join("journal");
    File::create(&journal).unwrap();

    let mut model = Model {
        keys: SPECS.iter().map(|s| (s.id, KeyModel::absent())).collect(),
        lens: HashMap::new(),
        next_seq: 1,
        stats: Stats::default(),
    };
    // "legacy": a key file written without records, as the original module
    // wrote them. It is version 1.
    KeyManager::open(&dir).unwrap();
    let legacy_path = dir.join("legacy.key");
    std::fs::write(
        &legacy_path,
        tagged_value(&tag_of("legacy", LEGACY_SEQ), LEGACY_LEN),
    )
    .unwrap();
    std::fs::set_permissions(&legacy_path, Permissions::from_mode(0o600)).unwrap();
    model.lens.insert(LEGACY_SEQ, LEGACY_LEN);
    model.key("legacy").push(LEGACY_SEQ);

    let mut offset = 0;
    for round in 1..=kills {
        let ctx = Context { seed, round };
        if run_worker_until_killed(root, &dir, &journal, &model, &mut rng, &ctx) {
            model.stats.kills_before_ready += 1;
        }
        model.stats.kills += 1;
        let interrupted = replay_journal(&journal, &mut offset, &mut model, &ctx);
        if let Some(call) = interrupted {
            let km = KeyManager::open(&dir).unwrap_or_else(|e| panic!("reopen: {e} {ctx}"));
            resolve_interrupted(&km, &mut model, &call, &ctx);
        }
        let full = round % if long_run() { 500 } else { 10 } == 0;
        verify(&dir, &mut model, &mut rng, full, &ctx);
    }
    let ctx = Context { seed, round: kills };
    verify(&dir, &mut model, &mut rng, true, &ctx);

    // Whatever temporary files the kills left are replaced by the next
    // writes: one write makes a missing key, two rotations touch every
    // temporary name a kill can leave (the key's, and the records of the
    // current and the next version).
    let km = KeyManager::open(&dir).unwrap();
    let mut seq = model.next_seq;
    for s in &SPECS {
        let writes = if model.keys[s.id].exists { 2 } else { 3 };
        for i in 0..writes {
            let len = value_len(&mut rng, s.sizes, &tag_of(s.id, seq));
            model.lens.insert(seq, len);
            let value = model.value(s.id, seq);
            if i == 0 && !model.keys[s.id].exists {
                km.store(s.id, &value).unwrap();
            } else {
                let old = km.rotate(s.id, &value).unwrap().expect("a previous key");
                assert_eq!(
                    old.as_bytes(),
                    model.value(s.id, model.keys[s.id].cur_seq())
                );
            }
            model.key(s.id).push(seq);
            seq += 1;
        }
    }
    let mut left = Vec::new();
    for path in common::snapshot(&dir).keys() {
        let name = path.file_name().unwrap().to_string_lossy();
        if name.ends_with(".tmp") {
            left.push(path.clone());
        }
    }
    assert!(
        left.is_empty(),
        "temporary files survived the next writes: {left:?} {ctx}"
    );
    verify(&dir, &mut model, &mut rng, true, &ctx);

    let stats = &model.stats;
    let interrupted: usize = stats.interrupted.values().map(|(a, b)| a + b).sum();
    println!(
        "crash: {} kills survived ({} before the worker was ready) in {:.1?}; {} calls completed, {} interrupted",
        stats.kills,
        stats.kills_before_ready,
        started.elapsed(),
        stats.calls_completed,
        interrupted
    );
    for (op, (took, not)) in &stats.interrupted {
        println!("crash:   {op:8} interrupted: {took} took effect, {not} did not");
    }
    println!(
        "crash: checks that found a temp file left by a kill: {} (key file), {} (version record); records left by interrupted deletes: {}; most versions of one key: {}",
        stats.key_temp_files_left,
        stats.record_temp_files_left,
        stats.records_left_by_interrupted_delete,
        stats.most_versions
    );
    assert_eq!(stats.kills, kills);
    assert!(
        interrupted > 0,
        "no kill interrupted a call: the test did not test anything"
    );
    assert!(stats.calls_completed > 0);
}
