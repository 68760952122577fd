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

mod common;

use codomyrmex_keys::{ErrorKind, HashAlg, KeyManager, MAX_KEY_LEN, Version, hmac};
use common::store::{current_number, version_bytes, version_list};
use common::{
    Rng, check_child, child_command, child_scenario, dead_pid, is_root, long_run,
    parse_tagged_value, tagged_value, tagged_value_min_len, test_seed,
};
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions, Permissions};
use std::io::{BufRead, BufReader, Read, Write};
use std::num::NonZeroU32;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

// ---------------------------------------------------------------------------
// The worker.

/// Appends lines to the journal, each flushed to disk before the call it
/// announces.
struct Journal(File);

impl Journal {
    fn line(&mut self, text: &str) {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(b'\n');
        // One write per line: a kill leaves at most the last line torn.
        self.0.write_all(&bytes).expect("journal write");
        self.0.sync_all().expect("journal fsync");
    }

    /// Records a failed self-check and ends the worker; the parent reports it.
    fn fail(&mut self, why: &str) -> ! {
        self.line(&format!("X {}", why.replace('\n', " | ")));
        std::process::exit(3);
    }
}

fn env_path(name: &str) -> PathBuf {
    PathBuf::from(std::env::var_os(name).unwrap_or_else(|| panic!("{name} is set")))
}

fn env_u64(name: &str) -> u64 {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is set"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} is a number"))
}

/// The worker loop: runs until killed (or, should the parent vanish, until
/// the kernel kills it with the parent).
fn worker() {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    let dir = env_path(DIR_ENV);
    let mut journal = Journal(
        OpenOptions::new()
            .append(true)
            .open(env_path(JOURNAL_ENV))
            .expect("the journal exists"),
    );
    let mut rng = Rng::new(env_u64(WORKER_SEED_ENV));
    let mut seq = env_u64(FIRST_SEQ_ENV);
    let km = KeyManager::open(&dir).unwrap_or_else(|e| journal.fail(&format!("open: {e}")));

    // What each key holds now, as read back: its bytes (for re-storing).
    let mut current: Vec<Option<Vec<u8>>> = SPECS
        .iter()
        .map(|s| match km.get(s.id) {
            Ok(bytes) => {
                if let Err(why) = parse_tagged_value(&bytes) {
                    journal.fail(&format!("startup read of {}: {why}", s.id));
                }
                Some(bytes.to_vec())
            }
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => journal.fail(&format!("startup read of {}: {e}", s.id)),
        })
        .collect();
    journal.line(&format!("R {seq}"));
    println!("{READY}");
    std::io::stdout().flush().unwrap();

    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let k = rng.below(SPECS.len() as u64) as usize;
        let s = &SPECS[k];
        let exists = current[k].is_some();
        let roll = rng.below(100);
        let op = match (exists, s.cycles) {
            (false, true) => match roll {
                0..50 => "create",
                50..80 => "store",
                _ => "rotate",
            },
            (false, false) => {
                if roll < 50 {
                    "store"
                } else {
                    "rotate"
                }
            }
            (true, true) => match roll {
                0..45 => "rotate",
                45..65 => "store",
                65..75 => "restore",
                75..95 => "delete",
                _ => "create",
            },
            (true, false) => match roll {
                0..45 => "rotate",
                45..75 => "store",
                75..85 => "restore",
                _ if s.prune => "prune",
                _ => "rotate",
            },
        };
        let tag = tag_of(s.id, seq);
        let (arg, value) = match op {
            "store" | "rotate" | "create" => {
                let len = value_len(&mut rng, s.sizes, &tag);
                (len as u64, Some(tagged_value(&tag, len)))
            }
            "restore" => {
                let bytes = current[k].clone().expect("restore of an existing key");
                let old_tag = parse_tagged_value(&bytes).expect("checked when read");
                let (_, old_seq) = old_tag.rsplit_once('.').expect("tag is id.seq");
                (old_seq.parse().expect("seq"), Some(bytes))
            }
            "prune" => (rng.between(1, 4), None),
            _ => (0, None),
        };
        journal.line(&format!("B {seq} {op} {} {arg}", s.id));
        let outcome: Result<String, codomyrmex_keys::Error> = match op {
            "store" | "restore" => km.store(s.id, value.as_ref().unwrap()).map(|()| "-".into()),
            "create" => km
                .create(s.id, value.as_ref().unwrap())
                .map(|()| "-".into()),
            "rotate" => km.rotate(s.id, value.as_ref().unwrap()).map(|old| {
                if old.as_deref() != current[k].as_deref() {
                    journal.fail(&format!(
                        "rotate of {} returned {:?}, expected {:?}",
                        s.id,
                        old.as_deref().map(parse_tagged_value),
                        current[k].as_deref().map(parse_tagged_value)
                    ));
                }
                old.map_or_else(
                    || "none".into(),
                    |old| parse_tagged_value(&old).expect("checked above"),
                )
            }),
            "delete" => km.delete(s.id).map(|()| "-".into()),
            "prune" => km
                .prune(s.id, NonZeroU32::new(u32::try_from(arg).unwrap()).unwrap())
                .map(|()| "-".into()),
            _ => unreachable!(),
        };
        match outcome {
            Ok(info) => {
                journal.line(&format!("E {seq} ok {info}"));
                match op {
                    "store" | "restore" | "create" | "rotate" => current[k] = value,
                    "delete" => current[k] = None,
                    _ => {}
                }
            }
            Err(e) if op == "create" && exists && e.kind() == ErrorKind::AlreadyExists => {
                journal.line(&format!("E {seq} err AlreadyExists"));
            }
            Err(e) => journal.fail(&format!("{op} {} (seq {seq}): {e:?}", s.id)),
        }
        // Spot checks from this side: the key reads back as just written.
        if rng.chance(20) {
            let read = km.get(s.id).map(|b| b.to_vec());
            match (&read, &current[k]) {
                (Ok(got), Some(want)) if got == want => {}
                (Err(e), None) if e.kind() == ErrorKind::NotFound => {}
                _ => journal.fail(&format!(
                    "read-back of {} after {op}: {:?}",
                    s.id,
                    read.map(|b| parse_tagged_value(&b))
                )),
            }
        }
        seq += 1;
    }
    journal.fail("ran for 60 s without being killed");
}

// ---------------------------------------------------------------------------
// The parent's model of the directory.

/// What the journal says a key must hold: versions `first ..= cur`, each
/// the value written by the call with that sequence number.
#[derive(Debug, Clone)]
struct KeyModel {
    exists: bool,
    first: u32,
    seqs: Vec<u64>,
    /// The highest version checked with get_version so far.
    verified: u32,
}

impl KeyModel {
    fn absent() -> KeyModel {
        KeyModel {
            exists: false,
            first: 1,
            seqs: Vec::new(),
            verified: 0,
        }
    }

    fn cur(&self) -> u32 {
        assert!(self.exists && !self.seqs.is_empty());
        self.first + self.seqs.len() as u32 - 1
    }

    fn cur_seq(&self) -> u64 {
        *self.seqs.last().expect("an existing key has a version")
    }

    /// A new current version holding the value of call `seq`.
    fn push(&mut self, seq: u64) {
        if !self.exists {
            *self = KeyModel::absent();
            self.exists = true;
        }
        self.seqs.push(seq);
    }

    /// Forgets the versions below `lowest`.
    fn drop_below(&mut self, lowest: u32) {
        assert!(lowest >= self.first && lowest <= self.cur());
        self.seqs.drain(..(lowest - self.first) as usize);
        self.first = lowest;
    }

    /// The lowest version left by a complete `prune(keep)`.
    fn prune_floor(&self, keep: u32) -> u32 {
        self.cur().saturating_sub(keep - 1).max(self.first)
    }
}

/// A call the journal announced.
#[derive(Debug, Clone)]
struct Call {
    seq: u64,
    op: String,
    id: String,
    arg: u64,
}

#[derive(Default, Debug)]
struct Stats {
    kills: usize,
    kills_before_ready: usize,
    calls_completed: usize,
    /// Calls a kill interrupted, by operation: (took effect, did not).
    interrupted: BTreeMap<String, (usize, usize)>,
    key_temp_files_left: usize,
    record_temp_files_left: usize,
    records_left_by_interrupted_delete: usize,
    most_versions: usize,
}

struct Model {
    keys: BTreeMap<&'static str, KeyModel>,
    /// Length of the value of each call that wrote one.
    lens: HashMap<u64, usize>,
    next_seq: u64,
    stats: Stats,
}

impl Model {
    fn value(&self, id: &str, seq: u64) -> Vec<u8> {
        tagged_value(&tag_of(id, seq), self.lens[&seq])
    }

    fn key(&mut self, id: &str) -> &mut KeyModel {
        self.keys.get_mut(spec(id).id).expect("known id")
    }

    /// Applies a call that completed (or, when resolving an interrupted
    /// call, that took effect).
    fn apply(&mut self, call: &Call) {
        let key = self.key(&call.id);
        match call.op.as_str() {
            "store" | "rotate" => key.push(call.seq),
            "restore" => {
                assert_eq!(
                    key.cur_seq(),
                    call.arg,
                    "restore of {} re-stored a value that was not current",
                    call.id
                );
                key.push(call.arg);
            }
            "create" => {
                assert!(!key.exists, "create of {} succeeded over a key", call.id);
                key.push(call.seq);
            }
            "delete" => *key = KeyModel::absent(),
            "prune" => {
                let floor = key.prune_floor(u32::try_from(call.arg).unwrap());
                key.drop_below(floor);
            }
            other => panic!("unknown operation {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// The parent.

/// Everything a failure message needs to replay the run.
struct Context {
    seed: u64,
    round: usize,
}

impl std::fmt::Display for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[seed {:#x}, after kill {}; replay with {}={:#x}]",
            self.seed,
            self.round,
            common::SEED_ENV,
            self.seed
        )
    }
}

fn parse_call(line: &str, ctx: &Context) -> Call {
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts.len(), 5, "malformed journal line {line:?} {ctx}");
    Call {
        seq: parts[1].parse().expect("seq"),
        op: parts[2].to_owned(),
        id: parts[3].to_owned(),
        arg: parts[4].parse().expect("arg"),
    }
}

/// Reads the journal lines added since `offset`, applies the completed
/// calls to the model and returns the interrupted one, if any. A torn last
/// line (the kill hit the journal write) is cut off, so the next worker
/// appends after a whole line.
fn replay_journal(path: &Path, offset: &mut u64, model: &mut Model, ctx: &Context) -> Option<Call> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut text = Vec::new();
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(*offset)).unwrap();
    file.read_to_end(&mut text).unwrap();
    let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole < text.len() {
        file.set_len(*offset + whole as u64).unwrap();
    }
    *offset += whole as u64;
    let text = std::str::from_utf8(&text[..whole]).expect("the journal is text");
    let mut pending: Option<Call> = None;
    for line in text.lines() {
        let kind = line.split(' ').next().unwrap_or("");
        match kind {
            "R" => assert!(pending.is_none(), "a call left open before a restart {ctx}"),
            "X" => panic!("the worker's own check failed: {line} {ctx}"),
            "B" => {
                assert!(pending.is_none(), "two calls open at once: {line} {ctx}");
                let call = parse_call(line, ctx);
                if matches!(call.op.as_str(), "store" | "rotate" | "create") {
                    model.lens.insert(call.seq, call.arg as usize);
                }
                model.next_seq = model.next_seq.max(call.seq + 1);
                pending = Some(call);
            }
            "E" => {
                let call = pending
                    .take()
                    .unwrap_or_else(|| panic!("{line} without B {ctx}"));
                let mut parts = line.splitn(4, ' ');
                let (_, seq, result) = (parts.next(), parts.next(), parts.next());
                let info = parts.next().unwrap_or("");
                assert_eq!(seq, Some(call.seq.to_string().as_str()), "{line} {ctx}");
                match result {
                    Some("ok") => {
                        if call.op == "rotate" {
                            let key = &model.keys[spec(&call.id).id];
                            let expected = if key.exists {
                                tag_of(&call.id, key.cur_seq())
                            } else {
                                "none".to_owned()
                            };
                            assert_eq!(
                                info, expected,
                                "rotate (seq {}) returned the wrong previous key {ctx}",
                                call.seq
                            );
                        }
                        model.apply(&call);
                    }
                    Some("err") => {
                        assert!(
                            call.op == "create"
                                && info == "AlreadyExists"
                                && model.keys[spec(&call.id).id].exists,
                            "unexpected failure {line} for {call:?} {ctx}"
                        );
                    }
                    _ => panic!("malformed journal line {line:?} {ctx}"),
                }
                model.stats.calls_completed += 1;
            }
            _ => panic!("malformed journal line {line:?} {ctx}"),
        }
    }
    pending
}

/// Decides from the directory whether the interrupted `call` took effect,
/// and updates the model; both outcomes are fine, anything else fails.
fn resolve_interrupted(km: &KeyManager, model: &mut Model, call: &Call, ctx: &Context) {
    let before = model.keys[spec(&call.id).id].clone();
    let exists = km
        .exists(&call.id)
        .unwrap_or_else(|e| panic!("exists({}) after a kill: {e} {ctx}", call.id));
    let took_effect = match call.op.as_str() {
        "store" | "rotate" | "restore" if before.exists => {
            let version = current_number(km, &call.id)
                .unwrap_or_else(|e| panic!("current_version({}) after a kill: {e} {ctx}", call.id));
            assert!(
                version == before.cur() || version == before.cur() + 1,
                "{} interrupted at version {}: now version {version} {ctx}",
                call.op,
                before.cur()
            );
            version == before.cur() + 1
        }
        "store" | "rotate" | "create" if !before.exists => exists,
        "create" => false,
        "delete" => !exists,
        "prune" => {
            let versions = version_list(km, &call.id)
                .unwrap_or_else(|e| panic!("list_versions({}) after a kill: {e} {ctx}", call.id));
            let lowest = versions[0];
            let floor = before.prune_floor(u32::try_from(call.arg).unwrap());
            assert!(
                (before.first..=floor).contains(&lowest),
                "prune(keep {}) of versions {}..={} interrupted: lowest left is {lowest} {ctx}",
                call.arg,
                before.first,
                before.cur()
            );
            model.key(&call.id).drop_below(lowest);
            lowest == floor
        }
        other => panic!("unknown operation {other:?} {ctx}"),
    };
    if took_effect && call.op != "prune" {
        model.apply(call);
    }
    let entry = model.stats.interrupted.entry(call.op.clone()).or_default();
    if took_effect {
        entry.0 += 1;
    } else {
        entry.1 += 1;
    }
}

fn expect_not_found<T>(result: codomyrmex_keys::Result<T>, what: &str, ctx: &Context) {
    match result {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => panic!("{what}: expected NotFound, got {e:?} {ctx}"),
        Ok(_) => panic!("{what}: expected NotFound, got a value {ctx}"),
    }
}

/// Checks the directory against the model through a fresh key manager.
/// With `full`, every version is read; otherwise new ones, the oldest, the
/// current and a sample.
fn verify(dir: &Path, model: &mut Model, rng: &mut Rng, full: bool, ctx: &Context) {
    let km = KeyManager::open(dir).unwrap_or_else(|e| panic!("reopen after a kill: {e} {ctx}"));
    let expected_ids: Vec<&str> = model
        .keys
        .iter()
        .filter(|(_, k)| k.exists)
        .map(|(id, _)| *id)
        .collect();
    let listed = km.list().unwrap_or_else(|e| panic!("list: {e} {ctx}"));
    assert_eq!(listed, expected_ids, "list after a kill {ctx}");

    let ids: Vec<&'static str> = model.keys.keys().copied().collect();
    for id in ids {
        let key = model.keys[id].clone();
        if !key.exists {
            assert!(
                !km.exists(id).unwrap(),
                "{id} exists after its delete {ctx}"
            );
            expect_not_found(km.get(id), &format!("get({id})"), ctx);
            expect_not_found(version_list(&km, id), &format!("list_versions({id})"), ctx);
            expect_not_found(
                current_number(&km, id),
                &format!("current_version({id})"),
                ctx,
            );
            continue;
        }
        let current = km
            .get(id)
            .unwrap_or_else(|e| panic!("get({id}) after a kill: {e} {ctx}"));
        if let Err(why) = parse_tagged_value(&current) {
            panic!("get({id}) after a kill is not a complete value: {why} {ctx}");
        }
        let expected_current = model.value(id, key.cur_seq());
        assert!(
            current.as_bytes() == expected_current.as_slice(),
            "get({id}) is {:?}, the journal says {} {ctx}",
            parse_tagged_value(&current),
            tag_of(id, key.cur_seq())
        );
        let version = current_number(&km, id).unwrap();
        assert_eq!(version, key.cur(), "current_version({id}) {ctx}");
        let listed = version_list(&km, id).unwrap();
        let expected: Vec<u32> = (key.first..=key.cur()).collect();
        assert_eq!(listed, expected, "list_versions({id}) {ctx}");
        assert_eq!(
            listed.last(),
            Some(&version),
            "list ends with current {ctx}"
        );
        model.stats.most_versions = model.stats.most_versions.max(listed.len());

        let mut check: Vec<u32> = if full || listed.len() <= 64 {
            listed.clone()
        } else {
            let mut some: Vec<u32> = (key.verified.max(key.first)..=key.cur()).collect();
            some.extend([key.first, key.cur()]);
            some.extend((0..16).map(|_| rng.between(key.first.into(), key.cur().into()) as u32));
            some
        };
        check.sort_unstable();
        check.dedup();
        for v in check {
            let seq = key.seqs[(v - key.first) as usize];
            let bytes = version_bytes(&km, id, v)
                .unwrap_or_else(|e| panic!("get_version({id}, {v}) after a kill: {e} {ctx}"));
            assert!(
                bytes.as_bytes() == model.value(id, seq).as_slice(),
                "version {v} of {id} is {:?}, the journal says {} {ctx}",
                parse_tagged_value(&bytes),
                tag_of(id, seq)
            );
        }
        let at_current = km.key(id).unwrap().at(Version::Current).get().unwrap();
        assert_eq!(at_current, current, "Version::Current {ctx}");
        if key.first > 1 {
            expect_not_found(
                version_bytes(&km, id, key.first - 1),
                &format!("pruned version {} of {id}", key.first - 1),
                ctx,
            );
        }
        expect_not_found(
            version_bytes(&km, id, key.cur() + 1),
            &format!("future version of {id}"),
            ctx,
        );
        // A tagged MAC names the current version and verifies.
        let tag = km
            .key(id)
            .unwrap()
            .hmac_tagged(HashAlg::Sha256, b"crash")
            .unwrap();
        assert_eq!(tag.version(), key.cur(), "tagged MAC version of {id} {ctx}");
        assert_eq!(
            &tag.as_bytes()[5..],
            hmac(HashAlg::Sha256, &expected_current, b"crash").as_bytes(),
            "{ctx}"
        );
        model.key(id).verified = key.cur();
    }
    scan_directory(dir, model, ctx);
}

/// Every entry of the key directory must be one the library makes; counts
/// what the kills left behind.
fn scan_directory(dir: &Path, model: &mut Model, ctx: &Context) {
    let private = |path: &Path, file_type: &str| {
        let meta = std::fs::symlink_metadata(path).unwrap();
        let ok_type = match file_type {
            "file" => meta.file_type().is_file(),
            _ => meta.file_type().is_dir(),
        };
        assert!(ok_type, "{} is not a {file_type} {ctx}", path.display());
        assert_eq!(
            meta.mode() & 0o077,
            0,
            "{} is not private (mode {:o}) {ctx}",
            path.display(),
            meta.mode() & 0o7777
        );
    };
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().expect("UTF-8 name");
        let path = entry.path();
        if name == ".lock" {
            private(&path, "file");
        } else if name == ".versions" {
            private(&path, "dir");
        } else if let Some(id) = name.strip_suffix(".key") {
            assert!(
                model.keys.get(id).is_some_and(|k| k.exists),
                "stray key file {name} {ctx}"
            );
            private(&path, "file");
            assert_eq!(entry.metadata().unwrap().mode() & 0o7777, 0o600, "{name}");
        } else if let Some(id) = name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".key.tmp"))
        {
            assert!(model.keys.contains_key(id), "stray temp file {name} {ctx}");
            private(&path, "file");
            model.stats.key_temp_files_left += 1;
        } else {
            panic!("stray entry {name:?} in the key directory {ctx}");
        }
    }
    let versions = dir.join(".versions");
    if !versions.exists() {
        return;
    }
    for entry in std::fs::read_dir(&versions).unwrap() {
        let entry = entry.unwrap();
        let id = entry.file_name().into_string().expect("UTF-8 name");
        let exists = match model.keys.get(id.as_str()) {
            Some(key) => key.exists,
            None => panic!("stray version directory {id:?} {ctx}"),
        };
        private(&entry.path(), "dir");
        for record in std::fs::read_dir(entry.path()).unwrap() {
            let record = record.unwrap();
            let name = record.file_name().into_string().expect("UTF-8 name");
            private(&record.path(), "file");
            if name.starts_with('.') && name.ends_with(".tmp") {
                model.stats.record_temp_files_left += 1;
            } else {
                assert!(
                    name.parse::<u32>().is_ok_and(|n| n > 0) && !name.starts_with('0'),
                    "stray entry {name:?} in the versions of {id} {ctx}"
                );
                if !exists {
                    // Left by a delete killed after it removed the key
                    // file; the next create of the id clears them.
                    model.stats.records_left_by_interrupted_delete += 1;
                }
            }
        }
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

// ---------------------------------------------------------------------------
// The states a kill leaves between creating a file or directory and setting
// its mode, for a user whose umask takes away the owner's write bit.

const UMASK_DIR_ENV: &str = "CODOMYRMEX_CRASH_UMASK_DIR";

/// Recreates `name` in `dir` as a kill between its creation and its
/// `fchmod` leaves it under umask 0277: a file of mode 0400, a directory of
/// mode 0500 (empty).
fn leave_half_created(path: &Path, is_dir: bool) {
    if is_dir {
        std::fs::remove_dir_all(path).unwrap();
        std::fs::create_dir(path).unwrap();
        std::fs::set_permissions(path, Permissions::from_mode(0o500)).unwrap();
    } else {
        let _ = std::fs::remove_file(path);
        std::fs::write(path, b"").unwrap();
        std::fs::set_permissions(path, Permissions::from_mode(0o400)).unwrap();
    }
}

/// Runs `scenario` of `test` as uid 65534 with umask 0277 in a child
/// process, on a fresh key directory owned by that user.
fn as_restricted_user(test: &str, scenario: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, Permissions::from_mode(0o700)).unwrap();
    if is_root() {
        std::fs::set_permissions(tmp.path(), Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    }
    let mut cmd = child_command(test, scenario);
    cmd.env(UMASK_DIR_ENV, &dir);
    let output = cmd.output().unwrap();
    check_child(test, scenario, &output);
}

/// In the child: become uid 65534 (if root) with umask 0277 and open the
/// directory prepared by [`as_restricted_user`].
fn become_restricted_user() -> PathBuf {
    let dir = env_path(UMASK_DIR_ENV);
    if is_root() {
        // SAFETY: plain system calls; this process runs only this test.
        unsafe {
            assert_eq!(libc::setgid(65534), 0);
            assert_eq!(libc::setuid(65534), 0);
        }
    }
    // SAFETY: umask has no preconditions.
    unsafe { libc::umask(0o277) };
    dir
}

#[test]
fn stale_temp_files_left_under_a_restrictive_umask_are_replaced() {
    let name = "stale_temp_files_left_under_a_restrictive_umask_are_replaced";
    if child_scenario().as_deref() == Some("umask-temp") {
        let dir = become_restricted_user();
        let km = KeyManager::open(&dir).unwrap();
        km.store("k", b"version one").unwrap();
        km.rotate("k", b"version two").unwrap();
        // Kills while writing the key file and the record of version 2.
        leave_half_created(&dir.join(".k.key.tmp"), false);
        leave_half_created(&dir.join(".versions/k/.2.tmp"), false);
        let km = KeyManager::open(&dir).unwrap();
        assert_eq!(km.list().unwrap(), ["k"]);
        assert_eq!(km.get("k").unwrap().as_bytes(), b"version two");
        let old = km.rotate("k", b"version three").unwrap().unwrap();
        assert_eq!(old.as_bytes(), b"version two");
        assert_eq!(version_list(&km, "k").unwrap(), [1, 2, 3]);
        assert_eq!(
            version_bytes(&km, "k", 2).unwrap().as_bytes(),
            b"version two"
        );
        assert!(!dir.join(".k.key.tmp").exists());
        assert!(!dir.join(".versions/k/.2.tmp").exists());
        return;
    }
    as_restricted_user(name, "umask-temp");
}

/// Leaves the half-made entries `what` in a directory holding key "k"
/// (version 1, never rotated), as a kill of a release 1.0 writer at that
/// instant left them, then checks that a new key manager can still store
/// and rotate.
///
/// Release 1.0 created the lock file and the version directories under a
/// temporary name `<name>.<pid>.<n>.tmp`, set their mode, then renamed them
/// into place; a kill before the rename left only the temporary, with the
/// umask's mode. This release makes them with their final mode and no such
/// names, and opening removes those whose process is gone. Two are left
/// here: one of a process that has ended (removed by the open) and one of a
/// live process (this one: left alone); neither blocks a write.
fn half_created_scenario(what: &str) {
    let dir = become_restricted_user();
    let km = KeyManager::open(&dir).unwrap();
    km.store("k", b"version one").unwrap();
    drop(km);
    let (parent, prefix, is_dir) = match what {
        // A kill inside KeyManager::open, before the lock file got its mode.
        "lock" => {
            std::fs::remove_file(dir.join(".lock")).unwrap();
            (dir.clone(), ".lock", false)
        }
        // A kill inside the first rotation, before `.versions` got its mode.
        "versions" => (dir.clone(), ".versions", true),
        // The same for `.versions/k`, after `.versions` was made.
        "versions-id" => {
            std::fs::create_dir(dir.join(".versions")).unwrap();
            std::fs::set_permissions(dir.join(".versions"), Permissions::from_mode(0o700)).unwrap();
            (dir.join(".versions"), "k", true)
        }
        other => panic!("unknown scenario {other}"),
    };
    let leftover = |pid: u32, n: u32| {
        let path = parent.join(format!("{prefix}.{pid}.{n}.tmp"));
        if is_dir {
            std::fs::create_dir(&path).unwrap();
        }
        leave_half_created(&path, is_dir);
        path
    };
    let of_the_dead = leftover(dead_pid(), 0);
    let of_the_living = leftover(std::process::id(), 1);
    let km = KeyManager::open(&dir).unwrap();
    assert_eq!(km.get("k").unwrap().as_bytes(), b"version one");
    assert_eq!(version_list(&km, "k").unwrap(), [1]);
    km.store("other", b"another key")
        .unwrap_or_else(|e| panic!("a new key after a kill ({what}): {e}"));
    let old = km
        .rotate("k", b"version two")
        .unwrap_or_else(|e| panic!("a rotation after a kill ({what}): {e}"));
    assert_eq!(old.unwrap().as_bytes(), b"version one");
    assert_eq!(version_list(&km, "k").unwrap(), [1, 2]);
    assert_eq!(
        version_bytes(&km, "k", 1).unwrap().as_bytes(),
        b"version one"
    );
    assert_eq!(km.get("k").unwrap().as_bytes(), b"version two");
    assert_eq!(
        km.list().unwrap(),
        ["k", "other"],
        "the leftover is not listed"
    );
    assert!(
        !of_the_dead.exists(),
        "the leftover of an ended process is removed"
    );
    assert!(
        of_the_living.exists(),
        "the leftover of a live process is left alone"
    );
    for entry in [
        dir.join(".lock"),
        dir.join(".versions"),
        dir.join(".versions/k"),
    ] {
        let mode = std::fs::metadata(&entry).unwrap().permissions().mode() & 0o777;
        let expected = if entry.ends_with(".lock") {
            0o600
        } else {
            0o700
        };
        assert_eq!(mode, expected, "{} has its exact mode", entry.display());
    }
}

#[test]
fn half_created_lock_file_blocks_no_write() {
    let name = "half_created_lock_file_blocks_no_write";
    if child_scenario().as_deref() == Some("half-lock") {
        half_created_scenario("lock");
        return;
    }
    as_restricted_user(name, "half-lock");
}

#[test]
fn half_created_versions_dir_blocks_no_write() {
    let name = "half_created_versions_dir_blocks_no_write";
    if child_scenario().as_deref() == Some("half-versions") {
        half_created_scenario("versions");
        return;
    }
    as_restricted_user(name, "half-versions");
}

#[test]
fn half_created_key_versions_dir_blocks_no_write() {
    let name = "half_created_key_versions_dir_blocks_no_write";
    if child_scenario().as_deref() == Some("half-versions-id") {
        half_created_scenario("versions-id");
        return;
    }
    as_restricted_user(name, "half-versions-id");
}
